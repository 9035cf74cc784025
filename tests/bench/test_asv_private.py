"""asv's private internals are used in one module, for one asv version: another version fails here, loudly."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import asv

from mlupdate.bench.runner.asv_private import ASV_VERSION, check_version

PACKAGE = Path(__file__).resolve().parents[2] / "mlupdate"


def test_the_installed_asv_is_the_one_the_private_uses_were_read_from():
    assert asv.__version__ == ASV_VERSION, (
        f"asv {asv.__version__} is installed, but mlupdate/bench/runner/asv_private.py was written against asv "
        f"{ASV_VERSION}: read each use there against the new asv, then bump ASV_VERSION and the pin"
    )
    check_version()
    pin = re.search(r'"asv==([\d.]+)"', (PACKAGE.parent / "pyproject.toml").read_text())
    assert pin and pin.group(1) == ASV_VERSION


def test_no_other_module_touches_a_private_attribute_of_asv():
    """Outside ``asv_private.py``, no ``x._name`` attribute of an asv object, and no import of
    ``asv.runner.run_benchmark``."""
    found = []
    for path in sorted((PACKAGE / "bench").rglob("*.py")):
        if path.name == "asv_private.py":
            continue
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and node.attr in {
                "_default_benchmark_timeout",
                "_executable",
                "_filename",
                "_stdout_reader",
                "_server_output",
            }:
                found.append(f"{path.name}:{node.lineno} .{node.attr}")
            if isinstance(node, ast.ImportFrom) and node.module == "asv.runner":
                if any(a.name == "run_benchmark" for a in node.names):
                    found.append(f"{path.name}:{node.lineno} asv.runner.run_benchmark")
    assert found == []
