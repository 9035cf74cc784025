"""Your data and models from files: CSV or Parquet tables, a directory of batch files,
joblib-pickled models. What ``mlupdate run --data`` and ``mlupdate bench`` read.

A table holds feature columns, one target column per model and a batch column;
a directory holds one table per batch, in file-name order. In batch order, the
first batch is the history the models are fitted on, the last is the holdout
they are scored on after the retrain, and those in between are the new batches.
With a fitted fleet (which carries its history), every batch but the last is new.

Every problem is one line naming the file, and the column or row: a
:class:`DataFileError`, raised before anything is computed.
"""

from __future__ import annotations

import fnmatch
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .errors import UsageError, first_line
from .fleet import Fleet

__all__ = [
    "SUFFIXES",
    "DataFileError",
    "OwnData",
    "choose_features",
    "content_hash",
    "load_models",
    "models_for",
    "own_fleet",
    "read_data",
]

#: File types a table can be read from.
SUFFIXES = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet"}


class DataFileError(UsageError):
    """A data or model file that cannot be used: one line naming the file and the column or row."""


@dataclass
class OwnData:
    """A data file split into the update's parts (``X`` DataFrames, ``Y`` arrays)."""

    source: Path
    targets: list[str]
    features: list[str]
    history: tuple[Any, Any] | None
    batches: list[tuple[Any, Any]]
    holdout: tuple[Any, Any]
    validation: tuple[Any, Any] | None = None  # the batches the deploy-time R^2 is scored on
    validation_name: str = "the history (in-sample)"


def _pandas():
    try:
        import pandas as pd
    except ImportError:
        raise DataFileError("reading --data needs pandas and pyarrow: pip install 'mlupdate[data]'") from None
    return pd


def _read_table(path: Path):
    pd = _pandas()
    kind = SUFFIXES.get(path.suffix.lower())
    if kind is None:
        raise DataFileError(
            f"{path}: unsupported file type {path.suffix or '(none)'!r}; use one of {', '.join(SUFFIXES)}"
        )
    try:
        df = pd.read_csv(path) if kind == "csv" else pd.read_parquet(path)
    except Exception as exc:  # noqa: BLE001 - any reader failure is a bad file
        raise DataFileError(f"{path}: cannot read it as {kind}: {first_line(exc)}") from None
    if df.empty:
        raise DataFileError(f"{path}: has no rows")
    return df.rename(columns=str)


def _parts(path: Path, batch_column: str) -> list[tuple[Path, Any]]:
    """``(file, table)`` per batch, in batch order."""
    if not path.exists():
        raise DataFileError(f"{path}: no such file or directory")
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.suffix.lower() in SUFFIXES)
        if not files:
            raise DataFileError(f"{path}: a directory with no {', '.join(SUFFIXES)} files")
        return [(f, _read_table(f)) for f in files]
    df = _read_table(path)
    if batch_column not in df.columns:
        raise DataFileError(f"{path}: no batch column {batch_column!r} (columns: {', '.join(df.columns)})")
    return [(path, part.drop(columns=batch_column)) for _, part in df.groupby(batch_column, sort=True)]


def _kind(series) -> str:
    return "numeric" if _pandas().api.types.is_numeric_dtype(series) else f"non-numeric ({series.dtype})"


def _check_same_columns(parts: list[tuple[Path, Any]]) -> None:
    """Every batch file has the first file's columns, of the same kinds (numeric or not)."""
    first, ref = parts[0]
    for file, df in parts[1:]:
        missing = [c for c in ref.columns if c not in df.columns]
        if missing:
            raise DataFileError(
                f"{file}: no column {missing[0]!r}, which {first.name} has; every batch file must have the same columns"
            )
        extra = [c for c in df.columns if c not in ref.columns]
        if extra:
            raise DataFileError(
                f"{file}: column {extra[0]!r} is not in {first.name}; every batch file must have the same columns"
            )
        for c in ref.columns:
            if _kind(df[c]) != _kind(ref[c]) and "numeric" in (_kind(df[c]), _kind(ref[c])):
                raise DataFileError(f"{file}: column {c!r} is {_kind(df[c])}, but {_kind(ref[c])} in {first.name}")


def _check_columns(file: Path, df, targets: list[str], features: list[str] | None) -> None:
    for name in targets:
        if name not in df.columns:
            raise DataFileError(f"{file}: no target column {name!r} (columns: {', '.join(df.columns)})")
    for name in features or []:
        if name not in df.columns:
            raise DataFileError(f"{file}: no column {name!r}, a feature the fleet was trained on")
    for name in df.columns:
        numeric = _pandas().api.types.is_numeric_dtype(df[name])
        if name in targets and not numeric:
            raise DataFileError(f"{file}: target column {name!r} is not numeric (dtype {df[name].dtype})")
        bad = ~np.isfinite(df[name].to_numpy(dtype=float)) if numeric else df[name].isna().to_numpy()
        if bad.any():
            row = df.index[np.argmax(bad)]
            raise DataFileError(f"{file}: column {name!r}, row {row}: missing, NaN or inf; every value must be present")


