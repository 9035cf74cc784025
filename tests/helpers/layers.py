"""The package's import graph, its floors, and the imports that point the wrong way."""

from __future__ import annotations

import ast
import graphlib
from pathlib import Path

#: Floors from the bottom up; a module may import its own floor and the floors below it.
FLOORS = ("library", "instruments", "cli")


def floor_of(module: str) -> str:
    """``mlupdate.cli.*`` (and ``python -m mlupdate``) is the command line, ``mlupdate.bench.*`` the
    instruments, the rest the library."""
    parts = module.split(".")
    if len(parts) > 1 and parts[1] in ("cli", "__main__"):
        return "cli"
    if len(parts) > 1 and parts[1] == "bench":
        return "instruments"
    return "library"


def module_name(path: Path, package: Path) -> str:
    parts = path.relative_to(package.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path, package: Path) -> set[str]:
    """The package's modules that ``path`` imports anywhere in it (functions included)."""
    here = module_name(path, package)
    parent = here if path.name == "__init__.py" else here.rsplit(".", 1)[0]
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = parent.rsplit(".", node.level - 1)[0] if node.level > 1 else parent
                target = f"{base}.{node.module}" if node.module else base
            else:
                target = node.module or ""
            out.update(n for n in [target, *(f"{target}.{a.name}" for a in node.names)] if n.startswith("mlupdate"))
        elif isinstance(node, ast.Import):
            out.update(a.name for a in node.names if a.name.startswith("mlupdate"))
    return out


def import_graph(package: Path) -> dict[str, set[str]]:
    """Module -> the package's modules it imports (a package importing its own submodules left out)."""
    paths = {module_name(p, package): p for p in package.rglob("*.py")}
    return {
        m: {i for i in imports_of(p, package) if i in paths and i != m and not i.startswith(m + ".")}
        for m, p in paths.items()
    }


def upward_imports(graph: dict[str, set[str]]) -> list[tuple[str, str]]:
    """Every ``(importer, imported)`` pair whose imported module is on a higher floor."""
    rank = {floor: i for i, floor in enumerate(FLOORS)}
    return sorted((m, i) for m, targets in graph.items() for i in targets if rank[floor_of(i)] > rank[floor_of(m)])


def import_order(graph: dict[str, set[str]]) -> list[str]:
    """The modules, each after everything it imports; ``graphlib.CycleError`` names a cycle.

    The top package re-exports its submodules, so its own edges are left out.
    """
    edges = {m: {i for i in deps if i != "mlupdate"} for m, deps in graph.items() if m != "mlupdate"}
    return list(graphlib.TopologicalSorter(edges).static_order())


#: The instruments' sub-packages (rooms of one job each), from the bottom up: a room may import
#: itself and the rooms below it, never one above.
ROOMS = ("stats", "results", "suite", "runner", "own_fleets", "scaling", "compare", "instructions", "site", "nightly")


def room_of(module: str) -> str | None:
    """The instruments' sub-package ``module`` lives in (``None`` outside ``mlupdate.bench``'s rooms)."""
    parts = module.split(".")
    return parts[2] if len(parts) > 2 and parts[:2] == ["mlupdate", "bench"] else None


def upward_room_imports(graph: dict[str, set[str]]) -> list[tuple[str, str]]:
    """Every ``(importer, imported)`` pair of the instruments whose imported room is above the importer's."""
    rank = {room: i for i, room in enumerate(ROOMS)}
    return sorted(
        (m, i)
        for m, targets in graph.items()
        for i in targets
        if room_of(m) and room_of(i) and rank[room_of(i)] > rank[room_of(m)]
    )
