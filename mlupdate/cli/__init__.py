"""The command line: ``mlupdate run | plan | scaling | compare | bench | publish | nightly``.

One module per subcommand parses its arguments, calls the library or the
instruments and renders the answer (:mod:`.render`). The exit status says
who is at fault:

- 0: done;
- 1: done, and something failed (a model, a benchmark step, a slower cell),
  or an internal error of mlupdate: one line says so, and where the
  traceback was written;
- 2: bad input (a :class:`~mlupdate.errors.UsageError`): one line naming the
  bad value and what is allowed, before anything is computed or stored.
"""

from __future__ import annotations

import os
import sys
import tempfile
import traceback
import warnings
from collections.abc import Callable, Sequence

from ..errors import ExecutorError, UsageError
from . import bench, compare, nightly, options, plan, publish, run, scaling, suite

__all__ = ["EXIT_FAILURES", "EXIT_USAGE", "build_parser", "main"]

EXIT_FAILURES = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130
EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE: the reader went away (``mlupdate plan | head``)

#: Each subcommand's ``add_parser``, in the order ``--help`` lists them.
COMMANDS: list[Callable] = [
    run.add_parser,
    plan.add_parser,
    scaling.add_parser,
    compare.add_parser,
    suite.add_parser,
    bench.add_parser,
    publish.add_parser,
    nightly.add_parser,
]


def build_parser() -> options.Parser:
    from .. import __version__

    parser = options.Parser(prog="mlupdate", description="What keeping a fleet of ML models fresh costs.")
    parser.add_argument("--version", action="version", version=f"mlupdate {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=options.Parser)
    for add in COMMANDS:
        add(sub)
    return parser


def _internal_error(exc: BaseException) -> int:
    """A bug of ours: say so in one line, and keep the traceback in a file."""
    with tempfile.NamedTemporaryFile("w", prefix="mlupdate-traceback-", suffix=".txt", delete=False) as f:
        traceback.print_exception(exc, file=f)
    print(
        f"mlupdate: internal error (a bug of mlupdate, not your input): {type(exc).__name__}: {exc}; "
        f"traceback in {f.name}",
        file=sys.stderr,
    )
    return EXIT_FAILURES


def _silence_stdout() -> None:
    """Point stdout at /dev/null, so that flushing it at exit does not fail a second time."""
    try:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):  # not a real file (e.g. captured): nothing to flush
        pass


def _one_line_warning(message, category, filename, lineno, file=None, line=None) -> None:
    options.warn(str(message))


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the exit status. Warnings print as one ``mlupdate: warning:`` line."""
    with warnings.catch_warnings():
        warnings.showwarning = _one_line_warning
        return _main(argv)


def _main(argv: Sequence[str] | None) -> int:
    try:
        args = build_parser().parse_args(argv)
        options.log_to("stdout" if getattr(args, "log_to_stdout", False) else "stderr")
        return args.func(args)
    except UsageError as exc:
        options.error(str(exc))
        return EXIT_USAGE
    except ExecutorError as exc:
        options.error(str(exc))
        return EXIT_FAILURES
    except KeyboardInterrupt:
        print("mlupdate: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        _silence_stdout()
        return EXIT_BROKEN_PIPE
    except Exception as exc:  # noqa: BLE001 - anything else is a bug of ours, reported as one
        return _internal_error(exc)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
