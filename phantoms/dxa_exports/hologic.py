"""Hologic APEX report secondary captures with the (0019,1000) text block."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from xml.sax.saxutils import escape

from pydicom.dataset import Dataset

from imaging.dxa.model import Region, Site
from phantoms.dxa_exports.exam import (
    HIP_SITES,
    HOLOGIC_CREATOR,
    INCH_M,
    POUND_G,
    SECONDARY_CAPTURE,
    SPINE_SITES,
    BoneSite,
    DxaExam,
    add_pixels,
    base_dataset,
    save,
    sides_present,
)


# --- Hologic APEX secondary capture
class HologicScan(StrEnum):
    SPINE = "LSPINE"
    HIP = "HIP"
    FOREARM = "ARM"
    WHOLE_BODY = ""


@dataclass(frozen=True)
class HologicOptions:
    height_unit: str = "in"  # "in" or "cm"
    weight_unit: str = "lb"  # "lb" or "kg"
    ancillary_table: bool = True  # False: only the main table with "Lean + BMC" (no lean excluding BMC)
    date_format: str = "%m/%d/%Y"  # or "%d.%m.%Y"


def hologic_scans(exam: DxaExam) -> list[HologicScan]:
    """Which APEX report objects this exam produces (one per scan)."""
    groups = (
        (HologicScan.SPINE, set(SPINE_SITES.values())),
        (HologicScan.HIP, set(HIP_SITES.values())),
        (HologicScan.FOREARM, {Site.RADIUS_33_LEFT, Site.RADIUS_33_RIGHT}),
    )
    scans = [scan for scan, sites in groups if sites & set(exam.sites)]
    return scans + ([HologicScan.WHOLE_BODY] if exam.regions else [])


_BONE_HEADER = ("Region", "Area[cm²]", "BMC[(g)]", "BMD[g/cm²]", "T-score", "PR", "Z-score", "AM")


def _bone_row(label: str, v: BoneSite) -> list[str]:
    def opt(x: float | None, fmt: str) -> str:
        return "" if x is None else format(x, fmt)

    return [
        label,
        opt(v.area_cm2, ".2f"),
        opt(v.bmc_g, ".2f"),
        f"{v.bmd_g_cm2:.3f}",
        opt(v.t_score, ".1f"),
        opt(v.pya_pct, ".0f"),
        opt(v.z_score, ".1f"),
        opt(v.pam_pct, ".0f"),
    ]


_HOLOGIC_BODY = {
    Region.ARM_LEFT: "L Arm",
    Region.ARM_RIGHT: "R Arm",
    Region.TRUNK: "Trunk",
    Region.LEG_LEFT: "L Leg",
    Region.LEG_RIGHT: "R Leg",
    Region.SUBTOTAL: "Subtotal",
    Region.HEAD: "Head",
    Region.TOTAL: "Total",
}


def _hologic_tables(
    exam: DxaExam, scan: HologicScan, options: HologicOptions
) -> tuple[list[list[list[str]]], str]:
    """The Results.js tables for one scan, and the scan's side ("Left"/"Right"/"" )."""
    sites, side = exam.sites, ""
    if scan is HologicScan.SPINE:
        rows = [_bone_row(n, sites[s]) for n, s in SPINE_SITES.items() if s in sites]
        return [[list(_BONE_HEADER), *[(["Total", *r[1:]] if r[0] == "L1-L4" else r) for r in rows]]], side
    if scan is HologicScan.HIP:
        hip_sides = [s for s in ("Left", "Right") if any(HIP_SITES[s, r] in sites for r in ("Neck", "Total"))]
        if len(hip_sides) == 2:
            rows = [
                _bone_row(f"{r} {s}", sites[HIP_SITES[s, r]])
                for r in ("Neck", "Total")
                for s in hip_sides
                if HIP_SITES[s, r] in sites
            ]
        else:
            side = hip_sides[0]
            rows = [
                _bone_row(r, sites[HIP_SITES[side, r]])
                for r in ("Neck", "Total")
                if HIP_SITES[side, r] in sites
            ]
        return [[list(_BONE_HEADER), *rows]], side
    if scan is HologicScan.FOREARM:
        side = sides_present(exam, Site.RADIUS_33_LEFT, Site.RADIUS_33_RIGHT)[0]
        return [[list(_BONE_HEADER), _bone_row("1/3", sites[Site(f"radius_33_{side.lower()}")])]], side
    regions = [(label, exam.regions[r]) for r, label in _HOLOGIC_BODY.items() if r in exam.regions]
    main = [["Region", "Fat Mass[g]", "Lean + BMC[g]", "Total Mass[g]", "% Fat"]]
    main += [
        [
            lbl,
            f"{m.fat_g:.1f}",
            f"{m.lean_plus_bmc_g:.1f}",
            f"{m.total_g:.1f}",
            f"{100 * m.fat_g / m.total_g:.1f}",
        ]
        for lbl, m in regions
    ]
    tables = [main]
    if options.ancillary_table:
        anc = [["Region", "BMC[g]", "Fat[g]", "Lean[g]", "Lean+BMC[g]", "Total[g]", "%Fat"]]
        anc += [
            [
                lbl,
                f"{m.bmc_g:.1f}",
                f"{m.fat_g:.1f}",
                f"{m.lean_g:.1f}",
                f"{m.lean_plus_bmc_g:.1f}",
                f"{m.total_g:.1f}",
                f"{100 * m.fat_g / m.total_g:.1f}",
            ]
            for lbl, m in regions
        ]
        tables.append(anc)
    return tables, side


