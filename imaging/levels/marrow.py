"""MR Dixon cues for counting vertebrae: fatty marrow against water-like discs, and the sacrum's marrow.

On CT, bone is HU; on MR the column comes from a network's bone mask, and two things that mask does
not reliably give are read from the set's fat-fraction map instead:

* **Discs.** Vertebral marrow holds fat (signal fat fraction typically 30-80 % in adults); a disc,
  an endplate and the cortex are water or signal void (near 0 %). The fat fraction in a small disk
  around the centreline therefore drops to near zero at every disc, however thick the slices, while
  a network may call a 5 mm slice through a disc "bone" (endplate partial volume, facets beside it)
  and bridge two bodies. A slice whose core reads below half the column's marrow level lies between
  bodies, as the cortical-ring test decides on CT (:func:`between_slices`).
* **The sacrum.** A lumbar network trained on T11-L5 need not label the sacrum as bone at all, yet
  the sacrum is what anchors a lumbar MR count. Its body and alae are marrow: below the traced column
  the marrow-like component at the column's axis is followed caudally (:func:`extend_caudally`) and
  joins the column blobs; whether it *is* the sacrum (wide, below a disc) is then decided by the same
  rule as on CT (:func:`imaging.levels.anchors.find_sacrum`). Only the axis is followed,
  so fatty muscle (paraspinal, psoas) beside or behind the spine is never taken for the column.

Marrow-like means a fat fraction between ``disc_drop`` x the column's median core value (the same
halfway point as the disc test) and ``marrow_ff_max_pct`` (adipose tissue reads ~90 %). A folded
in/opposed-phase map (0-50 %) keeps marrow above its disc level and puts fat near 0 %, so the same rule
holds there.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from imaging.levels.model import LevelOptions
from imaging.levels.spine import Column, disk
from imaging.levels.workgrid import WorkGrid


def marrow_level(core: np.ndarray, column: Column) -> float:
    """The column's marrow fat fraction: the median core value over the slices where a body is cut."""
    present = np.isfinite(column.x_mm)
    return float(np.median(core[present])) if present.any() else float("nan")


def between_slices(core: np.ndarray, column: Column, drop: float) -> np.ndarray:
    """Working slices whose core fat fraction is below ``drop`` x the marrow level: disc or endplate,
    never the marrow inside a body. Needs three column slices to judge (none are flagged otherwise)."""
    present = np.isfinite(column.x_mm)
    if present.sum() < 3:
        return np.zeros(len(core), dtype=bool)
    return core < drop * marrow_level(core, column)


def marrow_window(core: np.ndarray, column: Column, options: LevelOptions) -> tuple[float, float]:
    """(low, high) fat fraction of marrow-like voxels for this column (see the module docstring)."""
    return options.disc_drop * marrow_level(core, column), options.marrow_ff_max_pct


def extend_caudally(
    column: Column, marrow: np.ndarray, trunk: np.ndarray, grid: WorkGrid, options: LevelOptions
) -> Column:
    """``column`` with the marrow component at its axis added on the slices below its lowest body.

    From the lowest column slice down, each slice's marrow mask (opened like the bone, so thin
    partial-volume rims vanish) is searched for a body-sized component overlapping a disk of the
    column's median half-width around the current centre; the centre then follows that overlap (the
    sacrum tilts backwards). Slices without one (the lumbosacral disc) are skipped; the search stops
    after ``sacrum_search_gap_mm`` without marrow, or at the end of the field of view.
    """
    present = np.flatnonzero(np.isfinite(column.x_mm))
    if present.size == 0 or present[0] == 0:
        return column
    dz, dy, dx = grid.spacing
    k_low = int(present[0])
    radius = float(np.median(column.half_width_mm[present]))
    min_px = options.min_body_area_mm2 / (dy * dx)
    se = disk(grid, options.body_opening_mm)
    x = grid.x_mm(np.arange(grid.shape[2]))
    y = grid.y_mm(np.arange(grid.shape[1]))
    xc, yc = float(column.x_mm[k_low]), float(column.y_mm[k_low])
    blobs = column.blobs.copy()
    xs, ys, hw = column.x_mm.copy(), column.y_mm.copy(), column.half_width_mm.copy()
    gap = 0.0
    for k in range(k_low - 1, -1, -1):
        near = (x[None, :] - xc) ** 2 + (y[:, None] - yc) ** 2 <= radius**2
        lab, n = ndimage.label(ndimage.binary_opening(marrow[k] & trunk[k], structure=se))
        best = None
        if n:
            sizes = ndimage.sum_labels(np.ones_like(lab), lab, index=np.arange(1, n + 1))
            overlap = ndimage.sum_labels(near, lab, index=np.arange(1, n + 1))
            ok = (sizes >= min_px) & (overlap > 0)
            if ok.any():
                best = 1 + int(np.argmax(np.where(ok, overlap, -1)))
        if best is None:
            gap += dz
            if gap > options.sacrum_search_gap_mm:
                break
            continue
        gap = 0.0
        comp = lab == best
        rows, cols = np.nonzero(comp & near)
        xc, yc = float(x[cols].mean()), float(y[rows].mean())
        blobs[k] |= comp
        allc = np.nonzero(comp)[1]
        xs[k], ys[k] = xc, yc
        hw[k] = 0.5 * (allc.max() - allc.min() + 1) * dx
    return Column(xs, ys, hw, blobs)
