"""Your own fleet: the update's time, peak memory and counts over a small m x n grid.

Fleets are added by ``mlupdate bench --data FILE [--models FILE]`` (see
:mod:`mlupdate.bench.own_fleets`), which stores each under an id holding its data's and
models' content hashes and its workload, and runs these cells in the Python
environment that stored it. With no fleet registered this module defines no
benchmark; in any other environment (e.g. the pinned matrix of ``make bench``) a
fleet's cells are skipped (n/a), because its pickle belongs to its environment.
"""

import functools
import json
import os
from pathlib import Path

from .common import Prepared, Workload, _Counted, _Timed

REGISTRY = Path(os.environ.get("ASV_CONF_DIR", Path(__file__).resolve().parents[1])) / ".asv" / "own" / "fleets.json"
FLEETS = json.loads(REGISTRY.read_text()) if REGISTRY.exists() else {}


@functools.lru_cache(maxsize=2)
def _bundle(fleet_id):
    import joblib

    return joblib.load(REGISTRY.parent / FLEETS[fleet_id]["bundle"])


if FLEETS:

    class OwnFleet(_Timed, _Counted):
        """A registered fleet's update, on its first m models and first n batches."""

        params = [sorted(FLEETS), [1, 4, 16, 64, 256], [1, 4, 16, 64]]
        param_names = ["fleet", "n_models", "n_batches"]
        workload = None  # not a synthetic workload: the scaling page fits its growth, the cost model skips it

        def setup(self, fleet_id, n_models, n_batches):
            from mlupdate.executors import get_executor

            try:
                from mlupdate.batches import Batch
                from mlupdate.bench.own_fleets import environment_key
            except ImportError:  # a commit from before the three floors, or before `mlupdate bench`
                try:
                    from mlupdate.data import Batch
                    from mlupdate.ownbench import environment_key
                except ImportError:
                    raise NotImplementedError("this commit's mlupdate cannot load a registered fleet") from None

            entry = FLEETS[fleet_id]
            if entry["environment"] != environment_key():
                raise NotImplementedError(f"measured by `mlupdate bench` in {entry['environment']}")
            if n_models > entry["n_models"] or n_batches > entry["n_batches"]:
                raise NotImplementedError(f"the fleet has {entry['n_models']} models and {entry['n_batches']} batches")
            bundle = _bundle(fleet_id)
            batches = [Batch(k, X, Y[:, :n_models]) for k, (X, Y) in enumerate(bundle["batches"][:n_batches])]
            X_hold, Y_hold = bundle["holdout"]
            workload = Workload(n_models, n_batches, estimators="own", order=entry["order"], strategy=entry["strategy"],
                                executor=entry["executor"])  # fmt: skip
            executor = (
                get_executor("joblib", n_jobs=2) if entry["executor"] == "joblib" else get_executor(entry["executor"])
            )
            self.prepared = Prepared(
                workload, bundle["fleet"].take(n_models), batches, (X_hold, Y_hold[:, :n_models]), executor
            )
            if entry["executor"] != "serial":
                self.prepared.warm_up()

    def _grid(entry, key, default):
        return entry.get(key) or [k for k in default if k <= entry["n_models" if key == "grid_models" else "n_batches"]]

    class OwnFleetGrid(OwnFleet):
        """A registered fleet's update over its own grid: m and n geometric up to and including the
        fleet's own (or the sizes ``mlupdate bench --sizes`` chose). Sizes of other fleets' grids
        are n/a for this one. ``workload`` gives the counts of the stored fleet's plan (its rows,
        history, order and strategy), so the cost model fits and predicts it."""

        params = [
            sorted(FLEETS),
            sorted({m for e in FLEETS.values() for m in _grid(e, "grid_models", [1, 4, 16, 64, 256])}),
            sorted({n for e in FLEETS.values() for n in _grid(e, "grid_batches", [1, 4, 16, 64])}),
        ]
        param_names = ["fleet", "n_models", "n_batches"]

        def setup(self, fleet_id, n_models, n_batches):
            entry = FLEETS[fleet_id]
            if n_models not in _grid(entry, "grid_models", [1, 4, 16, 64, 256]) or n_batches not in _grid(
                entry, "grid_batches", [1, 4, 16, 64]
            ):
                raise NotImplementedError(f"{n_models}x{n_batches} is not in the fleet's grid")
            super().setup(fleet_id, n_models, n_batches)

        def workload(self, fleet_id, n_models, n_batches):
            entry = FLEETS[fleet_id]
            if not entry.get("rows_per_batch"):
                raise NotImplementedError("registered before its rows were stored: run `mlupdate bench` again")
            return Workload(
                n_models,
                n_batches,
                rows_per_batch=entry["rows_per_batch"],
                history_rows=entry["history_rows"],
                estimators="own",
                order=entry["order"],
                strategy=entry["strategy"],
                executor=entry["executor"],
            )