def hologic_text_block(exam: DxaExam, scan: HologicScan, options: HologicOptions = HologicOptions()) -> str:
    """The (0019,1000) text: <HologicHeader1> then PatInfo.js, ScanInfo.js and Results.js blocks."""
    s = exam.subject
    tables, side = _hologic_tables(exam, scan, options)
    height = weight = ""
    if s.height_m is not None:
        height = (
            f"{s.height_m / INCH_M:.1f} in" if options.height_unit == "in" else f"{s.height_m * 100:.1f} cm"
        )
    if s.weight_kg is not None:
        weight = (
            f"{s.weight_kg * 1000 / POUND_G:.1f} lb"
            if options.weight_unit == "lb"
            else f"{s.weight_kg:.1f} kg"
        )
    dob = datetime.strptime(exam.birth_date, "%Y%m%d").strftime(options.date_format)
    scan_date = datetime.strptime(exam.study_date, "%Y%m%d").strftime(options.date_format)
    folder = "C:\\\\Program Files\\\\Hologic\\\\APEX\\\\Reports\\\\"
    pat = {
        "PatientID": s.patient_id,
        "PatientSex": {"M": "Male", "F": "Female"}[s.sex],
        "Ethnicity": "White",
        "Height": height,
        "Weight": weight,
        "DOB": dob,
        "Age": str(s.age_years),
        "MenopauseAge": "",
    }
    info = {
        "ScanMode": "Array",
        "AnalProtocol": {"LSPINE": "Lumbar Spine", "HIP": "Hip", "ARM": "Forearm", "": "Whole Body"}[
            scan.value
        ],
        "Side": side,
        "Model": "Horizon A (S/N 300000)",
        "Version": "APEX 5.6 (bonemuscle synthetic)",
        "ScanDate": scan_date,
    }
    results = []
    for t, table in enumerate(tables, start=1):
        results.append(f"var ResultsTable{t} = new Array();")
        for r, row in enumerate(table):
            results.append(f"ResultsTable{t}[{r}] = new Array();")
            results += [f'ResultsTable{t}[{r}][{c}] = "{cell}";' for c, cell in enumerate(row)]
    return "\n".join(
        [
            "<HologicHeader1>",
            f"<Version>1.0</Version><ScanType>{escape(info['AnalProtocol'])}</ScanType>",
            "</HologicHeader1>",
            f'<JavaScriptFile filename="{folder}PatInfo.js">',
            *[f'var {k} = "{v}";' for k, v in pat.items()],
            "</JavaScriptFile>",
            f'<JavaScriptFile filename="{folder}ScanInfo.js">',
            *[f'var {k} = "{v}";' for k, v in info.items()],
            "</JavaScriptFile>",
            f'<JavaScriptFile filename="{folder}Results.js">',
            *results,
            "</JavaScriptFile>",
            "",
        ]
    )


def hologic_sc(exam: DxaExam, scan: HologicScan, options: HologicOptions = HologicOptions()) -> Dataset:
    """A Hologic APEX report secondary capture for one scan, with the private (0019,1000) text block."""
    ds = base_dataset(exam, SECONDARY_CAPTURE, "OT", "HOLOGIC", "Horizon A", f"hologic-{scan.value or 'WB'}")
    ds.SeriesDescription = {"LSPINE": "AP Lumbar Spine", "HIP": "Hip", "ARM": "Forearm", "": "Whole Body"}[
        scan.value
    ]
    ds.BodyPartExamined = scan.value
    text = hologic_text_block(exam, scan, options)
    side = next((line.split('"')[1] for line in text.splitlines() if line.startswith("var Side")), "")
    if side:
        ds.Laterality = side[0]
    block = ds.private_block(0x0019, HOLOGIC_CREATOR, create=True)
    data = text.encode("utf-8")
    block.add_new(0x00, "OB", data + b" " * (len(data) % 2))
    add_pixels(ds)
    return ds


def write_hologic_reports(
    exam: DxaExam, folder: str | Path, options: HologicOptions = HologicOptions()
) -> list[Path]:
    """One secondary capture per scan in the exam (as APEX exports them), named by scan."""
    folder = Path(folder)
    return [
        save(hologic_sc(exam, scan, options), folder / f"hologic_{scan.value or 'WB'}.dcm")
        for scan in hologic_scans(exam)
    ]
