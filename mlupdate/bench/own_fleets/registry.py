"""``mlupdate bench``: the suite's measurements on your own fleet and data.

Your data and models files are checked and the fleet deployed once (nothing is
stored when they are bad). The fleet, its batches and its holdout are then
stored in ``.asv/own/`` under an id that holds the data's and the models' content
hashes and the workload (strategy, order, executor), and listed in
``.asv/own/fleets.json``. The suite's ``own.OwnFleet`` benchmark reads that
list: its ``fleet`` parameter is the id, so two datasets never share a series,
and its ``n_models`` x ``n_batches`` grid takes the first m models and n batches.

The benchmark runs through asv in this Python environment (``existing``), which
has your estimators' packages, and writes ordinary asv results: time, peak
memory and operation counts per cell, beside the suite's. The scaling report
fits each fleet's growth ``t = c * m^a * n^b + d`` like any other series.
"""

from __future__ import annotations

import ast
import hashlib
import json
import logging
import re
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import joblib
import sklearn

from ...datafiles import DataFileError, content_hash, own_fleet
from ...errors import UsageError, first_line
from ...fleet import make_estimators
from ..results.asv_config import asv_command
from ..results.git import head_commit
from ..suite.catalog import Selection, forget_suite, selection_of

logger = logging.getLogger(__name__)

__all__ = [
    "GRID_BATCHES",
    "GRID_MODELS",
    "OwnFleetEntry",
    "environment_key",
    "fleet_sizes",
    "grid_cells",
    "own_selection",
    "project_commit",
    "register",
    "registry_path",
    "require_this_environment",
    "run_bench",
]

#: The grid the ``own.OwnFleet`` benchmark measures (cells beyond a fleet's size are skipped).
GRID_MODELS = [1, 4, 16, 64, 256]
GRID_BATCHES = [1, 4, 16, 64]


#: The counts ``own.OwnFleet`` tracks (``_Counted``).
OWN_TRACKS = ("track_preprocess_calls", "track_predict_calls", "track_fit_calls", "track_rows_trained")
#: Every benchmark of ``own.OwnFleetGrid`` that ``mlupdate bench`` runs.
OWN_NAMES = [f"own.OwnFleetGrid.{m}" for m in ("time_update", "peakmem_update", *OWN_TRACKS)]


def registry_path(project: Path) -> Path:
    return Path(project) / ".asv" / "own" / "fleets.json"


def environment_key() -> str:
    """The environment (its resolved prefix), Python and scikit-learn that stored a fleet: only they may
    load its pickle. The prefix, not ``sys.executable``: ``.venv/bin/python`` and ``.venv/bin/python3``
    (the console scripts' interpreter) are one environment."""
    prefix = Path(sys.prefix).resolve()
    return f"{prefix} (Python {sys.version.split()[0]}, scikit-learn {sklearn.__version__})"


def _upgraded(environment: str) -> str:
    """A key stored before keys named the prefix (``<prefix>/bin/python3 (...)``), as a prefix key."""
    where, sep, rest = environment.partition(" (")
    exe = Path(where)
    if sep and exe.parent.name == "bin" and exe.name.startswith("python"):
        return f"{exe.parent.parent.resolve()}{sep}{rest}"
    return environment


@dataclass
class OwnFleetEntry:
    """One registered fleet: where it came from, what it holds, and how it is updated."""

    id: str
    bundle: str
    data: str
    data_sha256: str
    models: str | None
    models_sha256: str | None
    targets: list[str]
    n_models: int
    n_batches: int
    strategy: str
    order: str
    executor: str
    environment: str
    rows_per_batch: int | None = None  # the mean rows of a new batch: what the cost model's counts assume
    history_rows: int | None = None
    grid_models: list[int] | None = None  # the sizes own.OwnFleetGrid measures (None: an older entry)
    grid_batches: list[int] | None = None


def _name(text: str) -> str:
    if not re.fullmatch(r"[A-Za-z0-9_.-]{1,40}", text):
        raise DataFileError(f"--name {text!r}: use 1-40 letters, digits, '.', '_' or '-'")
    return text


