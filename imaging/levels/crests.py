"""The iliac crests' height: an independent check of a count, the way a radiologist uses Tuffier's line.

The line joining the tops of the iliac crests (the intercristal line) crosses the spine at L4 or the
L4/L5 disc in most adults, and between the L3/L4 disc and L5 in nearly all. It cannot name a level
by itself -- its spread is about a vertebra -- but it catches a count that is off by more: crests
beside a vertebra named L2, or below the one named L5.

On CT, an ilium is bone well lateral to the column (beyond every transverse process) that runs on,
connected, down to the bottom of the scan; ribs and their tips, however low, never do -- they
connect upward. The crest is the top of that piece, per side; the intercristal height is the mean of
the sides found.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from imaging.levels.spine import Column
from imaging.levels.workgrid import WorkGrid

LATERAL_MM = 60.0  # beyond the tips of the longest lumbar transverse processes (~50 mm from the axis)
MIN_WING_AP_MM = 30.0  # an iliac wing's plate runs at least this far front to back in one slice
BOTTOM_MM = 6.0  # "reaches the bottom": within this of the scan's lowest working slice


def crest_z_mm(bone: np.ndarray, column: Column, grid: WorkGrid, valid: np.ndarray) -> float | None:
    """z (mm) of the intercristal line, or None when no ilium is in view (scan ends above the pelvis)."""
    xc, _, _ = column.interpolated()
    x = grid.x_mm(np.arange(grid.shape[2]))
    lateral = np.abs(x[None, :] - xc[:, None]) >= LATERAL_MM  # (z, x)
    lab, n = ndimage.label(bone & lateral[:, None, :])
    if n == 0:
        return None
    covered = np.flatnonzero(valid.any(axis=(1, 2)))
    if covered.size == 0:
        return None
    bottom = int(covered[0]) + max(1, round(BOTTOM_MM / float(grid.spacing[0])))
    dy = float(grid.spacing[1])
    tops: dict[str, float] = {}
    for piece, box in enumerate(ndimage.find_objects(lab), start=1):
        if box is None or box[0].start > bottom:
            continue  # does not reach the bottom of the scan: a rib, a calcification, a catheter
        mine = lab[box] == piece
        rows = mine.any(axis=2)  # (z, y)
        if rows.sum(axis=1).max(initial=0) * dy < MIN_WING_AP_MM:
            continue  # a thin strut (femoral line, table edge) rather than a wing
        side = "left" if float(x[box[2]].mean()) > float(np.median(xc)) else "right"
        top = float(grid.z_mm(box[0].stop - 1))
        tops[side] = max(tops.get(side, -np.inf), top)
    if not tops:
        return None
    return float(np.mean(list(tops.values())))
