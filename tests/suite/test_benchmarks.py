"""The asv suite: its shape, and that it runs through real asv."""

from __future__ import annotations

import inspect
import itertools
import json
import math
import pickle
import re
import subprocess
import sys
import timeit
from pathlib import Path

import pytest
from helpers.git import copy_project, git

from mlupdate import Plan
from mlupdate.bench.results.asv_config import derived_config
from mlupdate.bench.suite.catalog import discover, suite_module
from mlupdate.bench.suite.timed import PART_TIMED
from mlupdate.bench.suite.workloads import Workload
from mlupdate.task import run_model

ROOT = Path(__file__).resolve().parents[2]
MODULES = ["benchmarks.growth", "benchmarks.strategies", "benchmarks.memory", "benchmarks.scaleout"]
ASV = [sys.executable, "-m", "asv"]


def _suite(module: str):
    """A module of the project's suite, imported as asv imports it (by its package name)."""
    return suite_module(ROOT / "benchmarks", module)


def _classes():
    for name in MODULES:
        module = _suite(name.split(".", 1)[1])
        for cls_name, cls in inspect.getmembers(module, inspect.isclass):
            if cls.__module__ == name and hasattr(cls, "params"):
                yield name.split(".", 1)[1], cls_name, cls


CLASSES = list(_classes())
EXPECTED_IDS = {
    "growth.GrowthGrid.time_update",
    "growth.GrowthGrid.peakmem_update",
    "growth.QuadraticDiagonal.time_update",
    "growth.QuadraticDiagonal.peakmem_update",
    "growth.GrowthCosts.track_preprocess_calls",
    "growth.GrowthCosts.track_predict_calls",
    "growth.GrowthCosts.track_fit_calls",
    "growth.GrowthCosts.track_rows_trained",
    "strategies.StrategiesOrders.time_update",
    "strategies.StrategiesOrders.peakmem_update",
    "strategies.StrategyQuality.track_mean_error",
    "strategies.StrategyGrowth.time_update",
    "strategies.StrategyGrowthLongRuns.time_update",
    "strategies.StrategyGrowthTraining.time_training",
    "scaleout.ScaleOut.time_update",
    "memory.ProcessTreeMemory.track_tree_peak_rss",
    "memory.ProcessTreeMemory.track_traced_heap_peak",
    "memory.ParallelEfficiency.track_parallel_speedup",
    "growth.FusedGrowth.time_update",
    "growth.FusedGrowth.peakmem_update",
    "growth.MixedFusedGrowth.time_update",
    "growth.FusedShards.time_update",
    "strategies.StrategiesFused.time_update",
    "sentinel.DriftSentinel.time_fixed_numpy",
}


def _benchmark_ids():
    for module, cls_name, cls in CLASSES:
        for attr in dir(cls):
            if attr.startswith(("time_", "peakmem_", "track_")):
                yield f"{module}.{cls_name}.{attr}", getattr(cls, attr)


@pytest.mark.snapshot
def test_benchmark_ids_are_the_chosen_ones():
    # as asv and mlupdate compare name them (own.OwnFleet exists once `mlupdate bench` registered a fleet)
    assert {bid for bid in discover(ROOT) if not bid.startswith("own.")} == EXPECTED_IDS


def test_tracks_have_units():
    for bid, fn in _benchmark_ids():
        if ".track_" in bid:
            assert getattr(fn, "unit", None) in {"calls", "rows", "bytes", "ratio", "MAE"}, bid


@pytest.mark.snapshot
def test_grids_are_as_chosen():
    by_name = {name: cls for _, name, cls in CLASSES}
    assert by_name["GrowthGrid"].params == [[1, 2, 4, 8, 16], [1, 2, 4, 8, 16], ["serial", "joblib"]]
    assert by_name["GrowthGrid"].param_names == ["n_models", "n_batches", "executor"]
    assert by_name["QuadraticDiagonal"].params == [[1, 2, 4, 8, 16, 32]]
    assert by_name["QuadraticDiagonal"].param_names == ["k"]


@pytest.mark.parametrize(("module", "cls_name", "cls"), CLASSES, ids=[c[1] for c in CLASSES])
def test_every_cell_is_a_valid_workload(module, cls_name, cls):
    assert len(cls.params) == len(cls.param_names)
    for combo in itertools.product(*cls.params):
        w = cls().workload(*combo)
        assert isinstance(w, Workload)
        Plan(w.n_models, w.n_batches, w.rows_per_batch, w.history_rows, w.order, w.strategy)


