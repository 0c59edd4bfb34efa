"""CT screens: L1 attenuation bands, L3 muscle cut-off sets (Martin's BMI split), the level fallback."""

from __future__ import annotations

import pytest

from imaging.classification import criteria as C
from imaging.classification.ct_opportunistic import (
    classify_ct_bone,
    classify_ct_muscle,
    classify_ct_osteosarcopenia,
)
from imaging.classification.inputs import (
    DERSTINE_FALLBACK_ORDER,
    Contrast,
    CtInputs,
    Sex,
    Subject,
    muscle_level,
)


@pytest.mark.parametrize(
    ("hu", "status", "stage"),
    [
        (109.9, "suspected", "suspected_osteoporosis"),
        (110.0, "suspected", "suspected_osteoporosis"),  # ≤110
        (110.1, "insufficient_data", "indeterminate"),
        (160.0, "insufficient_data", "indeterminate"),
        (160.1, "insufficient_data", "indeterminate"),
        (200.0, "insufficient_data", "indeterminate"),  # NPV statement is > 200
        (200.1, "negative", "osteoporosis_unlikely"),
    ],
)
def test_l1_bands(hu, status, stage):
    r = classify_ct_bone(CtInputs(l1_trabecular_hu=hu, contrast=Contrast.NO))
    assert (r.status.value, r.stage) == (status, stage)
    assert "diagnos" not in (r.stage or "")


def test_l1_indeterminate_says_dxa_needed_and_which_band():
    low = classify_ct_bone(CtInputs(l1_trabecular_hu=150, contrast=Contrast.NO))
    high = classify_ct_bone(CtInputs(l1_trabecular_hu=180, contrast=Contrast.NO))
    assert "DXA" in low.missing[0]
    assert any("specific" in n for n in low.notes) and any("sensitive threshold" in n for n in high.notes)


def test_l1_missing_and_contrast_flag():
    assert classify_ct_bone(None).missing == ("l1_trabecular_hu",)
    r = classify_ct_bone(CtInputs(l1_trabecular_hu=90, contrast=Contrast.YES))
    assert any("11 HU" in n for n in r.notes)


MARTIN = C.CT_MUSCLE_SETS["CT_muscle_Martin2013"]


@pytest.mark.parametrize(
    ("sex", "weight", "smi", "status"),
    [
        (Sex.MALE, 70.0, 42.9, "suspected"),  # BMI 24.2 < 25: cut-off 43
        (Sex.MALE, 70.0, 43.0, "negative"),
        (Sex.MALE, 70.0, 50.0, "negative"),
        (Sex.MALE, 80.0, 50.0, "suspected"),  # BMI 27.7 ≥ 25: cut-off 53
        (Sex.MALE, 80.0, 53.0, "negative"),
        (Sex.FEMALE, 60.0, 40.9, "suspected"),  # women < 41 at any BMI
        (Sex.FEMALE, 90.0, 41.0, "negative"),
    ],
)
def test_martin_bmi_split(sex, weight, smi, status):
    subject = Subject(sex=sex, height_m=1.70, weight_kg=weight)
    r = classify_ct_muscle(CtInputs(level="L3", smi_cm2_m2=smi), subject, MARTIN)
    assert r.status.value == status


def test_martin_split_exactly_at_bmi_25():
    at = Subject(sex=Sex.MALE, bmi_kg_m2=25.0)
    below = Subject(sex=Sex.MALE, bmi_kg_m2=24.99)
    assert classify_ct_muscle(CtInputs(level="L3", smi_cm2_m2=45.0), at, MARTIN).status.value == "suspected"
    assert classify_ct_muscle(CtInputs(level="L3", smi_cm2_m2=45.0), below, MARTIN).status.value == "negative"


def test_martin_men_need_bmi_women_do_not():
    r = classify_ct_muscle(CtInputs(level="L3", smi_cm2_m2=45.0), Subject(sex=Sex.MALE), MARTIN)
    assert r.status.value == "insufficient_data" and r.missing == ("bmi_kg_m2",)
    r = classify_ct_muscle(CtInputs(level="L3", smi_cm2_m2=40.0), Subject(sex=Sex.FEMALE), MARTIN)
    assert r.status.value == "suspected"


@pytest.mark.parametrize(
    ("bmi", "hu", "status"),
    [
        (24.0, 40.9, "suspected"),
        (24.0, 41.0, "negative"),
        (25.0, 32.9, "suspected"),
        (25.0, 33.0, "negative"),
    ],
)
def test_martin_myosteatosis(bmi, hu, status):
    crit = C.CT_MUSCLE_SETS["CT_myosteatosis_Martin2013"]
    r = classify_ct_muscle(
        CtInputs(level="L3", muscle_hu_mean=hu, contrast=Contrast.NO), Subject(bmi_kg_m2=bmi), crit
    )
    assert r.status.value == status
    assert r.evidence[0].to_dict()["configurable_default"] is True


