"""The suite of the working tree against the package of a commit from before the three floors.

asv runs this suite against every commit it measures, so it must import and run
against older packages, and moving code must not change what asv calls a
benchmark's version (a hash of its code), or every series' history resets.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

from mlupdate.bench.suite.catalog import suite_module

ROOT = Path(__file__).resolve().parents[2]
#: The last commit before the library, the instruments and the CLI moved into folders of their own.
BEFORE_THE_MOVE = "5830dc6"

VERSIONS = """
import json, sys
from asv_runner.discovery import disc_benchmarks
sys.path.insert(0, sys.argv[1])
print(json.dumps({b.name: b.version for b in disc_benchmarks(sys.argv[2])}))
"""

ONE_CELL = """
import sys
sys.path.append(sys.argv[1])  # the suite from this checkout, the package from PYTHONPATH
import mlupdate
from benchmarks.growth import GrowthCosts
bench = GrowthCosts()
bench.setup(2, 2)
print(mlupdate.__file__, bench.track_predict_calls(2, 2), bench.track_fit_calls(2, 2))
"""


@pytest.fixture(scope="module")
def old_package(tmp_path_factory) -> Path:
    """The commit before the move, checked out (package and suite) in a folder of its own."""
    if subprocess.run(["git", "cat-file", "-e", f"{BEFORE_THE_MOVE}^{{commit}}"], cwd=ROOT).returncode != 0:
        pytest.fail(f"commit {BEFORE_THE_MOVE} is not in this clone: the history tests need full history")
    out = tmp_path_factory.mktemp("before-the-move")
    archive = subprocess.run(["git", "archive", BEFORE_THE_MOVE], cwd=ROOT, capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(out)], input=archive, check=True)
    return out


def _python(code: str, *args: str, old: Path | None = None) -> str:
    env = dict(os.environ)
    if old is not None:  # the old package first on the path, ahead of this checkout's
        env["PYTHONPATH"] = str(old)
    cwd = old if old is not None else ROOT  # ``python -c`` puts the working folder first on the path
    run = subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, env=env, timeout=120, cwd=cwd
    )
    assert run.returncode == 0, run.stderr
    return run.stdout


def test_the_new_suite_runs_against_the_package_from_before_the_move(old_package):
    module, predicts, fits = _python(ONE_CELL, str(ROOT), old=old_package).split()
    assert Path(module).is_relative_to(old_package)  # the old package was the one measured
    assert (int(predicts), int(fits)) == (4, 2)


def test_the_move_changed_no_benchmark_version(old_package):
    old = json.loads(_python(VERSIONS, str(old_package), str(old_package / "benchmarks"), old=old_package))
    new = json.loads(_python(VERSIONS, str(ROOT), str(ROOT / "benchmarks")))
    assert len(old) >= 20 and set(new) >= set(old)  # benchmarks are added, never removed
    assert {name for name in old if new[name] != old[name]} == set()


def test_stop_workers_warns_once_when_joblib_renamed_its_cleanup(monkeypatch):
    from joblib.externals.loky import reusable_executor

    common = suite_module(ROOT / "benchmarks", "common")

    class Pool:
        def shutdown(self, wait):
            self.stopped = wait

    monkeypatch.setattr(common, "_warned", [])
    monkeypatch.setattr(common, "_FOLDER_FINALIZER", "a.name.joblib.never.had")
    for attempt in range(2):
        monkeypatch.setattr(reusable_executor, "_executor", Pool())
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            assert common.stop_workers() == 0
        messages = [str(w.message) for w in caught]
        if attempt == 0:
            assert len(messages) == 1 and "found no joblib folder finalizer" in messages[0]
        else:
            assert messages == []  # once per process


def test_stop_workers_leaves_an_untested_joblib_alone(monkeypatch):
    import joblib
    from joblib.externals.loky import reusable_executor

    common = suite_module(ROOT / "benchmarks", "common")

    class Pool:
        def shutdown(self, wait):
            pass

    monkeypatch.setattr(common, "_warned", [])
    monkeypatch.setattr(joblib, "__version__", "9.0.0")
    monkeypatch.setattr(reusable_executor, "_executor", Pool())
    with pytest.warns(RuntimeWarning, match=r"joblib 9\.0\.0 is not one stop_workers was tested on"):
        assert common.stop_workers() == 0
