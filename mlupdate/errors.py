"""Exceptions and error messages shared across the package (imports nothing of it)."""

from __future__ import annotations

from collections.abc import Iterable

__all__ = ["ExecutorError", "unknown"]


class ExecutorError(RuntimeError):
    """The executor lost work it had started (e.g. a worker process died)."""


def unknown(kind: str, value: object, allowed: Iterable[str]) -> ValueError:
    """``ValueError("unknown KIND 'value'; allowed: a, b, c")``, the one wording of a bad name."""
    return ValueError(f"unknown {kind} {value!r}; allowed: {', '.join(allowed)}")
