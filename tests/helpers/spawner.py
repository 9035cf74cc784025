"""A stand-in for asv's forkserver: synthetic benchmark results through asv's real runner."""

from __future__ import annotations

import json
import math
import threading

import numpy as np


class SyntheticSpawner:
    """asv's spawner protocol: ``run`` writes a benchmark's result file and returns (output, exit status).

    Each run's value is ``base * factor * host * noise``: ``host`` is the round's
    slowdown of the machine, shared by both sides (they run at the same time)."""

    def __init__(self, label: str, factor: float, noise: float, rng: np.random.Generator, host: dict, calls: list):
        self.label, self.factor, self.noise, self.rng, self.host, self.calls = label, factor, noise, rng, host, calls
        self.lock = threading.Lock()

    #: After this many runs, the next one is interrupted as by Ctrl-C (None: never).
    interrupt_after: int | None = None
    interrupted = False

    def interrupt(self) -> None:
        """asv's runner calls this when a run is interrupted (Ctrl-C)."""
        self.interrupted = True

    def run(self, name, params_str, profile_path, result_file_name, timeout, cwd):
        if self.interrupt_after is not None and len(self.calls) >= self.interrupt_after:
            raise KeyboardInterrupt
        idx = int(name.rsplit("-", 1)[1])
        extra = json.loads(params_str)
        with self.lock:
            self.calls.append((idx, self.label, tuple(extra.get("cpu_affinity", ()))))
            value = 0.01 * 4**idx * self.factor * self.host["now"] * math.exp(self.rng.normal(0, self.noise))
        with open(result_file_name, "w") as f:
            json.dump({"samples": [value], "number": 1}, f)
        return "", 0
