"""Hologic APEX report objects: the text block in private tag (0019,1000) of a secondary capture.

The block is an XML-ish header (``<HologicHeader1>``) followed by ``<JavaScriptFile filename="...">`` blocks:
PatInfo.js and ScanInfo.js hold ``var Name = "value";`` lines, Results.js holds table cells
``ResultsTable1[r][c] = "...";``. Tables are recognised by their header row (a BMD column -> bone table;
Fat/Lean columns -> body composition), rows by their labels, so the reader does not depend on which table
number APEX used. The main whole-body table gives "Lean + BMC" only; lean excluding BMC comes from the
ancillary table, and without it ALM is refused (see imaging.dxa.alm).
"""

from __future__ import annotations

import re

import pydicom

from imaging.dxa.common import (
    Collector,
    assemble,
    checked_patient,
    parse_sex,
    patient_from_header,
)
from imaging.dxa.model import DxaResult, Patient, RegionMass, ReportFormat, Vendor
from imaging.dxa.names import Quantity, body_region, norm, quantity, side_of
from imaging.dxa.units import parse_height_m, parse_number, parse_weight_kg
from imaging.ingest.model import IngestError

MARKER = b"<HologicHeader"
_FILE_BLOCK = re.compile(r'<JavaScriptFile\s+filename="([^"]*)"\s*>(.*?)</JavaScriptFile>', re.S | re.I)
_VAR = re.compile(r'^\s*var\s+(\w+)\s*=\s*"(.*?)"\s*;', re.M)
_CELL = re.compile(r'^\s*(\w+)\[(\d+)\]\[(\d+)\]\s*=\s*"(.*?)"\s*;', re.M)
_HEADER_UNIT = re.compile(r"^(.*?)\s*[\[(]+\s*([^\])]*?)\s*[\])]+\s*$")


def text_block(ds: pydicom.Dataset) -> str | None:
    """The APEX text block from any private element of group 0019 that holds one, else None."""
    for elem in ds.group_dataset(0x0019):
        value = elem.value
        if isinstance(value, str):
            value = value.encode("utf-8", "replace")
        if isinstance(value, bytes) and MARKER in value:
            return value.decode("utf-8", "replace").rstrip("\x00 ")
    return None


def _variables(block: str, js_name: str) -> dict[str, str]:
    for filename, body in _FILE_BLOCK.findall(block):
        if filename.replace("\\", "/").rsplit("/", 1)[-1].lower() == js_name.lower():
            return dict(_VAR.findall(body))
    return {}


def tables(block: str) -> dict[str, list[list[str]]]:
    """Results.js tables by name, as rows of cells (missing cells are '')."""
    cells: dict[str, dict[tuple[int, int], str]] = {}
    for name, r, c, value in _CELL.findall(block):
        cells.setdefault(name, {})[int(r), int(c)] = value
    out = {}
    for name, grid in cells.items():
        n_rows, n_cols = max(r for r, _ in grid) + 1, max(c for _, c in grid) + 1
        out[name] = [[grid.get((r, c), "") for c in range(n_cols)] for r in range(n_rows)]
    return out


def _column(header: str) -> tuple[Quantity | None, str]:
    """'BMC[(g)]' -> (BMC, 'g'); 'Lean + BMC[g]' -> (LEAN_PLUS_BMC, 'g'); 'PR' -> (None, '')."""
    match = _HEADER_UNIT.match(header)
    name, unit = (match.group(1), match.group(2)) if match else (header, "")
    return quantity(name), unit.strip("()[] ")


def _patient(ds: pydicom.Dataset, block: str, warnings: list[str]) -> Patient:
    """PatInfo.js first (it is what the report printed), the DICOM header for whatever it lacks."""
    header = patient_from_header(ds, warnings)
    info = _variables(block, "PatInfo.js")
    height = weight = age = None
    try:
        height = parse_height_m(info.get("Height"))
    except ValueError as exc:
        warnings.append(f"PatInfo height: {exc}")
    try:
        weight = parse_weight_kg(info.get("Weight"))
    except ValueError as exc:
        warnings.append(f"PatInfo weight: {exc}")
    try:
        age = parse_number(info.get("Age"))
    except ValueError:
        age = None
    return checked_patient(
        warnings,
        info.get("PatientID") or header.id,
        parse_sex(info.get("PatientSex")) or header.sex,
        age if age is not None else header.age_years,
        height if height is not None else header.height_m,
        weight if weight is not None else header.weight_kg,
    )


