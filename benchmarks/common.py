"""Shared measurement for the declarative benchmark classes.

A benchmark class states ``params``, ``param_names`` and ``workload(*params)``
(a :class:`mlupdate.bench.suite.workloads.Workload`); the measuring methods live here and
are inherited, never rewritten per class:

- :class:`_Timed`: ``time_update`` and ``peakmem_update`` of the update
  (:class:`_TimedOnly`: ``time_update`` alone, for grids sized for a fit);
- :class:`_TrainingTimed`: ``time_training``, the update's training stages alone (asv's
  ``timer`` is a clock that runs only while a model trains);
- :class:`_Counted`: deterministic ``track_`` counts of what the update did;
- :class:`_Measured`: ``track_`` figures asv cannot take itself (process-tree
  RSS, traced heap, parallel speedup, quality).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import timeit
import warnings

# asv runs this suite against every commit it measures: the instruments moved to
# mlupdate.bench (and the executors to mlupdate.executors/), then into its sub-packages
# (mlupdate.bench.suite), so each name is imported from where the commit being measured has it.
# A benchmark's version is a hash of its code (and its setup's), so the methods
# below keep their text: ``compare`` is the in-process timing's old name.
try:
    from mlupdate.bench.suite.probes import traced_heap_peak, tree_peak_rss
    from mlupdate.bench.suite.timing import median_times as compare
    from mlupdate.bench.suite.workloads import Prepared
    from mlupdate.bench.suite.workloads import Workload as _CommitWorkload
except ImportError:  # a commit from before the instruments' sub-packages
    try:
        from mlupdate.bench.probes import traced_heap_peak, tree_peak_rss
        from mlupdate.bench.timing import median_times as compare
        from mlupdate.bench.workloads import Prepared
        from mlupdate.bench.workloads import Workload as _CommitWorkload
    except ImportError:  # a commit from before the three floors
        from mlupdate.measure import compare
        from mlupdate.probes import traced_heap_peak, tree_peak_rss
        from mlupdate.workloads import Prepared
        from mlupdate.workloads import Workload as _CommitWorkload

__all__ = [
    "COUNTS_DIR_VAR",
    "TESTED_JOBLIB",
    "Prepared",
    "Workload",
    "compare",
    "stop_workers",
    "traced_heap_peak",
    "training_clock",
    "tree_peak_rss",
]

#: joblib versions whose private cleanup closures :func:`stop_workers` was tested on.
TESTED_JOBLIB = ("1.6",)
_FOLDER_FINALIZER = "register_folder_finalizer.<locals>._cleanup"
_warned: list[str] = []


def _run_folder_finalizers() -> int:
    """Run and unregister joblib's folder-deleting exit handlers; how many were found."""
    import atexit
    import gc

    found = 0
    for obj in gc.get_objects():
        if callable(obj) and getattr(obj, "__qualname__", "").endswith(_FOLDER_FINALIZER):
            obj()  # deletes the folder if it exists, and unregisters it from the tracker
            atexit.unregister(obj)
            found += 1
    return found


def stop_workers() -> int:
    """Stop loky's idle workers, so that they do not compete with the next benchmark, and
    delete the folders joblib memory-maps shared data in.

    asv ends a benchmark process without running its exit handlers. joblib
    registers a memory-mapping folder (made or not) with loky's resource tracker
    for every ``Parallel`` call, and for every executor request, and deletes it
    in an exit handler; skipped, the tracker removes them itself with a "leaked
    folder objects" warning per cell. Those handlers run here: they are
    ``TemporaryResourcesManager.register_folder_finalizer``'s closures, found
    by name because a reused executor drops the manager that made them.
    Defined in the suite, not in mlupdate, so that it works with every commit
    the suite measures.

    Both are private state of joblib, so the search runs only on the joblib
    versions in :data:`TESTED_JOBLIB`, like the dask patch; on any other, or
    when a pool existed and no handler was found (joblib renamed them), it
    warns once, naming the version. Returns the number of handlers run.
    """
    import joblib
    from joblib.externals.loky import reusable_executor

    executor = getattr(reusable_executor, "_executor", None)  # the pool, without starting one
    if executor is None:
        return 0
    executor.shutdown(wait=True)
    version = joblib.__version__
    if not version.startswith(tuple(v + "." for v in TESTED_JOBLIB)):
        _warn_once(
            f"joblib {version} is not one stop_workers was tested on ({', '.join(TESTED_JOBLIB)}.x): "
            "its memory-mapping folders are left to loky's resource tracker"
        )
        return 0
    found = _run_folder_finalizers()
    if not found:
        _warn_once(
            f"stop_workers found no joblib folder finalizer after a pool ran (joblib {version}): "
            "did joblib rename register_folder_finalizer?"
        )
    return found


