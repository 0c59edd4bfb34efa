"""Find the spinal column and split it into vertebral bodies at the discs.

All functions work on the LPS-aligned working grid (:mod:`.workgrid`): axis 0 is z (superior), axis 1
is y (posterior), axis 2 is x (patient left).

1. Per slice, the bone mask gets its small holes filled (the trabecular core inside a thin cortex;
   osteoporotic marrow can be below any bone threshold) but not canal-sized ones, and is opened with
   a ~5 mm disk: bodies (30-50 mm across) survive, laminae, processes and ribs (< 10 mm) vanish.
2. The column is the most posterior large blob near the trunk's midline on each slice; its centre is
   then smoothed along z and outliers (aorta with contrast, bowel contrast) re-picked next to the
   smoothed curve. The centre follows lordosis and scoliosis slice by slice; nothing assumes z-straight.
3. MR (a network's bone mask; CT reads its discs from the straightened sagittal view in
   :mod:`.discs` instead): discs are non-bone, so the column blobs fall apart in 3-D into one
   component per body, whatever the disc tilt. Where a thin or oblique disc is bridged by endplate
   partial volume, the core profile finds it: the median of the bone-mask fraction or the fat
   fraction in a small disk around the centreline drops at a disc. A component still much taller
   than its neighbours is split at its narrowest cross-section. The CT core and rim profiles here
   (:func:`core_profile`, :func:`rim_profile`, :func:`nonbody_slices`) serve :mod:`.discs` too.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from imaging.levels.model import LevelOptions
from imaging.levels.workgrid import WorkGrid


@dataclass(frozen=True)
class Column:
    """The traced column: centre (x, y mm; NaN where no body) and body half-width per working slice."""

    x_mm: np.ndarray
    y_mm: np.ndarray
    half_width_mm: np.ndarray
    blobs: np.ndarray  # bool (z, y, x): the column's opened cross-sections

    def interpolated(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Centre and half-width with gaps (discs) filled by linear interpolation along z."""
        k = np.arange(len(self.x_mm))
        ok = np.isfinite(self.x_mm)
        if not ok.any():
            raise ValueError("column has no slices")
        return tuple(np.interp(k, k[ok], v[ok]) for v in (self.x_mm, self.y_mm, self.half_width_mm))


@dataclass(frozen=True)
class Body:
    """One column component: slices ``k0..k1`` (inclusive) of the working grid."""

    k0: int
    k1: int
    mask: np.ndarray  # bool (z, y, x)
    width_mm: float  # median over slices of the left-right extent
    cut_by_fov: bool


def disk(grid: WorkGrid, radius_mm: float) -> np.ndarray:
    _, dy, dx = grid.spacing
    ry, rx = radius_mm / dy, radius_mm / dx
    y, x = np.ogrid[-int(ry) : int(ry) + 1, -int(rx) : int(rx) + 1]
    return (y / max(ry, 1e-6)) ** 2 + (x / max(rx, 1e-6)) ** 2 <= 1.0


def trunk_mask(soft: np.ndarray) -> np.ndarray:
    """Per slice, the largest soft-tissue component with its holes filled (drops table and air)."""
    out = np.zeros_like(soft)
    for k in range(soft.shape[0]):
        lab, n = ndimage.label(soft[k])
        if n == 0:
            continue
        sizes = ndimage.sum_labels(soft[k], lab, index=np.arange(1, n + 1))
        out[k] = ndimage.binary_fill_holes(lab == 1 + int(np.argmax(sizes)))
    return out


