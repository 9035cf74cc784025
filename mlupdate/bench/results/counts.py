"""Each commit's own counts: what its update did in the runs that were timed, and their formulas.

The suite's ``Workload`` (``benchmarks/common.py``) makes every benchmark process note the counts
of its update's first run (asv's untimed warm-up) in the folder :data:`COUNTS_DIR_VAR` names. A
paired run gives each side a folder of its own, and :func:`collect` reads it into one
:class:`RecordedCounts` per commit, stored beside that commit's asv result file
(:func:`counts_path`: ``<hash8>-<env>.counts``; asv reads only ``*.json``).

Counts are exact, so a series' counts over its grid are polynomials of its sizes: :func:`fit_formula`
finds the polynomial in ``m`` and ``n`` (or ``k``) that gives every recorded cell exactly, and it
prices sizes never run (the seed's 1000x1000) with the commit's own formula. Results of commits
that have no recorded counts fall back to the checkout's plan
(:func:`mlupdate.bench.scaling.costs.own_counts` says which).
"""

from __future__ import annotations

import dataclasses
import itertools
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import numpy as np

__all__ = [
    "COUNTS_DIR_VAR",
    "CountFormula",
    "RecordedCounts",
    "collect",
    "counts_path",
    "fit_formula",
    "read_counts",
    "workload_key",
    "write_counts",
]

#: The folder a benchmark process notes its update's counts in (``benchmarks/common.py`` names it too).
COUNTS_DIR_VAR = "MLUPDATE_COUNTS_DIR"
#: The monomials ``m**i * n**j`` a count formula is made of, tried in this order (a count of the loop
#: is at most linear in the models and quadratic in the batches: a refit per batch on growing data).
MONOMIALS = ((0, 0), (1, 0), (0, 1), (1, 1), (0, 2), (1, 2), (2, 0), (2, 1), (2, 2))
#: The monomials of a series with one size (the diagonal's ``k = m = n``): ``k**i``.
POWERS = ((0, 0), (1, 0), (2, 0), (3, 0))


def workload_key(fields: Mapping) -> str:
    """The key of a workload's fields (a dataclass's ``asdict``): sorted JSON."""
    return json.dumps(dict(fields), sort_keys=True, default=str)


def _fields(workload) -> dict:
    return dataclasses.asdict(workload) if dataclasses.is_dataclass(workload) else dict(workload)


@dataclass
class RecordedCounts:
    """The counts one commit's timed runs made, per workload (its fields' :func:`workload_key`)."""

    commit: str
    counts: dict[str, dict[str, int]] = field(default_factory=dict)
    version: int = 1

    def of(self, workload) -> dict[str, int] | None:
        """The recorded counts of ``workload`` (a Workload or its fields), or None."""
        return self.counts.get(workload_key(_fields(workload)))

    def merged(self, other: RecordedCounts) -> RecordedCounts:
        return RecordedCounts(self.commit, {**self.counts, **other.counts})

    def to_json(self) -> dict:
        return {"version": self.version, "commit": self.commit, "counts": self.counts}

    @classmethod
    def from_json(cls, doc: Mapping) -> RecordedCounts:
        if doc.get("version") != 1:
            raise ValueError(f"counts file version {doc.get('version')!r} is not 1")
        return cls(str(doc["commit"]), {k: {c: int(v) for c, v in d.items()} for k, d in doc["counts"].items()})


def collect(folder: Path, commit: str) -> RecordedCounts:
    """Every note the benchmark processes left in ``folder`` (a half-written one is skipped)."""
    found = {}
    for path in sorted(Path(folder).glob("*.json")):
        try:
            doc = json.loads(path.read_text())
            found[workload_key(doc["workload"])] = {str(k): int(v) for k, v in doc["counts"].items()}
        except (OSError, ValueError, KeyError, TypeError):
            continue
    return RecordedCounts(commit, found)


def counts_path(result_file: Path) -> Path:
    """The counts file beside an asv result file."""
    return Path(result_file).with_suffix(".counts")


def write_counts(result_file: Path, recorded: RecordedCounts) -> Path | None:
    """Store ``recorded`` beside ``result_file``, merged over what an earlier run stored there."""
    if not recorded.counts:
        return None
    path = counts_path(result_file)
    old = read_counts(result_file)
    doc = (old.merged(recorded) if old and old.commit == recorded.commit else recorded).to_json()
    path.write_text(json.dumps(doc, sort_keys=True))
    return path


def read_counts(result_file: Path) -> RecordedCounts | None:
    """The counts stored beside ``result_file``; None where none are (results of older runs)."""
    try:
        return RecordedCounts.from_json(json.loads(counts_path(result_file).read_text()))
    except (OSError, ValueError, KeyError, TypeError):
        return None


@dataclass(frozen=True)
class CountFormula:
    """A count as an exact polynomial of the sizes: ``sum coef * m**i * n**j``."""

    terms: tuple[tuple[int, int, Fraction], ...]  # (power of m, power of n, coefficient)
    names: tuple[str, str] = ("m", "n")

    def __call__(self, m: float, n: float) -> float:
        return float(sum(float(c) * m**i * n**j for i, j, c in self.terms))

    def text(self) -> str:
        """``m·n``, ``1000·m + 200·m·n``, ``0``."""
        parts = []
        for i, j, c in sorted(self.terms, key=lambda t: (t[0] + t[1], t[0]), reverse=True):
            mono = "·".join(p for p in (self._power(self.names[0], i), self._power(self.names[1], j)) if p)
            coef = "" if c == 1 and mono else str(c)
            parts.append("·".join(p for p in (coef, mono) if p))
        return " + ".join(parts) if parts else "0"

    @staticmethod
    def _power(name: str, p: int) -> str:
        return "" if p == 0 else name if p == 1 else f"{name}²" if p == 2 else f"{name}^{p}"


def fit_formula(sizes: Sequence[tuple[int, int]], values: Sequence[int], names=("m", "n")) -> CountFormula | None:
    """The polynomial with the fewest monomials of :data:`MONOMIALS` that gives every ``(m, n)`` its
    count exactly; None when none does (or the cells cannot tell the monomials apart). A series of
    one size passes ``(k, 1)`` and one name: its formula is made of :data:`POWERS`.

    >>> fit_formula([(m, n) for m in (1, 2, 4) for n in (1, 4, 16)], [m * n for m in (1, 2, 4) for n in (1, 4, 16)]).text()
    'm·n'
    >>> fit_formula([(k, 1) for k in (1, 2, 4, 8)], [3 * k * k for k in (1, 2, 4, 8)], names=("k",)).text()
    '3·k²'
    """
    monomials = POWERS if len(names) == 1 else MONOMIALS
    names = (*names, "")[:2]
    x = np.asarray(sizes, float)
    y = np.asarray(values, float)
    if not len(y):
        return None
    if not y.any():
        return CountFormula((), tuple(names))
    columns = {mono: x[:, 0] ** mono[0] * x[:, 1] ** mono[1] for mono in monomials}
    for size in range(1, len(monomials) + 1):
        for chosen in itertools.combinations(monomials, size):
            A = np.column_stack([columns[mono] for mono in chosen])
            if np.linalg.matrix_rank(A) < size or len(y) <= size:
                continue  # not identified, or no cell left to check the fit on
            coef, *_ = np.linalg.lstsq(A, y, rcond=None)
            exact = [Fraction(c).limit_denominator(8) for c in coef]
            if np.array_equal(A @ np.array([float(c) for c in exact]), y):
                return CountFormula(
                    tuple((i, j, c) for (i, j), c in zip(chosen, exact, strict=True) if c), tuple(names)
                )
    return None