#: The folder where a benchmark process notes the counts its update made, set by mlupdate's paired
#: runs (the same name as ``mlupdate.bench.results.counts.COUNTS_DIR_VAR``; the suite imports nothing of
#: the instruments, which older commits do not have).
COUNTS_DIR_VAR = "MLUPDATE_COUNTS_DIR"


class Workload(_CommitWorkload):
    """The measured commit's ``Workload``, whose prepared update notes what its first run counted.

    Every commit's cells then carry that commit's own counts (fits, visits, rows trained: the run's
    ``UpdateReport.counts``), taken from the run asv times itself. The first call is asv's untimed
    warm-up, and the note is one small file in the folder :data:`COUNTS_DIR_VAR` names (nothing when
    it is unset, as under a plain ``asv run``). A benchmark's version hashes its methods' text,
    so the counts come from the class those methods build rather than from an edit of them.
    """

    __slots__ = ()

    def prepare(self, *args, **kwargs):
        prepared = super().prepare(*args, **kwargs)
        folder = os.environ.get(COUNTS_DIR_VAR)
        if folder and "run" not in vars(prepared):
            _note_first_run(prepared, self, folder)
        return prepared


def _note_first_run(prepared, workload, folder: str) -> None:
    run = prepared.run

    def noted(*args, **kwargs):
        report = run(*args, **kwargs)
        if vars(prepared).get("run") is noted:
            del prepared.run  # later calls through the instance go straight to the commit's own method
            counts = getattr(report, "counts", None)
            if isinstance(counts, dict):
                _write_note(folder, workload, counts)
        return report  # a caller that kept this bound method (a dict of runs) calls it again: run only

    prepared.run = noted


def _write_note(folder: str, workload, counts: dict) -> None:
    fields = dataclasses.asdict(workload) if dataclasses.is_dataclass(workload) else dict(vars(workload))
    doc = {"workload": fields, "counts": {str(k): int(v) for k, v in counts.items()}}
    text = json.dumps(doc, sort_keys=True, default=str)
    name = hashlib.sha256(json.dumps(fields, sort_keys=True, default=str).encode()).hexdigest()[:20]
    path = os.path.join(folder, f"{name}.json")
    tmp = f"{path}.{os.getpid()}"
    with open(tmp, "w") as handle:
        handle.write(text)
    os.replace(tmp, path)  # one process's note whole, never half of one


def _warn_once(message: str) -> None:
    if message not in _warned:
        _warned.append(message)
        warnings.warn(message, RuntimeWarning, stacklevel=3)


class _UpdateBenchmark:
    """Base: build the workload's fleet and batches in ``setup`` (not timed)."""

    timer = timeit.default_timer  # wall clock
    number = 1  # asv_runner runs setup between calls when number > 1: no batching to gain
    # Two rounds: asv runs the whole suite twice, so a drift of the machine
    # during the run is shared by every cell instead of landing on some.
    # Per round at least 1 and at most 8 samples, stopping after 0.5 s: a
    # 10 ms cell gets 8, a 1 s cell 1.
    rounds = 2
    repeat = (1, 8, 0.5)
    # Untimed calls for 0.25 s first (at least one). A process forked by asv's
    # forkserver copies the pages it writes on its first calls: measured here,
    # calls 2-4 of a 1x1 update took 16 ms in some processes and 8 ms in
    # others, and every process settled at 8 ms by its tenth call.
    warmup_time = 0.25
    timeout = 300

    def workload(self, *params) -> Workload:
        raise NotImplementedError

    def setup(self, *params) -> None:
        self.prepared: Prepared = self.workload(*params).prepare()
        if self.prepared.workload.executor != "serial":
            self.prepared.warm_up()  # start the worker pool outside the measurement

    def teardown(self, *params) -> None:
        prepared = getattr(self, "prepared", None)  # asv tears down after a skipped setup too
        if prepared is not None and prepared.workload.executor != "serial":
            stop_workers()


