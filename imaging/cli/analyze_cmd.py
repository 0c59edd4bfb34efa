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

from imaging.cli import EXIT_NOTHING_USABLE, EXIT_OK, EXIT_SOME_FAILED, EXIT_USAGE, CliError, check_device
from imaging.levels.slices import SliceConvention
from imaging.segmentation.labels import MEASURED_LEVELS

#: Registered names tried when neither --model nor --segmentation is given (the training recipes' names).
CONVENTIONS = {
    "mid_vertebral": SliceConvention.MID_VERTEBRAL,
    "transverse_processes": SliceConvention.TRANSVERSE_PROCESSES,
}
HEIGHT_RANGE_M = (0.5, 2.5)


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
    parser.add_argument(
        "--device", choices=("auto", "cpu", "cuda"), default="auto", help="where networks run"
    )
    parser.add_argument(
        "--height-m", type=float, metavar="H", help="subject height in metres (overrides DICOM)"
    )
    parser.add_argument(
        "--clinical", type=Path, metavar="CSV", help="clinical CSV (height, weight, function)"
    )
    parser.add_argument("--dxa", type=Path, metavar="PATH", help="DXA report file or folder")
    parser.add_argument(
        "--model",
        action="append",
        metavar="NAME_OR_PATH",
        help="registered model name, MONAI bundle, TorchScript file, or a precomputed segmentation file "
        "(repeatable: compartment model + vertebra model)",
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
        "--level-convention",
        choices=tuple(CONVENTIONS),
        default="mid_vertebral",
        help="L3 slice: mid-vertebral (default) or the slice with both transverse processes visible",
    )
    parser.add_argument(
        "--slab-mm",
        type=float,
        default=5.0,
        metavar="N",
        help="also report means over ±N mm (default 5; 0 = off)",
    )
    parser.add_argument(
        "--level", choices=MEASURED_LEVELS, metavar="LEVEL", help="level of a single-slice series (e.g. L3)"
    )
    parser.add_argument(
        "--vat-window",
        choices=("alberta", "wide"),
        default="alberta",
        help="VAT HU window: alberta -150..-50 (default) or wide -190..-30",
    )
    parser.set_defaults(run=run)
    return parser


def run(args: argparse.Namespace, out: TextIO | None = None) -> int:
    """Analyse PATH; returns the contract exit code, or raises CliError with one clear line.

    The work is :func:`imaging.pipeline.run.analyze_path`'s; this checks the arguments, prints and
    maps the report to an exit code.
    """
    from imaging.measurements.per_level import MeasureOptions
    from imaging.pipeline.run import PlanError, analyze_path, summary_line
    from imaging.pipeline.series_job import JobOptions

    out = out or sys.stdout
    source = Path(args.path)
    out_dir = _check_arguments(args, source)
    check_device(args.device)
    options = JobOptions(
        segmentation=_segmentation_source(args),
        levels=MeasureOptions(CONVENTIONS[args.level_convention], args.slab_mm, args.level),
        subject=_subject_sources(args),
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
    out_dir = Path(args.out)
    if out_dir.exists() and not out_dir.is_dir():
        raise CliError(f"--out {out_dir}: exists and is not a folder", EXIT_USAGE)
    if args.height_m is not None and not HEIGHT_RANGE_M[0] <= args.height_m <= HEIGHT_RANGE_M[1]:
        raise CliError(
            f"--height-m {args.height_m:g} is not a height in metres "
            f"({HEIGHT_RANGE_M[0]}-{HEIGHT_RANGE_M[1]})",
            EXIT_USAGE,
        )
    if args.slab_mm < 0:
        raise CliError(f"--slab-mm must be >= 0, got {args.slab_mm:g}", EXIT_USAGE)
    for flag, path in (("--clinical", args.clinical), ("--dxa", args.dxa)):
        if path is not None and not path.exists():
            raise CliError(f"{flag} {path}: no such file or directory", EXIT_USAGE)
    for path in args.segmentation or []:
        if not path.is_file():
            raise CliError(f"--segmentation {path}: no such file", EXIT_USAGE)
    return out_dir


def _segmentation_source(args: argparse.Namespace) -> Any:
    """Networks or precomputed files from --model/--segmentation (defaults: the registered models)."""
    from imaging.segmentation.source import SegmentationSource, is_segmentation_file
    from imaging.segmentation.tissue_rules import CtRule, TissueRules, VatWindow
    from segmentation_models.inference import InferenceOptions
    from segmentation_models.loading import ModelLoadError, resolve_model
    from segmentation_models.registry import DEFAULT_MODEL_NAMES, SpecError, registered_names

    rules = TissueRules(ct=CtRule(vat=VatWindow.ALBERTA if args.vat_window == "alberta" else VatWindow.WIDE))
    files = list(args.segmentation or [])
    names: list[str] = []
    for text in args.model or []:
        (files.append(Path(text)) if is_segmentation_file(Path(text)) else names.append(text))
    if files and names:
        raise CliError("give networks (--model) or precomputed labels (--segmentation), not both", EXIT_USAGE)
    if files:
        return SegmentationSource(files=tuple(files), rules=rules)
    if not names:
        names = [n for n in DEFAULT_MODEL_NAMES.values() if n in registered_names()]
        if not names:
            raise CliError(
                f"no default segmentation model is registered ({', '.join(DEFAULT_MODEL_NAMES.values())}): "
                "give "
                "--model NAME_OR_PATH, or precomputed labels with --segmentation FILE",
                EXIT_USAGE,
            )
    try:
        models = tuple(resolve_model(name) for name in names)
    except (ModelLoadError, SpecError) as exc:
        raise CliError(f"--model: {exc}", EXIT_NOTHING_USABLE) from None
    return SegmentationSource(models=models, inference=InferenceOptions(device=args.device), rules=rules)


def _subject_sources(args: argparse.Namespace) -> Any:
    from imaging.clinical import ClinicalDataError
    from imaging.ingest.model import IngestError
    from imaging.pipeline.subject import load_subject_sources

    try:
        sources, warnings = load_subject_sources(args.clinical, args.dxa, args.height_m)
    except ClinicalDataError as exc:
        raise CliError(f"--clinical {args.clinical}: {exc}", EXIT_USAGE) from None
    except IngestError as exc:
        raise CliError(f"--dxa: {exc}", EXIT_USAGE) from None
    for warning in warnings:
        print(f"bonemuscle analyze: {warning}", file=sys.stderr)
    return sources
