"""The options ``analyze`` and ``batch`` share: defined once, checked once, turned into one JobOptions.

Both commands run the same stages on every unit, so what a unit computes (models, tissue rules,
level convention, slab, subject records, device) is declared here and nowhere else; each command
adds only how it schedules the work (``batch``: job database, workers, batch size) or what only
fits one series (``analyze``: ``--segmentation``, ``--height-m``, ``--level``).
"""

from __future__ import annotations

import argparse
import math
import os
import sys
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from imaging.cli import EXIT_NOTHING_USABLE, EXIT_USAGE, CliError

if TYPE_CHECKING:  # the stages load when a command runs, not for --help
    from imaging.pipeline.series_job import JobOptions
    from imaging.pipeline.subject import SubjectSources
    from imaging.segmentation.source import SegmentationSource

SQLITE_MAGIC = b"SQLite format 3\x00"


def writable_out_dir(path: Path) -> Path:
    """``--out`` proved writable before any work starts (made and removed again if missing): below a
    file, in a read-only folder or on a pseudo file system, the run would otherwise fail after the
    first study.

    Raises:
        CliError: exit 2, naming the folder and the reason.
    """
    if path.exists() and not path.is_dir():
        raise CliError(f"--out {path}: exists and is not a folder", EXIT_USAGE)
    created = [p for p in (path, *path.parents) if not p.exists()]
    try:
        path.mkdir(parents=True, exist_ok=True)
        probe = path / f".bonemuscle-write-test-{os.getpid()}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise CliError(f"--out {path}: cannot write there ({exc.strerror or exc})", EXIT_USAGE) from None
    finally:  # a check leaves nothing behind: a later refusal (e.g. --device) writes nothing
        for folder in created:
            try:
                folder.rmdir()
            except OSError:
                break
    return path


def usable_job_db(path: Path) -> Path:
    """``--db`` is a file that is an SQLite database, or does not exist yet (then it is created).

    Raises:
        CliError: exit 2 for a folder or a file that is not an SQLite database.
    """
    if path.is_dir():
        raise CliError(f"--db {path}: is a folder, not a database file", EXIT_USAGE)
    if path.exists():
        try:
            with open(path, "rb") as fh:
                head = fh.read(len(SQLITE_MAGIC))
        except OSError as exc:
            raise CliError(f"--db {path}: not readable ({exc.strerror or exc})", EXIT_USAGE) from None
        if head and head != SQLITE_MAGIC:
            raise CliError(f"--db {path}: not an SQLite database (refusing to overwrite it)", EXIT_USAGE)
    return path


# --level-convention choice -> imaging.levels.slices.SliceConvention member name
CONVENTIONS = {"mid_vertebral": "MID_VERTEBRAL", "transverse_processes": "TRANSVERSE_PROCESSES"}


def add_run_arguments(parser: argparse.ArgumentParser) -> None:
    """The options that decide what every unit computes."""
    parser.add_argument(
        "--device", choices=("auto", "cpu", "cuda"), default="auto", help="where networks run"
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
        "(repeatable: compartment model + vertebra model; default: the registered model of each "
        "series' modality)",
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
        "--vat-window",
        choices=("alberta", "wide"),
        default="alberta",
        help="VAT HU window: alberta -150..-50 (default) or wide -190..-30",
    )


def check_run_arguments(args: argparse.Namespace) -> None:
    """Refuse what cannot work before anything is read: absent files, a nonsense slab."""
    if not math.isfinite(args.slab_mm) or args.slab_mm < 0:
        raise CliError(f"--slab-mm must be a number >= 0, got {args.slab_mm:g}", EXIT_USAGE)
    for flag, path in (("--clinical", args.clinical), ("--dxa", args.dxa)):
        if path is not None and not path.exists():
            raise CliError(f"{flag} {path}: no such file or directory", EXIT_USAGE)


def job_options(
    args: argparse.Namespace,
    command: str,
    *,
    files: Sequence[Path] = (),
    height_m: float | None = None,
    stated_level: str | None = None,
    batch_size: int | None = None,
) -> JobOptions:
    """One JobOptions for the run, from the shared options plus what the command adds."""
    from imaging.levels.slices import SliceConvention
    from imaging.measurements.per_level import MeasureOptions
    from imaging.pipeline.series_job import JobOptions

    convention = SliceConvention[CONVENTIONS[args.level_convention]]
    return JobOptions(
        segmentation=segmentation_source(args, files, batch_size),
        levels=MeasureOptions(convention, args.slab_mm, stated_level),
        subject=subject_sources(args, command, height_m),
    )


def segmentation_source(
    args: argparse.Namespace, files: Sequence[Path] = (), batch_size: int | None = None
) -> SegmentationSource:
    """Networks or precomputed files from --model (and analyze's --segmentation); default: the
    registered models, of which each series runs those of its modality."""
    from imaging.segmentation.source import SegmentationSource, is_segmentation_file
    from imaging.segmentation.tissue_rules import CtRule, TissueRules, VatWindow
    from segmentation_models.inference import InferenceOptions
    from segmentation_models.loading import ModelLoadError, resolve_model
    from segmentation_models.registry import DEFAULT_MODEL_NAMES, SpecError, registered_names

    rules = TissueRules(ct=CtRule(vat=VatWindow.ALBERTA if args.vat_window == "alberta" else VatWindow.WIDE))
    files = list(files)
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
                "give --model NAME_OR_PATH, or precomputed labels with --segmentation FILE",
                EXIT_USAGE,
            )
    try:  # the device and AMP are decided here, once for the run, before any model or file is read
        inference = InferenceOptions(device=args.device).on_device()
    except RuntimeError as exc:  # a GPU asked for and not there: a silent CPU fallback would take days
        raise CliError(str(exc), EXIT_USAGE) from None
    if batch_size is not None:
        inference = replace(inference, batch_size=batch_size)
    try:
        models = tuple(resolve_model(name) for name in names)
    except (ModelLoadError, SpecError) as exc:
        raise CliError(f"--model: {exc}", EXIT_NOTHING_USABLE) from None
    return SegmentationSource(models=models, inference=inference, rules=rules)


def subject_sources(args: argparse.Namespace, command: str, height_m: float | None = None) -> SubjectSources:
    """The clinical CSV and DXA reports, read once for the run (warnings go to stderr)."""
    from imaging.clinical import ClinicalDataError
    from imaging.ingest.model import IngestError
    from imaging.pipeline.subject import load_subject_sources

    try:
        sources, warnings = load_subject_sources(args.clinical, args.dxa, height_m)
    except ClinicalDataError as exc:
        raise CliError(f"--clinical {args.clinical}: {exc}", EXIT_USAGE) from None
    except IngestError as exc:
        raise CliError(f"--dxa: {exc}", EXIT_USAGE) from None
    for warning in warnings:
        print(f"bonemuscle {command}: {warning}", file=sys.stderr)
    return sources
