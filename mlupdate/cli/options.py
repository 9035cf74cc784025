"""What every subcommand shares: the parser that fails in one line, argument types, and messages.

Argument types parse text; the rule a value must follow is the library's
(:func:`~mlupdate.batches.check_count`, :func:`~mlupdate.executors.joblib.check_n_jobs`).
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from ..batches import check_count
from ..errors import UsageError
from ..executors.joblib import check_n_jobs

__all__ = [
    "SEED_SIZES",
    "Parser",
    "add_data_options",
    "count",
    "error",
    "factor",
    "info",
    "minutes",
    "models",
    "n_jobs",
    "names",
    "percent",
    "progress",
    "rounds",
    "size",
    "warn",
]

#: The sizes ``plan`` and ``scaling predict`` show by default: the seed's rows.
SEED_SIZES = [(10, 10), (100, 100), (1000, 1000)]


class Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line (a :class:`UsageError`), not the usage block."""

    def error(self, message: str) -> None:
        raise UsageError(message)


def count(text: str) -> int:
    """A whole number >= 1."""
    try:
        return check_count("value", int(text))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number >= 1") from None


def n_jobs(text: str) -> int:
    """joblib's ``n_jobs``: -1, -k or k >= 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    try:
        return check_n_jobs(value)
    except UsageError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def models(text: str) -> int | Path:
    """``--models``: a count of synthetic models, or a joblib file of your own."""
    if text.strip().lstrip("+-").isdigit():
        return count(text)
    if not Path(text).exists():
        raise argparse.ArgumentTypeError(
            f"{text!r} is neither a number of models (1, 2, ...) nor an existing models file"
        )
    return Path(text)


def size(text: str) -> tuple[int, int]:
    """``MxN``: models by batches."""
    parts = text.lower().split("x")
    if len(parts) != 2:
        raise argparse.ArgumentTypeError(f"{text!r} is not MxN (e.g. 10x10)")
    return count(parts[0]), count(parts[1])


def names(text: str) -> list[str]:
    """Column names: ``a,b,c``."""
    out = [t.strip() for t in text.split(",") if t.strip()]
    if not out:
        raise argparse.ArgumentTypeError(f"{text!r} names no columns; give them as a,b,c")
    return out


def grid(text: str) -> tuple[list[int], list[int]]:
    """A grid of sizes: ``1,4,22x1,2,8`` (models x batches)."""
    try:
        models, batches = text.split("x")
        out = [int(k) for k in models.split(",")], [int(k) for k in batches.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not M1,M2,...xN1,N2,... (e.g. 1,4,22x1,2,8)") from None
    if min(out[0] + out[1]) < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: sizes are whole numbers >= 1")
    return out


def factor(text: str) -> float:
    """A slowdown factor: a finite number > 1."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number > 1") from None
    if not value > 1 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"{text!r} is not a number > 1 (e.g. 1.1: 10% slower)")
    return value


def percent(text: str) -> float:
    """A percentage in (0, 100), as a fraction: ``"5"`` -> 0.05."""
    try:
        value = float(text.rstrip("%"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a percentage (e.g. 5 for 5%)") from None
    if not 0 < value < 100:
        raise argparse.ArgumentTypeError(f"{text!r} is not a percentage between 0 and 100 (e.g. 5 for 5%)")
    return value / 100


def minutes(text: str) -> float:
    """A positive number of minutes, as seconds."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of minutes") from None
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive number of minutes")
    return value * 60


def rounds(text: str) -> int:
    """Alternating rounds: 3 or more."""
    value = count(text)
    if value < 3:
        raise argparse.ArgumentTypeError(f"{text!r} rounds are too few to pair; use 3 or more (default 4)")
    return value


def add_data_options(p: argparse.ArgumentParser, synthetic_features: bool = False) -> None:
    """``--data``, ``--targets``, ``--batch-column``, ``--features``, ``--exclude`` and
    ``--history-batches``: your own data (``run`` and ``bench``; ``synthetic_features``: ``--features``
    is also the synthetic task's feature count, ``run``'s)."""
    p.add_argument(
        "--data",
        type=Path,
        default=None,
        help="your data: a CSV or Parquet file with a batch column, or a directory of one file per batch; "
        "in batch order the first is the history, the last the holdout, the rest the new batches "
        "(the synthetic-task options are then unused)",
    )
    p.add_argument("--targets", type=names, default=None, help="target columns, one per model: a,b,c")
    p.add_argument("--batch-column", default="batch", help="the column that numbers the batches (default batch)")
    also = "; on the synthetic task, the number of raw features (default 20)" if synthetic_features else ""
    p.add_argument(
        "--features",
        type=str if synthetic_features else names,
        default=None,
        help="the feature columns of your data: names or globs, a,b,x_* (default: every column but the "
        f"targets and the batch column){also}",
    )
    p.add_argument(
        "--exclude",
        type=names,
        default=None,
        metavar="NAMES",
        help="columns of your data that are not features: names or globs, a,b,x_*",
    )
    p.add_argument(
        "--history-batches",
        type=count,
        default=None,
        metavar="K",
        help="the first K batches of your data are the history the models are fitted on (default 1)",
    )
    p.add_argument(
        "--validation-batches",
        type=count,
        default=None,
        metavar="K",
        help="the K batches after the history are a validation split: the deploy-time R^2 that "
        "--strategy triggered compares with is scored there (default: on the history itself)",
    )


def info(message: str) -> None:
    """A step of a command, on stdout."""
    print(f"mlupdate: {message}", flush=True)


def progress(message: str) -> None:
    """Progress of long work, on stderr: stdout carries the report (and JSON)."""
    print(f"mlupdate: {message}", file=sys.stderr, flush=True)


def warn(message: str) -> None:
    """A warning, on stderr."""
    print(f"mlupdate: warning: {message}", file=sys.stderr)


def error(message: str) -> None:
    """An error that ends a command, on stderr."""
    print(f"mlupdate: error: {message}", file=sys.stderr)


class _Prefixed(logging.Formatter):
    """``mlupdate: message``, and ``mlupdate: warning: message`` for a warning."""

    def format(self, record: logging.LogRecord) -> str:
        prefix = "warning: " if record.levelno >= logging.WARNING else ""
        return f"mlupdate: {prefix}{record.getMessage()}"


class _StreamOf(logging.StreamHandler):
    """A handler that writes to ``sys.stdout`` or ``sys.stderr`` as they are when a record comes
    (pytest's capture, a redirect), not as they were when the handler was made."""

    def __init__(self, name: str) -> None:
        super().__init__()
        self.name_of_stream = name

    def emit(self, record: logging.LogRecord) -> None:
        self.stream = getattr(sys, self.name_of_stream)
        super().emit(record)


def log_to(stream: str = "stderr") -> None:
    """Show the instruments' progress and warnings (the ``mlupdate`` loggers) as one line each on
    ``stream`` (``"stdout"`` for commands whose log is their report: nightly, publish)."""
    logger = logging.getLogger("mlupdate")
    for handler in list(logger.handlers):
        if isinstance(handler, _StreamOf):
            logger.removeHandler(handler)
    handler = _StreamOf(stream)
    handler.setFormatter(_Prefixed())
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
