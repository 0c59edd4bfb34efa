"""Every threshold the classification engine uses, as data, each with its comparison, unit and source.

The numbers and comparisons are those of the project's reference sheet
(``shared/reference/clinical-criteria.md``), which names the primary source of each. The sheet marks
how far each number was verified; :class:`Mark` carries that into the output, and UNCHECKED (○)
numbers are reported as configurable defaults. To use other cut-offs, build another criteria object
(``dataclasses.replace``) and pass it to the engine: nothing here is read from the environment.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from imaging.classification.inputs import Sex


class Comparison(StrEnum):
    """How a value is compared with its cut-off; the guideline's own operator, kept exactly."""

    LT = "<"
    LE = "≤"
    GT = ">"
    GE = "≥"

    def holds(self, value: float, threshold: float) -> bool:
        return _OPS[self](value, threshold)


_OPS: dict[Comparison, Callable[[float, float], bool]] = {
    Comparison.LT: operator.lt,
    Comparison.LE: operator.le,
    Comparison.GT: operator.gt,
    Comparison.GE: operator.ge,
}


class Mark(StrEnum):
    """Verification status of a number in the reference sheet."""

    CHECKED = "checked against the primary text or guideline"
    SECONDARY = "checked via a secondary source"
    UNCHECKED = "not re-checked: configurable default"


@dataclass(frozen=True)
class BmiBand:
    """BMI range a cut-off applies to: ``lower <= BMI < upper`` (either bound may be open)."""

    lower: float | None = None
    upper: float | None = None

    def contains(self, bmi: float) -> bool:
        return (self.lower is None or bmi >= self.lower) and (self.upper is None or bmi < self.upper)

    def __str__(self) -> str:
        if self.lower is None:
            return f"BMI<{self.upper:g}"
        if self.upper is None:
            return f"BMI≥{self.lower:g}"
        return f"{self.lower:g}≤BMI<{self.upper:g}"


@dataclass(frozen=True)
class Cutoff:
    """``value <comparison> threshold`` means the abnormal side. Sex-specific where ``female`` differs.

    ``bands`` holds BMI-dependent thresholds (Martin 2013): each entry is (band, male, female); when
    given, it replaces ``male``/``female``.
    """

    measure: str
    comparison: Comparison
    male: float | None
    female: float | None
    unit: str
    source: str
    mark: Mark
    bands: tuple[tuple[BmiBand, float | None, float | None], ...] = ()

    def threshold_for(self, sex: Sex | None, bmi: float | None) -> tuple[float | None, tuple[str, ...]]:
        """The threshold for this subject, or None plus the inputs needed to choose it."""
        if not self.bands:
            if self.male == self.female:
                return self.male, ()
            if sex is None:
                return None, ("sex",)
            return (self.male if sex is Sex.MALE else self.female), ()
        if sex is None:
            if any(m != f for _, m, f in self.bands):
                return None, ("sex",)
            per_band = [(band, m) for band, m, _ in self.bands]
        else:
            per_band = [(band, m if sex is Sex.MALE else f) for band, m, f in self.bands]
        if len({v for _, v in per_band}) == 1:  # e.g. Martin 2013 women: same cut-off at any BMI
            return per_band[0][1], ()
        if bmi is None:
            return None, ("bmi_kg_m2",)
        for band, value in per_band:
            if band.contains(bmi):
                return value, ()
        return None, ("bmi_kg_m2",)

    def describe_band(self, sex: Sex | None, bmi: float | None) -> str:
        if not self.bands or bmi is None:
            return ""
        for band, _, _ in self.bands:
            if band.contains(bmi):
                return f"cut-off for {band} (BMI {bmi:.1f})"
        return ""


def _c(
    measure: str,
    cmp: Comparison,
    male: float | None,
    female: float | None,
    unit: str,
    source: str,
    mark: Mark = Mark.CHECKED,
) -> Cutoff:
    return Cutoff(measure, cmp, male, female, unit, source, mark)


# --- Bone, DXA: WHO 1994; ISCD Official Positions 2019/2023 (✔) -------------------------------------
WHO = "WHO 1994; ISCD Official Positions 2019/2023"
#: T ≥ −1.0 normal, so the abnormal side is T < −1.0.
WHO_LOW_BONE_MASS = _c("lowest_t_score", Comparison.LT, -1.0, -1.0, "T-score", WHO)
WHO_OSTEOPOROSIS = _c("lowest_t_score", Comparison.LE, -2.5, -2.5, "T-score", WHO)
ISCD_Z_LOW = _c("lowest_z_score", Comparison.LE, -2.0, -2.0, "Z-score", "ISCD Official Positions 2019/2023")
ISCD_VERTEBRA_T_DIFFERENCE = 1.0  # exclude a vertebra whose T differs from a neighbour by more than this
ISCD_MIN_VERTEBRAE = 2
ISCD_Z_SCORE_AGE_BELOW = 50.0  # men < 50 (and premenopausal women) are read by Z-score

