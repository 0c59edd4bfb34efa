"""Group discovered instances into series, split mixed series, and describe each from headers alone.

Grouping is by (PatientID, StudyInstanceUID, SeriesInstanceUID). A SeriesInstanceUID is not enough
to define one image stack: scanners put a 3-plane localizer, or all four Dixon images (in-phase,
opposed-phase, water, fat), under one UID. Such a series is split by orientation, matrix size,
ImageType and echo (time and number); each part gets a stable ``sub_key`` built from the values
that differ (e.g. ``te=2.30|type=ORIGINAL\\PRIMARY\\M\\OPP_PHASE``) and a ``split_label`` saying why.

Geometry is read from headers only (classic or enhanced multi-frame); sorting slices, checking
spacing and decoding pixels is volume assembly's job. What is checked here is what makes a series
unusable before any pixel is read: no pixel data, missing position/orientation, non-positive pixel
spacing, non-axial images. Those become ``reasons`` naming the offending file.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from enum import Enum
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import pydicom

from imaging.ingest.discovery import Discovery
from imaging.ingest.dixon import is_dixon_context
from imaging.ingest.model import Instance
from imaging.ingest.series_kind import ANALYSABLE_KINDS, SeriesKind, classify, image_type
from imaging.schema import Contrast

ORIENTATION_TOLERANCE = 0.01  # max |difference| of direction cosines treated as the same plane (~0.6 deg)
PLANE_DOMINANCE = 0.9  # |normal component| above this names the plane; below it the slice is oblique
LOCALIZER_MAX_SLICES = 5  # per plane, for a multi-plane series to count as a localizer
CONTRAST_WORDS = re.compile(
    r"\bC\+|\bCONTRAST|\bKM\b|\bVENOUS|\bPORTAL|\bARTERIAL|\bNEPHRO|\bDELAY|\bPV\b|\bWITH\b", re.IGNORECASE
)
NO_CONTRAST_WORDS = re.compile(
    r"NON[\s-]?CON|\bNATIV|\bW/?O\b|\bWITHOUT\b|\bNECT\b|\bC-|\bPLAIN\b", re.IGNORECASE
)

T = TypeVar("T")


class Orientation(Enum):
    AXIAL = "axial"
    CORONAL = "coronal"
    SAGITTAL = "sagittal"
    OBLIQUE = "oblique"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class SeriesEntry:
    """One image stack (a series, or one part of a split series) and what the headers say about it.

    ``pixel_spacing_mm`` is DICOM's (row spacing, column spacing); ``coverage_mm`` is the extent of
    slice positions along the slice normal (0 for a single slice, None when positions are missing).
    ``reasons`` is empty exactly when the series can be analysed; ``notes`` are remarks that do not
    block analysis. ``study_key``/``series_key`` equal the UIDs, or are ``nouid-<hash>`` stand-ins
    (hash of the identifying header values and folder) for anonymised files whose UIDs were emptied:
    the UID fields then stay empty rather than carry an invented UID.
    """

    patient_id: str
    study_uid: str
    series_uid: str
    study_key: str
    series_key: str
    sub_key: str
    split_label: str | None
    modality: str
    description: str
    series_number: int | None
    instances: tuple[Instance, ...]
    n_instances: int
    n_frames: int
    rows: int | None
    columns: int | None
    pixel_spacing_mm: tuple[float, float] | None
    slice_thickness_mm: float | None
    orientation: Orientation
    kernel: str | None
    image_type: tuple[str, ...]
    contrast: Contrast  # the contract's vocabulary
    contrast_evidence: str | None
    kind: SeriesKind
    reasons: tuple[str, ...]
    notes: tuple[str, ...] = ()
    study_date: str | None = None
    study_description: str | None = None
    manufacturer: str | None = None
    echo_time_ms: float | None = None
    field_strength_t: float | None = None
    frame_of_reference_uid: str | None = None
    coverage_mm: float | None = None

    @property
    def usable(self) -> bool:
        return self.kind in ANALYSABLE_KINDS and not self.reasons

    @property
    def key(self) -> str:
        """Stable identifier of this stack: the series key (UID), plus ``#sub_key`` for a split part."""
        return f"{self.series_key}#{self.sub_key}" if self.sub_key else self.series_key

    @property
    def label(self) -> str:
        """Short human name: series number and description."""
        number = f"series {self.series_number}" if self.series_number is not None else "series ?"
        return f"{number} '{self.description}'" if self.description else number


