"""``bonemuscle batch PATH --out DIR``: the resumable batch runner over an archive.

Same outputs as ``analyze`` (DIR/<patient>/<study>/<series>/ and DIR/cohort.csv), plus a job database
(default DIR/jobs.sqlite) recording every unit: run it again after an interruption and it goes on
where it stopped; run it over a finished database and it does nothing. Progress goes to stderr,
the summary to stdout.

``--device cuda`` on a machine without CUDA is refused (exit 2): the user asked for a GPU, and a
silent CPU fallback would turn an hour's batch into days.

Exit codes (contract): 0 every unit done; 1 some units failed (the others finished; failures
listed, from this run or earlier ones still failed in the database); 2 usage error; 3 nothing usable
(nothing analysable, a model that cannot be loaded).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import sys
from pathlib import Path
from typing import Any, TextIO

from imaging.cli import EXIT_NOTHING_USABLE, EXIT_OK, EXIT_SOME_FAILED, EXIT_USAGE, CliError
from imaging.cli.run_options import (
    add_run_arguments,
    check_run_arguments,
    job_options,
    usable_job_db,
    writable_out_dir,
)

DEFAULT_BATCH_SIZE = 16


def default_workers() -> int:
    """Decode/measure worker processes: the cores we may use, at most 8."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not on Linux
        cores = os.cpu_count() or 1
    return max(1, min(cores, 8))


def add_parser(subparsers: Any, name: str) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        name,
        help="resumable batch over an archive: job database, pipelined decode/inference, cohort table",
        description="Analyse every analysable series under PATH like `analyze`, with a job database "
        "(resumable after interruption), decode and measurement in worker processes, and network "
        "batches assembled across studies.",
    )
    parser.add_argument("path", metavar="PATH", help="file, folder, DICOMDIR or zip")
    parser.add_argument("--out", required=True, metavar="DIR", help="output folder (created if missing)")
    parser.add_argument("--db", type=Path, metavar="FILE", help="job database (default DIR/jobs.sqlite)")
    parser.add_argument(
        "--batch-size",
        type=int,
        default=DEFAULT_BATCH_SIZE,
        metavar="N",
        help=f"slices per forward pass, across studies (default {DEFAULT_BATCH_SIZE})",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=None,
        metavar="N",
        help="decode/measure worker processes (default: cores, at most 8; 0 = all in this process)",
    )
    add_run_arguments(parser)
    parser.add_argument(
        "--max-attempts",
        type=int,
        default=3,
        metavar="N",
        help="tries per unit for transient errors (default 3)",
    )
    parser.add_argument(
        "--retry-failed", action="store_true", help="run units that failed in an earlier run again"
    )
    parser.set_defaults(run=run)
    return parser


def run(args: argparse.Namespace, out: TextIO | None = None) -> int:
    """Run the batch; returns the contract exit code, or raises CliError with one clear line."""
    from imaging.batch import BatchOptions, Status, run_batch
    from imaging.batch.progress import Progress

    out = out or sys.stdout
    source, out_dir = _check_arguments(args)
    check_run_arguments(args)
    job = job_options(args, "batch", batch_size=args.batch_size)
    if job.segmentation.files:
        raise CliError(
            "batch runs networks; precomputed label files describe one series: use `bonemuscle analyze`",
            EXIT_USAGE,
        )
    workers = default_workers() if args.workers is None else args.workers
    options = BatchOptions(out_dir, args.db, workers, args.max_attempts, args.retry_failed)
    extra = {"clinical": _file_digest(args.clinical), "dxa": str(args.dxa) if args.dxa else None}
    try:
        report = run_batch(source, job, options, extra, Progress())
    except ValueError as exc:
        raise CliError(str(exc), EXIT_USAGE) from None
    for line in report.summary.lines():
        out.write(line + "\n")
    out.flush()
    counts = report.counts
    if counts[Status.DONE] == 0 and counts[Status.FAILED] == 0:
        raise CliError(f"nothing analysable under {source}", EXIT_NOTHING_USABLE)
    for label, reason in report.summary.failures:
        print(f"bonemuscle batch: {label}: FAILED: {reason}", file=sys.stderr)
    if counts[Status.DONE] == 0:
        return EXIT_NOTHING_USABLE
    return EXIT_SOME_FAILED if report.any_failed else EXIT_OK


def _check_arguments(args: argparse.Namespace) -> tuple[Path, Path]:
    source = Path(args.path)
    if not source.exists():
        raise CliError(f"{source}: no such file or directory", EXIT_USAGE)
    if args.batch_size < 1:
        raise CliError(f"--batch-size must be >= 1, got {args.batch_size}", EXIT_USAGE)
    if args.workers is not None and args.workers < 0:
        raise CliError(f"--workers must be >= 0, got {args.workers}", EXIT_USAGE)
    if args.max_attempts < 1:
        raise CliError(f"--max-attempts must be >= 1, got {args.max_attempts}", EXIT_USAGE)
    if args.db is not None:
        usable_job_db(args.db)
    return source, writable_out_dir(Path(args.out))


def _file_digest(path: Path | None) -> str | None:
    if path is None or not path.is_file():
        return None if path is None else str(path)
    return hashlib.sha256(path.read_bytes()).hexdigest()