def register(
    project: Path,
    data: Path,
    models: Path | None,
    targets: list[str] | None,
    *,
    name: str | None = None,
    batch_column: str = "batch",
    estimators: str = "mixed",
    strategy: str = "full",
    order: str = "batch-major",
    executor: str = "serial",
    progress: bool | None = False,
    select: Sequence[str] = (),
    exclude: Sequence[str] = (),
    history_batches: int = 1,
    sizes: tuple[Sequence[int], Sequence[int]] | None = None,
    validation_batches: int = 0,
) -> OwnFleetEntry:
    """Check and deploy a fleet from files, store it, and list it for ``own.OwnFleet``
    (``select``, ``exclude``, ``history_batches``: :func:`~mlupdate.datafiles.read_data`'s; ``sizes``:
    the models and batches own.OwnFleetGrid measures, default :func:`fleet_sizes`). Everything is
    checked before anything is written."""
    name = _name(name or Path(data).stem)
    fleet, own = own_fleet(
        data,
        models,
        targets,
        batch_column,
        lambda m: make_estimators(m, estimators),
        progress=progress,
        strategy=strategy,
        select=select,
        exclude=exclude,
        history_batches=history_batches,
        validation_batches=validation_batches,
    )
    if select or exclude or history_batches != 1 or validation_batches:  # the same files read another way
        chosen = json.dumps([own.features, history_batches, validation_batches]).encode()
        name = f"{name}-{hashlib.sha256(chosen).hexdigest()[:6]}"
    grid = (
        fleet_sizes(fleet.n_models, sizes[0] if sizes else None, "models"),
        fleet_sizes(len(own.batches), sizes[1] if sizes else None, "batches"),
    )
    data_sha = content_hash(data)
    models_sha = content_hash(models) if models is not None else None
    models_tag = models_sha[:8] if models_sha else f"default-{estimators}"
    fleet_id = f"{name}:{data_sha[:8]}:{models_tag}:{strategy}/{order}/{executor}"
    store = registry_path(project).parent
    store.mkdir(parents=True, exist_ok=True)
    bundle = store / f"{re.sub(r'[^A-Za-z0-9_.-]', '_', fleet_id)}.joblib"
    joblib.dump({"fleet": fleet, "batches": own.batches, "holdout": own.holdout}, bundle)
    entry = OwnFleetEntry(
        fleet_id,
        bundle.name,
        str(data),
        data_sha,
        None if models is None else str(models),
        models_sha,
        own.targets,
        fleet.n_models,
        len(own.batches),
        strategy,
        order,
        executor,
        environment_key(),
        round(sum(len(x) for x, _ in own.batches) / len(own.batches)),
        len(own.history[0]),
        *grid,
    )
    registry = _read(registry_path(project))
    _upgrade_keys(project, registry)
    registry[fleet_id] = asdict(entry)
    registry_path(project).write_text(json.dumps(registry, indent=2, sort_keys=True))
    forget_suite(Path(project) / "benchmarks")  # own.py reads the registry when it is imported
    return entry


def fleet_entries(project: Path, ids: Sequence[str]) -> list[OwnFleetEntry]:
    """The registered fleets ``ids``; a :class:`~mlupdate.errors.UsageError` naming an unknown one."""
    registry = _read(registry_path(project))
    _upgrade_keys(project, registry)
    for fleet_id in ids:
        if fleet_id not in registry:
            known = ", ".join(sorted(registry)) or "none (register one with `mlupdate bench --data FILE`)"
            raise UsageError(f"--fleet {fleet_id!r} is not a registered fleet; registered: {known}")
    return [OwnFleetEntry(**registry[i]) for i in ids]


def require_this_environment(entries: Sequence[OwnFleetEntry]) -> None:
    """Refuse to measure a fleet stored by another environment: its cells would all be n/a there."""
    here = environment_key()
    for entry in entries:
        if entry.environment != here:
            raise UsageError(
                f"fleet {entry.id!r} was stored by {entry.environment}; it can be measured only there, "
                f"not in {here} (run mlupdate with that Python, or `mlupdate bench` the fleet here)"
            )


def _read(path: Path) -> dict:
    return json.loads(path.read_text()) if path.exists() else {}


def _upgrade_keys(project: Path, registry: dict) -> None:
    """Rewrite older entries' environment keys in place (``own.py`` compares them as stored)."""
    changed = False
    for entry in registry.values():
        new = _upgraded(entry["environment"])
        changed |= new != entry["environment"]
        entry["environment"] = new
    if changed:
        path = registry_path(project)
        temporary = path.with_suffix(".json.tmp")
        temporary.write_text(json.dumps(registry, indent=2, sort_keys=True))
        temporary.replace(path)