GROWTH = [c for c in CLASSES if c[0] == "growth"]


@pytest.mark.parametrize(("module", "cls_name", "cls"), GROWTH, ids=[c[1] for c in GROWTH])
def test_every_growth_grid_has_the_cells_the_scaling_page_fits(module, cls_name, cls):
    """The scaling page fits c, d and one exponent per size parameter: a growth grid with fewer
    cells than that plus 3 would be left off it (the other modules' grids are not fitted)."""
    from mlupdate.bench.scaling.series import SIZE_EXPONENTS

    sizes = [p for p in cls.param_names if p in SIZE_EXPONENTS]
    if sizes:
        cells = 1
        for name, values in zip(cls.param_names, cls.params, strict=True):
            cells *= len(values) if name in SIZE_EXPONENTS else 1
        assert cells >= len(sizes) + 3, (cls_name, cells)


def test_worker_code_lives_in_mlupdate():
    # loky pickles functions by reference: workers must be able to import it.
    assert run_model.__module__ == "mlupdate.task"
    assert pickle.loads(pickle.dumps(run_model)) is run_model


def test_count_tracks_equal_the_plan():
    bench = _suite("growth").GrowthCosts()
    for m, n in [(1, 1), (4, 2)]:
        bench.setup(m, n)
        planned = Plan(m, n, 200, 1000).counts()
        assert bench.track_predict_calls(m, n) == planned["predict"] == m * n
        assert bench.track_preprocess_calls(m, n) == planned["preprocess"]
        assert bench.track_fit_calls(m, n) == planned["fit"] == m
        assert bench.track_rows_trained(m, n) == planned["rows_trained"]


def test_a_benchmark_with_its_own_clock_is_part_timed_and_priced_by_its_part():
    """asv's ``timer`` set to a clock of the suite's own makes a benchmark time part of the update:
    exactly those are :data:`~mlupdate.bench.suite.timed.PART_TIMED`, with counts the plan has."""
    own_clock = {bid for bid, _ in _benchmark_ids() if bid.startswith("time_", bid.rindex(".") + 1)}
    own_clock = {bid for bid in own_clock if _class_of(bid).timer is not timeit.default_timer}
    assert own_clock == set(PART_TIMED)
    for counts in PART_TIMED.values():
        assert set(counts) <= set(Plan(2, 2).counts())


def _class_of(bid: str):
    module, cls_name, _ = bid.split(".")
    return getattr(_suite(module), cls_name)


def test_the_training_clock_runs_only_while_a_model_trains():
    bench = _class_of("strategies.StrategyGrowthTraining.time_training")()
    clock = type(bench).timer
    bench.setup("none", 2, 4)  # no retrain: the clock stands still through a whole update
    before = clock()
    bench.time_training("none", 2, 4)
    assert clock() == before
    bench.setup("full", 2, 4)
    before, start = clock(), timeit.default_timer()
    bench.time_training("full", 2, 4)
    wall = timeit.default_timer() - start
    assert 0 < clock() - before < wall


def _asv(*args, cwd=ROOT, check=True):
    proc = subprocess.run([*ASV, *args], cwd=cwd, capture_output=True, text=True)
    if check and proc.returncode != 0:
        raise AssertionError(
            f"asv {' '.join(args)} exited {proc.returncode}\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}"
        )
    return proc


@pytest.mark.slow
def test_asv_check_passes(tmp_path):
    config = derived_config(ROOT, tmp_path / "asv.conf.json", results_dir=tmp_path / "results")
    _asv("check", "-E", "existing", "--config", str(config))


def _corners(cls) -> str:
    """The cells of a grid at the two first values of every parameter (2**k cells, not the
    product): every parameter's handling runs, in the test budget. The large cells are run by
    every ``make bench`` (the whole suite), not here: QuadraticDiagonal(32) alone is 10 s."""
    if not getattr(cls, "params", None):
        return ""
    params = cls.params if isinstance(cls.params[0], list) else [cls.params]
    if getattr(cls, "__name__", "") in SMALL_CORNER_ONLY:
        params = [values[:1] for values in params]
    ends = [sorted({repr(v) for v in values[:2]}) for values in params]
    return r"\(" + ", ".join("(" + "|".join(re.escape(v) for v in end) + ")" for end in ends) + r"\)$"


#: Grids whose second values already deploy hundreds of models per asv process (seconds each): the
#: dry run takes their smallest cell.
SMALL_CORNER_ONLY = ("MixedFusedGrowth", "FusedShards")

