"""The nightly job: each new commit stepped against its predecessor, judged, confirmed, stored, published.

How a step is measured, judged and shown: :mod:`.step` (measured and confirmed in fresh rounds),
:mod:`.step_verdict` (judged), :mod:`mlupdate.bench.site.steps_page` (shown). Imports run one way::

    plan.py          which steps and anchors a night measures
    step_verdict.py  a step's cells, levels, exponents and unit costs (through the statistical core)
    step.py          one paired step measured, judged and confirmed
    counted.py       a step's instruction counts (``--mode both``): exact, so a change at once
    night.py         the night's steps and anchors, measured and stored one by one
    job.py           the job: fetch the results branch, measure the night, push, publish
"""