def build_index(discovery: Discovery) -> list[SeriesEntry]:
    """Series entries for everything discovered, sorted by patient, study, series number and sub key."""
    groups: dict[tuple[str, str, str], list[Instance]] = {}
    for inst in discovery.instances:
        key = (_str(inst.header, "PatientID"), *_study_series_keys(inst))
        groups.setdefault(key, []).append(inst)
    entries: list[SeriesEntry] = []
    for (patient, study_key, series_key), members in groups.items():
        group = _Group(patient, study_key, series_key, members, discovery.without_pixels)
        entries.extend(_entries_for_group(group))
    entries.sort(key=lambda e: (e.patient_id, e.study_date or "", e.study_key, e.series_number or 0, e.key))
    return entries


@dataclass(frozen=True)
class _Group:
    patient: str
    study_key: str
    series_key: str
    members: list[Instance]
    without_pixels: set


def _study_series_keys(inst: Instance) -> tuple[str, str]:
    """The UIDs, or stand-ins from identifying values when an anonymiser emptied them."""
    h = inst.header
    study = _str(h, "StudyInstanceUID")
    if not study:
        ident = [_str(h, k) for k in ("PatientID", "StudyDate", "StudyTime", "AccessionNumber", "StudyID")]
        study = "nouid-" + _digest(ident)
    series = _str(h, "SeriesInstanceUID")
    if not series:
        src = inst.source
        folder = str(src.path.parent) if src.member is None else f"{src.path}!{Path(src.member).parent}"
        ident = [study, folder, *(_str(h, k) for k in ("Modality", "SeriesNumber", "SeriesDescription"))]
        ident.append(_str(h, "FrameOfReferenceUID"))
        series = "nouid-" + _digest(ident)
    return study, series


def _digest(values: list[str]) -> str:
    return hashlib.sha1("\x1f".join(values).encode("utf-8", "surrogateescape")).hexdigest()[:16]


def _entries_for_group(group: _Group) -> list[SeriesEntry]:
    members = group.members
    series = group.series_key
    parts = _split(members)
    varying = _varying_dimensions(list(parts))
    multi_echo = "te" in varying
    plane_counts = [(_orientation(_iop(i[0].header)), len(i)) for sig, i in parts.items() if sig[0]]
    planes = {p for p, _ in plane_counts}
    multiplane_localizer = len(planes) >= 2 and all(n <= LOCALIZER_MAX_SLICES for _, n in plane_counts)
    number = _int(members[0].header, "SeriesNumber")
    entries = []
    for signature, insts in parts.items():
        sub_key = "|".join(_format_dimension(d, signature) for d in varying)
        split_label = None
        if varying:
            why = ", ".join(_DIMENSION_NAMES[d] for d in varying)
            split_label = f"split from series {number if number is not None else series}: mixed {why}"
        entry = _make_entry(group, sub_key, split_label, insts, multi_echo)
        if multiplane_localizer and entry.kind in (*ANALYSABLE_KINDS, SeriesKind.MR_OTHER):
            reasons = ("localizer: few slices in several planes",)
            entry = replace(entry, kind=SeriesKind.LOCALIZER, reasons=reasons)
        entries.append(entry)
    return entries


_DIMENSIONS = ("iop", "matrix", "type", "te")
_DIMENSION_NAMES = {"iop": "orientations", "matrix": "matrix sizes", "type": "image types", "te": "echoes"}


