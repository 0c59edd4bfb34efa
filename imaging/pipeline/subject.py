"""Subject facts for one series: DICOM header + clinical CSV + DXA reports, merged by :func:`match`.

Reading the CSV and DXA files happens once per run (:func:`load_subject_sources`); matching a series
against them is pure (:func:`subject_for`). The DXA object placed in results.json is the one the
matcher chose, exactly as ``bonemuscle dxa --json`` prints it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from imaging.classification.inputs import Sex
from imaging.clinical import ClinicalRecord, read_clinical_csv
from imaging.dxa import scan_path
from imaging.matching import DxaRecord, ImagingRecord, Match, match, parse_date
from imaging.plausible import HEIGHT_M
from imaging.series_facts import SeriesFacts

_AGE = re.compile(r"^(\d{1,3})([DWMY])$")
_AGE_UNIT_YEARS = {"D": 1 / 365.25, "W": 7 / 365.25, "M": 1 / 12, "Y": 1.0}


@dataclass(frozen=True)
class SubjectSources:
    """What is known about subjects besides DICOM headers (``--height-m``, ``--clinical``, ``--dxa``)."""

    clinical: tuple[ClinicalRecord, ...] = ()
    dxa: tuple[tuple[DxaRecord, Mapping[str, Any]], ...] = ()
    cli_height_m: float | None = None


def load_subject_sources(
    clinical: Path | None, dxa: Path | None, cli_height_m: float | None
) -> tuple[SubjectSources, list[str]]:
    """Read the clinical CSV and DXA reports once; unusable rows/files become warnings, not failures.

    Raises:
        ClinicalDataError: the CSV header is unusable; IngestError: the DXA path is missing or not DXA.
    """
    warnings: list[str] = []
    records: tuple[ClinicalRecord, ...] = ()
    if clinical is not None:
        table = read_clinical_csv(clinical, strict=False)
        records = table.records
        warnings += [f"clinical CSV {p.file} line {p.row}: {p.message} (row ignored)" for p in table.problems]
    pairs: list[tuple[DxaRecord, Mapping[str, Any]]] = []
    if dxa is not None:
        scan = scan_path(dxa)
        warnings += [f"DXA {p.source}: {p.reason}" for p in scan.problems]
        for result in scan.results:
            data = result.to_json()
            try:
                date = parse_date(result.exam_date) if result.exam_date else None
                pairs.append((DxaRecord.from_contract(data, date=date), data))
            except ValueError as exc:
                warnings.append(f"DXA {result.source}: not used ({exc})")
    return SubjectSources(records, tuple(pairs), cli_height_m), warnings


def parse_age(text: object) -> float | None:
    """DICOM AS (``058Y``, ``006M``, ``012W``, ``030D``) in years; None when absent or malformed."""
    m = _AGE.match(str(text or "").strip().upper())
    return round(int(m.group(1)) * _AGE_UNIT_YEARS[m.group(2)], 2) if m else None


def imaging_record(meta: SeriesFacts) -> tuple[ImagingRecord, list[str]]:
    """Subject facts from a Volume's meta (series_meta keys); odd values become warnings, never guesses."""
    warnings: list[str] = []
    try:
        sex = Sex.parse(meta.patient_sex)
    except ValueError:
        sex = None
        warnings.append(f"DICOM PatientSex {meta.patient_sex!r} is neither M nor F: sex taken as unknown")
    date = None
    if meta.study_date:
        try:
            date = parse_date(str(meta.study_date))
        except ValueError:
            warnings.append(f"DICOM StudyDate {meta.study_date!r} unreadable: records matched without date")
    height = _positive(meta.patient_size_m)
    if height is not None and (problem := HEIGHT_M.problem(height)):  # PatientSize is in metres
        warnings.append(f"DICOM PatientSize: {problem}: ignored")
        height = None
    record = ImagingRecord(
        patient_id=str(meta.patient_id or ""),
        date=date,
        sex=sex,
        age_years=parse_age(meta.patient_age),
        height_m=height,
        weight_kg=_positive(meta.patient_weight_kg),
    )
    return record, warnings


def subject_for(
    meta: SeriesFacts, sources: SubjectSources
) -> tuple[Match, Mapping[str, Any] | None, list[str]]:
    """(match, the chosen DXA JSON or None, warnings) for the series described by ``meta``."""
    record, warnings = imaging_record(meta)
    result = match(
        record,
        sources.clinical,
        [d for d, _ in sources.dxa],
        cli_height_m=sources.cli_height_m,
    )
    warnings += list(result.warnings)
    chosen = next((data for d, data in sources.dxa if d is result.dxa), None)
    if not record.patient_id and (sources.clinical or sources.dxa):
        warnings.append("the series has no PatientID: clinical and DXA records cannot be matched to it")
    return result, chosen, warnings


def _positive(value: object) -> float | None:
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return number if number > 0 else None
