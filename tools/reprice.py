"""Price a finished paired run again from its result files: what compare's unit costs say today.

    python tools/reprice.py /tmp/cmp/dev/.asv/results BASE HEAD [--benchmarks /tmp/cmp/dev/benchmarks]

A compare (or a nightly step) keeps every round's sample of both sides in the two commits' result
files, paired by index, and the counts each side's runs recorded beside them. This reads them back
(every time cell with as many samples on both sides), prices each series as ``mlupdate compare``
does (:func:`mlupdate.bench.scaling.prices.price_series`) and prints each series' summary: a
change to the pricing can be checked on runs already made, such as a same-code pair.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from mlupdate.bench.results.asv_results import result_of
from mlupdate.bench.results.counts import read_counts
from mlupdate.bench.scaling.prices import price_series
from mlupdate.bench.stats import CellRounds
from mlupdate.bench.suite.catalog import NoWorkload, WorkloadError, workload_of


def _samples(result) -> dict[tuple[str, tuple[str, ...]], list[float]]:
    out = {}
    for name in result.names():
        if not name.rsplit(".", 1)[-1].startswith("time_"):
            continue
        for params, samples in zip(result.cells(name), result.samples(name), strict=True):
            if samples:
                out[(name, tuple(params))] = samples
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", type=Path)
    parser.add_argument("base")
    parser.add_argument("head")
    parser.add_argument("--benchmarks", type=Path, default=Path("benchmarks"))
    args = parser.parse_args()
    sides = [result_of(args.results, sha) for sha in (args.base, args.head)]
    if None in sides:
        parser.error(f"no result file of {args.base if sides[0] is None else args.head} in {args.results}")
    base, head = (_samples(r) for r in sides)
    suite = json.loads((args.results / "benchmarks.json").read_text())  # asv's discovery: param names
    names = {name: tuple(suite[name].get("param_names") or []) for name, _ in base}
    cells = [
        CellRounds(name, params, names[name], tuple(base[(name, params)]), tuple(head[(name, params)]))
        for name, params in sorted(base)
        if (name, params) in head and len(base[(name, params)]) == len(head[(name, params)])
    ]

    def workload(cell: CellRounds):
        try:
            return workload_of(cell.benchmark, list(cell.params), args.benchmarks)
        except (NoWorkload, WorkloadError):
            return None

    recorded = tuple(read_counts(r.path) for r in sides)
    for price in price_series(cells, workload, recorded, 1.05, 0.05):
        print(price.summary())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