# --- Sarcopenia consensus sets ----------------------------------------------------------------------
EWGSOP2 = "Cruz-Jentoft 2019 (EWGSOP2)"
AWGS = "Chen 2020 (AWGS 2019)"
FNIH = "Studenski 2014 (FNIH)"
SDOC = "Bhasin 2020 (SDOC)"


class Staging(StrEnum):
    """How a consensus combines its components (see the reference sheet's staging row)."""

    EWGSOP2 = "strength first: probable, then confirmed by mass, severe with low performance"
    AWGS = "low mass plus low strength or low performance; severe with all three"
    WEAKNESS_AND = "weakness plus a second component, both required"


@dataclass(frozen=True)
class SarcopeniaCriteria:
    name: str
    source: str
    staging: Staging
    strength: tuple[Cutoff, ...]
    mass: tuple[Cutoff, ...]
    performance: tuple[Cutoff, ...]
    note: str = ""


EWGSOP2_CRITERIA = SarcopeniaCriteria(
    name="EWGSOP2",
    source=EWGSOP2,
    staging=Staging.EWGSOP2,
    strength=(
        _c("grip_kg", Comparison.LT, 27.0, 16.0, "kg", EWGSOP2),
        _c("chair_stand_s", Comparison.GT, 15.0, 15.0, "s (5 rises)", EWGSOP2),
    ),
    mass=(
        _c("alm_kg", Comparison.LT, 20.0, 15.0, "kg", EWGSOP2),
        _c("almi_kg_m2", Comparison.LT, 7.0, 5.5, "kg/m²", EWGSOP2),
    ),
    performance=(
        _c("gait_speed_m_s", Comparison.LE, 0.8, 0.8, "m/s", EWGSOP2),
        _c("sppb", Comparison.LE, 8.0, 8.0, "points", EWGSOP2),
        _c("tug_s", Comparison.GE, 20.0, 20.0, "s", EWGSOP2),
        _c("walk_400m_min", Comparison.GE, 6.0, 6.0, "min", EWGSOP2),
    ),
)

AWGS2019_CRITERIA = SarcopeniaCriteria(
    name="AWGS2019",
    source=AWGS,
    staging=Staging.AWGS,
    strength=(_c("grip_kg", Comparison.LT, 28.0, 18.0, "kg", AWGS),),
    # DXA cut-offs (the BIA ones, 7.0/5.7, do not apply to DXA input).
    mass=(_c("almi_kg_m2", Comparison.LT, 7.0, 5.4, "kg/m²", AWGS),),
    performance=(
        _c("gait_speed_m_s", Comparison.LT, 1.0, 1.0, "m/s (6 m)", AWGS),
        _c("chair_stand_s", Comparison.GE, 12.0, 12.0, "s (5 rises)", AWGS),
        _c("sppb", Comparison.LE, 9.0, 9.0, "points", AWGS),
    ),
    note="AWGS 2019 counts the 5-rise chair stand as physical performance; DXA mass cut-offs used.",
)

FNIH_CRITERIA = SarcopeniaCriteria(
    name="FNIH",
    source=FNIH,
    staging=Staging.WEAKNESS_AND,
    strength=(_c("grip_kg", Comparison.LT, 26.0, 16.0, "kg", FNIH),),
    mass=(_c("alm_bmi", Comparison.LT, 0.789, 0.512, "m² (ALM kg / BMI)", FNIH),),
    performance=(),
)

SDOC_CRITERIA = SarcopeniaCriteria(
    name="SDOC",
    source=SDOC,
    staging=Staging.WEAKNESS_AND,
    strength=(_c("grip_kg", Comparison.LT, 35.5, 20.0, "kg", SDOC),),
    mass=(),  # SDOC does not use muscle mass
    performance=(_c("gait_speed_m_s", Comparison.LT, 0.8, 0.8, "m/s", SDOC),),
)

SARCOPENIA_SETS: dict[str, SarcopeniaCriteria] = {
    c.name: c for c in (EWGSOP2_CRITERIA, AWGS2019_CRITERIA, FNIH_CRITERIA, SDOC_CRITERIA)
}

# --- Bone, opportunistic CT: Pickhardt 2013, Ann Intern Med 158:588 (✔) -------------------------------
PICKHARDT = "Pickhardt 2013, Ann Intern Med 158:588"
#: ≤110 HU: >90% specific for DXA osteoporosis.
CT_L1_SPECIFIC = _c("l1_trabecular_hu", Comparison.LE, 110.0, 110.0, "HU", PICKHARDT)
#: ≤160 HU: 90% sensitive for DXA osteoporosis.
CT_L1_SENSITIVE = _c("l1_trabecular_hu", Comparison.LE, 160.0, 160.0, "HU", PICKHARDT)
#: >200 HU: negative predictive value 99%.
CT_L1_NPV = _c("l1_trabecular_hu", Comparison.GT, 200.0, 200.0, "HU", PICKHARDT)
CONTRAST_EFFECT_NOTE = (
    "contrast-enhanced L1 attenuation is on average 11 HU higher than unenhanced (SD 19 HU; Pickhardt 2016); "
    "not corrected per patient"
)

