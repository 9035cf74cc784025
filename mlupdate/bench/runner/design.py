"""The balanced design of paired rounds: who gets which core, who starts first, in what cell order.

Two sides measured at the same moment, one core each, share what the host does to both;
what they do not share is their seat. A side that always has the same core, always
starts first, or always runs the first cell after the installs can read a few percent
apart from the other on the same code. So every round's seats are drawn at random, from a
recorded seed, and balanced:

- **assignment** (which side is pinned to which core) and **start order** (whose process
  starts first; alone, whose runs first; whose forkserver restarts first) come in blocks of
  four rounds holding each of the four combinations once. Each half-block (rounds 0-1, 2-3,
  ...) has both assignments and both start orders, so every even number of rounds a cell
  takes part in is exactly balanced, and round 0 has no fixed seat;
- **cell order** is shuffled every round (random interleaving): no cell always comes first;
- **environment folder**: two commits are installed in two folders of equal length
  (:data:`~mlupdate.bench.runner.side_by_side.SIDE_SUFFIXES`), one drawn for each side once per
  run (:meth:`Design.folders`). A folder keeps its files, and so their pages in memory, for as
  long as the machine runs: BASE always in the first folder would carry whatever that layout
  costs into every step of a history.

A cell takes part in consecutive rounds from the first (it leaves when decided and never
comes back), so a balance over rounds is a balance over each cell's rounds.

:class:`RoundPlan` is one round's draw, recorded with the results; :class:`Design` draws
them from a seed, reproducibly.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

__all__ = ["Design", "RoundPlan"]


@dataclass(frozen=True)
class RoundPlan:
    """One round's seats.

    Attributes
    ----------
    round : int
        The round's index, from 0.
    swap : bool
        False: side 0 on the first core and side 1 on the second; True: the other way round.
    first : int
        The side (0 or 1) started first: its process first, its run first when a cell runs
        alone, its forkserver restarted first.
    """

    round: int
    swap: bool
    first: int

    def cores(self, cores: Sequence[int]) -> tuple[int, int]:
        """The core of side 0 and of side 1 this round."""
        return (cores[1], cores[0]) if self.swap else (cores[0], cores[1])

    @property
    def order(self) -> tuple[int, int]:
        """The sides in start order."""
        return (self.first, 1 - self.first)

    def to_json(self) -> dict:
        return {"round": self.round, "swap": self.swap, "first": self.first}

    @classmethod
    def from_json(cls, doc: dict) -> RoundPlan:
        return cls(int(doc["round"]), bool(doc["swap"]), int(doc["first"]))


@dataclass(frozen=True)
class Design:
    """Balanced, seeded seats for every round.

    Parameters
    ----------
    seed : int, optional
        The seed of every draw; a fresh random one when not given (it is recorded, see
        :meth:`to_json`, so a run can be re-drawn exactly).

    Examples
    --------
    >>> d = Design(7)
    >>> plans = [d.plan(r) for r in range(4)]
    >>> sorted((p.swap, p.first) for p in plans)
    [(False, 0), (False, 1), (True, 0), (True, 1)]
    >>> all(plans[i].swap != plans[i + 1].swap and plans[i].first != plans[i + 1].first for i in (0, 2))
    True
    """

    seed: int | None = None

    def __post_init__(self) -> None:
        if self.seed is None:
            object.__setattr__(self, "seed", secrets.randbits(32))

    def plan(self, r: int) -> RoundPlan:
        """Round ``r``'s seats: position ``r % 4`` of its block of four."""
        rng = np.random.default_rng([self.seed, r // 4])
        swap, first = (int(b) for b in rng.integers(0, 2, size=2))
        # two half-blocks, each with both assignments and both start orders
        halves = [[(swap, first), (1 - swap, 1 - first)], [(swap, 1 - first), (1 - swap, first)]]
        if rng.integers(0, 2):
            halves.reverse()
        block = [pair[k] for pair in halves for k in ((0, 1) if rng.integers(0, 2) else (1, 0))]
        s, f = block[r % 4]
        return RoundPlan(r, bool(s), int(f))

    def shuffled(self, r: int, items: Sequence) -> list:
        """``items`` in round ``r``'s random order (the same items and round: the same order)."""
        rng = np.random.default_rng([self.seed, r, 1])
        return [items[i] for i in rng.permutation(len(items))]

    def folders(self) -> tuple[int, int]:
        """Which of the two environment folders side 0 and side 1 get: ``(0, 1)`` or ``(1, 0)``,
        drawn once per run, from a stream of its own."""
        swap = int(np.random.default_rng([self.seed, 0, 2]).integers(0, 2))
        return (swap, 1 - swap)

    def to_json(self) -> dict:
        return {"seed": self.seed, "blocks": 4, "folders": list(self.folders())}

    @classmethod
    def from_json(cls, doc: dict) -> Design:
        return cls(int(doc["seed"]))
