"""The sample roster: which studies and series each synthetic subject has, with fixed UIDs and dates.

This module is pure planning: it says *what* to write (series numbers, descriptions, grids, transfer
syntaxes, vendor conventions, DXA values) and derives every UID from the seed, so two runs with the
same seed name everything identically. :func:`roster` is the only place the sample facts live.
Turning the plans into files (rendering, DICOM, DXA exports, truth) is the job of
:mod:`phantoms.samples` and :mod:`phantoms.sample_truth`;
keeping them apart lets a reader (and the tests of the tree) see the whole plan in one place.

The roster facts (sex, age, height, weight, whether PatientSize is in the headers) are shared with
other engineers' tests: keep them exactly as the project's sample table states.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from pydicom.uid import UID, ExplicitVRLittleEndian, JPEG2000Lossless, JPEGLSLossless, RLELossless

from phantoms.dicom_series import (
    SIGNED_ZERO,
    UNSIGNED_MINUS_1024,
    Contrast,
    CTAcquisition,
    Equipment,
    FileNaming,
    InstanceOrder,
    MRAcquisition,
    Patient,
    PixelEncoding,
    SeriesMeta,
    Study,
    derive_uid,
)
from phantoms.dxa_exports import BodyRegion, BoneSite, DxaExam
from phantoms.dxa_exports import Subject as DxaSubject


@dataclass(frozen=True)
class AxialGrid:
    """Axial grid: square pixels, ``matrix`` x ``matrix``, slices from vertebra ``top`` to ``bottom``.

    ``single_level`` replaces the range by one slice at the middle of that vertebra (L3-only archives).
    """

    pixel_mm: float
    matrix: int
    slice_mm: float
    top: str = "T12"
    bottom: str = "S1"
    single_level: str | None = None


class DixonStyle(enum.Enum):
    """Vendor conventions for the four Dixon outputs (descriptions and ImageType values differ)."""

    SIEMENS = "siemens"
    PHILIPS = "philips"


class DixonOutput(enum.Enum):
    IN_PHASE = "in_phase"
    OPPOSED_PHASE = "opposed_phase"
    WATER = "water"
    FAT = "fat"


_DIXON_NAMING: dict[DixonStyle, dict[DixonOutput, tuple[str, tuple[str, ...]]]] = {
    DixonStyle.SIEMENS: {
        DixonOutput.IN_PHASE: ("t1_vibe_dixon_tra_in", ("ORIGINAL", "PRIMARY", "M", "DIXON", "IN_PHASE")),
        DixonOutput.OPPOSED_PHASE: (
            "t1_vibe_dixon_tra_opp",
            ("ORIGINAL", "PRIMARY", "M", "DIXON", "OPP_PHASE"),
        ),
        DixonOutput.WATER: ("t1_vibe_dixon_tra_W", ("DERIVED", "PRIMARY", "M", "DIXON", "W")),
        DixonOutput.FAT: ("t1_vibe_dixon_tra_F", ("DERIVED", "PRIMARY", "M", "DIXON", "F")),
    },
    DixonStyle.PHILIPS: {
        DixonOutput.IN_PHASE: ("mDIXON_IP", ("ORIGINAL", "PRIMARY", "IP", "IP")),
        DixonOutput.OPPOSED_PHASE: ("mDIXON_OP", ("ORIGINAL", "PRIMARY", "OP", "OP")),
        DixonOutput.WATER: ("mDIXON_W", ("DERIVED", "PRIMARY", "W", "W")),
        DixonOutput.FAT: ("mDIXON_F", ("DERIVED", "PRIMARY", "F", "F")),
    },
}


def dixon_echo_times_ms(field_strength_t: float) -> dict[DixonOutput, float]:
    """Opposed/in-phase echo times: fat and water precess apart at ~3.4 ppm (2.3/4.6 ms at 1.5 T)."""
    opp = 2.3 * 1.5 / field_strength_t
    return {DixonOutput.OPPOSED_PHASE: round(opp, 2), DixonOutput.IN_PHASE: round(2 * opp, 2)}


@dataclass(frozen=True)
class CTPlan:
    """One axial CT series (a reconstruction); ``render_kernel``/``render_contrast`` go to the renderer."""

    number: int
    description: str
    acquisition: CTAcquisition
    grid: AxialGrid
    render_kernel: str
    render_contrast: str
    transfer_syntax: UID
    encoding: PixelEncoding
    file_naming: FileNaming = FileNaming.NUMBERED_DCM
    instance_order: InstanceOrder = InstanceOrder.ALONG_INDEX


@dataclass(frozen=True)
class LocalizerPlan:
    """A coronal scout projected from the anatomy of CT series ``of_series``."""

    number: int
    description: str
    of_series: int


@dataclass(frozen=True)
class DosePagePlan:
    """The scanner's dose summary saved as a screen capture (Secondary Capture)."""

    number: int
    description: str


