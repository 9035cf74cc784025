"""The published site: asv's pages made offline, the scaling page and the Steps page.

Everything HTML (jinja2 templates in ``templates/``) and every plot (matplotlib) lives here;
the numbers come from :mod:`mlupdate.bench.scaling` and :mod:`mlupdate.bench.results`::

    templating.py         the pages from templates (escaping on); the noisy banner
    plots.py              matplotlib, headless: shared figures and PNGs
    scaling_page.py       the scaling page, from its sections
    scaling_sections.py   its sections: costs at the seed's sizes, noise, CPU history
    chain_section.py      the chained history's section and plots
    steps_page.py         the Steps page: each commit's moves, confirmations and chained plots
    publish.py            asv publish, made offline, plus the pages above
"""
