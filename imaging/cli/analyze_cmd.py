"""``bonemuscle analyze PATH --out DIR``: the full pipeline for every analysable series under PATH.

Labels come from networks (``--model NAME_OR_PATH``, repeatable: a compartment model and a vertebra
model; default: the registered default models) or from precomputed files (``--segmentation FILE``,
repeatable, e.g. tissue.nii.gz + vertebrae.nii.gz; a NIfTI/.tag/DICOM SEG given to ``--model`` counts
as one). Precomputed files describe one series, so they are refused when PATH holds several units.

Exit codes (contract): 0 every unit done; 1 some failed (the others finished; failures listed);
2 usage error; 3 nothing usable (nothing analysable, a model that cannot be loaded, or every unit failed).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any, TextIO

from imaging.cli import EXIT_NOTHING_USABLE, EXIT_OK, EXIT_SOME_FAILED, EXIT_USAGE, CliError
from imaging.cli.run_options import add_run_arguments, check_run_arguments, job_options, writable_out_dir
from imaging.plausible import HEIGHT_M
from imaging.segmentation.labels import MEASURED_LEVELS


def add_parser(subparsers: Any, name: str) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        name,
        help="segment and measure every analysable series under PATH (results.json, labels, SEG, SR, report)",
        description="Full pipeline for every analysable series under PATH (per study the chosen CT series or "
        "MR Dixon set): segmentation, per-level muscle/fat/bone measurements, Dixon fat fraction, subject "
        "data, DXA and osteosarcopenia classification. Outputs go to DIR/<patient>/<study>/<series>/.",
    )
    parser.add_argument("path", metavar="PATH", help="file, folder, DICOMDIR or zip")
    parser.add_argument("--out", required=True, metavar="DIR", help="output folder (created if missing)")
    add_run_arguments(parser)
    parser.add_argument(
        "--height-m", type=float, metavar="H", help="subject height in metres (overrides DICOM)"
    )
    parser.add_argument(
        "--segmentation",
        action="append",
        type=Path,
        metavar="FILE",
        help="precomputed labels (NIfTI + .labels.json, DICOM SEG, .tag) for a single series; repeatable "
        "(e.g. tissue.nii.gz and vertebrae.nii.gz)",
    )
    parser.add_argument(
        "--level", choices=MEASURED_LEVELS, metavar="LEVEL", help="level of a single-slice series (e.g. L3)"
    )
    parser.set_defaults(run=run)
    return parser


def run(args: argparse.Namespace, out: TextIO | None = None) -> int:
    """Analyse PATH; returns the contract exit code, or raises CliError with one clear line.

    The work is :func:`imaging.pipeline.run.analyze_path`'s; this checks the arguments, prints and
    maps the report to an exit code.
    """
    from imaging.pipeline.run import PlanError, analyze_path, summary_line

    out = out or sys.stdout
    source = Path(args.path)
    out_dir = _check_arguments(args, source)
    check_run_arguments(args)
    options = job_options(
        args, "analyze", files=args.segmentation or (), height_m=args.height_m, stated_level=args.level
    )

    def echo(line: str) -> None:
        out.write(line + "\n")
        out.flush()

    try:
        report = analyze_path(source, out_dir, options, echo)
    except PlanError as exc:
        raise CliError(str(exc), EXIT_USAGE) from None
    if not report.outcomes:
        reasons = "; ".join(f"{item.entry.label}: {item.reason}" for item in report.not_chosen[:5])
        raise CliError(
            f"nothing analysable under {source}" + (f" ({reasons})" if reasons else ""), EXIT_NOTHING_USABLE
        )
    for item in report.not_chosen:
        out.write(f"  not analysed: {item.entry.label}: {item.reason}\n")
    for problem in report.problems:
        print(f"bonemuscle analyze: skipped {problem.source}: {problem.reason}", file=sys.stderr)
    out.write(f"{report.n_ok} analysed, {report.n_failed} failed; results in {out_dir}\n")
    for outcome in report.outcomes:
        if not outcome.ok:
            print(f"bonemuscle analyze: {summary_line(outcome)}", file=sys.stderr)
    if not report.n_ok:
        return EXIT_NOTHING_USABLE
    return EXIT_SOME_FAILED if report.n_failed else EXIT_OK


def _check_arguments(args: argparse.Namespace, source: Path) -> Path:
    if not source.exists():
        raise CliError(f"{source}: no such file or directory", EXIT_USAGE)
    if args.height_m is not None and (problem := HEIGHT_M.problem(args.height_m)):
        raise CliError(f"--height-m: {problem}: give the height in metres", EXIT_USAGE)
    for path in args.segmentation or []:
        if not path.is_file():
            raise CliError(f"--segmentation {path}: no such file", EXIT_USAGE)
    return writable_out_dir(Path(args.out))
