"""Run ``analyze`` with a phantom's truth labels as precomputed segmentation and compare to truth.json.

Shared by the committed-sample test (test_phantom_truth.py) and the fresh-seed test
(test_fresh_seed_truth.py), so both hold the pipeline to one set of tolerances: areas 2 %, HU 2 HU,
fat fractions 1 percentage point, slice index equal. Why these are the right references (and why the
noise-free trabecular value is not) is in test_phantom_truth.py's docstring.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from imaging.cli import main
from imaging.outputs import validate_results

AREAS = ("muscle_area_cm2", "imat_area_cm2", "sat_area_cm2", "vat_area_cm2", "smi_cm2_m2")


def run_on_truth(root: Path, case: Path, out: Path) -> tuple[dict, dict]:
    """``analyze`` the series of one truth folder (under sample tree ``root``) with its truth labels."""
    truth = json.loads((case / "truth.json").read_text())
    folders = [root / s["folder"] for s in truth["series"]]
    path = folders[0] if len(folders) == 1 else folders[0].parent
    argv = [
        "analyze",
        str(path),
        "--out",
        str(out),
        "--clinical",
        str(root / "clinical.csv"),
        "--segmentation",
        str(case / "tissue.nii.gz"),
        "--segmentation",
        str(case / "vertebrae.nii.gz"),
        "--segmentation",
        str(case / "muscles.nii.gz"),
    ]
    if truth["grid"]["shape"][0] == 1:
        argv += ["--level", next(iter(truth["levels"]))]
    assert main(argv) == 0
    (results_file,) = out.glob("*/*/*/results.json")
    return truth, json.loads(results_file.read_text())


def assert_matches_truth(truth: dict, results: dict) -> None:
    """Every truth level found on the truth slice, with areas, HU and fat fractions within tolerance."""
    assert validate_results(results) == []
    assert results["subject"]["height_m"] == pytest.approx(truth["subject"]["height_m"])
    assert results["model"]["name"] == "precomputed"
    for level, expected in truth["levels"].items():
        got = results["levels"].get(level)
        assert got is not None, f"{level} not found: {results['levels_not_measured'].get(level)}"
        assert got["slice_index"] == expected["slice_index"], (
            level,
            got["body_slices"],
            expected["body_slices"],
        )
        for key in AREAS:
            assert got[key] == pytest.approx(expected[key], rel=0.02), f"{level} {key}"
        groups = got.get("muscle_group_area_cm2", {})
        assert groups.keys() == expected["muscle_group_area_cm2"].keys(), level
        for group, area in expected["muscle_group_area_cm2"].items():
            assert groups[group] == pytest.approx(area, rel=0.02, abs=0.05), f"{level} {group} area"
        if expected.get("muscle_hu_mean") is not None:
            _check_ct_level(level, got, expected)
        if "mr" in expected:
            _check_mr_level(level, got, expected["mr"])
    if "mr" in next(iter(truth["levels"].values())):
        _check_mr_groups(truth, results)


def _check_ct_level(level: str, got: dict, expected: dict) -> None:
    assert got["muscle_hu_mean"] == pytest.approx(expected["muscle_hu_mean"], abs=2.0), level
    assert got["trabecular_hu_mean"] is not None, level
    assert got["trabecular_hu_mean"] == pytest.approx(expected["trabecular_hu_mean"], abs=2.0), level
    assert got["trabecular_hu_median"] == pytest.approx(expected["trabecular_hu_median"], abs=2.0), level


def _check_mr_level(level: str, got: dict, mr: dict) -> None:
    assert got["muscle_fat_fraction_pct"] == pytest.approx(mr["muscle_ff_pct"], abs=1.0), level
    if level in ("L1", "L2", "L3", "L4"):
        assert got["marrow_fat_fraction_pct"] == pytest.approx(mr["marrow_ff_pct"], abs=1.0), level
        assert got["marrow_fat_fraction_pct"] == pytest.approx(mr["marrow_ff_nominal_pct"], abs=1.0), level


def _check_mr_groups(truth: dict, results: dict) -> None:
    """Per-group muscle fat fraction at the pipeline's muscle level against the truth's label means."""
    mr = results["mr"]
    level = mr["muscle_fat_fraction_level"]
    expected = truth["levels"][level]["mr"]["muscle_group_ff_pct"]
    for group in ("psoas", "paraspinal"):
        assert group in expected, f"{group} not on the {level} slice of the truth"
    for group, value in expected.items():
        got = mr["muscle_fat_fraction_pct"].get(group)
        assert got == pytest.approx(value, abs=1.0), f"{level} {group}"
