"""The site's pages from templates (jinja2, escaping on): one base layout and one stylesheet.

``templates/base.html`` is the layout every page extends, ``templates/style.css`` its one
stylesheet (inlined, so that a page works offline and from any folder). Values are escaped
unless they are :class:`markupsafe.Markup` (HTML a section already built with its own escaping).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import cache

from markupsafe import Markup

__all__ = ["Markup", "band", "noisy_banner", "render"]


@cache
def _environment():
    import jinja2

    return jinja2.Environment(
        loader=jinja2.PackageLoader("mlupdate.bench.site", "templates"),
        autoescape=jinja2.select_autoescape(["html"]),
        keep_trailing_newline=True,
    )


def render(template: str, **context) -> str:
    """The page ``template`` (a file of ``mlupdate/bench/site/templates``) rendered with ``context``."""
    return _environment().get_template(template).render(**context)


def noisy_banner(noisy: dict[str, list[str]], what: str) -> str:
    """An HTML banner naming the noisy runs (``{commit: reasons}``) and what the page does with them."""

    return render("noisy.html", noisy=sorted(noisy.items()), what=what) if noisy else ""


def band(low: float, high: float, shown: Callable[[float], str]) -> str:
    """``[low, high]`` with each bound ``shown``, or what an interval without finite bounds means."""
    if not (math.isfinite(low) and math.isfinite(high)):
        return "[unbounded: too few rounds to say]"
    return f"[{shown(low)}, {shown(high)}]"
