"""Anatomy that anchors the vertebral count: ribs articulating with a vertebra, and the sacrum.

Ribs: thin bone (nothing survives an in-plane erosion of ``rib_max_half_thickness_mm``, unlike the
ilium) outside the column tube (beyond the body's half-width plus a margin) that starts right next
to the tube (the costovertebral joint) and runs laterally beyond any transverse process
(``rib_min_lateral_mm`` from the column axis). Its head's z gives the vertebra it articulates with:
the body whose z-range holds it, or the body *below* a disc (rib n meets the upper border of vertebra
n). The head must meet the column beside the back half of the body or behind it (costovertebral
and costotransverse joints), and on CT the rib must be cortical bone (90th percentile at least
``rib_cortex_hu``): contrast in a kidney's cortex or a renal vessel passes the bone threshold and a
rib's shape, touches the column in front, and reads 200-320 HU. Rib fragments not touching the
column (the lower ribs' shafts crossing a slab whose heads lie above it, a floating rib tip below
its vertebra) anchor nothing. A vertebra can be declared rib-free only if its whole body is in the
field of view and the flanks are covered far enough laterally.

Sacrum: the most caudal column component, separated from the vertebra above by a disc, and much wider
than a vertebral body (the alae): width >= ``sacrum_min_width_mm`` and >= ``sacrum_width_ratio`` x
the median body width. A lumbosacral transitional vertebra with wide (fused) transverse processes is
flagged by the same width test when it is not the most caudal component.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from imaging.levels.model import LevelOptions
from imaging.levels.spine import Body, Column, disk, fov_edge
from imaging.levels.workgrid import WorkGrid

_HEAD_BAND_MM = 4.0  # rib voxels within this of the tube wall form the rib head
_EDGE_OF_ABOVE = 0.2  # a head in a disc gap this close (fraction of the gap) to the body above is its


@dataclass(frozen=True)
class Rib:
    side: str  # "left" | "right" (patient)
    head_z_mm: float
    lateral_reach_mm: float
    body_index: int | None  # index into the cranial-first body list; None: its vertebra is not in view


@dataclass(frozen=True)
class RibFindings:
    """Ribs found, their voxels (kept out of the vertebra labels), and the bodies where a rib-like
    structure leaves the field of view before it could be told from a transverse process."""

    ribs: list[Rib]
    mask: np.ndarray
    unresolved: frozenset[int]


def is_wide(body: Body, reference_widths: list[float], options: LevelOptions) -> bool:
    ref = float(np.median(reference_widths)) if reference_widths else 0.0
    return body.width_mm >= max(options.sacrum_min_width_mm, options.sacrum_width_ratio * ref)


def find_sacrum(bodies: list[Body], valid: np.ndarray, options: LevelOptions) -> int | None:
    """Index of the sacrum in the cranial-first ``bodies``, or None when it is not established."""
    if not bodies:
        return None
    last = bodies[-1]
    others = [b.width_mm for b in bodies[:-1] if not b.cut_by_fov]
    if not is_wide(last, others, options):
        return None
    # The disc above it must be inside the field of view, else "wide" could be an iliac-level slab.
    top = last.k1 + 1
    if top >= valid.shape[0] or not valid[top][last.mask[last.k1]].all():
        return None
    return len(bodies) - 1


def body_z_ranges(bodies: list[Body], grid: WorkGrid) -> list[tuple[float, float]]:
    """(inferior, superior) z mm of each body, half a working slice beyond the outermost centres."""
    half = 0.5 * float(grid.spacing[0])
    return [(float(grid.z_mm(b.k0)) - half, float(grid.z_mm(b.k1)) + half) for b in bodies]


def find_ribs(
    bone: np.ndarray,
    column: Column,
    bodies: list[Body],
    sacrum: int | None,
    valid: np.ndarray,
    grid: WorkGrid,
    options: LevelOptions,
    hu: tuple[np.ndarray, np.ndarray] | None = None,
) -> RibFindings:
    """Ribs whose head touches the column, each assigned to a body (see the module docstring).

    ``hu`` (CT values and their affine) adds the cortex test: a rib is cortical bone, while contrast in
    a kidney's cortex or a renal vessel passes the bone threshold and a rib's shape but not this.
    """
    xc, yc, hw = column.interpolated()
    rib_mask = np.zeros_like(bone)
    x = grid.x_mm(np.arange(bone.shape[2]))
    lateral = x[None, :] - xc[:, None]  # (z, x) signed mm from the column axis, +: patient left
    tube_wall = hw[:, None] + options.rib_tube_margin_mm
    outside = np.abs(lateral) >= tube_wall  # (z, x)
    rem = bone & outside[:, None, :]
    lab, _ = ndimage.label(rem, structure=np.ones((3, 3, 3), dtype=bool))
    ranges = body_z_ranges(bodies, grid)
    sacrum_top = ranges[sacrum][1] if sacrum is not None else -np.inf
    ribs: list[Rib] = []
    unresolved: set[int] = set()
    edge = fov_edge(valid)
    for v, sl in enumerate(ndimage.find_objects(lab), start=1):
        if sl is None:
            continue
        ks, _, is_ = np.nonzero(lab[sl] == v)
        ks = ks + sl[0].start
        is_ = is_ + sl[2].start
        dist = np.abs(lateral[ks, is_])
        head = dist <= tube_wall[ks, 0] + _HEAD_BAND_MM
        if not head.any():
            continue  # not articulating with anything in view
        js = np.nonzero(lab[sl] == v)[1] + sl[1].start
        head_depth = float(np.mean(grid.y_mm(js[head]) - yc[ks[head]]))
        if head_depth < -options.rib_head_front_fraction * float(np.median(hw[ks[head]])):
            continue  # touches the column in front of the pedicles: vessel, kidney, ilium, not a joint
        head_z = float(grid.z_mm(ks[head].mean()))
        if head_z <= sacrum_top:
            continue  # iliac bone meeting the sacral alae, not a rib
        owner = _owner(head_z, ranges)
        if _thick_fraction(lab[sl] == v, grid, options.rib_max_half_thickness_mm) > 0.05:
            continue  # a plate or block of bone (ilium, scapula, osteophyte mass), not a rib
        if dist.max() < options.rib_min_lateral_mm:
            # A transverse process -- unless it leaves the field of view, when it may be a rib.
            if owner is not None and (edge[sl] & (lab[sl] == v)).any():
                unresolved.add(owner)
            continue
        if hu is not None and _cortex_hu(ks, js, is_, grid, hu) < options.rib_cortex_hu:
            continue  # enhanced soft tissue, not cortical bone
        rib_mask[sl] |= lab[sl] == v
        for side in _sides(lateral[ks[head], is_[head]]):
            ribs.append(Rib(side, head_z, float(dist.max()), owner))
    return RibFindings(ribs, rib_mask, frozenset(unresolved))


def _cortex_hu(
    ks: np.ndarray, js: np.ndarray, is_: np.ndarray, grid: WorkGrid, hu: tuple[np.ndarray, np.ndarray]
) -> float:
    """90th percentile of the CT values over a component's working voxels (its cortex's level)."""
    values, affine = hu
    world = grid.affine[:3, :3] @ np.stack([ks, js, is_]).astype(float) + grid.affine[:3, 3:4]
    inv = np.linalg.inv(affine)
    src = np.asarray(values, dtype=np.float32)
    sampled = ndimage.map_coordinates(src, inv[:3, :3] @ world + inv[:3, 3:4], order=1, mode="nearest")
    return float(np.percentile(sampled, 90))


def _thick_fraction(mask: np.ndarray, grid: WorkGrid, half_thickness_mm: float) -> float:
    """Fraction of a component surviving an in-plane erosion by a disk of ``half_thickness_mm``:
    ~0 for a rib (about 10 mm thick), large for the ilium's crest and sacroiliac parts."""
    se = disk(grid, half_thickness_mm)[None]
    return float(ndimage.binary_erosion(mask, structure=se).sum()) / max(int(mask.sum()), 1)


