"""No visceral fat outside the rib cage: a rule on predicted compartments, slice by slice.

Visceral fat lies inside the body cavity. Where an axial slice shows ribs round the back and flanks
(the lower chest, about T8-T12), fat between the ribs and the skin is subcutaneous or between muscles,
never visceral. On real CT of a thin patient, bonemuscle-ct-tissue called the posterior chest wall's
fat and thin muscle visceral fat; this rule makes that impossible.

The cage is the convex hull of the bone compartment inside the trunk (rib sections and the spine), so
bone inside the ring (a vertebral body, a rib head) cannot pull it inwards. The rule acts only behind
and beside the spine's side of the trunk (in front, between the costal margins, the cavity reaches the
abdominal wall, not the ribs), and only beyond hull sides spanning at most :data:`MAX_GAP_DEG` seen
from the trunk's centre: the flank below the floating ribs leaves a wider side, and there the slice is
left as predicted; so is a slice whose hull does not hold the centre.

Fat outside the cage becomes subcutaneous: giving it to the nearest muscle group instead would count it
as that muscle's intramuscular fat (on ct_upper_abdomen_b the paraspinal compartment then swallowed
the fat behind it: Dice against TotalSegmentator's autochthon 0.92 -> 0.87), and fat infiltration of
named muscles is a figure researchers read.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage
from scipy.spatial import ConvexHull, QhullError

from imaging.segmentation.body_parts import IN_PLANE, coarsen_2x2
from imaging.segmentation.labels import LabelMap

MAX_GAP_DEG = 75.0  # widest angle, seen from the trunk's centre, one side of the cage may span
# Only within this angle of the spine, seen from the trunk's centre: in front, between the costal
# margins (the infrasternal angle), the cavity reaches the abdominal wall, not the ribs.
MAX_FROM_SPINE_DEG = 110.0
MIN_PIECES = 6  # rib sections and spine pieces needed before a cage is believed
MIN_PIECE_BLOCKS = 2  # 2x2 blocks; smaller bone specks (calcifications, noise) are not rib sections


def outside_cage(hull: np.ndarray, centre: np.ndarray, spine: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Which ``points`` (N, 2) lie outside the convex polygon ``hull`` (M, 2, any order) on a side whose
    angular span seen from ``centre`` is at most :data:`MAX_GAP_DEG`, within :data:`MAX_FROM_SPINE_DEG`
    of the direction to ``spine``. A wider side is a gap in the cage (no rib there) and the front is
    open to the abdominal wall: points there are never called outside. ``centre`` must be inside."""
    ang_v = np.arctan2(*(hull - centre).T[::-1])
    order = np.argsort(ang_v)
    v, a = hull[order], ang_v[order]
    span = np.diff(np.append(a, a[0] + 2 * np.pi))
    ang_p = np.arctan2(*(points - centre).T[::-1])
    i = (np.searchsorted(a, ang_p, side="right") - 1) % len(v)  # side from vertex i to i+1
    p0, p1 = v[i], v[(i + 1) % len(v)]
    cross = _side(p0, p1, points)
    inner_sign = np.sign(_side(p0, p1, np.broadcast_to(centre, points.shape)))
    back = np.arctan2(*(spine - centre)[::-1])
    from_spine = np.abs((ang_p - back + np.pi) % (2 * np.pi) - np.pi)
    beside = np.degrees(from_spine) <= MAX_FROM_SPINE_DEG
    return (np.sign(cross) == -inner_sign) & (np.degrees(span[i]) <= MAX_GAP_DEG) & beside


def no_visceral_fat_outside_rib_cage(
    compartments: LabelMap, trunk: np.ndarray | None
) -> tuple[LabelMap, int]:
    """Compartments with visceral fat outside the rib cage made subcutaneous. ``trunk`` is
    :func:`imaging.segmentation.body_parts.trunk_mask` of the same map. Slices along axis 0; returns the
    map (itself when unchanged) and the voxel count."""
    values = {n: compartments.value_of(n) for n in ("bone", "visceral_fat", "subcutaneous_fat")}
    if None in values.values() or trunk is None:
        return compartments, 0
    arr = compartments.array
    # Bone pieces on a grid coarsened 2x2 in-plane (a block is bone when any voxel is): the cage is a
    # coarse shape, and labelling a quarter of the voxels is most of this rule's time.
    bones, _ = ndimage.label(coarsen_2x2((arr == values["bone"]) & trunk), structure=IN_PLANE)
    sizes = np.bincount(bones.ravel())
    starts = np.array([-1 if b is None else b[0].start for b in ndimage.find_objects(bones)], dtype=np.int64)
    big = np.flatnonzero(sizes[1:] >= MIN_PIECE_BLOCKS) + 1
    per_slice = np.bincount(starts[big - 1], minlength=arr.shape[0])
    out = None
    changed = 0
    for k in np.flatnonzero(per_slice >= MIN_PIECES):
        kept = big[starts[big - 1] == k]
        moved = _outside_cage_vat(arr[k], trunk[k], bones[k], kept, sizes, values)
        if moved is not None:
            out = arr.copy() if out is None else out
            out[k][moved] = values["subcutaneous_fat"]
            changed += int(moved.sum())
    return (LabelMap(out, compartments.names), changed) if out is not None else (compartments, 0)


def _outside_cage_vat(
    plane: np.ndarray,
    trunk: np.ndarray,
    bones: np.ndarray,
    kept: np.ndarray,
    sizes: np.ndarray,
    values: dict[str, int | None],
) -> np.ndarray | None:
    """Mask of this slice's visceral fat outside the cage, or None where there is none (or no cage)."""
    vat = plane == values["visceral_fat"]
    if not vat.any():
        return None
    pts = 2.0 * np.argwhere(np.isin(bones, kept))[:, ::-1] + 0.5  # (x, y) block centres, full grid
    try:
        hull = pts[ConvexHull(pts).vertices]
    except QhullError:  # collinear or degenerate bone: no cage
        return None
    centre = np.array(ndimage.center_of_mass(trunk))[::-1]
    if not _contains(hull, centre):
        return None
    spine = 2.0 * np.array(ndimage.center_of_mass(bones == kept[np.argmax(sizes[kept])]))[::-1] + 0.5
    vy, vx = np.nonzero(vat)
    out = outside_cage(hull, centre, spine, np.stack([vx, vy], axis=1).astype(np.float64))
    if not out.any():
        return None
    mask = np.zeros(plane.shape, dtype=bool)
    mask[vy[out], vx[out]] = True
    return mask


def _side(p0: np.ndarray, p1: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Cross product of the side p0->p1 with p0->q, per row: its sign says which side q is on."""
    return (p1[:, 0] - p0[:, 0]) * (q[:, 1] - p0[:, 1]) - (p1[:, 1] - p0[:, 1]) * (q[:, 0] - p0[:, 0])


def _contains(hull: np.ndarray, point: np.ndarray) -> bool:
    """Point inside the convex polygon (vertices in hull order, either orientation)."""
    edges = np.roll(hull, -1, axis=0) - hull
    rel = point - hull
    cross = edges[:, 0] * rel[:, 1] - edges[:, 1] * rel[:, 0]
    return bool((cross >= 0).all() or (cross <= 0).all())
