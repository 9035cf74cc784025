"""The compiled helper that lets a Python process switch callgrind's counting on and off.

Callgrind counts only between ``CALLGRIND_START_INSTRUMENTATION`` and
``CALLGRIND_STOP_INSTRUMENTATION`` when valgrind starts with ``--instr-atstart=no``. Those are
client requests: a magic instruction sequence that only C can emit. ``hooks.c`` (four functions)
is built here on first use with the system's C compiler against valgrind's own headers (Debian's
``valgrind`` package ships them), into the user's cache, and called through ctypes.

Why not a package: pytest-codspeed's compiled hooks do this too, but they are made for its own
runner (they refuse to load outside ``CODSPEED_ENV``) and would have to be installed into every
commit's benchmark environment; the ``valgrind`` project on the package index is an empty
placeholder. Four lines of C against the headers of the valgrind that runs them cannot drift
from it.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from pathlib import Path

from ...errors import UsageError

__all__ = ["SOURCE", "InstructionsUnavailable", "build_hooks", "valgrind"]

#: The helper's C source, beside this module.
SOURCE = Path(__file__).with_name("hooks.c")
_HEADER = Path("/usr/include/valgrind/callgrind.h")


class InstructionsUnavailable(UsageError):
    """Instruction counts cannot be taken here: valgrind, its headers or a C compiler is missing."""


def valgrind() -> str:
    """The ``valgrind`` executable, or :class:`InstructionsUnavailable` (one line: what to install)."""
    found = shutil.which("valgrind")
    if found is None:
        raise InstructionsUnavailable(
            "--mode instructions needs valgrind, which is not installed (Debian: apt-get install valgrind)"
        )
    return found


def _cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "mlupdate"


def build_hooks(cache: Path | None = None) -> Path:
    """The helper's shared library, built once per source and compiler into ``cache``."""
    source = SOURCE.read_bytes()
    compiler = os.environ.get("CC") or shutil.which("cc") or shutil.which("gcc")
    if compiler is None:
        raise InstructionsUnavailable("--mode instructions builds a small C helper and needs a C compiler (cc)")
    if not _HEADER.is_file():
        raise InstructionsUnavailable(f"--mode instructions needs valgrind's headers ({_HEADER} is missing)")
    key = hashlib.sha256(source + compiler.encode() + _HEADER.read_bytes()).hexdigest()[:16]
    target = (cache or _cache_dir()) / f"callgrind-hooks-{key}.so"
    if target.is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(f".{os.getpid()}.tmp")
    run = subprocess.run(
        [compiler, "-shared", "-fPIC", "-O1", "-o", str(partial), str(SOURCE)], capture_output=True, text=True
    )
    if run.returncode != 0:
        raise RuntimeError(f"building {SOURCE.name} failed: {run.stderr.strip()[-500:]}")
    partial.replace(target)
    return target
