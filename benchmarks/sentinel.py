"""The drift sentinel: fixed numpy work that no commit of mlupdate changes.

It imports nothing of mlupdate and its workload never changes, so its series
moves only with the machine: when it moved too, "the code got slower" may be
"the machine was slower that night". ``mlupdate compare`` always measures it,
and shows its ratio beside the others.
"""

import timeit

import numpy as np


class DriftSentinel:
    """A 1-thread BLAS product, a sort and elementwise maths on seeded data (about 0.1 s)."""

    timer = timeit.default_timer
    number = 1
    rounds = 2
    repeat = (3, 8, 1.0)
    warmup_time = 0.2

    def setup(self):
        rng = np.random.default_rng(0)
        self.a = rng.standard_normal((300, 300))
        self.x = rng.standard_normal(1_000_000)

    def time_fixed_numpy(self):
        for _ in range(8):
            self.a @ self.a
        np.sort(self.x)
        np.exp(np.sin(self.x)).sum()