def choose_features(
    file: Path, columns: list[str], select: Sequence[str] = (), exclude: Sequence[str] = ()
) -> list[str]:
    """The feature columns: those ``select`` names or matches (globs; default every column), minus
    those ``exclude`` matches, in the file's order. A name or pattern that matches nothing is an error."""

    def matches(pattern: str) -> list[str]:
        found = [c for c in columns if fnmatch.fnmatchcase(c, pattern)]
        if not found:
            raise DataFileError(f"{file}: no column matches {pattern!r} (columns: {', '.join(columns)})")
        return found

    chosen = set().union(*(matches(p) for p in select)) if select else set(columns)
    dropped = set().union(*(matches(p) for p in exclude)) if exclude else set()
    return [c for c in columns if c in chosen and c not in dropped]


def read_data(
    path: str | Path,
    targets: list[str],
    batch_column: str = "batch",
    features: list[str] | None = None,
    with_history: bool = True,
    *,
    select: Sequence[str] = (),
    exclude: Sequence[str] = (),
    history_batches: int = 1,
    validation_batches: int = 0,
) -> OwnData:
    """Read and check a data file (or directory), and split it into history, batches and holdout.

    ``features``: the exact columns the models read (a fitted fleet's); otherwise
    :func:`choose_features` picks them from the columns that are neither targets nor the batch
    column, by ``select`` and ``exclude`` (names or globs). ``history_batches``: how many of the
    first batches are the history; ``validation_batches``: how many after them are the
    validation split (the deploy-time R^2 the ``triggered`` strategy compares with; default:
    the history itself). ``with_history=False`` for a fitted fleet: the first batch is then a
    new batch.
    """
    path = Path(path)
    if not targets:
        raise DataFileError(f"{path}: no target columns given; name them with --targets")
    parts = _parts(path, batch_column)
    _check_same_columns(parts)
    for file, df in parts:
        _check_columns(file, df, targets, features)
    candidates = [c for c in parts[0][1].columns if c not in targets]
    feats = features or choose_features(parts[0][0], candidates, select, exclude)
    if not feats:
        raise DataFileError(f"{parts[0][0]}: no feature columns left besides the targets {', '.join(targets)}")
    k, v = (history_batches, validation_batches) if with_history else (0, 0)
    if len(parts) < k + v + 2:
        what = f"{k} for the history, a new batch and the holdout" if with_history else "a new batch and the holdout"
        what = what.replace("history,", f"history, {v} for validation,") if v else what
        raise DataFileError(f"{path}: has {len(parts)} batch(es); need at least {k + v + 2}: {what}")
    pairs = [(df[feats], df[targets].to_numpy(dtype=float)) for _, df in parts]
    if not with_history:
        return OwnData(path, list(targets), feats, None, pairs[:-1], pairs[-1])
    history, validation = _stack(pairs[:k]), (_stack(pairs[k : k + v]) if v else None)
    which = f"batch {k + 1}" if v == 1 else f"batches {k + 1}-{k + v}"
    name = f"{which} of {len(parts)} ({len(validation[0])} rows)" if v else "the history (in-sample)"
    return OwnData(path, list(targets), feats, history, pairs[k + v : -1], pairs[-1], validation, name)


def _stack(pairs: list[tuple[Any, Any]]) -> tuple[Any, Any]:
    return _pandas().concat([x for x, _ in pairs]), np.vstack([y for _, y in pairs])


def load_models(path: str | Path) -> Any:
    """The object in a joblib file (see :func:`models_for`)."""
    import joblib

    path = Path(path)
    if not path.is_file():
        raise DataFileError(f"{path}: no such file")
    try:
        return joblib.load(path)
    except Exception as exc:  # noqa: BLE001 - any unpickling failure is a bad file
        raise DataFileError(
            f"{path}: not a models file joblib can load ({type(exc).__name__}: {first_line(exc)}); "
            "write one with joblib.dump(estimators, path)"
        ) from None


