"""The results.json contract (schema_version "1"): its shape checked at run time, in one place.

The keys come from the types in :mod:`imaging.schema` (the one statement of the schema).

:func:`validate_results` returns every problem it finds (an empty list means valid) so a test or the
pipeline can print them all at once; :func:`check_results` raises with that list. The checker only
enforces what ``shared/CONTRACT.md`` fixes; extra keys are allowed ("extend freely"). Numbers must be
finite: a value that could not be measured is ``None`` and the ``warnings`` list must say why.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from imaging.schema import (
    SCHEMA_VERSION,
    AcquisitionBlock,
    Evidence,
    LevelMetrics,
    ModelBlock,
    Results,
    SeriesBlock,
    SubjectBlock,
    required,
)
from imaging.segmentation.labels import MEASURED_LEVELS

#: Per-level metric keys of the contract, in the order tables and cohort.csv show them.
LEVEL_METRICS: tuple[str, ...] = required(LevelMetrics)
SERIES_KEYS = required(SeriesBlock)
SUBJECT_KEYS = required(SubjectBlock)
ACQUISITION_KEYS = required(AcquisitionBlock)
MODEL_KEYS = required(ModelBlock)
EVIDENCE_KEYS = required(Evidence)
TOP_KEYS = required(Results)

SEXES = ("M", "F", None)
HEIGHT_SOURCES = ("dicom", "clinical", "cli", None)
CONTRASTS = ("yes", "no", "unknown")


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _num_or_none(value: Any) -> bool:
    return value is None or _is_number(value)


def _str_or_none(value: Any) -> bool:
    return value is None or isinstance(value, str)


def _non_finite(obj: Any, where: str) -> list[str]:
    """Paths of NaN/inf floats anywhere in ``obj`` (JSON cannot hold them)."""
    if isinstance(obj, float) and not math.isfinite(obj):
        return [f"{where}: non-finite number {obj!r} (use null plus a warning)"]
    if isinstance(obj, Mapping):
        return [p for k, v in obj.items() for p in _non_finite(v, f"{where}.{k}")]
    if isinstance(obj, list | tuple):
        return [p for i, v in enumerate(obj) for p in _non_finite(v, f"{where}[{i}]")]
    return []


def _section(results: Mapping[str, Any], key: str, required: tuple[str, ...], problems: list[str]) -> Mapping:
    section = results.get(key)
    if not isinstance(section, Mapping):
        problems.append(f"{key}: must be an object, got {type(section).__name__}")
        return {}
    problems.extend(f"{key}.{name}: missing" for name in required if name not in section)
    return section


def _check_series(series: Mapping[str, Any], problems: list[str]) -> None:
    for key in ("study_uid", "series_uid", "modality"):
        if key in series and not isinstance(series[key], str):
            problems.append(f"series.{key}: must be a string")
    for key in ("patient_id", "description"):
        if key in series and not _str_or_none(series[key]):
            problems.append(f"series.{key}: must be a string or null")
    n = series.get("n_slices")
    if "n_slices" in series and not (isinstance(n, int) and not isinstance(n, bool) and n >= 1):
        problems.append(f"series.n_slices: must be a positive integer, got {n!r}")
    spacing = series.get("spacing_mm")
    if "spacing_mm" in series and not (
        isinstance(spacing, list | tuple)
        and len(spacing) == 3
        and all(_is_number(v) and v > 0 for v in spacing)
    ):
        problems.append(f"series.spacing_mm: must be [x, y, z] positive numbers, got {spacing!r}")


def _check_subject(subject: Mapping[str, Any], problems: list[str]) -> None:
    if "sex" in subject and subject["sex"] not in SEXES:
        problems.append(f"subject.sex: must be 'M', 'F' or null, got {subject['sex']!r}")
    if "height_source" in subject and subject["height_source"] not in HEIGHT_SOURCES:
        problems.append(
            f"subject.height_source: must be one of {HEIGHT_SOURCES}, got {subject['height_source']!r}"
        )
    for key in ("age_years", "height_m", "weight_kg", "bmi_kg_m2"):
        if key in subject and not _num_or_none(subject[key]):
            problems.append(f"subject.{key}: must be a number or null")
    if subject.get("height_m") is not None and subject.get("height_source") is None:
        problems.append("subject.height_source: must say where height_m came from")


def _check_acquisition(acq: Mapping[str, Any], problems: list[str]) -> None:
    if "contrast" in acq and acq["contrast"] not in CONTRASTS:
        problems.append(f"acquisition.contrast: must be one of {CONTRASTS}, got {acq['contrast']!r}")
    if "kvp" in acq and not _num_or_none(acq["kvp"]):
        problems.append("acquisition.kvp: must be a number or null")
    if "kernel" in acq and not _str_or_none(acq["kernel"]):
        problems.append("acquisition.kernel: must be a string or null")


def _check_levels(levels: Any, n_slices: Any, problems: list[str]) -> int:
    """Check every level entry; returns how many metric values are null."""
    if not isinstance(levels, Mapping):
        problems.append(f"levels: must be an object, got {type(levels).__name__}")
        return 0
    nulls = 0
    for name, entry in levels.items():
        where = f"levels.{name}"
        if name not in MEASURED_LEVELS:
            problems.append(f"{where}: not a measured level (expected one of {', '.join(MEASURED_LEVELS)})")
        if not isinstance(entry, Mapping):
            problems.append(f"{where}: must be an object")
            continue
        k = entry.get("slice_index")
        if not (isinstance(k, int) and not isinstance(k, bool) and k >= 0):
            problems.append(f"{where}.slice_index: must be a non-negative integer, got {k!r}")
        elif isinstance(n_slices, int) and k >= n_slices:
            problems.append(f"{where}.slice_index: {k} is outside the series ({n_slices} slices)")
        if not _is_number(entry.get("z_mm")):
            problems.append(f"{where}.z_mm: must be a number")
        for key in LEVEL_METRICS:
            if key not in entry:
                problems.append(f"{where}.{key}: missing (use null plus a warning when not measurable)")
            elif not _num_or_none(entry[key]):
                problems.append(f"{where}.{key}: must be a number or null, got {entry[key]!r}")
            elif entry[key] is None:
                nulls += 1
    return nulls


def _check_classification(classification: Any, problems: list[str]) -> None:
    if not isinstance(classification, Mapping):
        problems.append(f"classification: must be an object, got {type(classification).__name__}")
        return
    for name, entry in classification.items():
        where = f"classification.{name}"
        if not isinstance(entry, Mapping):
            problems.append(f"{where}: must be an object")
            continue
        if not isinstance(entry.get("status"), str):
            problems.append(f"{where}.status: must be a string")
        evidence = entry.get("evidence")
        if not isinstance(evidence, list):
            problems.append(f"{where}.evidence: must be a list")
            continue
        for i, item in enumerate(evidence):
            if not isinstance(item, Mapping):
                problems.append(f"{where}.evidence[{i}]: must be an object")
                continue
            problems.extend(
                f"{where}.evidence[{i}].{key}: missing" for key in EVIDENCE_KEYS if key not in item
            )


def validate_results(results: Any) -> list[str]:
    """Every way ``results`` departs from the results.json contract; empty when it conforms."""
    if not isinstance(results, Mapping):
        return [f"results: must be an object, got {type(results).__name__}"]
    problems = [f"{key}: missing" for key in TOP_KEYS if key not in results]
    if results.get("schema_version") != SCHEMA_VERSION:
        problems.append(f"schema_version: must be {SCHEMA_VERSION!r}, got {results.get('schema_version')!r}")
    series = _section(results, "series", SERIES_KEYS, problems)
    _check_series(series, problems)
    _check_subject(_section(results, "subject", SUBJECT_KEYS, problems), problems)
    _check_acquisition(_section(results, "acquisition", ACQUISITION_KEYS, problems), problems)
    model = _section(results, "model", MODEL_KEYS, problems)
    for key in ("name", "version"):
        if key in model and not isinstance(model[key], str):
            problems.append(f"model.{key}: must be a string")
    nulls = _check_levels(results.get("levels", {}), series.get("n_slices"), problems)
    _check_classification(results.get("classification", {}), problems)
    warnings = results.get("warnings")
    if not (isinstance(warnings, list) and all(isinstance(w, str) for w in warnings)):
        problems.append("warnings: must be a list of strings")
    elif nulls and not warnings:
        problems.append(f"warnings: {nulls} level value(s) are null but no warning says why")
    for key in ("mr", "dxa"):
        if key in results and not isinstance(results[key], Mapping):
            problems.append(f"{key}: must be an object when present")
    problems.extend(_non_finite(results, "results"))
    return problems


def check_results(results: Any) -> None:
    """Raise ValueError listing every contract problem of ``results`` (no-op when valid).

    Raises:
        ValueError: with one line per problem, so the pipeline author can fix them all in one pass.
    """
    problems = validate_results(results)
    if problems:
        raise ValueError("results.json does not match the contract:\n  " + "\n  ".join(problems))
