"""Two sides at once, one core each: what every paired measurement runs on.

Imports run one way (down to :mod:`mlupdate.bench.results` and :mod:`mlupdate.bench.suite`)::

    asv_private.py   every use of asv's private internals, for the one asv version they were read from
    design.py        the balanced, seeded seats of every round: core, start order, shuffled cell order
    load.py          the other load on the cores a run uses; is it noisy
    duet.py          two processes at once, each pinned to its own core
    asv_side.py      one side in asv's own terms: environment, discovery, guarded forkserver, results
    lockstep.py      rounds of cells on two sides at once, seats from the design
    side_by_side.py  two sides opened and built alike (two commits, or two replicas of one)
    noise.py         a run's measured noise: its replicas' spread and its load
"""