def models_for(obj: Any, path: Path, n_targets: int) -> tuple[list[Any], Any]:
    """``(estimators, preprocessor or None)`` for ``n_targets`` targets from a loaded models file.

    The file holds a list of estimators (one per target), one estimator (cloned
    for every target), or a dict with ``"estimators"`` and ``"preprocessor"``.
    """
    from sklearn.base import clone

    preprocessor = None
    if isinstance(obj, dict):
        if "estimators" not in obj:
            keys = ", ".join(repr(k) for k in list(obj)[:5]) or "none"
            raise DataFileError(
                f"{path}: holds a dict without an 'estimators' key (its keys: {keys}); a dict of models is "
                "{'estimators': [...], 'preprocessor': ...}"
            )
        preprocessor, obj = obj.get("preprocessor"), obj["estimators"]
        if preprocessor is not None and not hasattr(preprocessor, "fit_transform"):
            raise DataFileError(f"{path}: 'preprocessor' is a {type(preprocessor).__name__}, not a transformer")
    if _is_estimator(obj):
        obj = [clone(obj) for _ in range(n_targets)]
    if not isinstance(obj, list | tuple):
        raise DataFileError(f"{path}: holds a {type(obj).__name__}; expected estimators, a dict of them, or a Fleet")
    for i, est in enumerate(obj):
        if not _is_estimator(est):
            raise DataFileError(
                f"{path}: item {i} is a {type(est).__name__}, not a scikit-learn estimator (fit and predict)"
            )
    if len(obj) != n_targets:
        raise DataFileError(f"{path}: {len(obj)} estimators for {n_targets} target columns; they must match")
    return list(obj), preprocessor


def _is_estimator(obj: Any) -> bool:
    return hasattr(obj, "fit") and hasattr(obj, "predict") and hasattr(obj, "get_params")


def content_hash(path: str | Path) -> str:
    """SHA-256 of a file's bytes, or of a directory's data files (names and bytes, in order)."""
    path = Path(path)
    digest = hashlib.sha256()
    files = sorted(p for p in path.iterdir() if p.suffix.lower() in SUFFIXES) if path.is_dir() else [path]
    for file in files:
        if path.is_dir():
            digest.update(file.name.encode() + b"\0")
        digest.update(file.read_bytes())
    return digest.hexdigest()


def own_fleet(
    data_path: Path,
    models_path: Path | None,
    targets: list[str] | None,
    batch_column: str = "batch",
    default_estimators: Any = None,
    progress: bool | None = False,
    strategy: Any = None,
    *,
    select: Sequence[str] = (),
    exclude: Sequence[str] = (),
    history_batches: int = 1,
    validation_batches: int = 0,
) -> tuple[Fleet, OwnData]:
    """The fleet and data of a data file and an optional models file, every file checked before any fit.

    ``default_estimators(n_targets)`` makes the estimators when there is no models file;
    ``strategy`` (a name or a strategy), when given, is checked against them before any fit;
    ``select``, ``exclude`` and ``history_batches``: see :func:`read_data` (a fitted fleet reads
    its own features and has its history: they are refused with one).
    """
    from .strategies import check_estimators

    obj = load_models(models_path) if models_path is not None else None
    if isinstance(obj, Fleet):
        if select or exclude or history_batches != 1 or validation_batches:
            raise DataFileError(
                f"{models_path}: a fitted fleet reads its own features and has its history; "
                "--features, --exclude, --history-batches and --validation-batches go with unfitted "
                "models"
            )
        targets = targets or obj.target_names
        if not targets:
            raise DataFileError(f"{models_path}: the fleet's targets have no names; give them with --targets")
        if len(targets) != obj.n_models:
            raise DataFileError(f"{models_path}: a fleet of {obj.n_models} models for {len(targets)} target columns")
        data = read_data(data_path, targets, batch_column, obj.feature_names, with_history=False)
        if len(data.features) != obj.n_features:
            raise DataFileError(f"{data_path}: {len(data.features)} feature columns; the fleet reads {obj.n_features}")
        if strategy is not None:
            check_estimators(strategy, [m.estimator for m in obj.models])
        return obj, data
    data = read_data(
        data_path,
        targets or [],
        batch_column,
        select=select,
        exclude=exclude,
        history_batches=history_batches,
        validation_batches=validation_batches,
    )
    if obj is None:
        estimators, preprocessor = default_estimators(len(data.targets)), None
    else:
        estimators, preprocessor = models_for(obj, models_path, len(data.targets))
    if strategy is not None:
        check_estimators(strategy, estimators)  # refuse before anything is fitted
    X, Y = data.history
    if preprocessor is None:
        for name in data.features:
            if not _pandas().api.types.is_numeric_dtype(X[name]):
                raise DataFileError(
                    f"{data_path}: feature column {name!r} is not numeric ({X[name].dtype}); the default "
                    f"preprocessor needs numbers: leave it out with --exclude {name}, or put a 'preprocessor' "
                    "(e.g. a ColumnTransformer) in the models file"
                )
    fleet = Fleet.from_data(X, Y, estimators, preprocessor, validation=data.validation, progress=progress)
    fleet.target_names, fleet.validation_name = data.targets, data.validation_name
    return fleet, data
