"""Trunk-only compartments stay in the trunk: a rule on predicted compartments, slice by slice.

Visceral fat and the trunk's named muscle groups (psoas, paraspinals, quadratus lumborum, abdominal
wall) exist only in the trunk. An arm lying beside it (arms-down scans are common in the elderly and
after trauma) is a separate piece of body in an axial slice: its fat is subcutaneous and its muscle is
limb muscle, whatever a network says. On real CT of a thin patient, bonemuscle-ct-tissue 1.1.0 called
the fat of both arms visceral; this rule makes that error impossible instead of hoping training
removes it.

The trunk is the largest piece of body in the slice, holes filled (bowel gas or lung labelled as
background inside it do not split it). Pieces that touch it are part of it, so an arm pressed against
the flank is left as the network labelled it: the rule only acts where the anatomy is certain.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from imaging.segmentation.labels import LabelMap

# Trunk-only compartment -> what the same tissue is in a limb.
LIMB_EQUIVALENT: dict[str, str] = {
    "visceral_fat": "subcutaneous_fat",
    "psoas": "other_muscle",
    "paraspinal": "other_muscle",
    "quadratus_lumborum": "other_muscle",
    "abdominal_wall": "other_muscle",
}


# 3-D structuring element joining neighbours within a slice only: pieces of body are per slice.
IN_PLANE = np.zeros((3, 3, 3), dtype=bool)
IN_PLANE[1] = ndimage.generate_binary_structure(2, 1)


def coarsen_2x2(mask: np.ndarray) -> np.ndarray:
    """(slices, rows, cols) mask -> (slices, ceil(rows/2), ceil(cols/2)): a block is set when any of
    its voxels is. The anatomical rules decide on coarse shapes, and a quarter of the voxels is most of
    their time saved."""
    _, rows, cols = mask.shape
    if rows % 2 or cols % 2:
        mask = np.pad(mask, ((0, 0), (0, rows % 2), (0, cols % 2)))
    return mask[:, 0::2, 0::2] | mask[:, 1::2, 0::2] | mask[:, 0::2, 1::2] | mask[:, 1::2, 1::2]


def trunk_mask(compartments: LabelMap) -> np.ndarray | None:
    """Per axial slice (axis 0), the body voxels of the largest piece of body, its holes filled; None
    for a map without ``background`` or not 3-D. Both anatomical rules read it, so it is made once.

    Pieces are found on a grid coarsened 2x2 in-plane (a block is body when any voxel is): four times
    less work, and an arm within a voxel or two of the flank counts as touching the trunk, which only
    makes the rules more cautious.
    """
    background = compartments.value_of("background")
    if background is None or compartments.array.ndim != 3:
        return None
    body = compartments.array != background
    _, rows, cols = body.shape
    pieces, _ = ndimage.label(coarsen_2x2(body), structure=IN_PLANE)
    sizes = np.bincount(pieces.ravel())
    sizes[0] = 0
    boxes = ndimage.find_objects(pieces)
    largest: dict[int, int] = {}  # slice -> its largest piece (a piece lies in one slice)
    for i, box in enumerate(boxes, start=1):
        if box is not None and sizes[i] > sizes[largest.get(box[0].start, 0)]:
            largest[box[0].start] = i
    trunk = np.zeros(pieces.shape, dtype=bool)
    for z, i in largest.items():
        box = boxes[i - 1][1:]
        trunk[z][box] = ndimage.binary_fill_holes(pieces[z][box] == i)
    full = np.empty((trunk.shape[0], 2 * trunk.shape[1], 2 * trunk.shape[2]), dtype=bool)
    for dy in (0, 1):
        for dx in (0, 1):
            full[:, dy::2, dx::2] = trunk
    return full[:, :rows, :cols] & body


def trunk_only_in_trunk(compartments: LabelMap, trunk: np.ndarray | None) -> tuple[LabelMap, int]:
    """Compartments with trunk-only classes outside ``trunk`` (:func:`trunk_mask`) replaced by their
    limb equivalent.

    Returns the map (``compartments`` itself when nothing changed) and the number of voxels changed,
    which results.json reports so a user sees how much the rule did.
    """
    if trunk is None:
        return compartments, 0
    lut = np.arange(max(compartments.names) + 1, dtype=compartments.array.dtype)
    for a, b in LIMB_EQUIVALENT.items():
        src, dst = compartments.value_of(a), compartments.value_of(b)
        if src is not None and dst is not None:
            lut[src] = dst
    outside = ~trunk & (lut[compartments.array] != compartments.array)
    changed = int(np.count_nonzero(outside))
    if not changed:
        return compartments, 0
    out = compartments.array.copy()
    out[outside] = lut[out[outside]]
    return LabelMap(out, compartments.names), changed
