"""The site's Steps page: what each commit did, from its paired step, and the chained history.

Per machine: the moves of every step beyond the threshold (cells, series levels,
exponents) with their intervals, the fresh confirmation and the verdict;
commits left without a step; and per series a plot of the chained level
(relative to the history's first commit) with its 95% band, anchors and
confirmed changes marked.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path

from ..results.step_files import cell_label, machines_with_steps, read_steps
from ..scaling.chain import Track, recommended_anchor_every, scaled, tracks
from ..stats import is_confirmed_change
from .plots import pyplot, save_png
from .templating import Markup, band, noisy_banner, render

__all__ = ["steps_html", "write_steps_page"]

_NO_FIGURE = "\N{EN DASH}"


def _interval(est: dict | None, percent: bool = True) -> str:
    if not est or est.get("value") is None:
        return _NO_FIGURE
    if est.get("low") is None:
        return f"{_fmt(est['value'], percent)} [unbounded]"
    return f"{_fmt(est['value'], percent)} [{_fmt(est['low'], percent)}, {_fmt(est['high'], percent)}]"


def _fmt(value: float, percent: bool) -> str:
    return f"{(value - 1) * 100:+.1f}%" if percent else f"{value:+.3f}"


def _moves(doc: dict) -> list[dict]:
    rows = []
    items = [(cell_label(c), c, c["ratio"], True) for c in doc["cells"]]
    items += [(f"{s['series']} (level)", s, s["ratio"], True) for s in doc["series"]]
    items += [(f"{e['series']} exponent {e['exponent']}", e, e["delta"], False) for e in doc["exponents"]]
    for label, item, est, percent in items:
        conf = item.get("confirm") or {}
        if not item["moved"] and conf.get("verdict") != "confirmed":
            continue  # a cell its series' move re-measured shows when its fresh rounds confirm it
        rows.append(
            {
                "label": label,
                "step": _interval(est, percent),
                "fresh": _interval(conf, percent) if "value" in conf else _NO_FIGURE,
                "rounds": conf.get("rounds", 0),
                "verdict": conf.get("verdict", "not run"),
                "status": "confirmed change" if is_confirmed_change(item) else "unconfirmed",
            }
        )
    return rows


def _commit(doc: dict, subjects: Mapping[str, str] = {}) -> dict:
    """What a commit's section shows (``sections/commit.html``)."""
    shown = {"kind": doc["kind"], "head": doc["head"][:8], "subject": subjects.get(doc["head"] or "")}
    if doc["kind"] == "first":
        return shown
    shown |= {
        "base": (doc.get("base") or "")[:8],
        "rounds": _rounds_said(doc),
        "minutes": f"{doc['seconds'] / 60:.1f}",
        "noisy": bool(doc.get("noisy")),
    }
    if doc["kind"] == "anchor":
        return shown | {"levels": [(x["series"], _interval(x["ratio"])) for x in doc["series"]]}
    return shown | {
        "skipped": doc.get("skipped") or [],
        "moves": _moves(doc),
        "threshold": f"{doc['threshold']:.0%}",
        "prices": _prices(doc),
        "instructions": _instructions(doc),
    }


def _rounds_said(doc: dict) -> str:
    """The step's paired rounds: one figure where every series ran them all; otherwise each series'
    own (a series its first rounds left undecided runs on, two at a time, up to six)."""
    said = _plural(doc["rounds"], "paired round")
    own = {s["series"]: s.get("rounds", doc["rounds"]) for s in doc.get("series", [])}
    if doc["kind"] == "anchor" or all(r == doc["rounds"] for r in own.values()):
        return said
    return f"{said} at most: " + ", ".join(f"{series} {r}" for series, r in own.items())


def _commit_section(doc: dict, subjects: Mapping[str, str] = {}) -> str:
    """One commit's section of the Steps page, as HTML."""
    return render("sections/step_commit.html", c=_commit(doc, subjects))


def _instructions(doc: dict) -> dict | None:
    """The step's second channel, labelled apart from time: each counted cell's instructions under
    callgrind, once per side. A count is exact, so what moved beyond the band is a change at once."""
    counted = doc.get("instructions")
    if not counted:
        return None
    cells, left = counted["cells"], len(counted.get("not_counted") or {})
    said = f"Instructions (callgrind, exact, band {counted['factor'] - 1:.0%}): {_plural(len(cells), 'cell')} counted"
    if left:
        said += f", {left} not counted (threads, worker processes, or too large for valgrind)"
    moved = [
        {
            "cell": cell_label(c),
            "ratio": c["ratio"],
            "verdict": c["verdict"],
            "base": f"{c['base']:,.0f}",
            "head": f"{c['head']:,.0f}",
        }
        for c in cells
        if c.get("moved")
    ]
    top = max((abs(c["ratio"] - 1) for c in cells), default=0.0)
    return {"said": said, "moved": moved, "top": f"{top:.2%}"}


