"""A DXA exam described plainly (subject, sites, regions) and what every DICOM writer shares."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

import numpy as np
from pydicom.dataset import Dataset, FileMetaDataset
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


def mass_in(grams: float, unit: MassUnit) -> float:
    return {MassUnit.G: grams, MassUnit.KG: grams / 1000.0, MassUnit.LBS: grams / POUND_G}[unit]


def mass_decimals(unit: MassUnit) -> int:
    return {MassUnit.G: 1, MassUnit.KG: 4, MassUnit.LBS: 4}[unit]


def fmt_number(value: float, decimals: int, comma: bool = False) -> str:
    text = f"{value:.{decimals}f}"
    return text.replace(".", ",") if comma else text


def sides_present(exam: DxaExam, left: Site, right: Site) -> list[str]:
    return [side for side, site in (("Left", left), ("Right", right)) if site in exam.sites]


HIP_SITES = {
    ("Left", "Neck"): Site.FEMORAL_NECK_LEFT,
    ("Left", "Total"): Site.TOTAL_HIP_LEFT,
    ("Right", "Neck"): Site.FEMORAL_NECK_RIGHT,
    ("Right", "Total"): Site.TOTAL_HIP_RIGHT,
}
SPINE_SITES = {"L1": Site.L1, "L2": Site.L2, "L3": Site.L3, "L4": Site.L4, "L1-L4": Site.LUMBAR_SPINE_L1_L4}


# --- common DICOM header
def base_dataset(
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


def add_pixels(ds: Dataset) -> None:
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
