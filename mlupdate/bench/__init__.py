"""The instruments: what measures the library, never what is measured.

Workloads and probes (:mod:`.workloads`, :mod:`.probes`, :mod:`.timing`), asv
from this project (:mod:`.asv_config`, :mod:`.asv_results`, :mod:`.suite`,
:mod:`.git`), what is made of asv's results (:mod:`.scaling`, :mod:`.compare`),
and the jobs that publish them (:mod:`.own_fleets`, :mod:`.nightly`,
:mod:`.site`). They import the library, never the command line.
"""
