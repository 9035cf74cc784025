"""Ten same-code nights and three real changes, one real ``mlupdate nightly`` per commit.

    python tools/measure_steps.py /tmp/steps           # the whole story (about 40 min here)
    python tools/measure_steps.py /tmp/steps --report  # its summary again, from the stored steps
    python tools/measure_steps.py /tmp/same --same-code  # twelve text-only commits: the bias check

Builds a scratch clone of this checkout with a bare remote for the results branch, then,
one nightly run per commit: the first night, three text-only commits, a commit that
slows every stage call by 10% (busy-waiting), two text-only, a commit that adds 2.5 ms
to every refit (one stage: cells with few batches per model slow by 5% or more, the
others by less), four text-only, the strategy change (``full`` refits after every
batch), one text-only. The nights run the subset ``--bench``/``--cells`` below with the
nightly's defaults. The nightly runs from a snapshot of this checkout's ``mlupdate``
installed in a venv of its own, so that editing the checkout cannot change a running
story. At the end, the unpaired run the nightly made before steps existed (two replicas
of one commit side by side: :func:`~mlupdate.bench.runner.side_by_side.run_replicas`) is timed on
the same cells for three of the commits, for the wall-time ratio.

With ``--same-code`` every one of the twelve commits changes text only: nothing may move.

The report: per night its wall time and exit status; per step the series levels,
exponent deltas, what moved and what was confirmed; the chained level of each series;
the expected slowdown of each cell under the fit change (from the cells' stage shares);
and over the text-only steps, the bias check: each series' mean level with its t, and
the effect on the log ratio of BASE's core, of BASE starting first and of the cell's
position in the round (:func:`~mlupdate.bench.stats.seat_effects`), and the mean per
round index.
"""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BENCH = [r"growth\.QuadraticDiagonal\.time_update", r"growth\.GrowthGrid\.time_update"]
CELLS = ["QuadraticDiagonal", r"GrowthGrid\.time_update\((4|16), (1|4|16), 'serial'\)"]
MACHINE = "steps"

ALL_TEN = (
    "mlupdate/report.py",
    "        finally:\n            self.seconds[stage] += time.perf_counter() - start\n",
    "        finally:\n            _spent = time.perf_counter() - start\n            _until = time.perf_counter() + 0.1 * _spent\n"
    "            while time.perf_counter() < _until:\n                pass\n            self.seconds[stage] += time.perf_counter() - start\n",
)
FIT = (
    "mlupdate/strategies.py",
    '    fitted = stages.call("fit", clone(estimator).fit, X, y)\n',
    '    fitted = stages.call("fit", clone(estimator).fit, X, y)\n    _until = __import__("time").perf_counter() + 0.0025\n'
    '    while __import__("time").perf_counter() < _until:\n        pass\n',
)
STRATEGY = (
    "mlupdate/strategies.py",
    '        return {"fit": m, "partial_fit": 0, "rows_trained": m * (history_rows + n * rows)}\n',
    "        trained = sum(history_rows + i * rows for i in range(1, n + 1))\n"
    '        return {"fit": m * n, "partial_fit": 0, "rows_trained": m * trained}\n\n'
    "    def retrain_model(self, model, data, new_r2, stages):\n        fitted = None\n"
    "        for i in range(1, len(data.X_new) + 1):\n"
    "            part = TrainingData(data.X_history, data.y_history, data.X_new[:i], data.y_new[:i])\n"
    "            fitted = _refit(model.estimator, part, stages)\n        return fitted\n",
)
SAME_CODE = ["text"] * 12
STORY = (
    ["text"] * 3
    + [("all stage calls 10% slower", ALL_TEN)]
    + ["text"] * 2
    + [("every refit 2.5 ms slower", FIT)]
    + ["text"] * 4
    + [("full refits after every batch", STRATEGY)]
    + ["text"]
)


def sh(*args, cwd=None, **kw) -> str:
    return subprocess.run(list(map(str, args)), cwd=cwd, check=True, capture_output=True, text=True, **kw).stdout


def setup(work: Path) -> Path:
    """The scratch clone, its bare remote, and the venv with a snapshot of this checkout's mlupdate."""
    dev, venv = work / "dev", work / "venv"
    sh("git", "clone", "-q", ROOT, dev)
    sh("git", "checkout", "-q", "main", cwd=dev)
    sh("git", "config", "user.email", "steps@example.invalid", cwd=dev)
    sh("git", "config", "user.name", "steps", cwd=dev)
    sh("git", "clone", "-q", "--bare", dev, work / "remote.git")
    sh(sys.executable, "-m", "venv", venv)
    site = next((venv / "lib").glob("python3*")) / "site-packages"
    deps = next(p for p in map(Path, sys.path) if p.name == "site-packages" and (p / "sklearn").is_dir())
    (site / "checkout-deps.pth").write_text(f"{deps}\n")  # this venv's packages, not its editable mlupdate
    archive = subprocess.run(["git", "archive", "HEAD", "mlupdate"], cwd=ROOT, check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(site)], input=archive, check=True)
    return venv / "bin" / "python"


