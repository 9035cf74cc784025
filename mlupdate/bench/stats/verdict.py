"""The one verdict rule, and the one meaning of "moved" and of a "confirmed change".

A paired estimate (a cell's or a series' log ratio, an exponent's change) gets one of four
verdicts from its interval (:func:`verdict`):

- ``slower``: the whole interval lies above the threshold (a ratio: ``log(factor)``);
- ``faster``: the whole interval lies below minus the threshold;
- ``same``: the whole interval lies inside the equivalence band ``[-band, band]``;
- ``undecided``: anything else. More rounds would narrow it: a wide interval is never ``same``.

For an exponent the words are ``grew`` and ``fell`` (:data:`EXPONENT_WORDS`), the rule the same.

A nightly step screens with one look and few rounds: an item **moved** (:func:`moved`) when its
estimate lies beyond the threshold and its :data:`STEP_LEVEL` interval excludes no change; fresh
rounds then confirm it. A **confirmed change** (:func:`is_confirmed_change`) is an item whose
fresh rounds confirmed it and that moved in its step, or a cell re-measured because its series
moved: exit codes, the Steps page's table and its plots all read that one function.
"""

from __future__ import annotations

import math

from .estimate import Estimate

__all__ = [
    "CONFIRM_LEVEL",
    "EXPONENT_WORDS",
    "LOOK_LEVEL",
    "MIN_GROWTH",
    "STEP_LEVEL",
    "is_confirmed_change",
    "moved",
    "verdict",
    "verdict_of",
]

#: Interval level of a step's estimates (one look at each).
STEP_LEVEL = 0.95
#: Interval level of a confirmation: a change is reported only when this one agrees.
CONFIRM_LEVEL = 0.99
#: Interval level of ``compare``'s verdicts. They are read after every round from the fourth
#: on, up to a dozen looks at the same data; 99% per look keeps the chance that the same code
#: reads ``slower`` somewhere in the rounds near the 5% of one look.
LOOK_LEVEL = 0.99
#: An exponent's change smaller than this is no change: the threshold and the band of every
#: exponent verdict (``compare``, ``scaling compare``), a tenth of a power.
MIN_GROWTH = 0.1
#: The verdicts of an exponent's change.
EXPONENT_WORDS = {"slower": "grew", "faster": "fell", "same": "same", "undecided": "undecided"}


def verdict(low: float, high: float, threshold: float, band: float) -> str:
    """The verdict of an interval ``[low, high]`` against ``threshold`` and the band ``band``
    (all on one scale: log ratios, or exponent units).

    >>> import math
    >>> [verdict(math.log(a), math.log(b), math.log(1.05), math.log(1.05)) for a, b in
    ...  [(1.06, 1.09), (0.98, 1.03), (1.0, 1.08), (0.9, 0.94)]]
    ['slower', 'same', 'undecided', 'faster']
    """
    if low > threshold:
        return "slower"
    if high < -threshold:
        return "faster"
    if low >= -band and high <= band:
        return "same"
    return "undecided"


def verdict_of(est: Estimate, threshold: float, band: float, level: float = LOOK_LEVEL) -> str:
    """:func:`verdict` of ``est``'s ``level`` interval."""
    return verdict(*est.interval(level), threshold, band)


def moved(est: Estimate, threshold: float, level: float = STEP_LEVEL, log_scale: bool = True) -> int:
    """+1 (up) or -1 (down) when ``est`` lies beyond ``threshold`` and its interval excludes no
    change; 0 otherwise. ``threshold`` is a fraction on a log-scale estimate (0.05: 5%), an
    absolute difference otherwise.

    >>> moved(Estimate(math.log(1.10), 0.01, 10), 0.05), moved(Estimate(math.log(1.03), 0.001, 10), 0.05)
    (1, 0)
    """
    bound = math.log1p(threshold) if log_scale else threshold
    low, high = est.interval(level)
    if est.mean >= bound and low > 0:
        return 1
    if est.mean <= -bound and high < 0:
        return -1
    return 0


def is_confirmed_change(item: dict) -> bool:
    """Whether a step file's item (a cell, a series level or an exponent) is a confirmed change:
    its fresh rounds confirmed it, and it moved in its step or is a cell that its series' move
    sent to be re-measured."""
    confirmed = (item.get("confirm") or {}).get("verdict") == "confirmed"
    return confirmed and bool(item.get("moved") or "benchmark" in item)
