from __future__ import annotations

import pytest

from mlupdate import Fleet, SyntheticTask, make_estimators

SMALL = dict(n_features=6, rows_per_batch=60, history_rows=300, seed=3)


def small_task(m: int, **kw) -> SyntheticTask:
    return SyntheticTask(n_targets=m, **{**SMALL, **kw})


@pytest.fixture(scope="session")
def mixed_fleet():
    task = small_task(4)
    return task, Fleet.deploy(task)


def deploy(m: int, kind: str = "mixed", **kw):
    task = small_task(m, **kw)
    return task, Fleet.deploy(task, make_estimators(m, kind))
