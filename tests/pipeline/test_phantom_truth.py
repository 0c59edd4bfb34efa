"""The pipeline with the phantom's *truth* labels as precomputed segmentation must reproduce truth.json.

Read in place from sample_dicoms/ (skipped when the samples are not there). The truth folder's tissue,
vertebrae and muscle-group maps are given as three precomputed files. Tolerances: areas 2 %, HU 2 HU,
fat fractions 1 percentage point, slice index equal (truth and pipeline both take the cranial slice
when the vertebral body spans an even number of slices).

Trabecular HU: truth.json applies the pipeline's ROI definition (imaging.measurements.bone) to the
truth vertebral body, so ``trabecular_hu_mean`` is what a perfect segmentation measures on the written
image, and the pipeline must match it within 2 HU on every level of every CT, soft and sharp kernels.
The noise-free render's ROI mean (``trabecular_hu_noise_free``) is not the reference here: any ROI
mean of the written image also carries the image noise over a few hundred correlated voxels (standard
error ~1-1.5 HU on the 5 mm series, up to ~3 HU realised), which no pipeline can remove. Marrow fat
fraction must be within 1 point of the level's nominal marrow parameter and of the truth map's ROI mean.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from imaging.cli import main
from imaging.outputs import validate_results

# Not imported from conftest: several conftest modules exist and which one `import conftest` finds
# depends on collection order.
SAMPLE_DICOMS = Path(__file__).resolve().parents[2] / "sample_dicoms"
TRUTH = SAMPLE_DICOMS / "truth"
CASES = sorted(p.parent for p in TRUTH.glob("*/*/truth.json")) if TRUTH.is_dir() else []
AREAS = ("muscle_area_cm2", "imat_area_cm2", "sat_area_cm2", "vat_area_cm2", "smi_cm2_m2")


def _run(case: Path, out: Path) -> tuple[dict, dict]:
    truth = json.loads((case / "truth.json").read_text())
    folders = [SAMPLE_DICOMS / s["folder"] for s in truth["series"]]
    path = folders[0] if len(folders) == 1 else folders[0].parent
    argv = [
        "analyze",
        str(path),
        "--out",
        str(out),
        "--clinical",
        str(SAMPLE_DICOMS / "clinical.csv"),
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


@pytest.mark.slow
@pytest.mark.parametrize("case", CASES, ids=[f"{p.parent.name}/{p.name}" for p in CASES])
def test_truth_labels_reproduce_truth(case, tmp_path):
    if not any(SAMPLE_DICOMS.glob(f"{case.parent.name}/*")):
        pytest.skip(f"sample DICOM of {case.parent.name} not present")
    truth, results = _run(case, tmp_path / "out")
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
