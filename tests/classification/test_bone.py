"""WHO/ISCD bone classification: categories at their boundaries, site rules, the Z-score rule."""

from __future__ import annotations

import pytest

from imaging.classification.bone import classify_bone, excluded_vertebrae, select_sites
from imaging.classification.inputs import DxaInputs, DxaSite, Sex, Subject

OLD_WOMAN = Subject(sex=Sex.FEMALE, age_years=70)
OLD_MAN = Subject(sex=Sex.MALE, age_years=70)


def dxa(**t_scores: float) -> DxaInputs:
    return DxaInputs(sites={k: DxaSite(t_score=v) for k, v in t_scores.items()})


@pytest.mark.parametrize(
    ("t", "status", "stage"),
    [
        (-0.99, "negative", "normal"),
        (-1.0, "negative", "normal"),  # T ≥ −1.0 is normal
        (-1.01, "positive", "osteopenia"),
        (-2.49, "positive", "osteopenia"),
        (-2.5, "positive", "osteoporosis"),  # T ≤ −2.5
        (-2.51, "positive", "osteoporosis"),
    ],
)
def test_who_categories_at_boundaries(t, status, stage):
    result = classify_bone(OLD_WOMAN, dxa(total_hip_left=t), fragility_fracture=False)
    assert (result.status.value, result.stage) == (status, stage)


def test_lowest_of_spine_hip_and_neck_is_used():
    result = classify_bone(
        OLD_MAN, dxa(lumbar_spine_L1_L4=-1.2, total_hip_left=-0.5, femoral_neck_right=-2.6), False
    )
    assert result.stage == "osteoporosis"
    assert result.evidence[0].value == -2.6 and "femoral_neck_right" in result.evidence[0].note


@pytest.mark.parametrize(
    ("fracture", "stage"), [(True, "severe_osteoporosis"), (False, "osteoporosis"), (None, "osteoporosis")]
)
def test_fragility_fracture_makes_osteoporosis_severe(fracture, stage):
    result = classify_bone(OLD_WOMAN, dxa(total_hip_left=-2.7), fracture)
    assert result.stage == stage
    if fracture is None:
        assert any("unknown" in n for n in result.notes)


def test_fracture_with_osteopenia_is_not_severe():
    assert classify_bone(OLD_WOMAN, dxa(total_hip_left=-1.5), True).stage == "osteopenia"


@pytest.mark.parametrize(
    ("subject", "z_rule"),
    [
        (Subject(sex=Sex.MALE, age_years=49.9), True),
        (Subject(sex=Sex.MALE, age_years=50), False),
        (Subject(sex=Sex.FEMALE, age_years=45), True),  # assumed premenopausal
        (Subject(sex=Sex.FEMALE, age_years=45, menopausal=True), False),
        (Subject(sex=Sex.FEMALE, age_years=55, menopausal=False), True),
    ],
)
def test_z_score_rule_under_50(subject, z_rule):
    data = DxaInputs(sites={"total_hip_left": DxaSite(t_score=-3.0, z_score=-2.2)})
    result = classify_bone(subject, data, False)
    if z_rule:
        assert result.stage == "below_expected_range_for_age"
        assert "osteoporosis" not in result.stage
        assert result.evidence[0].measure == "lowest_z_score"
    else:
        assert result.stage == "osteoporosis"


@pytest.mark.parametrize(
    ("z", "stage"), [(-2.0, "below_expected_range_for_age"), (-1.99, "within_expected_range_for_age")]
)
def test_z_score_boundary(z, stage):
    data = DxaInputs(sites={"femoral_neck_left": DxaSite(z_score=z)})
    assert classify_bone(Subject(sex=Sex.MALE, age_years=40), data, None).stage == stage


def test_age_under_50_without_z_scores_is_insufficient():
    result = classify_bone(Subject(sex=Sex.MALE, age_years=40), dxa(total_hip_left=-3.0), None)
    assert result.status.value == "insufficient_data"
    assert any("z_score" in m for m in result.missing)


def test_unknown_age_is_insufficient():
    result = classify_bone(Subject(sex=Sex.MALE), dxa(total_hip_left=-3.0), None)
    assert result.status.value == "insufficient_data" and result.missing == ("age_years",)


def test_no_dxa_is_insufficient():
    result = classify_bone(OLD_MAN, None, None)
    assert result.status.value == "insufficient_data" and result.missing == ("DXA",)


