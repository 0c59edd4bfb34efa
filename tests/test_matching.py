"""Joining imaging, clinical and DXA records: date window, nearest date, conflicts, height precedence."""

from __future__ import annotations

import datetime as dt

import pytest

from imaging.classification import classify
from imaging.classification.inputs import Sex
from imaging.clinical import ClinicalRecord
from imaging.matching import DxaRecord, ImagingRecord, MatchOptions, match

D0 = dt.date(2024, 6, 1)


def clin(pid="BM002", days=0, row=2, **kw) -> ClinicalRecord:
    return ClinicalRecord(patient_id=pid, date=D0 + dt.timedelta(days=days), row=row, **kw)


def test_window_edges_default_180_days():
    img = ImagingRecord("BM002", D0)
    assert match(img, [clin(days=180)]).clinical is not None
    assert match(img, [clin(days=-180)]).clinical is not None
    m = match(img, [clin(days=181)])
    assert m.clinical is None and "outside the ±180-day window" in m.warnings[0]
    assert match(img, [clin(days=181)], options=MatchOptions(window_days=200)).clinical is not None


def test_nearest_date_wins_and_tie_takes_earlier():
    img = ImagingRecord("BM002", D0)
    m = match(img, [clin(days=-30, row=2), clin(days=10, row=3), clin(days=100, row=4)])
    assert m.clinical.row == 3
    m = match(img, [clin(days=20, row=2), clin(days=-20, row=3)])
    assert m.clinical.row == 3 and "equally near" in m.warnings[0]


def test_other_patients_are_never_matched():
    assert match(ImagingRecord("BM002", D0), [clin(pid="BM003")]).clinical is None
    assert match(ImagingRecord("BM002", D0), [clin(pid=" BM002 ")]).clinical is not None


def test_undated_records():
    undated = ClinicalRecord(patient_id="BM004", date=None, row=2, height_m=1.65)
    m = match(ImagingRecord("BM004", D0), [undated])
    assert m.clinical is undated and "no date" in m.warnings[0]
    two = [undated, ClinicalRecord(patient_id="BM004", date=None, row=3)]
    assert match(ImagingRecord("BM004", D0), two).clinical is None
    m = match(ImagingRecord("BM004", None), [clin(pid="BM004")])
    assert m.clinical is not None and "imaging date unknown" in m.warnings[0]


def test_height_precedence_and_source():
    img = ImagingRecord("BM001", D0, height_m=1.78)
    assert match(img, [clin("BM001", height_m=1.785)]).height_source == "dicom"
    m = match(ImagingRecord("BM004", D0), [clin("BM004", height_m=1.65)])
    assert (m.subject.height_m, m.height_source) == (1.65, "clinical")
    m = match(img, [clin("BM001", height_m=1.78)], cli_height_m=1.80)
    assert (m.subject.height_m, m.height_source) == (1.80, "cli")
    m = match(ImagingRecord("BM003", D0), [])
    assert (m.subject.height_m, m.height_source) == (None, None)


def test_height_conflict_over_2_cm_reported_with_both_values():
    img = ImagingRecord("BM001", D0, height_m=1.78)
    assert match(img, [clin("BM001", height_m=1.80)]).conflicts == ()  # exactly 2 cm: no conflict
    m = match(img, [clin("BM001", height_m=1.81)])
    (c,) = m.conflicts
    assert c.field == "height_m" and dict(c.values) == {"dicom": 1.78, "clinical": 1.81}
    assert m.subject.height_m == 1.78 and any("height_m differs" in w for w in m.warnings)


def test_sex_conflict_becomes_unknown():
    m = match(ImagingRecord("BM002", D0, sex=Sex.FEMALE), [clin(sex=Sex.MALE)])
    assert m.subject.sex is None
    assert m.conflicts[0].to_dict() == {
        "field": "sex",
        "values": {"dicom": "F", "clinical": "M"},
        "resolution": "sex set to unknown",
    }


def test_weight_conflict_over_5_kg_becomes_unknown():
    img = ImagingRecord("BM002", D0, weight_kg=48.0)
    assert match(img, [clin(weight_kg=53.0)]).subject.weight_kg == 48.0
    m = match(img, [clin(weight_kg=53.5)])
    assert m.subject.weight_kg is None and m.subject.bmi is None
    assert m.conflicts[0].field == "weight_kg"


def test_age_conflict_allows_elapsed_time():
    img = ImagingRecord("BM002", D0, age_years=74)
    assert match(img, [clin(days=150, age_years=75)]).subject.age_years == 74
    m = match(img, [clin(days=10, age_years=78)])
    assert m.subject.age_years is None and m.conflicts[0].field == "age_years"


def test_dxa_from_contract_and_full_classification():
    data = {
        "vendor": "Hologic",
        "date": "2024-05-20",
        "patient": {"id": "BM002", "sex": "F", "age_years": 74, "height_m": 1.58, "weight_kg": 48},
        "sites": {"lumbar_spine_L1_L4": {"t_score": -2.7}, "total_hip_left": {"t_score": -2.6}},
        "body_composition": {"alm_kg": 12.0, "lean_definition": "excluding_bmc"},
    }
    dxa = DxaRecord.from_contract(data)
    img = ImagingRecord("BM002", D0, sex=Sex.FEMALE, age_years=74, height_m=1.58, weight_kg=48)
    m = match(img, [clin(sex=Sex.FEMALE, grip_kg=14, gait_speed_m_s=0.7, fragility_fracture=False)], [dxa])
    assert m.dxa is dxa and m.conflicts == ()
    assert m.subject_dict() == {
        "sex": "F",
        "age_years": 74,
        "height_m": 1.58,
        "height_source": "dicom",
        "weight_kg": 48,
        "bmi_kg_m2": 19.23,
    }
    out = classify(m.classification_inputs())
    assert out["osteosarcopenia"]["status"] == "positive"


def test_dxa_height_is_checked_but_never_the_source():
    dxa = DxaRecord.from_contract({"patient": {"id": "BM003", "height_m": 1.72}}, date=D0)
    m = match(ImagingRecord("BM003", D0), dxa=[dxa])
    assert m.subject.height_m is None and "give --height-m" in m.warnings[0]


def test_dxa_without_patient_id_is_refused():
    with pytest.raises(ValueError, match="no patient id"):
        DxaRecord.from_contract({"patient": {}})


@pytest.mark.parametrize(
    ("text", "expected"), [("2024-05-20", dt.date(2024, 5, 20)), ("20240520", dt.date(2024, 5, 20))]
)
def test_dxa_dates_iso_or_dicom(text, expected):
    assert DxaRecord.from_contract({"patient": {"id": "X"}, "date": text}).date == expected


def test_bad_dxa_date_is_an_error():
    with pytest.raises(ValueError, match="neither"):
        DxaRecord.from_contract({"patient": {"id": "X"}, "date": "20.05.2024"})
