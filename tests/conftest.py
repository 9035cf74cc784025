"""Fixtures shared across the floors' tests; the helpers themselves live in ``helpers/``."""

from __future__ import annotations

import pickle
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers.fleets import small_task
from helpers.nightly_story import NightlyStory, build_story, locked, seed_env, shared_root, template_env

from mlupdate import Fleet


@pytest.fixture(scope="session")
def mixed_fleet():
    task = small_task(4)
    return task, Fleet.deploy(task)


@pytest.fixture(scope="session")
def nightly_story(tmp_path_factory) -> NightlyStory:
    """Run 1 on two commits; run 2 after a third; after a fourth, run 3 killed in its step, run 4
    with the results branch frozen by a server hook (fails at the push), run 5 unfrozen.

    Built once per test session: the first xdist worker that needs it builds it
    (and its asv environment) under a lock, the others load what it recorded."""
    root = shared_root(tmp_path_factory)
    with locked(root / "nightly-story.lock"):
        recorded = root / "nightly-story.pickle"
        if recorded.is_file():
            return pickle.loads(recorded.read_bytes())
        template = template_env(root)
        with locked(root / "asv-env.lock"):
            story = build_story(root / "nightly", template)
        recorded.write_bytes(pickle.dumps(story))
        return story


@pytest.fixture
def asv_env(tmp_path, tmp_path_factory) -> Path:
    """An asv environment folder of this test's own, copied from the session's one (created once)."""
    return seed_env(template_env(shared_root(tmp_path_factory)), tmp_path / "asv-env")


@pytest.fixture
def story_env(nightly_story, tmp_path_factory) -> Iterator[Path]:
    """The story's asv environment folder, held by this test alone (one install at a time)."""
    with locked(shared_root(tmp_path_factory) / "asv-env.lock"):
        yield nightly_story.checkout / ".asv" / "env"


@pytest.hookimpl(tryfirst=True)  # before xdist's own, which reads the group into the test's id
def pytest_collection_modifyitems(items) -> None:
    """Every test that reads the nightly story runs on the xdist worker that builds it (``--dist
    loadgroup``): the story takes minutes, and a second worker waiting for it would stand idle.
    The longest tests are handed out first."""
    story = {item for item in items if "nightly_story" in getattr(item, "fixturenames", ())}
    for item in story:
        item.add_marker(pytest.mark.xdist_group("nightly-story"))
    # the longest first (the story's chain, then the tests marked slow), as a scheduler of jobs of
    # unequal length does: a minute-long test handed out last keeps one worker busy while the other idles
    items.sort(key=lambda item: (item not in story, not item.get_closest_marker("slow")))
