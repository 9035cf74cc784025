"""Scaling exponents per commit, from asv results.

- :mod:`.results` reads asv's results directory into per-commit series;
- :mod:`.fit` fits ``t = c * m^a * n^b + d`` robustly in log space, with
  bootstrap intervals (and the plain log-log baseline it improves on);
- :mod:`.report` writes the JSON + HTML report and compares two commits.
"""

from .fit import Fit, fit_loglog, fit_surface
from .results import ResultsError, Series, load_series

__all__ = ["Fit", "ResultsError", "Series", "fit_loglog", "fit_surface", "load_series"]
