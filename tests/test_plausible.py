"""Every reader of a subject's height and weight asks the one table in imaging/plausible.py."""

from __future__ import annotations

import pytest

from imaging.clinical import parse_clinical_csv
from imaging.dxa.common import checked_patient
from imaging.dxa.model import Patient
from imaging.pipeline.subject import imaging_record
from imaging.plausible import HEIGHT_M, WEIGHT_KG
from imaging.series_facts import SeriesFacts

TALL = HEIGHT_M.high + 0.1  # just outside the table
HEAVY = WEIGHT_KG.high + 10.0


def test_a_height_outside_the_table_is_refused_by_every_reader():
    csv = parse_clinical_csv(f"patient_id,height_m\nP1,{TALL}\n")  # the row is refused, with the reason
    assert not csv.records and csv.problems[0].column == "height_m"
    record, warnings = imaging_record(SeriesFacts(patient_id="P1", patient_size_m=TALL))
    assert record.height_m is None and any("PatientSize" in w for w in warnings)
    dxa_warnings: list[str] = []
    assert checked_patient(dxa_warnings, "P1", None, None, TALL, HEAVY).height_m is None
    assert len(dxa_warnings) == 2
    with pytest.raises(ValueError, match="not plausible"):
        Patient(height_m=TALL)


def test_a_height_inside_the_table_is_kept_by_every_reader():
    height = HEIGHT_M.high - 0.1
    assert parse_clinical_csv(f"patient_id,height_m\nP1,{height}\n").records[0].height_m == height
    assert imaging_record(SeriesFacts(patient_id="P1", patient_size_m=height))[0].height_m == height
    assert checked_patient([], "P1", None, None, height, WEIGHT_KG.low).height_m == height


def test_non_finite_values_are_not_plausible():
    assert not HEIGHT_M.contains(float("nan")) and not WEIGHT_KG.contains(float("inf"))
