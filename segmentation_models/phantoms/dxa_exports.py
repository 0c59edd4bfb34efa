"""Vendor-shaped DXA exports built from a plain description of one exam (synthetic fixtures).

No real DXA export may be redistributed, so the project's tests and sample studies use files written here from
the layouts documented in ../shared/reference/dxa-formats.md:

- GE Lunar enCORE Enhanced SR (root "DXA Report" -> scan containers -> region containers -> BMD/T/Z... items);
- GE ImageComments (0020,4000) XML on a DXA image: newer ``<DXA_RESULTS>``, older ``<DENSITOMETRY_RESULTS>``;
- Hologic APEX secondary capture with the (0019,1000) text block (PatInfo.js, ScanInfo.js, Results.js tables);
- Hologic APEX database-style CSV and NHANES-style CSV.

What is documented is reproduced (container names, item meanings, column names). What is NOT public is
our own vocabulary, chosen to be readable and stated here so nobody mistakes it for the vendor's: GE's
SR/XML items for body composition ("Body Composition" scan; "Lean Mass", "Fat Mass", "BMC", "Tissue Mass",
"Total Mass"), the code values (private scheme ``99BONEMUSCLE``; readers match meanings, never codes), the
older GE XML nesting (``<SCAN><TREND><ROI region=..>``), Hologic's dual-hip row labels ("Neck Left"...),
ScanInfo ``Side``, and the extra CSV columns (``HIP_SIDE``, ``FOREARM_SIDE``, optional
``*_TSCORE``/``*_ZSCORE``).

Everything is deterministic: UIDs are hashed from the exam's seed, dates are fixed by the description.
"""

from __future__ import annotations

import csv
import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

import numpy as np
from pydicom.dataelem import RawDataElement
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence
from pydicom.tag import Tag
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

from imaging.dxa.model import Region, Site

ENHANCED_SR = "1.2.840.10008.5.1.4.1.1.88.22"
SECONDARY_CAPTURE = "1.2.840.10008.5.1.4.1.1.7"
PRIVATE_SCHEME = "99BONEMUSCLE"
HOLOGIC_CREATOR = "HOLOGIC, Inc."
POUND_G = 453.59237
INCH_M = 0.0254


# --- description
@dataclass(frozen=True)
class Subject:
    """The person scanned. Height/weight None = not recorded on the scanner."""

    patient_id: str
    sex: str  # "M" or "F"
    age_years: int
    height_m: float | None
    weight_kg: float | None
    name: str = ""
    birth_date: str = ""  # YYYYMMDD; derived from age and study date when empty

    def __post_init__(self) -> None:
        if self.sex not in {"M", "F"}:
            raise ValueError(f"sex must be 'M' or 'F', not {self.sex!r}")


@dataclass(frozen=True)
class BoneSite:
    """Areal BMD at one site with the scores the scanner printed (None = not printed)."""

    bmd_g_cm2: float
    t_score: float | None = None
    z_score: float | None = None
    bmc_g: float | None = None
    area_cm2: float | None = None
    pya_pct: float | None = None  # % of young adult mean (GE BMD_PYA, Hologic PR)
    pam_pct: float | None = None  # % of age matched (GE BMD_PAM, Hologic AM)


@dataclass(frozen=True)
class BodyRegion:
    """Masses of one body-composition region in grams; ``lean_g`` EXCLUDES bone mineral content."""

    lean_g: float
    fat_g: float
    bmc_g: float

    @property
    def lean_plus_bmc_g(self) -> float:
        return self.lean_g + self.bmc_g

    @property
    def tissue_g(self) -> float:
        return self.lean_g + self.fat_g

    @property
    def total_g(self) -> float:
        return self.lean_g + self.fat_g + self.bmc_g


