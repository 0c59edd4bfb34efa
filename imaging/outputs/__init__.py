"""Everything ``analyze``/``batch`` write for one series, in the contract layout.

Public API (the pipeline calls one function per series, then one per run)::

    from imaging.outputs import write_series_outputs, update_cohort

    written = write_series_outputs(
        out_root,            # DIR of `analyze --out DIR`
        volume,              # imaging.volume.Volume the labels are on (CT in HU, or MR)
        source_datasets,     # pydicom headers of the source series (Instance.header is enough)
        tissue, vertebrae,   # imaging.segmentation.labels.LabelMap on the volume grid
        results,             # the results.json dict (validated against the contract first)
        fat_fraction_pct=None,  # Dixon MR: float array on the grid, percent
    )
    update_cohort(out_root / "cohort.csv", [results, ...])   # merge rows (batch: per finished series)
    write_cohort_page(out_root)   # cohort.html from cohort.csv (after the last merge of a run)

``written`` is a :class:`SeriesOutputs` with the folder, the paths written and ``problems``: a derived
object that could not be made (e.g. a SEG with no label present) is reported there, with the reason,
instead of failing the series -- results.json, the label files and report.html are always written.
The pipeline should copy ``problems`` into its warnings for the batch record.

Modules, one job each: :mod:`.paths` (layout, sanitising, atomic writes), :mod:`.results_json`
(contract validator), :mod:`.label_files` (NIfTI + label tables), :mod:`.dicom_seg` (SEG),
:mod:`.dicom_sr` (TID 1500 SR), :mod:`.qa_png` (overlays), :mod:`.report_html`, :mod:`.cohort`,
:mod:`.cohort_page` (cohort.html), :mod:`.codes` (every DICOM code used, documented).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

import numpy as np
import pydicom

from imaging.outputs.cohort import update_cohort
from imaging.outputs.cohort_page import write_cohort_page
from imaging.outputs.paths import (
    series_dir,
    write_bytes_atomic,
    write_json_atomic,
    write_text_atomic,
    write_with,
)
from imaging.outputs.results_json import check_results, validate_results
from imaging.schema import Results
from imaging.segmentation.labels import LabelMap
from imaging.volume import Volume

__all__ = [
    "SeriesOutputs",
    "check_results",
    "series_dir",
    "software_version",
    "update_cohort",
    "validate_results",
    "write_cohort_page",
    "write_series_outputs",
]


@dataclass(frozen=True)
class SeriesOutputs:
    """What was written for one series, and what could not be written and why."""

    folder: Path
    files: tuple[Path, ...]
    problems: tuple[str, ...] = field(default=())


def software_version() -> str:
    """``bonemuscle <version>`` of the installed distribution (recorded in SEG/SR/report)."""
    try:
        return f"bonemuscle {metadata.version('bonemuscle')}"
    except metadata.PackageNotFoundError:
        return "bonemuscle (not installed)"


def _patient_name(datasets: Sequence[pydicom.Dataset]) -> str | None:
    for ds in datasets:
        name = ds.get("PatientName")
        if name not in (None, ""):
            return str(name)
    return None


def write_series_outputs(
    out_root: str | Path,
    volume: Volume,
    source_datasets: Sequence[pydicom.Dataset],
    tissue: LabelMap,
    vertebrae: LabelMap,
    results: Results,
    fat_fraction_pct: np.ndarray | None = None,
) -> SeriesOutputs:
    """Write results.json, label files, seg.dcm, sr.dcm, qa_<level>.png, qa_levels.png and report.html
    for a series.

    Raises:
        ValueError: when ``results`` does not match the contract or a label map is off-grid (caller
            bugs: nothing is written then).
    """
    from imaging.outputs.dicom_seg import build_seg
    from imaging.outputs.dicom_sr import build_sr
    from imaging.outputs.label_files import check_label_map, write_label_files
    from imaging.outputs.qa_levels import levels_png
    from imaging.outputs.qa_png import level_pngs
    from imaging.outputs.report_html import render_report

    check_results(results)
    check_label_map(tissue, volume, "tissue")
    check_label_map(vertebrae, volume, "vertebra")
    series = results["series"]
    folder = series_dir(out_root, series.get("patient_id"), series.get("study_uid"), series.get("series_uid"))
    folder.mkdir(parents=True, exist_ok=True)
    version = software_version()
    files = [write_json_atomic(folder / "results.json", results)]
    files += write_label_files(folder, volume, tissue, vertebrae, fat_fraction_pct)
    problems: list[str] = []

    seg = segments = None
    try:
        built, segments = build_seg(
            volume, source_datasets, tissue, vertebrae, results["model"], software_version=version
        )
        files.append(write_with(folder / "seg.dcm", lambda tmp: built.save_as(tmp, enforce_file_format=True)))
        seg = built
    except (ValueError, TypeError, AttributeError) as exc:  # highdicom refuses inconsistent sources this way
        seg = None
        problems.append(f"seg.dcm not written: {exc}")
    try:
        sr = build_sr(results, volume, source_datasets, seg, segments or [], software_version=version)
        files.append(write_with(folder / "sr.dcm", lambda tmp: sr.save_as(tmp, enforce_file_format=True)))
    except (ValueError, TypeError, AttributeError) as exc:
        problems.append(f"sr.dcm not written: {exc}")

    pngs = level_pngs(volume, tissue, results["levels"])
    files += [write_bytes_atomic(folder / f"qa_{level}.png", data) for level, data in pngs.items()]
    spine = levels_png(volume, vertebrae, (results.get("segmentation") or {}).get("vertebra_levels"))
    files.append(write_bytes_atomic(folder / "qa_levels.png", spine))
    html = render_report(
        results, pngs, patient_name=_patient_name(source_datasets), software_version=version, levels_png=spine
    )
    files.append(write_text_atomic(folder / "report.html", html))
    return SeriesOutputs(folder, tuple(files), tuple(problems))
