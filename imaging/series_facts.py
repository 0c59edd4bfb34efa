"""The facts a Volume carries about its series: one typed, frozen record, read by attribute.

Copied once from the series' first header (and what assembling the volume found), then only read.
An attribute absent from the file is None, never a default, so results can say "unknown" honestly;
the modality is an enum, so "is this CT?" has one answer everywhere (a series that is neither CT nor
MR is ``Modality.OTHER``, and no stage treats it as either).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Modality(StrEnum):
    CT = "CT"
    MR = "MR"
    OTHER = "OTHER"  # anything else, or no Modality attribute at all

    @classmethod
    def of(cls, code: object) -> Modality:
        """The enum member for a DICOM Modality value (case and spaces ignored)."""
        text = str(code or "").strip().upper()
        return cls(text) if text in (cls.CT, cls.MR) else cls.OTHER


@dataclass(frozen=True)
class SeriesFacts:
    """Identity, acquisition and patient facts of a series, and what assembling its volume found."""

    modality: Modality = Modality.OTHER
    modality_code: str | None = None  # the DICOM value as written (e.g. "PT" for Modality.OTHER)
    units: str | None = None  # "HU" for CT; None for MR (arbitrary units, see units_note)
    units_note: str | None = None
    patient_id: str | None = None
    study_uid: str | None = None
    series_uid: str | None = None
    frame_of_reference_uid: str | None = None
    sop_class_uid: str | None = None
    description: str | None = None
    series_number: int | None = None
    study_date: str | None = None
    body_part: str | None = None
    kernel: str | None = None
    kvp: float | None = None
    slice_thickness_mm: float | None = None
    manufacturer: str | None = None
    manufacturer_model: str | None = None
    patient_sex: str | None = None
    patient_age: str | None = None
    patient_size_m: float | None = None
    patient_weight_kg: float | None = None
    contrast: Mapping[str, Any] = field(default_factory=dict)  # contrast attributes present in the header
    gantry_tilt_deg: float | None = None
    image_type: tuple[str, ...] = ()
    philips_scale_slope: float | None = None  # recorded for quantitative MR users, never applied
    # what assembling the volume found
    n_instances: int | None = None
    slice_spacing_mm: float | None = None
    slice_spacing_source: str | None = None
    rescale: Mapping[str, Any] = field(default_factory=dict)
    dtype: str | None = None
    padding: Mapping[str, Any] | None = None
    tilt_deg: float = 0.0
    tilt_shift_px_per_slice: tuple[float, float] = (0.0, 0.0)
    warnings: tuple[str, ...] = ()
    corrections: tuple[str, ...] = ()

    @property
    def is_ct(self) -> bool:
        return self.modality is Modality.CT

    @property
    def is_mr(self) -> bool:
        return self.modality is Modality.MR
