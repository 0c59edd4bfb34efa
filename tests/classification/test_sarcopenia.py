"""Consensus sarcopenia sets: staging, sex-specific cut-offs, and every insufficient-data path."""

from __future__ import annotations

import pytest

from imaging.classification import criteria as C
from imaging.classification.inputs import ClassificationInputs, DxaInputs, FunctionInputs, Sex, Subject
from imaging.classification.sarcopenia import classify_sarcopenia

WOMAN = Subject(sex=Sex.FEMALE, age_years=74, height_m=1.58, weight_kg=48)
MAN = Subject(sex=Sex.MALE, age_years=70, height_m=1.78, weight_kg=82)


def run(criteria, subject=WOMAN, dxa=None, **function):
    return classify_sarcopenia(
        ClassificationInputs(subject=subject, dxa=dxa, function=FunctionInputs(**function)), criteria
    )


LOW_ALM_F = DxaInputs(alm_kg=12.0)  # ALMI 4.81 for 1.58 m
OK_ALM_F = DxaInputs(alm_kg=16.0, almi_kg_m2=6.4)


class TestEwgsop2:
    crit = C.EWGSOP2_CRITERIA

    def test_normal_strength_is_negative_without_mass(self):
        r = run(self.crit, grip_kg=20)
        assert (r.status.value, r.stage) == ("negative", "no_sarcopenia")

    def test_no_strength_measure_is_insufficient(self):
        r = run(self.crit, dxa=LOW_ALM_F, gait_speed_m_s=0.5)
        assert r.status.value == "insufficient_data"
        assert r.missing == ("grip_kg or chair_stand_s",)

    def test_probable_without_mass_is_insufficient(self):
        r = run(self.crit, grip_kg=14)
        assert (r.status.value, r.stage) == ("insufficient_data", "probable")
        assert "alm_kg or almi_kg_m2" in r.missing[0]

    def test_probable_with_normal_mass_is_negative(self):
        r = run(self.crit, dxa=OK_ALM_F, grip_kg=14)
        assert (r.status.value, r.stage) == ("negative", "probable")

    def test_confirmed(self):
        r = run(self.crit, dxa=LOW_ALM_F, grip_kg=14, gait_speed_m_s=1.1)
        assert (r.status.value, r.stage) == ("positive", "confirmed")

    def test_confirmed_severity_unknown_lists_missing_performance(self):
        r = run(self.crit, dxa=LOW_ALM_F, grip_kg=14)
        assert (r.status.value, r.stage) == ("positive", "confirmed")
        assert r.missing and "gait_speed_m_s" in r.missing[0]

    def test_severe(self):
        r = run(self.crit, dxa=LOW_ALM_F, grip_kg=14, gait_speed_m_s=0.7)
        assert (r.status.value, r.stage) == ("positive", "severe")

    def test_chair_stand_alone_is_strength(self):
        assert run(self.crit, dxa=LOW_ALM_F, chair_stand_s=15.01).stage == "confirmed"
        assert run(self.crit, dxa=LOW_ALM_F, chair_stand_s=15.0).stage == "no_sarcopenia"

    @pytest.mark.parametrize(
        ("sex", "grip", "low"),
        [
            (Sex.MALE, 26.9, True),
            (Sex.MALE, 27.0, False),
            (Sex.FEMALE, 15.9, True),
            (Sex.FEMALE, 16.0, False),
        ],
    )
    def test_sex_specific_grip(self, sex, grip, low):
        subject = Subject(sex=sex, age_years=70, height_m=1.7)
        r = run(self.crit, subject=subject, grip_kg=grip)
        assert (r.stage != "no_sarcopenia") is low

    def test_unknown_sex_is_insufficient(self):
        r = run(self.crit, subject=Subject(age_years=70, height_m=1.6), dxa=LOW_ALM_F, grip_kg=20)
        # chair stand (same cut-off for both sexes) would also decide strength
        assert r.status.value == "insufficient_data" and r.missing == ("sex or chair_stand_s",)

    def test_almi_derived_from_height(self):
        r = run(self.crit, dxa=DxaInputs(alm_kg=16.0), grip_kg=14)  # 16/1.58² = 6.41 ≥ 5.5; ALM 16 ≥ 15
        assert r.stage == "probable" and r.status.value == "negative"
        assert any("computed" in n for n in r.notes)

    def test_lean_including_bmc_is_refused(self):
        r = run(self.crit, dxa=DxaInputs(alm_kg=12.0, lean_definition="including_bmc"), grip_kg=14)
        assert r.status.value == "insufficient_data"
        assert any("must exclude bone mineral" in n for n in r.notes)


