"""The one rule that calls a run noisy, at the figures measured on this machine."""

from __future__ import annotations

from mlupdate.bench.runner.load import CoreLoad, is_noisy, noise_reasons

QUIET = CoreLoad((0, 1), 100.0, 100.6, 100.0, 0.2)  # 0.6 core-seconds of other work in 200


def test_a_quiet_one_round_bench_is_not_noisy_and_a_hog_is():
    # quiet `make bench` (one round a replica): median replica spread 10.3%, other load 0.6%
    assert not is_noisy(QUIET, 0.103) and noise_reasons(QUIET, 0.103) == []
    # the same beside a CPU hog on core 1: other load 24%, spread 116%
    hog = CoreLoad((0, 1), 100.0, 148.6, 100.0, 2.0)
    reasons = noise_reasons(hog, 1.16)
    assert reasons[0] == "other processes used 24% of cores 0, 1"
    assert reasons[-1] == "the two sides disagreed by 116% (median replica spread)"
    # what the load meter cannot see (e.g. a throttled core) still shows as disagreement
    assert noise_reasons(QUIET, 0.34) == ["the two sides disagreed by 34% (median replica spread)"]
