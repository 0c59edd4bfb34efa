"""Plain, typed inputs of the classification engine.

The engine is pure: it sees only these values, never files or DICOM headers. Every field may be
``None`` ("unknown"); the criteria then report ``insufficient_data`` naming the missing input instead
of guessing. Readers (clinical CSV, DXA reports, CT measurements) convert into these types at the edge.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Sex(StrEnum):
    MALE = "M"
    FEMALE = "F"

    @classmethod
    def parse(cls, value: object) -> Sex | None:
        """Accept M/F/male/female (any case); empty or None means unknown.

        Raises:
            ValueError: for any other text, so a typo is never read as "unknown".
        """
        if value is None:
            return None
        if isinstance(value, Sex):
            return value
        text = str(value).strip().lower()
        if text == "":
            return None
        if text in ("m", "male", "man"):
            return cls.MALE
        if text in ("f", "female", "woman"):
            return cls.FEMALE
        raise ValueError(f"sex must be M or F (or empty for unknown), got {value!r}")


class Contrast(StrEnum):
    YES = "yes"
    NO = "no"
    UNKNOWN = "unknown"


#: DXA site keys of the contract (``bonemuscle dxa --json``).
SPINE_TOTAL = "lumbar_spine_L1_L4"
VERTEBRAE: tuple[str, ...] = ("L1", "L2", "L3", "L4")
HIP_SITES: tuple[str, ...] = ("total_hip_left", "total_hip_right", "femoral_neck_left", "femoral_neck_right")
RADIUS_SITES: tuple[str, ...] = ("radius_33_left", "radius_33_right")
DXA_SITES: tuple[str, ...] = (SPINE_TOTAL, *VERTEBRAE, *HIP_SITES, *RADIUS_SITES)

#: Derstine 2018: levels to measure when L3 is not in the scan, in order of preference.
DERSTINE_FALLBACK_ORDER: tuple[str, ...] = ("L2", "L4", "L5", "L1", "T12", "T11", "T10")


def muscle_level(available: Sequence[str]) -> str | None:
    """The level whose muscle measurements stand in for L3: L3 itself, else Derstine's fallback order.

    Returns None when none of L3 or the fallback levels is available.
    """
    present = set(available)
    for level in ("L3", *DERSTINE_FALLBACK_ORDER):
        if level in present:
            return level
    return None


@dataclass(frozen=True)
class Subject:
    """Who was measured. BMI is taken as given when supplied, otherwise computed from weight and height."""

    sex: Sex | None = None
    age_years: float | None = None
    height_m: float | None = None
    weight_kg: float | None = None
    bmi_kg_m2: float | None = None
    #: None = unknown; only used to choose T- vs Z-score interpretation in women (ISCD).
    menopausal: bool | None = None

    @property
    def bmi(self) -> float | None:
        if self.bmi_kg_m2 is not None:
            return self.bmi_kg_m2
        if self.weight_kg is None or self.height_m is None:
            return None
        return self.weight_kg / self.height_m**2


@dataclass(frozen=True)
class DxaSite:
    bmd_g_cm2: float | None = None
    t_score: float | None = None
    z_score: float | None = None


@dataclass(frozen=True)
class DxaInputs:
    """DXA results as the contract's ``bonemuscle dxa --json`` object describes them."""

    sites: Mapping[str, DxaSite] = field(default_factory=dict)
    alm_kg: float | None = None
    almi_kg_m2: float | None = None
    alm_bmi: float | None = None
    #: "excluding_bmc" is the only definition the consensus criteria accept for ALM.
    lean_definition: str | None = "excluding_bmc"

    def __post_init__(self) -> None:
        unknown = sorted(set(self.sites) - set(DXA_SITES))
        if unknown:
            raise ValueError(f"unknown DXA site key(s) {unknown}; expected some of {list(DXA_SITES)}")

    def site(self, key: str) -> DxaSite:
        return self.sites.get(key, DxaSite())

    @classmethod
    def from_contract(cls, data: Mapping[str, Any]) -> DxaInputs:
        """Build from the contract's DXA JSON object; site keys outside the contract are ignored.

        Vendors report sites we do not use for diagnosis (Ward's area, trochanter); ISCD forbids them,
        so dropping them here is deliberate.
        """
        sites: dict[str, DxaSite] = {}
        for key, values in (data.get("sites") or {}).items():
            if key in DXA_SITES and isinstance(values, Mapping):
                sites[key] = DxaSite(
                    bmd_g_cm2=_num(values.get("bmd_g_cm2")),
                    t_score=_num(values.get("t_score")),
                    z_score=_num(values.get("z_score")),
                )
        body = data.get("body_composition") or {}
        return cls(
            sites=sites,
            alm_kg=_num(body.get("alm_kg")),
            almi_kg_m2=_num(body.get("almi_kg_m2")),
            alm_bmi=_num(body.get("alm_bmi")),
            lean_definition=body.get("lean_definition", "excluding_bmc") if body else None,
        )


@dataclass(frozen=True)
class FunctionInputs:
    """Muscle strength and physical performance, plus fracture history."""

    grip_kg: float | None = None
    gait_speed_m_s: float | None = None
    chair_stand_s: float | None = None  # five rises
    sppb: float | None = None
    tug_s: float | None = None
    walk_400m_min: float | None = None
    fragility_fracture: bool | None = None


@dataclass(frozen=True)
class CtInputs:
    """CT measurements at the muscle level actually used (L3, or Derstine's fallback) and at L1."""

    level: str | None = None
    smi_cm2_m2: float | None = None
    muscle_area_cm2: float | None = None
    muscle_hu_mean: float | None = None
    l1_trabecular_hu: float | None = None
    contrast: Contrast = Contrast.UNKNOWN

    @classmethod
    def from_levels(cls, levels: Mapping[str, Mapping[str, Any]], contrast: Contrast | str) -> CtInputs:
        """Pick the muscle level from results.json ``levels`` (L3, else the Derstine fallback) and L1 HU."""
        level = muscle_level(
            [name for name, m in levels.items() if _num(m.get("muscle_area_cm2")) is not None]
        )
        chosen = levels.get(level, {}) if level else {}
        l1 = levels.get("L1", {})
        return cls(
            level=level,
            smi_cm2_m2=_num(chosen.get("smi_cm2_m2")),
            muscle_area_cm2=_num(chosen.get("muscle_area_cm2")),
            muscle_hu_mean=_num(chosen.get("muscle_hu_mean")),
            l1_trabecular_hu=_num(l1.get("trabecular_hu_mean")),
            contrast=Contrast(contrast),
        )


@dataclass(frozen=True)
class ClassificationInputs:
    subject: Subject = field(default_factory=Subject)
    dxa: DxaInputs | None = None
    function: FunctionInputs = field(default_factory=FunctionInputs)
    ct: CtInputs | None = None


def _num(value: object) -> float | None:
    """A finite float, or None for absent/null; text numbers are accepted because JSON writers differ."""
    if value is None or isinstance(value, bool):
        return None
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return number if number == number and abs(number) != float("inf") else None