def _split(members: list[Instance]) -> dict[tuple, list[Instance]]:
    """Instances grouped by (orientation cluster, matrix, ImageType, echo); insertion order kept."""
    planes: list[np.ndarray] = []
    parts: dict[tuple, list[Instance]] = {}
    for inst in members:
        h = inst.header
        iop = _iop(h)
        plane: tuple[float, ...] | None = None
        if iop is not None:
            for ref in planes:
                if np.max(np.abs(ref - iop)) <= ORIENTATION_TOLERANCE:
                    iop = ref
                    break
            else:
                planes.append(iop)
            plane = tuple(round(float(v), 3) for v in iop)
        matrix = (_int(h, "Rows"), _int(h, "Columns"))
        echo = None
        if _str(h, "Modality").upper() == "MR":
            te = _float(h, "EchoTime")
            echo = (round(te, 2) if te is not None else None, _str(h, "EchoNumbers"))
        parts.setdefault((plane, matrix, image_type(h), echo), []).append(inst)
    return parts


def _varying_dimensions(signatures: list[tuple]) -> list[str]:
    return [name for i, name in enumerate(_DIMENSIONS) if len({s[i] for s in signatures}) > 1]


def _format_dimension(name: str, signature: tuple) -> str:
    value = signature[_DIMENSIONS.index(name)]
    if name == "iop":
        return "iop=" + (",".join(f"{v:g}" for v in value) if value else "none")
    if name == "matrix":
        return f"matrix={value[0]}x{value[1]}"
    if name == "type":
        return "type=" + "\\".join(value)
    te, number = value
    return f"te={te:.2f}" if te is not None else f"echo={number or 'none'}"


def _make_entry(
    group: _Group, sub_key: str, split_label: str | None, insts: list[Instance], multi_echo: bool
) -> SeriesEntry:
    h = insts[0].header
    kind, reasons = classify(h, multi_echo=multi_echo or is_dixon_context(h))
    iop = _iop(h)
    orientation = _orientation(iop)
    spacing = _pixel_spacing(h)
    if kind in ANALYSABLE_KINDS:
        reasons = _geometry_problems(insts, group.without_pixels, orientation)
    notes = []
    for keyword in ("StudyInstanceUID", "SeriesInstanceUID"):
        if not _str(h, keyword):
            notes.append(f"{keyword} is empty (anonymised?): grouped by identifying values and folder")
    if kind in ANALYSABLE_KINDS:
        notes.extend(_spacing_notes(insts, iop))
    contrast, evidence = contrast_hint(h)
    return SeriesEntry(
        patient_id=group.patient,
        study_uid=_str(h, "StudyInstanceUID"),
        series_uid=_str(h, "SeriesInstanceUID"),
        study_key=group.study_key,
        series_key=group.series_key,
        sub_key=sub_key,
        split_label=split_label,
        modality=_str(h, "Modality"),
        description=_str(h, "SeriesDescription"),
        series_number=_int(h, "SeriesNumber"),
        instances=tuple(insts),
        n_instances=len(insts),
        n_frames=sum(max(_int(i.header, "NumberOfFrames") or 1, 1) for i in insts),
        rows=_int(h, "Rows"),
        columns=_int(h, "Columns"),
        pixel_spacing_mm=spacing,
        slice_thickness_mm=_functional(h, "PixelMeasuresSequence", "SliceThickness", float),
        orientation=orientation,
        kernel=_kernel(h),
        image_type=image_type(h),
        contrast=contrast,
        contrast_evidence=evidence,
        kind=kind,
        reasons=tuple(reasons),
        notes=tuple(notes),
        study_date=_str(h, "StudyDate") or None,
        study_description=_str(h, "StudyDescription") or None,
        manufacturer=_str(h, "Manufacturer") or None,
        echo_time_ms=_float(h, "EchoTime"),
        field_strength_t=_float(h, "MagneticFieldStrength"),
        frame_of_reference_uid=_str(h, "FrameOfReferenceUID") or None,
        coverage_mm=_coverage(insts, iop),
    )


