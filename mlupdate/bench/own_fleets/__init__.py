"""``mlupdate bench``: your own fleet and data, measured by the suite under a content-hashed id.

:mod:`.registry` holds it all. The names are also importable from here, where the suite's
``benchmarks/own.py`` has always imported :func:`environment_key` from (history is sacred:
that import is part of the benchmark's version).
"""

from .registry import (
    GRID_BATCHES,
    GRID_MODELS,
    OwnFleetEntry,
    environment_key,
    fleet_sizes,
    grid_cells,
    own_selection,
    project_commit,
    register,
    registry_path,
    run_bench,
)

__all__ = [
    "GRID_BATCHES",
    "GRID_MODELS",
    "OwnFleetEntry",
    "environment_key",
    "fleet_sizes",
    "grid_cells",
    "own_selection",
    "project_commit",
    "register",
    "registry_path",
    "run_bench",
]