def night(work: Path, python: Path, tag: str) -> dict:
    cmd = [
        python,
        "-m",
        "mlupdate",
        "nightly",
        "--project",
        work / "dev",
        "--remote",
        work / "remote.git",
        "--out",
        work / "site",
        "--machine",
        MACHINE,
        "--max-commits",
        "3",
        "--budget",
        "30",
    ]
    for b in BENCH:
        cmd += ["--bench", b]
    for c in CELLS:
        cmd += ["--cells", c]
    started = time.monotonic()
    with open(work / "nights" / f"{tag}.log", "w") as log:
        rc = subprocess.run(list(map(str, cmd)), cwd="/", stdout=log, stderr=subprocess.STDOUT).returncode
    row = {
        "night": tag,
        "rc": rc,
        "wall": time.monotonic() - started,
        "head": sh("git", "rev-parse", "HEAD", cwd=work / "dev").strip(),
    }
    print(json.dumps(row), flush=True)
    return row


def commit(dev: Path, i: int, what) -> str:
    if what == "text":
        with open(dev / "CHANGES.txt", "a") as f:
            f.write(f"night {i}: text only\n")
        message = f"CHANGES: night {i} (text only)"
    else:
        message, (path, old, new) = what
        text = (dev / path).read_text()
        assert old in text, f"{path} no longer has the line this change edits"
        (dev / path).write_text(text.replace(old, new, 1))
    sh("git", "add", "-A", cwd=dev)
    sh("git", "commit", "-qm", message, cwd=dev)
    return sh("git", "rev-parse", "HEAD", cwd=dev).strip()


def time_unpaired(work: Path, python: Path, commits: list[str]) -> list[float]:
    """Seconds of the pre-steps nightly's measurement of one commit (two replicas side by side)."""
    script = (
        "import sys, time\nfrom pathlib import Path\nfrom mlupdate.bench.runner.side_by_side import run_replicas\n"
        "from mlupdate.bench.suite.catalog import discover, select\nimport re\n"
        f"bench, cells = {BENCH!r}, {CELLS!r}\n"
        "p = Path(sys.argv[1]); names = select(discover(p), bench)\n"
        "t = time.monotonic()\n"
        "run_replicas(p, sys.argv[2], names, machine='unpaired', results_dir=Path(sys.argv[3]),"
        " only=lambda c: any(re.search(x, c.label) for x in cells))\n"
        "print(time.monotonic() - t)\n"
    )
    out = []
    for c in commits:
        done = sh(python, "-c", script, work / "dev", c, work / "unpaired", cwd="/")
        out.append(float(done.strip().splitlines()[-1]))
        print(json.dumps({"unpaired": c[:8], "seconds": out[-1]}), flush=True)
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("work", type=Path)
    ap.add_argument("--report", action="store_true", help="only print the report of an earlier story in WORK")
    ap.add_argument("--same-code", action="store_true", help="twelve text-only commits (the bias check)")
    args = ap.parse_args()
    story = SAME_CODE if args.same_code else STORY
    work = args.work.resolve()
    if not args.report:
        if work.exists() and any(work.iterdir()):
            sys.exit(f"{work} is not empty: give a new folder")
        (work / "nights").mkdir(parents=True)
        python = setup(work)
        rows = [night(work, python, "00-first")]
        changes = {}
        for i, what in enumerate(story, 1):
            head = commit(work / "dev", i, what)
            if what != "text":
                changes[head] = what[0]
            rows.append(night(work, python, f"{i:02d}-{'text' if what == 'text' else 'change'}"))
        unpaired = [] if args.same_code else time_unpaired(work, python, [r["head"] for r in rows[1:4]])
        (work / "story.json").write_text(json.dumps({"nights": rows, "changes": changes, "unpaired": unpaired}))
    report(work)
    return 0


def _reread(doc: dict) -> dict:
    """A step whose cells' confirmations were asked for the wrong direction by the story's code (a
    cell its series' exponent sent took the exponent's sign): re-read from the stored 99% interval
    the way the cell's own step went, as the code does now (confirmed: beyond the threshold that
    way, and the interval excludes no change)."""
    bound = 1 + doc.get("threshold", 0.05)
    for c in doc.get("cells", []):
        cf = c.get("confirm") or {}
        if "direction" in cf or cf.get("low") is None or c["moved"]:
            continue
        up = c["ratio"]["value"] >= 1
        confirmed = cf["value"] >= bound and cf["low"] > 1 if up else cf["value"] <= 1 / bound and cf["high"] < 1
        if confirmed != (cf["verdict"] == "confirmed"):
            c["confirm"] = cf | {"verdict": "confirmed" if confirmed else "open", "reread": cf["verdict"]}
    return doc


