"""GE Lunar exports: enCORE Enhanced SR and the ImageComments results XML (see the package docstring)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from xml.sax.saxutils import quoteattr

from pydicom.dataelem import RawDataElement
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence
from pydicom.tag import Tag

from imaging.dxa.model import Region, Site
from phantoms.dxa_exports.exam import (
    ENHANCED_SR,
    HIP_SITES,
    PRIVATE_SCHEME,
    SECONDARY_CAPTURE,
    SPINE_SITES,
    BodyRegion,
    BoneSite,
    DxaExam,
    MassUnit,
    add_pixels,
    base_dataset,
    fmt_number,
    mass_decimals,
    mass_in,
    save,
    sides_present,
)

_GE_BODY_NAMES = {
    Region.ARM_LEFT: "Arm Left",
    Region.ARM_RIGHT: "Arm Right",
    Region.ARMS: "Arms",
    Region.LEG_LEFT: "Leg Left",
    Region.LEG_RIGHT: "Leg Right",
    Region.LEGS: "Legs",
    Region.TRUNK: "Trunk",
    Region.HEAD: "Head",
    Region.ANDROID: "Android",
    Region.GYNOID: "Gynoid",
    Region.SUBTOTAL: "Subtotal",
    Region.TOTAL: "Total",
}


def ge_scans(exam: DxaExam, dual_femur: bool | None = None) -> list[tuple[str, list[tuple[str, BoneSite]]]]:
    """The exam's bone sites grouped as GE names them: [(scan name, [(region name, values)])]."""
    scans: list[tuple[str, list[tuple[str, BoneSite]]]] = []
    spine = [(name, exam.sites[site]) for name, site in SPINE_SITES.items() if site in exam.sites]
    if spine:
        scans.append(("AP Spine", spine))
    hip_sides = [
        side
        for side in ("Left", "Right")
        if any((side, r) in HIP_SITES and HIP_SITES[side, r] in exam.sites for r in ("Neck", "Total"))
    ]
    dual = len(hip_sides) == 2 if dual_femur is None else dual_femur
    if dual and hip_sides:
        rows = [
            (f"{r} {side}", exam.sites[HIP_SITES[side, r]])
            for r in ("Neck", "Total")
            for side in hip_sides
            if HIP_SITES[side, r] in exam.sites
        ]
        scans.append(("DualFemur", rows))
    else:
        for side in hip_sides:
            rows = [
                (r, exam.sites[HIP_SITES[side, r]])
                for r in ("Neck", "Total")
                if HIP_SITES[side, r] in exam.sites
            ]
            scans.append((f"{side} Femur", rows))
    for side in sides_present(exam, Site.RADIUS_33_LEFT, Site.RADIUS_33_RIGHT):
        scans.append((f"{side} Forearm", [("Radius 33%", exam.sites[Site(f"radius_33_{side.lower()}")])]))
    return scans


# --- GE Enhanced SR
@dataclass(frozen=True)
class GeSrOptions:
    """Variations seen across GE sites and enCORE versions."""

    modality: str = "BMD"  # "BD" is seen too
    scores_as_text: bool = True  # BMD_TSCORE / BMD_ZSCORE as TEXT (common) or NUM
    decimal_comma: bool = False  # "1,023" in TEXT values and (as an invalid DS) in NUM values
    mass_unit: MassUnit = MassUnit.G
    dual_femur: bool | None = None  # None: DualFemur exactly when both hips are present
    with_trend: bool = False  # add a "Trend L1-L4" container with an older value that readers must ignore
    root_meaning: str = "DXA Report"


def _code(meaning: str, scheme: str = PRIVATE_SCHEME) -> Dataset:
    item = Dataset()
    item.CodeValue = "BM" + hashlib.sha1(meaning.encode()).hexdigest()[:8].upper()
    item.CodingSchemeDesignator = scheme
    item.CodeMeaning = meaning
    return item


def _unit(ucum: str, meaning: str) -> Dataset:
    item = Dataset()
    item.CodeValue = ucum
    item.CodingSchemeDesignator = "UCUM"
    item.CodeMeaning = meaning
    return item


def _sr_item(value_type: str, meaning: str) -> Dataset:
    item = Dataset()
    item.RelationshipType = "CONTAINS"
    item.ValueType = value_type
    item.ConceptNameCodeSequence = Sequence([_code(meaning)])
    return item


