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

from pathlib import Path

import pytest
from pipeline._truth_compare import assert_matches_truth, run_on_truth

# Not imported from conftest: several conftest modules exist and which one `import conftest` finds
# depends on collection order.
SAMPLE_DICOMS = Path(__file__).resolve().parents[2] / "sample_dicoms"
TRUTH = SAMPLE_DICOMS / "truth"
CASES = sorted(p.parent for p in TRUTH.glob("*/*/truth.json")) if TRUTH.is_dir() else []


@pytest.mark.slow
@pytest.mark.parametrize("case", CASES, ids=[f"{p.parent.name}/{p.name}" for p in CASES])
def test_truth_labels_reproduce_truth(case, tmp_path):
    if not any(SAMPLE_DICOMS.glob(f"{case.parent.name}/*")):
        pytest.skip(f"sample DICOM of {case.parent.name} not present")
    truth, results = run_on_truth(SAMPLE_DICOMS, case, tmp_path / "out")
    assert_matches_truth(truth, results)
