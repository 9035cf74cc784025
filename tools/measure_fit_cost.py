"""What one fit costs when ``full`` refits after every batch (the held-out strategy change), read
from the update's own stage timer rather than the whole update's time.

    python tools/measure_fit_cost.py [REPEATS]

Over StrategyGrowth's grid and its long runs, in this process, BASE (one refit per model on the
history and the n batches) and HEAD (a refit after every batch, on the history and the batches so
far) alternate cell by cell; each cell's second run is read (the first is a warm-up, as asv's).
Per side, the fit stage's seconds are fitted as ``f * fits + r * rows trained`` (least squares in
relative error): a fit's own cost ``f`` and a row's ``r``. The two sides' ``f`` agreeing says that a fit costs the same after the
change, whatever a cost model over whole updates reads (``compare``'s unit costs)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(var, "1")  # as the suite pins them

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.strategies import strategy_workload  # noqa: E402
from mlupdate.strategies import FullRetrain, TrainingData, _refit  # noqa: E402

GRID = [(m, n) for m in (1, 2, 4, 8, 16) for n in (1, 4, 16)] + [(2, 32), (2, 64)]


def refit_after_every_batch(self, model, data, new_r2, stages):
    """HEAD's retrain: the held-out change of ``tools/measure_steps.py``'s STRATEGY."""
    fitted = None
    for i in range(1, len(data.X_new) + 1):
        part = TrainingData(data.X_history, data.y_history, data.X_new[:i], data.y_new[:i])
        fitted = _refit(model.estimator, part, stages)
    return fitted


def measure(repeats: int) -> dict[str, np.ndarray]:
    """Per side, rows of ``(fits, rows trained, fit seconds)`` over the grid and the repeats."""
    retrains = {"base": FullRetrain.retrain_model, "head": refit_after_every_batch}
    rows: dict[str, list] = {"base": [], "head": []}
    try:
        for rep in range(repeats):
            for m, n in GRID:
                for side in ("base", "head") if rep % 2 == 0 else ("head", "base"):
                    FullRetrain.retrain_model = retrains[side]
                    prepared = strategy_workload("full", "model-major", m, n).prepare()
                    prepared.run()
                    report = prepared.run()
                    rows[side].append((report.counts["fit"], report.counts["rows_trained"], report.seconds["fit"]))
    finally:
        FullRetrain.retrain_model = retrains["base"]
    return {side: np.array(v, float) for side, v in rows.items()}


def main() -> int:
    repeats = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    fitted = {}
    for side, a in measure(repeats).items():
        # in relative error, each cell alike: in seconds the 2x64 cell's 128 fits would set f alone
        (f, r), *_ = np.linalg.lstsq(a[:, :2] / a[:, 2:], np.ones(len(a)), rcond=None)
        fitted[side] = f
        per_fit = a[:, 1] / a[:, 0]
        print(
            f"{side}: a fit {f * 1e3:.3f} ms + {r * 1e6:.3f} us per row trained"
            f" ({len(a)} cells, {per_fit.min():.0f}-{per_fit.max():.0f} rows per fit)"
        )
    print(f"a fit's own cost, HEAD / BASE: x{fitted['head'] / fitted['base']:.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