def fill_bone(bone: np.ndarray, grid: WorkGrid, options: LevelOptions) -> np.ndarray:
    """Per slice: fill the holes of the bone mask, including holes whose cortex has small gaps, except
    the spinal canal.

    Gaps up to ~2x ``cortex_gap_mm`` are sealed by filling holes of the *dilated* mask and eroding
    back (a closing would reopen a gap in a cortex thinner than the gap). A canal-sized hole
    (``canal_hole_mm2``) is the canal when thick bone lies directly in front of it (the vertebral
    body, once its own interior is filled). Holes are visited front to back, so a body interior split
    by the basivertebral vein into two small holes is filled before the canal behind it is judged.
    """
    px = float(grid.spacing[1] * grid.spacing[2])
    lo, hi = options.canal_hole_mm2
    min_front = int(np.ceil(options.canal_front_bone_mm / grid.spacing[1]))
    out = np.zeros_like(bone)
    se = disk(grid, options.cortex_gap_mm)
    pad = se.shape[0]
    for k in np.flatnonzero(bone.any(axis=(1, 2))):
        b = np.pad(bone[k], pad)
        sealed = ndimage.binary_erosion(ndimage.binary_fill_holes(ndimage.binary_dilation(b, se)), se) | b
        sealed = ndimage.binary_fill_holes(sealed)
        holes = sealed & ~b
        lab, n = ndimage.label(holes)
        filled = b.copy()
        if n:
            lab, n = _split_fused_canal(holes, lab, n, grid, (lo, hi), options.canal_neck_mm)
            areas = ndimage.sum_labels(holes, lab, index=np.arange(1, n + 1)) * px
            fronts = [int(np.nonzero(rows)[0].min()) for rows in _rows_of(lab, n)]
            for v in np.argsort(fronts) + 1:
                m = lab == v
                if lo <= areas[v - 1] <= hi and _bone_in_front(filled, m) >= min_front:
                    continue  # the spinal canal: leave it open
                filled |= m
        out[k] = filled[pad:-pad, pad:-pad]
    return out


def _split_fused_canal(
    holes: np.ndarray,
    lab: np.ndarray,
    n: int,
    grid: WorkGrid,
    canal_mm2: tuple[float, float],
    neck_mm: float,
) -> tuple[np.ndarray, int]:
    """Cut a hole too big for the canal at narrow necks, when that frees a canal-sized part.

    Where the basivertebral vein (darker than ``bone_hu``) breaks the body's posterior cortex, the
    marrow and the canal behind it are one hole, too big to be the canal, and filling it would fuse
    the canal and arch into the body. The hole's pixels deeper than ``neck_mm`` inside it form
    cores that a break narrower than about twice that cannot connect; every pixel of the hole goes
    to its nearest core. When a canal-sized part comes out, the hole is replaced by its parts and
    the front-to-back canal test judges each; otherwise the hole stays whole, so an intact marrow
    cavity is never cut.
    """
    lo, hi = canal_mm2
    px_mm2 = float(grid.spacing[1] * grid.spacing[2])
    sampling = (float(grid.spacing[1]), float(grid.spacing[2]))
    out, count = np.zeros_like(lab), 0
    for v in range(1, n + 1):
        m = lab == v
        if np.count_nonzero(m) * px_mm2 > hi:
            cores, k = ndimage.label(ndimage.distance_transform_edt(m, sampling=sampling) > neck_mm)
            if k > 1:
                _, (ri, ci) = ndimage.distance_transform_edt(cores == 0, return_indices=True)
                parts = np.where(m, cores[ri, ci], 0)
                sizes = ndimage.sum_labels(m, parts, index=np.arange(1, k + 1)) * px_mm2
                if np.any((sizes >= lo) & (sizes <= hi)):
                    out[m] = count + parts[m]
                    count += k
                    continue
        count += 1
        out[m] = count
    return out, count


def _rows_of(lab: np.ndarray, n: int) -> list[np.ndarray]:
    return [(lab == v).any(axis=1) for v in range(1, n + 1)]


def _bone_in_front(filled: np.ndarray, hole: np.ndarray) -> int:
    """Consecutive bone pixels anterior (-y, lower row) of the hole, on its central column."""
    rows, cols = np.nonzero(hole)
    c = round(cols.mean())
    j = int(rows[cols == c].min()) - 1 if (cols == c).any() else int(rows.min()) - 1
    count = 0
    while j >= 0 and filled[j, c]:
        count += 1
        j -= 1
    return count