def _sr_container(meaning: str, children: Iterable[Dataset]) -> Dataset:
    item = _sr_item("CONTAINER", meaning)
    item.ContinuityOfContent = "SEPARATE"
    item.ContentSequence = Sequence(list(children))
    return item


def _sr_num(meaning: str, value: float, decimals: int, unit: tuple[str, str], comma: bool) -> Dataset:
    item = _sr_item("NUM", meaning)
    measured = Dataset()
    text = fmt_number(value, decimals, comma)
    if comma:  # an invalid DS, written raw exactly as such sites do
        raw = (text + " " * (len(text) % 2)).encode("ascii")
        measured[Tag(0x0040, 0xA30A)] = RawDataElement(
            Tag(0x0040, 0xA30A), "DS", len(raw), raw, 0, False, True
        )
    else:
        measured.NumericValue = text
    measured.MeasurementUnitsCodeSequence = Sequence([_unit(*unit)])
    item.MeasuredValueSequence = Sequence([measured])
    return item


def _sr_text(meaning: str, text: str) -> Dataset:
    item = _sr_item("TEXT", meaning)
    item.TextValue = text
    return item


def _ge_site_items(values: BoneSite, opt: GeSrOptions) -> list[Dataset]:
    c = opt.decimal_comma
    items = [_sr_num("BMD", values.bmd_g_cm2, 3, ("g/cm2", "g/cm2"), c)]
    for meaning, score, unit in (
        ("BMD_TSCORE", values.t_score, "{T-Score}"),
        ("BMD_ZSCORE", values.z_score, "{Z-Score}"),
    ):
        if score is None:
            continue
        if opt.scores_as_text:
            items.append(_sr_text(meaning, fmt_number(score, 1, c)))
        else:
            items.append(_sr_num(meaning, score, 1, (unit, unit), c))
    optional = (
        ("BMD_PYA", values.pya_pct, 0, ("%", "%")),
        ("BMD_PAM", values.pam_pct, 0, ("%", "%")),
        ("BMC", values.bmc_g, 2, ("g", "g")),
        ("AREA", values.area_cm2, 2, ("cm2", "cm2")),
    )
    items += [_sr_num(m, v, d, u, c) for m, v, d, u in optional if v is not None]
    return items


def _ge_mass_items(region: BodyRegion, opt: GeSrOptions) -> list[Dataset]:
    unit = opt.mass_unit
    ucum = {MassUnit.G: ("g", "g"), MassUnit.KG: ("kg", "kg"), MassUnit.LBS: ("[lb_av]", "lbs")}[unit]
    masses = (
        ("Fat Mass", region.fat_g),
        ("Lean Mass", region.lean_g),
        ("BMC", region.bmc_g),
        ("Tissue Mass", region.tissue_g),
        ("Total Mass", region.total_g),
    )
    return [_sr_num(m, mass_in(g, unit), mass_decimals(unit), ucum, opt.decimal_comma) for m, g in masses]


def ge_enhanced_sr(exam: DxaExam, options: GeSrOptions = GeSrOptions()) -> Dataset:
    """A GE Lunar enCORE-style Enhanced SR holding every site and region of the exam."""
    ds = base_dataset(exam, ENHANCED_SR, options.modality, "GE Healthcare", "Lunar iDXA", "ge-sr")
    ds.SoftwareVersions = "enCORE 18 (bonemuscle synthetic)"
    ds.SeriesDescription = "DXA Report"
    ds.ValueType = "CONTAINER"
    ds.ConceptNameCodeSequence = Sequence([_code(options.root_meaning)])
    ds.ContinuityOfContent = "SEPARATE"
    ds.CompletionFlag = "COMPLETE"
    ds.VerificationFlag = "UNVERIFIED"
    scans = []
    for scan, rows in ge_scans(exam, options.dual_femur):
        regions = [_sr_container(name, _ge_site_items(values, options)) for name, values in rows]
        if options.with_trend and scan == "AP Spine" and Site.LUMBAR_SPINE_L1_L4 in exam.sites:
            old = exam.sites[Site.LUMBAR_SPINE_L1_L4]
            trend = _ge_site_items(BoneSite(old.bmd_g_cm2 + 0.05, _add(old.t_score, 0.4)), options)
            regions.append(_sr_container("Trend L1-L4", [_sr_text("DATE", "12-Mar-2019"), *trend]))
        scans.append(_sr_container(scan, regions))
    if exam.regions:
        body = [_sr_container(_GE_BODY_NAMES[r], _ge_mass_items(m, options)) for r, m in exam.regions.items()]
        scans.append(_sr_container("Body Composition", body))
    ds.ContentSequence = Sequence(scans)
    return ds