# --- Muscle on CT at L3 -------------------------------------------------------------------------------
PRADO = "Prado 2008 (obese cancer patients)"
MARTIN = "Martin 2013 (cancer patients)"
DERSTINE = "Derstine 2018 (healthy 18-40 y, mean-2SD)"
_BMI_LT25 = BmiBand(upper=25.0)
_BMI_GE25 = BmiBand(lower=25.0)


@dataclass(frozen=True)
class CtMuscleCriteria:
    """Cut-offs for low muscle mass (SMI, optionally area) or low attenuation at L3."""

    name: str
    source: str
    cutoffs: tuple[Cutoff, ...]
    #: what a value below the cut-off means, for the output's stage.
    finding: str
    note: str = ""


CT_MUSCLE_SETS: dict[str, CtMuscleCriteria] = {
    c.name: c
    for c in (
        CtMuscleCriteria(
            "CT_muscle_Prado2008",
            PRADO,
            # The reference sheet gives the numbers but not the operator; Prado's "≤" wording is used.
            (_c("smi_cm2_m2", Comparison.LE, 52.4, 38.5, "cm²/m²", PRADO, Mark.SECONDARY),),
            "low_skeletal_muscle_index",
            note="Prado 2008 operator (≤) is not stated in the reference sheet: configurable.",
        ),
        CtMuscleCriteria(
            "CT_muscle_Martin2013",
            MARTIN,
            (
                Cutoff(
                    "smi_cm2_m2",
                    Comparison.LT,
                    None,
                    None,
                    "cm²/m²",
                    MARTIN,
                    Mark.SECONDARY,
                    bands=((_BMI_LT25, 43.0, 41.0), (_BMI_GE25, 53.0, 41.0)),
                ),
            ),
            "low_skeletal_muscle_index",
        ),
        CtMuscleCriteria(
            "CT_muscle_Derstine2018",
            DERSTINE,
            (
                _c("smi_cm2_m2", Comparison.LT, 45.4, 34.4, "cm²/m²", DERSTINE),
                _c("muscle_area_cm2", Comparison.LT, 144.3, 92.2, "cm²", DERSTINE),
            ),
            "low_skeletal_muscle_index",
            note="Derstine 2018 gives mean-2SD values; 'below' is read as '<'.",
        ),
        CtMuscleCriteria(
            "CT_myosteatosis_Martin2013",
            MARTIN,
            (
                Cutoff(
                    "muscle_hu_mean",
                    Comparison.LT,
                    None,
                    None,
                    "HU",
                    MARTIN,
                    Mark.UNCHECKED,
                    bands=((_BMI_LT25, 41.0, 41.0), (_BMI_GE25, 33.0, 33.0)),
                ),
            ),
            "myosteatosis",
        ),
        CtMuscleCriteria(
            "CT_myosteatosis_Derstine2018",
            DERSTINE,
            (_c("muscle_hu_mean", Comparison.LT, 38.5, 34.3, "HU", DERSTINE),),
            "myosteatosis",
            note="Derstine 2018 gives mean-2SD values; 'below' is read as '<'.",
        ),
    )
}

# --- Osteosarcopenia: which bone finding counts -----------------------------------------------------
OSTEOSARCOPENIA_BROAD = "Hirschfeld 2017; Kirk 2020; Huang 2023 (meta-analysis)"
OSTEOSARCOPENIA_CHINA = "Chinese expert consensus 2022 (sarcopenic osteoporosis)"


class BoneCriterion(StrEnum):
    """The switch between osteosarcopenia definitions."""

    OSTEOPENIA_OR_WORSE = "osteopenia_or_worse"
    OSTEOPOROSIS_ONLY = "osteoporosis_only"


#: Hirschfeld/Kirk/Huang: osteopenia or osteoporosis, written there as T ≤ −1.0.
OSTEOSARCOPENIA_T_BROAD = _c(
    "lowest_t_score", Comparison.LE, -1.0, -1.0, "T-score", OSTEOSARCOPENIA_BROAD, Mark.SECONDARY
)
#: Chinese 2022: osteoporosis only (T ≤ −2.5 at L1–L4, femoral neck or total hip, or fragility fracture).
OSTEOSARCOPENIA_T_CHINA = _c(
    "lowest_t_score", Comparison.LE, -2.5, -2.5, "T-score", OSTEOSARCOPENIA_CHINA, Mark.SECONDARY
)
#: The Chinese consensus uses AWGS-style sarcopenia cut-offs (grip 28/18 kg, ASMI 7.0/5.4).
CHINA_SARCOPENIA = AWGS2019_CRITERIA
