"""Bad input: one clear line, exit status 2 from the CLI, ValueError/TypeError from the API."""

import json
import subprocess
import sys

import numpy as np
import pytest
from helpers.fleets import deploy

from mlupdate import Batch, Plan, SyntheticTask, update_fleet
from mlupdate.cli import main
from mlupdate.executors import JoblibExecutor


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["run", "--models", "0"], "'0' is not a whole number >= 1"),
        (["run", "--batches", "-3"], "'-3' is not a whole number >= 1"),
        (["run", "--rows", "2.5"], "'2.5' is not a whole number >= 1"),
        (["run", "--strategy", "bogus"], "invalid choice: 'bogus' (choose from 'none', 'full'"),
        (["run", "--executor", "gpu"], "invalid choice: 'gpu' (choose from 'serial', 'joblib'"),
        (["run", "--order", "sideways"], "invalid choice: 'sideways' (choose from 'model-major', 'batch-major'"),
        (["run", "--executor", "joblib", "--backend", "nope"], "unknown joblib backend 'nope'; allowed: "),
        (["run", "--executor", "joblib", "--n-jobs", "0"], "0 is not allowed; use -1"),
        (["run", "--n-jobs", "2"], "apply to --executor joblib"),
        (["run", "--strategy", "incremental"], "needs partial_fit"),
        (["run", "--drift", "nan"], "drift=nan must be a finite number >= 0"),
        (["run", "--threshold", "0.2"], "--threshold 0.2 applies to --strategy triggered, not 'full'"),
        (["run", "--targets", "a,b"], "--targets names your data's columns: it goes with --data FILE"),
        (["plan", "10by10"], "'10by10' is not MxN"),
        (["frobnicate"], "invalid choice: 'frobnicate'"),
    ],
)
def test_cli_bad_input_is_one_line_exit_2(argv, needle, capsys):
    assert main(argv) == 2
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    assert lines[0].startswith("mlupdate: error: ") and needle in lines[0]
    assert captured.out == ""


def test_cli_subprocess_has_no_traceback():
    proc = subprocess.run([sys.executable, "-m", "mlupdate", "run", "--models", "x"], capture_output=True, text=True)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr and proc.stderr.count("\n") == 1


