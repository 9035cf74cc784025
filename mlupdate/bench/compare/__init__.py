"""The paired comparison of two commits (``mlupdate compare``): side by side in rounds, judged with intervals.

- :mod:`.rounds` runs both commits at once, one core each, round by round
  (:mod:`mlupdate.bench.runner.lockstep`), until every cell has a verdict;
- :mod:`.stats` turns paired rounds into ratios, intervals and verdicts;
- :mod:`.judge` assembles the cells, the exponents per round and the noise.
"""

from ..results.git import resolve
from ..suite.catalog import discover, select
from .judge import Comparison, judge
from .rounds import CI_BENCHMARKS, SENTINEL, CompareError, RoundValues, Stopping, benchmarks_to_compare, run_rounds

__all__ = [
    "CI_BENCHMARKS",
    "SENTINEL",
    "CompareError",
    "Comparison",
    "RoundValues",
    "Stopping",
    "benchmarks_to_compare",
    "discover",
    "judge",
    "resolve",
    "run_rounds",
    "select",
]