def project_commit(project: Path, shown: Path | None = None) -> str:
    """The commit an own-fleet run is recorded on: ``HEAD`` of the mlupdate checkout ``project``.

    ``shown`` is how the user named the project, for the message.
    """
    shown = project if shown is None else shown
    if not (project / "asv.conf.json").is_file() or not (project / "benchmarks" / "own.py").is_file():
        raise UsageError(f"--project {shown}: not an mlupdate checkout (no asv.conf.json and benchmarks/own.py)")
    commit = head_commit(project)
    if commit is None:
        raise UsageError(f"--project {shown}: not a git checkout with a commit to record the results on")
    return commit


def fleet_sizes(total: int, chosen: Sequence[int] | None = None, what: str = "models") -> list[int]:
    """The sizes own.OwnFleetGrid measures along one axis: ``chosen`` (each within ``total``), or
    the powers of 2 below ``total`` and ``total`` itself (1, 2, 4, ..., total)."""
    if chosen:
        bad = [k for k in chosen if not 1 <= k <= total]
        if bad:
            raise UsageError(f"--sizes: {bad[0]} {what} is not within the fleet's 1..{total}")
        return sorted(set(chosen))
    out = [1 << i for i in range(total.bit_length()) if 1 << i < total]
    return [*out, total]


def _grid(entry: OwnFleetEntry) -> list[tuple[int, int]]:
    return [(m, n) for m in entry.grid_models or () for n in entry.grid_batches or ()]


def grid_cells(entry: OwnFleetEntry, chosen: Selection | None = None) -> int:
    """How many cells ``mlupdate bench`` measures for the fleet: its grid (within its size) for
    each benchmark, or those of them ``chosen`` (:func:`own_selection`) selects."""
    if chosen is None:
        return len(_grid(entry)) * len(OWN_NAMES)
    labels = [(name, f"{name}({entry.id!r}, {m}, {n})") for name in chosen.names for m, n in _grid(entry)]
    return sum(chosen.wants(label, name) for name, label in labels)


def own_selection(entry: OwnFleetEntry, patterns: Sequence[str]) -> Selection:
    """asv's ``-b`` (``--bench``) over ``own.OwnFleetGrid``'s benchmarks and this fleet's cells
    (``own.OwnFleetGrid.time_update('<fleet id>', m, n)``); a pattern that matches none is a
    :class:`~mlupdate.errors.UsageError`, before anything is measured."""
    return selection_of(
        OWN_NAMES,
        lambda name: [f"{name}({entry.id!r}, {m}, {n})" for m, n in _grid(entry)],
        patterns,
        f"{OWN_NAMES[0]}({entry.id!r}, 1, 1)",
    )


def run_bench(project: Path, entry: OwnFleetEntry, commit: str, chosen: Selection | None = None):
    """``own.OwnFleetGrid`` for one fleet in two replicas side by side, in this Python, recorded on
    ``commit``: the cells ``chosen`` selects (:func:`own_selection`; all of them by default).

    Only the fleet's own grid runs (:func:`grid_cells`): the other fleets' sizes are n/a for it.
    A fleet updated by worker pools needs both cores, so its cells run alone.
    Returns the result file and the run (:func:`~mlupdate.bench.runner.side_by_side.run_replicas`).
    """
    from ..runner.side_by_side import run_replicas

    asv = asv_command()
    machine = subprocess.run([*asv, "machine", "--yes"], cwd=project, capture_output=True, text=True)
    if machine.returncode != 0:
        cause = first_line(machine.stderr, last=True) or "no output"
        raise RuntimeError(f"asv machine --yes exited with status {machine.returncode}: {cause}")

    chosen = own_selection(entry, ()) if chosen is None else chosen

    def mine(cell) -> bool:
        fleet, m, n = (ast.literal_eval(p) for p in cell.params)
        in_grid = fleet == entry.id and m in (entry.grid_models or ()) and n in (entry.grid_batches or ())
        return in_grid and chosen.wants(cell.label, cell.name)

    alone = [r".*"] if entry.executor != "serial" else []
    return run_replicas(project, commit, list(chosen.names), existing=True, only=mine, alone=alone)
