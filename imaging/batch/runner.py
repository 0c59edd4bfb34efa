"""The batch runner: plan units into the job database, then run them as a pipeline.

Where the work happens::

    worker processes (N)         main process                     worker processes (same pool)
    decode + preprocess   --->   CrossStudyBatcher (model loaded  --->  segmentation rules, measure,
    (stages.prepare)             once, batches across studies)          write (stages.finish)
                                 job database, cohort.csv, progress

Memory stays flat on long archives because at most ``workers + 2`` units are anywhere in the
pipeline at once (decoding, waiting for or in inference, being measured); the next unit is claimed
only when one leaves. The job database is written only here (one writer); workers return values.

Crash safety: a unit is marked done after its files and its cohort.csv row are in place; a kill at
any moment leaves it ``running`` in the database, and the next run re-queues it (see
:mod:`imaging.batch.jobs_db`). cohort.csv rows are keyed by series UID, so re-running a unit
replaces its row instead of adding one.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Mapping
from concurrent.futures import FIRST_COMPLETED, Executor, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import asdict, dataclass, field
from multiprocessing import get_context
from pathlib import Path
from typing import Any

from imaging.batch import stages
from imaging.batch.inference_loop import BatchStats, CrossStudyBatcher
from imaging.batch.jobs_db import (
    DEFAULT_NAME,
    STAGES,
    JobsDb,
    Status,
    UnitSpec,
    fingerprint_files,
    options_hash,
)
from imaging.batch.progress import Progress, Summary
from imaging.ingest.discovery import discover
from imaging.ingest.model import FileProblem
from imaging.ingest.selection import StudyChoice, choose_series
from imaging.ingest.series_index import build_index
from imaging.outputs import software_version, update_cohort, write_cohort_page
from imaging.pipeline.run import summary_line
from imaging.pipeline.series_job import JobOptions, unit_label
from imaging.segmentation.networks import ModelRecord

COHORT_EVERY_UNITS = 16  # cohort.csv is rewritten whole: group finished units (bounded delay below)
COHORT_EVERY_S = 10.0


@dataclass(frozen=True)
class BatchOptions:
    """How the batch runs (what it computes is in the pipeline's JobOptions)."""

    out_dir: Path
    db_path: Path | None = None
    workers: int = 2
    max_attempts: int = 3
    retry_failed: bool = False

    def __post_init__(self) -> None:
        if self.workers < 0:
            raise ValueError(
                f"workers must be >= 0 (0 = run every stage in this process), got {self.workers}"
            )

    @property
    def db(self) -> Path:
        return self.db_path or self.out_dir / DEFAULT_NAME


@dataclass(frozen=True)
class PlannedUnit:
    spec: UnitSpec
    choice: StudyChoice


@dataclass(frozen=True)
class BatchReport:
    """What a run did, for the summary and the exit code."""

    summary: Summary
    counts: Mapping[Status, int]
    stats: BatchStats | None
    versions: Mapping[str, Any] = field(default_factory=dict)

    @property
    def any_failed(self) -> bool:
        return self.counts.get(Status.FAILED, 0) > 0


def unit_key(choice: StudyChoice) -> str:
    """Study UID + the chosen series UIDs: stable across runs and moves of the archive."""
    study = choice.chosen[0].study_uid or choice.study_key if choice.chosen else choice.study_key
    series = "+".join(e.series_uid or e.series_key for e in choice.chosen) or "-"
    return f"{study}/{series}"


def analysis_record(job: JobOptions, extra: Mapping[str, Any]) -> dict[str, Any]:
    """The options whose change makes finished units run again (hashed into each row)."""
    return {
        "model": job.segmentation.model_block(),
        "levels": asdict(job.levels),
        "ct_rule": repr(job.segmentation.rules.ct),
        "mr_rule": repr(job.segmentation.rules.mr),
        "overlap": job.segmentation.inference.overlap,
        **extra,
    }


def plan(
    path: Path, opts_hash: str
) -> tuple[list[PlannedUnit], list[tuple[str, str, str]], list[FileProblem]]:
    """Units to run, studies with nothing analysable (key, label, reason), unreadable files.

    Raises:
        FileNotFoundError: ``path`` does not exist.
    """
    found = discover(path)
    choice = choose_series(build_index(found))
    units, skipped = [], []
    for study in choice.studies:
        if study.chosen:
            paths = [str(inst.source.path) for e in study.chosen for inst in e.instances]
            spec = UnitSpec(unit_key(study), unit_label(study), fingerprint_files(paths), opts_hash)
            units.append(PlannedUnit(spec, study))
        else:
            reasons = "; ".join(f"{n.entry.label}: {n.reason}" for n in study.not_chosen) or study.summary
            skipped.append((unit_key(study), f"{study.patient_id or '?'} study {study.study_key}", reasons))
    return units, skipped, list(found.problems)


class _Inline(Executor):
    """Runs submitted work at once in this process (``--workers 0``: debugging, tests)."""

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future:
        fut: Future = Future()
        try:
            fut.set_result(fn(*args, **kwargs))
        except BaseException as exc:
            fut.set_exception(exc)
        return fut


def _executor(workers: int) -> Executor:
    if workers == 0:
        return _Inline()
    # spawn: the main process holds torch threads (and maybe CUDA), which fork does not copy safely
    return ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn"))


class _Run:
    """One run's mutable state; :func:`run_batch` is its public face."""

    def __init__(
        self, units: list[PlannedUnit], job: JobOptions, options: BatchOptions, db: JobsDb, progress: Progress
    ) -> None:
        self.units = {u.spec.key: u for u in units}
        self.job, self.options, self.db, self.progress = job, options, db, progress
        models = job.segmentation.models
        self.specs = [m.spec for m in models]
        self.batcher = CrossStudyBatcher(models, job.segmentation.inference)
        self.finish_options = stages.FinishOptions(
            out_dir=options.out_dir,
            levels=job.levels,
            subject=job.subject,
            models=tuple(ModelRecord.of(m) for m in models),
            rules=job.segmentation.rules,
            device=str(self.batcher.device),
            amp=self.batcher.amp,
        )
        self.versions = {
            "bonemuscle": software_version(),
            "models": [m.describe() for m in models],
            "device": str(self.batcher.device),
            "amp": self.batcher.amp,
        }
        self.max_in_flight = max(2, options.workers + 2)
        self.timings: dict[str, dict[str, float]] = {}
        self.stage_totals = dict.fromkeys(STAGES, 0.0)
        self.done_now = self.failed_now = 0
        self.finished: list[tuple[str, stages.UnitOutcome]] = []
        self.last_flush = time.monotonic()

    def run(self, queued: list[str]) -> None:
        pending = deque(queued)
        self.progress.start(len(pending))
        pool = _executor(self.options.workers)
        prep: dict[Future, str] = {}
        fin: dict[Future, str] = {}
        try:
            while pending or prep or fin or self.batcher.busy or self.finished:
                while pending and len(prep) + len(fin) + len(self.batcher_keys()) < self.max_in_flight:
                    key = pending.popleft()
                    if self.db.claim(key):
                        self.timings[key] = {}
                        prep[pool.submit(stages.prepare, key, self.units[key].choice, self.specs)] = key
                progressed = self._collect_prepared(prep, pending)
                progressed |= self._infer(flush=not prep, pending=pending)
                for prepared, heads, seconds in self.batcher.take_finished():
                    self.timings[prepared.key]["inference"] = seconds
                    fin[
                        pool.submit(
                            stages.finish, prepared.decoded, heads, prepared.models, self.finish_options
                        )
                    ] = prepared.key
                    progressed = True
                progressed |= self._collect_finished(fin, pending)
                drained = not (pending or prep or fin or self.batcher.busy)
                self._flush_cohort(force=drained)
                if not progressed and (prep or fin):
                    wait(list(prep) + list(fin), timeout=1.0, return_when=FIRST_COMPLETED)
                if isinstance(pool, ProcessPoolExecutor) and _broken(pool):
                    pool = self._restart_pool(pool, prep, fin, pending)
        finally:
            self._flush_cohort(force=True)
            pool.shutdown(wait=False, cancel_futures=True)
            self.progress.close()

    def batcher_keys(self) -> list[str]:
        return list(self.batcher._units)

    # -- stage results --------------------------------------------------------------------------------------

    def _collect_prepared(self, prep: dict[Future, str], pending: deque[str]) -> bool:
        progressed = False
        for fut in [f for f in prep if f.done()]:
            key = prep.pop(fut)
            progressed = True
            result = _result(fut)
            if isinstance(result, stages.Failure):
                self._failed(key, result, pending)
                continue
            self.timings[key].update(result.timings)
            try:
                self.batcher.add(result)
            except Exception as exc:
                self._abort_batcher(exc, pending)
        return progressed

    def _infer(self, flush: bool, pending: deque[str]) -> bool:
        try:
            return self.batcher.step(flush)
        except Exception as exc:  # a batch mixes units: all of them go back (or fail) together
            self._abort_batcher(exc, pending)
            return True

    def _abort_batcher(self, exc: Exception, pending: deque[str]) -> None:
        failure = stages.classify_error(exc)
        keys = self.batcher_keys()
        self.batcher = CrossStudyBatcher(self.batcher.models, self.job.segmentation.inference)
        for key in keys:
            self._failed(key, stages.Failure(f"inference: {failure.reason}", failure.transient), pending)

    def _collect_finished(self, fin: dict[Future, str], pending: deque[str]) -> bool:
        progressed = False
        for fut in [f for f in fin if f.done()]:
            key = fin.pop(fut)
            progressed = True
            result = _result(fut)
            if isinstance(result, stages.Failure):
                self._failed(key, result, pending)
                continue
            outcome, clock = result
            self.timings[key].update(clock)
            self.finished.append((key, outcome))
        return progressed

    def _flush_cohort(self, force: bool) -> None:
        """cohort.csv first, then the rows: a unit is done only once its row is in the cohort."""
        if not self.finished:
            return
        due = len(self.finished) >= COHORT_EVERY_UNITS or time.monotonic() - self.last_flush >= COHORT_EVERY_S
        if not (force or due):
            return
        start = time.perf_counter()
        update_cohort(self.options.out_dir / "cohort.csv", [o.results for _, o in self.finished if o.results])
        share = (time.perf_counter() - start) / len(self.finished)
        for key, outcome in self.finished:
            timing = self.timings.pop(key, {})
            timing["write"] = timing.get("write", 0.0) + share
            self.db.mark_done(key, timing, self.versions, str(outcome.folder) if outcome.folder else None)
            for stage in STAGES:
                self.stage_totals[stage] += timing.get(stage, 0.0)
            self.done_now += 1
            self.progress.unit_finished(outcome.label, True, _detail(outcome))
        self.finished = []
        self.last_flush = time.monotonic()

    def _failed(self, key: str, failure: stages.Failure, pending: deque[str]) -> None:
        status = self.db.mark_failed(key, failure.reason, failure.transient, self.timings.pop(key, {}))
        label = self.units[key].spec.label
        if status is Status.QUEUED:
            self.progress.note(f"{label}: {failure.reason}; will retry")
            pending.append(key)
            return
        self.failed_now += 1
        self.progress.unit_finished(label, False, failure.reason)

    def _restart_pool(
        self, pool: ProcessPoolExecutor, prep: dict[Future, str], fin: dict[Future, str], pending: deque[str]
    ) -> Executor:
        """A worker died (killed, out of memory): its units are transient failures, the pool starts again."""
        lost = list(prep.values()) + list(fin.values())
        prep.clear()
        fin.clear()
        pool.shutdown(wait=False, cancel_futures=True)
        for key in lost:
            self._failed(key, stages.Failure("a worker process died while running this unit", True), pending)
        return _executor(self.options.workers)


def _detail(outcome: stages.UnitOutcome) -> str:
    """summary_line without the label and "ok" the progress line already shows."""
    return summary_line(outcome).removeprefix(f"{outcome.label}: ").removeprefix("ok: ")


def sweep_temp_files(out_dir: Path) -> list[Path]:
    """Delete temporary files a killed run left beside the outputs (finished files are never partial).

    Call only when no other runner uses ``out_dir`` (the job database says so).
    """
    removed = []
    for pattern in (".*.tmp*", "*/*/*/.*.tmp*"):
        for path in out_dir.glob(pattern):
            if path.is_file():
                path.unlink(missing_ok=True)
                removed.append(path)
    return removed


def _broken(pool: ProcessPoolExecutor) -> bool:
    return bool(getattr(pool, "_broken", False))


def _result(fut: Future) -> Any:
    try:
        return fut.result()
    except BrokenProcessPool:
        return stages.Failure("a worker process died while running this unit", True)
    except Exception as exc:  # e.g. a result that could not be pickled
        return stages.classify_error(exc)


def run_batch(
    path: Path,
    job: JobOptions,
    options: BatchOptions,
    extra_options: Mapping[str, Any] | None = None,
    progress: Progress | None = None,
) -> BatchReport:
    """Run every analysable unit under ``path`` not already done in the job database.

    Raises:
        FileNotFoundError: ``path`` does not exist.
        RuntimeError: the device asked for is not available (before anything runs).
        ValueError: the job database belongs to another schema version.
    """
    if not job.segmentation.models:
        raise ValueError("the batch runner runs networks; give models (precomputed labels: use analyze)")
    progress = progress or Progress()
    started = time.monotonic()
    opts_hash = options_hash(analysis_record(job, extra_options or {}))
    units, skipped, problems = plan(path, opts_hash)
    options.out_dir.mkdir(parents=True, exist_ok=True)
    with JobsDb(options.db, options.max_attempts) as db:
        for key in db.recover():
            row = db.get(key)
            if row is not None:
                progress.note(f"{row.label}: interrupted in an earlier run; {row.status.value}")
        if not db.rows(Status.RUNNING):  # no other live runner writes here
            sweep_temp_files(options.out_dir)
        sync = db.sync([u.spec for u in units], retry_failed=options.retry_failed)
        for key, label, reason in skipped:
            db.record_skipped(key, label, reason)
        known = {u.spec.key for u in units}
        queued = [k for k in db.queued_keys() if k in known]
        run = _Run(units, job, options, db, progress)
        run.run(queued)
        page = options.out_dir / "cohort.html"
        # after the final cohort flush; a run that finished nothing leaves every output untouched
        if (options.out_dir / "cohort.csv").is_file() and (run.done_now or not page.is_file()):
            try:
                write_cohort_page(options.out_dir)
            except (OSError, ValueError) as exc:  # the summary page must not fail a finished run
                progress.note(f"cohort.html not written: {exc}")
        rows = db.rows()
        counts = db.counts()
    failures = [(r.label, r.reason or "?") for r in rows if r.status is Status.FAILED]
    summary = Summary(
        done_now=run.done_now,
        failed_now=run.failed_now,
        already_done=len(sync.already_done),
        skipped=[(r.label, r.reason or "") for r in rows if r.status is Status.SKIPPED],
        failures=failures,
        wall_s=time.monotonic() - started,
        stage_seconds=run.stage_totals,
        unreadable=[(p.source, p.reason) for p in problems],
    )
    return BatchReport(summary, counts, run.batcher.stats, run.versions)
