"""The pipeline with the phantom's *truth* labels as precomputed segmentation must reproduce truth.json.

Read in place from sample_dicoms/ (skipped when the samples are not there). Tolerances: areas 2 %,
muscle HU 2 HU, fat fractions 1 percentage point, slice index equal -- except where the vertebral body
in the labels spans an even number of slices: its centre then lies exactly between two slices, the
labels cannot tell which is nearer the analytic centre the phantom used, and either is accepted.

Trabecular HU is *not* compared with truth.json's value: the phantom's truth averages every trabecular
voxel on the slice, including the rim next to the cortex, which the image blur brightens; the pipeline
ROI (clinical-criteria.md) stays 3 mm inside the body and keeps the phantom's central venous lake
(truth excludes vein voxels). Measured gaps: truth is 10-27 HU higher on soft kernels (rim), lower on
the sharp Br64 kernel (edge undershoot). The test checks the ROI exists and has no cortical tail
(mean close to median); the definitions must be aligned in the phantom's truth before a 2 HU check.
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
    for level, expected in truth["levels"].items():
        got = results["levels"].get(level)
        assert got is not None, f"{level} not found: {results['levels_not_measured'].get(level)}"
        body = got["body_slices"]
        tie = (body[1] - body[0]) % 2 == 1 and truth["grid"]["shape"][0] > 1
        allowed = {expected["slice_index"], *(expected["slice_index"] + d for d in (-1, 1) if tie)}
        assert got["slice_index"] in allowed, level
        if got["slice_index"] != expected["slice_index"]:
            continue  # a neighbouring slice holds different tissue; values are compared where slices agree
        for key in AREAS:
            assert got[key] == pytest.approx(expected[key], rel=0.02), f"{level} {key}"
        if "muscle_hu_mean" in expected:
            assert got["muscle_hu_mean"] == pytest.approx(expected["muscle_hu_mean"], abs=2.0)
            mean, median = got["trabecular_hu_mean"], got["trabecular_hu_median"]
            assert got["trabecular_roi_voxels"] > 0 and mean is not None, level
            assert abs(mean - median) < 5.0, f"{level}: cortex in the trabecular ROI?"
        if "muscle_fat_fraction_pct" in expected:
            assert got["muscle_fat_fraction_pct"] == pytest.approx(
                expected["muscle_fat_fraction_pct"], abs=1.0
            )
            assert got["marrow_fat_fraction_pct"] == pytest.approx(
                expected["marrow_fat_fraction_pct"], abs=1.0
            )
