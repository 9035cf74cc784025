"""The benchmark suite, as the instruments see it: its modules, its benchmark ids, each cell's Workload.

The suite (``benchmarks/``) is imported as asv imports it, by its package name.
asv's results name a cell by benchmark id and parameter reprs; the cost model
needs what that cell ran (its :class:`~mlupdate.bench.suite.workloads.Workload`) to
know its exact operation counts.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import itertools
import pkgutil
import re
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from types import ModuleType

from ...errors import UsageError
from .workloads import Workload

__all__ = [
    "BENCHMARK_PREFIXES",
    "NoWorkload",
    "Selection",
    "WorkloadError",
    "WorkloadFailed",
    "cell_labels",
    "cell_workload",
    "compile_patterns",
    "discover",
    "select",
    "select_cells",
    "selection_of",
    "suite_module",
    "workload_of",
]

#: The method prefixes asv runs as benchmarks.
BENCHMARK_PREFIXES = ("time_", "peakmem_", "track_", "mem_")


class WorkloadError(UsageError):
    """A cell whose workload cannot be built: the message names the benchmark."""


class WorkloadFailed(RuntimeError):
    """A cell's ``workload()`` raised: a bug of the suite's, reported with the cell and the error."""


class NoWorkload(WorkloadError):
    """A benchmark that states no synthetic workload by design (e.g. ``own.OwnFleet``, a user's fleet)."""


def forget_suite(root: Path) -> None:
    """Drop the suite in folder ``root`` from this process's imports, so that the next import reads it
    again (e.g. ``own.py``'s registry after a fleet was registered)."""
    _drop(Path(root).resolve().name)
    _benchmark_class.cache_clear()


def _drop(package: str) -> None:
    for name in [n for n in sys.modules if n == package or n.startswith(package + ".")]:
        del sys.modules[name]


def suite_module(root: Path, module: str) -> ModuleType:
    """Import ``module`` of the benchmark suite in folder ``root`` (as asv does, by its package name).

    Another folder's suite of the same package name imported before in this process (a second
    checkout) is dropped first: its modules would otherwise be returned for this one's."""
    loaded = sys.modules.get(root.name)
    if loaded is not None and Path(next(iter(getattr(loaded, "__path__", [""])), "")).resolve() != root:
        _drop(root.name)
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
    except NotImplementedError as exc:  # an invalid combination, n/a as asv shows it
        raise NoWorkload(f"{module}.{cls_name}{tuple(values)} has no workload: {exc}") from None
    except Exception as exc:
        # a bug in the suite's code: never bad input, never a silently missing figure
        raise WorkloadFailed(
            f"{module}.{cls_name}{tuple(values)}.workload() failed: {type(exc).__name__}: {exc}"
        ) from exc
    if not isinstance(workload, Workload):
        raise WorkloadError(f"{module}.{cls_name}.workload() returned {type(workload).__name__}, not a Workload")
    return workload


def cell_workload(benchmark_dir: Path, cell) -> Workload | None:
    """The workload of a cell (a :class:`~mlupdate.bench.stats.CellRounds`: its ``benchmark`` and
    ``params``), or None where its benchmark states none (a bug in one raises)."""
    try:
        return workload_of(cell.benchmark, list(cell.params), benchmark_dir)
    except NoWorkload:
        return None


def discover(project: Path, benchmark_dir: str = "benchmarks") -> list[str]:
    """Every benchmark id (``module.Class.method``) of the suite in ``project``, as asv names them."""
    root = (Path(project) / benchmark_dir).resolve()
    names = []
    for info in pkgutil.iter_modules([str(root)]):
        module = suite_module(root, info.name)
        for cls_name, cls in inspect.getmembers(module, inspect.isclass):
            if cls.__module__ != module.__name__ or cls_name.startswith("_"):
                continue
            for attr in dir(cls):
                if attr.startswith(BENCHMARK_PREFIXES) and callable(getattr(cls, attr)):
                    names.append(f"{info.name}.{cls_name}.{attr}")
    return sorted(names)


def select(names: Sequence[str], patterns: Sequence[str]) -> list[str]:
    """The names any pattern matches (``re.search`` on the benchmark id)."""
    return [n for n in names if any(re.search(p, n) for p in patterns)]


def compile_patterns(patterns: Sequence[str]) -> list[re.Pattern]:
    """asv's ``-b`` patterns compiled; one that is not a regular expression is a
    :class:`~mlupdate.errors.UsageError` naming it."""
    out = []
    for p in patterns:
        try:
            out.append(re.compile(p))
        except re.error as exc:
            raise UsageError(f"--bench {p!r} is not a regular expression ({exc})") from None
    return out


def cell_labels(project: Path, name: str, benchmark_dir: str = "benchmarks") -> list[str]:
    """The ``name(param, ...)`` labels of a benchmark's cells, as asv writes them (parameter reprs);
    ``[name]`` for a benchmark without parameters."""
    module, cls_name, _ = name.rsplit(".", 2)
    cls = _benchmark_class(str((Path(project) / benchmark_dir).resolve()), module, cls_name)
    params = getattr(cls, "params", None) or []
    if params and not isinstance(params[0], list | tuple):
        params = [params]
    if not params:
        return [name]
    return [f"{name}({', '.join(map(repr, combo))})" for combo in itertools.product(*params)]


@dataclass(frozen=True)
class Selection:
    """What asv's ``-b`` patterns select: the benchmark ids to discover, and which of their cells run.

    A pattern that matches a benchmark's id selects all its cells; one that matches only some
    ``name(params)`` labels selects those cells (as asv's ``--bench`` does)."""

    names: tuple[str, ...]
    whole: frozenset[str] = frozenset()
    patterns: tuple[re.Pattern, ...] = ()

    def wants(self, label: str, name: str) -> bool:
        """Whether the cell ``label`` of benchmark ``name`` is selected."""
        return not self.patterns or name in self.whole or any(p.search(label) for p in self.patterns)


def select_cells(project: Path, names: Sequence[str], patterns: Sequence[str]) -> Selection:
    """asv's ``-b`` over ``name(params)``: a :class:`Selection`; a pattern that matches no benchmark
    and no cell, or that is not a regular expression, is a :class:`~mlupdate.errors.UsageError`."""
    example = "growth.GrowthGrid.time_update(4, 16, 'serial')"
    return selection_of(names, lambda name: cell_labels(project, name), patterns, example)


def selection_of(
    names: Sequence[str], labels_of: Callable[[str], Sequence[str]], patterns: Sequence[str], example: str
) -> Selection:
    """asv's ``-b`` over the benchmarks ``names`` and their cells (``labels_of(name)``: its
    ``name(params)`` labels); ``example`` is a cell label the error shows."""
    compiled = compile_patterns(patterns)
    if not compiled:
        return Selection(tuple(names))
    chosen, whole = set(), set()
    for p in compiled:
        hit = False
        for n in names:
            if p.search(n):
                whole.add(n)
            elif not any(p.search(label) for label in labels_of(n)):
                continue
            chosen.add(n)
            hit = True
        if not hit:
            raise UsageError(
                f"--bench {p.pattern!r} matches no benchmark and no cell name(params) of the {len(names)} "
                f"benchmarks (e.g. {names[0] if names else '-'}; a cell: {example})"
            )
    return Selection(tuple(sorted(chosen)), frozenset(whole), tuple(compiled))
