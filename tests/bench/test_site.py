"""The offline site: vendored assets, pinned hashes, the atomic swap."""

from __future__ import annotations

import base64
import hashlib
import io
import re
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import asv
import pytest

from mlupdate.bench.site.publish import (
    ASSETS,
    NAV_SCALING,
    SiteError,
    default_cache,
    drop_unmeasured,
    replace_dir,
    vendor_assets,
)

ASV_INDEX = Path(asv.__file__).parent / "www" / "index.html"
REMOTE_LOAD = re.compile(r'<(?:script|link)\b[^>]*(?:src|href)="https?://', re.IGNORECASE)


@pytest.fixture
def html_dir(tmp_path):
    d = tmp_path / "html"
    d.mkdir()
    shutil.copy(ASV_INDEX, d / "index.html")
    return d


def test_asv_page_loads_from_cdns_before(html_dir):
    assert len(REMOTE_LOAD.findall((html_dir / "index.html").read_text())) == len(ASSETS)


def test_vendored_page_loads_nothing_from_outside(html_dir):
    written = vendor_assets(html_dir, default_cache())
    page = (html_dir / "index.html").read_text()
    assert not REMOTE_LOAD.search(page)
    assert sorted(written) == sorted(a.local for a in ASSETS)
    for asset in ASSETS:
        data = (html_dir / asset.local).read_bytes()
        assert base64.b64encode(hashlib.sha256(data).digest()).decode() == asset.sha256
        assert f'src="{asset.local}"' in page or f'href="{asset.local}"' in page
    assert page.count(NAV_SCALING) == 1
    vendor_assets(html_dir, default_cache())  # publishing twice changes nothing
    assert (html_dir / "index.html").read_text() == page


def test_a_cdn_file_without_an_offline_copy_is_named(html_dir):
    index = html_dir / "index.html"
    index.write_text(index.read_text().replace("</head>", '<script src="https://cdn.example/x.js"></script></head>'))
    with pytest.raises(SiteError, match=r"loads https://cdn.example/x.js, which has no offline copy"):
        vendor_assets(html_dir, default_cache())


def test_a_tampered_package_is_refused(html_dir, tmp_path):
    cache = tmp_path / "cache"
    cache.mkdir()
    asset = ASSETS[0]
    name, version = asset.package.rsplit("@", 1)
    buf = io.BytesIO(b"window.jQuery = 'not jquery';")
    with tarfile.open(cache / f"{name}-{version}.tgz", "w:gz") as tar:
        info = tarfile.TarInfo(f"package/{asset.member}")
        info.size = len(buf.getvalue())
        tar.addfile(info, buf)
    with pytest.raises(SiteError, match=r"jquery@3.3.1/dist/jquery.min.js: sha256-.* is not the pinned sha256-"):
        vendor_assets(html_dir, cache)


def test_replace_dir_swaps_in_the_new_site(tmp_path):
    out, staged = tmp_path / "site", tmp_path / "site.new"
    out.mkdir()
    (out / "index.html").write_text("old")
    staged.mkdir()
    (staged / "index.html").write_text("new")
    replace_dir(staged, out)
    assert (out / "index.html").read_text() == "new"
    assert not staged.exists() and not (tmp_path / "site.old").exists()


def test_publish_without_a_config_exits_2(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "mlupdate", "publish", "--config", str(tmp_path / "asv.conf.json")],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 2
    assert (
        proc.stderr.strip()
        == f"mlupdate: error: {tmp_path / 'asv.conf.json'} does not exist: run from the project root or pass --config"
    )


def test_benchmarks_without_results_are_not_listed(tmp_path):
    import json

    (tmp_path / "graphs" / "summary").mkdir(parents=True)
    (tmp_path / "graphs" / "summary" / "a.time_x.json").write_text("[]")
    (tmp_path / "index.json").write_text(json.dumps({"benchmarks": {"a.time_x": {}, "b.time_y": {}}, "params": {}}))
    assert drop_unmeasured(tmp_path) == ["b.time_y"]
    assert list(json.loads((tmp_path / "index.json").read_text())["benchmarks"]) == ["a.time_x"]


