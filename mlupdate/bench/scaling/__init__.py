"""Scaling exponents and unit costs per commit, from asv results.

- :mod:`.series` turns asv's results into per-commit series of cells;
- :mod:`.fit` fits ``t = c * m^a * n^b + d`` robustly in log space, with
  bootstrap intervals (and the plain log-log baseline it improves on);
- :mod:`.exponents` fits every series and compares two commits' exponents;
- :mod:`.costs` and :mod:`.predict`: the cost model (exact plan counts times
  unit costs) and its predictions at sizes never run;
- :mod:`.machines`: the CPU and drift-sentinel history of the results;
- :mod:`.page`, :mod:`.sections` and :mod:`.plots` write the scaling page.
"""

from ..results.asv_results import ResultsError
from .fit import Fit, fit_loglog, fit_surface
from .series import Series, load_series

__all__ = ["Fit", "ResultsError", "Series", "fit_loglog", "fit_surface", "load_series"]