def open_bodies(filled: np.ndarray, grid: WorkGrid, options: LevelOptions) -> np.ndarray:
    """In-plane opening that keeps thick bone (vertebral bodies, sacrum) and drops thin bone."""
    se = disk(grid, options.body_opening_mm)
    out = np.zeros_like(filled)
    for k in np.flatnonzero(filled.any(axis=(1, 2))):
        out[k] = ndimage.binary_opening(filled[k], structure=se)
    return out


def trace_column(opened: np.ndarray, trunk: np.ndarray, grid: WorkGrid, options: LevelOptions) -> Column:
    """The column's cross-section on every slice where a body is cut (see the module docstring).

    Raises:
        ValueError: no body-sized bone near the midline anywhere (no spine in the field of view).
    """
    nz = opened.shape[0]
    dz, dy, dx = grid.spacing
    min_px = options.min_body_area_mm2 / (dy * dx)
    cands: list[list[tuple[float, float, int]]] = []
    labs: list[np.ndarray | None] = []
    for k in range(nz):
        lab, n = ndimage.label(opened[k])
        labs.append(lab if n else None)
        found: list[tuple[float, float, int]] = []
        if n and trunk[k].any():
            mid_x = float(grid.x_mm(np.nonzero(trunk[k])[1].mean()))
            idx = np.arange(1, n + 1)
            sizes = ndimage.sum_labels(opened[k], lab, index=idx)
            cents = ndimage.center_of_mass(opened[k], lab, index=idx)
            for v, size, (cy, cx) in zip(idx, sizes, cents, strict=True):
                x, y = float(grid.x_mm(cx)), float(grid.y_mm(cy))
                if size >= min_px and abs(x - mid_x) <= options.max_offcentre_mm:
                    found.append((x, y, int(v)))
        cands.append(found)
    # First pick: the most posterior candidate (the body lies behind aorta, bowel and kidneys).
    pick = [max(c, key=lambda t: t[1]) if c else None for c in cands]
    if not any(pick):
        raise ValueError("no vertebral body found: no body-sized bone near the midline in any slice")
    xs = np.array([p[0] if p else np.nan for p in pick])
    ys = np.array([p[1] if p else np.nan for p in pick])
    # Re-pick next to a robust (median-filtered) curve so a single stray blob cannot steer the trace.
    win = max(3, round(50.0 / dz) | 1)
    sx, sy = _nan_median_filter(xs, win), _nan_median_filter(ys, win)
    blobs = np.zeros_like(opened)
    x_out = np.full(nz, np.nan)
    y_out = np.full(nz, np.nan)
    hw = np.full(nz, np.nan)
    for k in range(nz):
        if not cands[k] or not np.isfinite(sx[k]):
            continue
        near = [c for c in cands[k] if np.hypot(c[0] - sx[k], c[1] - sy[k]) <= 15.0]
        if not near:
            continue
        lab = labs[k]
        assert lab is not None
        sel = np.isin(lab, [c[2] for c in near])
        blobs[k] = sel
        cols = np.nonzero(sel)[1]
        x_out[k] = float(np.mean([c[0] for c in near]))
        y_out[k] = float(np.mean([c[1] for c in near]))
        hw[k] = 0.5 * (cols.max() - cols.min() + 1) * dx
    return Column(x_out, y_out, hw, blobs)


def _nan_median_filter(v: np.ndarray, win: int) -> np.ndarray:
    out = np.full_like(v, np.nan)
    h = win // 2
    for k in range(len(v)):
        seg = v[max(0, k - h) : k + h + 1]
        seg = seg[np.isfinite(seg)]
        if seg.size:
            out[k] = np.median(seg)
    return out


def core_profile(values: np.ndarray, affine: np.ndarray, column: Column, grid: WorkGrid) -> np.ndarray:
    """Median of ``values`` (input grid, e.g. HU) over a disk of ~half the body radius (>= 6 mm)
    around the centreline, per working slice. Sampled by world position, so any input grid works."""
    xc, yc, hw = column.interpolated()
    inv = np.linalg.inv(affine)
    ang = np.linspace(0, 2 * np.pi, 16, endpoint=False)
    out = np.empty(len(xc))
    src = np.asarray(values, dtype=np.float32)
    for k in range(len(xc)):
        r = max(6.0, 0.45 * float(hw[k]))
        rr = np.concatenate([[0.0], np.repeat([r / 3, 2 * r / 3, r], len(ang))])
        aa = np.concatenate([[0.0], np.tile(ang, 3)])
        pts = np.stack(
            [xc[k] + rr * np.cos(aa), yc[k] + rr * np.sin(aa), np.full(rr.size, grid.z_mm(k))], axis=0
        )
        kji = inv[:3, :3] @ pts + inv[:3, 3:4]
        out[k] = np.median(ndimage.map_coordinates(src, kji, order=1, mode="nearest"))
    return out


