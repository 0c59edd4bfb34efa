"""What a DICOM object is, as far as body composition cares: an analysable image or something to set aside.

The decision is made from one representative header (all instances of a split series share the
facts used here) and is pure, so every rule is a small table below and testable by editing headers.
Objects are set aside — listed, with the reason, never silently dropped — when they are:
localizers, secondary captures and screenshots, derived reformats, dose reports, structured
reports (including DXA reports), segmentations, presentation states, RT objects, other non-image
objects, DXA images, and images of modalities other than CT and MR (a PET in a PET/CT study must not
be chosen; the attenuation-correction CT of the same study is CT and fine).
"""

from __future__ import annotations

import re
from enum import Enum

import pydicom

from imaging.ingest.discovery import sop_class_uid
from imaging.ingest.dixon import DixonComponent, dixon_component


class SeriesKind(Enum):
    CT_IMAGE = "ct_image"
    MR_DIXON_IN_PHASE = "mr_dixon_in_phase"
    MR_DIXON_OPPOSED_PHASE = "mr_dixon_opposed_phase"
    MR_DIXON_WATER = "mr_dixon_water"
    MR_DIXON_FAT = "mr_dixon_fat"
    MR_OTHER = "mr_other"
    LOCALIZER = "localizer"
    SECONDARY_CAPTURE = "secondary_capture"
    DERIVED = "derived"
    DOSE_REPORT = "dose_report"
    STRUCTURED_REPORT = "structured_report"
    DXA = "dxa"
    SEGMENTATION = "segmentation"
    PRESENTATION_STATE = "presentation_state"
    RT_OBJECT = "rt_object"
    UNSUPPORTED_MODALITY = "unsupported_modality"
    OTHER = "other"


DIXON_KINDS: dict[DixonComponent, SeriesKind] = {
    DixonComponent.IN_PHASE: SeriesKind.MR_DIXON_IN_PHASE,
    DixonComponent.OPPOSED_PHASE: SeriesKind.MR_DIXON_OPPOSED_PHASE,
    DixonComponent.WATER: SeriesKind.MR_DIXON_WATER,
    DixonComponent.FAT: SeriesKind.MR_DIXON_FAT,
}
ANALYSABLE_KINDS = frozenset({SeriesKind.CT_IMAGE, *DIXON_KINDS.values()})

_STORAGE = "1.2.840.10008.5.1.4.1.1."
CT_SOP_CLASSES = frozenset({_STORAGE + "2", _STORAGE + "2.1", _STORAGE + "2.2"})  # CT, enhanced, legacy
MR_SOP_CLASSES = frozenset({_STORAGE + "4", _STORAGE + "4.1", _STORAGE + "4.4"})  # MR, enhanced, legacy
SECONDARY_CAPTURE_CLASSES = frozenset({_STORAGE + "7", *(f"{_STORAGE}7.{n}" for n in range(1, 5))})
DOSE_SR_CLASSES = frozenset({_STORAGE + "88.67", _STORAGE + "88.68", _STORAGE + "88.73", _STORAGE + "88.76"})
SEGMENTATION_CLASSES = frozenset({_STORAGE + "66.4", _STORAGE + "66.5"})  # SEG, surface SEG
# SOP class prefixes of whole families that are never images for us.
FAMILY_PREFIXES: tuple[tuple[str, SeriesKind, str], ...] = (
    (_STORAGE + "88.", SeriesKind.STRUCTURED_REPORT, "structured report"),
    (_STORAGE + "11.", SeriesKind.PRESENTATION_STATE, "presentation state"),
    (_STORAGE + "481.", SeriesKind.RT_OBJECT, "radiotherapy object"),
    (_STORAGE + "104.", SeriesKind.OTHER, "encapsulated document (PDF/CDA)"),
    (_STORAGE + "66", SeriesKind.OTHER, "raw data / registration / fiducials (no image)"),
    (_STORAGE + "9.", SeriesKind.OTHER, "waveform (no image)"),
)
RT_MODALITIES = frozenset({"RTSTRUCT", "RTPLAN", "RTDOSE", "RTIMAGE", "RTRECORD", "RTION", "RTTREAT"})
NON_IMAGE_MODALITIES = frozenset({"SR", "KO", "PR", "DOC", "REG", "FID", "PLAN", "AU", "ECG"})
DXA_MODALITIES = frozenset({"BMD", "BD"})
DXA_MANUFACTURERS = re.compile(r"HOLOGIC|LUNAR|NORLAND|OSTEOSYS|MEDILINK", re.IGNORECASE)
DXA_WORDS = re.compile(r"\b(DXA|DEXA|DENSITOMETR\w*|BONE DENSITY|BMD)\b", re.IGNORECASE)
DOSE_DESCRIPTIONS = re.compile(r"DOSE\s*(REPORT|INFO)|PATIENT\s*PROTOCOL|EXAM\s*SUMMARY", re.IGNORECASE)
LOCALIZER_WORDS = re.compile(
    r"LOCALI[SZ]ER|SCOUT|TOPOGRA\w*|SURVEY|SCANOGRAM|\bSURVIEW\b|3[\s-]?PLANE", re.IGNORECASE
)
# ImageType values that mark reformats and renderings even when the first value says ORIGINAL.
REFORMAT_TOKENS = frozenset(
    {"MPR", "MIP", "MINIP", "CPR", "PROJECTION IMAGE", "REFORMATTED", "VOLUME", "VRT", "CSA RESAMPLED"}
)
# Derived maps that are not Dixon water/fat and not analysable by us.
OTHER_MR_MAPS = frozenset({"ADC", "TRACEW", "FA", "FF", "T2_STAR", "R2_STAR", "SUBTRACTION", "SUB", "MOCO"})


