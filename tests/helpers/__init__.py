"""Test helpers, split by subject: fleets, asv results, git, the nightly story, the layers.

Imported by the tests as ``helpers.<subject>`` (``pythonpath = ["tests"]`` in
``pyproject.toml``); nothing here ships in the package.
"""
