"""Each sample subject gets the classification its generated truth implies (issue 5), end to end:
DICOM + truth labels + the DXA exports + clinical.csv -> ``analyze`` -> results.json classification."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from imaging.cli import main

SAMPLES = Path(__file__).resolve().parents[2] / "sample_dicoms"

# subject -> (CT series folder, truth folder, expected {criteria set: (status, stage)})
CASES = {
    "BM001": (
        "BM001/CT_20260314/S002_Abdomen_3.0_Br40_3",
        "truth/BM001/CT_20260314_S002_Abdomen_3.0_Br40_3",
        {
            "WHO_ISCD_bone": ("positive", "osteopenia"),
            "EWGSOP2": ("negative", None),
            "osteosarcopenia": ("negative", None),
        },
    ),
    "BM002": (
        "BM002/CT_20260506/S003_PORTAL_VENOUS_5.0_STND",
        "truth/BM002/CT_20260506_S003_PORTAL_VENOUS_5.0_STND",
        {
            "WHO_ISCD_bone": ("positive", None),
            "EWGSOP2": ("positive", None),
            "osteosarcopenia": ("positive", "osteosarcopenia"),
            "osteosarcopenia_osteoporosis_only_AWGS2019": ("positive", "osteosarcopenia"),
        },
    ),
    "BM003": (
        "BM003/CT_20260702/S201_Abdomen_NC_5mm",
        "truth/BM003/CT_20260702_S201_Abdomen_NC_5mm",
        {
            "WHO_ISCD_bone": ("positive", "osteopenia"),
            "osteosarcopenia": ("negative", None),
            "CT_myosteatosis_Martin2013": ("suspected", "myosteatosis"),
        },
    ),
}


@pytest.mark.slow
@pytest.mark.parametrize("subject", sorted(CASES))
def test_sample_subject_gets_its_intended_classification(subject: str, tmp_path: Path) -> None:
    series, truth, expected = CASES[subject]
    if not (SAMPLES / series).is_dir():
        pytest.skip("sample_dicoms/ not generated")
    argv = ["analyze", str(SAMPLES / series), "--out", str(tmp_path)]
    argv += ["--clinical", str(SAMPLES / "clinical.csv"), "--dxa", str(SAMPLES)]
    for name in ("tissue", "vertebrae", "muscles"):
        argv += ["--segmentation", str(SAMPLES / truth / f"{name}.nii.gz")]
    assert main(argv) == 0
    [path] = tmp_path.glob("*/*/*/results.json")
    classification = json.loads(path.read_text())["classification"]
    for criteria, (status, stage) in expected.items():
        assert classification[criteria]["status"] == status, (criteria, classification[criteria])
        if stage is not None:
            assert classification[criteria]["stage"] == stage, (criteria, classification[criteria])
