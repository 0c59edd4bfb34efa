"""``bonemuscle index PATH [--json]``: what is under PATH, what is usable, and what would be analysed.

Scans PATH (file, folder, DICOMDIR or zip), groups instances into series, and prints them grouped
patient -> study -> series with modality, description, slice/frame count, geometry (matrix, pixel
spacing, slice thickness, orientation), whether each series is usable and which one is chosen per
study, then every file problem. Nothing is written.

Exit codes (contract): 0 something analysable and no file problems; 1 something analysable but some
files had problems; 3 nothing analysable (or no DICOM at all); 2 usage error (e.g. PATH missing).

JSON schema (``--json``, ``schema_version`` "1"; keys are never removed without a version bump)::

    {
      "schema_version": "1",
      "path": str,
      "summary": {"files_scanned": int, "dicom_instances": int, "non_dicom_skipped": int,
                  "dicomdirs": int, "problems": int, "series": int, "usable_series": int,
                  "chosen_series": int},
      "problems": [{"source": str, "reason": str}],          # source: path, or "archive.zip!member"
      "patients": [{
        "patient_id": str,                                     # "" when the header has none
        "studies": [{
          "study_uid": str, "study_key": str,                  # key = UID, or "nouid-<hash>" if emptied
          "study_date": str | null, "study_description": str | null,
          "chosen_unit": "ct" | "mr_dixon" | null,
          "dixon_components": ["in_phase" | "opposed_phase" | "water" | "fat", ...],
          "summary": str,
          "series": [{
            "key": str, "series_uid": str, "sub_key": str, "split_label": str | null,
            "series_number": int | null, "modality": str, "description": str,
            "kind": str,                                       # SeriesKind value, e.g. "ct_image"
            "n_instances": int, "n_frames": int,
            "matrix": {"rows": int | null, "columns": int | null},
            "pixel_spacing_mm": {"row": float, "column": float} | null,
            "slice_thickness_mm": float | null, "coverage_mm": float | null,
            "orientation": "axial" | "coronal" | "sagittal" | "oblique" | "unknown",
            "kernel": str | null, "image_type": [str], "contrast": "yes" | "no" | "unknown",
            "usable": bool, "reasons": [str], "notes": [str],
            "chosen": bool, "not_chosen_reason": str | null
          }]
        }]
      }]
    }
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any, TextIO

from imaging.cli import EXIT_NOTHING_USABLE, EXIT_OK, EXIT_SOME_FAILED, EXIT_USAGE, CliError
from imaging.ingest.discovery import Discovery, discover
from imaging.ingest.selection import Choice, StudyChoice, choose_series
from imaging.ingest.series_index import SeriesEntry, build_index

SCHEMA_VERSION = "1"


def add_parser(subparsers: Any, name: str) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        name,
        help="list every study/series under PATH and what would be analysed",
        description="Find every DICOM study/series under PATH (file, folder, DICOMDIR, zip) and report "
        "modality, description, slices, geometry, and whether each is usable for analysis.",
    )
    parser.add_argument("path", metavar="PATH", help="file, folder, DICOMDIR or zip archive")
    parser.add_argument(
        "--json", action="store_true", help="print machine-readable JSON (schema in the docs)"
    )
    parser.add_argument(
        "--prefer",
        choices=("thin", "thick"),
        default="thin",
        help="among equally good CT series, choose the thinnest (default) or the thickest slices",
    )
    parser.set_defaults(run=run)
    return parser


def run(args: argparse.Namespace, out: TextIO | None = None) -> int:
    """Index ``args.path`` and print the report; returns the contract exit code."""
    out = out or sys.stdout
    path = Path(args.path)
    if not path.exists() and not path.is_symlink():
        raise CliError(f"{_safe(str(path))}: no such file or directory", EXIT_USAGE)
    found = discover(path)
    entries = build_index(found)
    choice = choose_series(entries, prefer=args.prefer)
    report = build_report(path, found, entries, choice)
    if args.json:
        json.dump(report, out, indent=2)
        out.write("\n")
    else:
        out.write(render_text(report))
    if not choice.chosen:
        what = "no DICOM files" if not found.instances else "nothing analysable"
        print(f"bonemuscle index: {what} found under {_safe(str(path))}", file=sys.stderr)
        return EXIT_NOTHING_USABLE
    if found.problems:
        n = len(found.problems)
        print(f"bonemuscle index: {n} file(s) could not be used (listed in the report)", file=sys.stderr)
        return EXIT_SOME_FAILED
    return EXIT_OK


def build_report(path: Path, found: Discovery, entries: list[SeriesEntry], choice: Choice) -> dict[str, Any]:
    """The JSON document described in the module docstring (also the input of the text renderer)."""
    patients: dict[str, list[dict[str, Any]]] = {}
    for study in choice.studies:
        patients.setdefault(study.patient_id, []).append(_study_json(study, choice))
    return {
        "schema_version": SCHEMA_VERSION,
        "path": str(path),
        "summary": {
            "files_scanned": found.files_scanned,
            "dicom_instances": len(found.instances),
            "non_dicom_skipped": found.non_dicom_skipped,
            "dicomdirs": len(found.dicomdirs),
            "problems": len(found.problems),
            "series": len(entries),
            "usable_series": sum(e.usable for e in entries),
            "chosen_series": len(choice.chosen),
        },
        "problems": [{"source": p.source, "reason": p.reason} for p in found.problems],
        "patients": [{"patient_id": pid, "studies": studies} for pid, studies in patients.items()],
    }


def _study_json(study: StudyChoice, choice: Choice) -> dict[str, Any]:
    members = [*study.chosen, *(n.entry for n in study.not_chosen)]
    members.sort(key=lambda e: (e.series_number if e.series_number is not None else 1 << 30, e.key))
    first = members[0]
    return {
        "study_uid": first.study_uid,
        "study_key": study.study_key,
        "study_date": first.study_date,
        "study_description": first.study_description,
        "chosen_unit": study.unit.value if study.unit else None,
        "dixon_components": [c.value for c in study.dixon_components],
        "summary": study.summary,
        "series": [_series_json(e, choice) for e in members],
    }


def _series_json(e: SeriesEntry, choice: Choice) -> dict[str, Any]:
    spacing = {"row": e.pixel_spacing_mm[0], "column": e.pixel_spacing_mm[1]} if e.pixel_spacing_mm else None
    return {
        "key": e.key,
        "series_uid": e.series_uid,
        "sub_key": e.sub_key,
        "split_label": e.split_label,
        "series_number": e.series_number,
        "modality": e.modality,
        "description": e.description,
        "kind": e.kind.value,
        "n_instances": e.n_instances,
        "n_frames": e.n_frames,
        "matrix": {"rows": e.rows, "columns": e.columns},
        "pixel_spacing_mm": spacing,
        "slice_thickness_mm": e.slice_thickness_mm,
        "coverage_mm": e.coverage_mm,
        "orientation": e.orientation.value,
        "kernel": e.kernel,
        "image_type": list(e.image_type),
        "contrast": e.contrast,
        "usable": e.usable,
        "reasons": list(e.reasons),
        "notes": list(e.notes),
        "chosen": choice.is_chosen(e),
        "not_chosen_reason": choice.reason_not_chosen(e),
    }


def render_text(report: dict[str, Any]) -> str:
    """Terminal table: patient -> study -> series, one line per series plus its verdict."""
    s = report["summary"]
    lines = [
        f"Scanned {_safe(report['path'])}: {s['files_scanned']} files, "
        f"{s['dicom_instances']} DICOM instances, "
        f"{s['non_dicom_skipped']} non-DICOM skipped, {s['problems']} problem(s)",
        f"{s['series']} series, {s['usable_series']} usable, {s['chosen_series']} chosen",
    ]
    for patient in report["patients"]:
        lines.append("")
        lines.append(f"Patient {_safe(patient['patient_id']) or '(no PatientID)'}")
        for study in patient["studies"]:
            date = study["study_date"] or "no date"
            desc = f" '{_safe(study['study_description'])}'" if study["study_description"] else ""
            lines.append(f"  Study {_safe(study['study_uid']) or study['study_key']} ({date}){desc}")
            lines.append(f"    -> {_safe(study['summary'])}")
            lines.append(f"    {_row(*_HEADER)} description")
            for series in study["series"]:
                lines.extend(_series_lines(series))
    if report["problems"]:
        lines.append("")
        lines.append(f"Problems ({len(report['problems'])}):")
        lines.extend(f"  {_safe(p['source'])}: {_safe(p['reason'])}" for p in report["problems"])
    return "\n".join(lines) + "\n"


def _series_lines(series: dict[str, Any]) -> list[str]:
    m, sp = series["matrix"], series["pixel_spacing_mm"]
    matrix = f"{m['rows']}x{m['columns']}" if m["rows"] and m["columns"] else "-"
    spacing = f"{sp['row']:.3g}x{sp['column']:.3g}" if sp else "-"
    thick = f"{series['slice_thickness_mm']:.3g}" if series["slice_thickness_mm"] is not None else "-"
    count = str(series["n_instances"])
    if series["n_frames"] != series["n_instances"]:
        count += f" ({series['n_frames']} fr)"
    number = "-" if series["series_number"] is None else str(series["series_number"])
    mark = "*" if series["chosen"] else ""
    row = _row(
        mark, number, series["modality"], series["kind"], count, matrix, spacing, thick,
        series["orientation"], series["kernel"] or "-",
    )  # fmt: skip
    lines = [f"    {row} '{_safe(series['description'])}'"]
    if series["split_label"]:
        lines.append(f"           ({_safe(series['split_label'])}: {_safe(series['sub_key'])})")
    if series["chosen"]:
        verdict = "chosen for analysis"
    elif not series["usable"]:
        verdict = "not usable: " + "; ".join(series["reasons"])
    else:
        verdict = "not chosen: " + (series["not_chosen_reason"] or "")
    lines.append(f"           {_safe(verdict)}")
    lines.extend(f"           note: {_safe(n)}" for n in series["notes"])
    return lines


_HEADER = ("", "#", "mod", "kind", "slices", "matrix", "pixel mm", "thick", "orient", "kernel")
_WIDTHS = (1, 5, 3, 23, 12, 9, 11, 5, 8, 10)


def _row(*cells: str) -> str:
    return " ".join(_safe(str(c))[:w].ljust(w) for c, w in zip(cells, _WIDTHS, strict=True))


def _safe(text: str | None) -> str:
    """Printable on any terminal: control characters (newlines in names) and undecodable bytes escaped."""
    if text is None:
        return ""
    escaped = "".join(ch if ch.isprintable() else ch.encode("unicode_escape").decode("ascii") for ch in text)
    return escaped.encode("utf-8", "backslashreplace").decode("utf-8")
