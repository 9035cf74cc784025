"""The other load on the cores a paired run uses: what the design cannot cancel.

Two sides running at the same time share a slowdown of the whole host; a neighbour on
one core slows one side only. So every round reads, from ``/proc/stat``, how busy its two
cores were and how much of that was stolen by the hypervisor, and subtracts the CPU time
of this process and everything it started (the forkservers and every benchmark process
they forked, reaped by them: ``psutil``'s children times). What is left is somebody
else's work on our cores. A process of ours that ends inside a span without being reaped by a
live process of ours (asv kills a forkserver that does not stop within 0.1 s) would take its CPU
time with it: spans are read between restarts, never across one.

:class:`CoreLoad` is one span's reading (a round, or a whole run summed);
:func:`is_noisy` is the one rule that calls a run noisy: foreign load above
:data:`FOREIGN_LIMIT` of the cores' time, steal above :data:`STEAL_LIMIT`, or the two sides
disagreeing (a replica spread) above :data:`SPREAD_LIMIT`.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

__all__ = ["FOREIGN_LIMIT", "SPREAD_LIMIT", "STEAL_LIMIT", "CoreLoad", "LoadMeter", "is_noisy", "noise_reasons"]

#: Other processes' share of the used cores' time above which a run is noisy. Both
#: forkservers keep their cores busy while a cell runs; the driver, the reaper and the
#: kernel's own work on a quiet machine read under 2% here.
FOREIGN_LIMIT = 0.05
#: Steal time's share of the used cores' time above which a run is noisy.
STEAL_LIMIT = 0.05
#: Median replica spread (``|log(median_1 / median_2)|``) above which a run is noisy. One round a
#: replica (``make bench``) reads 9-10% on a quiet machine here (0.6% other load): a single
#: process per cell and side, whose scatter is the design's own; a CPU hog on one core read 116%
#: (24% other load), a ``make bench`` beside other work 34%. The load itself is measured
#: (:data:`FOREIGN_LIMIT`); the spread is the backstop for what the load meter cannot see.
SPREAD_LIMIT = 0.25

_STAT = Path("/proc/stat")
_BUSY = (0, 1, 2, 5, 6)  # user, nice, system, irq, softirq (guest time is inside user)
_STEAL = 7


def _core_ticks(cores: Sequence[int]) -> tuple[float, float]:
    """Busy and stolen seconds of ``cores`` since boot, from ``/proc/stat``."""
    hz = os.sysconf("SC_CLK_TCK")
    wanted = {f"cpu{c}" for c in cores}
    busy = steal = 0.0
    for line in _STAT.read_text().splitlines():
        name, *fields = line.split()
        if name in wanted:
            ticks = [int(x) for x in fields]
            busy += sum(ticks[i] for i in _BUSY)
            steal += ticks[_STEAL] if len(ticks) > _STEAL else 0
    return busy / hz, steal / hz


def _tree_seconds() -> float:
    """CPU seconds of this process and its descendants, the reaped ones included."""
    import psutil

    me = psutil.Process()
    total = 0.0
    for proc in [me, *me.children(recursive=True)]:
        try:
            t = proc.cpu_times()
        except psutil.Error:  # ended between the listing and the read: its parent's children times have it
            continue
        total += t.user + t.system + t.children_user + t.children_system
    return total


@dataclass(frozen=True)
class CoreLoad:
    """What the used cores did over a span.

    Attributes
    ----------
    cores : tuple of int
        The cores read.
    seconds : float
        Wall seconds of the span.
    busy : float
        Busy core-seconds of ``cores`` (every process, the kernel's interrupts included).
    ours : float
        CPU seconds of this command's process tree over the span.
    steal : float
        Core-seconds the hypervisor gave to somebody else.
    """

    cores: tuple[int, ...]
    seconds: float
    busy: float
    ours: float
    steal: float = 0.0

    @property
    def capacity(self) -> float:
        return self.seconds * len(self.cores)

    @property
    def foreign(self) -> float:
        """Other processes' share of the cores' time (0 to 1).

        ``/proc/stat`` counts in clock ticks (10 ms): over a span of a few ticks one tick more or
        less is a large share, hence the clamp."""
        return min(1.0, max(0.0, self.busy - self.ours) / self.capacity) if self.capacity > 0 else 0.0

    @property
    def stolen(self) -> float:
        """Steal time's share of the cores' time (0 to 1)."""
        return min(1.0, self.steal / self.capacity) if self.capacity > 0 else 0.0

    def __add__(self, other: CoreLoad) -> CoreLoad:
        return CoreLoad(
            self.cores,
            self.seconds + other.seconds,
            self.busy + other.busy,
            self.ours + other.ours,
            self.steal + other.steal,
        )

    def to_json(self) -> dict:
        return {
            "cores": list(self.cores),
            "seconds": self.seconds,
            "busy": self.busy,
            "ours": self.ours,
            "steal": self.steal,
            "foreign": self.foreign,
            "stolen": self.stolen,
        }

    @classmethod
    def from_json(cls, doc: dict) -> CoreLoad:
        return cls(tuple(doc["cores"]), doc["seconds"], doc["busy"], doc["ours"], doc.get("steal", 0.0))


class LoadMeter:
    """Reads :class:`CoreLoad` over spans: ``meter.start()`` ... ``meter.stop()``.

    Examples
    --------
    >>> meter = LoadMeter((0,))
    >>> meter.start()
    >>> load = meter.stop()
    >>> 0.0 <= load.foreign <= 1.0 and load.cores == (0,)
    True
    """

    def __init__(self, cores: Sequence[int]) -> None:
        self.cores = tuple(cores)
        self._at: tuple[float, float, float, float] | None = None

    def _read(self) -> tuple[float, float, float, float]:
        busy, steal = _core_ticks(self.cores)
        return time.monotonic(), busy, _tree_seconds(), steal

    def start(self) -> None:
        self._at = self._read()

    def stop(self) -> CoreLoad:
        """The load since :meth:`start` (which it then restarts from now)."""
        if self._at is None:
            raise RuntimeError("LoadMeter.stop() before start()")
        now = self._read()
        spans = [b - a for a, b in zip(self._at, now, strict=True)]
        self._at = now
        return CoreLoad(self.cores, *spans)


def noise_reasons(load: CoreLoad | None, spread: float | None = None) -> list[str]:
    """Why a run is noisy, one phrase each; empty when it is not (see the module's limits)."""
    out = []
    if load is not None and load.foreign > FOREIGN_LIMIT:
        out.append(f"other processes used {load.foreign:.0%} of cores {', '.join(map(str, load.cores))}")
    if load is not None and load.stolen > STEAL_LIMIT:
        out.append(f"the hypervisor stole {load.stolen:.0%} of their time")
    if spread is not None and spread > SPREAD_LIMIT:
        out.append(f"the two sides disagreed by {spread:.0%} (median replica spread)")
    return out


def is_noisy(load: CoreLoad | None, spread: float | None = None) -> bool:
    """Whether a run's load or its sides' disagreement is beyond what the design expects."""
    return bool(noise_reasons(load, spread))
