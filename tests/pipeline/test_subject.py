"""Subject facts from DICOM meta, clinical CSV and CLI height."""

from __future__ import annotations

import pytest

from imaging.clinical import parse_clinical_csv
from imaging.pipeline.subject import SubjectSources, imaging_record, parse_age, subject_for
from imaging.series_facts import SeriesFacts

CSV = "patient_id,date,sex,age_years,height_cm,weight_kg\nP1,2024-01-03,F,70,160,64\n"


@pytest.mark.parametrize(
    ("text", "years"), [("058Y", 58.0), ("006M", 0.5), ("", None), ("58", None), (None, None)]
)
def test_parse_age(text, years):
    assert parse_age(text) == years


def test_dicom_facts_and_odd_values():
    record, warnings = imaging_record(
        SeriesFacts(
            patient_id="P1",
            patient_sex="O",
            patient_size_m=172.0,
            patient_weight_kg=80,
            study_date="20240101",
        )
    )
    assert record.sex is None and record.height_m is None and record.weight_kg == 80.0
    assert len(warnings) == 2


def test_height_from_clinical_csv_then_cli_precedence():
    table = parse_clinical_csv(CSV)
    meta = SeriesFacts(patient_id="P1", study_date="20240101", patient_sex="F")
    matched, dxa, _ = subject_for(meta, SubjectSources(table.records))
    subject = matched.subject_dict()
    assert subject["height_m"] == pytest.approx(1.60) and subject["height_source"] == "clinical"
    assert subject["bmi_kg_m2"] == pytest.approx(25.0)
    assert dxa is None
    matched, _, _ = subject_for(meta, SubjectSources(table.records, cli_height_m=1.62))
    assert matched.subject_dict()["height_source"] == "cli"


def test_no_records_no_height():
    matched, _, _ = subject_for(SeriesFacts(patient_id="P9"), SubjectSources())
    assert matched.subject_dict()["height_m"] is None