#: The suite's classes in two parts the test workers share; each dry-runs the small corners of every grid.
DRY_RUN_PARTS = [
    [(m, n, c) for m, n, c in CLASSES if m == "growth"],
    [(m, n, c) for m, n, c in CLASSES if m != "growth"] + [("sentinel", "DriftSentinel", object)],
]


@pytest.mark.slow
@pytest.mark.parametrize("part", DRY_RUN_PARTS, ids=["growth", "the-rest"])
def test_quick_dry_run_of_the_suite(tmp_path, part):
    # results in a temporary folder: the tests leave the user's .asv/results alone
    config = derived_config(ROOT, tmp_path / "asv.conf.json", results_dir=tmp_path / "results")
    _asv("machine", "--yes", "--machine", "pytest-dry-run")
    bench = [arg for module, name, cls in part for arg in ("--bench", rf"^{module}\.{name}\.\w+{_corners(cls)}")]
    proc = _asv(
        "run",
        "-E",
        "existing",
        "--quick",
        "--dry-run",
        "--machine",
        "pytest-dry-run",
        *bench,
        "--set-commit-hash",
        _head(),
        "--show-stderr",
        "--config",
        str(config),
    )
    out = proc.stdout
    assert "failed" not in out.lower(), out[-3000:]
    expected = [bid for bid in EXPECTED_IDS if any(bid.startswith(f"{m}.{n}.") for m, n, _ in part)]
    assert expected
    for bid in expected:  # asv shortens long ids from the left
        assert bid.split(".", 1)[1] in out, bid
    assert not (ROOT / ".asv" / "results" / "pytest-dry-run").exists()


@pytest.mark.slow
def test_asv_times_the_training_stages_alone_with_the_training_clock(tmp_path):
    """Through real asv (its documented ``timer``), the training series' value of a cell is its
    training stages, a part of the update that StrategyGrowth times whole: 4 fits against 64
    model-batch visits with their predictions and scores."""
    config = derived_config(ROOT, tmp_path / "asv.conf.json", results_dir=tmp_path / "results")
    _asv("machine", "--yes", "--machine", "pytest-training")  # as the dry run: asv's machine file, not results
    cell = r"\('full', 4, 16\)$"
    bench = [
        "--bench",
        rf"StrategyGrowthTraining\.time_training{cell}",
        "--bench",
        rf"StrategyGrowth\.time_update{cell}",
    ]
    _asv(
        "run",
        "-E",
        "existing",
        "--quick",
        "--machine",
        "pytest-training",
        "--set-commit-hash",
        _head(),
        *bench,
        "--config",
        str(config),
    )
    (path,) = [p for p in (tmp_path / "results" / "pytest-training").glob("*.json") if p.name != "machine.json"]
    results = json.loads(path.read_text())["results"]

    def value(bid: str) -> float:
        values, params = results[bid][0], results[bid][1]
        cells = dict(zip(itertools.product(*params), values, strict=True))
        return cells[("'full'", "4", "16")]

    training, update = (
        value("strategies.StrategyGrowthTraining.time_training"),
        value("strategies.StrategyGrowth.time_update"),
    )
    assert 0 < training < update / 3, (training, update)


def test_the_dry_run_covers_every_benchmark():
    covered = {bid for part in DRY_RUN_PARTS for m, n, _ in part for bid in EXPECTED_IDS if bid.startswith(f"{m}.{n}.")}
    assert covered == EXPECTED_IDS
    assert _corners(type("Grid", (), {"params": [[1, 2, 4], ["a", "b"]]})) == r"\((1|2), ('a'|'b')\)$"


def _head() -> str:
    return git(ROOT, "rev-parse", "HEAD").strip()