def _prices(doc: dict) -> list[str]:
    """What each series with a confirmed change, or a changed count, costs now: its counts, unit costs
    and the seed's sizes on both sides (each commit priced with its own recorded counts)."""
    changed = {item.get("series") for kind in ("cells", "series", "exponents") for item in doc.get(kind, [])}
    confirmed = {
        item.get("series")
        for kind in ("cells", "series", "exponents")
        for item in doc.get(kind, [])
        if is_confirmed_change(item)
    }
    return [
        p["summary"] for p in doc.get("prices") or [] if p["counts_changed"] or (p["series"] in confirmed & changed)
    ]


def _plot(track: Track, name: str, out_dir: Path, threshold: float) -> str:
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6.4, 3.0))
    x = list(range(len(track.points)))
    read = scaled(track)
    values = [read(p.value) for p in track.points]
    bands = [tuple(read(v) for v in p.interval()) for p in track.points]
    ax.fill_between(x, [b[0] for b in bands], [b[1] for b in bands], alpha=0.25, label="95% band")
    ax.plot(x, values, marker="o", ms=3, label="chained")
    if track.what == "level":
        for y in (1 - threshold, 1 + threshold):
            ax.axhline(y, color="grey", lw=0.6, ls=":")
    for i, p in enumerate(track.points):
        if p.anchored:
            ax.plot(
                [i], [values[i]], "s", ms=6, mfc="none", mec="k", label="anchor" if i == _first(track, "a") else None
            )
        if p.change:
            ax.axvline(i, color="red", lw=1.0, label="confirmed change" if i == _first(track, "c") else None)
    ax.set_xticks(x, [p.commit[:7] for p in track.points], rotation=60, fontsize=7)
    ax.set_title(f"{track.series}: {track.what}", fontsize=8)
    ax.legend(fontsize=7)
    return save_png(fig, out_dir, name)


def _first(track: Track, kind: str) -> int:
    flags = [p.anchored if kind == "a" else p.change for p in track.points]
    return flags.index(True) if True in flags else -1


def steps_html(
    results_dir: Path, machine: str, out_dir: Path, prefix: str, subjects: Mapping[str, str] | None = None
) -> str:
    """The Steps section of one machine (plots written to ``out_dir``, named with ``prefix``;
    ``subjects``: commit subject lines by full hash)."""
    docs = read_steps(results_dir, machine, warn=lambda _: None)
    if not docs:
        return ""
    threshold = next((d["threshold"] for d in docs if "threshold" in d), 0.05)
    k = recommended_anchor_every(docs, threshold)
    levels = [t for t in tracks(docs) if t.what == "level" and len(t.points) > 1]
    images = [
        (_plot(t, f"{prefix}level-{i}.png", out_dir, threshold), f"{t.series}: chained level, last {_last(t)}")
        for i, t in enumerate(levels)
    ]
    steps = _plural(sum(d["kind"] == "step" for d in docs), "step")
    return render(
        "sections/steps_machine.html",
        machine=machine,
        counts=f"{steps}, {_plural(sum(d['kind'] == 'anchor' for d in docs), 'anchor')}",
        threshold=f"{threshold:.0%}",
        anchor_every=_plural(k, "step") if k else None,
        anchor_every_n=k,
        images=images,
        commits=[_commit(d, subjects or {}) for d in reversed(docs)],
    )


def _last(track: Track) -> str:
    p = track.points[-1]
    low, high = p.interval()
    return f"{_percent(p.value)} " + band(low, high, _percent)


def _percent(log_ratio: float) -> str:
    return f"{math.expm1(log_ratio) * 100:+.1f}%"


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def write_steps_page(results_dir: Path, out_dir: Path, subjects: Mapping[str, str] | None = None) -> Path:
    """Write ``out_dir/index.html`` (and its plots) for every machine with steps (``subjects``:
    commit subject lines by full hash, shown beside each hash)."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    body = "".join(steps_html(results_dir, m, out_dir, f"{m}-", subjects) for m in machines_with_steps(results_dir))
    noisy = {
        d["head"]: d["noisy"]
        for m in machines_with_steps(results_dir)
        for d in read_steps(results_dir, m, warn=lambda _: None)
        if d.get("noisy")
    }
    banner = noisy_banner(noisy, "their steps are shown as measured, and what they moved deserves a second look.")
    page = render("steps.html", banner=Markup(banner), body=Markup(body))
    (out_dir / "index.html").write_text(page)
    return out_dir / "index.html"