def report(work: Path) -> None:
    """The story's figures, judged by this checkout's code (``changes_of``, the chaining): the stored
    steps keep every round, so a judgement changed since the story ran reads them the new way."""
    sys.path.insert(0, str(ROOT))
    from mlupdate.bench.results.step_files import changes_of, read_steps
    from mlupdate.bench.scaling.chain import tracks

    story = json.loads((work / "story.json").read_text())
    docs = read_steps(work / "dev" / ".asv" / "nightly" / "results", MACHINE)
    print("night         rc  wall s")
    for r in story["nights"]:
        print(f"{r['night']:12s} {r['rc']:3d} {r['wall']:7.1f}  {r['head'][:8]}  {story['changes'].get(r['head'], '')}")
    print("steps (confirm: fresh rounds; an anchor's confirmation rounds are what the final code no longer runs):")
    for d in docs:
        if d["kind"] == "first":
            continue
        levels = " ".join(
            f"{s['series'].split('.')[1][:4]} {(s['ratio']['value'] - 1) * 100:+.1f}%" for s in d["series"]
        )
        moved = [
            f"{c['params']}{(c['ratio']['value'] - 1) * 100:+.0f}%->{(c['confirm'] or {}).get('verdict')}"
            for c in d["cells"]
            if c["moved"]
        ]
        confirmed, unconfirmed = changes_of(_reread(d))
        what = story["changes"].get(d["head"], "text") if d["kind"] == "step" else "anchor"
        print(
            f"  {d['kind']:6s} {d['head'][:8]} ({what}) {d['seconds']:4.0f}s r{d['rounds']}+{d['confirm_rounds']} "
            f"{levels} | moved {moved} | confirmed {len(confirmed)}: {confirmed} | unconfirmed {unconfirmed}"
        )
    for t in tracks(docs):
        if t.what == "level" or t.what.startswith(("exponent", "unit")):
            read = (
                (lambda v: f"{(math.exp(v) - 1) * 100:+.1f}%")
                if t.what != "exponent p" and not t.what.startswith("exponent")
                else (lambda v: f"{v:+.3f}")
            )
            shown = " ".join(read(p.value) + ("*" if p.change else "") + ("a" if p.anchored else "") for p in t.points)
            print(f"chained {t.series} {t.what}: {shown}")
    bias_report([d for d in docs if d["kind"] == "step" and d["head"] not in story["changes"]])
    unpaired = story.get("unpaired") or []
    if unpaired:
        print(f"unpaired run of one commit (two replicas side by side): {', '.join(f'{u:.0f}' for u in unpaired)} s")
    fit_change = next((h for h, w in story["changes"].items() if w.startswith("every refit")), None)
    for d in docs:
        if d["kind"] == "step" and d["head"] == fit_change:
            print("fit change, per cell: expected (2.5 ms x fits / BASE time), measured, confirmed?")
            for c in d["cells"]:
                fits = int(c["params"][0])  # m models (GrowthGrid) or k (the diagonal): one refit each
                expected = 0.0025 * fits / (sum(c["base"]) / len(c["base"]))
                verdict = (c.get("confirm") or {}).get("verdict", "-")
                print(f"  {c['params']}: {expected * 100:+.1f}%  {(c['ratio']['value'] - 1) * 100:+.1f}%  {verdict}")