@pytest.mark.slow
def test_two_commits_through_real_asv(tmp_path, asv_env):
    """A copy of the project, two commits (the second changes the default retrain
    strategy), benchmarked in a real virtualenv by asv, compared and published.
    The virtualenv is a copy of the session's (same matrix, same environment), not a new one."""
    repo = copy_project(ROOT, tmp_path / "project")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "base")
    workloads = repo / "mlupdate" / "bench" / "suite" / "workloads.py"
    text = workloads.read_text()
    assert '    strategy: str = "full"\n' in text
    workloads.write_text(text.replace('    strategy: str = "full"\n', '    strategy: str = "none"\n'))
    git(repo, "commit", "-qam", "default strategy: none")
    heads = subprocess.run(["git", "rev-list", "main"], cwd=repo, capture_output=True, text=True).stdout.split()[:2]
    new, old = heads
    env_dir = asv_env
    assert env_dir.is_dir()
    derived_config(repo, repo / "asv.conf.json", env_dir=env_dir)  # asv reads the config of the working tree

    _asv("machine", "--yes", "--machine", "itest", cwd=repo)
    # cells by asv's own -b over name(params): the 16-model counts are seconds each, and add nothing here
    bench = ["-b", r"GrowthCosts\.track_fit_calls\((1|4), (1|4)\)", "-b", r"QuadraticDiagonal\.time_update\((1|2|4)\)"]
    _asv("run", f"{old}^..{new}", "--machine", "itest", "--quick", "--show-stderr", *bench, cwd=repo)

    compare = _asv("compare", old, new, "--machine", "itest", "--only-changed", "--factor", "1.1", cwd=repo).stdout
    assert "track_fit_calls" in compare, compare

    results = [p for p in (repo / ".asv" / "results" / "itest").glob("*.json") if p.name != "machine.json"]
    by_commit = {json.loads(p.read_text())["commit_hash"]: json.loads(p.read_text()) for p in results}
    assert set(by_commit) == {old, new}
    for commit, strategy in ((old, "full"), (new, "none")):
        res = by_commit[commit]["results"]["growth.GrowthCosts.track_fit_calls"]
        values, params = res[0], res[1]
        cells = dict(zip(itertools.product(*[map(int, map(str, p)) for p in params]), values, strict=True))
        measured = {size: got for size, got in cells.items() if not math.isnan(got)}  # asv's NaN: not selected
        assert set(measured) == {(1, 1), (1, 4), (4, 1), (4, 4)}, (commit, cells)  # what -b chose
        for (m, n), got in measured.items():
            assert got == Plan(m, n, 200, 1000, strategy=strategy).counts()["fit"], (commit, m, n, got)

    _asv("publish", cwd=repo)
    index = json.loads((repo / ".asv" / "html" / "index.json").read_text())
    assert {old, new} <= set(index["revision_to_hash"].values())
    assert (repo / ".asv" / "html" / "index.html").is_file()


def _scaleout():
    return _suite("scaleout").ScaleOut


def test_scaleout_dask_cell_runs_on_its_own_cluster():
    pytest.importorskip("distributed")
    bench = _scaleout()()
    bench.setup(8, "dask")
    try:
        assert bench.prepared.executor.describe()["backend"] == "dask"
        client = bench._client
        report = bench.prepared.run()
        assert report.ok and report.counts["fit"] == 8
        assert client.status == "running"  # the cluster outlives a run: the cell times the update only
    finally:
        bench.teardown(8, "dask")
    assert client.status == "closed"


def test_scaleout_dask_cell_is_na_without_distributed(monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", None)  # import distributed -> ImportError
    with pytest.raises(NotImplementedError, match=r"pip install 'mlupdate\[dask\]'"):
        _scaleout()().setup(8, "dask")


LEAK_SCRIPT = """
import os, sys
sys.path.insert(0, sys.argv[1])
from mlupdate import Fleet, SyntheticTask, make_estimators, update_fleet
from mlupdate.executors import get_executor
executor = get_executor("joblib", n_jobs=2)
executor.warm_up()
for history_rows in (100, 3000):  # small, and memory-mapped to the workers
    task = SyntheticTask(n_targets=2, n_features=10, rows_per_batch=200, history_rows=history_rows, seed=0)
    fleet = Fleet.deploy(task, make_estimators(2, "ridge"))
    for _ in range(3):  # as a time benchmark: warm-up, then several samples
        update_fleet(fleet, list(task.stream(2)), task.holdout(2), executor=executor)
if sys.argv[2] == "teardown":
    from benchmarks.common import stop_workers
    stop_workers()
else:  # the workers stopped, their folders left behind
    from joblib.externals.loky import get_reusable_executor
    get_reusable_executor().shutdown(wait=True)
os._exit(0)  # as asv's benchmark processes end: no exit handlers
"""


def test_joblib_teardown_leaves_no_memmapping_folder_to_the_resource_tracker():
    """Small and memory-mapped data in one process, as asv runs a benchmark's cells: the teardown
    leaves the resource tracker nothing to warn of, where stopping the workers alone does."""

    def stderr(mode: str) -> str:
        run = subprocess.run(
            [sys.executable, "-c", LEAK_SCRIPT, str(ROOT), mode],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert run.returncode == 0, run.stderr
        return run.stderr

    assert "leaked folder objects" in stderr("shutdown only")  # the warning the teardown prevents
    assert "leaked" not in stderr("teardown")
