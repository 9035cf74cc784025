"""Two replicas side by side through asv's own runner, on a tiny asv project in this Python.

The project's benchmarks report the core they ran on, so the pinning is seen
from inside the benchmark process; its result file and replica file are read
back as asv and the scaling page read them; and a driver killed with SIGKILL
leaves no forkserver or benchmark process behind.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from helpers.git import git
from helpers.load import cpu_hog

from mlupdate.bench.results.asv_results import read_replicas, replicas_by_cell
from mlupdate.bench.runner.duet import duet_cores
from mlupdate.bench.runner.lockstep import run_lockstep
from mlupdate.bench.runner.noise import run_noise, spread_of
from mlupdate.bench.runner.side_by_side import PAIRED, QUICK, open_sides, run_replicas

pytestmark = pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2, reason="needs two cores")

BENCH = """
import os, time

class Pinned:
    rounds = 2
    repeat = (3, 3, 10.0)
    warmup_time = 0
    params = [[1, 2]]
    param_names = ["k"]

    def track_core(self, k):
        return sorted(os.sched_getaffinity(0))[0]

    def time_sleep(self, k):
        time.sleep(0.002 * k)


class Busy:
    def track_cpu(self):
        start = time.process_time()
        while time.process_time() < start + 0.3:  # CPU time, whatever else shares the core
            pass
        return time.process_time() - start


_CALLS = []


class Warm:
    def time_first_call_slow(self):
        time.sleep(0.05 if not _CALLS else 0.002)  # a process's first call pays for what it loads
        _CALLS.append(1)


class Slow:
    timeout = 120

    def time_long(self):
        time.sleep(60)
