"""The real contrast CT (../shared/data/real/ct_upper_abdomen_b) with TotalSegmentator labels mapped.

TotalSegmentator gives vertebrae and some muscles (autochthon -> paraspinal) but no SAT/VAT, and this
20-slice series at T11-T12 may cut the vertebral bodies, so only what can be measured is asserted: the
contrast flag from the ContrastBolusAgent tag, and physiologically plausible paraspinal muscle HU and
T12 trabecular HU wherever a level is established (otherwise the reason must be given).
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
    assert measured or results["levels_not_measured"]["T12"]
    for level, entry in measured.items():
        assert entry["contrast"] == "yes"
        assert entry["sat_area_cm2"] is None and entry["smi_cm2_m2"] is None  # partial labels: no 0.0 areas
        paraspinal = entry["muscle_group_hu_mean"].get("paraspinal")
        assert paraspinal is not None and 20.0 < paraspinal < 80.0, level
    if "T12" in measured:
        hu = measured["T12"]["trabecular_hu_mean"]
        assert hu is not None and 80.0 < hu < 350.0
    else:
        assert "T12" in results["levels_not_measured"]
