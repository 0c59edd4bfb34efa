"""ALM rules: lean EXCLUDING BMC of both arms and both legs, or null with the reason."""

from __future__ import annotations

import pytest

from imaging.dxa.alm import compute_body_composition
from imaging.dxa.model import Patient, Region, RegionMass

PATIENT = Patient(id="X", height_m=1.58, weight_kg=48.0)


def _limbs(**lean: float) -> dict[Region, RegionMass]:
    return {Region(name): RegionMass(lean_g=value, fat_g=1000.0, bmc_g=100.0) for name, value in lean.items()}


def test_hologic_sample_alm_is_exact() -> None:
    regions = _limbs(arm_left=2002.0, arm_right=2159.4, leg_left=7102.9, leg_right=6852.2)
    comp, warnings = compute_body_composition(regions, PATIENT)
    assert comp.to_json()["alm_kg"] == 18.1165
    assert comp.almi_kg_m2 == pytest.approx(18.1165 / 1.58**2)
    assert comp.alm_bmi == pytest.approx(18.1165 / (48.0 / 1.58**2))
    assert warnings == ()


def test_ge_two_limb_totals_give_alm() -> None:
    comp, warnings = compute_body_composition(_limbs(arms=3085.0, legs=10253.0), PATIENT)
    assert comp.to_json()["alm_kg"] == 13.338
    assert warnings == ()


def test_missing_limb_gives_null_and_names_the_limb() -> None:
    comp, warnings = compute_body_composition(
        _limbs(arm_left=2002.0, arm_right=2159.4, leg_left=7102.9), PATIENT
    )
    assert comp.alm_kg is None and comp.almi_kg_m2 is None
    assert len(warnings) == 1
    assert "leg_right" in warnings[0] and "ALM not computed" in warnings[0]


def test_lean_plus_bmc_only_is_refused_with_the_reason() -> None:
    regions = {
        Region(name): RegionMass(lean_g=None, fat_g=900.0, lean_plus_bmc_g=value)
        for name, value in {
            "arm_left": 2133.2,
            "arm_right": 2300.3,
            "leg_left": 7474.3,
            "leg_right": 7214.2,
        }.items()
    }
    comp, warnings = compute_body_composition(regions, PATIENT)
    assert comp.alm_kg is None
    text = " ".join(warnings)
    assert "only Lean+BMC" in text and "must exclude BMC" in text
    assert "arm_left" in text and "leg_right" in text


def test_no_height_keeps_alm_but_not_the_indices() -> None:
    regions = _limbs(arms=3085.0, legs=10253.0)
    comp, warnings = compute_body_composition(regions, Patient(weight_kg=70.0))
    assert comp.alm_kg == pytest.approx(13.338)
    assert comp.almi_kg_m2 is None and comp.alm_bmi is None
    assert any("height unknown" in w for w in warnings)


def test_no_regions_says_so() -> None:
    comp, warnings = compute_body_composition({}, PATIENT)
    assert comp.alm_kg is None and comp.to_json()["regions"] == {}
    assert "no whole-body composition" in warnings[0]