def test_the_steps_page_lists_confirmed_and_unconfirmed_moves_and_plots_the_chain(tmp_path):
    import json
    import math

    from mlupdate.bench.site.steps_page import write_steps_page

    def ratio(v, se=0.01):
        return {"value": v, "low": v * math.exp(-0.02), "high": v * math.exp(0.02), "se": se, "df": 10}

    def step(base, head, date, moved=0, verdict=None, value=1.0):
        cell = {
            "benchmark": "growth.QuadraticDiagonal.time_update",
            "params": ["32"],
            "series": "s",
            "alone": False,
            "base": [1, 1],
            "head": [value, value],
            "ratio": ratio(value),
            "moved": moved,
            "confirm": {"rounds": 6, "value": value, "low": value - 0.01, "high": value + 0.01, "verdict": verdict}
            if verdict
            else None,
        }
        return {
            "version": 1,
            "kind": "step",
            "machine": "box",
            "base": base,
            "head": head,
            "date": date,
            "threshold": 0.05,
            "rounds": 6 if head == "c" * 40 else 2,
            "seconds": 60.0,
            "skipped": ["e" * 40] if head == "c" * 40 else [],
            "cells": [cell],
            "series": [
                {"series": "s", "rounds": 2, "ratio": ratio(value), "moved": 0, "confirm": None},
                {
                    "series": "t",
                    "rounds": 6 if head == "c" * 40 else 2,
                    "ratio": ratio(1.0),
                    "moved": 0,
                    "confirm": None,
                },
            ],
            "exponents": [],
            "units": [],
            "changes": [],
            "unconfirmed": [],
        }

    folder = tmp_path / "results" / "steps" / "box"
    folder.mkdir(parents=True)
    (folder / "a.first.step").write_text(
        json.dumps(
            {
                "version": 1,
                "kind": "first",
                "machine": "box",
                "base": None,
                "head": "a" * 40,
                "date": 0,
                "seconds": 50.0,
            }
        )
    )
    (folder / "b.step").write_text(json.dumps(step("a" * 40, "b" * 40, 1, 1, "confirmed", 1.2)))
    (folder / "c.step").write_text(json.dumps(step("b" * 40, "c" * 40, 2, 1, "open", 1.06)))
    subjects = {"b" * 40: "Speed up the <refit>"}
    page = write_steps_page(tmp_path / "results", tmp_path / "site", subjects).read_text()
    assert "Machine box" in page and 'id="c-bbbbbbbb"' in page and "a plain run" in page
    assert "<q>Speed up the &lt;refit&gt;</q>" in page  # the commit's subject, escaped
    assert "<dt>open</dt>" in page and "2 steps, 0 anchors" in page  # every word explained; plurals right
    assert "inf%" not in page and "nan" not in page
    assert page.count("confirmed change</td>") == 1 and page.count("unconfirmed</td>") == 1
    assert "+20.0%" in page and "(6 rounds, open)" in page
    # each series' own rounds where a series ran on; one figure where all ran the same
    assert "6 paired rounds at most: s 2, t 6" in page and page.count("2 paired rounds,") == 1
    assert "<dt>paired rounds</dt>" in page
    assert "Missing steps (not measured): <code>eeeeeeee</code>" in page
    assert (tmp_path / "site" / "box-level-0.png").stat().st_size > 1000
    assert 'id="noisy"' not in page  # no step was measured under other load


def test_a_noisy_run_is_bannered_and_the_cost_model_prefers_a_quiet_one(tmp_path):
    import json

    from mlupdate.bench.runner.load import CoreLoad
    from mlupdate.bench.runner.noise import noisy_commits
    from mlupdate.bench.site.scaling_sections import page_banner

    machine = tmp_path / "box"
    machine.mkdir()
    busy = CoreLoad((0, 1), 100.0, 190.0, 100.0, 0.0)  # 90 core-seconds of somebody else's work in 200
    quiet = CoreLoad((0, 1), 100.0, 101.0, 100.0, 0.0)
    for commit, load in (("a" * 40, quiet), ("b" * 40, busy)):
        (machine / f"{commit[:8]}-env.json").write_text("{}")
        doc = {"version": 1, "commit": commit, "machine": "box", "rounds": 2, "cells": [], "load": load.to_json()}
        (machine / f"{commit[:8]}-env.replicas").write_text(json.dumps(doc))
    assert list(noisy_commits(tmp_path)) == ["b" * 40]
    banner = page_banner(tmp_path)
    assert 'id="noisy"' in banner and "bbbbbbbb" in banner and "aaaaaaaa" not in banner
    assert "other processes used 45% of cores 0, 1" in banner


def test_other_branches_do_not_reach_the_site(tmp_path):
    import subprocess

    from mlupdate.bench.results.git import branch_commits

    def git(*args):
        return subprocess.run(["git", *args], cwd=tmp_path, check=True, capture_output=True, text=True).stdout.strip()

    git("init", "-q", "-b", "main")
    git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "--allow-empty", "-m", "on main")
    on_main = git("rev-parse", "HEAD")
    git("checkout", "-q", "-b", "experiment")
    git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "--allow-empty", "-m", "experiment")
    experiment = git("rev-parse", "HEAD")
    commits = branch_commits(tmp_path, ["main"])
    assert on_main in commits and experiment not in commits
    assert "f" * 40 in commits  # results measured elsewhere (unknown here) are not another branch's
    assert branch_commits(tmp_path, ["no-such-branch"]) is None


def test_a_plain_asv_run_cannot_replace_paired_rounds_silently(tmp_path, caplog):
    import json
    import logging

    from mlupdate.bench.results.paired_results import keep_paired, restore_paired

    folder = tmp_path / "box"
    folder.mkdir()
    path = folder / "abcdef12-env.json"
    columns = ["result", "params", "samples"]
    paired = {"result_columns": columns, "results": {"s.S.time_x": [[0.08], [], [[0.079, 0.081] * 8]]}}
    path.write_text(json.dumps(paired))
    keep_paired(path)
    # a plain `asv run --quick -b S HEAD^!` rewrites the entry with one cold sample, and adds its own
    plain = {"result_columns": columns, "results": {"s.S.time_x": [[0.635], [], [[0.635]]], "t.T.time_y": [[1.0]]}}
    path.write_text(json.dumps(plain))
    logger = logging.getLogger("mlupdate")  # the CLI's handler may have stopped its propagation
    logger.addHandler(caplog.handler)
    try:
        assert restore_paired(tmp_path) == [path]
    finally:
        logger.removeHandler(caplog.handler)
    now = json.loads(path.read_text())
    assert now["results"]["s.S.time_x"] == paired["results"]["s.S.time_x"]  # the paired rounds are back
    assert now["results"]["t.T.time_y"] == [[1.0]]  # what only asv ran is kept
    assert "rewritten by a plain asv run (s.S.time_x)" in caplog.text
    assert restore_paired(tmp_path) == []  # nothing more to restore
