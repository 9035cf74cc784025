"""The scaling page's plots (matplotlib, written as PNG files beside the page)."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import numpy as np

from ...errors import MissingDependency
from ..scaling.exponents import SeriesFit, sizes_by_exponent

__all__ = ["SHARE_KS", "history_plots", "latest_plots", "pyplot", "save_png", "share_plots"]

#: m = n = k for the term-share plots: where the m*n term takes over.
SHARE_KS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1000)


def pyplot():
    """matplotlib's pyplot on the file-only Agg backend, or say how to install it."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise MissingDependency("the scaling report's plots need matplotlib: pip install 'mlupdate[bench]'") from None
    return plt


def save_png(fig, out_dir: Path, name: str) -> str:
    """Save ``fig`` as ``out_dir/name`` (tight layout) and close it; returns ``name``."""
    plt = pyplot()

    fig.tight_layout()
    fig.savefig(out_dir / name, dpi=90)
    plt.close(fig)
    return name


def latest_plots(latest: list[SeriesFit], commit: str, out_dir: Path) -> list[tuple[str, str]]:
    """Log-log curves of each fitted timing series of the newest commit, with its model."""
    plt = pyplot()

    images = []
    for i, f in enumerate(x for x in latest if x.fit):
        s = f.series
        sizes, t = sizes_by_exponent(s), s.arrays()[1]
        fig, ax = plt.subplots(figsize=(5.5, 4))
        xname = "a" if "a" in sizes else "p"
        other = [k for k in sizes if k != xname]
        groups = sorted(set(sizes[other[0]])) if other else [None]
        for g in groups:
            mask = np.ones(len(t), bool) if g is None else sizes[other[0]] == g
            xs = sizes[xname][mask]
            order = np.argsort(xs)
            label = None if g is None else f"n_batches={int(g)}"
            line = ax.plot(xs[order], t[mask][order], "o", label=label)[0]
            grid = np.geomspace(xs.min(), xs.max(), 50)
            pred_sizes = {xname: grid} | ({other[0]: np.full(50, g)} if other else {})
            ax.plot(grid, f.fit.predict(pred_sizes), "-", color=line.get_color(), alpha=0.7)
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_xlabel("n_models" if xname == "a" else "k (= n_models = n_batches)")
        ax.set_ylabel("seconds")
        exps = ", ".join(f"{k}={v:.2f}" for k, v in f.fit.exponents.items())
        ax.set_title(f"{s.key}\n{exps}", fontsize=8)
        if other:
            ax.legend(fontsize=6)
        images.append(
            (save_png(fig, out_dir, f"latest_{i}.png"), f"{s.key} at {commit[:8]}: points measured, lines fitted")
        )
    return images


def history_plots(commits: list[tuple[str, list[SeriesFit]]], out_dir: Path) -> list[tuple[str, str]]:
    """Each exponent over the commits, with its interval band."""
    plt = pyplot()

    history: dict[str, list[tuple[int, str, str, float, tuple[float, float]]]] = defaultdict(list)
    for commit, group in commits:
        for f in group:
            if f.fit:
                for k, v in f.fit.exponents.items():
                    history[f.series.key].append((f.series.date, commit, k, v, f.fit.intervals[k]))
    images = []
    for i, (key, points) in enumerate(sorted(history.items())):
        fig, ax = plt.subplots(figsize=(5.5, 3))
        for k in sorted({p[2] for p in points}):
            pts = [p for p in points if p[2] == k]
            x = np.arange(len(pts))
            ax.plot(x, [p[3] for p in pts], "o-", label=k)
            ax.fill_between(x, [p[4][0] for p in pts], [p[4][1] for p in pts], alpha=0.25)
            ax.set_xticks(x, [p[1][:7] for p in pts], rotation=45, fontsize=6)
        ax.set_ylabel("exponent")
        ax.set_title(key, fontsize=8)
        ax.legend(fontsize=7)
        images.append((save_png(fig, out_dir, f"history_{i}.png"), f"exponent history of {key} (95% bootstrap bands)"))
    return images


def share_plots(models, out_dir: Path) -> list[tuple[str, str]]:
    """Per cost model, each term's share of the predicted time as m = n = k grows: ``(file, caption)``."""
    plt = pyplot()
    images = []
    for i, sc in enumerate(models):
        shares = [sc.model.shares(k, k) for k in SHARE_KS]
        fig, ax = plt.subplots(figsize=(7.5, 3))
        ax.stackplot(SHARE_KS, *[[sh[name] for sh in shares] for name in shares[0]], labels=list(shares[0]))
        ax.set_xscale("log")
        ax.set_xlabel("k (= n_models = n_batches)")
        ax.set_ylabel("share of predicted time")
        ax.set_title(sc.model.series, fontsize=8)
        ax.legend(fontsize=6, loc="upper left", bbox_to_anchor=(1.01, 1.0))
        images.append(
            (
                save_png(fig, out_dir, f"shares_{i}.png"),
                f"{sc.model.series}: each term's share of the time as m = n = k grows",
            )
        )
    return images
