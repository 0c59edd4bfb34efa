"""``bonemuscle export-volume SERIES_PATH OUT.nii.gz [--series UID]``: the volume the pipeline sees.

SERIES_PATH (file, folder, DICOMDIR or zip) is scanned with the same discovery and series index as
``bonemuscle index``; when it holds several series the command refuses and lists them, and
``--series`` picks one (SeriesInstanceUID, or the index key ``UID#part`` for a split series). The
volume is assembled exactly as analysis does (HU for CT, tilt corrected, slices ordered along the
normal) and written as NIfTI in RAS with qform and sform set.

The file is written to a temporary name beside OUT and renamed, so a failed run never leaves a
half-written OUT; OUT may never be one of the input files.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any, TextIO

from imaging.cli import EXIT_NOTHING_USABLE, EXIT_OK, EXIT_USAGE, CliError
from imaging.ingest.assemble import assemble_volume
from imaging.ingest.discovery import discover
from imaging.ingest.series_index import SeriesEntry, build_index
from imaging.volume import Volume, to_nifti


def add_parser(subparsers: Any, name: str) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        name,
        help="write one series as NIfTI exactly as the pipeline sees it (HU for CT)",
        description="Assemble one DICOM series (slices ordered along the normal, duplicates and gantry "
        "tilt handled, rescaled to HU for CT) and write it as NIfTI (RAS, qform and sform).",
    )
    parser.add_argument("series_path", metavar="SERIES_PATH", help="file, folder, DICOMDIR or zip")
    parser.add_argument("out", metavar="OUT.nii.gz", help="output NIfTI path (.nii or .nii.gz)")
    parser.add_argument(
        "--series", metavar="UID", help="SeriesInstanceUID (or index key) when there are several"
    )
    parser.set_defaults(run=run)
    return parser


def run(args: argparse.Namespace, out: TextIO | None = None) -> int:
    """Export the selected series; returns 0, or raises CliError/IngestError with one clear line."""
    out = out or sys.stdout
    source = Path(args.series_path)
    target = Path(args.out)
    if not source.exists():
        raise CliError(f"{source}: no such file or directory", EXIT_USAGE)
    if not target.name.endswith((".nii", ".nii.gz")):
        raise CliError(f"{target}: output must end in .nii or .nii.gz", EXIT_USAGE)
    if not target.parent.is_dir():
        raise CliError(f"{target.parent}: output folder does not exist", EXIT_USAGE)
    found = discover(source)
    entries = build_index(found)
    if not entries:
        raise CliError(f"no DICOM image series found under {source}", EXIT_NOTHING_USABLE)
    entry = pick_series(entries, args.series, source)
    _refuse_overwriting_input(target, source, entry)
    volume = assemble_volume(entry.instances)
    write_atomically(volume, target)
    out.write(summary_line(volume, target, entry) + "\n")
    for note in [*volume.meta.corrections, *volume.meta.warnings]:
        out.write(f"  note: {note}\n")
    for problem in found.problems:
        print(f"bonemuscle export-volume: skipped {problem.source}: {problem.reason}", file=sys.stderr)
    return EXIT_OK


def pick_series(entries: list[SeriesEntry], wanted: str | None, source: Path) -> SeriesEntry:
    """The one series to export: the only one, or the one ``--series`` names.

    Raises:
        CliError: listing the series when the choice is ambiguous or ``--series`` matches none.
    """
    if wanted:
        matches = [e for e in entries if wanted in (e.key, e.series_uid)]
        if len(matches) == 1:
            return matches[0]
        if not matches:
            raise CliError(
                f"--series {wanted} is not under {source}; series there: {_listing(entries)}", EXIT_USAGE
            )
        raise CliError(
            f"series {wanted} was split into {len(matches)} parts; pick one with --series KEY: "
            f"{_listing(matches)}",
            EXIT_USAGE,
        )
    if len(entries) == 1:
        return entries[0]
    raise CliError(
        f"{source} holds {len(entries)} series; pick one with --series: {_listing(entries)}", EXIT_USAGE
    )


def _listing(entries: list[SeriesEntry]) -> str:
    return "; ".join(f"{e.key} ({e.label}, {e.modality}, {e.n_frames} images)" for e in entries)


def _refuse_overwriting_input(target: Path, source: Path, entry: SeriesEntry) -> None:
    resolved = target.resolve()
    inputs = {source.resolve(), *(inst.source.path.resolve() for inst in entry.instances)}
    if resolved in inputs:
        raise CliError(f"{target}: refusing to overwrite an input file", EXIT_USAGE)


def write_atomically(volume: Volume, target: Path) -> Path:
    """Write to a temporary file in the target folder, then rename over ``target``."""
    suffix = ".nii.gz" if target.name.endswith(".nii.gz") else ".nii"
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp{suffix}")
    try:
        to_nifti(volume, tmp)
        os.replace(tmp, target)
    finally:
        if tmp.exists():
            tmp.unlink()
    return target


def summary_line(volume: Volume, target: Path, entry: SeriesEntry) -> str:
    k, j, i = volume.shape
    sx, sy, sz = volume.spacing_xyz
    units = volume.meta.units or "stored units x rescale"
    return (
        f"wrote {target}: {entry.label}, {i}x{j}x{k} voxels (columns x rows x slices), "
        f"spacing {sx:.4g} x {sy:.4g} x {sz:.4g} mm, {volume.array.dtype} {units}"
    )
