"""GE Lunar enCORE Enhanced SR: root "DXA Report" -> scan containers -> region containers -> items.

Items are matched by CodeMeaning only (GE's code values are private and differ between versions), values
may be NUM or TEXT, and some sites write decimal commas even inside NUM values, which pydicom then hands
back as text: every value therefore goes through the same tolerant number parser.
"""

from __future__ import annotations

import pydicom

from imaging.dxa.common import Collector, assemble, patient_from_header
from imaging.dxa.model import DxaResult, ReportFormat, Vendor
from imaging.dxa.names import BODY_SCANS, FEMUR_SCANS, FOREARM_SCANS, SPINE_SCANS, Quantity, norm, quantity
from imaging.dxa.units import split_value_unit
from imaging.ingest.model import IngestError

SR_SOP_CLASS_PREFIX = "1.2.840.10008.5.1.4.1.1.88."
ROOT_MEANING = "dxareport"
_KNOWN_SCANS = SPINE_SCANS | BODY_SCANS | set(FEMUR_SCANS) | set(FOREARM_SCANS)


def meaning(item: pydicom.Dataset) -> str:
    """The CodeMeaning of an SR content item's concept name ('' when absent)."""
    seq = item.get("ConceptNameCodeSequence")
    return str(seq[0].get("CodeMeaning", "")) if seq else ""


def is_sr(ds: pydicom.Dataset) -> bool:
    sop = str(ds.get("SOPClassUID", "") or getattr(ds.get("file_meta"), "MediaStorageSOPClassUID", ""))
    return sop.startswith(SR_SOP_CLASS_PREFIX) or ds.get("ValueType") == "CONTAINER"


def is_ge_dxa_sr(ds: pydicom.Dataset) -> bool:
    """An SR whose root container is 'DXA Report' (any modality: BMD and BD are both seen)."""
    return is_sr(ds) and norm(meaning(ds)) == ROOT_MEANING


def item_value(item: pydicom.Dataset) -> tuple[float | None, str]:
    """(number, unit) of a NUM or TEXT item; TEXT may carry its unit ('0,826 g/cm2').

    Raises:
        ValueError: a NUM item without a measured value, or a value that is no finite number.
    """
    if item.get("ValueType") == "NUM":
        measured = item.get("MeasuredValueSequence")
        if not measured:  # a NUM item the device left without a value: say so, the BMD is not zero
            raise ValueError("NUM item without a measured value")
        number, _ = split_value_unit(str(measured[0].get("NumericValue", "")))
        units = measured[0].get("MeasurementUnitsCodeSequence")
        unit = str(units[0].get("CodeMeaning") or units[0].get("CodeValue") or "") if units else ""
        return number, _ucum_to_plain(unit)
    if item.get("ValueType") == "TEXT":
        return split_value_unit(str(item.get("TextValue", "")))
    return None, ""


def _ucum_to_plain(unit: str) -> str:
    return {"[lb_av]": "lb", "{t-score}": "", "{z-score}": ""}.get(unit.strip().lower(), unit.strip())


def read_ge_sr(ds: pydicom.Dataset, source: str) -> DxaResult:
    """Every known site and body region in a GE DXA Report SR.

    Raises:
        IngestError: the SR is not a DXA Report, or it holds nothing this reader knows (names what it found).
    """
    root = meaning(ds)
    if norm(root) != ROOT_MEANING:
        raise IngestError(f"{source}: SR with root container {root!r} — not a known DXA layout")
    out = Collector(source)
    found: list[str] = []
    for scan_item in ds.get("ContentSequence", []):
        if scan_item.get("ValueType") != "CONTAINER":
            continue
        scan = meaning(scan_item)
        found.append(scan)
        if norm(scan) not in _KNOWN_SCANS:
            out.warnings.append(f"scan container {scan!r} is not one this reader knows: ignored")
            continue
        for region_item in scan_item.get("ContentSequence", []):
            if region_item.get("ValueType") != "CONTAINER":
                continue
            values: dict[Quantity, tuple[float | None, str]] = {}
            for item in region_item.get("ContentSequence", []):
                q = quantity(meaning(item))
                if q is None:
                    continue
                try:
                    values.setdefault(q, item_value(item))
                except ValueError as exc:
                    out.warnings.append(f"{scan} / {meaning(region_item)} / {meaning(item)}: {exc}")
            out.record(scan, meaning(region_item), values)
    if out.empty:
        raise IngestError(
            f"{source}: DXA Report SR holds no known site or body region (scan containers: {found or 'none'})"
        )
    patient = patient_from_header(ds, out.warnings)
    return assemble(
        Vendor.GE,
        ReportFormat.GE_ENHANCED_SR,
        patient,
        out.sites,
        out.regions,
        out.warnings,
        source,
        exam_date=str(ds.get("StudyDate", "") or "") or None,
    )