@dataclass(frozen=True)
class DixonPlan:
    """A two-point Dixon acquisition written as four series (in, opp, water, fat) on one grid."""

    first_number: int
    style: DixonStyle
    field_strength_t: float
    grid: AxialGrid
    transfer_syntax: UID
    repetition_time_ms: float = 6.8
    flip_angle_deg: float = 10.0

    def outputs(self) -> list[tuple[int, str, MRAcquisition, DixonOutput]]:
        """(series number, description, acquisition facts, output) for the four series, in that order."""
        echoes = dixon_echo_times_ms(self.field_strength_t)
        out = []
        for i, output in enumerate(
            (DixonOutput.OPPOSED_PHASE, DixonOutput.IN_PHASE, DixonOutput.WATER, DixonOutput.FAT)
        ):
            description, image_type = _DIXON_NAMING[self.style][output]
            te = echoes.get(output, echoes[DixonOutput.IN_PHASE])  # W/F are computed from both echoes
            seq = "*fl3d2" if self.style is DixonStyle.SIEMENS else "T1FFE"
            acq = MRAcquisition(
                image_type=image_type,
                echo_time_ms=te,
                field_strength_t=self.field_strength_t,
                repetition_time_ms=self.repetition_time_ms,
                flip_angle_deg=self.flip_angle_deg,
                sequence_name=seq,
                echo_number=1 if output is DixonOutput.OPPOSED_PHASE else 2,
            )
            out.append((self.first_number + i, description, acq, output))
        return out


SeriesPlan = CTPlan | LocalizerPlan | DosePagePlan | DixonPlan


@dataclass(frozen=True)
class StudyPlan:
    """One study: its folder name, General Study values, scanner, and series in writing order."""

    folder: str
    study: Study
    equipment: Equipment
    series: tuple[SeriesPlan, ...]
    patient_position: str = "FFS"


class DxaFormat(enum.Enum):
    """Which vendor export the DXA engineer's writers produce for a subject."""

    GE_ENHANCED_SR = "ge_enhanced_sr"
    HOLOGIC_SC = "hologic_sc"
    HOLOGIC_CSV = "hologic_csv"


@dataclass(frozen=True)
class DxaPlan:
    """One DXA visit: the export format and the values the report states (lean mass excludes BMC)."""

    format: DxaFormat
    date: str  # YYYYMMDD
    sites: tuple[tuple[str, BoneSite], ...]
    regions: tuple[tuple[str, BodyRegion], ...]

    def exam(self, subject: Subject, seed: int) -> DxaExam:
        """The DXA engineer's exam description (height/weight as the scanner operator typed them)."""
        who = DxaSubject(
            subject.patient_id,
            subject.sex,
            subject.age_years,
            subject.height_m,
            subject.weight_kg,
            name=subject.name,
            birth_date=subject.birth_date,
        )
        return DxaExam(
            who,
            dict(self.sites),
            dict(self.regions),
            study_date=self.date,
            study_time="100000",
            seed=f"{seed}-{subject.patient_id}-dxa",
        )

    @property
    def alm_kg(self) -> float:
        """Appendicular lean mass: both arms and both legs, lean soft tissue excluding BMC."""
        limbs = {"arm_left", "arm_right", "leg_left", "leg_right"}
        return round(sum(r.lean_g for name, r in self.regions if name in limbs) / 1000.0, 3)


