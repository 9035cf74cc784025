"""``mlupdate run --data``: Parquet, a directory of CSV files, a fitted fleet, and every bad input."""

from __future__ import annotations

import json
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import Ridge
from sklearn.tree import DecisionTreeRegressor

from mlupdate import Fleet
from mlupdate.cli import main

ROOT = Path(__file__).resolve().parents[2]

TARGETS = "ya,yb,yc"


def table(batches: int = 5, rows: int = 40, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    parts = []
    for b in range(batches):
        df = pd.DataFrame({"batch": b, "x1": rng.normal(size=rows), "x2": rng.normal(size=rows)})
        for k, t in enumerate(TARGETS.split(",")):
            df[t] = (k + 1) * df.x1 - df.x2 + 0.1 * rng.normal(size=rows)
        parts.append(df)
    return pd.concat(parts, ignore_index=True)


@pytest.fixture
def files(tmp_path):
    df = table()
    df.to_parquet(tmp_path / "d.parquet")
    df.to_csv(tmp_path / "d.csv", index=False)
    (tmp_path / "dir").mkdir()
    for b, part in df.groupby("batch"):
        part.drop(columns="batch").to_csv(tmp_path / "dir" / f"b{b:02d}.csv", index=False)
    joblib.dump([Ridge(), DecisionTreeRegressor(max_depth=3), Ridge(alpha=2.0)], tmp_path / "models.joblib")
    return tmp_path


def run_json(capsys, *args: str) -> dict:
    assert main(["run", *args, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_a_parquet_file_and_a_directory_of_csv_files_give_the_same_report(files, capsys):
    models = ["--models", str(files / "models.joblib"), "--targets", TARGETS]
    parquet = run_json(capsys, "--data", str(files / "d.parquet"), *models)
    directory = run_json(capsys, "--data", str(files / "dir"), *models)
    assert parquet["config"]["n_models"] == 3 and parquet["config"]["n_batches"] == 3  # history, 3 new, holdout
    assert parquet["counts"] == parquet["planned"] == directory["counts"]
    assert parquet["config"]["history_rows"] == 40 and parquet["config"]["rows_per_batch"] == 40
    for a, b in zip(parquet["after"], directory["after"], strict=True):
        assert b == pytest.approx(a, rel=1e-9)
    assert parquet["after"][0]["r2"] > 0.95
    assert parquet["config"]["targets"] == TARGETS.split(",")  # which model serves which column


def test_the_report_table_names_each_models_target(files, capsys):
    assert main(["run", "--data", str(files / "d.csv"), "--targets", TARGETS, "--estimators", "ridge"]) == 0
    out = capsys.readouterr().out
    assert "0 ya Ridge" in out and "2 yc Ridge" in out


def test_a_fitted_fleet_is_used_as_it_is(files, capsys):
    df = table()
    history = df[df.batch == 0]
    fleet = Fleet.from_data(history[["x1", "x2"]], history[TARGETS.split(",")], [Ridge()] * 3)
    joblib.dump(fleet, files / "fleet.joblib")
    report = run_json(capsys, "--data", str(files / "d.parquet"), "--models", str(files / "fleet.joblib"))
    assert report["config"]["n_batches"] == 4  # the fleet has its history: batches 0-3 are new, 4 the holdout
    assert report["config"]["history_rows"] == 40


@pytest.mark.parametrize(
    ("change", "args", "message"),
    [
        (None, ["--data", "{d}/nope.csv", "--targets", TARGETS], "{d}/nope.csv: no such file or directory"),
        (None, ["--data", "{d}/d.csv", "--targets", "ya,zz"], "{d}/d.csv: no target column 'zz' (columns: x1, x2, ya"),
        (
            None,
            ["--data", "{d}/d.csv", "--targets", TARGETS, "--batch-column", "day"],
            "{d}/d.csv: no batch column 'day'",
        ),
        ("nan", ["--data", "{d}/d.csv", "--targets", TARGETS], "{d}/d.csv: column 'x2', row 57: missing, NaN or inf"),
        ("text", ["--data", "{d}/d.csv", "--targets", TARGETS], "{d}/d.csv: target column 'yb' is not numeric"),
        ("garbage", ["--data", "{d}/d.parquet", "--targets", TARGETS], "{d}/d.parquet: cannot read it as parquet"),
        (None, ["--data", "{d}/d.csv"], "{d}/d.csv: no target columns given; name them with --targets"),
        ("two", ["--data", "{d}/d.csv", "--targets", TARGETS], "{d}/d.csv: has 2 batch(es); need at least 3"),
        ("txt", ["--data", "{d}/d.txt", "--targets", TARGETS], "{d}/d.txt: unsupported file type '.txt'"),
        (
            "short",
            ["--data", "{d}/d.csv", "--targets", TARGETS, "--models", "{d}/models.joblib"],
            "{d}/models.joblib: 2 estimators for 3 target columns; they must match",
        ),
        (
            "notest",
            ["--data", "{d}/d.csv", "--targets", TARGETS, "--models", "{d}/models.joblib"],
            "{d}/models.joblib: item 1 is a str, not a scikit-learn estimator",
        ),
        (
            "pickle",
            ["--data", "{d}/d.csv", "--targets", TARGETS, "--models", "{d}/models.joblib"],
            "{d}/models.joblib: not a models file joblib can load (",
        ),
        (
            "dict",
            ["--data", "{d}/d.csv", "--targets", TARGETS, "--models", "{d}/models.joblib"],
            "{d}/models.joblib: holds a dict without an 'estimators' key (its keys: 'models')",
        ),
        ("short", ["--models", "{d}/models.joblib"], "--models {d}/models.joblib: a models file goes with --data FILE"),
        (None, ["--data", "{d}/d.csv", "--targets", TARGETS, "-m", "abc"], "'abc' is neither a number of models"),
        ("datecol", ["--data", "{d}/d.csv", "--targets", TARGETS], "leave it out with --exclude x3"),
        (None, ["--data", "{d}/d.csv", "--targets", TARGETS, "-m", "4"], "--models N is the synthetic fleet's size"),
        (
            None,
            ["--data", "{d}/d.csv", "--targets", TARGETS, "--models", "{d}/models.joblib", "--estimators", "tree"],
            "--estimators tree and --models {d}/models.joblib: the models file gives the estimators",
        ),
        (None, ["--data", "{d}/d.csv", "--targets", TARGETS, "-n", "4"], "--batches sizes the synthetic fleet"),
        (None, ["--data", "{d}/d.csv", "--targets", TARGETS, "--rows", "9"], "--rows sizes the synthetic fleet"),
        (
            None,
            ["--data", "{d}/d.csv", "--targets", TARGETS, "--strategy", "incremental"],
            "strategy 'incremental' needs partial_fit",
        ),
    ],
)
def test_bad_files_are_one_line_naming_the_file_and_exit_2(files, capsys, change, args, message):
    df = table()
    if change == "nan":
        df.loc[57, "x2"] = np.nan
    if change == "text":
        df["yb"] = df["yb"].astype(str) + "kg"
    if change == "two":
        df = df[df.batch < 2]
    if change == "datecol":
        df["x3"] = "2024-01-0" + (df.index % 9 + 1).astype(str)
    df.to_csv(files / "d.csv", index=False)
    if change == "garbage":
        (files / "d.parquet").write_bytes(b"not parquet at all")
    if change == "txt":
        (files / "d.txt").write_text("x")
    if change in ("short", "notest"):
        joblib.dump([Ridge(), "ridge", Ridge()] if change == "notest" else [Ridge(), Ridge()], files / "models.joblib")
    if change == "pickle":
        (files / "models.joblib").write_bytes(b"\x80\x04garbage")
    if change == "dict":
        joblib.dump({"models": [Ridge()] * 3}, files / "models.joblib")
    before = sorted(p.name for p in files.rglob("*"))
    assert main(["run", *(a.format(d=files) for a in args)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""  # no report, nothing written
    assert captured.err.count("\n") == 1 and message.format(d=files) in captured.err
    assert sorted(p.name for p in files.rglob("*")) == before


def test_bench_checks_the_strategy_before_it_registers_anything(files, capsys):
    registry = ROOT / ".asv" / "own" / "fleets.json"
    before = registry.read_bytes() if registry.exists() else None
    args = ["bench", "--data", str(files / "d.csv"), "--targets", TARGETS, "--strategy", "incremental"]
    assert main([*args, "--project", str(ROOT)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "strategy 'incremental' needs partial_fit" in err, err
    assert (registry.read_bytes() if registry.exists() else None) == before


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda df: df.drop(columns="x2"), "{d}/dir/b03.csv: no column 'x2', which b00.csv has"),
        (lambda df: df.assign(t=1.0), "{d}/dir/b03.csv: column 't' is not in b00.csv"),
        (lambda df: df.assign(x1="a"), "{d}/dir/b03.csv: column 'x1' is non-numeric (str), but numeric in b00.csv"),
    ],
)
@pytest.mark.parametrize("command", ["run", "bench"])
def test_batch_files_are_checked_as_a_set(files, capsys, edit, message, command):
    """A later file that lacks a column of the first, has one more, or holds text where the first has
    numbers: one line naming the file and the column, exit 2, nothing written."""
    path = files / "dir" / "b03.csv"
    edit(pd.read_csv(path)).to_csv(path, index=False)
    registry = ROOT / ".asv" / "own" / "fleets.json"
    before = sorted(p.name for p in files.rglob("*")), registry.read_bytes() if registry.exists() else None
    args = ["--data", str(files / "dir"), "--targets", TARGETS]
    assert main([command, *args] + (["--project", str(ROOT)] if command == "bench" else [])) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message.format(d=files) in err, err
    assert (sorted(p.name for p in files.rglob("*")), registry.read_bytes() if registry.exists() else None) == before


def test_a_failed_deploy_fit_names_its_model_and_the_estimators_own_error(files, capsys):
    joblib.dump([Ridge(), Ridge(), Ridge(alpha=-1)], files / "models.joblib")
    args = ["run", "--data", str(files / "d.csv"), "--targets", TARGETS, "--models", str(files / "models.joblib")]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err
    assert "deploying model 2 (Ridge(alpha=-1)) failed: InvalidParameterError: The 'alpha' parameter of Ridge" in err


def test_your_linear_models_get_a_plain_scaler_and_score_as_scikit_learn_does_by_hand(files, capsys):
    """No spline features for your own models: LinearRegression through the default StandardScaler
    predicts as LinearRegression on the raw columns, so the holdout R^2 is the one by hand."""
    from sklearn.linear_model import LinearRegression
    from sklearn.metrics import r2_score

    df = table(seed=3)
    df["ya"] = df.x1**2 + df.x2 + 0.1 * np.random.default_rng(1).normal(size=len(df))  # not linear: splines would help
    df.to_csv(files / "d.csv", index=False)
    joblib.dump(LinearRegression(), files / "lr.joblib")
    report = run_json(
        capsys, "--data", str(files / "d.csv"), "--targets", TARGETS, "--models", str(files / "lr.joblib")
    )
    assert report["config"]["preprocessor"] == "StandardScaler()"
    assert report["config"]["features"] == ["x1", "x2"]
    train, holdout = df[df.batch < 4], df[df.batch == 4]
    for i, target in enumerate(TARGETS.split(",")):
        by_hand = LinearRegression().fit(train[["x1", "x2"]], train[target]).predict(holdout[["x1", "x2"]])
        assert report["after"][i]["r2"] == pytest.approx(r2_score(holdout[target], by_hand), abs=0.01)


def test_features_are_chosen_by_name_or_glob_and_shown(files, capsys):
    df = table()
    df["x3"], df["year_batch"] = df.x1 * 2, df.batch * 10
    df.to_csv(files / "d.csv", index=False)
    base = ["--data", str(files / "d.csv"), "--targets", TARGETS, "--estimators", "ridge"]
    assert run_json(capsys, *base)["config"]["features"] == ["x1", "x2", "x3", "year_batch"]
    assert run_json(capsys, *base, "--features", "x*")["config"]["features"] == ["x1", "x2", "x3"]
    assert run_json(capsys, *base, "--exclude", "year_*,x3")["config"]["features"] == ["x1", "x2"]
    assert main(["run", *base]) == 0
    assert "over 4 feature(s): x1, x2, x3, year_batch" in capsys.readouterr().out
    assert main(["run", *base, "--features", "z*"]) == 2
    assert f"{files / 'd.csv'}: no column matches 'z*' (columns: x1, x2, x3, year_batch)" in capsys.readouterr().err


def test_the_first_k_batches_are_the_history(files, capsys):
    base = ["--data", str(files / "d.csv"), "--targets", TARGETS, "--estimators", "ridge"]
    one, two = run_json(capsys, *base), run_json(capsys, *base, "--history-batches", "2")
    assert (one["config"]["history_rows"], one["config"]["n_batches"]) == (40, 3)
    assert (two["config"]["history_rows"], two["config"]["n_batches"]) == (80, 2)
    assert main(["run", *base, "--history-batches", "4"]) == 2  # 5 batches: 4 + a new one + the holdout is 6
    assert "has 5 batch(es); need at least 6: 4 for the history" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--exclude", "x1"], "--exclude chooses from your data's columns and batches: it goes with --data FILE"),
        (["--features", "x1,x2"], "--features 'x1,x2': on the synthetic task it is a number of features >= 1"),
    ],
)
def test_data_column_options_are_refused_on_the_synthetic_task(capsys, args, message):
    assert main(["run", "-m", "2", "-n", "1", *args]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err, err


def test_the_json_names_every_models_estimator_class(files, capsys):
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    joblib.dump(
        [make_pipeline(StandardScaler(), Ridge()), DecisionTreeRegressor(max_depth=2), Ridge()], files / "models.joblib"
    )
    report = run_json(
        capsys, "--data", str(files / "d.csv"), "--targets", TARGETS, "--models", str(files / "models.joblib")
    )
    assert report["estimator_classes"] == ["Pipeline(StandardScaler, Ridge)", "DecisionTreeRegressor", "Ridge"]


def test_triggered_compares_with_a_validation_split_you_name_and_says_which(files, capsys):
    base = ["--data", str(files / "d.csv"), "--targets", TARGETS, "--estimators", "ridge", "--strategy", "triggered"]
    default, named = run_json(capsys, *base), run_json(capsys, *base, "--validation-batches", "1")
    assert default["config"]["validation"] == "the history (in-sample)"
    assert named["config"]["validation"] == "batch 2 of 5 (40 rows)"
    assert (default["config"]["n_batches"], named["config"]["n_batches"]) == (3, 2)  # the split is not a new batch
    assert main(["run", *base, "--validation-batches", "1"]) == 0
    assert "deploy-time R2 on batch 2 of 5 (40 rows)" in capsys.readouterr().out


def test_plan_counts_your_datas_update(files, capsys):
    assert main(["plan", "--data", str(files / "d.csv"), "--targets", TARGETS, "--strategy", "full", "--json"]) == 0
    (row,) = json.loads(capsys.readouterr().out)
    assert (row["n_models"], row["n_batches"], row["fit"], row["preprocess"]) == (3, 3, 3, 9)
    assert main(["plan", "--fleet", "x"]) == 2
    assert "--fleet gives the unit costs of a prediction: it goes with --predict" in capsys.readouterr().err


def test_uneven_batches_say_why_the_planned_rows_differ_from_the_rows_done(files, capsys):
    for b, part in table(batches=5, rows=40).groupby("batch"):  # batch 3 loses 7 rows
        part.drop(columns="batch").iloc[: 33 if b == 3 else 40].to_csv(files / "dir" / f"b{b:02d}.csv", index=False)
    models = ["--models", str(files / "models.joblib"), "--targets", TARGETS, "--data", str(files / "dir")]
    doc = run_json(capsys, *models)
    assert doc["config"]["batch_rows"] == [33, 40]
    assert doc["planned"]["rows_predicted"] == 3 * 3 * 40 and doc["counts"]["rows_predicted"] == 3 * (40 + 33 + 40)
    assert main(["run", *models]) == 0
    out = capsys.readouterr().out
    assert "(33-40 rows)" in out
    assert "batches of 33 to 40 rows: the plan counts 40 rows, the first batch's, for every batch" in out
    even = run_json(capsys, "--data", str(files / "d.parquet"), *models[:4])
    assert "batch_rows" not in even["config"]
