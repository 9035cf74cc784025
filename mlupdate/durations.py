"""Durations as a reader takes them in: ``850 ms``, ``12.3 s``, ``4.2 min``; and a unit to share.

One wording for every floor: the CLI's tables, the scaling page and compare's
cells all print time through here.
"""

from __future__ import annotations

__all__ = ["format_seconds", "in_unit", "short_seconds"]

_SCALES = ((1.0, "s"), (1e-3, "ms"), (1e-6, "us"), (1e-9, "ns"))


def format_seconds(value: float) -> str:
    """A duration at a glance: milliseconds below 1 s, then seconds, minutes and hours.

    >>> format_seconds(0.85), format_seconds(12.34), format_seconds(252), format_seconds(9000)
    ('850 ms', '12.3 s', '4.2 min', '2.5 h')
    """
    if value < 1:
        return f"{value * 1e3:.0f} ms"
    if value < 120:
        return f"{value:.1f} s"
    if value < 7200:
        return f"{value / 60:.1f} min"
    return f"{value / 3600:.1f} h"


def short_seconds(value: float) -> str:
    """A benchmark cell's time, to a tenth of a millisecond: ``16.7ms``, ``1.660s``.

    >>> short_seconds(0.0167), short_seconds(1.66)
    ('16.7ms', '1.660s')
    """
    return f"{value * 1e3:.1f}ms" if value < 1 else f"{value:.3f}s"


def in_unit(seconds: float, like: float | None = None) -> tuple[float, str]:
    """``(value, unit)`` in the unit of ``s``, ``ms``, ``us``, ``ns`` that suits ``like``
    (default: ``seconds`` itself), so that a figure and its interval share one unit.

    >>> in_unit(0.00372)
    (3.72, 'ms')
    >>> in_unit(0.0005, like=0.002)
    (0.5, 'ms')
    """
    ref = abs(seconds if like is None else like)
    scale, unit = next(((s, u) for s, u in _SCALES if ref >= s), _SCALES[-1])
    return seconds / scale, unit


def format_instructions(value: float) -> str:
    """An instruction count at a glance, in k, M, G or T (a count is exact: three figures show it).

    >>> format_instructions(566_871_453), format_instructions(2.5e9), format_instructions(812)
    ('567 M instructions', '2.5 G instructions', '812 instructions')
    """
    for scale, prefix in ((1e12, "T "), (1e9, "G "), (1e6, "M "), (1e3, "k ")):
        if abs(value) >= scale:
            return f"{value / scale:.3g} {prefix}instructions"
    return f"{value:.3g} instructions"


def format_amount(value: float, unit: str = "seconds") -> str:
    """``value`` worded in its ``unit``: ``seconds`` (:func:`format_seconds`) or ``instructions``.

    >>> format_amount(0.85), format_amount(3e6, "instructions")
    ('850 ms', '3 M instructions')
    """
    return format_instructions(value) if unit == "instructions" else format_seconds(value)
