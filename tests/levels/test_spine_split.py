"""Column tracing, disc detection and the work grid on small synthetic volumes (fast, no phantom).

The synthetic spine (:mod:`._synthetic_spine`, normal 150 HU or osteoporotic 70 HU marrow, bright
aorta in front) has enough anatomy for the column rules and, here, none for the anchors.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from imaging.levels import REFUSAL, identify_levels
from imaging.levels.spine import Column, bridge_gaps, disc_slices
from imaging.levels.workgrid import (
    WorkGrid,
    coverage_on_work,
    labels_to_input,
    resample_to_work,
    work_grid_for,
)
from imaging.series_facts import Modality, SeriesFacts
from imaging.volume import Volume

from ._synthetic_spine import synthetic_spine


def _majority_owner(result_instances: np.ndarray, owner: np.ndarray, instance: int) -> int:
    vals, counts = np.unique(owner[(result_instances == instance) & (owner > 0)], return_counts=True)
    return int(vals[np.argmax(counts)])


@pytest.mark.parametrize(("marrow", "flip"), [(150.0, False), (70.0, True)])
def test_bodies_split_at_discs_and_no_anchor_means_refusal(flip: bool, marrow: float) -> None:
    volume, owner = synthetic_spine(4, marrow, flip=flip)
    result = identify_levels(volume)
    report = result.report
    assert not report.established and report.reason == REFUSAL
    assert not result.labels.array.any()  # nothing named
    assert len(report.vertebrae) == 4
    for f in report.vertebrae:  # cranial first, each instance on its own body
        assert _majority_owner(result.instances, owner, f.index + 1) == f.index + 1
        assert f.name is None
    z_tops = [f.z_range_mm[1] for f in report.vertebrae]
    assert z_tops == sorted(z_tops, reverse=True)


def test_bone_mask_path_gives_the_same_bodies() -> None:
    """MR route: no HU, a network's bone mask instead (here: the truth bodies)."""
    volume, owner = synthetic_spine(3)
    signal = volume.with_array(
        np.where(volume.array > -500, 300, 0).astype(np.int16), SeriesFacts(modality=Modality.MR)
    )
    result = identify_levels(signal, bone_mask=owner > 0)
    assert len(result.report.vertebrae) == 3
    for f in result.report.vertebrae:
        assert _majority_owner(result.instances, owner, f.index + 1) == f.index + 1


def test_bone_mask_shape_is_checked() -> None:
    volume, owner = synthetic_spine(2)
    with pytest.raises(ValueError, match="bone_mask shape"):
        identify_levels(volume, bone_mask=owner[:-1] > 0)


def test_no_spine_in_view_is_reported_not_raised() -> None:
    volume = Volume(np.full((10, 64, 64), 40, dtype=np.int16), np.diag([2.0, 1.0, 1.0, 1.0]))
    result = identify_levels(volume)
    assert not result.report.established
    assert "no vertebral body" in result.report.reason
    assert result.report.vertebrae == ()


def _column(n: int) -> Column:
    return Column(np.zeros(n), np.zeros(n), np.full(n, 20.0), np.ones((n, 4, 4), dtype=bool))


def test_disc_is_a_deep_dip_with_bone_on_both_sides() -> None:
    grid = WorkGrid((12, 4, 4), np.array([[0, 0, 2.0, 0], [0, 2.0, 0, 0], [2.0, 0, 0, 0], [0, 0, 0, 1]]))
    marrow, plate, disc, vein, soft = 150.0, 400.0, 80.0, 120.0, 40.0
    profile = np.array([marrow, marrow, plate, disc, plate, marrow, vein, marrow, marrow, marrow, soft, soft])
    found = disc_slices(profile, _column(12), grid, soft_value=40.0, drop=0.5)
    # 3: a disc. 6: the vein's dip is too shallow. 10: the column's end, no bone beyond it.
    assert np.flatnonzero(found).tolist() == [3]


def test_one_slice_gap_is_bridged_only_between_marrow() -> None:
    col = _column(9)
    x = col.x_mm.copy()
    x[[2, 6]] = np.nan  # gaps
    col = Column(x, col.y_mm, col.half_width_mm, col.blobs.copy())
    col.blobs[[2, 6]] = False
    profile = np.array([150, 400, 90, 400, 150, 150, 140, 150, 150], dtype=float)  # 2: disc, 6: not
    out = bridge_gaps(col.blobs, profile, col, soft_value=40.0)
    assert not out[2].any()  # a disc between endplates stays a gap
    assert out[6].all()  # a marrow-level hole is bridged


def test_work_grid_round_trip_on_an_oblique_flipped_grid() -> None:
    a = np.radians(20)
    rot = np.array([[1, 0, 0], [0, np.cos(a), -np.sin(a)], [0, np.sin(a), np.cos(a)]])
    affine = np.eye(4)
    affine[:3, :3] = rot @ np.array([[0, 0, -1.5], [0, -1.5, 0], [3.0, 0, 0]])  # columns: k, j, i
    labels = np.zeros((20, 50, 50), dtype=np.uint8)
    labels[5:15, 10:40, 20:30] = 7
    volume = Volume(labels.astype(np.float32), affine)
    grid = work_grid_for(volume, inplane_mm=1.0)
    assert grid.spacing[0] == pytest.approx(3.0 * np.cos(a), rel=1e-6)  # input's z step (2-3 mm kept)
    coverage = coverage_on_work(volume, grid)  # analytic; must agree with resampling ones
    (sampled,) = resample_to_work(volume.with_array(np.ones(labels.shape)), grid, (0.5,), order=0)
    assert sampled.any() and not coverage.all()  # the tilted box does not fill its bounding box
    assert not (ndimage.binary_erosion(coverage) & ~sampled).any()
    assert not (ndimage.binary_erosion(sampled) & ~coverage).any()
    (on_work,) = resample_to_work(volume, grid, (3.5,), order=0)
    on_work = on_work.astype(np.uint8) * 7
    back = labels_to_input(on_work, grid, volume)
    inner = np.zeros_like(labels, dtype=bool)
    inner[6:14, 12:38, 21:29] = True  # away from the block's faces, nearest-neighbour is exact
    assert (back[inner] == 7).all()
    assert (back[labels == 0] == 0).mean() > 0.97