@pytest.mark.parametrize(
    ("sex", "smi", "area", "status"),
    [
        (Sex.MALE, 45.4, 150.0, "negative"),
        (Sex.MALE, 45.3, 150.0, "suspected"),
        (Sex.MALE, 50.0, 144.2, "suspected"),  # area alone
        (Sex.FEMALE, 34.4, 92.2, "negative"),
        (Sex.FEMALE, 34.3, None, "suspected"),
    ],
)
def test_derstine_sex_specific(sex, smi, area, status):
    crit = C.CT_MUSCLE_SETS["CT_muscle_Derstine2018"]
    r = classify_ct_muscle(CtInputs(level="L3", smi_cm2_m2=smi, muscle_area_cm2=area), Subject(sex=sex), crit)
    assert r.status.value == status


@pytest.mark.parametrize(("smi", "status"), [(52.4, "suspected"), (52.5, "negative")])
def test_prado_men(smi, status):
    crit = C.CT_MUSCLE_SETS["CT_muscle_Prado2008"]
    assert (
        classify_ct_muscle(CtInputs(level="L3", smi_cm2_m2=smi), Subject(sex=Sex.MALE), crit).status.value
        == status
    )


def test_l3_cutoffs_not_applied_at_fallback_level():
    crit = C.CT_MUSCLE_SETS["CT_muscle_Derstine2018"]
    r = classify_ct_muscle(CtInputs(level="L2", smi_cm2_m2=20.0), Subject(sex=Sex.MALE), crit)
    assert r.status.value == "insufficient_data"
    assert any("L2" in n for n in r.notes)


def test_smi_without_height_is_insufficient():
    crit = C.CT_MUSCLE_SETS["CT_muscle_Prado2008"]
    r = classify_ct_muscle(CtInputs(level="L3", muscle_area_cm2=120.0), Subject(sex=Sex.MALE), crit)
    assert r.status.value == "insufficient_data" and r.missing == ("smi_cm2_m2",)
    assert any("height" in n for n in r.notes)


def test_fallback_order():
    assert DERSTINE_FALLBACK_ORDER == ("L2", "L4", "L5", "L1", "T12", "T11", "T10")
    assert muscle_level(["L1", "L2", "L3"]) == "L3"
    assert muscle_level(["L1", "L4", "L2"]) == "L2"
    assert muscle_level(["T12", "L1", "L5"]) == "L5"
    assert muscle_level(["T10", "T11"]) == "T11"
    assert muscle_level(["T9"]) is None


def test_from_levels_uses_fallback_and_l1():
    levels = {
        "L1": {"muscle_area_cm2": 100.0, "trabecular_hu_mean": 120.0},
        "L2": {"muscle_area_cm2": 110.0, "smi_cm2_m2": 40.0, "muscle_hu_mean": 35.0},
    }
    ct = CtInputs.from_levels(levels, "yes")
    assert (ct.level, ct.smi_cm2_m2, ct.l1_trabecular_hu, ct.contrast) == ("L2", 40.0, 120.0, Contrast.YES)


def test_imaging_osteosarcopenia_is_only_suspected():
    crit = C.CT_MUSCLE_SETS["CT_muscle_Derstine2018"]
    ct = CtInputs(level="L3", smi_cm2_m2=30.0, l1_trabecular_hu=100.0, contrast=Contrast.NO)
    subject = Subject(sex=Sex.FEMALE)
    r = classify_ct_osteosarcopenia(classify_ct_bone(ct), classify_ct_muscle(ct, subject, crit))
    assert (r.status.value, r.stage) == ("suspected", "suspected_osteosarcopenia")
    ct2 = CtInputs(level="L3", smi_cm2_m2=30.0, l1_trabecular_hu=150.0, contrast=Contrast.NO)
    r2 = classify_ct_osteosarcopenia(classify_ct_bone(ct2), classify_ct_muscle(ct2, subject, crit))
    assert r2.status.value == "insufficient_data"
    ct3 = CtInputs(level="L3", smi_cm2_m2=40.0, l1_trabecular_hu=90.0, contrast=Contrast.NO)
    r3 = classify_ct_osteosarcopenia(classify_ct_bone(ct3), classify_ct_muscle(ct3, subject, crit))
    assert r3.status.value == "negative"