def rim_profile(values: np.ndarray, affine: np.ndarray, column: Column, grid: WorkGrid) -> np.ndarray:
    """Per working slice, the median over 16 rays from the centreline of the brightest value within
    1.4 body half-widths: the cortical ring's level where the slice cuts a body's wall, the core's own
    level where it cuts a flat plate or the disc."""
    xc, yc, hw = column.interpolated()
    inv = np.linalg.inv(affine)
    ang = np.linspace(0, 2 * np.pi, 16, endpoint=False)
    frac = np.linspace(0.0, 1.4, 24)
    src = np.asarray(values, dtype=np.float32)
    out = np.empty(len(xc))
    for k in range(len(xc)):
        d = np.tile(frac * float(hw[k]), ang.size)
        a = np.repeat(ang, frac.size)
        pts = np.stack([xc[k] + d * np.cos(a), yc[k] + d * np.sin(a), np.full(d.size, grid.z_mm(k))])
        kji = inv[:3, :3] @ pts + inv[:3, 3:4]
        vals = ndimage.map_coordinates(src, kji, order=1, mode="nearest").reshape(ang.size, frac.size)
        out[k] = np.median(vals.max(axis=1))
    return out


def nonbody_slices(core: np.ndarray, rim: np.ndarray, column: Column, bone_hu: float) -> np.ndarray:
    """Working slices whose centre lies between two bodies, from the CT core and rim profiles.

    A slice inside a body cuts its cortical wall: a ring clearly brighter than the marrow, or, at an
    endplate, a plate with a still brighter rim (the wall adds to the plate). Between bodies a slice
    shows either no ring at all (the disc; at most a faint partial-volume ring) or, where thick slices
    blur an endplate into the disc, a *flat* cortical-level plate with no brighter rim. Osteoporotic
    marrow can read like the disc (both ~90 HU with contrast), so the core alone cannot tell a disc
    from a body; the ring can. The sacrum (a uniform block of ~250-300 HU) is neither: its core is
    bone and below cortical level.
    """
    present = np.isfinite(column.x_mm)
    out = np.zeros(len(core), dtype=bool)
    if present.sum() < 3:
        return out
    cortex = float(np.median(rim[present]))  # most column slices cut a body's wall
    no_ring = (core < bone_hu) & (rim < 0.75 * cortex)
    flat_plate = (core >= 0.8 * cortex) & (rim < 1.06 * core)
    return no_ring | flat_plate


def disc_slices(
    profile: np.ndarray, column: Column, grid: WorkGrid, soft_value: float, drop: float
) -> np.ndarray:
    """Working slices where the core profile dips below the column's median by ``drop`` x (median -
    ``soft_value``) and is back at marrow level within 8 mm on both sides: a disc between two bodies,
    even where bone blobs bridge it. Only components too tall for one body are cut at these slices,
    so a dip inside a body (basivertebral vein, sacral foramina) cannot invent a vertebra."""
    present = np.isfinite(column.x_mm)
    out = np.zeros(len(profile), dtype=bool)
    if present.sum() < 3:
        return out
    base = float(np.median(profile[present]))
    contrast = max(base - soft_value, 1e-6)
    low = base - drop * contrast
    w = max(1, int(np.ceil(8.0 / float(grid.spacing[0]))))
    for k in range(1, len(profile) - 1):
        left, right = profile[max(0, k - w) : k], profile[k + 1 : k + 1 + w]
        out[k] = profile[k] < low and left.max() >= base and right.max() >= base
    return out


