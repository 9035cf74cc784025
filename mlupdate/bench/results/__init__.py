"""What the instruments read and store: asv's files through asv's public API, our own files beside them, git.

Imports run one way, and only to :mod:`mlupdate.bench.stats`::

    asv_config.py      asv from this project: the command, the config, derived configs, machine flags
    asv_results.py     the one reader of asv's result files
    paired_results.py  a copy beside each paired result file, merged back where a plain asv run rewrote it
    counts.py          each commit's own counts (noted by its timed runs, stored beside its results)
    step_files.py      the nightly's step files: written once, read, their confirmed changes, the chain
    git.py             git: run it, resolve a ref, read its cause
"""
