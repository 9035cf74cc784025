"""Which steps a night measures: every new first-parent commit against its predecessor.

The history is a chain: its first commit (a plain run, the reference), then one
step per commit, each paired with the newest commit measured before it. Every
``anchor_every`` steps along the chain the commit is also paired directly with
the reference (an *anchor*), so that the chained errors cannot accumulate
(:mod:`mlupdate.bench.scaling.chain`). A night that cannot afford a step for every new
commit measures the newest ones (the first of them paired with the last commit
measured) and names the commits it skipped. A step or anchor that an interrupted
night did not store is simply still due, and the next night measures it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

from ..results.step_files import chain_of

__all__ = ["NightPlan", "plan_night"]


@dataclass
class NightPlan:
    """What a night measures, in order."""

    first: str | None = None  # the history's first commit, to run plainly
    steps: list[tuple[str, str]] = field(default_factory=list)  # (base, head)
    anchors: list[tuple[str, str]] = field(default_factory=list)  # (reference, head), due after their head's step
    missing: list[str] = field(default_factory=list)  # new commits the budget left without a step


def _due_anchors(chain: Sequence[str], anchored: set[str], every: int) -> list[tuple[str, str]]:
    return [(chain[0], head) for i, head in enumerate(chain) if i and i % every == 0 and head not in anchored]


def plan_night(
    order: Sequence[str],
    docs: Sequence[dict],
    *,
    with_results: set[str] = frozenset(),
    anchor_every: int = 4,
    affordable: int | None = None,
) -> NightPlan:
    """The night's plan.

    Parameters
    ----------
    order : sequence of str
        First-parent commits of main, oldest first (the newest ``max_commits``).
    docs : sequence of dict
        The steps stored so far (:func:`~mlupdate.bench.results.step_files.read_steps`).
    with_results : set of str
        Commits with asv results on this machine but no step (a history older than steps):
        the newest of them is taken as the predecessor, and as the reference if none exists.
    anchor_every : int
        Pair every ``anchor_every``-th commit of the chain with the reference too.
    affordable : int, optional
        How many measurements (plain runs, steps and anchors) the budget allows; None: all.
    """
    plan = NightPlan()
    chain = chain_of(docs)
    measured = set(chain)
    if not chain:
        older = [c for c in order if c in with_results]
        if older:
            chain, measured = [older[-1]], {older[-1]}
    last = max((order.index(c) for c in measured if c in order), default=-1)
    new = [c for c in order[last + 1 :] if c not in measured]
    budget = math.inf if affordable is None else max(1, affordable)
    due = _due_anchors(chain, {d["head"] for d in docs if d["kind"] == "anchor"}, anchor_every)
    if not chain and new:
        plan.first, chain = new[0], [new[0]]
        new, budget = new[1:], budget - 1
    # each new commit costs a step, and an anchor when it falls due
    n_new = len(new)
    while (
        n_new
        and n_new + len(due) + sum(1 for i in range(len(chain), len(chain) + n_new) if i % anchor_every == 0) > budget
    ):
        n_new -= 1
    if new and n_new == 0 and budget >= 1:
        n_new = 1  # the newest commit is always measured
    plan.missing, chosen = new[: len(new) - n_new], new[len(new) - n_new :]
    prev = chain[-1] if chain else None
    for head in chosen:
        plan.steps.append((prev, head))
        chain.append(head)
        prev = head
    plan.anchors = due + [
        (chain[0], h) for i, h in enumerate(chain) if i >= len(chain) - len(chosen) and i % anchor_every == 0
    ]
    return plan
