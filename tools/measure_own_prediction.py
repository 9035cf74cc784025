"""Your own fleet's predicted cost against a real run, on a real dataset a package ships.

    pip install -e '.[examples]'                     # vega_datasets: us_employment ships with it
    python tools/measure_own_prediction.py /tmp/own  # writes the data, benches it, predicts, runs

vega_datasets' ``us_employment``: 23 employment series, monthly 2006-2015, one model
per series (Ridge), one batch per year; the features are the month's index and its
month of the year. ``mlupdate bench`` measures the fleet on its own grid (here m in 1,
2, 4, 8, 16, 23 and n in 1, 2, 4, 8), then ``mlupdate scaling predict --fleet``
predicts a size the grid did not measure (12 models x 6 batches), and ``mlupdate run``
times that size for real, 9 times; the report is their ratio. Run it in a checkout:
``bench`` records on the current commit and publishes the site.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SIZE = (12, 6)  # not on the grid: 12 is not a power of 2, 6 new batches neither


def write_data(folder: Path) -> tuple[Path, list[str]]:
    import pandas as pd
    from vega_datasets import data

    df = data.us_employment()
    df["month"] = pd.to_datetime(df["month"])
    targets = [c for c in df.columns if c != "month"]
    df["t"] = range(len(df))
    df["month_of_year"] = df["month"].dt.month
    df["batch"] = df["month"].dt.year
    out = df.drop(columns="month")
    path = folder / "us_employment.csv"
    out.to_csv(path, index=False)
    return path, targets


def mlupdate(*args: str) -> subprocess.CompletedProcess:
    done = subprocess.run([sys.executable, "-m", "mlupdate", *args], cwd=ROOT, capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"mlupdate {' '.join(args[:2])} failed ({done.returncode}): {done.stderr.strip()[-800:]}")
    return done


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("work", type=Path)
    ap.add_argument("--runs", type=int, default=9)
    args = ap.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    path, targets = write_data(args.work)
    common = ["--data", str(path), "--targets", ",".join(targets), "--estimators", "ridge"]
    mlupdate("bench", *common, "--name", "us-employment")
    registry = json.loads((ROOT / ".asv" / "own" / "fleets.json").read_text())
    fleet_id = max((i for i in registry if i.startswith("us-employment:")), key=lambda i: i)
    entry = registry[fleet_id]
    m, n = SIZE
    assert m not in entry["grid_models"] and n not in entry["grid_batches"], "the size must be off the grid"
    (row,) = json.loads(mlupdate("scaling", "predict", f"{m}x{n}", "--fleet", fleet_id, "--json").stdout)
    # the real run: the first m series, the first n new batches (history, n batches, the last batch as holdout)
    import pandas as pd

    df = pd.read_csv(path)
    years = sorted(df.batch.unique())
    keep = years[: 1 + n] + years[-1:]
    small = args.work / "small.csv"
    df[df.batch.isin(keep)][["t", "month_of_year", "batch", *targets[:m]]].to_csv(small, index=False)
    walls = []
    for _ in range(args.runs):
        out = mlupdate(
            "run",
            "--data",
            str(small),
            "--targets",
            ",".join(targets[:m]),
            "--estimators",
            "ridge",
            "--order",
            entry["order"],
            "--json",
        )
        walls.append(json.loads(out.stdout)["wall_seconds"])
    real = statistics.median(walls)
    print(f"fleet {fleet_id}: grid m {entry['grid_models']} x n {entry['grid_batches']}")
    print(
        f"{m}x{n}: predicted {row['seconds'] * 1e3:.2f} ms [{row['low'] * 1e3:.2f}, {row['high'] * 1e3:.2f}], "
        f"real {real * 1e3:.2f} ms (median of {args.runs} runs' wall_seconds; "
        f"{min(walls) * 1e3:.2f}-{max(walls) * 1e3:.2f}); predicted/real {row['seconds'] / real:.3f}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