def test_no_usable_site_is_insufficient():
    result = classify_bone(OLD_MAN, DxaInputs(sites={"total_hip_left": DxaSite(bmd_g_cm2=0.8)}), None)
    assert result.status.value == "insufficient_data"


@pytest.mark.parametrize(
    ("scores", "excluded"),
    [
        ({"L1": -1.5, "L2": -1.4, "L3": -1.6, "L4": -1.3}, ()),
        ({"L1": -1.5, "L2": -0.5, "L3": -1.4, "L4": -1.3}, ()),  # exactly 1.0 apart is kept
        ({"L1": -1.5, "L2": -0.4, "L3": -1.6, "L4": -1.4}, ("L2",)),  # > 1.0: middle outlier
        ({"L1": 0.2, "L2": -1.5, "L3": -1.6, "L4": -1.4}, ("L1",)),  # end outlier
        ({"L1": -1.5, "L2": -1.4, "L3": -1.6, "L4": 0.5}, ("L4",)),
        ({"L1": -2.0, "L2": -1.9, "L3": 0.0, "L4": 0.2}, ("L3", "L4")),  # two artefacts
    ],
)
def test_vertebra_exclusion_rule(scores, excluded):
    assert excluded_vertebrae(scores) == excluded


def test_excluded_vertebra_removes_spine_total_from_diagnosis():
    data = dxa(lumbar_spine_L1_L4=-2.6, L1=-2.8, L2=-2.7, L3=-1.0, L4=-2.9, total_hip_left=-1.2)
    sites = select_sites(data, "t_score")
    assert sites.excluded_vertebrae == ("L3",)
    assert "lumbar_spine_L1_L4" not in sites.scores
    result = classify_bone(OLD_WOMAN, data, False)
    assert result.stage == "osteopenia"  # from the hip; spine total not used
    assert any("excluded L3" in n for n in result.notes)


def test_single_vertebra_is_never_diagnostic():
    result = classify_bone(OLD_WOMAN, dxa(L2=-3.5), False)
    assert result.status.value == "insufficient_data"
    assert any("never diagnostic" in n for n in result.notes)


def test_spine_total_used_when_vertebrae_consistent():
    data = dxa(lumbar_spine_L1_L4=-2.6, L1=-2.8, L2=-2.7, L3=-2.2, L4=-2.9)
    assert classify_bone(OLD_WOMAN, data, False).stage == "osteoporosis"


def test_radius_only_when_hip_or_spine_unusable_or_indicated():
    both = dxa(lumbar_spine_L1_L4=-1.2, total_hip_left=-1.1, radius_33_left=-3.0)
    assert classify_bone(OLD_WOMAN, both, False).stage == "osteopenia"
    assert classify_bone(OLD_WOMAN, both, False, radius_indicated=True).stage == "osteoporosis"
    no_hip = dxa(lumbar_spine_L1_L4=-1.2, radius_33_left=-3.0)
    assert classify_bone(OLD_WOMAN, no_hip, False).stage == "osteoporosis"


def test_from_contract_ignores_wards_and_trochanter():
    data = DxaInputs.from_contract(
        {"sites": {"wards_left": {"t_score": -4.0}, "total_hip_left": {"t_score": "-1.2", "bmd_g_cm2": 0.8}}}
    )
    assert set(data.sites) == {"total_hip_left"}
    assert classify_bone(OLD_MAN, data, False).stage == "osteopenia"


def test_unknown_site_key_rejected_at_construction():
    with pytest.raises(ValueError, match="unknown DXA site"):
        DxaInputs(sites={"wards": DxaSite(t_score=-1)})


def test_exclusion_rule_applies_under_z_reading():
    data = DxaInputs(
        sites={
            "lumbar_spine_L1_L4": DxaSite(z_score=-2.1),
            "L1": DxaSite(z_score=-2.3),
            "L2": DxaSite(z_score=-2.2),
            "L3": DxaSite(z_score=-0.5),
            "L4": DxaSite(z_score=-2.4),
            "total_hip_left": DxaSite(z_score=-1.0),
        }
    )
    result = classify_bone(Subject(sex=Sex.MALE, age_years=40), data, None)
    assert result.stage == "within_expected_range_for_age"  # spine total not used, hip Z −1.0
    assert any("excluded L3" in n for n in result.notes)
