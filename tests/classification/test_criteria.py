"""The criteria tables hold the reference sheet's numbers and comparisons, and compare at the boundary."""

from __future__ import annotations

import pytest

from imaging.classification import criteria as C
from imaging.classification.criteria import Comparison, Mark
from imaging.classification.inputs import Sex
from imaging.classification.result import State, check

# (set, measure, men, women, comparison) exactly as in shared/reference/clinical-criteria.md
SARCOPENIA_TABLE = [
    ("EWGSOP2", "strength", "grip_kg", 27.0, 16.0, "<"),
    ("EWGSOP2", "strength", "chair_stand_s", 15.0, 15.0, ">"),
    ("EWGSOP2", "mass", "alm_kg", 20.0, 15.0, "<"),
    ("EWGSOP2", "mass", "almi_kg_m2", 7.0, 5.5, "<"),
    ("EWGSOP2", "performance", "gait_speed_m_s", 0.8, 0.8, "≤"),
    ("EWGSOP2", "performance", "sppb", 8.0, 8.0, "≤"),
    ("EWGSOP2", "performance", "tug_s", 20.0, 20.0, "≥"),
    ("EWGSOP2", "performance", "walk_400m_min", 6.0, 6.0, "≥"),
    ("AWGS2019", "strength", "grip_kg", 28.0, 18.0, "<"),
    ("AWGS2019", "mass", "almi_kg_m2", 7.0, 5.4, "<"),
    ("AWGS2019", "performance", "gait_speed_m_s", 1.0, 1.0, "<"),
    ("AWGS2019", "performance", "chair_stand_s", 12.0, 12.0, "≥"),
    ("AWGS2019", "performance", "sppb", 9.0, 9.0, "≤"),
    ("FNIH", "strength", "grip_kg", 26.0, 16.0, "<"),
    ("FNIH", "mass", "alm_bmi", 0.789, 0.512, "<"),
    ("SDOC", "strength", "grip_kg", 35.5, 20.0, "<"),
    ("SDOC", "performance", "gait_speed_m_s", 0.8, 0.8, "<"),
]


def _cutoff(set_name: str, component: str, measure: str) -> C.Cutoff:
    matches = [c for c in getattr(C.SARCOPENIA_SETS[set_name], component) if c.measure == measure]
    assert len(matches) == 1, f"{set_name} {component} {measure}"
    return matches[0]


@pytest.mark.parametrize(("set_name", "component", "measure", "men", "women", "op"), SARCOPENIA_TABLE)
def test_sarcopenia_table_matches_reference(set_name, component, measure, men, women, op):
    cutoff = _cutoff(set_name, component, measure)
    assert (cutoff.male, cutoff.female, cutoff.comparison.value) == (men, women, op)
    assert cutoff.source  # every number names its source


def test_every_component_listed_in_table():
    listed = {(s, comp, m) for s, comp, m, *_ in SARCOPENIA_TABLE}
    actual = {
        (name, comp, c.measure)
        for name, crit in C.SARCOPENIA_SETS.items()
        for comp in ("strength", "mass", "performance")
        for c in getattr(crit, comp)
    }
    assert actual == listed


def _boundary_cases():
    for set_name, component, measure, men, women, op in SARCOPENIA_TABLE:
        for sex, threshold in ((Sex.MALE, men), (Sex.FEMALE, women)):
            eps = 0.001 if threshold < 2 else 0.01
            at_is_low = op in ("≤", "≥")
            low_side = -1 if op in ("<", "≤") else 1
            cutoff = _cutoff(set_name, component, measure)
            yield pytest.param(cutoff, sex, threshold, at_is_low, id=f"{set_name}-{measure}-{sex}-at")
            yield pytest.param(
                cutoff, sex, threshold + low_side * eps, True, id=f"{set_name}-{measure}-{sex}-low"
            )
            yield pytest.param(
                cutoff, sex, threshold - low_side * eps, False, id=f"{set_name}-{measure}-{sex}-ok"
            )


