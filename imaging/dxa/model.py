"""What a DXA report says, in one vendor-neutral shape that serialises to ``bonemuscle dxa --json``.

DICOM has no standard template for densitometry, so every reader maps its vendor's names onto the fixed
keys below. Keeping the lean-mass definition explicit matters: Hologic's main table shows Lean+BMC, and an
ALM built from it would be about 5 % too high, which moves patients across sarcopenia cut-offs.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from imaging.plausible import HEIGHT_M, WEIGHT_KG


class Vendor(StrEnum):
    GE = "GE"
    HOLOGIC = "Hologic"


class ReportFormat(StrEnum):
    """Which kind of export a result came from (the ``format`` field)."""

    GE_ENHANCED_SR = "ge_enhanced_sr"
    GE_IMAGE_COMMENTS_XML = "ge_image_comments_xml"
    HOLOGIC_APEX_SC = "hologic_apex_sc"
    HOLOGIC_APEX_CSV = "hologic_apex_csv"
    NHANES_CSV = "nhanes_csv"


class Site(StrEnum):
    """Bone-density sites, keyed exactly as the contract names them."""

    LUMBAR_SPINE_L1_L4 = "lumbar_spine_L1_L4"
    L1 = "L1"
    L2 = "L2"
    L3 = "L3"
    L4 = "L4"
    FEMORAL_NECK_LEFT = "femoral_neck_left"
    FEMORAL_NECK_RIGHT = "femoral_neck_right"
    TOTAL_HIP_LEFT = "total_hip_left"
    TOTAL_HIP_RIGHT = "total_hip_right"
    RADIUS_33_LEFT = "radius_33_left"
    RADIUS_33_RIGHT = "radius_33_right"


class Region(StrEnum):
    """Body-composition regions; ``arms``/``legs`` are two-limb totals that some GE reports give instead."""

    ARM_LEFT = "arm_left"
    ARM_RIGHT = "arm_right"
    ARMS = "arms"
    LEG_LEFT = "leg_left"
    LEG_RIGHT = "leg_right"
    LEGS = "legs"
    TRUNK = "trunk"
    HEAD = "head"
    ANDROID = "android"
    GYNOID = "gynoid"
    SUBTOTAL = "subtotal"
    TOTAL = "total"


class Sex(StrEnum):
    MALE = "M"
    FEMALE = "F"


LEAN_DEFINITION = "excluding_bmc"


@dataclass(frozen=True)
class Patient:
    """Subject facts as the report states them, converted to SI units; None where the report is silent."""

    id: str | None = None
    sex: Sex | None = None
    age_years: float | None = None
    height_m: float | None = None
    weight_kg: float | None = None

    def __post_init__(self) -> None:
        for value, plausible in ((self.height_m, HEIGHT_M), (self.weight_kg, WEIGHT_KG)):
            if value is not None and (problem := plausible.problem(value)):
                raise ValueError(f"{problem}: check the unit conversion")


@dataclass(frozen=True)
class SiteValues:
    """Areal BMD and its scores at one site."""

    bmd_g_cm2: float | None = None
    t_score: float | None = None
    z_score: float | None = None


@dataclass(frozen=True)
class RegionMass:
    """Soft-tissue and bone masses of one region, in grams.

    ``lean_g`` is always lean soft tissue EXCLUDING bone mineral content. ``lean_plus_bmc_g`` is kept only so
    the ALM rule can say precisely why it refused a region that reports nothing else; it is not serialised.
    """

    lean_g: float | None = None
    fat_g: float | None = None
    bmc_g: float | None = None
    lean_plus_bmc_g: float | None = None

    def to_json(self) -> dict[str, float | None]:
        return {
            "lean_g": _round(self.lean_g, 2),
            "fat_g": _round(self.fat_g, 2),
            "bmc_g": _round(self.bmc_g, 2),
        }


@dataclass(frozen=True)
class BodyComposition:
    """Regions plus the appendicular lean mass derived from them (None with a warning when not derivable)."""

    regions: Mapping[Region, RegionMass] = field(default_factory=dict)
    alm_kg: float | None = None
    almi_kg_m2: float | None = None
    alm_bmi: float | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "alm_kg": _round(self.alm_kg, 4),
            "almi_kg_m2": _round(self.almi_kg_m2, 3),
            "alm_bmi": _round(self.alm_bmi, 4),
            "lean_definition": LEAN_DEFINITION,
            "regions": {region.value: mass.to_json() for region, mass in self.regions.items()},
        }


@dataclass(frozen=True)
class DxaResult:
    """Everything read from one DXA report (or one row of a tabular export).

    ``source``, ``exam_date`` and ``reading_warnings`` serve messages and merging; they are not part of the
    contract's JSON (``warnings`` already holds the reading warnings followed by the ALM ones).
    """

    vendor: Vendor
    format: ReportFormat
    patient: Patient
    sites: Mapping[Site, SiteValues]
    body_composition: BodyComposition
    warnings: tuple[str, ...] = ()
    source: str = ""
    exam_date: str | None = field(default=None, compare=False)  # YYYYMMDD when known; used to group reports
    reading_warnings: tuple[str, ...] = field(default=(), compare=False)  # the part of warnings not about ALM

    def to_json(self) -> dict[str, Any]:
        """The contract's ``bonemuscle dxa --json`` object, key for key."""
        p = self.patient
        return {
            "vendor": self.vendor.value,
            "format": self.format.value,
            "patient": {
                "id": p.id,
                "sex": p.sex.value if p.sex else None,
                "age_years": _round(p.age_years, 2),
                "height_m": _round(p.height_m, 4),
                "weight_kg": _round(p.weight_kg, 3),
            },
            "sites": {
                site.value: {
                    "bmd_g_cm2": _round(v.bmd_g_cm2, 4),
                    "t_score": _round(v.t_score, 2),
                    "z_score": _round(v.z_score, 2),
                }
                for site, v in sorted(self.sites.items(), key=lambda kv: list(Site).index(kv[0]))
            },
            "body_composition": self.body_composition.to_json(),
            "warnings": list(self.warnings),
        }


def _round(value: float | None, digits: int) -> float | None:
    """Round away conversion noise (e.g. 18.116500000000002) without losing the report's precision."""
    return None if value is None else round(float(value), digits)
