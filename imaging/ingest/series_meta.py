"""Series-level facts later stages need (identity, acquisition, patient), copied from one header.

Only values present in the file are reported; an absent attribute is ``None``, never a default, so
results can say "unknown" honestly. The record is :class:`imaging.series_facts.SeriesFacts`.
"""

from __future__ import annotations

from contextlib import suppress
from dataclasses import replace
from typing import Any

import pydicom

from imaging.series_facts import Modality, SeriesFacts

CONTRAST_KEYS = (
    "ContrastBolusAgent",
    "ContrastBolusRoute",
    "ContrastBolusVolume",
    "ContrastBolusStartTime",
    "ContrastBolusStopTime",
    "ContrastBolusTotalDose",
    "ContrastBolusIngredient",
    "ContrastBolusIngredientConcentration",
)
PHILIPS_SCALE_SLOPE = (0x2005, 0x100E)


def _value(ds: pydicom.Dataset, keyword: str) -> Any:
    """Plain Python value of ``keyword`` (str/float/int/list), or None when absent or empty."""
    value = ds.get(keyword)
    if value is None or value == "":
        return None
    if isinstance(value, pydicom.multival.MultiValue):
        return [_plain(v) for v in value]
    return _plain(value)


def _plain(value: Any) -> Any:
    if isinstance(value, pydicom.valuerep.DSfloat | pydicom.valuerep.DSdecimal | float):
        return float(value)
    if isinstance(value, pydicom.valuerep.IS | int):
        return int(value)
    if isinstance(value, pydicom.valuerep.PersonName):
        return str(value)
    return str(value).strip()


def series_meta(ds: pydicom.Dataset) -> SeriesFacts:
    """Identity, acquisition and patient facts of the series (from its first instance)."""
    kernel = _value(ds, "ConvolutionKernel")
    if isinstance(kernel, list):
        kernel = "\\".join(str(k) for k in kernel)
    code = _value(ds, "Modality")
    modality = Modality.of(code)
    image_type = _value(ds, "ImageType")
    facts = SeriesFacts(
        modality=modality,
        modality_code=None if code is None else str(code),
        units="HU" if modality is Modality.CT else None,
        patient_id=_text(ds, "PatientID"),
        study_uid=_text(ds, "StudyInstanceUID"),
        series_uid=_text(ds, "SeriesInstanceUID"),
        frame_of_reference_uid=_text(ds, "FrameOfReferenceUID"),
        sop_class_uid=_sop_class(ds),
        description=_text(ds, "SeriesDescription"),
        series_number=_int(ds, "SeriesNumber"),
        study_date=_text(ds, "StudyDate"),
        body_part=_text(ds, "BodyPartExamined"),
        kernel=None if kernel is None else str(kernel),
        kvp=_float(ds, "KVP"),
        slice_thickness_mm=_float(ds, "SliceThickness"),
        manufacturer=_text(ds, "Manufacturer"),
        manufacturer_model=_text(ds, "ManufacturerModelName"),
        patient_sex=_text(ds, "PatientSex"),
        patient_age=_text(ds, "PatientAge"),
        patient_size_m=_float(ds, "PatientSize"),
        patient_weight_kg=_float(ds, "PatientWeight"),
        contrast={key: _value(ds, key) for key in CONTRAST_KEYS if _value(ds, key) is not None},
        gantry_tilt_deg=_float(ds, "GantryDetectorTilt"),
        image_type=tuple(str(t) for t in image_type)
        if isinstance(image_type, list)
        else ((str(image_type),) if image_type is not None else ()),
    )
    if modality is Modality.MR:
        note = "MR intensities are stored values x RescaleSlope + RescaleIntercept (arbitrary units)"
        facts = replace(facts, units_note=note)
        if PHILIPS_SCALE_SLOPE in ds and "philips" in str(ds.get("Manufacturer", "")).lower():
            # Philips floating-point value = displayed value / (RescaleSlope x ScaleSlope); recorded for
            # quantitative MR users, not applied: the pipeline's fat fractions are ratios and do not need it.
            with suppress(TypeError, ValueError):  # private tag read without its VR (implicit VR files)
                facts = replace(facts, philips_scale_slope=float(ds[PHILIPS_SCALE_SLOPE].value))
    return facts


def _text(ds: pydicom.Dataset, keyword: str) -> str | None:
    value = _value(ds, keyword)
    if value is None:
        return None
    return "\\".join(str(v) for v in value) if isinstance(value, list) else str(value)


def _float(ds: pydicom.Dataset, keyword: str) -> float | None:
    """A number, or None when absent or not a number (a header fault is not a value)."""
    value = _value(ds, keyword)
    try:
        return None if value is None or isinstance(value, list) else float(value)
    except (TypeError, ValueError):
        return None


def _int(ds: pydicom.Dataset, keyword: str) -> int | None:
    number = _float(ds, keyword)
    return None if number is None or not number.is_integer() else int(number)


def _sop_class(ds: pydicom.Dataset) -> str | None:
    """SOPClassUID from the dataset, else from the file meta (some archives empty the former)."""
    value = str(ds.get("SOPClassUID", "") or "").strip()
    if not value and getattr(ds, "file_meta", None) is not None:
        value = str(ds.file_meta.get("MediaStorageSOPClassUID", "") or "").strip()
    return value or None
