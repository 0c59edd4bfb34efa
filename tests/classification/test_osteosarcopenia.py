"""Osteosarcopenia: the bone-criterion switch, its boundaries, and the engine's JSON output."""

from __future__ import annotations

import json

import pytest

from imaging.classification import DEFAULT_CONFIG, classify
from imaging.classification import criteria as C
from imaging.classification.criteria import BoneCriterion
from imaging.classification.inputs import (
    ClassificationInputs,
    Contrast,
    CtInputs,
    DxaInputs,
    DxaSite,
    FunctionInputs,
    Sex,
    Subject,
)
from imaging.classification.osteosarcopenia import classify_osteosarcopenia

WOMAN = Subject(sex=Sex.FEMALE, age_years=74, height_m=1.58, weight_kg=48)
SARCOPENIC = FunctionInputs(grip_kg=14, gait_speed_m_s=0.7, fragility_fracture=False)


def inputs(t_score: float | None, function: FunctionInputs = SARCOPENIC, subject: Subject = WOMAN):
    sites = {"total_hip_left": DxaSite(t_score=t_score)} if t_score is not None else {}
    return ClassificationInputs(subject=subject, dxa=DxaInputs(sites=sites, alm_kg=12.0), function=function)


@pytest.mark.parametrize(
    ("t", "broad", "china"),
    [
        (-0.9, "negative", "negative"),
        (-1.0, "positive", "negative"),  # "T ≤ −1.0" as written for Hirschfeld/Kirk/Huang
        (-2.4, "positive", "negative"),
        (-2.5, "positive", "positive"),
    ],
)
def test_bone_criterion_switch(t, broad, china):
    assert classify_osteosarcopenia(inputs(t), BoneCriterion.OSTEOPENIA_OR_WORSE).status.value == broad
    assert classify_osteosarcopenia(inputs(t), BoneCriterion.OSTEOPOROSIS_ONLY).status.value == china


def test_chinese_definition_uses_awgs_and_fracture():
    fracture = FunctionInputs(grip_kg=14, gait_speed_m_s=0.7, fragility_fracture=True)
    r = classify_osteosarcopenia(inputs(-1.5, fracture), BoneCriterion.OSTEOPOROSIS_ONLY)
    assert r.status.value == "positive"
    assert "AWGS" in r.source
    unknown = FunctionInputs(grip_kg=14, gait_speed_m_s=0.7, fragility_fracture=None)
    r = classify_osteosarcopenia(inputs(-1.5, unknown), BoneCriterion.OSTEOPOROSIS_ONLY)
    assert r.status.value == "insufficient_data" and "fragility_fracture" in r.missing


def test_no_sarcopenia_is_negative_even_with_osteoporosis():
    strong = FunctionInputs(grip_kg=30, gait_speed_m_s=1.2, fragility_fracture=False)
    r = classify_osteosarcopenia(inputs(-3.0, strong), BoneCriterion.OSTEOPENIA_OR_WORSE)
    assert r.status.value == "negative"


def test_missing_dxa_and_function_insufficient():
    r = classify_osteosarcopenia(ClassificationInputs(subject=WOMAN), BoneCriterion.OSTEOPENIA_OR_WORSE)
    assert r.status.value == "insufficient_data"
    assert "DXA T-score" in r.missing and any("grip_kg" in m for m in r.missing)


def test_under_50_t_criterion_not_applicable():
    young = Subject(sex=Sex.MALE, age_years=40, height_m=1.8, weight_kg=60)
    r = classify_osteosarcopenia(inputs(-3.0, subject=young), BoneCriterion.OSTEOPENIA_OR_WORSE)
    assert r.status.value in ("insufficient_data", "negative")
    assert any("Z-score rule" in n for n in r.notes)