def _add(value: float | None, delta: float) -> float | None:
    return None if value is None else value + delta


def write_ge_enhanced_sr(exam: DxaExam, path: str | Path, options: GeSrOptions = GeSrOptions()) -> Path:
    return save(ge_enhanced_sr(exam, options), path)


# --- GE ImageComments XML
class GeXmlLayout(StrEnum):
    DXA_RESULTS = "DXA_RESULTS"  # newer: <DXA_RESULTS><SCAN type=..><ROI region=..><BMD units=..>
    DENSITOMETRY_RESULTS = "DENSITOMETRY_RESULTS"  # older: <CURRENT_EXAM><SCAN><TREND><ROI> with YAT / AMZ


def ge_results_xml(
    exam: DxaExam, layout: GeXmlLayout = GeXmlLayout.DXA_RESULTS, dual_femur: bool | None = None
) -> str:
    """The XML GE puts in ImageComments for this exam's bone sites (body composition: our vocabulary)."""
    old = layout is GeXmlLayout.DENSITOMETRY_RESULTS
    t_tag, z_tag = ("YAT", "AMZ") if old else ("BMD_TSCORE", "BMD_ZSCORE")
    scans = []
    for scan, rows in ge_scans(exam, dual_femur):
        rois = []
        for name, v in rows:
            cells = [f'<BMD units=" g/cm2">{v.bmd_g_cm2:.3f}</BMD>']
            cells += [
                f"<{tag}>{val:.1f}</{tag}>"
                for tag, val in ((t_tag, v.t_score), (z_tag, v.z_score))
                if val is not None
            ]
            cells += [
                f'<{tag} units="{u}">{val:.2f}</{tag}>'
                for tag, val, u in (
                    ("BMD_PYA", v.pya_pct, "%"),
                    ("BMD_PAM", v.pam_pct, "%"),
                    ("BMC", v.bmc_g, " g"),
                    ("AREA", v.area_cm2, " cm2"),
                )
                if val is not None and not old
            ]
            rois.append(f"<ROI region={quoteattr(name)}>{''.join(cells)}</ROI>")
        inner = f"<TREND>{''.join(rois)}</TREND>" if old else "".join(rois)
        scans.append(f'<SCAN type={quoteattr(scan)} date="{exam.study_date}">{inner}</SCAN>')
    if exam.regions and not old:
        rois = []
        for region, m in exam.regions.items():
            cells = "".join(
                f'<{tag} units=" g">{g:.1f}</{tag}>'
                for tag, g in (
                    ("FAT_MASS", m.fat_g),
                    ("LEAN_MASS", m.lean_g),
                    ("BMC", m.bmc_g),
                    ("TISSUE_MASS", m.tissue_g),
                    ("TOTAL_MASS", m.total_g),
                )
            )
            rois.append(f"<ROI region={quoteattr(_GE_BODY_NAMES[region])}>{cells}</ROI>")
        scans.append(f'<SCAN type="Body Composition">{"".join(rois)}</SCAN>')
    body = "".join(scans)
    if old:
        return f"<DENSITOMETRY_RESULTS><CURRENT_EXAM>{body}</CURRENT_EXAM></DENSITOMETRY_RESULTS>"
    return f"<DXA_RESULTS>{body}</DXA_RESULTS>"


def ge_xml_image(
    exam: DxaExam, layout: GeXmlLayout = GeXmlLayout.DXA_RESULTS, dual_femur: bool | None = None
) -> Dataset:
    """A GE DXA image object (secondary capture) whose ImageComments carries the results XML."""
    ds = base_dataset(exam, SECONDARY_CAPTURE, "BMD", "GE Healthcare", "Lunar Prodigy", f"ge-xml-{layout}")
    ds.SeriesDescription = "DXA Image"
    ds.ImageComments = ge_results_xml(exam, layout, dual_femur)
    add_pixels(ds)
    return ds


def write_ge_xml_image(
    exam: DxaExam, path: str | Path, layout: GeXmlLayout = GeXmlLayout.DXA_RESULTS
) -> Path:
    return save(ge_xml_image(exam, layout), path)
