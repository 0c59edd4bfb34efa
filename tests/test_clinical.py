"""Clinical CSV: the sample columns, unit variants and the validation messages."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from imaging.classification.inputs import Sex
from imaging.clinical import ClinicalDataError, parse_clinical_csv, read_clinical_csv

SAMPLE_CLINICAL = Path(__file__).resolve().parents[1] / "sample_dicoms" / "clinical.csv"
HEADER = (
    "patient_id,date,sex,age_years,height_cm,weight_kg,grip_kg,gait_speed_m_s,chair_stand_s,sppb,tug_s,"
    "fragility_fracture"
)


def parse(*rows: str, header: str = HEADER):
    return parse_clinical_csv("\n".join((header, *rows)) + "\n", "clin.csv")


def test_sample_columns_parse_to_program_units():
    table = parse("BM002,2024-03-01,F,74,158,48,14,0.7,16.5,6,21,yes")
    (r,) = table.records
    assert (r.patient_id, r.date, r.sex, r.age_years) == ("BM002", dt.date(2024, 3, 1), Sex.FEMALE, 74)
    assert r.height_m == pytest.approx(1.58) and r.weight_kg == 48 and r.fragility_fracture is True
    f = r.function()
    assert (f.grip_kg, f.gait_speed_m_s, f.chair_stand_s, f.sppb, f.tug_s) == (14, 0.7, 16.5, 6, 21)
    assert table.problems == () and table.ignored_columns == ()


def test_empty_cells_are_unknown():
    (r,) = parse("BM004,,,,165,,,,,,,").records
    assert r.date is None and r.sex is None and r.grip_kg is None and r.fragility_fracture is None
    assert r.height_m == pytest.approx(1.65)


@pytest.mark.parametrize(
    ("header", "row", "field", "expected"),
    [
        ("patient_id,height_m", "A,1.78", "height_m", 1.78),
        ("patient_id,height_in", "A,70", "height_m", 1.778),
        ("patient_id,weight_lb", "A,180", "weight_kg", 81.6466),
        ("patient_id,grip_lb", "A,50", "grip_kg", 22.6796),
        ("patient_id,gait_speed_cm_s", "A,95", "gait_speed_m_s", 0.95),
        ("patient_id,walk_400m_s", "A,390", "walk_400m_min", 6.5),
        (" Patient ID ,Height-CM", "A,178", "height_m", 1.78),
    ],
)
def test_unit_variants_are_converted(header, row, field, expected):
    (r,) = parse(row, header=header).records
    assert getattr(r, field) == pytest.approx(expected, rel=1e-4)


@pytest.mark.parametrize(
    ("header", "row", "column", "text"),
    [
        ("patient_id,height_m", "A,3.5", "height_m", "impossible"),
        ("patient_id,grip_kg", "A,-3", "grip_kg", "impossible"),
        ("patient_id,gait_speed_m_s", "A,12", "gait_speed_m_s", "cm/s"),
        ("patient_id,gait_speed_m_s", "A,5", "gait_speed_m_s", "impossible"),
        ("patient_id,age_years", "A,140", "age_years", "impossible"),
        ("patient_id,height_cm", "A,1.78", "height_cm", "looks like metres"),
        ("patient_id,height_m", "A,178", "height_m", "looks like centimetres"),
        ("patient_id,height_m,weight_kg", "A,1.60,180", "weight_kg", "possibly lb"),
        ("patient_id,chair_stand_s", "A,0", "chair_stand_s", "impossible"),
        ("patient_id,sppb", "A,7.5", "sppb", "whole number"),
        ("patient_id,sex", "A,X", "sex", "M or F"),
        ("patient_id,date", "A,03/01/2024", "date", "ISO"),
        ("patient_id,fragility_fracture", "A,maybe", "fragility_fracture", "yes/no"),
        ("patient_id,grip_kg", "A,strong", "grip_kg", "not a number"),
    ],
)
def test_row_problems_name_file_row_and_column(header, row, column, text):
    table = parse(row, header=header)
    assert table.records == ()
    (problem,) = table.problems
    assert (problem.file, problem.row, problem.column) == ("clin.csv", 2, column)
    assert text in problem.message
    assert str(problem).startswith(f"clin.csv, row 2, column '{column}'")


def test_plausible_heavy_person_is_not_flagged():
    assert parse("A,1.90,150", header="patient_id,height_m,weight_kg").problems == ()


def test_other_rows_survive_a_bad_row():
    table = parse(
        "A,2024-01-01,M,60,178,80,40,1.2,10,12,9,no", "B,2024-01-01,F,70,1.60,60,20,1.0,12,10,10,no"
    )
    assert [r.patient_id for r in table.records] == ["A"]
    assert table.problems[0].row == 3


@pytest.mark.parametrize(
    ("header", "text"),
    [
        ("date,sex", "patient_id"),
        ("patient_id,height_cm,height_m", "one unit only"),
        ("patient_id,sex,sex", "more than once"),
    ],
)
def test_header_problems_raise(header, text):
    with pytest.raises(ClinicalDataError, match=text):
        parse("A,1,2", header=header)


def test_unknown_columns_are_listed_not_fatal():
    table = parse("A,xyz", header="patient_id,comment")
    assert table.ignored_columns == ("comment",) and len(table.records) == 1


def test_read_strict_raises_and_lenient_returns(tmp_path):
    path = tmp_path / "c.csv"
    path.write_text("\ufeffpatient_id,height_cm\nA,1.78\nB,170\n", encoding="utf-8")
    with pytest.raises(ClinicalDataError, match=r"c\.csv, row 2, column 'height_cm'"):
        read_clinical_csv(path)
    table = read_clinical_csv(path, strict=False)
    assert [r.patient_id for r in table.records] == ["B"] and len(table.problems) == 1


def test_missing_file_is_a_clinical_error(tmp_path):
    with pytest.raises(ClinicalDataError, match="cannot read"):
        read_clinical_csv(tmp_path / "absent.csv")


def test_sample_clinical_csv_matches_roster():
    path = SAMPLE_CLINICAL
    if not path.is_file():
        pytest.skip(f"{path} not written yet (another engineer's task)")
    records = {r.patient_id: r for r in read_clinical_csv(path).records}
    roster = {
        "BM001": ("M", 58, 1.78, 82),
        "BM002": ("F", 74, 1.58, 48),
        "BM003": ("M", 66, 1.72, 104),
        "BM004": ("F", 61, 1.65, 70),
    }
    assert set(roster) <= set(records)
    for pid, (sex, age, height, weight) in roster.items():
        r = records[pid]
        assert (r.sex.value, r.age_years) == (sex, age)
        assert r.height_m == pytest.approx(height) and r.weight_kg == pytest.approx(weight)
    assert records["BM002"].grip_kg == 14 and records["BM002"].gait_speed_m_s == 0.7
    assert records["BM001"].grip_kg == 40
