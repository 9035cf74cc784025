"""The package's error types, and the one wording of each error message (imports nothing of it).

Two kinds of error reach a user:

- :class:`UsageError` and its subclasses: bad input (a name, a count, a file,
  a missing optional package). They subclass the built-in type a Python caller
  expects (``ValueError``, ``TypeError``, ``ImportError``), and the command
  line prints them as one line with exit status 2.
- :class:`ExecutorError`: work that was started and lost (a worker died).

Anything else that escapes is a bug of ours, never reported as bad input.
"""

from __future__ import annotations

from collections.abc import Iterable

__all__ = ["ExecutorError", "MissingDependency", "UsageError", "UsageTypeError", "first_line", "unknown"]


class UsageError(ValueError):
    """Bad input a user can cause; the message names the bad value and what is allowed."""


class UsageTypeError(UsageError, TypeError):
    """Bad input of the wrong type (a float where a count goes, a list where a name goes)."""


class MissingDependency(UsageError, ImportError):
    """An optional package this input needs is not installed; the message says how to install it."""


class ExecutorError(RuntimeError):
    """The executor lost work it had started (e.g. a worker process died)."""


def unknown(kind: str, value: object, allowed: Iterable[str]) -> UsageError:
    """``UsageError("unknown KIND 'value'; allowed: a, b, c")``, the one wording of a bad name."""
    return UsageError(f"unknown {kind} {value!r}; allowed: {', '.join(allowed)}")


def first_line(error: BaseException | str, last: bool = False) -> str:
    """The first (or ``last``) non-empty line of an error or of a tool's output.

    An exception with no message gives its type's name; empty text gives ``""``.

    >>> first_line(ValueError("bad value\\nmore detail"))
    'bad value'
    >>> first_line("Traceback ...\\n  File x\\nKeyError: 'a'\\n", last=True)
    "KeyError: 'a'"
    >>> first_line(KeyboardInterrupt())
    'KeyboardInterrupt'
    """
    text = error if isinstance(error, str) else str(error)
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    if not lines:
        return "" if isinstance(error, str) else type(error).__name__
    return lines[-1] if last else lines[0]