def test_chinese_definition_ignores_radius():
    data = DxaInputs(sites={"radius_33_left": DxaSite(t_score=-3.0)}, alm_kg=12.0)
    i = ClassificationInputs(subject=WOMAN, dxa=data, function=SARCOPENIC)
    assert classify_osteosarcopenia(i, BoneCriterion.OSTEOPOROSIS_ONLY).status.value == "insufficient_data"
    assert classify_osteosarcopenia(i, BoneCriterion.OSTEOPENIA_OR_WORSE).status.value == "positive"


def test_engine_output_keys_and_json():
    ct = CtInputs(
        level="L3",
        smi_cm2_m2=30.0,
        muscle_area_cm2=80.0,
        muscle_hu_mean=25.0,
        l1_trabecular_hu=95.0,
        contrast=Contrast.YES,
    )
    out = classify(ClassificationInputs(WOMAN, inputs(-2.8).dxa, SARCOPENIC, ct))
    json.dumps(out)  # serialisable
    assert out["osteosarcopenia"]["definition"] == "osteosarcopenia_osteopenia_or_worse_EWGSOP2"
    assert out["osteosarcopenia"]["status"] == "positive"
    assert out["WHO_ISCD_bone"]["stage"] == "osteoporosis"
    assert out["osteosarcopenia_ct_opportunistic"]["status"] == "suspected"
    for name, entry in out.items():
        assert entry["status"] in ("positive", "negative", "suspected", "insufficient_data"), name
        for ev in entry["evidence"]:
            assert {"measure", "value", "threshold", "comparison", "source"} <= ev.keys()
        if entry["status"] == "insufficient_data":
            assert entry["missing"], name
    imaging_only = [k for k in out if k.startswith("CT_") or k.endswith("ct_opportunistic")]
    assert all(out[k]["status"] != "positive" for k in imaging_only)


def test_engine_with_nothing_reports_every_set_as_insufficient():
    out = classify(ClassificationInputs())
    assert all(v["status"] == "insufficient_data" for v in out.values())
    expected = {
        "WHO_ISCD_bone",
        *C.SARCOPENIA_SETS,
        *C.CT_MUSCLE_SETS,
        "CT_bone_Pickhardt2013",
        "osteosarcopenia",
        "osteosarcopenia_ct_opportunistic",
        "osteosarcopenia_osteopenia_or_worse_EWGSOP2",
        "osteosarcopenia_osteoporosis_only_AWGS2019",
    }
    assert set(out) == expected
    assert len(DEFAULT_CONFIG.osteosarcopenia) == 2


def test_roster_intended_truths_bm001_and_bm003():
    """Synthetic values consistent with the sample roster give the roster's intended classification."""
    bm001 = ClassificationInputs(
        Subject(sex=Sex.MALE, age_years=58, height_m=1.78, weight_kg=82),
        DxaInputs(
            sites={"lumbar_spine_L1_L4": DxaSite(t_score=-1.5), "total_hip_left": DxaSite(t_score=-1.4)},
            alm_kg=25.0,
        ),
        FunctionInputs(grip_kg=40, gait_speed_m_s=1.2, fragility_fracture=False),
    )
    out = classify(bm001)
    assert (out["WHO_ISCD_bone"]["stage"], out["EWGSOP2"]["status"]) == ("osteopenia", "negative")
    assert out["osteosarcopenia"]["status"] == "negative"

    bm003 = ClassificationInputs(
        Subject(sex=Sex.MALE, age_years=66, height_m=1.72, weight_kg=104),  # BMI 35.2
        ct=CtInputs(
            level="L3",
            smi_cm2_m2=54.0,
            muscle_area_cm2=160.0,
            muscle_hu_mean=28.0,
            l1_trabecular_hu=150.0,
            contrast=Contrast.NO,
        ),
    )
    out = classify(bm003)
    assert out["CT_myosteatosis_Martin2013"]["status"] == "suspected"
    assert out["CT_muscle_Martin2013"]["status"] == "negative"  # BMI ≥ 25: < 53
    assert out["CT_bone_Pickhardt2013"]["stage"] == "indeterminate"