@dataclass(frozen=True)
class Subject:
    """A roster subject: the shared facts plus the studies to write."""

    patient_id: str
    name: str
    sex: str
    age_years: int
    birth_date: str
    height_m: float
    weight_kg: float
    height_in_dicom: bool
    clinical_date: str  # ISO YYYY-MM-DD
    studies: tuple[StudyPlan, ...] = field(default=())
    dxa: DxaPlan | None = None

    @property
    def patient(self) -> Patient:
        return Patient(
            patient_id=self.patient_id,
            name=self.name,
            sex=self.sex,
            birth_date=self.birth_date,
            age_years=self.age_years,
            height_m=self.height_m if self.height_in_dicom else None,
            weight_kg=self.weight_kg,
        )


def series_meta(
    subject: Subject, plan: StudyPlan, number: int, description: str, seed: int, **kw: object
) -> SeriesMeta:
    """SeriesMeta of series ``number`` of a study; UIDs derived from seed, subject, study and number."""
    return SeriesMeta(
        patient=subject.patient,
        study=plan.study,
        equipment=plan.equipment,
        series_uid=derive_uid(seed, subject.patient_id, plan.study.uid, "series", number),
        series_number=number,
        description=description,
        frame_of_reference_uid=derive_uid(seed, subject.patient_id, plan.study.uid, "frame"),
        series_time=_later(plan.study.time, minutes=number),
        patient_position=plan.patient_position,
        **kw,  # type: ignore[arg-type]
    )


def _later(hhmmss: str, minutes: int) -> str:
    total = int(hhmmss[:2]) * 60 + int(hhmmss[2:4]) + minutes
    return f"{(total // 60) % 24:02d}{total % 60:02d}{hhmmss[4:6]}"


def _study(seed: int, pid: str, n: int, date: str, time: str, description: str) -> Study:
    return Study(
        uid=derive_uid(seed, pid, "study", n),
        date=date,
        time=time,
        description=description,
        accession_number=f"{pid}A{n:02d}",
        study_id=str(n),
        referring_physician="SYNTHETIC^REFERRER",
    )


SIEMENS_CT = Equipment("SIEMENS", "SOMATOM Definition AS+", station_name="CTAWP01")
GE_CT = Equipment("GE MEDICAL SYSTEMS", "Revolution CT", station_name="GECT01")
PHILIPS_CT = Equipment("Philips", "IQon - Spectral CT", station_name="PHCT01")
TOSHIBA_CT = Equipment("TOSHIBA", "Aquilion ONE", station_name="TSCT01")
SIEMENS_MR = Equipment("SIEMENS", "MAGNETOM Aera", station_name="MRAWP01")
PHILIPS_MR = Equipment("Philips Medical Systems", "Ingenia", station_name="PHMR01")

CT_THIN = AxialGrid(pixel_mm=1.5, matrix=256, slice_mm=3.0)
CT_THIN_LUMBAR = AxialGrid(
    pixel_mm=1.5, matrix=256, slice_mm=3.0, top="L1", bottom="L4"
)  # targeted bone recon
CT_THICK = AxialGrid(pixel_mm=1.5, matrix=256, slice_mm=5.0)
CT_WIDE_THICK = AxialGrid(pixel_mm=1.6, matrix=256, slice_mm=5.0)  # obese subject: larger field of view
# Lumbar Dixon as lumbar spine MR is planned: T12 to the sacrum. Marrow L1-L4 and muscle at L3 are the
# measurements; the sacrum and T12 with its ribs are what vertebral levels are counted from on MR
# (imaging.levels); a field of view of L1-L5 alone holds neither and gets no level at all.
MR_GRID = AxialGrid(pixel_mm=3.0, matrix=128, slice_mm=5.0, top="T12", bottom="S1")


