"""cohort.csv: fixed column order, flattened level metrics, merge by series, formula-safe text."""

from __future__ import annotations

import copy
import csv
from pathlib import Path

import pytest

from imaging.outputs.cohort import COLUMNS, cohort_row, read_cohort, update_cohort

from ._synthetic import make_case, make_results


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> dict:
    return make_results(make_case(Path(tmp_path_factory.mktemp("series"))))


def test_columns_are_fixed_and_flattened(tmp_path: Path, results: dict) -> None:
    path = update_cohort(tmp_path / "cohort.csv", [results])
    with open(path, newline="") as fh:
        header = next(csv.reader(fh))
    assert header[: len(COLUMNS)] == list(COLUMNS)
    assert header[len(COLUMNS) :] == ["class_CT_muscle_Derstine2018"]
    assert (
        "L3_muscle_area_cm2" in header and "T10_smi_cm2_m2" in header and "L5_trabecular_hu_median" in header
    )
    row = read_cohort(path)[0]
    assert float(row["L3_muscle_area_cm2"]) == results["levels"]["L3"]["muscle_area_cm2"]
    assert row["L3_trabecular_hu_median"] == ""  # null stays empty, never 0
    assert row["T10_muscle_area_cm2"] == ""  # level not covered
    assert row["class_CT_muscle_Derstine2018"] == "suspected"


def test_merge_replaces_same_series_and_appends_new(tmp_path: Path, results: dict) -> None:
    path = tmp_path / "cohort.csv"
    update_cohort(path, [results])
    other = copy.deepcopy(results)
    other["series"]["series_uid"] = "1.2.3.4"
    update_cohort(path, [other])
    again = copy.deepcopy(results)
    again["levels"]["L3"]["muscle_area_cm2"] = 111.5
    update_cohort(path, [again])
    rows = read_cohort(path)
    assert [r["series_uid"] for r in rows] == [results["series"]["series_uid"], "1.2.3.4"]
    assert rows[0]["L3_muscle_area_cm2"] == "111.5"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cohort.csv", "cohort.csv.lock"]


def test_formula_like_text_is_defused(results: dict) -> None:
    hostile = copy.deepcopy(results)
    hostile["series"]["description"] = '=HYPERLINK("x")'
    row = cohort_row(hostile)
    assert row["description"] == '\'=HYPERLINK("x")'
    assert row["L2_z_mm"].startswith("-")  # negative numbers stay numbers
