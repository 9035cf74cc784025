"""Small seeded fleets, fast to deploy and update."""

from __future__ import annotations

from mlupdate import Fleet, SyntheticTask, make_estimators

SMALL = dict(n_features=6, rows_per_batch=60, history_rows=300, seed=3)


def small_task(m: int, **kw) -> SyntheticTask:
    """A small seeded task of ``m`` targets (fast to deploy and update)."""
    return SyntheticTask(n_targets=m, **{**SMALL, **kw})


def deploy(m: int, kind: str = "mixed", **kw):
    """``(task, fleet)``: ``m`` models of ``kind`` deployed on a small task."""
    task = small_task(m, **kw)
    return task, Fleet.deploy(task, make_estimators(m, kind))