@pytest.mark.parametrize(
    ("kwargs", "exc", "match"),
    [
        ({"n_models": 0, "n_batches": 1}, ValueError, "n_models=0 must be a whole number >= 1"),
        ({"n_models": 2, "n_batches": 1.5}, TypeError, "n_batches=1.5 must be a whole number"),
        ({"n_models": True, "n_batches": 1}, TypeError, "n_models=True"),
        ({"n_models": 1, "n_batches": 1, "order": "x"}, ValueError, "allowed: model-major, batch-major"),
        ({"n_models": 1, "n_batches": 1, "strategy": "x"}, ValueError, "allowed: none, full, triggered"),
    ],
)
def test_plan_rejects(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        Plan(**kwargs)


def test_api_rejects_names_and_n_jobs():
    task, fleet = deploy(2)
    with pytest.raises(ValueError, match="unknown executor 'gpu'; allowed: serial, joblib"):
        update_fleet(fleet, task.stream(1), task.holdout(1), executor="gpu")
    with pytest.raises(ValueError, match="unknown strategy 'x'"):
        update_fleet(fleet, task.stream(1), task.holdout(1), strategy="x")
    with pytest.raises(ValueError, match="n_jobs=0 is not allowed"):
        JoblibExecutor(n_jobs=0)
    with pytest.raises(ValueError, match=r"n_jobs=1\.5"):
        JoblibExecutor(n_jobs=1.5)
    with pytest.raises(ValueError, match="unknown joblib backend"):
        JoblibExecutor(backend="spark")


def _good(task, i):
    return task.batch(i, 4)


@pytest.mark.parametrize(
    ("make_bad", "match"),
    [
        (lambda b: Batch(b.index, b.X[:, :-1], b.y), "batch 2 has 5 features; the fleet was trained on 6"),
        (
            lambda b: Batch(b.index, np.where(np.arange(b.X.size).reshape(b.X.shape) == 7, np.nan, b.X), b.y),
            "batch 2: X holds NaN or inf",
        ),
        (
            lambda b: Batch(b.index, b.X, np.where(np.arange(b.y.size).reshape(b.y.shape) == 0, np.inf, b.y)),
            "batch 2: y holds NaN or inf",
        ),
        (lambda b: Batch(b.index, b.X[:0], b.y[:0]), "batch 2 is empty"),
        (lambda b: Batch(b.index, b.X, b.y[:-1]), "batch 2: y has 59 rows but X has 60"),
        (lambda b: Batch(b.index, b.X, b.y[:, :1]), r"batch 2: y has shape \(60, 1\); expected \(60, 2\)"),
        (lambda b: Batch(b.index, b.X.astype(str), b.y), "batch 2: X must be numeric, got dtype <U"),
        (lambda b: "a string", "batch 2: expected an mlupdate.Batch or an \\(X, Y\\) pair, got str"),
    ],
)
def test_bad_batches_named_before_any_work(make_bad, match):
    task, fleet = deploy(2)
    batches = [_good(task, 0), _good(task, 1), make_bad(_good(task, 2)), _good(task, 3)]
    with pytest.raises((ValueError, TypeError), match=match):
        update_fleet(fleet, batches, task.holdout(4))


def test_no_batches():
    task, fleet = deploy(2)
    with pytest.raises(ValueError, match="no batches"):
        update_fleet(fleet, [], task.holdout(1))


def test_task_rejects_bad_drift_targets():
    with pytest.raises(ValueError, match=r"drift_targets \[5\] out of range; allowed 0..1"):
        SyntheticTask(2, drift=1.0, drift_targets=[5])


def test_version(capsys):
    import mlupdate
    from mlupdate.cli import main

    with pytest.raises(SystemExit) as exit_:
        main(["--version"])
    assert exit_.value.code == 0
    assert capsys.readouterr().out.strip() == f"mlupdate {mlupdate.__version__}"


def test_cli_caps_n_jobs_at_the_cores_in_one_warning_line(capsys):
    import joblib

    cores = joblib.cpu_count()
    args = ["run", "-m", "2", "-n", "1", "--rows", "20", "--history-rows", "50", "--estimators", "ridge"]
    assert main([*args, "--executor", "joblib", "--backend", "threading", "--n-jobs", "100000", "--json"]) == 0
    out = capsys.readouterr()
    assert out.err.strip() == f"mlupdate: warning: n_jobs=100000 is more than the {cores} usable cores: using {cores}"
    assert json.loads(out.out)["config"]["n_jobs"] == cores


def test_the_header_counts_the_blas_threads_the_environment_allows(monkeypatch, capsys):
    from mlupdate.executors.base import THREAD_VARIABLES

    for name in THREAD_VARIABLES:  # CI may set any of them
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    assert main(["run", "-m", "2", "-n", "2", "--rows", "50", "--history-rows", "200"]) == 0
    assert "(1 worker(s), 1 BLAS thread(s) each)" in capsys.readouterr().out
    from mlupdate.executors.base import environment_threads

    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "3")
    monkeypatch.setenv("OMP_NUM_THREADS", "garbage")
    assert environment_threads() == 3


@pytest.mark.parametrize(
    ("command", "shown"),
    [
        (
            "run",
            [
                "loop order (default model-major)",
                "(default 0.1)",
                "retrain strategy (default full)",
                "executor (default serial)",
                "a plain StandardScaler",
            ],
        ),
        ("bench", ["loop order (default batch-major)", "retrain strategy (default full)", "--sizes"]),
        ("plan", ["loop order (default model-major)", "(default full shared)"]),
    ],
)
def test_help_shows_the_defaults(command, shown, capsys):
    with pytest.raises(SystemExit):
        main([command, "--help"])
    text = " ".join(capsys.readouterr().out.split())  # argparse wraps lines
    for needle in shown:
        assert needle in text, needle


def test_the_report_columns_say_what_each_score_is(capsys):
    assert main(["run", "-m", "2", "-n", "2", "--rows", "50", "--history-rows", "200"]) == 0
    out = capsys.readouterr().out
    assert "R2 new batches" in out and "R2 holdout" in out and "R2 before" not in out
    assert "(R2 new batches: the deployed model, mean over the new batches; holdout: after the retrain)" in out