# Bone sites per DXA visit: BM001 osteopenia (lowest T -1.6), BM002 osteoporosis (T <= -2.5 at spine and
# hip), BM003 osteopenia (femoral neck T -2.0). Values follow the usual BMD/T relation loosely; only the
# printed T-scores drive classification.
BM001_SITES = (
    ("L1", BoneSite(0.985, -1.5, -1.1)),
    ("L2", BoneSite(1.030, -1.4, -1.0)),
    ("L3", BoneSite(1.060, -1.3, -0.9)),
    ("L4", BoneSite(1.050, -1.5, -1.1)),
    ("lumbar_spine_L1_L4", BoneSite(1.033, -1.4, -1.0)),
    ("femoral_neck_left", BoneSite(0.812, -1.6, -1.0)),
    ("total_hip_left", BoneSite(0.905, -1.2, -0.8)),
)
BM002_SITES = (
    ("L1", BoneSite(0.690, -2.9, -1.2)),
    ("L2", BoneSite(0.730, -2.9, -1.2)),
    ("L3", BoneSite(0.765, -2.8, -1.1)),
    ("L4", BoneSite(0.770, -3.0, -1.3)),
    ("lumbar_spine_L1_L4", BoneSite(0.740, -2.9, -1.2)),
    ("femoral_neck_left", BoneSite(0.545, -2.8, -0.9)),
    ("total_hip_left", BoneSite(0.640, -2.6, -1.0)),
)
BM003_SITES = (
    ("L1", BoneSite(0.905, -1.2, -0.5)),
    ("L2", BoneSite(0.960, -1.1, -0.4)),
    ("L3", BoneSite(0.985, -1.1, -0.4)),
    ("L4", BoneSite(0.975, -1.3, -0.6)),
    ("lumbar_spine_L1_L4", BoneSite(0.958, -1.2, -0.5)),
    ("femoral_neck_left", BoneSite(0.745, -2.0, -1.2)),
    ("total_hip_left", BoneSite(0.860, -1.5, -0.9)),
)


def _body(
    arm_left: float, arm_right: float, leg_left: float, leg_right: float, trunk: float, weight_g: float
) -> tuple[tuple[str, BodyRegion], ...]:
    """Whole-body composition from limb and trunk lean mass (g, excluding BMC); fat and BMC follow simple
    proportions and the total balances to the body weight, so Tissue = Fat + Lean and Total = Tissue + BMC."""
    head = BodyRegion(lean_g=3600.0, fat_g=900.0, bmc_g=520.0)
    limbs = {"arm_left": arm_left, "arm_right": arm_right, "leg_left": leg_left, "leg_right": leg_right}
    parts = {
        name: BodyRegion(lean, round(lean * 0.45, 1), round(lean * 0.06, 1)) for name, lean in limbs.items()
    }
    parts["head"] = head
    so_far = sum(r.total_g for r in parts.values()) + trunk + round(trunk * 0.03, 1)
    parts["trunk"] = BodyRegion(
        float(trunk), round(max(weight_g - so_far, 1000.0), 1), round(trunk * 0.03, 1)
    )
    total = BodyRegion(
        round(sum(r.lean_g for r in parts.values()), 1),
        round(sum(r.fat_g for r in parts.values()), 1),
        round(sum(r.bmc_g for r in parts.values()), 1),
    )
    return (*parts.items(), ("total", total))


