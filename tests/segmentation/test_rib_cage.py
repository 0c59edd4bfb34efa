"""Visceral fat never lies outside the rib cage behind and beside the spine; elsewhere the rule is silent."""

from __future__ import annotations

import numpy as np

from imaging.segmentation.body_parts import trunk_mask
from imaging.segmentation.labels import LabelMap
from imaging.segmentation.rib_cage import no_visceral_fat_outside_rib_cage
from segmentation_models.networks import COMPARTMENT_CLASSES

V = {name: value for value, name in COMPARTMENT_CLASSES.items()}
SHAPE = (240, 240)
C = np.array([120.0, 120.0])  # (row, col) centre of the trunk; rows grow towards the back here


def _polar():
    yy, xx = np.mgrid[: SHAPE[0], : SHAPE[1]]
    r = np.hypot(yy - C[0], xx - C[1])
    back = np.degrees(np.abs(np.arctan2(xx - C[1], yy - C[0])))  # 0 = towards the spine, 180 = front
    return r, back


def _with_trunk(plane: np.ndarray) -> tuple[LabelMap, np.ndarray | None]:
    comp = LabelMap(plane[None], dict(COMPARTMENT_CLASSES))
    return comp, trunk_mask(comp)


def _chest(rib_angles_deg) -> np.ndarray:
    """Skin-side SAT ring, VAT filling the rest (the network's error outside the ribs included), a
    vertebra behind the centre and rib sections at radius 70 at the given angles from the spine."""
    r, _ = _polar()
    plane = np.zeros(SHAPE, dtype=np.uint8)
    plane[r < 100] = V["subcutaneous_fat"]
    plane[r < 88] = V["visceral_fat"]
    yy, xx = np.mgrid[: SHAPE[0], : SHAPE[1]]
    plane[(np.abs(yy - 175) < 12) & (np.abs(xx - 120) < 12)] = V["bone"]  # vertebra, the largest piece
    for side in (-1, 1):
        for a in rib_angles_deg:
            t = np.radians(a)
            cy, cx = C[0] + 70 * np.cos(t), C[1] + side * 70 * np.sin(t)
            plane[(yy - cy) ** 2 + (xx - cx) ** 2 < 16] = V["bone"]
    return plane


def test_fat_outside_the_ribs_behind_and_beside_the_spine_is_not_visceral():
    plane = _chest([20, 45, 70, 95, 120])  # ribs from the back round to the flanks, none in front
    out, moved = no_visceral_fat_outside_rib_cage(*_with_trunk(plane))
    got = out.array[0]
    r, back = _polar()
    beyond_ribs = (r > 76) & (r < 88) & (back < 100)
    assert not (got[beyond_ribs] == V["visceral_fat"]).any()
    assert (got[beyond_ribs] == V["subcutaneous_fat"]).all()
    assert (got[(r < 60)] == plane[(r < 60)]).all()  # the cavity is untouched
    front = (r > 76) & (r < 88) & (back > 150)  # no rib in front: the abdominal wall bounds the cavity
    assert (got[front] == V["visceral_fat"]).all()
    assert moved == int(np.count_nonzero(got != plane))


def test_no_cage_no_change():
    for ribs in ([], [20, 45], [20, 45, 140, 165]):  # lumbar level; too few pieces; a 95 degree gap
        plane = _chest(ribs)
        if ribs == [20, 45, 140, 165]:
            r, back = _polar()
            plane[(r > 76) & (r < 88) & (back > 60) & (back < 130)] = V["visceral_fat"]
        comp = LabelMap(plane[None], dict(COMPARTMENT_CLASSES))
        out, moved = no_visceral_fat_outside_rib_cage(comp, trunk_mask(comp))
        if ribs == [20, 45, 140, 165]:
            gap = (r > 76) & (r < 88) & (back > 60) & (back < 130)
            assert (out.array[0][gap] == V["visceral_fat"]).all(), "no rib there: nothing is certain"
        else:
            assert moved == 0 and out is comp