class _TimedOnly(_UpdateBenchmark):
    def time_update(self, *params) -> None:
        self.prepared.run()


#: Seconds the training stages (``fit``, ``partial_fit``) of this process's updates have taken so far.
_TRAINING_SECONDS = [0.0]


def training_clock() -> float:
    """A clock that runs only while a model trains: the training stages' seconds of every update
    :class:`_TrainingTimed` has run in this process. asv's documented ``timer`` reads it before and
    after each timed call, so a sample is that call's training time (its update's own stage timer,
    ``UpdateReport.seconds``); asv's warm-up and sampling budget keep to the wall clock."""
    return _TRAINING_SECONDS[0]


class _TrainingTimed(_UpdateBenchmark):
    timer = staticmethod(training_clock)

    def time_training(self, *params) -> None:
        seconds = self.prepared.run().seconds
        _TRAINING_SECONDS[0] += seconds.get("fit", 0.0) + seconds.get("partial_fit", 0.0)


class _Timed(_TimedOnly):
    def peakmem_update(self, *params) -> None:
        self.prepared.run()


def _count(key: str, unit: str):
    def track(self, *params) -> int:
        return self.prepared.run().counts[key]

    track.unit = unit
    track.__doc__ = f"Operations counted by the update: {key} (deterministic, equals the plan)."
    return track


class _Counted(_UpdateBenchmark):
    track_preprocess_calls = _count("preprocess", "calls")
    track_predict_calls = _count("predict", "calls")
    track_fit_calls = _count("fit", "calls")
    track_rows_trained = _count("rows_trained", "rows")


class _Measured(_UpdateBenchmark):
    def track_tree_peak_rss(self, *params) -> int:
        """Peak RSS of this process plus its joblib workers during the update (psutil)."""
        return tree_peak_rss(self.prepared.run)[0]

    track_tree_peak_rss.unit = "bytes"

    def track_traced_heap_peak(self, *params) -> int:
        """Peak traced allocations (tracemalloc, numpy included) during the update only."""
        return traced_heap_peak(self.prepared.run)[0]

    track_traced_heap_peak.unit = "bytes"


class _SpeedupMeasured(_UpdateBenchmark):
    def track_parallel_speedup(self, *params) -> float:
        """Serial time / joblib time, medians of 3 alternating runs in this process.

        Higher is better (asv marks any rise as a "regression": read the graph).
        """
        w = self.prepared.workload
        serial = w.with_(executor="serial").prepare()
        t = compare({"serial": serial.run, "joblib": self.prepared.run}, repeat=3)
        return t["serial"] / t["joblib"]

    track_parallel_speedup.unit = "ratio"


class _QualityMeasured(_UpdateBenchmark):
    def track_mean_error(self, *params) -> float:
        """Mean holdout MAE over the models after the update (lower is better)."""
        report = self.prepared.run()
        return sum(a["mae"] for a in report.after) / len(report.after)

    track_mean_error.unit = "MAE"


class _OnDask(_TimedOnly):
    """Cells whose workload uses joblib's ``dask`` backend run on one
    ``LocalCluster`` (``n_jobs`` single-threaded worker processes on 127.0.0.1)
    kept for the benchmark process: started, connected and warmed in ``setup``,
    never timed. Without ``distributed`` installed those cells are n/a."""

    def setup(self, *params) -> None:
        w = self.workload(*params)
        if w.backend != "dask":
            return super().setup(*params)
        try:
            import distributed
        except ImportError:
            raise NotImplementedError("dask.distributed is not installed: pip install 'mlupdate[dask]'") from None
        try:
            from mlupdate.executors.dask import local_cluster
        except ImportError:  # a commit from before the three floors
            from mlupdate.cluster import local_cluster
        from mlupdate.executors import get_executor

        self._cluster = local_cluster(w.n_jobs)
        self._client = distributed.Client(self._cluster)
        executor = get_executor("joblib", n_jobs=w.n_jobs, backend="dask", scheduler=self._client)
        self.prepared = w.prepare().on(executor)
        self.prepared.warm_up()

    def teardown(self, *params) -> None:
        if self.prepared.workload.backend != "dask":
            return super().teardown(*params)
        self._client.close()
        self._cluster.close()
