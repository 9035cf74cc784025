"""How far asv's graph strays where the Steps page says nothing moved, by how a step publishes HEAD.

    python tools/published_spikes.py CHECKOUT/.asv/nightly/results/steps/MACHINE

Reads a nightly's step files (the first commit's plain run, then its steps in order) and replays
what each rule would have published for every timed cell, starting from BASE's median in the
first step:

- ``raw``: HEAD's own median in its step (what a step published before);
- ``cell``: BASE's published value times the cell's own paired ratio in the step;
- ``published``: BASE's published value times :func:`mlupdate.bench.nightly.step.published_ratios`
  (a confirmed change's own ratio, else its series' level): what a step publishes now.

For each rule: over the cells, the median of each cell's largest departure from its own median over
the commits, how many cells depart by more than 15%, and the worst. Run it on same-code nights.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from mlupdate.bench.nightly.step import published_ratios
from mlupdate.bench.results.step_files import cell_label


def replay(docs: list[dict], rule: str) -> dict[str, list[float]]:
    """Each timed cell's published values over the steps in ``docs`` (in order), by ``rule``."""
    out: dict[str, list[float]] = {}
    for d in docs:
        ratios = published_ratios(d)
        for c in d["cells"]:
            if ".time_" not in c["benchmark"]:
                continue
            values = out.setdefault(cell_label(c), [float(np.median(c["base"]))])
            own = float(np.median(c["head"])) / float(np.median(c["base"]))
            if rule == "raw":
                values.append(float(np.median(c["head"])))
            else:
                values.append(values[-1] * (own if rule == "cell" else ratios[cell_label(c)]))
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("steps", type=Path, help="a machine's step folder: steps/<machine>")
    args = parser.parse_args()
    docs = [json.loads(p.read_text()) for p in args.steps.glob("*.step")]
    docs = sorted((d for d in docs if d["kind"] == "step"), key=lambda d: d["date"])
    print(f"{len(docs)} step(s): " + ", ".join(d["head"][:8] for d in docs))
    for rule in ("raw", "cell", "published"):
        worst = []
        for values in replay(docs, rule).values():
            middle = float(np.median(values))
            worst.append(max(abs(v / middle - 1) for v in values))
        print(
            f"{rule:9s} cells {len(worst)}: median largest departure {100 * np.median(worst):.1f}%, "
            f"above 15%: {sum(w > 0.15 for w in worst)}, worst {100 * max(worst):.0f}%"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