def roster(seed: int) -> tuple[Subject, ...]:
    """The four sample subjects with all their studies; every UID depends on ``seed`` only."""
    s = seed
    bm001 = Subject("BM001", "PHANTOM^BM001", "M", 58, "19670802", 1.78, 82.0, True, "2026-03-20")
    ct1 = _study(s, "BM001", 1, "20260314", "091200", "CT ABDOMEN")
    bm001 = _with(
        bm001,
        studies=(
            StudyPlan(
                "CT_20260314",
                ct1,
                SIEMENS_CT,
                (
                    LocalizerPlan(1, "Topogram  0.6  T20f", of_series=2),
                    CTPlan(
                        2,
                        "Abdomen  3.0  Br40  3",
                        CTAcquisition(kernel="Br40"),
                        CT_THIN,
                        "soft",
                        "none",
                        JPEGLSLossless,
                        UNSIGNED_MINUS_1024,
                        instance_order=InstanceOrder.REVERSED,
                    ),
                    CTPlan(
                        3,
                        "Abdomen  3.0  Br64  3",
                        CTAcquisition(kernel="Br64", pixel_padding_hu=-2048),
                        CT_THIN_LUMBAR,
                        "sharp",
                        "none",
                        JPEG2000Lossless,
                        SIGNED_ZERO,
                    ),
                    CTPlan(
                        4,
                        "Abdomen  5.0  Br40  3",
                        CTAcquisition(kernel="Br40"),
                        CT_THICK,
                        "soft",
                        "none",
                        JPEGLSLossless,
                        UNSIGNED_MINUS_1024,
                        FileNaming.NO_EXTENSION,
                        InstanceOrder.SCRAMBLED,
                    ),
                    DosePagePlan(501, "Patient Protocol"),
                ),
            ),
        ),
        dxa=DxaPlan(
            DxaFormat.GE_ENHANCED_SR, "20260320", BM001_SITES, _body(3510, 3620, 10240, 10410, 27900, 82000)
        ),
    )

    bm002 = Subject("BM002", "PHANTOM^BM002", "F", 74, "19511123", 1.58, 48.0, True, "2026-05-12")
    venous = CTAcquisition(
        kvp=120,
        kernel="STANDARD",
        contrast=Contrast(phase="PORTAL VENOUS"),
        ctdi_vol_mgy=7.8,
        pixel_padding_hu=-2048,
    )
    bm002 = _with(
        bm002,
        studies=(
            StudyPlan(
                "CT_20260506",
                _study(s, "BM002", 1, "20260506", "143000", "CT ABD PELVIS W CONTRAST"),
                GE_CT,
                (
                    CTPlan(
                        3,
                        "PORTAL VENOUS 5.0 STND",
                        venous,
                        CT_THICK,
                        "soft",
                        "portal",
                        JPEGLSLossless,
                        SIGNED_ZERO,
                    ),
                    DosePagePlan(999, "Dose Report"),
                ),
            ),
            StudyPlan(
                "MR_20260512",
                _study(s, "BM002", 2, "20260512", "101500", "MR ABDOMEN DIXON"),
                SIEMENS_MR,
                (DixonPlan(5, DixonStyle.SIEMENS, 1.5, MR_GRID, RLELossless),),
                patient_position="HFS",
            ),
        ),
        dxa=DxaPlan(
            DxaFormat.HOLOGIC_SC, "20260512", BM002_SITES, _body(1540, 1610, 4710, 4790, 14100, 48000)
        ),
    )

    bm003 = Subject("BM003", "PHANTOM^BM003", "M", 66, "19600115", 1.72, 104.0, False, "2026-07-09")
    plain = CTAcquisition(kvp=120, kernel="B", ctdi_vol_mgy=14.2)
    enhanced = CTAcquisition(
        kvp=120, kernel="B", contrast=Contrast(phase="PORTAL VENOUS"), ctdi_vol_mgy=14.6, acquisition_number=2
    )
    bm003 = _with(
        bm003,
        studies=(
            StudyPlan(
                "CT_20260702",
                _study(s, "BM003", 1, "20260702", "080500", "CT ABDOMEN WITHOUT AND WITH CONTRAST"),
                PHILIPS_CT,
                (
                    CTPlan(
                        201,
                        "Abdomen NC 5mm",
                        plain,
                        CT_WIDE_THICK,
                        "soft",
                        "none",
                        JPEG2000Lossless,
                        UNSIGNED_MINUS_1024,
                    ),
                    CTPlan(
                        301,
                        "Abdomen PV 5mm",
                        enhanced,
                        CT_WIDE_THICK,
                        "soft",
                        "portal",
                        JPEGLSLossless,
                        UNSIGNED_MINUS_1024,
                        FileNaming.NO_EXTENSION,
                    ),
                ),
            ),
            StudyPlan(
                "MR_20260709",
                _study(s, "BM003", 2, "20260709", "131000", "MR LUMBAR SPINE AND MUSCLE"),
                PHILIPS_MR,
                (DixonPlan(701, DixonStyle.PHILIPS, 3.0, MR_GRID, JPEGLSLossless, repetition_time_ms=5.2),),
                patient_position="HFS",
            ),
        ),
        dxa=DxaPlan(
            DxaFormat.HOLOGIC_CSV, "20260709", BM003_SITES, _body(3380, 3490, 10720, 10910, 31500, 104000)
        ),
    )

    bm004 = Subject("BM004", "PHANTOM^BM004", "F", 61, "19580630", 1.65, 70.0, False, "2019-10-04")
    l3_only = AxialGrid(pixel_mm=0.78, matrix=512, slice_mm=5.0, single_level="L3")
    bm004 = _with(
        bm004,
        studies=(
            StudyPlan(
                "CT_20191004",
                _study(s, "BM004", 1, "20191004", "112000", "RESEARCH L3 SLICE"),
                TOSHIBA_CT,
                (
                    CTPlan(
                        2,
                        "L3 axial FC18",
                        CTAcquisition(kvp=120, kernel="FC18"),
                        l3_only,
                        "soft",
                        "none",
                        ExplicitVRLittleEndian,
                        UNSIGNED_MINUS_1024,
                    ),
                ),
            ),
        ),
    )
    return (bm001, bm002, bm003, bm004)


