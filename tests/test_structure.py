"""The package's shape: three floors with imports pointing down only, no cycle, small modules and functions."""

from __future__ import annotations

import ast
import graphlib
import shutil
from pathlib import Path

import pytest
from helpers.layers import ROOMS, floor_of, import_graph, import_order, room_of, upward_imports, upward_room_imports

PACKAGE = Path(__file__).resolve().parents[1] / "mlupdate"
MAX_MODULE_LINES = 450
MAX_FUNCTION_LINES = 60


def test_every_floor_holds_modules_and_no_import_points_up():
    graph = import_graph(PACKAGE)
    assert {floor_of(m) for m in graph} == {"library", "instruments", "cli"}
    assert upward_imports(graph) == []


def test_an_injected_upward_import_is_found(tmp_path):
    package = tmp_path / "mlupdate"
    shutil.copytree(PACKAGE, package, ignore=shutil.ignore_patterns("__pycache__"))
    loop = package / "loop.py"
    loop.write_text(loop.read_text() + "\n\ndef _upward():\n    from .bench.suite.workloads import Workload\n")
    site = package / "bench" / "site" / "publish.py"
    site.write_text("from ...cli.render import table\n" + site.read_text())
    assert upward_imports(import_graph(package)) == [
        ("mlupdate.bench.site.publish", "mlupdate.cli.render"),
        ("mlupdate.loop", "mlupdate.bench.suite.workloads"),
    ]


def test_the_instruments_live_in_rooms_whose_imports_run_one_way():
    """``mlupdate/bench`` holds sub-packages of one job each and no loose module; a room imports only
    itself and the rooms below it (``helpers.layers.ROOMS``)."""
    graph = import_graph(PACKAGE)
    bench = {m for m in graph if m.startswith("mlupdate.bench.")}
    assert {room_of(m) for m in bench} == set(ROOMS)
    assert [m for m in bench if "." not in m.removeprefix("mlupdate.bench.") and m.split(".")[2] not in ROOMS] == []
    assert upward_room_imports(graph) == []


def test_an_injected_upward_import_between_rooms_is_found(tmp_path):
    package = tmp_path / "mlupdate"
    shutil.copytree(PACKAGE, package, ignore=shutil.ignore_patterns("__pycache__"))
    counts = package / "bench" / "results" / "counts.py"
    counts.write_text(counts.read_text() + "\n\ndef _upward():\n    from ..runner.lockstep import run_lockstep\n")
    assert upward_room_imports(import_graph(package)) == [
        ("mlupdate.bench.results.counts", "mlupdate.bench.runner.lockstep"),
    ]


def _imported_by(graph: dict[str, set[str]], module: str) -> set[str]:
    """Every module ``module`` imports, directly or through others."""
    seen, todo = set(), [module]
    while todo:
        for dep in graph.get(todo.pop(), ()):
            if dep not in seen and dep != "mlupdate":
                seen.add(dep)
                todo.append(dep)
    return seen


def test_no_import_cycle():
    graph = import_graph(PACKAGE)
    order = import_order(graph)
    assert order.index("mlupdate.task") < order.index("mlupdate.executors.fused")
    executors = {m for m in graph if m.startswith("mlupdate.executors.")}
    assert all("mlupdate.loop" not in _imported_by(graph, m) for m in executors)  # the loop uses them, not back
    assert "mlupdate.executors.fused_pass" in _imported_by(graph, "mlupdate.executors.fused")


def test_an_injected_cycle_is_found(tmp_path):
    package = tmp_path / "mlupdate"
    shutil.copytree(PACKAGE, package, ignore=shutil.ignore_patterns("__pycache__"))
    batches = package / "batches.py"
    batches.write_text(batches.read_text() + "\n\ndef _cycle():\n    from .loop import update_fleet\n")
    with pytest.raises(graphlib.CycleError):
        import_order(import_graph(package))


