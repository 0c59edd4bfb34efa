"""Trunk-only compartments (visceral fat, the trunk's muscle groups) never stay in a separate limb."""

from __future__ import annotations

import numpy as np

from imaging.segmentation.body_parts import trunk_mask, trunk_only_in_trunk
from imaging.segmentation.labels import LabelMap
from segmentation_models.networks import COMPARTMENT_CLASSES

V = {name: value for value, name in COMPARTMENT_CLASSES.items()}


def _disk(shape, cy, cx, r):
    yy, xx = np.mgrid[: shape[0], : shape[1]]
    return (yy - cy) ** 2 + (xx - cx) ** 2 < r * r


def _slice_with_arm(touching: bool) -> np.ndarray:
    """A trunk with visceral fat around a gas hole, and an arm a network called fat and paraspinal."""
    plane = np.zeros((80, 120), dtype=np.uint8)
    plane[_disk(plane.shape, 40, 50, 30)] = V["subcutaneous_fat"]
    plane[_disk(plane.shape, 40, 50, 22)] = V["visceral_fat"]
    plane[_disk(plane.shape, 40, 50, 5)] = V["background"]  # bowel gas the network left as background
    plane[_disk(plane.shape, 55, 50, 6)] = V["paraspinal"]
    arm_x = 87 if touching else 95
    plane[_disk(plane.shape, 40, arm_x, 9)] = V["visceral_fat"]
    plane[_disk(plane.shape, 40, arm_x, 4)] = V["paraspinal"]
    return plane


def test_a_separate_arm_holds_subcutaneous_fat_and_limb_muscle_only():
    plane = _slice_with_arm(touching=False)
    comp = LabelMap(np.stack([plane, plane]), dict(COMPARTMENT_CLASSES))
    out, moved = trunk_only_in_trunk(comp, trunk_mask(comp))
    arm = np.zeros(plane.shape, dtype=bool)
    arm[:, 80:] = True
    for k in range(2):
        got = out.array[k]
        assert not np.isin(got[arm], [V["visceral_fat"], V["paraspinal"]]).any()
        assert (got[arm & (plane == V["visceral_fat"])] == V["subcutaneous_fat"]).all()
        assert (got[arm & (plane == V["paraspinal"])] == V["other_muscle"]).all()
        # The trunk, its gas hole included, is untouched.
        np.testing.assert_array_equal(got[~arm], plane[~arm])
    assert moved == 2 * int(np.count_nonzero(arm & np.isin(plane, [V["visceral_fat"], V["paraspinal"]])))


def test_an_arm_touching_the_trunk_and_a_single_body_are_left_as_predicted():
    for plane in (_slice_with_arm(touching=True), np.where(np.arange(120) < 80, _slice_with_arm(False), 0)):
        comp = LabelMap(plane[None].astype(np.uint8), dict(COMPARTMENT_CLASSES))
        out, moved = trunk_only_in_trunk(comp, trunk_mask(comp))
        assert moved == 0 and out is comp