def _with(subject: Subject, **changes: object) -> Subject:
    from dataclasses import replace

    return replace(subject, **changes)  # type: ignore[arg-type]


# Phenotype of each sample subject (SubjectParams overrides) chosen for the intended truth:
# BM001 average muscle, osteopenic trabecular bone; BM002 small muscles with low attenuation and
# osteoporotic bone; BM003 obese with fatty (low-HU) muscle and low-normal muscle area; BM004 average.
PHENOTYPES: dict[str, dict[str, float]] = {
    "BM001": {
        "muscle_scale": 1.45,
        "muscle_hu": 46.0,
        "trabecular_hu": 135.0,
        "imat_fraction": 0.03,
        "marrow_fat_fraction": 0.45,
        "muscle_fat_fraction": 0.05,
        "sat_scale": 1.0,
        "vat_scale": 1.2,
    },
    "BM002": {
        "muscle_scale": 0.8,
        "muscle_hu": 33.0,
        "trabecular_hu": 78.0,
        "imat_fraction": 0.06,
        "marrow_fat_fraction": 0.66,
        "muscle_fat_fraction": 0.12,
        "sat_scale": 0.8,
        "vat_scale": 0.8,
    },
    "BM003": {
        "muscle_scale": 1.2,
        "muscle_hu": 24.0,
        "trabecular_hu": 118.0,
        "imat_fraction": 0.08,
        "marrow_fat_fraction": 0.55,
        "muscle_fat_fraction": 0.16,
        "sat_scale": 2.2,
        "vat_scale": 2.4,
    },
    "BM004": {
        "muscle_scale": 1.3,
        "muscle_hu": 41.0,
        "trabecular_hu": 150.0,
        "imat_fraction": 0.04,
        "marrow_fat_fraction": 0.48,
        "muscle_fat_fraction": 0.07,
        "sat_scale": 1.1,
        "vat_scale": 1.0,
    },
}


# What each subject is meant to show; written into every truth.json so a reader of the tree knows it.
INTENDED: dict[str, str] = {
    "BM001": "no sarcopenia; osteopenia (not osteosarcopenia)",
    "BM002": "sarcopenia + osteoporosis = osteosarcopenia",
    "BM003": "obesity, myosteatosis (low muscle HU), low-normal SMI; osteopenia",
    "BM004": "single L3 slice; height only in clinical.csv",
}


# --- names on disk --------------------------------------------------------------------------------------
# Folder names are part of the plan: the writer uses them and so do the tests that check the tree.


def slug(text: str) -> str:
    """File-system-safe, readable name part ("Abdomen  3.0  Br40" -> "Abdomen_3.0_Br40")."""
    out = "".join(c if c.isalnum() or c in ".-" else "_" for c in text.strip())
    while "__" in out:
        out = out.replace("__", "_")
    return out.strip("_") or "series"


def series_folder(number: int, description: str) -> str:
    return f"S{number:03d}_{slug(description)}"