def _long_functions(path: Path) -> list[str]:
    out = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body[1:] if ast.get_docstring(node) else node.body
            lines = body[-1].end_lineno - body[0].lineno + 1 if body else 0
            if lines > MAX_FUNCTION_LINES:
                out.append(f"{path.relative_to(PACKAGE.parent)}:{node.lineno} {node.name} ({lines} lines)")
    return out


def test_modules_and_functions_fit_on_a_screen():
    long_modules = [
        f"{p.relative_to(PACKAGE.parent)} ({n} lines)"
        for p in sorted(PACKAGE.rglob("*.py"))
        if (n := len(p.read_text().splitlines())) > MAX_MODULE_LINES
    ]
    assert long_modules == []
    assert [f for p in sorted(PACKAGE.rglob("*.py")) for f in _long_functions(p)] == []


def test_the_cli_holds_no_arithmetic_on_results():
    """The CLI parses, calls and renders: no numpy, no scipy, no subprocess of its own."""
    for path in (PACKAGE / "cli").glob("*.py"):
        imported = {
            a.name.split(".")[0]
            for node in ast.walk(ast.parse(path.read_text()))
            if isinstance(node, ast.Import)
            for a in node.names
        } | {
            (node.module or "").split(".")[0]
            for node in ast.walk(ast.parse(path.read_text()))
            if isinstance(node, ast.ImportFrom) and not node.level
        }
        assert not imported & {"numpy", "scipy", "subprocess", "threading", "sklearn"}, path


def test_the_map_names_every_module_and_no_module_that_is_gone():
    """``docs/architecture.md`` is the one map: every module file is named in it, and every
    ``*.py`` it names exists."""
    import re

    text = (PACKAGE.parent / "docs" / "architecture.md").read_text()
    files = sorted(PACKAGE.rglob("*.py"))
    assert [str(p.relative_to(PACKAGE)) for p in files if p.name not in text] == []
    tree = text.split("```")[1]  # the drawn tree; the prose after it names tests and benchmarks too
    named = set(re.findall(r"(?<![/\w])([a-z_]+\.py)\b", tree))  # not tools/x.py, benchmarks/y.py
    assert sorted(named - {p.name for p in files}) == []


def test_the_statistical_core_imports_only_itself():
    """``mlupdate.bench.stats`` is a leaf: every paired verdict reads it, it reads no instrument."""
    graph = import_graph(PACKAGE)
    core = {m for m in graph if m.startswith("mlupdate.bench.stats")}
    assert core
    for module in core:
        assert {d for d in graph[module] if d != "mlupdate"} <= core, module


def test_the_formatter_owns_the_layout():
    """No formatter-skip comment packs code under the length checks above. ``benchmarks/`` is left as it
    is: asv's version of a benchmark is a hash of its code text, and reformatting it would reset
    every series' history."""
    root = PACKAGE.parent
    marker = "fmt: " + "skip"
    found = [
        f"{p.relative_to(root)}:{i}"
        for folder in ("mlupdate", "tests", "tools")
        for p in sorted((root / folder).rglob("*.py"))
        for i, line in enumerate(p.read_text().splitlines(), 1)
        if marker in line
    ]
    assert found == []


def test_the_site_pages_come_from_templates():
    """Our pages and their sections are jinja2 templates (escaping on); no module of ``site/`` builds
    HTML in strings. ``publish.py`` is left out: it rewrites tags in asv's own ``index.html``."""
    import re

    tag = re.compile(r"<(h[1-6]|p|table|tr|td|th|ul|li|figure|img|div|code|span)\b")
    found = []
    for path in sorted((PACKAGE / "bench" / "site").glob("*.py")):
        if path.name == "publish.py":
            continue
        tree = ast.parse(path.read_text())
        found += [
            f"{path.name}:{node.lineno}"
            for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and tag.search(node.value)
        ]
        found += [f"{path.name}: imports html" for node in ast.walk(tree) if _imports_html(node)]
    assert found == []


def _imports_html(node: ast.AST) -> bool:
    return isinstance(node, ast.Import) and any(a.name == "html" for a in node.names)