"""


@pytest.fixture
def tiny(tmp_path) -> tuple[Path, str]:
    """An asv project with one commit; benchmarks run in this Python (``existing``)."""
    root = tmp_path / "tiny"
    (root / "benchmarks").mkdir(parents=True)
    (root / "benchmarks" / "__init__.py").write_text("")
    (root / "benchmarks" / "bench.py").write_text(textwrap.dedent(BENCH))
    conf = {
        "version": 1,
        "project": "tiny",
        "repo": ".",
        "branches": ["main"],
        "environment_type": "existing",
        "benchmark_dir": "benchmarks",
        "env_dir": "env",
        "results_dir": "results",
        "html_dir": "html",
        "launch_method": "forkserver",
    }
    (root / "asv.conf.json").write_text(json.dumps(conf))
    git(root, "init", "-q", "-b", "main")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "tiny")
    return root, git(root, "rev-parse", "HEAD").strip()


def test_replicas_run_pinned_in_balanced_seats_and_a_hog_on_one_core_is_reported(tiny):
    """``mlupdate suite --strict`` with somebody else's busy loop on the second core: the replicas
    are pinned in the design's seats (seen from inside the benchmark), land in one asv result
    file, and the run says it was noisy (exit 5)."""
    root, sha = tiny
    first, second = sorted(os.sched_getaffinity(0))[:2]
    with cpu_hog(second):
        done = subprocess.run(
            [sys.executable, "-m", "mlupdate", "suite", "HEAD", "-b", r"bench\.Pinned\.", "--strict"],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=300,
        )
    assert done.returncode == 5, done.stderr
    (line,) = [x for x in done.stderr.splitlines() if "noisy run" in x]
    assert "other processes used" in line and f"{second}" in line
    (path,) = [p for p in (root / "results").glob("*/*.json") if p.name != "machine.json"]
    doc = read_replicas(path)
    assert doc["rounds"] == 2 and doc["commit"] == sha
    assert doc["load"]["foreign"] > 0.3  # one of two cores busy with somebody else's loop
    assert run_noise(doc)
    for cell in doc["cells"]:
        cores = [seat[1] for seat in cell["seats"]]  # replica 1's core in each round
        if cell["benchmark"].endswith("time_sleep"):  # two rounds: replica 1 once on each core
            assert sorted(cores) == [first, second]
        else:  # a track runs one round; seen from inside the benchmark, each replica where its seat says
            assert cell["replicas"][0] == cores
            assert cell["replicas"][1] == [second if c == first else first for c in cores]
    stored = json.loads(path.read_text())
    row = dict(zip(stored["result_columns"], stored["results"]["bench.Pinned.time_sleep"], strict=False))
    assert [len(s) for s in row["samples"]] == [12, 12]  # 3 samples x 2 rounds x 2 replicas, in asv's own file
    assert (path.parent / "machine.json").is_file()  # as asv run writes it: asv publish reads only such folders
    reps = replicas_by_cell(path)[("bench.Pinned.time_sleep", ("1",))]
    assert [len(r) for r in reps] == [6, 6]
    spread = spread_of(doc)
    assert spread.cells == 2 and 0 <= spread.median < 0.5


def test_suite_rounds_sets_each_replicas_rounds(tiny):
    """``mlupdate suite --rounds 1`` (``make bench``): one round per replica, the two replicas at once."""
    root, _ = tiny
    argv = [sys.executable, "-m", "mlupdate", "suite", "HEAD", "-b", r"bench\.Pinned\.time_sleep", "--rounds", "1"]
    done = subprocess.run(argv, cwd=root, capture_output=True, text=True, timeout=300)
    assert done.returncode in (0, 5), done.stderr  # 5: noisy, beside another test
    (path,) = [p for p in (root / "results").glob("*/*.json") if p.name != "machine.json"]
    assert read_replicas(path)["rounds"] == 1
    assert [len(r) for r in replicas_by_cell(path)[("bench.Pinned.time_sleep", ("1",))]] == [3, 3]


@pytest.mark.parametrize(
    ("extra", "warm_below", "expected"),
    [
        (QUICK, None, [True, True]),  # a quick run's sample is the process's first call
        (PAIRED, None, [False, False]),  # compare's follows one untimed call
        (PAIRED, 0.001, [False, True]),  # long from its first round: no untimed call after it
    ],
)
def test_compares_rounds_time_a_warm_call_and_a_quick_run_the_cold_one(tiny, extra, warm_below, expected):
    """compare's one sample per round (``PAIRED``) follows one untimed call in the same process,
    except in a cell whose first round took ``warm_below`` seconds or more."""
    root, sha = tiny
    with open_sides(root, (sha, sha), ["bench.Warm.time_first_call_slow"], existing=True) as (sides, bench, cells, _):
        state = run_lockstep(
            sides,
            bench,
            cells,
            cores=duet_cores(),
            wanted=lambda s: set(cells) if s.rounds < 2 else set(),
            save=lambda _: None,
            extra=extra,
            warm_below=warm_below,
        )
    (cell,) = cells
    base, head = state.values[cell]
    assert len(base) == len(head) == 2  # two rounds, two sides
    for rounds in (base, head):
        assert [v > 0.04 for v in rounds] == expected, rounds


def _alive(marker: str) -> list[int]:
    return [int(pid) for pid in filter(str.isdigit, os.listdir("/proc")) if marker in " ".join(_argv(int(pid)))]


def _argv(pid: int) -> list[str]:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().decode().split("\0")
    except OSError:
        return []


DRIVER = """
import logging, sys
from pathlib import Path
from mlupdate.bench.runner.duet import duet_cores
from mlupdate.bench.runner.lockstep import run_lockstep
from mlupdate.bench.runner.side_by_side import PAIRED, QUICK, open_sides, run_replicas
logging.basicConfig(level=logging.INFO, stream=sys.stdout, format="%(message)s")
run_replicas(Path(sys.argv[1]), sys.argv[2], ["bench.Slow.time_long"], existing=True)
"""


@pytest.mark.slow
def test_a_killed_driver_leaves_no_forkserver_or_benchmark_behind(tiny):
    root, sha = tiny
    driver = subprocess.Popen([sys.executable, "-c", DRIVER, str(root), sha], stdout=subprocess.PIPE, text=True)
    for line in driver.stdout:  # the round has started: both benchmark processes are sleeping
        if "round 1" in line:
            break
    time.sleep(1.0)
    marker = str(root / "benchmarks")
    assert len(_alive(marker)) >= 2  # the two forkservers (and their guards) run
    named = {Path(part) for pid in _alive(marker) for arg in _argv(pid) for part in arg.split(os.pathsep)}
    sockets = {p for p in named if "asv-forkserver-" in str(p)}
    assert len({s.parent if s.name == "socket" else s for s in sockets}) == 2 and all(map(Path.exists, sockets))
    scratch = {p for p in named if p.name.startswith("mlupdate-sides-")}  # the driver's, named to the guards
    assert len(scratch) == 1 and all(map(Path.exists, scratch))
    driver.send_signal(signal.SIGKILL)
    driver.wait()
    deadline = time.monotonic() + 10
    while _alive(marker) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _alive(marker) == []  # the guards, the servers and the sleeping benchmark processes they forked
    assert not any(map(Path.exists, sockets))  # nor their socket folders, which asv's close() would remove
    assert not any(map(Path.exists, scratch))  # nor the driver's scratch, which its with block would remove


def test_the_benchmarks_cpu_is_ours_not_somebody_elses(tiny):
    """Every benchmark process the forkservers ran is counted as this run's own CPU time, across the
    rounds and their server restarts (a killed server must not take its processes' time with it)."""
    root, sha = tiny
    _, state = run_replicas(root, sha, ["bench.Busy.track_cpu"], existing=True, rounds=2)
    (cell,) = state.cells
    burned = sum(sum(side.results.values[cell]) for side in state.sides)
    assert burned >= 1.2  # 2 rounds x 2 replicas x 0.3 s of CPU
    assert state.total_load.ours >= 0.95 * burned


def test_a_commit_built_by_one_side_is_not_built_again_by_the_other(tmp_path):
    """asv's build cache is per environment: the wheel of BASE (the last step's HEAD, built in the
    other side's environment) is handed over, marked finished, and nothing else is touched."""
    from mlupdate.bench.runner.side_by_side import _share_builds

    a, b = tmp_path / "env-a", tmp_path / "env-b"
    for env in (a, b):
        (env / "0123abcd").mkdir(parents=True)
    built = b / "0123abcd" / "asv-build-cache"
    (built / "c1").mkdir(parents=True)
    (built / "c1" / "mlupdate-0.1.0-py3-none-any.whl").write_bytes(b"wheel")
    (built / "c1.timestamp").write_text("")
    (built / "c9").mkdir()  # a build that never finished (no timestamp): not handed over
    _share_builds([a, b], ["c1", "c2"])
    got = a / "0123abcd" / "asv-build-cache"
    assert (got / "c1" / "mlupdate-0.1.0-py3-none-any.whl").read_bytes() == b"wheel"
    assert (got / "c1.timestamp").is_file() and not (got / "c9").exists()
    assert sorted(p.name for p in built.iterdir()) == ["c1", "c1.timestamp", "c9"]  # b needs c2: none to take
