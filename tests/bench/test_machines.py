"""Which CPU each result ran on, the drift sentinel beside it, and peakmem's mapped libraries."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from mlupdate.bench.results.asv_config import cpu_model, machine_args
from mlupdate.bench.scaling.machines import SENTINEL_BENCHMARK, machine_history
from mlupdate.bench.site.scaling_sections import history_html

CPUINFO = """processor\t: 0
vendor_id\t: AuthenticAMD
cpu family\t: 25
model\t\t: 17
model name\t: AMD EPYC
stepping\t: 1

processor\t: 1
model name\t: AMD EPYC
"""


def test_cpu_model_keeps_family_model_and_stepping():
    assert cpu_model(CPUINFO) == "AMD EPYC (cpu family 25, model 17, stepping 1)"
    assert cpu_model("processor\t: 0\n") is None


def test_machine_args_name_every_field_asv_machine_takes():
    args = machine_args("box")
    pairs = dict(zip(args[::2], args[1::2], strict=True))
    assert pairs["--machine"] == "box"
    assert set(pairs) == {"--machine", "--os", "--arch", "--cpu", "--num_cpu", "--ram"}
    help_text = subprocess.run(
        [sys.executable, "-m", "asv", "machine", "--help"], capture_output=True, text=True
    ).stdout
    assert all(flag in help_text for flag in pairs)


def _result(root, machine, commit, date, cpu, sentinel):
    (root / machine).mkdir(parents=True, exist_ok=True)
    data = {
        "commit_hash": commit,
        "date": date,
        "params": {"machine": machine, "cpu": cpu},
        "env_name": "env",
        "python": "3.11",
        "requirements": {},
        "result_columns": ["result", "params"],
        "results": {SENTINEL_BENCHMARK: [[sentinel], []]},
        "version": 2,
    }
    (root / machine / f"{commit[:8]}-env.json").write_text(json.dumps(data))


def test_history_marks_the_cpu_change_and_the_sentinel_ratio(tmp_path):
    (tmp_path / "benchmarks.json").write_text(json.dumps({"version": 2}))
    _result(tmp_path, "night", "a" * 40, 1, "EPYC (model 17)", 0.080)
    _result(tmp_path, "night", "b" * 40, 2, "EPYC (model 17)", 0.082)
    _result(tmp_path, "night", "c" * 40, 3, "Xeon (model 85)", 0.120)
    rows = machine_history(tmp_path)
    assert [r.commit[0] for r in rows] == ["a", "b", "c"]
    assert [r.cpu_changed for r in rows] == [False, False, True]
    assert [round(r.sentinel_ratio, 3) for r in rows] == [1.0, 1.025, 1.5]
    page = history_html(rows)
    assert page.count("(CPU changed)") == 1 and "120.0ms" in page and "1.500" in page


def test_a_publish_reads_each_result_file_once_and_later_reads_see_new_results(tmp_path):
    """Inside ``shared_reads`` (one publish: the sections only read) a file is read once for every
    section; outside it, a file rewritten since is read as it is now."""
    from mlupdate.bench.results.asv_results import read_commit_files, shared_reads

    (tmp_path / "benchmarks.json").write_text(json.dumps({"version": 2}))
    _result(tmp_path, "night", "a" * 40, 1, "EPYC (model 17)", 0.080)
    with shared_reads():
        first, again = (read_commit_files(tmp_path)[1][0] for _ in range(2))
        assert again is first
    _result(tmp_path, "night", "a" * 40, 1, "Xeon (model 85)", 0.120)
    (now,) = read_commit_files(tmp_path)[1]
    assert now is not first and now.params["cpu"] == "Xeon (model 85)"
    assert [r.sentinel for r in machine_history(tmp_path)] == [0.120]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="/proc and madvise(MADV_POPULATE_READ)")
def test_benchmark_processes_map_their_libraries_at_fork():
    """The suite's fork hook makes a child's file-backed RSS the full size of its mappings."""
    code = r"""
import os, sys
sys.path.insert(0, sys.argv[1])
import benchmarks  # registers the hook
import numpy
def rss_file():
    return int(next(l for l in open('/proc/self/status') if l.startswith('RssFile')).split()[1])
before = rss_file()
r, w = os.pipe()
if os.fork() == 0:
    os.write(w, str(rss_file()).encode()); os._exit(0)
os.wait()
print(before, os.read(r, 64).decode())
"""
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    out = subprocess.run([sys.executable, "-c", code, root], capture_output=True, text=True, check=True).stdout
    parent, child = map(int, out.split())
    assert child > parent  # every page of every mapped library is now mapped in the child
