"""results.json (schema_version "1") stated once, as types: the builder, the stages that fill it and
every writer read these (types only, so any stage may import it).

``shared/CONTRACT.md`` fixes the required keys; the project's extra keys ("extend freely") are
``NotRequired``. :mod:`imaging.outputs.results_json` derives the keys it checks at run time from
these classes, and mypy checks every key the builder (:func:`imaging.pipeline.series_job.build_results`)
writes and the writers (SR, HTML, cohort) read, so a misspelt key fails the type check, not a report.
"""

# No ``from __future__ import annotations`` here: TypedDict reads NotRequired from evaluated annotations.
from typing import Any, Literal, NotRequired, TypedDict

SCHEMA_VERSION = "1"


class SeriesBlock(TypedDict):
    patient_id: str | None
    study_uid: str
    series_uid: str
    modality: str
    description: str | None
    n_slices: int
    spacing_mm: list[float]  # [x, y, z]
    series_number: NotRequired[int | None]


HeightSource = Literal["dicom", "clinical", "cli"] | None  # where subject.height_m came from


class SubjectBlock(TypedDict):
    sex: Literal["M", "F"] | None
    age_years: float | None
    height_m: float | None
    height_source: HeightSource
    weight_kg: float | None
    bmi_kg_m2: float | None
    conflicts: NotRequired[list[dict[str, Any]]]


Contrast = Literal["yes", "no", "unknown"]  # was contrast given? decided at ingest, reported everywhere


class AcquisitionBlock(TypedDict):
    contrast: Contrast
    kvp: float | None
    kernel: str | None
    contrast_evidence: NotRequired[str | None]
    manufacturer: NotRequired[str | None]
    slice_thickness_mm: NotRequired[float | None]
    corrections: NotRequired[list[str]]


class LevelMetrics(TypedDict):
    """The contract's per-level values, in the order tables and cohort.csv show them."""

    muscle_area_cm2: float | None
    muscle_hu_mean: float | None
    imat_area_cm2: float | None
    sat_area_cm2: float | None
    vat_area_cm2: float | None
    smi_cm2_m2: float | None
    trabecular_hu_mean: float | None
    trabecular_hu_median: float | None


class LevelEntry(LevelMetrics):
    """One vertebral level: where its slice is, the contract's values, and the project's extras."""

    slice_index: int  # 0-based, series sorted along the slice normal
    z_mm: float
    convention: NotRequired[str]
    contrast: NotRequired[str]
    body_slices: NotRequired[list[int]]
    muscle_hu_sd: NotRequired[float | None]
    low_density_muscle_area_cm2: NotRequired[float | None]
    normal_density_muscle_area_cm2: NotRequired[float | None]
    bone_area_cm2: NotRequired[float | None]
    trabecular_roi_voxels: NotRequired[int | None]
    muscle_group_area_cm2: NotRequired[dict[str, float | None]]
    muscle_group_hu_mean: NotRequired[dict[str, float | None]]
    slab_mm: NotRequired[float]
    slab_slices: NotRequired[list[int]]
    muscle_fat_fraction_pct: NotRequired[float | None]
    marrow_fat_fraction_pct: NotRequired[float | None]


class ModelBlock(TypedDict):
    name: str
    version: str
    weights_sha256: str | None
    components: NotRequired[list[dict[str, Any]]]
    files: NotRequired[list[dict[str, Any]]]


class Evidence(TypedDict):
    measure: str
    value: Any
    threshold: Any
    source: str


class NoticeJson(TypedDict):
    code: str
    level: str | None
    message: str


class Results(TypedDict):
    schema_version: str
    series: SeriesBlock
    subject: SubjectBlock
    acquisition: AcquisitionBlock
    levels: dict[str, LevelEntry]
    classification: dict[str, dict[str, Any]]
    model: ModelBlock
    warnings: list[str]
    notices: NotRequired[list[NoticeJson]]  # the warnings as {"code", "level", "message"}, same order
    levels_not_measured: NotRequired[dict[str, str]]
    levels_cut_by_scan_range: NotRequired[dict[str, dict[str, Any]]]
    volumes_ml: NotRequired[dict[str, Any]]
    classification_config: NotRequired[dict[str, Any]]
    segmentation: NotRequired[dict[str, Any]]
    notes: NotRequired[list[str]]
    mr: NotRequired[dict[str, Any]]  # Dixon sets only
    dxa: NotRequired[dict[str, Any]]  # as `bonemuscle dxa --json` prints it, when given


def required(block: type) -> tuple[str, ...]:
    """The contract's keys of a block, in declaration order."""
    keys: frozenset[str] = getattr(block, "__required_keys__")  # noqa: B009 - TypedDict metadata
    return tuple(k for k in block.__annotations__ if k in keys)