class TestAwgs:
    crit = C.AWGS2019_CRITERIA

    def test_low_mass_and_low_strength(self):
        r = run(self.crit, dxa=LOW_ALM_F, grip_kg=17.9, gait_speed_m_s=1.0, chair_stand_s=11.9, sppb=10)
        assert (r.status.value, r.stage) == ("positive", "sarcopenia")

    def test_low_mass_and_low_performance_only(self):
        r = run(self.crit, dxa=LOW_ALM_F, grip_kg=18.0, chair_stand_s=12.0)
        assert (r.status.value, r.stage) == ("positive", "sarcopenia")

    def test_severe_needs_all_three(self):
        r = run(self.crit, dxa=LOW_ALM_F, grip_kg=14, gait_speed_m_s=0.99)
        assert r.stage == "severe"

    def test_possible_without_mass(self):
        r = run(self.crit, grip_kg=14)
        assert (r.status.value, r.stage) == ("insufficient_data", "possible")

    def test_possible_with_normal_mass_is_negative(self):
        r = run(self.crit, dxa=DxaInputs(alm_kg=14.0, almi_kg_m2=5.4), grip_kg=14)
        assert (r.status.value, r.stage) == ("negative", "possible")

    def test_low_mass_alone_with_unknown_function_is_insufficient(self):
        r = run(self.crit, dxa=LOW_ALM_F)
        assert r.status.value == "insufficient_data"
        assert len(r.missing) == 2

    def test_normal_strength_and_performance_is_negative_without_dxa(self):
        r = run(self.crit, grip_kg=25, gait_speed_m_s=1.2)
        assert (r.status.value, r.stage) == ("negative", "no_sarcopenia")


class TestFnihSdoc:
    def test_fnih_alm_bmi_from_bmi(self):
        # BMI 48/1.58² = 19.2; 9.0/19.2 = 0.468 < 0.512
        r = run(C.FNIH_CRITERIA, dxa=DxaInputs(alm_kg=9.0), grip_kg=15)
        assert (r.status.value, r.stage) == ("positive", "sarcopenia")

    def test_fnih_normal_lean_negative(self):
        r = run(C.FNIH_CRITERIA, dxa=DxaInputs(alm_kg=12.0, alm_bmi=0.512), grip_kg=15)
        assert r.status.value == "negative"

    def test_fnih_without_dxa_insufficient(self):
        r = run(C.FNIH_CRITERIA, grip_kg=15)
        assert r.status.value == "insufficient_data" and r.missing == ("alm_bmi",)

    def test_sdoc_weakness_and_slowness(self):
        man = MAN
        assert run(C.SDOC_CRITERIA, subject=man, grip_kg=35.4, gait_speed_m_s=0.79).status.value == "positive"
        assert run(C.SDOC_CRITERIA, subject=man, grip_kg=35.5, gait_speed_m_s=0.5).status.value == "negative"
        assert run(C.SDOC_CRITERIA, subject=man, grip_kg=30, gait_speed_m_s=0.8).status.value == "negative"

    def test_sdoc_missing_gait(self):
        r = run(C.SDOC_CRITERIA, subject=MAN, grip_kg=30)
        assert r.status.value == "insufficient_data" and r.missing == ("gait_speed_m_s",)
