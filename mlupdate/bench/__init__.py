"""The instruments: what measures the library, never what is measured.

Rooms of one job each, each importing only itself and the rooms before it:
:mod:`.stats` (the one statistical core), :mod:`.results` (asv's files and ours, git),
:mod:`.suite` (the suite's cells and what they measure with), :mod:`.runner` (two sides at
once, one core each), :mod:`.own_fleets` (your fleet), :mod:`.scaling` (fits and the cost
model), :mod:`.compare` (two commits), :mod:`.instructions` (counts under callgrind),
:mod:`.site` (the published pages) and :mod:`.nightly` (the nightly job). They import the
library, never the command line.
"""
