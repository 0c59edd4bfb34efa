"""Tabular DXA exports: Hologic APEX database style and NHANES style, one result per row.

APEX (PatScan database) columns: LARM_LEAN, RARM_LEAN, L_LEG_LEAN, R_LEG_LEAN (lean EXCLUDING BMC),
*_FAT, *_BMC, NECK_BMD, HTOT_BMD, L1_BMD..L4_BMD, TOT_BMD, R_13_BMD, all masses in grams. APEX stores no
T/Z-scores; optional *_TSCORE/*_ZSCORE columns are read when a site's export adds them. The hip and forearm
side come from HIP_SIDE/FOREARM_SIDE (L/R); without them those sites are not reported (the side is not
guessed). NHANES: DXD..LE = lean excluding BMC, DXX..LI = lean including BMC (never used as lean), grams.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from pathlib import Path

from imaging.dxa.common import assemble, checked_patient, parse_sex
from imaging.dxa.model import DxaResult, Region, RegionMass, ReportFormat, Site, SiteValues, Vendor
from imaging.dxa.names import side_of
from imaging.dxa.units import parse_number
from imaging.ingest.model import IngestError

APEX_BODY = {
    Region.ARM_LEFT: "LARM",
    Region.ARM_RIGHT: "RARM",
    Region.LEG_LEFT: "L_LEG",
    Region.LEG_RIGHT: "R_LEG",
    Region.TRUNK: "TRUNK",
    Region.HEAD: "HEAD",
    Region.TOTAL: "WBTOT",
}
APEX_SPINE = {"L1": Site.L1, "L2": Site.L2, "L3": Site.L3, "L4": Site.L4, "TOT": Site.LUMBAR_SPINE_L1_L4}
NHANES_BODY = {
    Region.ARM_LEFT: "LA",
    Region.ARM_RIGHT: "RA",
    Region.LEG_LEFT: "LL",
    Region.LEG_RIGHT: "RL",
    Region.TRUNK: "TR",
    Region.HEAD: "HD",
    Region.TOTAL: "TO",
}
NHANES_SPINE = {"DXXL1BMD": Site.L1, "DXXL2BMD": Site.L2, "DXXL3BMD": Site.L3, "DXXL4BMD": Site.L4}
NHANES_SPINE_TOTAL = "DXXOSBMD"

_APEX_MARKERS = {
    "LARM_LEAN",
    "RARM_LEAN",
    "L_LEG_LEAN",
    "NECK_BMD",
    "HTOT_BMD",
    "L1_BMD",
    "TOT_BMD",
    "R_13_BMD",
}
_NHANES_MARKERS = {"DXDLALE", "DXXLALI", "DXDLLLE", "DXXLLLI", "DXXOSBMD", "DXXL1BMD"}
_ID_COLUMNS = ("PATIENT_ID", "PATIENTID", "PATIENT_KEY", "PAT_ID", "ID", "SEQN")


def csv_kind(header: list[str]) -> ReportFormat | None:
    """Which export a CSV header belongs to (by its column names), or None when it is not a DXA export."""
    names = {h.strip().upper() for h in header}
    if names & _NHANES_MARKERS:
        return ReportFormat.NHANES_CSV
    if names & _APEX_MARKERS:
        return ReportFormat.HOLOGIC_APEX_CSV
    return None


def read_header(path: Path) -> list[str]:
    with open(path, newline="", encoding="utf-8-sig", errors="replace") as fh:
        return next(csv.reader(fh), [])


def read_csv_export(path: Path) -> list[DxaResult]:
    """One result per data row.

    Raises:
        IngestError: not a known DXA export (names the columns seen), or no data rows.
    """
    text = _text(path)
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = list(reader.fieldnames or [])
    kind = csv_kind(header)
    if kind is None:
        shown = ", ".join(header[:8]) + (" ..." if len(header) > 8 else "")
        raise IngestError(f"{path}: CSV columns ({shown}) are not a known DXA export layout")
    names = [h.strip().upper() for h in header if h.strip()]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:  # which of the two is the measurement is unknowable: neither is used
        raise IngestError(f"{path}: column(s) {', '.join(twice)} appear more than once; fix the export")
    rows = [{k.strip().upper(): (v or "").strip() for k, v in row.items() if k} for row in reader]
    if not rows:
        raise IngestError(f"{path}: DXA export has a header but no rows")
    read_row = _apex_row if kind is ReportFormat.HOLOGIC_APEX_CSV else _nhanes_row
    return [read_row(row, f"{path} row {i}") for i, row in enumerate(rows, start=2)]


def _text(path: Path) -> str:
    """The file's text: UTF-8 (with or without a byte-order mark), else Windows-1252, the code page
    of DXA workstations that do not write UTF-8 (names with accents; the numbers are ASCII either way)."""
    raw = path.read_bytes()
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return raw.decode("cp1252", errors="replace")


def _num(row: Mapping[str, str], column: str, warnings: list[str]) -> float | None:
    try:
        return parse_number(row.get(column))
    except ValueError as exc:
        warnings.append(f"column {column}: {exc}")
        return None


def _patient_id(row: Mapping[str, str]) -> str | None:
    return next((row[c] for c in _ID_COLUMNS if row.get(c)), None)


def _apex_row(row: Mapping[str, str], source: str) -> DxaResult:
    warnings: list[str] = []
    height_cm, weight = _num(row, "HEIGHT_CM", warnings), _num(row, "WEIGHT_KG", warnings)
    patient = checked_patient(
        warnings,
        _patient_id(row),
        parse_sex(row.get("SEX")),
        _num(row, "AGE", warnings),
        None if height_cm is None else height_cm / 100.0,
        weight,
    )
    regions = {}
    for region, prefix in APEX_BODY.items():
        mass = RegionMass(*(_num(row, f"{prefix}_{q}", warnings) for q in ("LEAN", "FAT", "BMC")))
        if mass != RegionMass():
            regions[region] = mass
    bone = dict(APEX_SPINE)
    for column, what, sites in (
        ("HIP_SIDE", "NECK", "femoral_neck_{}"),
        ("HIP_SIDE", "HTOT", "total_hip_{}"),
        ("FOREARM_SIDE", "R_13", "radius_33_{}"),
    ):
        side = side_of(row.get(column, ""))
        if side:
            bone[what] = Site(sites.format(side))
        elif row.get(f"{what}_BMD"):
            warnings.append(f"{what}_BMD present but {column} is empty: side unknown, value not reported")
    values: dict[Site, SiteValues] = {}
    has_scores = any(c.endswith("_TSCORE") for c in row)
    for prefix, site in bone.items():
        bmd = _num(row, f"{prefix}_BMD", warnings)
        if bmd is not None:
            t, z = _num(row, f"{prefix}_TSCORE", warnings), _num(row, f"{prefix}_ZSCORE", warnings)
            values[site] = SiteValues(bmd, t, z)
    if values and not has_scores:
        warnings.append("APEX database exports store no T- or Z-scores: t_score/z_score are null")
    return assemble(
        Vendor.HOLOGIC,
        ReportFormat.HOLOGIC_APEX_CSV,
        patient,
        values,
        regions,
        warnings,
        source,
        exam_date=row.get("SCAN_DATE") or None,
    )


def _nhanes_row(row: Mapping[str, str], source: str) -> DxaResult:
    warnings: list[str] = []
    height_cm = _num(row, "BMXHT", warnings)
    patient = checked_patient(
        warnings,
        _patient_id(row),
        parse_sex(row.get("RIAGENDR")),
        _num(row, "RIDAGEYR", warnings),
        None if height_cm is None else height_cm / 100.0,
        _num(row, "BMXWT", warnings),
    )
    regions = {}
    for region, code in NHANES_BODY.items():
        lean_col = "DXDTOLE" if code == "TO" else f"DXD{code}LE"
        li_col = "DXDTOLI" if code == "TO" and "DXDTOLI" in row else f"DXX{code}LI"
        mass = RegionMass(
            lean_g=_num(row, lean_col, warnings),
            fat_g=_num(row, f"DXD{code}FAT", warnings),
            bmc_g=_num(row, f"DXD{code}BMC", warnings),
            lean_plus_bmc_g=_num(row, li_col, warnings),
        )
        if mass != RegionMass():
            regions[region] = mass
    sites = {site: SiteValues(bmd) for col, site in NHANES_SPINE.items() if (bmd := _num(row, col, warnings))}
    if (total := _num(row, NHANES_SPINE_TOTAL, warnings)) is not None:
        sites[Site.LUMBAR_SPINE_L1_L4] = SiteValues(total)
    if any(row.get(c) for c in ("DXXNKBMD", "DXXOFBMD")):
        warnings.append("NHANES femur columns carry no side: femoral neck/total hip not reported")
    if sites:
        warnings.append("NHANES files store no T- or Z-scores: t_score/z_score are null")
    return assemble(Vendor.HOLOGIC, ReportFormat.NHANES_CSV, patient, sites, regions, warnings, source)