def _geometry_problems(insts: list[Instance], without_pixels: set, orientation: Orientation) -> list[str]:
    """Header faults that make a series unanalysable, each naming the first file that has it."""
    problems: list[str] = []

    def first(pred: object, text: str) -> None:
        bad = [i for i in insts if pred(i)]  # type: ignore[operator]
        if bad:
            more = f" and {len(bad) - 1} more" if len(bad) > 1 else ""
            problems.append(f"{text} in {bad[0].source}{more}")

    first(lambda i: i.source in without_pixels, "no pixel data")
    first(lambda i: _iop(i.header) is None, "ImageOrientationPatient missing or invalid")
    first(lambda i: not _positions(i.header), "ImagePositionPatient missing")
    first(lambda i: _pixel_spacing(i.header) is None, "PixelSpacing missing, zero or negative")
    first(lambda i: not _int(i.header, "Rows") or not _int(i.header, "Columns"), "Rows/Columns missing")
    if orientation in (Orientation.CORONAL, Orientation.SAGITTAL):
        problems.append(f"{orientation.value} images: body composition is measured on axial slices")
    return problems


def contrast_hint(header: pydicom.Dataset) -> tuple[Contrast, str | None]:
    """("yes" | "no" | "unknown", evidence): contrast tags first, then description words.

    An absent ContrastBolusAgent proves nothing (many scanners never fill it), so silence is "unknown".
    """
    agent = _str(header, "ContrastBolusAgent")
    if agent and agent.upper() not in ("NONE", "NO", "N", "0"):
        return "yes", f"ContrastBolusAgent '{agent}'"
    if agent:
        return "no", f"ContrastBolusAgent '{agent}'"
    for keyword in ("ContrastBolusRoute", "ContrastBolusVolume", "ContrastBolusStartTime"):
        if _str(header, keyword):
            return "yes", f"{keyword} present"
    text = " ".join(_str(header, k) for k in ("SeriesDescription", "StudyDescription", "ProtocolName"))
    if NO_CONTRAST_WORDS.search(text):
        return "no", f"description '{text.strip()}'"
    if CONTRAST_WORDS.search(text):
        return "yes", f"description '{text.strip()}'"
    return "unknown", None


def _orientation(iop: np.ndarray | None) -> Orientation:
    if iop is None:
        return Orientation.UNKNOWN
    normal = np.cross(iop[:3], iop[3:])
    axis = int(np.argmax(np.abs(normal)))
    if abs(normal[axis]) < PLANE_DOMINANCE:
        return Orientation.OBLIQUE
    return (Orientation.SAGITTAL, Orientation.CORONAL, Orientation.AXIAL)[axis]


def is_axial_like(entry: SeriesEntry) -> bool:
    """Axial, or oblique with the slice normal closest to the body axis (gantry tilt)."""
    return entry.orientation in (Orientation.AXIAL, Orientation.OBLIQUE)


def _iop(h: pydicom.Dataset) -> np.ndarray | None:
    value = h.get("ImageOrientationPatient")
    if value is None:
        value = _functional(h, "PlaneOrientationSequence", "ImageOrientationPatient", list)
    try:
        iop = np.asarray([float(v) for v in value], dtype=np.float64)
    except (TypeError, ValueError):
        return None
    if iop.shape != (6,) or not np.all(np.isfinite(iop)):
        return None
    row, col = iop[:3], iop[3:]
    if abs(np.linalg.norm(row) - 1) > 0.05 or abs(np.linalg.norm(col) - 1) > 0.05 or abs(row @ col) > 0.05:
        return None
    return iop


