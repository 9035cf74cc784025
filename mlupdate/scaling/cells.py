"""The Workload behind a benchmark cell: the suite's classes, imported from the project.

asv's results name a cell by benchmark id and parameter reprs; the cost model
needs what that cell ran (its :class:`~mlupdate.workloads.Workload`) to know
its exact operation counts.
"""

from __future__ import annotations

import ast
import importlib
import sys
from functools import cache
from pathlib import Path
from types import ModuleType

from ..workloads import Workload

__all__ = ["NoWorkload", "WorkloadError", "suite_module", "workload_of"]


class WorkloadError(ValueError):
    """A cell whose workload cannot be built: the message names the benchmark."""


class NoWorkload(WorkloadError):
    """A benchmark that states no synthetic workload by design (e.g. ``own.OwnFleet``, a user's fleet)."""


def suite_module(root: Path, module: str) -> ModuleType:
    """Import ``module`` of the benchmark suite in folder ``root`` (as asv does, by its package name)."""
    sys.path.insert(0, str(root.parent))
    try:
        return importlib.import_module(f"{root.name}.{module}")
    finally:
        sys.path.remove(str(root.parent))


@cache
def _benchmark_class(benchmark_dir: str, module: str, cls_name: str) -> type:
    root = Path(benchmark_dir).resolve()
    if not (root / "__init__.py").is_file():
        raise WorkloadError(f"{root} is not a benchmark suite (no __init__.py): pass --benchmarks DIR")
    try:
        mod = suite_module(root, module)
    except ImportError as exc:
        raise WorkloadError(f"benchmark module {module!r} cannot be imported from {root}: {exc}") from None
    try:
        return getattr(mod, cls_name)
    except AttributeError:
        raise WorkloadError(f"{module}.{cls_name} is not in the suite at {root}") from None


def _value(text: str) -> object:
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


def workload_of(
    benchmark: str, params: dict[str, str] | list[str], benchmark_dir: Path = Path("benchmarks")
) -> Workload:
    """The Workload of ``benchmark`` (``module.Class.method``) at ``params``.

    ``params`` are asv's parameter reprs, in order or by name.
    """
    module, cls_name, _ = benchmark.rsplit(".", 2)
    cls = _benchmark_class(str(benchmark_dir), module, cls_name)
    if getattr(cls, "workload", None) is None:
        raise NoWorkload(f"{module}.{cls_name} states no workload: its cost cannot be planned")
    names = list(getattr(cls, "param_names", []))
    values = [params[n] for n in names] if isinstance(params, dict) else list(params)
    try:
        workload = cls().workload(*map(_value, values))
    except Exception as exc:  # noqa: BLE001 - any failure of the suite's code is the same answer
        raise WorkloadError(
            f"{module}.{cls_name}{tuple(values)} has no workload ({type(exc).__name__}: {exc})"
        ) from None
    if not isinstance(workload, Workload):
        raise WorkloadError(f"{module}.{cls_name}.workload() returned {type(workload).__name__}, not a Workload")
    return workload
