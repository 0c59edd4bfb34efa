"""GE results XML in ImageComments (0020,4000) of GE DXA image objects.

Two layouts are read: newer ``<DXA_RESULTS><SCAN type=..><ROI region=..><BMD units=..>..`` and older
``<DENSITOMETRY_RESULTS><CURRENT_EXAM><SCAN ..>`` where the T- and Z-scores are called YAT and AMZ. In the
older layout only CURRENT_EXAM is read: earlier exams in the same block are history, not this visit.
Any element under a SCAN that carries a ``region`` attribute is taken as a region, so the nesting depth
(``<TREND>`` wrappers) does not matter.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pydicom

from imaging.dxa.common import Collector, assemble, patient_from_header
from imaging.dxa.model import DxaResult, ReportFormat, Vendor
from imaging.dxa.names import Quantity, quantity
from imaging.dxa.units import split_value_unit
from imaging.ingest.model import IngestError

_ROOTS = ("DXA_RESULTS", "DENSITOMETRY_RESULTS")


def results_xml(ds: pydicom.Dataset) -> str | None:
    """The results XML text when ImageComments holds one of GE's layouts, else None."""
    text = str(ds.get("ImageComments", "") or "")
    return text if any(f"<{root}" in text for root in _ROOTS) else None


def read_ge_xml(ds: pydicom.Dataset, source: str) -> DxaResult:
    """Every known site and region in the ImageComments XML.

    Raises:
        IngestError: no XML, XML that does not parse, or a layout without any site we know.
    """
    text = results_xml(ds)
    if text is None:
        raise IngestError(f"{source}: ImageComments holds no GE DXA results XML")
    try:
        root = ET.fromstring(text[text.index("<") :].strip())
    except ET.ParseError as exc:
        raise IngestError(f"{source}: GE results XML in ImageComments does not parse ({exc})") from exc
    if root.tag == "DENSITOMETRY_RESULTS":
        current = root.find("CURRENT_EXAM")
        scans = [] if current is None else current.findall(".//SCAN")
    elif root.tag == "DXA_RESULTS":
        scans = root.findall(".//SCAN")
    else:
        raise IngestError(f"{source}: ImageComments XML root <{root.tag}> — not a known DXA layout")
    out = Collector(source)
    for scan in scans:
        scan_name = scan.get("type") or scan.get("name") or ""
        for roi in scan.iter():
            region = roi.get("region")
            if region is None:
                continue
            values: dict[Quantity, tuple[float | None, str]] = {}
            for cell in roi:
                q = quantity(cell.tag)
                if q is None:
                    continue
                try:
                    number, unit = split_value_unit(cell.text or "")
                except ValueError as exc:
                    out.warnings.append(f"{scan_name} / {region} / {cell.tag}: {exc}")
                    continue
                values.setdefault(q, (number, (cell.get("units") or unit).strip()))
            out.record(scan_name, region, values)
    if out.empty:
        names = [s.get("type") for s in scans]
        raise IngestError(
            f"{source}: GE results XML <{root.tag}> holds no known site (scans: {names or 'none'})"
        )
    patient = patient_from_header(ds, out.warnings)
    return assemble(
        Vendor.GE,
        ReportFormat.GE_IMAGE_COMMENTS_XML,
        patient,
        out.sites,
        out.regions,
        out.warnings,
        source,
        exam_date=str(ds.get("StudyDate", "") or "") or None,
    )
