"""One cell's paired rounds: its id, its label, its series key, both sides' values per round.

The one record of a cell across the instruments (``compare``, the steps, the confirmation):
:attr:`CellRounds.label` is asv's ``name(params)`` and :attr:`CellRounds.series` the series
key the scaling page writes (``benchmark(fixed=value, ...)``), by one rule each.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["SERIES_HOMES", "SIZE_EXPONENTS", "CellRounds", "home_of"]

#: The size parameters of a series and the exponent each one carries.
SIZE_EXPONENTS = {"n_models": "a", "n_batches": "b", "k": "p"}
#: Benchmarks whose cells extend another's grid: they belong to its series (its level, exponents and
#: cost model), where the other's sizes leave a term unpriced. StrategyGrowth's n of 1-16 cannot
#: tell the rows a refit per batch trains (n²) from the fit itself within a few rounds' noise.
SERIES_HOMES = {"strategies.StrategyGrowthLongRuns.time_update": "strategies.StrategyGrowth.time_update"}


def home_of(benchmark: str) -> str:
    """The benchmark whose series ``benchmark``'s cells belong to (:data:`SERIES_HOMES`; itself)."""
    return SERIES_HOMES.get(benchmark, benchmark)


@dataclass(frozen=True)
class CellRounds:
    """One cell: its per-round values on each side (paired by index)."""

    benchmark: str
    params: tuple[str, ...]
    param_names: tuple[str, ...]
    base: tuple[float, ...]
    head: tuple[float, ...]
    alone: bool = False

    @property
    def logs(self) -> np.ndarray:
        return np.log(np.asarray(self.head, float) / np.asarray(self.base, float))

    @property
    def sizes(self) -> dict[str, int]:
        return {n: int(v) for n, v in zip(self.param_names, self.params, strict=True) if n in SIZE_EXPONENTS}

    @property
    def series(self) -> str:
        """The series key, as the scaling page writes it: ``benchmark(fixed=value, ...)``, the benchmark
        being the one whose grid this cell's extends (:func:`home_of`)."""
        fixed = [
            f"{n}={v.strip(chr(39))}"
            for n, v in zip(self.param_names, self.params, strict=True)
            if n not in SIZE_EXPONENTS
        ]
        home = home_of(self.benchmark)
        return f"{home}({', '.join(fixed)})" if fixed else home

    @property
    def label(self) -> str:
        return f"{self.benchmark}({', '.join(self.params)})" if self.params else self.benchmark

    @property
    def kind(self) -> str:
        """``time``, ``peakmem`` or ``track``, from the method name."""
        return self.benchmark.rsplit(".", 1)[-1].split("_", 1)[0]
