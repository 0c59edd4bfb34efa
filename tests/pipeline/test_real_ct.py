"""The real contrast CT (../shared/data/real/ct_upper_abdomen_b) with TotalSegmentator labels mapped.

TotalSegmentator gives vertebrae and some muscles (autochthon -> paraspinal) but no SAT/VAT, so areas
and SMI are null (partial labels) and only HU can be judged. The 20-slice (40 mm) series holds T11 and
T12: T11's body runs off the cranial edge (no mid-vertebral slice, reason given); T12's body is found on
slices 3-13 (the label's fragmented caudal endplate region on slices 0-2 does not survive the body
opening), so T12 is measured. Asserted: T12 trabecular HU (mean and median) in the adult range
(100-300 HU; contrast raises it a little), the contrast flag 'yes' beside it (ContrastBolusAgent
'APPLIED'), and paraspinal muscle HU in the range of normal lean muscle on a portal-phase scan (20-70 HU).
"""

from __future__ import annotations

import json

import pytest

from imaging.cli import main
from imaging.outputs import validate_results


@pytest.mark.shared
@pytest.mark.slow
def test_real_contrast_ct_with_totalsegmentator_labels(shared_data, tmp_path):
    case = shared_data / "real" / "ct_upper_abdomen_b"
    out = tmp_path / "out"
    code = main(
        [
            "analyze",
            str(case / "dicom"),
            "--out",
            str(out),
            "--height-m",
            "1.75",
            "--segmentation",
            str(case / "totalsegmentator_total.nii.gz"),
        ]
    )
    assert code == 0
    (path,) = out.glob("*/*/*/results.json")
    results = json.loads(path.read_text())
    assert validate_results(results) == []
    assert results["acquisition"]["contrast"] == "yes"  # ContrastBolusAgent 'APPLIED'
    assert "ContrastBolusAgent" in results["acquisition"]["contrast_evidence"]
    assert any("TotalSegmentator" in w for w in results["warnings"])
    measured = results["levels"]
    assert "T11" in results["levels_not_measured"]  # body cut by the cranial edge: the reason is given
    assert "T12" in measured, results["levels_not_measured"].get("T12")
    for level, entry in measured.items():
        assert entry["contrast"] == "yes", level
        assert entry["sat_area_cm2"] is None and entry["smi_cm2_m2"] is None, level  # partial: no 0.0 areas
    t12 = measured["T12"]
    assert t12["contrast"] == "yes"
    assert 100.0 < t12["trabecular_hu_mean"] < 300.0
    assert 100.0 < t12["trabecular_hu_median"] < 300.0
    assert t12["trabecular_roi_voxels"] > 200
    paraspinal = t12["muscle_group_hu_mean"]["paraspinal"]
    assert 20.0 < paraspinal < 70.0
    assert 20.0 < t12["muscle_hu_mean"] < 70.0
