"""The GitHub Actions workflows: parsed, their commands real, their permissions as stated."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from mlupdate.cli import build_parser

ROOT = Path(__file__).resolve().parents[1]
WORKFLOWS = ROOT / ".github" / "workflows"
PINNED = re.compile(r"^[\w.-]+/[\w.-]+@[0-9a-f]{40}$")


def _load(name: str) -> dict:
    data = yaml.safe_load((WORKFLOWS / name).read_text())
    data["on"] = data.pop(True, data.get("on"))  # YAML 1.1 reads the key `on` as True
    return data


def _steps(wf: dict):
    for job_name, job in wf["jobs"].items():
        for step in job.get("steps", []):
            yield job_name, step


def _commands(wf: dict) -> list[list[str]]:
    """Every shell command of every `run:` step, `${{ }}` expressions replaced by a word
    and the job's and step's literal `env:` values put in for their `$NAME`."""
    out = []
    for job_name, step in _steps(wf):
        env = {**wf["jobs"][job_name].get("env", {}), **step.get("env", {})}
        script = re.sub(r"\$\{\{[^}]*\}\}", "X", step.get("run", ""))
        for name, value in env.items():
            if "${{" not in str(value):
                script = script.replace(f'"${name}"', shlex.quote(str(value)))
        for line in script.splitlines():
            line = line.strip().split(" | ")[0].split(" >")[0].split(" >>")[0]
            if line and not line.startswith(
                ("#", "{", "}", "echo", "set ", "exit", "status=", "export ", "if [", "fi")
            ):
                out.append(shlex.split(line))
    return out


@pytest.mark.parametrize("name", ["nightly.yml", "ci.yml"])
def test_every_action_is_pinned_to_a_commit_sha(name):
    uses = [step["uses"] for _, step in _steps(_load(name)) if "uses" in step]
    assert uses
    for ref in uses:
        assert PINNED.match(ref), ref


def test_nightly_triggers_concurrency_and_least_privilege():
    wf = _load("nightly.yml")
    assert set(wf["on"]) == {"schedule", "workflow_dispatch"}
    assert wf["on"]["schedule"][0]["cron"]
    assert wf["permissions"] == {}
    assert wf["concurrency"]["group"] and wf["concurrency"]["cancel-in-progress"] is False
    bench, deploy = wf["jobs"]["benchmark"], wf["jobs"]["deploy"]
    assert bench["permissions"] == {"contents": "write"}
    assert deploy["permissions"] == {"pages": "write", "id-token": "write"}
    assert deploy["needs"] == "benchmark"
    checkout = next(s for _, s in _steps(wf) if s.get("uses", "").startswith("actions/checkout@"))
    assert checkout["with"]["fetch-depth"] == 0
    assert any("refs/heads/main" in s.get("run", "") for s in bench["steps"])
    assert any(s.get("uses", "").startswith("actions/upload-pages-artifact@") for s in bench["steps"])
    assert any(s.get("uses", "").startswith("actions/deploy-pages@") for s in deploy["steps"])


def test_ci_runs_the_tests_and_the_instruction_gate_with_a_job_summary():
    wf = _load("ci.yml")
    assert set(wf["on"]) == {"pull_request"}
    assert wf["permissions"] == {"contents": "read"}
    runs = "\n".join(s.get("run", "") for _, s in _steps(wf))
    assert "bash .ci/run" in runs
    assert "mlupdate compare" in runs and "--ci" in runs and "--markdown" in runs
    assert "GITHUB_STEP_SUMMARY" in runs
    gate = "\n".join(s.get("run", "") for s in wf["jobs"]["benchmarks"]["steps"])
    # a hosted runner's time moves by tens of percent: the pull request is gated on instruction counts,
    # with valgrind installed in the job; time is the nightly's
    assert "--mode instructions" in gate and "valgrind" in gate


@pytest.mark.parametrize("name", ["nightly.yml", "ci.yml"])
def test_no_expression_is_expanded_inside_a_script_and_no_checkout_keeps_credentials(name):
    wf = _load(name)
    for _, step in _steps(wf):
        assert "${{" not in step.get("run", ""), step["run"]  # values reach scripts through env:
        if step.get("uses", "").startswith("actions/checkout@"):
            assert step["with"]["persist-credentials"] is False


def test_nightly_runner_is_a_setting_and_the_token_reaches_the_push_step_only():
    wf = _load("nightly.yml")
    bench = wf["jobs"]["benchmark"]
    assert "vars.BENCHMARK_RUNNER" in bench["runs-on"]
    with_token = [s for s in bench["steps"] if "GH_TOKEN" in s.get("env", {})]
    assert len(with_token) == 1 and "mlupdate nightly" in with_token[0]["run"]


@pytest.mark.parametrize("name", ["nightly.yml", "ci.yml"])
def test_the_commands_the_workflows_run_exist(name):
    wf = _load(name)
    commands = _commands(wf)
    assert commands
    asv_help: dict[str, str] = {}
    for argv in commands:
        tool = argv[0]
        if tool == "mlupdate":
            build_parser().parse_args(argv[1:])  # raises on an unknown command or flag
        elif tool == "asv":
            sub = argv[1]
            if sub not in asv_help:
                asv_help[sub] = subprocess.run(
                    [sys.executable, "-m", "asv", sub, "--help"], capture_output=True, text=True, check=True
                ).stdout
            for flag in (a.split("=")[0] for a in argv[2:] if a.startswith("--")):
                assert flag in asv_help[sub], f"asv {sub} has no {flag}"
        elif tool == "bash":
            assert (ROOT / argv[1]).is_file(), argv
        elif tool in {"git", "python", "cat", "grep"}:
            continue
        elif tool == "sudo":  # Debian packages only (valgrind for the instruction gate)
            assert "apt-get" in argv, argv
        else:
            raise AssertionError(f"{name} runs {tool!r}, which this test does not know: {argv}")


BAD_WORKFLOW = """name: bad
on: pull_request
permissions: {}
jobs:
  x:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - run: echo "${{ github.event.pull_request.title }}"
"""


def _lint(tool: str, target: Path) -> subprocess.CompletedProcess:
    binary = Path(sys.executable).with_name(tool)
    args = ["--offline", "--min-severity", "medium", str(target)] if tool == "zizmor" else [str(target)]
    if tool == "actionlint":
        args = [str(p) for p in sorted(target.glob("*.yml"))]
    return subprocess.run([str(binary), *args], capture_output=True, text=True, cwd=ROOT)


@pytest.mark.parametrize("tool", ["zizmor", "actionlint"])
def test_workflow_linters_report_nothing(tool):
    done = _lint(tool, WORKFLOWS)
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize("tool", ["zizmor", "actionlint"])
def test_workflow_linters_fail_on_a_finding(tool, tmp_path):
    (tmp_path / "bad.yml").write_text(BAD_WORKFLOW if tool == "zizmor" else BAD_WORKFLOW.replace("runs-on", "runs_on"))
    done = _lint(tool, tmp_path)
    assert done.returncode != 0, done.stdout + done.stderr
