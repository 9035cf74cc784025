"""From paired round values to a comparison: cells, exponents, noise, the sentinel."""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from pathlib import Path

from scipy.stats import gmean

from ..asv_results import CommitResults
from ..load import CoreLoad, noise_reasons
from ..scaling.exponents import fit_series
from ..scaling.series import Series, series_of
from .rounds import SENTINEL, RoundValues
from .stats import CellVerdict, ExponentVerdict, judge_cell, judge_exponent, noise_sd

__all__ = ["Comparison", "judge"]


@dataclass
class Comparison:
    """Everything ``mlupdate compare`` reports about BASE against HEAD."""

    base: str
    head: str
    rounds: int
    factor: float
    cells: list[CellVerdict]
    exponents: list[ExponentVerdict]
    same_within: float | None = None
    seconds: float = 0.0
    alone: frozenset = frozenset()  # (benchmark, params) of the cells that ran one side after the other
    load: CoreLoad | None = None  # the other load on the two cores over the rounds
    seed: int | None = None  # the design's seed (the seats of every round)

    @property
    def noisy(self) -> list[str]:
        """Why the rounds were noisy (other load on the cores, steal time); empty when they were not."""
        return noise_reasons(self.load)

    @property
    def sentinel(self) -> list[CellVerdict]:
        return [c for c in self.cells if re.match(SENTINEL, c.benchmark)]

    @property
    def suite(self) -> list[CellVerdict]:
        """The cells of the suite proper (not the drift sentinel)."""
        return [c for c in self.cells if not re.match(SENTINEL, c.benchmark)]

    @property
    def noise(self) -> float | None:
        return noise_sd(self.suite)

    @property
    def slower(self) -> list[CellVerdict]:
        """Time cells of the suite that got slower: these fail the gate."""
        return [c for c in self.suite if c.kind == "time" and c.verdict == "slower"]

    @property
    def grew(self) -> list[ExponentVerdict]:
        return [e for e in self.exponents if e.verdict == "grew"]

    @property
    def undecided(self) -> list[CellVerdict]:
        """Cells of the suite whose interval neither cleared the factor nor fell inside the band."""
        return [c for c in self.suite if c.verdict == "undecided"]

    @property
    def failed(self) -> bool:
        return bool(self.slower or self.grew)

    def to_dict(self) -> dict:
        return {
            "base": self.base,
            "head": self.head,
            "rounds": self.rounds,
            "factor": self.factor,
            "same_within": self.factor - 1 if self.same_within is None else self.same_within,
            "seconds": self.seconds,
            "cells": [c.to_dict() | {"alone": (c.benchmark, c.params) in self.alone} for c in self.cells],
            "exponents": [e.to_dict() for e in self.exponents],
            "noise": {"sd_log_ratio": self.noise, "sentinel": [c.to_dict() for c in self.sentinel]},
            "load": self.load.to_json() if self.load else None,
            "noisy": self.noisy,
            "design": {"seed": self.seed},
        }


def judge(values: RoundValues, factor: float, same_within: float | None = None) -> Comparison:
    """Judge every cell measured on both sides, and every fitted exponent (``same_within``:
    the equivalence band, default ``factor - 1``)."""
    paired = sorted(values.paired().items(), key=lambda kv: _suite_order(values, kv[0]))
    cells = [judge_cell(name, params, base, head, factor, same_within) for (name, params), (base, head) in paired]
    return Comparison(
        values.base,
        values.head,
        values.rounds,
        factor,
        cells,
        _exponents(values),
        same_within,
        values.seconds,
        frozenset(values.alone),
        values.load,
        values.seed,
    )


def _suite_order(values: RoundValues, key: tuple[str, tuple[str, ...]]) -> tuple[str, int]:
    """Benchmarks by name, cells in asv's parameter order (1, 2, 4, 16; not "1", "16", "2")."""
    name, params = key
    return name, _combos(values, name).get(params, -1)


def _combos(values: RoundValues, name: str) -> dict[tuple[str, ...], int]:
    """asv's cells of a benchmark, in order: parameter reprs -> index."""
    params = values.benchmarks.get(name, {}).get("params", [])
    return {tuple(map(str, c)): i for i, c in enumerate(itertools.product(*params))}


def _series(values: RoundValues, name: str, cells: dict[tuple[str, ...], float]) -> list[Series]:
    """The series of one benchmark from one value per cell (missing cells left out)."""
    meta = values.benchmarks.get(name, {})
    if not meta.get("params"):
        return []
    row = [[cells.get(c) for c in _combos(values, name)], meta["params"]]
    commit = CommitResults("", "", 0, Path(), {name: row}, ["result", "params"])
    return list(series_of(commit, name, meta))


def _fits(values: RoundValues, name: str, cells: dict[tuple[str, ...], float]) -> dict[str, dict[str, float]]:
    """Exponents per series key, for the series complete enough to fit."""
    out = {}
    for s in _series(values, name, cells):
        need = len(s.size_names) + 3
        if s.designed >= need and len(s.cells) >= need:
            out[s.key] = fit_series(s, n_boot=0).exponents
    return out


def _exponents(values: RoundValues) -> list[ExponentVerdict]:
    paired = values.paired()
    names = sorted({n for n, _ in paired if n.rsplit(".", 1)[-1].startswith("time_") and not re.match(SENTINEL, n)})
    out = []
    for name in names:
        mine = {p: v for (n, p), v in paired.items() if n == name}
        rounds = min(len(v[0]) for v in mine.values())  # the rounds every cell of the benchmark ran
        mine = {p: (v[0][:rounds], v[1][:rounds]) for p, v in mine.items()}
        geo = {side: {p: float(gmean(v[i])) for p, v in mine.items()} for i, side in enumerate("bh")}
        base_all, head_all = _fits(values, name, geo["b"]), _fits(values, name, geo["h"])
        per_round = [
            (_fits(values, name, {p: v[0][r] for p, v in mine.items()}),
             _fits(values, name, {p: v[1][r] for p, v in mine.items()}))
            for r in range(rounds)
        ]  # fmt: skip
        for key, exps in head_all.items():
            if key not in base_all:
                continue
            for exp, head in exps.items():
                deltas = [h[key][exp] - b[key][exp] for b, h in per_round if key in b and key in h]
                if len(deltas) == rounds:
                    out.append(judge_exponent(key, exp, base_all[key][exp], head, deltas))
    return out