def bridge_gaps(blobs: np.ndarray, profile: np.ndarray, column: Column, soft_value: float) -> np.ndarray:
    """Fill one-slice holes in the column that are not discs. A disc's core is below marrow level or
    a valley between endplates (both neighbours denser by half the bone/soft contrast); a hole with
    neither comes from a cortex broken by the basivertebral vein, from resampling an oblique series,
    or from the sacrum's uniform bone, and would split one body in two."""
    present = np.isfinite(column.x_mm)
    out = blobs.copy()
    if present.sum() < 3:
        return out
    base = float(np.median(profile[present]))
    contrast = max(base - soft_value, 1e-6)
    for k in range(1, len(profile) - 1):
        if present[k] or not (present[k - 1] and present[k + 1]):
            continue
        below_marrow = profile[k] < base - 0.25 * contrast
        valley = min(profile[k - 1], profile[k + 1]) - profile[k] >= 0.5 * contrast
        if not (below_marrow or valley):
            out[k] = blobs[k - 1] & blobs[k + 1]
    return out


def split_bodies(
    column: Column, valid: np.ndarray, grid: WorkGrid, options: LevelOptions, discs: np.ndarray | None = None
) -> list[Body]:
    """3-D components of the column blobs, cranial first. A component taller than 1.3x the expected
    body height (1.1x if cut by the field of view: two bodies bridged across a disc) is cut at its
    ``discs`` slices, and one still
    over 1.6x is split at its narrowest cross-section. Normal-height components are never cut, so
    a dip in the profile inside one body (vein, sacral foramina) cannot invent a vertebra."""
    dz, _, dx = grid.spacing
    # A body ending within fov_margin_mm of the field of view's end may continue beyond it.
    edge = fov_edge(valid, 1 + int(options.fov_margin_mm // dz))
    raw = _components(column.blobs)
    heights = [(k1 - k0 + 1) * dz for k0, k1, m in raw if not (m & edge).any()]
    typical = [h for h in heights if 12.0 <= h <= 45.0]
    expected = float(np.median(typical)) if typical else 27.0
    pieces: list[tuple[int, int, np.ndarray]] = []
    for k0, k1, m in raw:
        parts = [(k0, k1, m)]
        # A component cut by the field of view holds less than its full height: a lower bar.
        limit = (1.1 if (m & edge).any() else 1.3) * expected
        if discs is not None and (k1 - k0 + 1) * dz > limit and discs[k0 : k1 + 1].any():
            cut_m = m.copy()
            cut_m[discs] = False
            parts = _components(cut_m)
        for p0, p1, pm in parts:
            pieces.extend(_split_tall(p0, p1, pm, expected, dz))
    bodies = []
    for k0, k1, m in pieces:
        cut = bool((m & edge).any())
        if (k1 - k0 + 1) * dz < options.min_body_height_mm and not cut:
            continue
        bodies.append(Body(k0, k1, m, _median_width(m, k0, k1, dx), cut))
    bodies.sort(key=lambda b: -b.k1)  # cranial (high z) first
    return bodies


def _components(blobs: np.ndarray) -> list[tuple[int, int, np.ndarray]]:
    """(first slice, last slice, mask) of each 3-D component."""
    lab, _ = ndimage.label(blobs)
    out = []
    for v, sl in enumerate(ndimage.find_objects(lab), start=1):
        if sl is None:
            continue
        m = np.zeros_like(blobs)
        m[sl] = lab[sl] == v
        ks = np.flatnonzero(m.any(axis=(1, 2)))
        out.append((int(ks[0]), int(ks[-1]), m))
    return out


def _median_width(m: np.ndarray, k0: int, k1: int, dx: float) -> float:
    """Median over slices of the left-right extent: robust to a rib head fused to one slice."""
    widths = []
    for k in range(k0, k1 + 1):
        cols = np.flatnonzero(m[k].any(axis=0))
        if cols.size:
            widths.append((cols[-1] - cols[0] + 1) * dx)
    return float(np.median(widths))


def _split_tall(
    k0: int, k1: int, m: np.ndarray, expected_mm: float, dz: float
) -> list[tuple[int, int, np.ndarray]]:
    """Split at the slice of least area while a piece is over 1.6x the expected body height."""
    if (k1 - k0 + 1) * dz <= 1.6 * expected_mm:
        return [(k0, k1, m)]
    area = m[k0 : k1 + 1].sum(axis=(1, 2)).astype(float)
    margin = max(1, round(0.35 * expected_mm / dz))
    inner = area[margin:-margin] if len(area) > 2 * margin else area
    if inner.size == 0 or inner.min() > 0.6 * float(np.median(area)):
        return [(k0, k1, m)]  # no waist: a single abnormally tall body, reported as such downstream
    cut = k0 + margin + int(np.argmin(inner))
    upper = m.copy()
    upper[: cut + 1] = False
    lower = m.copy()
    lower[cut:] = False
    out = []
    if lower.any():
        out += _split_tall(k0, cut - 1, lower, expected_mm, dz)
    if upper.any():
        out += _split_tall(cut + 1, k1, upper, expected_mm, dz)
    return out


def fov_edge(valid: np.ndarray, depth: int = 1) -> np.ndarray:
    """Valid voxels within ``depth`` slices of the end of the field of view (along z)."""
    inside = ndimage.binary_erosion(
        valid, structure=np.ones((3, 1, 1), dtype=bool), iterations=depth, border_value=0
    )
    return valid & ~inside


def grow_vertebrae(
    seeds: np.ndarray,
    bone: np.ndarray,
    region: np.ndarray,
    grid: WorkGrid,
    reach_mm: float,
    z_windows: dict[int, tuple[int, int]] | None = None,
) -> np.ndarray:
    """Geodesic growth of body labels through bone inside ``region``: posterior elements join the
    body they connect to by the shortest bone path (pedicles), not the nearest body in z (thoracic
    spinous processes hang over the vertebra below). ``z_windows`` (label -> first, last working
    slice) bounds each label, so growth cannot run through a facet joint into a neighbour's arch."""
    labels = seeds.copy()
    allowed = bone & region
    steps = int(np.ceil(reach_mm / float(grid.spacing[1:].min())))
    zs, ys, xs = np.nonzero(allowed | (seeds > 0))
    if zs.size == 0:
        return labels
    box = tuple(slice(int(a.min()), int(a.max()) + 1) for a in (zs, ys, xs))
    sub = labels[box]
    free = allowed[box] & (sub == 0)  # bone not yet claimed by any body
    lut = None
    if z_windows:
        k_abs = np.arange(box[0].start, box[0].stop)
        lut = np.ones((int(seeds.max()) + 1, len(k_abs)), dtype=bool)
        for value, (k0, k1) in z_windows.items():
            lut[value] = (k_abs >= k0) & (k_abs <= k1)
    for _ in range(steps):
        grown = _dilate_6(sub)
        new = np.nonzero(free & (grown > 0))
        values = grown[new]
        if lut is not None:  # only the few voxels reached this step are checked against the windows
            keep = lut[values, new[0]]
            new, values = tuple(i[keep] for i in new), values[keep]
        if values.size == 0:
            break
        sub[new] = values
        free[new] = False
    labels[box] = sub
    return labels


def _dilate_6(labels: np.ndarray) -> np.ndarray:
    """Grey dilation over the 6-neighbourhood (face neighbours and the voxel itself).

    Equal to ``ndimage.grey_dilation(labels, footprint=<6-connected cross>)``: its default reflect
    mode repeats the edge voxel, which the voxel itself already contributes. Six shifted maxima
    are several times faster than the generic footprint filter, and this runs once per millimetre
    of growth on every series.
    """
    out = labels.copy()
    for axis in range(labels.ndim):
        lo = [slice(None)] * labels.ndim
        hi = [slice(None)] * labels.ndim
        lo[axis], hi[axis] = slice(None, -1), slice(1, None)
        np.maximum(out[tuple(hi)], labels[tuple(lo)], out=out[tuple(hi)])
        np.maximum(out[tuple(lo)], labels[tuple(hi)], out=out[tuple(lo)])
    return out
