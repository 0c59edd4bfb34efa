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


def trunk_only_in_trunk(compartments: LabelMap) -> tuple[LabelMap, int]:
    """Compartments with trunk-only classes outside the trunk replaced by their limb equivalent.

    Slices are along axis 0. Returns the map (``compartments`` itself when nothing changed) and the
    number of voxels changed, which results.json reports so a user sees how much the rule did.
    """
    background = compartments.value_of("background")
    swaps = [
        (src, dst)
        for src, dst in (
            (compartments.value_of(a), compartments.value_of(b)) for a, b in LIMB_EQUIVALENT.items()
        )
        if src is not None and dst is not None
    ]
    if background is None or not swaps or compartments.array.ndim != 3:
        return compartments, 0
    out = compartments.array.copy()
    changed = 0
    for k in range(out.shape[0]):
        plane = out[k]
        pieces, n = ndimage.label(plane != background)
        if n < 2:
            continue
        largest = 1 + int(np.argmax(np.bincount(pieces.ravel())[1:]))
        limb = (pieces > 0) & ~ndimage.binary_fill_holes(pieces == largest)
        for src, dst in swaps:
            move = limb & (plane == src)
            changed += int(np.count_nonzero(move))
            plane[move] = dst
    return (LabelMap(out, compartments.names), changed) if changed else (compartments, 0)