def image_type(header: pydicom.Dataset) -> tuple[str, ...]:
    """ImageType values, upper-cased and stripped (empty tuple when absent)."""
    value = header.get("ImageType") or ()
    values = [value] if isinstance(value, str) else list(value)
    return tuple(str(v).strip().upper() for v in values)


def classify(header: pydicom.Dataset, *, multi_echo: bool = False) -> tuple[SeriesKind, list[str]]:
    """Kind of one image (or object) plus the reasons it is set aside; no reasons for analysable kinds."""
    sop = sop_class_uid(header) or ""
    modality = str(header.get("Modality") or "").strip().upper()
    description = " ".join(str(header.get(k) or "") for k in ("SeriesDescription", "ProtocolName"))
    itype = image_type(header)

    if sop in DOSE_SR_CLASSES:
        return SeriesKind.DOSE_REPORT, ["radiation dose structured report (no image)"]
    if sop in SEGMENTATION_CLASSES or modality == "SEG":
        return SeriesKind.SEGMENTATION, ["segmentation object, not an image to analyse"]
    for prefix, kind, what in FAMILY_PREFIXES:
        if sop.startswith(prefix):
            if kind is SeriesKind.STRUCTURED_REPORT and _looks_dxa(header, description):
                return kind, ["structured report from a DXA scanner: read it with `bonemuscle dxa`"]
            return kind, [f"{what}, not an image"]
    if modality in RT_MODALITIES:
        return SeriesKind.RT_OBJECT, [f"radiotherapy object ({modality}), not an image to analyse"]
    if modality in NON_IMAGE_MODALITIES:
        return SeriesKind.OTHER, [f"modality {modality} is not an image"]
    if sop in SECONDARY_CAPTURE_CLASSES or header.get("ConversionType"):
        if DOSE_DESCRIPTIONS.search(description):
            return SeriesKind.DOSE_REPORT, ["dose report page (secondary capture)"]
        if _looks_dxa(header, description):
            return SeriesKind.DXA, ["DXA report image: read DXA results with `bonemuscle dxa`"]
        return SeriesKind.SECONDARY_CAPTURE, ["secondary capture (screenshot or converted image)"]
    if modality in DXA_MODALITIES or (modality not in ("CT", "MR") and _looks_dxa(header, description)):
        return SeriesKind.DXA, [f"DXA image ({modality or 'no modality'}): read it with `bonemuscle dxa`"]
    if modality not in ("CT", "MR") or not (sop in CT_SOP_CLASSES or sop in MR_SOP_CLASSES or not sop):
        why = f"modality {modality or 'unknown'} is not used for body composition (CT and MR only)"
        return SeriesKind.UNSUPPORTED_MODALITY, [why]

    if "LOCALIZER" in itype or LOCALIZER_WORDS.search(description):
        return SeriesKind.LOCALIZER, ["localizer/scout image"]
    reformat = REFORMAT_TOKENS.intersection(itype)
    if reformat:
        return SeriesKind.DERIVED, [f"reformatted/rendered image ({', '.join(sorted(reformat))})"]
    if modality == "MR":
        is_map = bool(OTHER_MR_MAPS.intersection(itype[2:]))
        component = None if is_map else dixon_component(header, multi_echo=multi_echo)
        if component is not None:
            return DIXON_KINDS[component], []  # Dixon water/fat maps are DERIVED on many scanners: fine
    if itype and itype[0] == "DERIVED":
        return SeriesKind.DERIVED, [f"derived image ({'/'.join(itype)})"]
    if modality == "CT":
        return SeriesKind.CT_IMAGE, []
    return SeriesKind.MR_OTHER, ["MR image outside a Dixon set: fat/water quantification needs Dixon"]


def _looks_dxa(header: pydicom.Dataset, description: str) -> bool:
    """DXA objects: a densitometer vendor, DXA words, or a Hologic private block."""
    if DXA_MANUFACTURERS.search(str(header.get("Manufacturer") or "")):
        return True
    if DXA_WORDS.search(description) or DXA_WORDS.search(str(header.get("StudyDescription") or "")):
        return True
    return any(
        "HOLOGIC" in str(elem.value).upper()
        for elem in header.iterall()
        if elem.tag.is_private_creator and isinstance(elem.value, str)
    )
