"""The benchmark suite, as the instruments see it, and what its benchmarks measure with.

Imports run one way and stay inside the library (a benchmark imports these on the measured
commit's package)::

    workloads.py  a benchmark cell (Workload) and its deployed fleet (Prepared)
    probes.py     what asv cannot measure: process-tree RSS, traced heap
    timing.py     in-process median times
    catalog.py    the suite's modules, its ids, each cell's Workload
    timed.py      what a timed benchmark times: the whole update, or its training alone
"""
