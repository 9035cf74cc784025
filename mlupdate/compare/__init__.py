"""``mlupdate compare BASE HEAD``: two commits, measured in alternating rounds, judged with intervals.

- :mod:`.rounds` runs asv on both commits, round by round, in A B / B A order,
  and reads each round's value of every cell back from asv's results;
- :mod:`.stats` turns paired rounds into ratios, intervals and verdicts;
- :mod:`.judge` assembles the cells, the exponents per round and the noise;
- :mod:`.render` prints them as text, Markdown or JSON.
"""

from .judge import Comparison, judge
from .rounds import SENTINEL, CompareError, RoundValues, discover, resolve, run_rounds, select

__all__ = [
    "SENTINEL",
    "CompareError",
    "Comparison",
    "RoundValues",
    "discover",
    "judge",
    "resolve",
    "run_rounds",
    "select",
]
