"""The one statistical core of every paired verdict: estimates, the verdict rule, the series model.

Every verdict the instruments give (``compare``, a nightly step, its confirmation, an anchor,
the chained history) is read from paired rounds of two sides through these modules, imports
running one way::

    cells.py      CellRounds: one cell's id, label, series key and both sides' values per round
    estimate.py   Estimate (log-scale mean, standard error, degrees of freedom), t intervals, mde
    verdict.py    the one verdict rule (slower / faster / same / undecided) and the one meaning
                  of "moved" and of a "confirmed change"
    seats.py      bias by seat: the effect of a side's core, start order and place in the round
    model.py      the series model: a series' cells share a level and an exponent change, fitted
                  with precision weights over all rounds; with a cost model's shares for its
                  design, the same fit gives each unit cost's ratio
"""

from __future__ import annotations

from .cells import SIZE_EXPONENTS, CellRounds
from .estimate import Estimate, bootstrapped, jackknife, mde, t_interval
from .model import (
    CellData,
    SeriesModel,
    cell_data,
    cell_variances,
    fit_series_model,
    fit_series_models,
    fit_unit_ratios,
)
from .seats import SeatedRound, round_means, seat_effects
from .verdict import (
    CONFIRM_LEVEL,
    EXPONENT_WORDS,
    LOOK_LEVEL,
    MIN_GROWTH,
    STEP_LEVEL,
    is_confirmed_change,
    moved,
    verdict,
    verdict_of,
)

__all__ = [
    "CONFIRM_LEVEL",
    "EXPONENT_WORDS",
    "LOOK_LEVEL",
    "MIN_GROWTH",
    "SIZE_EXPONENTS",
    "STEP_LEVEL",
    "CellData",
    "CellRounds",
    "Estimate",
    "SeatedRound",
    "SeriesModel",
    "bootstrapped",
    "cell_data",
    "cell_variances",
    "fit_series_model",
    "fit_series_models",
    "fit_unit_ratios",
    "is_confirmed_change",
    "jackknife",
    "mde",
    "moved",
    "round_means",
    "seat_effects",
    "t_interval",
    "verdict",
    "verdict_of",
]