@dataclass(frozen=True)
class DxaExam:
    """One DXA visit: sites keyed by the contract's site keys, regions by the reader's region keys."""

    subject: Subject
    sites: Mapping[Site, BoneSite] = field(default_factory=dict)
    regions: Mapping[Region, BodyRegion] = field(default_factory=dict)
    study_date: str = "20240115"
    study_time: str = "093000"
    seed: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "sites", {Site(k): v for k, v in self.sites.items()})
        object.__setattr__(self, "regions", {Region(k): v for k, v in self.regions.items()})
        if not self.seed:
            object.__setattr__(self, "seed", f"{self.subject.patient_id}-{self.study_date}")

    def uid(self, *parts: str) -> str:
        return generate_uid(entropy_srcs=[self.seed, *parts])

    @property
    def birth_date(self) -> str:
        if self.subject.birth_date:
            return self.subject.birth_date
        return f"{int(self.study_date[:4]) - self.subject.age_years:04d}{self.study_date[4:8]}"


class MassUnit(StrEnum):
    G = "g"
    KG = "kg"
    LBS = "lbs"


def _mass_in(grams: float, unit: MassUnit) -> float:
    return {MassUnit.G: grams, MassUnit.KG: grams / 1000.0, MassUnit.LBS: grams / POUND_G}[unit]


def _mass_decimals(unit: MassUnit) -> int:
    return {MassUnit.G: 1, MassUnit.KG: 4, MassUnit.LBS: 4}[unit]


def _fmt(value: float, decimals: int, comma: bool = False) -> str:
    text = f"{value:.{decimals}f}"
    return text.replace(".", ",") if comma else text


def _sides(exam: DxaExam, left: Site, right: Site) -> list[str]:
    return [side for side, site in (("Left", left), ("Right", right)) if site in exam.sites]


_HIP_SITES = {
    ("Left", "Neck"): Site.FEMORAL_NECK_LEFT,
    ("Left", "Total"): Site.TOTAL_HIP_LEFT,
    ("Right", "Neck"): Site.FEMORAL_NECK_RIGHT,
    ("Right", "Total"): Site.TOTAL_HIP_RIGHT,
}
_SPINE_SITES = {"L1": Site.L1, "L2": Site.L2, "L3": Site.L3, "L4": Site.L4, "L1-L4": Site.LUMBAR_SPINE_L1_L4}
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
    spine = [(name, exam.sites[site]) for name, site in _SPINE_SITES.items() if site in exam.sites]
    if spine:
        scans.append(("AP Spine", spine))
    hip_sides = [
        side
        for side in ("Left", "Right")
        if any((side, r) in _HIP_SITES and _HIP_SITES[side, r] in exam.sites for r in ("Neck", "Total"))
    ]
    dual = len(hip_sides) == 2 if dual_femur is None else dual_femur
    if dual and hip_sides:
        rows = [
            (f"{r} {side}", exam.sites[_HIP_SITES[side, r]])
            for r in ("Neck", "Total")
            for side in hip_sides
            if _HIP_SITES[side, r] in exam.sites
        ]
        scans.append(("DualFemur", rows))
    else:
        for side in hip_sides:
            rows = [
                (r, exam.sites[_HIP_SITES[side, r]])
                for r in ("Neck", "Total")
                if _HIP_SITES[side, r] in exam.sites
            ]
            scans.append((f"{side} Femur", rows))
    for side in _sides(exam, Site.RADIUS_33_LEFT, Site.RADIUS_33_RIGHT):
        scans.append((f"{side} Forearm", [("Radius 33%", exam.sites[Site(f"radius_33_{side.lower()}")])]))
    return scans


# --- common DICOM header
def _base_dataset(
    exam: DxaExam, sop_class: str, modality: str, manufacturer: str, model: str, kind: str
) -> Dataset:
    ds = Dataset()
    sop_instance = exam.uid(kind, "instance")
    ds.file_meta = FileMetaDataset()
    ds.file_meta.MediaStorageSOPClassUID = sop_class
    ds.file_meta.MediaStorageSOPInstanceUID = sop_instance
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta.ImplementationClassUID = generate_uid(entropy_srcs=["bonemuscle-dxa-writer"])
    ds.SpecificCharacterSet = "ISO_IR 100"
    ds.SOPClassUID = sop_class
    ds.SOPInstanceUID = sop_instance
    ds.StudyInstanceUID = exam.uid("study")
    ds.SeriesInstanceUID = exam.uid(kind, "series")
    ds.StudyDate = ds.SeriesDate = ds.ContentDate = exam.study_date
    ds.StudyTime = ds.SeriesTime = ds.ContentTime = exam.study_time
    ds.AccessionNumber = ""
    ds.ReferringPhysicianName = ""
    ds.StudyID = "1"
    ds.Modality = modality
    ds.Manufacturer = manufacturer
    ds.ManufacturerModelName = model
    ds.SeriesNumber = 900 + sum(kind.encode()) % 99
    ds.InstanceNumber = 1
    s = exam.subject
    ds.PatientName = s.name or f"SYNTHETIC^{s.patient_id}"
    ds.PatientID = s.patient_id
    ds.PatientBirthDate = exam.birth_date
    ds.PatientSex = s.sex
    ds.PatientAge = f"{s.age_years:03d}Y"
    if s.height_m is not None:
        ds.PatientSize = f"{s.height_m:.2f}"
    if s.weight_kg is not None:
        ds.PatientWeight = f"{s.weight_kg:.1f}"
    return ds


