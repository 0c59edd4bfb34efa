"""Level identification on the sample MR Dixon sets with the shipped MR network, against the truth.

The Dixon acquisitions cover T12 to the sacrum, as a lumbar spine MR is planned. Levels are counted
as ``analyze`` counts them: the network's bone mask plus the set's fat-fraction map
(:func:`imaging.levels.assign.with_vertebral_levels`). The network bridges some discs
at 5 mm and does not label the sacrum (it was trained on T11-L5), so these sets check the
fat-fraction cues of :mod:`imaging.levels.marrow` on a real network's output. The same
sets cut to L1-L4, a field of view holding neither anchor, must be refused.

Mid-vertebral slices may differ from the truth by one: the truth takes a slice as body when the
body holds its centre, and a 5 mm slice half in the endplate reads half marrow in the fat fraction.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from imaging.levels import REFUSAL, Anchor, identify_levels
from imaging.levels.assign import with_vertebral_levels
from imaging.levels.slices import find_level_slices
from imaging.pipeline.run import plan_units
from imaging.pipeline.series_job import decode_unit, segment_decoded
from imaging.segmentation.labels import VERTEBRA_NAMES
from imaging.volume import Volume, from_nifti

pytestmark = pytest.mark.slow

SAMPLES = Path(__file__).resolve().parents[2] / "sample_dicoms"
STUDIES = ("BM002/MR_20260512", "BM003/MR_20260709")


@pytest.fixture(scope="module", params=STUDIES, ids=lambda s: s.split("/")[0])
def segmented(request: pytest.FixtureRequest):
    from imaging.segmentation.source import SegmentationSource
    from segmentation_models.loading import resolve_model
    from segmentation_models.registry import DEFAULT_MODEL_NAMES

    study = SAMPLES / request.param
    patient = request.param.split("/")[0]
    truth_dirs = sorted((SAMPLES / "truth" / patient).glob(f"{study.name}_*"))
    if not study.is_dir() or not truth_dirs:
        pytest.skip(f"{study} or its truth is absent (generate with scripts/make_sample_dicoms.py)")
    (choice,), _, _ = plan_units(study)
    decoded = decode_unit(choice)
    source = SegmentationSource(models=(resolve_model(DEFAULT_MODEL_NAMES["MR"]),))
    seg = segment_decoded(decoded, source)
    truth = json.loads((truth_dirs[0] / "truth.json").read_text())
    truth_vertebrae = from_nifti(truth_dirs[0] / "vertebrae.nii.gz")
    assert np.allclose(truth_vertebrae.affine, decoded.volume.affine, atol=1e-3)  # same grid, same order
    return decoded, seg, truth, truth_vertebrae.array


def test_levels_are_named_from_sacrum_and_ribs(segmented) -> None:
    decoded, seg, truth, truth_vertebrae = segmented
    volume = decoded.volume
    labelled = with_vertebral_levels(volume, seg, is_ct=False, fat_fraction_pct=decoded.dff.map.percent)
    report = labelled.meta["vertebra_levels"]
    assert report["established"] and report["anchor"] == str(Anchor.BOTH), report["reason"]
    assert report["lumbar_count"] == 5
    names = [v["name"] for v in report["vertebrae"]]
    assert names == ["T12", "L1", "L2", "L3", "L4", "L5", "S1"]
    assert report["vertebrae"][-1]["is_sacrum"]
    assert not any("no vertebra model given" in w for w in labelled.warnings)
    # Every label sits on the truth vertebra of its name ...
    for name in names:
        values, counts = np.unique(truth_vertebrae[labelled.vertebrae.mask(name)], return_counts=True)
        majority = {VERTEBRA_NAMES.get(int(v)): c for v, c in zip(values, counts, strict=True) if v}
        assert max(majority, key=majority.get) == name, (name, majority)
    # ... and every truth level is found, on the truth's mid-vertebral slice or the next one.
    found, _ = find_level_slices(labelled.vertebrae, volume, levels=tuple(truth["levels"]))
    assert set(found) == set(truth["levels"])
    for level, expected in truth["levels"].items():
        assert abs(found[level].slice_index - expected["slice_index"]) <= 1, (level, found[level])


def test_a_field_of_view_without_sacrum_or_ribs_is_refused(segmented) -> None:
    decoded, seg, truth, _ = segmented
    # From the L4 body's first slice to the L1 body's last: L1-L4 only, no T12 ribs, no sacrum.
    k0, k1 = truth["levels"]["L4"]["body_slices"][0], truth["levels"]["L1"]["body_slices"][1]
    result = identify_levels(
        _cut(decoded.volume, k0, k1),
        bone_mask=seg.tissue.mask("bone")[k0 : k1 + 1],
        fat_fraction_pct=decoded.dff.map.percent[k0 : k1 + 1],
    )
    report = result.report
    assert not report.established and report.reason == REFUSAL
    assert not result.labels.array.any()
    assert len(report.vertebrae) >= 3  # the column was found and split; only its level is unknown
    assert not any(v.is_sacrum or v.ribs for v in report.vertebrae)


def _cut(volume: Volume, k0: int, k1: int) -> Volume:
    """Slices ``k0..k1`` of ``volume`` with the affine moved to slice ``k0``."""
    affine = volume.affine.copy()
    affine[:3, 3] = volume.affine[:3, :3] @ np.array([k0, 0.0, 0.0]) + volume.affine[:3, 3]
    return replace(volume, array=volume.array[k0 : k1 + 1], affine=affine)
