"""Find DXA reports in a file or folder, pick the reader for each, and merge one visit's reports.

A folder may hold anything (CT series, clinical CSVs...): files that are plainly not DXA are skipped
quietly, files that look like DXA but cannot be read become problems with a reason, and a single file given
explicitly must be a DXA report or the error says what it is instead.

Merging: APEX writes one report object per scan (spine, hip, whole body), so results with the same patient
id, vendor, format and exam date are merged into one result per visit; conflicting values are reported.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pydicom

from imaging.dxa.common import assemble
from imaging.dxa.csv_exports import csv_kind, read_csv_export, read_header
from imaging.dxa.ge_sr import is_ge_dxa_sr, is_sr, meaning, read_ge_sr
from imaging.dxa.ge_xml import read_ge_xml, results_xml
from imaging.dxa.hologic_sc import read_hologic_sc, text_block
from imaging.dxa.model import DxaResult, Patient, Region, RegionMass, Site, SiteValues
from imaging.ingest.model import FileProblem, IngestError

DicomReader = Callable[[pydicom.Dataset, str], DxaResult]
DXA_MODALITIES = frozenset({"BMD", "BD"})


class NotDxa(Exception):
    """The file is readable but is not a DXA report; the message says what it is."""


@dataclass(frozen=True)
class DxaScan:
    """What a path held: results (merged per visit), files that failed, and how many were not DXA."""

    results: tuple[DxaResult, ...] = ()
    problems: tuple[FileProblem, ...] = ()
    not_dxa: tuple[str, ...] = field(default=())


def dicom_reader(ds: pydicom.Dataset, source: str) -> DicomReader:
    """The reader for a DICOM dataset.

    Raises:
        NotDxa: no DXA content (message describes the object).
        IngestError: DXA-looking object in a layout no reader knows (message names what was found).
    """
    if is_ge_dxa_sr(ds):
        return read_ge_sr
    if text_block(ds) is not None:
        return read_hologic_sc
    if results_xml(ds) is not None:
        return read_ge_xml
    modality = str(ds.get("Modality", "") or "")
    if is_sr(ds):
        what = f"SR with root container {meaning(ds)!r}"
        if modality in DXA_MODALITIES:
            raise IngestError(f"{source}: {what} (modality {modality}) — not a known DXA layout")
        raise NotDxa(f"{source}: {what} — not a known DXA layout")
    what = f"{modality or 'no modality'} object (SOP class {ds.get('SOPClassUID', '?')})"
    if modality in DXA_MODALITIES:
        raise IngestError(f"{source}: DXA {what} without a results SR, GE XML or Hologic block")
    raise NotDxa(f"{source}: {what} — not a DXA report")


def read_file(path: Path) -> list[DxaResult]:
    """All results in one file (a CSV export may hold many patients).

    Raises:
        NotDxa: readable, but not a DXA report or export.
        IngestError: a DXA report that cannot be read, or an unreadable file.
    """
    if path.suffix.lower() in {".csv", ".txt", ".tsv"}:
        if csv_kind(read_header(path)) is None:
            raise NotDxa(f"{path}: CSV columns are not a known DXA export layout")
        return read_csv_export(path)
    try:
        ds = pydicom.dcmread(path, stop_before_pixels=True)
    except Exception as exc:  # pydicom raises many types for non-DICOM input
        raise NotDxa(f"{path}: neither DICOM nor a DXA CSV export ({type(exc).__name__})") from exc
    return [dicom_reader(ds, str(path))(ds, str(path))]


def scan_path(path: str | Path) -> DxaScan:
    """Read every DXA report under a file or folder (recursively, in sorted order) and merge per visit.

    Raises:
        IngestError: the path does not exist, or a single file given explicitly is not a DXA report.
    """
    path = Path(path)
    if not path.exists():
        raise IngestError(f"{path}: no such file or folder")
    if path.is_file():
        try:
            return DxaScan(results=tuple(merge_visits(read_file(path))))
        except NotDxa as exc:
            raise IngestError(str(exc)) from None
    results: list[DxaResult] = []
    problems: list[FileProblem] = []
    not_dxa: list[str] = []
    for file in sorted(p for p in path.rglob("*") if p.is_file() and not p.name.startswith(".")):
        try:
            results += read_file(file)
        except NotDxa as exc:
            not_dxa.append(str(exc))
        except IngestError as exc:
            problems.append(FileProblem(str(file), str(exc)))
        except (OSError, ValueError) as exc:
            problems.append(FileProblem(str(file), f"{type(exc).__name__}: {exc}"))
    return DxaScan(tuple(merge_visits(results)), tuple(problems), tuple(not_dxa))


def merge_visits(results: Iterable[DxaResult]) -> list[DxaResult]:
    """One result per (patient id, vendor, format, exam date), in first-seen order."""
    groups: dict[tuple[object, ...], list[DxaResult]] = {}
    for result in results:
        key: tuple[object, ...] = (result.patient.id, result.vendor, result.format, result.exam_date)
        if result.patient.id is None:  # without an id nothing says two reports are the same person
            key = (*key, result.source)
        groups.setdefault(key, []).append(result)
    return [group[0] if len(group) == 1 else _merge(group) for group in groups.values()]


def _merge(group: list[DxaResult]) -> DxaResult:
    warnings = [w for r in group for w in r.reading_warnings]
    sites: dict[Site, SiteValues] = {}
    regions: dict[Region, RegionMass] = {}
    for r in group:
        for site, site_values in r.sites.items():
            if site in sites and sites[site] != site_values:
                warnings.append(
                    f"{site.value} differs between {group[0].source} and {r.source}: kept the first"
                )
            sites.setdefault(site, site_values)
        for region, mass in r.body_composition.regions.items():
            if region in regions and regions[region] != mass:
                warnings.append(f"region {region.value} differs between reports: kept the first")
            regions.setdefault(region, mass)
    fields: dict[str, Any] = {}  # Patient field name -> the first report's value
    for name in ("id", "sex", "age_years", "height_m", "weight_kg"):
        values = [getattr(r.patient, name) for r in group if getattr(r.patient, name) is not None]
        if len({round(v, 3) if isinstance(v, float) else v for v in values}) > 1:
            warnings.append(
                f"patient {name} differs between reports ({sorted(set(map(str, values)))}): kept the first"
            )
        fields[name] = values[0] if values else None
    first = group[0]
    return assemble(
        first.vendor,
        first.format,
        Patient(**fields),
        sites,
        regions,
        list(dict.fromkeys(warnings)),
        "; ".join(r.source for r in group),
        first.exam_date,
    )