@pytest.mark.parametrize(("cutoff", "sex", "value", "low"), list(_boundary_cases()))
def test_boundary_at_just_above_just_below(cutoff, sex, value, low):
    finding = check(cutoff, value, sex)
    assert finding.state is (State.LOW if low else State.NOT_LOW)
    assert finding.evidence[0].threshold == (cutoff.male if sex is Sex.MALE else cutoff.female)


def test_sex_specific_cutoff_needs_sex():
    finding = check(C.EWGSOP2_CRITERIA.strength[0], 20.0, None)
    assert finding.state is State.UNKNOWN and finding.missing == ("sex",)
    # the same threshold for both sexes does not need sex
    assert check(C.EWGSOP2_CRITERIA.performance[0], 0.5, None).state is State.LOW


def test_missing_value_names_measure():
    finding = check(C.EWGSOP2_CRITERIA.strength[0], None, Sex.MALE)
    assert finding.state is State.UNKNOWN and finding.missing == ("grip_kg",)


@pytest.mark.parametrize(
    ("op", "value", "expected"),
    [
        ("<", 1.0, False),
        ("<", 0.99, True),
        ("≤", 1.0, True),
        ("≤", 1.01, False),
        (">", 1.0, False),
        (">", 1.01, True),
        ("≥", 1.0, True),
        ("≥", 0.99, False),
    ],
)
def test_comparison_operators(op, value, expected):
    assert Comparison(op).holds(value, 1.0) is expected


def test_who_and_ct_numbers_match_reference():
    assert (C.WHO_LOW_BONE_MASS.male, C.WHO_LOW_BONE_MASS.comparison) == (-1.0, Comparison.LT)
    assert (C.WHO_OSTEOPOROSIS.male, C.WHO_OSTEOPOROSIS.comparison) == (-2.5, Comparison.LE)
    assert (C.ISCD_Z_LOW.male, C.ISCD_Z_LOW.comparison) == (-2.0, Comparison.LE)
    assert (C.CT_L1_SPECIFIC.male, C.CT_L1_SPECIFIC.comparison) == (110.0, Comparison.LE)
    assert (C.CT_L1_SENSITIVE.male, C.CT_L1_SENSITIVE.comparison) == (160.0, Comparison.LE)
    assert (C.CT_L1_NPV.male, C.CT_L1_NPV.comparison) == (200.0, Comparison.GT)
    assert (C.OSTEOSARCOPENIA_T_BROAD.male, C.OSTEOSARCOPENIA_T_BROAD.comparison) == (-1.0, Comparison.LE)
    assert (C.OSTEOSARCOPENIA_T_CHINA.male, C.OSTEOSARCOPENIA_T_CHINA.comparison) == (-2.5, Comparison.LE)
    derstine = C.CT_MUSCLE_SETS["CT_muscle_Derstine2018"].cutoffs
    assert [(c.measure, c.male, c.female) for c in derstine] == [
        ("smi_cm2_m2", 45.4, 34.4),
        ("muscle_area_cm2", 144.3, 92.2),
    ]
    prado = C.CT_MUSCLE_SETS["CT_muscle_Prado2008"].cutoffs[0]
    assert (prado.male, prado.female) == (52.4, 38.5)


def test_unchecked_numbers_are_flagged_configurable_in_output():
    cutoff = C.CT_MUSCLE_SETS["CT_myosteatosis_Martin2013"].cutoffs[0]
    assert cutoff.mark is Mark.UNCHECKED
    out = check(cutoff, 30.0, Sex.MALE, bmi=22.0).evidence[0].to_dict()
    assert out["configurable_default"] is True
    assert "configurable default" in out["source_status"]
    checked = check(C.WHO_OSTEOPOROSIS, -3.0, None).evidence[0].to_dict()
    assert "configurable_default" not in checked
