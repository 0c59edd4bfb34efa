"""Series-level facts later stages need (identity, acquisition, patient), copied from one header.

Only values present in the file are reported; an absent attribute is ``None``, never a default, so
results can say "unknown" honestly. Everything is JSON-serialisable.
"""

from __future__ import annotations

from typing import Any

import pydicom

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


def series_meta(ds: pydicom.Dataset) -> dict[str, Any]:
    """Identity, acquisition and patient facts of the series (from its first instance)."""
    kernel = _value(ds, "ConvolutionKernel")
    if isinstance(kernel, list):
        kernel = "\\".join(str(k) for k in kernel)
    modality = _value(ds, "Modality")
    meta: dict[str, Any] = {
        "modality": modality,
        "units": "HU" if modality == "CT" else None,
        "patient_id": _value(ds, "PatientID"),
        "study_uid": _value(ds, "StudyInstanceUID"),
        "series_uid": _value(ds, "SeriesInstanceUID"),
        "frame_of_reference_uid": _value(ds, "FrameOfReferenceUID"),
        "sop_class_uid": _sop_class(ds),
        "description": _value(ds, "SeriesDescription"),
        "series_number": _value(ds, "SeriesNumber"),
        "study_date": _value(ds, "StudyDate"),
        "body_part": _value(ds, "BodyPartExamined"),
        "kernel": kernel,
        "kvp": _value(ds, "KVP"),
        "slice_thickness_mm": _value(ds, "SliceThickness"),
        "manufacturer": _value(ds, "Manufacturer"),
        "manufacturer_model": _value(ds, "ManufacturerModelName"),
        "patient_sex": _value(ds, "PatientSex"),
        "patient_age": _value(ds, "PatientAge"),
        "patient_size_m": _value(ds, "PatientSize"),
        "patient_weight_kg": _value(ds, "PatientWeight"),
        "contrast": {key: _value(ds, key) for key in CONTRAST_KEYS if _value(ds, key) is not None},
        "gantry_tilt_deg": _value(ds, "GantryDetectorTilt"),
        "image_type": _value(ds, "ImageType"),
    }
    if modality == "MR":
        meta["units"] = None
        meta["units_note"] = (
            "MR intensities are stored values x RescaleSlope + RescaleIntercept (arbitrary units)"
        )
        if PHILIPS_SCALE_SLOPE in ds and "philips" in str(ds.get("Manufacturer", "")).lower():
            # Philips floating-point value = displayed value / (RescaleSlope x ScaleSlope); recorded for
            # quantitative MR users, not applied: the pipeline's fat fractions are ratios and do not need it.
            try:
                meta["philips_scale_slope"] = float(ds[PHILIPS_SCALE_SLOPE].value)
            except (TypeError, ValueError):  # private tag read without its VR (implicit VR files)
                meta["philips_scale_slope"] = None
    return meta


def _sop_class(ds: pydicom.Dataset) -> str | None:
    """SOPClassUID from the dataset, else from the file meta (some archives empty the former)."""
    value = str(ds.get("SOPClassUID", "") or "").strip()
    if not value and getattr(ds, "file_meta", None) is not None:
        value = str(ds.file_meta.get("MediaStorageSOPClassUID", "") or "").strip()
    return value or None
