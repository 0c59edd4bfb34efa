"""Levels from anatomy when the segmentation brings none: analyze on a phantom CT with tissue labels only."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from imaging.cli import main
from imaging.levels.assign import with_vertebral_levels
from imaging.segmentation.labels import TISSUE_NAMES, LabelMap
from imaging.segmentation.result import Segmentation
from imaging.series_facts import Modality, SeriesFacts
from imaging.volume import Volume

SAMPLES = Path(__file__).resolve().parents[2] / "sample_dicoms"
SERIES = "BM001/CT_20260314/S002_Abdomen_3.0_Br40_3"
TRUTH = "truth/BM001/CT_20260314_S002_Abdomen_3.0_Br40_3"


@pytest.mark.slow
def test_levels_are_counted_from_sacrum_and_ribs_when_only_tissue_labels_are_given(tmp_path) -> None:
    if not (SAMPLES / SERIES).is_dir():
        pytest.skip("sample_dicoms/ not generated")
    code = main(
        [
            "analyze",
            str(SAMPLES / SERIES),
            "--out",
            str(tmp_path),
            "--segmentation",
            str(SAMPLES / TRUTH / "tissue.nii.gz"),
        ]
    )
    assert code == 0
    [path] = tmp_path.glob("*/*/*/results.json")
    results = json.loads(path.read_text())
    report = results["segmentation"]["vertebra_levels"]
    assert report["established"] and report["anchor"] == "sacrum_and_lowest_rib"
    assert report["lumbar_count"] == 5
    truth = json.loads((SAMPLES / TRUTH / "truth.json").read_text())["levels"]
    assert abs(results["levels"]["L3"]["slice_index"] - truth["L3"]["slice_index"]) <= 1
    assert not any("no vertebra labels" in w for w in results["warnings"])


def _axial_affine(dz: float) -> np.ndarray:
    """Slices stepping along z (feet to head), rows along y, columns along x: an axial series."""
    a = np.eye(4)
    a[:3, :3] = [[0.0, 0.0, 1.0], [0.0, 1.0, 0.0], [dz, 0.0, 0.0]]
    return a


def test_axial_mr_without_bone_labels_is_not_counted_and_says_why() -> None:
    volume = Volume(np.zeros((4, 8, 8), np.float32), _axial_affine(5.0), SeriesFacts(modality=Modality.MR))
    tissue = LabelMap(np.ones((4, 8, 8), np.uint8), dict(TISSUE_NAMES))
    seg = with_vertebral_levels(volume, Segmentation(tissue, None), is_ct=False)
    assert seg.vertebrae is None
    assert any("no bone labels" in w for w in seg.notes)


def test_sagittal_mr_is_read_from_its_signal_whatever_the_network_said() -> None:
    """A sagittal series is not what the axial networks read: their labels are no evidence, and the
    image-only route answers (here: no column in a blank image, said as such)."""
    volume = Volume(
        np.zeros((4, 8, 8), np.float32), np.diag([5.0, 1.0, 1.0, 1.0]), SeriesFacts(modality=Modality.MR)
    )
    tissue = LabelMap(np.full((4, 8, 8), 5, np.uint8), dict(TISSUE_NAMES))  # all "bone"
    seg = with_vertebral_levels(volume, Segmentation(tissue, None), is_ct=False)
    assert seg.vertebrae is None
    assert "MR series" in seg.missing["vertebrae"]


def test_a_refusal_is_no_labels_with_the_reason_not_labels_of_nothing() -> None:
    """Levels that anatomy cannot name are "not established", never "not in the scanned range"."""
    from imaging.measurements.per_level import MeasureOptions, measure_levels

    volume = Volume(
        np.full((6, 32, 32), -1000, np.int16),
        np.diag([5.0, 1.0, 1.0, 1.0]),
        SeriesFacts(modality=Modality.CT),
    )
    seg = with_vertebral_levels(
        volume, Segmentation(None, None, missing={"vertebrae": "no vertebra model"}), is_ct=True
    )
    assert seg.vertebrae is None and seg.meta["vertebra_levels"]["established"] is False
    assert seg.missing["vertebrae"].startswith("vertebral levels not established: ")
    result = measure_levels(volume, seg, MeasureOptions(), height_m=None, contrast="no")
    assert all(r == seg.missing["vertebrae"] for r in result.not_measured.values())
    assert not any("scanned range" in w for w in [*seg.notes, *result.warnings])


def test_given_vertebra_labels_and_single_slices_are_left_alone() -> None:
    one = Volume(
        np.zeros((1, 8, 8), np.int16), np.diag([5.0, 1.0, 1.0, 1.0]), SeriesFacts(modality=Modality.CT)
    )
    seg = Segmentation(None, None)
    assert with_vertebral_levels(one, seg, is_ct=True) is seg
