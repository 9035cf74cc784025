"""Who is at fault: bad input is one line and exit 2; a bug of ours is exit 1, said as such, with its traceback."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from mlupdate.cli import main
from mlupdate.errors import MissingDependency, UsageError, UsageTypeError


def test_usage_errors_are_the_builtin_types_a_caller_expects():
    assert issubclass(UsageError, ValueError) and issubclass(UsageTypeError, TypeError)
    assert issubclass(MissingDependency, ImportError) and issubclass(MissingDependency, UsageError)


def test_a_bug_inside_a_command_is_an_internal_error_not_bad_input(monkeypatch, capsys):
    def broken(*args, **kwargs):
        raise TypeError("unsupported operand type(s) for +: 'int' and 'str'")

    monkeypatch.setattr("mlupdate.cli.run.update_fleet", broken)
    status = main(["run", "-m", "2", "-n", "1", "--rows", "20", "--history-rows", "50", "--estimators", "ridge"])
    err = capsys.readouterr().err.strip().splitlines()
    assert status == 1 and len(err) == 1
    assert err[0].startswith("mlupdate: internal error (a bug of mlupdate, not your input): TypeError: unsupported")
    trace = Path(re.search(r"traceback in (\S+)$", err[0]).group(1))
    assert "Traceback (most recent call last)" in trace.read_text() and "in broken" in trace.read_text()
    trace.unlink()


def test_a_value_error_of_ours_is_not_reported_as_bad_input(monkeypatch, capsys):
    def broken(*args, **kwargs):
        raise ValueError("operands could not be broadcast together")

    monkeypatch.setattr("mlupdate.cli.plan.Plan", broken)
    assert main(["plan", "2x2"]) == 1
    err = capsys.readouterr().err
    assert "internal error" in err and "mlupdate: error:" not in err
    Path(re.search(r"traceback in (\S+)$", err.strip()).group(1)).unlink()


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (UsageError("unknown strategy 'fast'; allowed: full, none"), "unknown strategy 'fast'"),
        (MissingDependency("the dask backend needs dask.distributed: pip install 'mlupdate[dask]'"), "pip install"),
    ],
)
def test_usage_errors_raised_anywhere_are_one_line_and_exit_2(monkeypatch, capsys, error, expected):
    def refuse(*args, **kwargs):
        raise error

    monkeypatch.setattr("mlupdate.cli.run.update_fleet", refuse)
    status = main(["run", "-m", "2", "-n", "1", "--rows", "20", "--history-rows", "50", "--estimators", "ridge"])
    err = capsys.readouterr().err.strip().splitlines()
    assert status == 2 and len(err) == 1 and err[0].startswith("mlupdate: error: ") and expected in err[0]


def test_a_reader_that_goes_away_is_not_an_error(monkeypatch, capsys):
    class Closed:
        def write(self, text):
            raise BrokenPipeError(32, "Broken pipe")

        def flush(self):
            pass

    monkeypatch.setattr("sys.stdout", Closed())
    assert main(["plan", "2x2"]) == 141
    assert capsys.readouterr().err == ""