def _sides(signed: np.ndarray) -> list[str]:
    """Sides on which a component has a head (one component may hold a rib pair joined via bone)."""
    out = []
    if (signed > 0).sum() >= 3:
        out.append("left")
    if (signed < 0).sum() >= 3:
        out.append("right")
    return out


def _owner(head_z: float, ranges: list[tuple[float, float]]) -> int | None:
    """The body a rib head at ``head_z`` articulates with, or None if that vertebra is out of view."""
    for i, (lo, hi) in enumerate(ranges):
        if lo <= head_z <= hi:
            return i
    # In a disc gap: the vertebra below (cranial-first order, so the next index) -- a thoracic rib's
    # head straddles the disc and is numbered after the vertebra below it -- unless the head lies at
    # the edge of the body above: the twelfth rib's joint is on T12's own body, and where the neck
    # slopes down or thick slices blur it, its head can read a millimetre or two below T12's floor.
    for i in range(len(ranges) - 1):
        low, high = ranges[i + 1][1], ranges[i][0]
        if low < head_z < high:
            return i if high - head_z <= _EDGE_OF_ABOVE * (high - low) else i + 1
    return None


def ribs_assessable(
    body: Body, column: Column, valid: np.ndarray, grid: WorkGrid, options: LevelOptions
) -> bool:
    """Would a rib of this vertebra have been seen? Whole body in view and both flanks covered."""
    if body.cut_by_fov:
        return False
    xc, yc, _ = column.interpolated()
    reach = options.rib_min_lateral_mm + 10.0
    for k in range(body.k0, body.k1 + 1):
        j = round((yc[k] - grid.affine[1, 3]) / grid.affine[1, 1])
        for side in (-1.0, 1.0):
            i = round((xc[k] + side * reach - grid.affine[0, 3]) / grid.affine[0, 2])
            if not (0 <= j < valid.shape[1] and 0 <= i < valid.shape[2]) or not valid[k, j, i]:
                return False
    return True
