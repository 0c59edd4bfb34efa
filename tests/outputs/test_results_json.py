"""The results.json validator: accepts the contract shape, names every departure from it."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest

from imaging.outputs.results_json import check_results, validate_results

from ._synthetic import make_case, make_results


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> dict:
    return make_results(make_case(Path(tmp_path_factory.mktemp("series"))))


def test_valid_results_pass(results: dict) -> None:
    assert validate_results(results) == []
    check_results(results)


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (lambda r: r.pop("levels"), "levels: missing"),
        (lambda r: r.__setitem__("schema_version", "2"), "schema_version"),
        (lambda r: r["series"].pop("series_uid"), "series.series_uid: missing"),
        (lambda r: r["series"].__setitem__("spacing_mm", [1, 1]), "series.spacing_mm"),
        (lambda r: r["subject"].__setitem__("sex", "male"), "subject.sex"),
        (lambda r: r["subject"].__setitem__("height_source", None), "subject.height_source"),
        (lambda r: r["acquisition"].__setitem__("contrast", "maybe"), "acquisition.contrast"),
        (lambda r: r["levels"]["L3"].pop("vat_area_cm2"), "levels.L3.vat_area_cm2: missing"),
        (lambda r: r["levels"]["L3"].__setitem__("muscle_area_cm2", "98"), "levels.L3.muscle_area_cm2"),
        (lambda r: r["levels"]["L3"].__setitem__("muscle_area_cm2", float("nan")), "non-finite"),
        (lambda r: r["levels"]["L3"].__setitem__("slice_index", 99), "outside the series"),
        (lambda r: r["levels"].__setitem__("X9", r["levels"]["L3"]), "levels.X9"),
        (lambda r: r.__setitem__("warnings", []), "null but no warning"),
        (
            lambda r: r["classification"]["CT_muscle_Derstine2018"]["evidence"][0].pop("source"),
            "source: missing",
        ),
        (lambda r: r["model"].pop("version"), "model.version: missing"),
    ],
)
def test_each_departure_is_named(results: dict, mutate, expected: str) -> None:
    broken = copy.deepcopy(results)
    mutate(broken)
    problems = validate_results(broken)
    assert any(expected in p for p in problems), problems
    with pytest.raises(ValueError, match="does not match the contract"):
        check_results(broken)


def test_extra_keys_are_allowed(results: dict) -> None:
    extended = copy.deepcopy(results)
    extended["levels"]["L3"]["muscle_volume_ml"] = 12.0
    extended["provenance"] = {"anything": True}
    assert validate_results(extended) == []


def test_not_an_object() -> None:
    assert validate_results([]) == ["results: must be an object, got list"]