def _positions(h: pydicom.Dataset) -> list[np.ndarray]:
    """ImagePositionPatient of the instance, or of every frame of an enhanced multi-frame instance."""
    values: list[Any] = []  # header values: anything a file holds, checked below
    if h.get("ImagePositionPatient") is not None:
        values = [h.ImagePositionPatient]
    else:
        for frame in h.get("PerFrameFunctionalGroupsSequence") or []:
            plane = frame.get("PlanePositionSequence")
            if plane:
                values.append(plane[0].get("ImagePositionPatient"))
    out = []
    for value in values:
        try:
            pos = np.asarray([float(v) for v in value], dtype=np.float64)
        except (TypeError, ValueError):
            continue
        if pos.shape == (3,) and np.all(np.isfinite(pos)):
            out.append(pos)
    return out


def _coverage(insts: Iterable[Instance], iop: np.ndarray | None) -> float | None:
    if iop is None:
        return None
    normal = np.cross(iop[:3], iop[3:])
    along = [float(p @ normal) for i in insts for p in _positions(i.header)]
    return round(max(along) - min(along), 3) if along else None


def _spacing_notes(insts: Iterable[Instance], iop: np.ndarray | None) -> list[str]:
    """Header-only hints of what assembly will check properly: repeated positions and gaps."""
    if iop is None:
        return []
    normal = np.cross(iop[:3], iop[3:])
    along = np.sort([float(p @ normal) for i in insts for p in _positions(i.header)])
    if along.size < 3:
        return []
    steps = np.diff(along)
    notes = []
    repeated = int(np.sum(steps < 1e-3))
    if repeated:
        notes.append(f"{repeated} repeated slice position(s): several stacks or duplicates in one series?")
    moving = steps[steps >= 1e-3]
    if moving.size and moving.max() > 1.5 * np.median(moving):
        typical, gap = float(np.median(moving)), float(moving.max())
        notes.append(f"uneven slice spacing ({typical:.3g} mm typical, gap of {gap:.3g} mm): missing slices?")
    return notes


def _pixel_spacing(h: pydicom.Dataset) -> tuple[float, float] | None:
    value = _functional(h, "PixelMeasuresSequence", "PixelSpacing", list)
    if value is None:
        return None
    try:
        row, col = (float(v) for v in value)
    except (TypeError, ValueError):
        return None
    return (row, col) if row > 0 and col > 0 and np.isfinite(row + col) else None


def _functional(h: pydicom.Dataset, macro: str, keyword: str, cast: Callable[[Any], T]) -> T | None:
    """A value from the top level, else from the shared or first per-frame functional group."""
    value = h.get(keyword)
    if value is None:
        for groups in (h.get("SharedFunctionalGroupsSequence"), h.get("PerFrameFunctionalGroupsSequence")):
            if groups and groups[0].get(macro):
                value = groups[0].get(macro)[0].get(keyword)
                if value is not None:
                    break
    if value is None or value == "":
        return None
    try:
        return cast(value)
    except (TypeError, ValueError):
        return None


def _kernel(h: pydicom.Dataset) -> str | None:
    value = h.get("ConvolutionKernel")
    if value is None:
        value = _functional(h, "CTReconstructionSequence", "ConvolutionKernel", str)
    if value is None:
        return None
    text = "\\".join(str(v) for v in value) if isinstance(value, pydicom.multival.MultiValue) else str(value)
    return text.strip() or None


def _str(h: pydicom.Dataset, keyword: str) -> str:
    """The value as written: a backslash inside a single-valued text (a PatientID 'A\\B') makes pydicom
    split it, so the parts are joined back, never shown as a Python list."""
    try:
        value = h.get(keyword)
    except Exception:
        return ""
    if isinstance(value, pydicom.multival.MultiValue):
        return "\\".join(str(v) for v in value).strip()
    return "" if value is None else str(value).strip()


def _int(h: pydicom.Dataset, keyword: str) -> int | None:
    try:
        return int(h.get(keyword))
    except (TypeError, ValueError):
        return None


def _float(h: pydicom.Dataset, keyword: str) -> float | None:
    try:
        value = float(h.get(keyword))
    except (TypeError, ValueError):
        return None
    return value if np.isfinite(value) else None
