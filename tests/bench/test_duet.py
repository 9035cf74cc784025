"""Both sides at once: each pinned to its own core, overlapping in time, and nothing left behind."""

from __future__ import annotations

import json
import os
import sys
import time

import pytest

from mlupdate.bench.runner.duet import duet_cores, run_side_by_side
from mlupdate.errors import UsageError

pytestmark = pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2, reason="needs two cores")

REPORT = """
import json, os, time
start = time.time()
time.sleep(0.5)
print(json.dumps({"cores": sorted(os.sched_getaffinity(0)), "start": start, "end": time.time()}))
"""


def _sides(cores):
    a, b = run_side_by_side(([sys.executable, "-c", REPORT], [sys.executable, "-c", REPORT]), cores)
    assert a.returncode == b.returncode == 0, a.stderr + b.stderr
    return json.loads(a.stdout), json.loads(b.stdout), a, b


def test_each_side_runs_on_its_own_core_and_both_at_once():
    first, second = duet_cores()
    a, b, side_a, side_b = _sides((first, second))
    assert a["cores"] == [first] and b["cores"] == [second]
    assert (side_a.core, side_b.core) == (first, second)
    assert a["start"] < b["end"] and b["start"] < a["end"]  # the two ran at the same time


def test_swapping_the_cores_swaps_the_pins():
    first, second = duet_cores()
    a, b, _, _ = _sides((second, first))
    assert a["cores"] == [second] and b["cores"] == [first]


SPAWNER = """
import subprocess, sys, time
child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
print(child.pid, flush=True)
time.sleep(60)
"""


def test_a_timeout_kills_both_sides_and_what_they_started(tmp_path):
    command = [sys.executable, "-c", SPAWNER]
    with pytest.raises(TimeoutError, match="did not finish within the duet's timeout"):
        run_side_by_side((command, command), duet_cores(), cwd=tmp_path, timeout=1.5)
    time.sleep(0.2)
    assert [pid for pid in os.listdir("/proc") if pid.isdigit() and _is_sleeper(pid)] == []


def _is_sleeper(pid: str) -> bool:
    """A process of this test's: a side, or the sleeper it started (zombies have no command line)."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return "time.sleep(60)" in f.read().decode(errors="replace")
    except OSError:
        return False


def test_one_core_twice_is_refused():
    with pytest.raises(UsageError, match=r"cores=\(0, 0\): the two sides need two different cores"):
        run_side_by_side((["true"], ["true"]), (0, 0))


def test_each_side_has_its_own_wall_time():
    quick, slow = [sys.executable, "-c", "pass"], [sys.executable, "-c", "import time; time.sleep(2)"]
    a, b = run_side_by_side((slow, quick), duet_cores())
    assert a.seconds >= 2.0 and b.seconds < a.seconds - 1.0  # the quick side's end is not the slow one's