def _report_pixels(rows: int = 64, cols: int = 96) -> np.ndarray:
    """A small greyscale 'report page': light background, dark header bar and a few text-like lines."""
    img = np.full((rows, cols), 230, dtype=np.uint8)
    img[2:10, 2:-2] = 40
    for r in range(16, rows - 4, 6):
        img[r : r + 2, 6 : cols - 6 - (r % 17)] = 90
    return img


def _add_pixels(ds: Dataset) -> None:
    img = _report_pixels()
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.Rows, ds.Columns = img.shape
    ds.BitsAllocated = 8
    ds.BitsStored = 8
    ds.HighBit = 7
    ds.PixelRepresentation = 0
    ds.ConversionType = "WSD"
    ds.PixelData = img.tobytes()


def save(ds: Dataset, path: str | Path) -> Path:
    """Write a dataset as a DICOM Part 10 file (creating the folder)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    ds.save_as(path, enforce_file_format=True)
    return path


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
    text = _fmt(value, decimals, comma)
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
            items.append(_sr_text(meaning, _fmt(score, 1, c)))
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
    return [_sr_num(m, _mass_in(g, unit), _mass_decimals(unit), ucum, opt.decimal_comma) for m, g in masses]


def ge_enhanced_sr(exam: DxaExam, options: GeSrOptions = GeSrOptions()) -> Dataset:
    """A GE Lunar enCORE-style Enhanced SR holding every site and region of the exam."""
    ds = _base_dataset(exam, ENHANCED_SR, options.modality, "GE Healthcare", "Lunar iDXA", "ge-sr")
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
    ds = _base_dataset(exam, SECONDARY_CAPTURE, "BMD", "GE Healthcare", "Lunar Prodigy", f"ge-xml-{layout}")
    ds.SeriesDescription = "DXA Image"
    ds.ImageComments = ge_results_xml(exam, layout, dual_femur)
    _add_pixels(ds)
    return ds


def write_ge_xml_image(
    exam: DxaExam, path: str | Path, layout: GeXmlLayout = GeXmlLayout.DXA_RESULTS
) -> Path:
    return save(ge_xml_image(exam, layout), path)


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
        (HologicScan.SPINE, set(_SPINE_SITES.values())),
        (HologicScan.HIP, set(_HIP_SITES.values())),
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
        rows = [_bone_row(n, sites[s]) for n, s in _SPINE_SITES.items() if s in sites]
        return [[list(_BONE_HEADER), *[(["Total", *r[1:]] if r[0] == "L1-L4" else r) for r in rows]]], side
    if scan is HologicScan.HIP:
        hip_sides = [
            s for s in ("Left", "Right") if any(_HIP_SITES[s, r] in sites for r in ("Neck", "Total"))
        ]
        if len(hip_sides) == 2:
            rows = [
                _bone_row(f"{r} {s}", sites[_HIP_SITES[s, r]])
                for r in ("Neck", "Total")
                for s in hip_sides
                if _HIP_SITES[s, r] in sites
            ]
        else:
            side = hip_sides[0]
            rows = [
                _bone_row(r, sites[_HIP_SITES[side, r]])
                for r in ("Neck", "Total")
                if _HIP_SITES[side, r] in sites
            ]
        return [[list(_BONE_HEADER), *rows]], side
    if scan is HologicScan.FOREARM:
        side = _sides(exam, Site.RADIUS_33_LEFT, Site.RADIUS_33_RIGHT)[0]
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
    ds = _base_dataset(exam, SECONDARY_CAPTURE, "OT", "HOLOGIC", "Horizon A", f"hologic-{scan.value or 'WB'}")
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
    _add_pixels(ds)
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


# --- CSV exports
_APEX_BODY = {
    Region.ARM_LEFT: "LARM",
    Region.ARM_RIGHT: "RARM",
    Region.LEG_LEFT: "L_LEG",
    Region.LEG_RIGHT: "R_LEG",
    Region.TRUNK: "TRUNK",
    Region.HEAD: "HEAD",
    Region.TOTAL: "WBTOT",
}
_APEX_BONE = {"L1": Site.L1, "L2": Site.L2, "L3": Site.L3, "L4": Site.L4, "TOT": Site.LUMBAR_SPINE_L1_L4}


def _one_side(exam: DxaExam, left: Iterable[Site], right: Iterable[Site], what: str) -> str:
    sides = [side for side, sites in (("L", left), ("R", right)) if set(sites) & set(exam.sites)]
    if len(sides) > 1:
        raise ValueError(
            f"{exam.subject.patient_id}: a flat APEX row holds one {what}; the exam has both sides"
        )
    return sides[0] if sides else ""


def apex_rows(
    exams: Iterable[DxaExam], score_columns: bool = False
) -> tuple[list[str], list[dict[str, str]]]:
    """APEX database-style columns (one row per exam). T/Z-scores are not stored by APEX; ``score_columns``
    adds *_TSCORE/*_ZSCORE columns as some site exports do."""
    header = ["PATIENT_ID", "SEX", "AGE", "HEIGHT_CM", "WEIGHT_KG", "SCAN_DATE"]
    for prefix in _APEX_BODY.values():
        header += [f"{prefix}_{q}" for q in ("LEAN", "FAT", "BMC", "MASS")]
    bone = [*_APEX_BONE, "NECK", "HTOT", "R_13"]
    header += ["HIP_SIDE", "FOREARM_SIDE"] + [f"{b}_BMD" for b in bone]
    if score_columns:
        header += [f"{b}_{s}" for b in bone for s in ("TSCORE", "ZSCORE")]
    rows = []
    for exam in exams:
        s = exam.subject
        hip = _one_side(
            exam,
            (Site.FEMORAL_NECK_LEFT, Site.TOTAL_HIP_LEFT),
            (Site.FEMORAL_NECK_RIGHT, Site.TOTAL_HIP_RIGHT),
            "hip",
        )
        arm = _one_side(exam, (Site.RADIUS_33_LEFT,), (Site.RADIUS_33_RIGHT,), "forearm")
        side = {"L": "left", "R": "right"}
        bone_sites = dict(_APEX_BONE)
        if hip:
            bone_sites |= {"NECK": Site(f"femoral_neck_{side[hip]}"), "HTOT": Site(f"total_hip_{side[hip]}")}
        if arm:
            bone_sites["R_13"] = Site(f"radius_33_{side[arm]}")
        row = {
            "PATIENT_ID": s.patient_id,
            "SEX": s.sex,
            "AGE": str(s.age_years),
            "HEIGHT_CM": "" if s.height_m is None else f"{s.height_m * 100:.1f}",
            "WEIGHT_KG": "" if s.weight_kg is None else f"{s.weight_kg:.1f}",
            "SCAN_DATE": exam.study_date,
            "HIP_SIDE": hip,
            "FOREARM_SIDE": arm,
        }
        for region, prefix in _APEX_BODY.items():
            if (m := exam.regions.get(region)) is not None:
                row |= {
                    f"{prefix}_LEAN": f"{m.lean_g:.1f}",
                    f"{prefix}_FAT": f"{m.fat_g:.1f}",
                    f"{prefix}_BMC": f"{m.bmc_g:.1f}",
                    f"{prefix}_MASS": f"{m.total_g:.1f}",
                }
        for name, site in bone_sites.items():
            if (v := exam.sites.get(site)) is not None:
                row[f"{name}_BMD"] = f"{v.bmd_g_cm2:.3f}"
                if score_columns:
                    row[f"{name}_TSCORE"] = "" if v.t_score is None else f"{v.t_score:.1f}"
                    row[f"{name}_ZSCORE"] = "" if v.z_score is None else f"{v.z_score:.1f}"
        rows.append(row)
    return header, rows


_NHANES_BODY = {
    Region.ARM_LEFT: "LA",
    Region.ARM_RIGHT: "RA",
    Region.LEG_LEFT: "LL",
    Region.LEG_RIGHT: "RL",
    Region.TRUNK: "TR",
    Region.HEAD: "HD",
    Region.TOTAL: "TO",
}
_NHANES_SPINE = {
    "DXXL1BMD": Site.L1,
    "DXXL2BMD": Site.L2,
    "DXXL3BMD": Site.L3,
    "DXXL4BMD": Site.L4,
    "DXXOSBMD": Site.LUMBAR_SPINE_L1_L4,
}


def nhanes_rows(
    exams: Iterable[DxaExam], lean_excluding_bmc: bool = True, lean_including_bmc: bool = True
) -> tuple[list[str], list[dict[str, str]]]:
    """NHANES-style columns: SEQN id, RIAGENDR (1 M, 2 F), RIDAGEYR, BMXHT cm, BMXWT kg, DXD..LE lean
    excluding BMC, DXX..LI lean including BMC, DXD..FAT, DXD..BMC, spine DXX..BMD. Femur columns are not
    written: NHANES does not record the hip side in them."""
    header = ["SEQN", "RIAGENDR", "RIDAGEYR", "BMXHT", "BMXWT"]
    for code in _NHANES_BODY.values():
        header += [f"DXD{code}LE"] * lean_excluding_bmc + [f"DXX{code}LI"] * lean_including_bmc
        header += [f"DXD{code}FAT", f"DXD{code}BMC"]
    header += list(_NHANES_SPINE)
    rows = []
    for exam in exams:
        s = exam.subject
        row = {
            "SEQN": s.patient_id,
            "RIAGENDR": {"M": "1", "F": "2"}[s.sex],
            "RIDAGEYR": str(s.age_years),
            "BMXHT": "" if s.height_m is None else f"{s.height_m * 100:.1f}",
            "BMXWT": "" if s.weight_kg is None else f"{s.weight_kg:.1f}",
        }
        for region, code in _NHANES_BODY.items():
            if (m := exam.regions.get(region)) is not None:
                row |= {f"DXD{code}FAT": f"{m.fat_g:.1f}", f"DXD{code}BMC": f"{m.bmc_g:.1f}"}
                if lean_excluding_bmc:
                    row[f"DXD{code}LE"] = f"{m.lean_g:.1f}"
                if lean_including_bmc:
                    row[f"DXX{code}LI"] = f"{m.lean_plus_bmc_g:.1f}"
        row |= {
            col: f"{exam.sites[site].bmd_g_cm2:.3f}"
            for col, site in _NHANES_SPINE.items()
            if site in exam.sites
        }
        rows.append(row)
    return header, rows


def write_csv(header: list[str], rows: list[dict[str, str]], path: str | Path) -> Path:
    """Write rows (missing cells empty) with a fixed column order."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=header, restval="")
        writer.writeheader()
        writer.writerows(rows)
    return path


def write_apex_csv(exams: Iterable[DxaExam], path: str | Path, score_columns: bool = False) -> Path:
    return write_csv(*apex_rows(exams, score_columns), path)


def write_nhanes_csv(
    exams: Iterable[DxaExam],
    path: str | Path,
    lean_excluding_bmc: bool = True,
    lean_including_bmc: bool = True,
) -> Path:
    return write_csv(*nhanes_rows(exams, lean_excluding_bmc, lean_including_bmc), path)


__all__ = [
    "BodyRegion",
    "BoneSite",
    "DxaExam",
    "GeSrOptions",
    "GeXmlLayout",
    "HologicOptions",
    "HologicScan",
    "MassUnit",
    "Subject",
    "apex_rows",
    "ge_enhanced_sr",
    "ge_results_xml",
    "ge_xml_image",
    "hologic_sc",
    "hologic_scans",
    "hologic_text_block",
    "nhanes_rows",
    "save",
    "write_apex_csv",
    "write_ge_enhanced_sr",
    "write_ge_xml_image",
    "write_hologic_reports",
    "write_nhanes_csv",
]