def bias_report(docs: list[dict]) -> None:
    """Over same-code steps: each series' mean level and t; the seat effects and the round means."""
    from mlupdate.bench.results.step_files import level_of

    if len(docs) < 2:
        return
    print(f"bias over {len(docs)} text-only steps:")
    levels: dict[str, list[float]] = {}
    published: dict[str, list[float]] = {}  # the level a step publishes: its fresh rounds' where it moved
    for d in docs:
        for s in d["series"]:
            levels.setdefault(s["series"], []).append(math.log(s["ratio"]["value"]))
            published.setdefault(s["series"], []).append(math.log(level_of(s)["value"]))
    for what, values in (("level", levels), ("published level", published)):
        for key, v in values.items():
            mean, sd = sum(v) / len(v), (sum((x - sum(v) / len(v)) ** 2 for x in v) / max(len(v) - 1, 1)) ** 0.5
            t = mean / (sd / len(v) ** 0.5) if sd > 0 else float("nan")
            print(
                f"  {what} {key}: mean {(math.exp(mean) - 1) * 100:+.2f}% (sd {sd * 100:.2f}%, t {t:+.2f}, n {len(v)})"
            )
    print(f"  rounds per step: {', '.join(str(d['rounds']) for d in docs)}")
    for line in folder_report(docs):
        print(f"  {line}")
    scatter = cell_scatter(docs)
    print(f"  a cell's log ratio per round, sd over the steps: {min(scatter):.3f}-{max(scatter):.3f}")
    rows = []
    for d in docs:
        for c in d["cells"]:
            logs = [math.log(h / b) for b, h in zip(c["base"], c["head"], strict=True)]
            cell = f"{d['head'][:8]} {c['benchmark']}{c['params']}"
            rows += seated_rows(cell, logs, c.get("seats") or [], run=d["head"])
    if not rows:
        print("  (no seats stored: steps measured before the balanced design)")
        return
    for name, text in by_seat(rows).items():
        print(f"  {name}: {text}")


def folder_report(docs: list[dict]) -> list[str]:
    """Each series' level by the environment folder BASE was drawn (``design.folders``), and the
    difference's Welch t: a folder's own layout would read as a difference here, not in the seats
    (which are per round, inside one step)."""
    from scipy import stats

    by_series: dict[str, list[list[float]]] = {}
    for d in docs:
        folder = (d.get("design") or {}).get("folders", [None])[0]
        for s in d["series"] if folder is not None else ():
            by_series.setdefault(s["series"], [[], []])[folder].append(math.log(s["ratio"]["value"]))
    out = []
    for key, groups in by_series.items():
        means = [
            f"BASE in folder {k}: {math.expm1(sum(g) / len(g)) * 100:+.2f}% (n {len(g)})"
            for k, g in enumerate(groups)
            if g
        ]
        line = f"level {key} by folder: " + ", ".join(means)
        if min(len(g) for g in groups) >= 2:
            t, p = stats.ttest_ind(groups[0], groups[1], equal_var=False)
            line += f"; difference t {t:+.2f}, p {p:.2g}"
        out.append(line)
    return out or ["(level by environment folder: no folders recorded, steps measured before the draw)"]


def cell_scatter(docs: list[dict]) -> list[float]:
    """Per cell, the sd of its log ratio per round around each step's own mean, pooled over ``docs``."""
    pooled: dict[str, list[float]] = {}
    for d in docs:
        for c in d["cells"]:
            logs = [math.log(h / b) for b, h in zip(c["base"], c["head"], strict=True)]
            mean = sum(logs) / len(logs)
            ss, df = pooled.setdefault(f"{c['benchmark']}{c['params']}", [0.0, 0.0])
            pooled[f"{c['benchmark']}{c['params']}"] = [ss + sum((x - mean) ** 2 for x in logs), df + len(logs) - 1]
    return [(ss / df) ** 0.5 for ss, df in pooled.values() if df > 0]


def seated_rows(cell: str, logs: list[float], seats: list[list[int]], run: str = "") -> list:
    """One :class:`~mlupdate.bench.stats.SeatedRound` per round of a cell whose every round has its
    seat (``[round, core of BASE, side started first, position, of]``); none otherwise. ``run``:
    which run (a step's commit) the rounds belong to, so that two steps' round 0 are two rounds."""
    from mlupdate.bench.stats import SeatedRound

    if not seats or len(seats) != len(logs):
        return []  # measured before the seats were stored
    first_core = min(seat[1] for seat in seats)
    return [
        SeatedRound(cell, log, rnd, core == first_core, first == 0, pos / max(of - 1, 1), run)
        for (rnd, core, first, pos, of), log in zip(seats, logs, strict=True)
    ]


def by_seat(rows: list) -> dict[str, str]:
    """``seat_effects`` and ``round_means`` of ``rows``, each as ``+1.23% (t +0.45, 5 df, p 0.67)``:
    core and start over the rounds, so their degrees of freedom are the rounds'."""
    from scipy import stats

    from mlupdate.bench.stats import round_means, seat_effects

    def pct(e) -> str:
        t = e.mean / e.se
        return f"{math.expm1(e.mean) * 100:+.2f}% (t {t:+.2f}, {e.df:.0f} df, p {2 * stats.t.sf(abs(t), e.df):.2g})"

    out = {f"seat {name}": pct(e) for name, e in seat_effects(rows).items()}
    out |= {f"round {k}": f"{pct(e)}, {e.df + 1:.0f} cell rounds" for k, e in round_means(rows).items()}
    return out


if __name__ == "__main__":
    raise SystemExit(main())
