"""``mlupdate bench``: your own fleet and data, measured by the suite under a content-hashed id.

:mod:`.registry` holds it all. :func:`environment_key` is also importable from here, where the
suite's ``benchmarks/own.py`` has always imported it (history is sacred: that import is part of
the benchmark's version).
"""

from .registry import environment_key

__all__ = ["environment_key"]
