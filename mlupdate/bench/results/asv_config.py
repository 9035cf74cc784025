"""asv from this project: the command, its config, and configs derived from it.

``mlupdate publish``, ``mlupdate nightly`` and ``mlupdate compare`` all drive
asv as a subprocess of this interpreter, on the project's ``asv.conf.json``;
the nightly and the tests point it at other results or html folders through a
derived config with every path made absolute.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from ...errors import UsageError

__all__ = ["asv_command", "cpu_model", "derived_config", "machine_args", "project_results_dir", "read_asv_config"]


def read_asv_config(path: Path) -> dict:
    """An ``asv.conf.json`` (JSON with comments, as asv reads it)."""
    import json5

    try:
        return json5.loads(Path(path).read_text())
    except ValueError as exc:
        raise UsageError(f"{path} is not a readable asv config ({exc})") from None


def asv_command() -> list[str]:
    """asv run from this interpreter."""
    return [sys.executable, "-m", "asv"]


def project_results_dir(project: Path) -> Path:
    """The results directory that the project's own config names."""
    conf = read_asv_config(Path(project) / "asv.conf.json")
    return Path(project) / conf.get("results_dir", "results")


def derived_config(project: Path, path: Path, **paths: Path) -> Path:
    """Write to ``path`` the project's asv config with absolute paths, and the
    folders given (``results_dir=...``, ``html_dir=...``) replaced."""
    project = Path(project).resolve()
    conf = read_asv_config(project / "asv.conf.json")
    conf |= {
        "repo": str(project),
        "benchmark_dir": str(project / conf.get("benchmark_dir", "benchmarks")),
        "env_dir": str(project / conf.get("env_dir", ".asv/env")),
        "results_dir": str(project / conf.get("results_dir", "results")),
        "html_dir": str(project / conf.get("html_dir", "html")),
    }
    conf |= {k: str(v) for k, v in paths.items()}
    Path(path).write_text(json.dumps(conf, indent=2))
    return Path(path)


def cpu_model(cpuinfo: str | None = None) -> str | None:
    """The CPU model with its family, model and stepping (``/proc/cpuinfo``; Linux only).

    Hypervisors often show only a family name ("AMD EPYC"), which hides a move
    to other hardware; the family/model/stepping triple does not.
    """
    if cpuinfo is None:
        try:
            cpuinfo = Path("/proc/cpuinfo").read_text()
        except OSError:
            return None
    fields: dict[str, str] = {}
    for line in cpuinfo.split("\n\n")[0].splitlines():
        key, _, value = line.partition(":")
        fields.setdefault(key.strip(), value.strip())
    name = fields.get("model name")
    if not name:
        return None
    ids = ", ".join(f"{k} {fields[k]}" for k in ("cpu family", "model", "stepping") if k in fields)
    return f"{name} ({ids})" if ids else name


def machine_args(name: str) -> list[str]:
    """``asv machine`` flags naming this machine ``name`` and recording what it is.

    ``asv machine --machine NAME --yes`` alone records only the name (and keeps
    whatever an earlier run recorded), so a runner whose hardware changed would
    go on under the old CPU model. Every field is detected here (asv's own
    detection, with :func:`cpu_model` for the CPU) and passed explicitly, so
    each result keeps the CPU it ran on.
    """
    from asv.machine import Machine

    info = Machine.get_defaults() | {"machine": name}
    info["cpu"] = cpu_model() or info["cpu"]
    return [arg for key, value in info.items() for arg in (f"--{key}", str(value))]