def _scan_side(ds: pydicom.Dataset, block: str) -> str | None:
    info = _variables(block, "ScanInfo.js")
    return side_of(info.get("Side", "")) or side_of(
        str(ds.get("Laterality", "") or ds.get("ImageLaterality", ""))
    )


def _read_table(table: list[list[str]], side: str | None, out: Collector) -> None:
    header = [_column(cell) for cell in table[0]]
    kinds = {q for q, _ in header}
    labels = [norm(row[0]) for row in table[1:] if row]
    if Quantity.BMD in kinds:
        if {"l1", "l2", "l3", "l4"} & set(labels):
            scan = "Spine"
        elif {"1/3", "ud", "mid"} & set(labels):
            scan = "Forearm"
        else:
            scan = "Hip"
        spine_complete = {"l1", "l2", "l3", "l4"} <= set(labels)
        for row in table[1:]:
            label = row[0]
            if scan == "Spine" and norm(label) == "total":
                if not spine_complete:
                    out.warnings.append("spine Total does not cover all of L1-L4: not reported as L1-L4")
                    continue
                label = "L1-L4"
            values = {
                q: (parse_number(cell), unit) for (q, unit), cell in zip(header, row, strict=False) if q
            }
            recorded = out.record(scan, label, values, scan_side=side)
            if not recorded and scan == "Hip" and side is None and norm(label) in {"neck", "total"}:
                out.warnings.append(f"hip row {label!r}: side unknown (no ScanInfo Side, no Laterality)")
    elif kinds & {Quantity.FAT, Quantity.LEAN, Quantity.LEAN_PLUS_BMC}:
        for row in table[1:]:
            region = body_region(row[0])
            if region is None:
                continue
            values = {
                q: (parse_number(cell), unit) for (q, unit), cell in zip(header, row, strict=False) if q
            }
            previous = out.regions.pop(region, None)
            out.record("Whole Body", row[0], _merge(previous, values), default_mass_unit="g")


def _merge(
    previous: RegionMass | None, values: dict[Quantity, tuple[float | None, str]]
) -> dict[Quantity, tuple[float | None, str]]:
    """Combine a region seen in the main table with the ancillary table's row (the two tables overlap)."""
    if previous is None:
        return values
    known = {
        Quantity.LEAN: previous.lean_g,
        Quantity.FAT: previous.fat_g,
        Quantity.BMC: previous.bmc_g,
        Quantity.LEAN_PLUS_BMC: previous.lean_plus_bmc_g,
    }
    merged: dict[Quantity, tuple[float | None, str]] = {
        q: (v, "g") for q, v in known.items() if v is not None
    }
    merged.update({q: v for q, v in values.items() if v[0] is not None})
    return merged


def read_hologic_sc(ds: pydicom.Dataset, source: str) -> DxaResult:
    """Sites and regions from one APEX report object.

    Raises:
        IngestError: no (0019,1000) block, or a block without any table this reader knows.
    """
    block = text_block(ds)
    if block is None:
        raise IngestError(f"{source}: no Hologic (0019,1000) text block")
    out = Collector(source)
    side = _scan_side(ds, block)
    found = tables(block)
    for name, table in found.items():
        if len(table) < 2:
            continue
        try:
            _read_table(table, side, out)
        except ValueError as exc:
            out.warnings.append(f"{name}: {exc}")
    if out.empty:
        notes = "; ".join(out.warnings)
        raise IngestError(
            f"{source}: Hologic text block holds no usable results (tables: {sorted(found) or 'none'})"
            + (f": {notes}" if notes else "")
        )
    patient = _patient(ds, block, out.warnings)
    return assemble(
        Vendor.HOLOGIC,
        ReportFormat.HOLOGIC_APEX_SC,
        patient,
        out.sites,
        out.regions,
        out.warnings,
        source,
        exam_date=str(ds.get("StudyDate", "") or "") or None,
    )
