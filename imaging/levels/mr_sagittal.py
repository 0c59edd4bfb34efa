"""MR without a bone mask: the vertebral bodies read off the image itself, whatever the contrast.

A sagittal spine MR (T1, T2, a Dixon water or fat image) is not what the tissue networks were
trained on (axial trunk slices), so their bone mask is no help there. A reader still sees the
column at a glance: a chain of blocks of even marrow signal, each separated from the next by a disc
whose signal differs from the marrow -- brighter on T2 and water images, darker on T1 and in a
desiccated disc -- bounded by the dark cortical endplates. Only the *difference* is used, never
its sign, so one rule serves every contrast:

1. Alternation along z: the image is averaged over ~15 mm front to back (a disc spans the body's
   depth; vessels and small structures do not) and band-passed along z (1.5-6 mm). Its local
   energy is high in two bands on the mid-sagittal slab: the bodies with their discs, and the arches
   behind the canal (laminae, facet joints, spinous processes). The canal between them is even.
2. The column: the best path through that energy, leaning at most ~27 degrees from z, where each
   row counts less by twice the strongest energy 20-70 mm in front of it -- the arches always have
   the bodies' band in front of them, the bodies have none -- then moved to the middle of the band.
3. Discs on the straightened view along that path: for tilts of -30..30 degrees, a line across the
   middle of the body band whose mean differs from the running median of its neighbours (~31 mm:
   mostly marrow) by more than the marrow's own spread; peaks are chosen and regularised as on CT
   (:func:`.discs.find_discs`).
4. Each body is grown in 3D from its centre through voxels whose signal lies within the marrow's
   range (measured in the body's middle), between its two disc planes, not behind its posterior
   wall (the pedicles carry the same marrow) and within 30 mm of the midline.

Names need an anchor; the sacrum and ribs are not recognised from MR signal alone (sagittal slabs
are narrow and S1's marrow reads like L5's), so bodies found this way stay unnamed and the report
says why. They still give the QA picture and the count.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from scipy import ndimage

from imaging.levels.discs import Disc, SagittalView, find_discs
from imaging.levels.model import LevelOptions
from imaging.levels.spine import Body, fov_edge
from imaging.levels.workgrid import WorkGrid, coverage_on_work, values_on_work, work_grid_for
from imaging.volume import Volume

_GRID_MM = 1.0
_DEPTH_AVERAGE_MM = 15.0  # front-to-back averaging before the z band-pass (step 1)
_BAND_SIGMAS_MM = (1.5, 6.0)
_ENERGY_SIGMA_MM = (12.0, 2.0)  # z, y smoothing of the squared band-pass
_SLAB_MM = 3.0  # half-width in x of the mid-sagittal slab
_ANTERIOR_BAND_GAP_MM = 20.0
_ANTERIOR_BAND_REACH_MM = 70.0
_PATH_STEP_MM = 2.0  # the column path moves at most one row (1 mm) per this much z
_CENTRE_REACH_MM = 20.0
_CENTRE_SMOOTH_MM = 10.0
_TILTS_DEG = np.arange(-30.0, 31.0, 3.0)
_VIEW_MM = (-30.0, 30.0)  # straightened view: offsets from the column path, front (-) to back
_LINE_HALF_MM = 10.0  # disc lines are scored across the middle 20 mm of the body
_MARROW_WINDOW_MM = 31.0
_SCORE_SMOOTH_MM = 7.0
_MAX_HALF_WIDTH_MM = 30.0
_MAX_HALF_DEPTH_MM = 28.0
_CORTEX_MM = 1.0
_CROP_MARGIN = 8  # voxels around a body's region: more than its closing (2) and cortex (1) reach
_RANGE_SLACK = 0.07  # the marrow's 5-95th percentile range widened by this fraction of its median


def find_mr_bodies(volume: Volume, options: LevelOptions) -> tuple[WorkGrid, list[Body]]:
    """The working grid and the bodies (cranial first) of an MR series, from its signal (module
    docstring).

    Raises:
        ValueError: no column could be traced (nothing alternates along z: not a spine in view).
    """
    grid = work_grid_for(volume, _GRID_MM, (_GRID_MM, 5.0))
    valid = coverage_on_work(volume, grid)
    values = _scaled(values_on_work(volume, grid), valid)
    dz, dy = float(grid.spacing[0]), float(grid.spacing[1])
    xc = _column_x(values, grid)
    slab = values[:, :, _slab(xc, grid)].mean(axis=2)
    energy = _alternation(slab, dz, dy)
    path = _column_path(energy, dz, dy)
    if path is None:
        raise ValueError("no vertebral column found on this MR series (nothing alternates along the spine)")
    y_mm = _centred(_alternation(slab, dz, dy, depth_mm=0.0), path, grid)
    view = _view(slab, grid, y_mm)
    found = find_discs(view, grid, options)
    smooth = ndimage.gaussian_filter(values, 0.7)
    return grid, _grow_bodies(smooth, valid, found, view, y_mm, xc, grid, options)


def _scaled(out: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """The signal scaled to its 99th percentile inside the field of view, zero outside it."""
    inside = out[valid]
    scale = float(np.percentile(inside, 99)) if inside.size else 0.0
    if not np.isfinite(scale) or scale <= 0:
        raise ValueError("no vertebral column found on this MR series (no signal in the field of view)")
    out /= scale
    out[~valid] = 0.0
    return out


def _column_x(values: np.ndarray, grid: WorkGrid) -> float:
    """x of the column: the centre of the z-alternation energy of the depth-averaged image (the discs
    span the bodies' width and depth; facet joints, lateral and small, count far less)."""
    dz, dy = float(grid.spacing[0]), float(grid.spacing[1])
    per_x = (_band_pass(values, dz, dy, _DEPTH_AVERAGE_MM) ** 2).sum(axis=(0, 1))
    x = grid.x_mm(np.arange(grid.shape[2]))
    if per_x.sum() <= 0:
        return float(x.mean())
    # the strongest 25 mm in x, then its weighted centre (a lateral muscle edge cannot pull it)
    width = max(1, round(25.0 / float(grid.spacing[2])))
    centre = int(np.argmax(np.convolve(per_x, np.ones(width), mode="same")))
    window = slice(max(0, centre - width // 2), centre + width // 2 + 1)
    return float((x[window] * per_x[window]).sum() / per_x[window].sum())


def _slab(xc: float, grid: WorkGrid) -> np.ndarray:
    x = grid.x_mm(np.arange(grid.shape[2]))
    near = np.abs(x - xc) <= _SLAB_MM
    return near if near.any() else np.abs(x - xc) == np.abs(x - xc).min()


def _alternation(slab: np.ndarray, dz: float, dy: float, depth_mm: float = _DEPTH_AVERAGE_MM) -> np.ndarray:
    """Step 1: local energy of the z band-pass of the depth-averaged slab, scaled to its maximum."""
    band = _band_pass(slab, dz, dy, depth_mm)
    energy = ndimage.gaussian_filter(band**2, (_ENERGY_SIGMA_MM[0] / dz, _ENERGY_SIGMA_MM[1] / dy))
    top = float(energy.max())
    return energy / top if top > 0 else energy


def _band_pass(values: np.ndarray, dz: float, dy: float, depth_mm: float) -> np.ndarray:
    """``values`` (axis 0 z, axis 1 y) averaged over ``depth_mm`` front to back, then band-passed
    along z (1.5-6 mm): discs and endplates stand out, even marrow and fluid do not."""
    deep = ndimage.uniform_filter1d(values, max(1, round(depth_mm / dy)), axis=1)
    lo, hi = (s / dz for s in _BAND_SIGMAS_MM)
    return ndimage.gaussian_filter1d(deep, lo, axis=0) - ndimage.gaussian_filter1d(deep, hi, axis=0)


def _column_path(energy: np.ndarray, dz: float, dy: float) -> np.ndarray | None:
    """Step 2: the bodies' path (row index per working slice), or None if nothing alternates.

    A row counts less by twice the strongest energy 20-70 mm in front of it: behind the canal (the
    arches) there is always the bodies' band in front, in front of the bodies there is none."""
    if not (energy > 0).any():
        return None
    near, far = round(_ANTERIOR_BAND_GAP_MM / dy), round(_ANTERIOR_BAND_REACH_MM / dy)
    ahead = np.zeros_like(energy)
    for j in range(near, energy.shape[1]):
        ahead[:, j] = energy[:, max(0, j - far) : j - near + 1].max(axis=1)
    score = np.clip(energy - 2.0 * ahead, 0.0, None)
    # one row per ``step`` slices at most: the column leans no more than ~27 degrees from z even at
    # L5/S1, while a steeper path can slip off the sacrum onto the pelvic vessels in front of it
    step = max(1, round(_PATH_STEP_MM / dz))
    coarse = _best_path(score[::step])
    k = np.arange(score.shape[0])
    return np.rint(np.interp(k, k[::step], coarse)).astype(np.intp)


def _centred(energy: np.ndarray, path: np.ndarray, grid: WorkGrid) -> np.ndarray:
    """The path moved to the middle of the bodies: per slice the energy-weighted centre within
    the band's reach of the path (a path along the strongest rows may hug one wall), smoothed."""
    dz, dy = float(grid.spacing[0]), float(grid.spacing[1])
    reach = round(_CENTRE_REACH_MM / dy)
    rows = np.arange(energy.shape[1])
    centre = np.empty(len(path))
    for k, j in enumerate(path):
        w = energy[k] * (np.abs(rows - j) <= reach)
        centre[k] = (w * rows).sum() / w.sum() if w.sum() > 0 else j
    return ndimage.gaussian_filter1d(grid.y_mm(centre), _CENTRE_SMOOTH_MM / dz, mode="nearest")


def _best_path(score: np.ndarray) -> np.ndarray:
    """Dynamic programming: the row per slice maximising the summed score, moving at most one row per
    slice (the caller sets how steep that is by the slices it passes)."""
    nz, ny = score.shape
    acc = score[0].astype(np.float64)
    back = np.zeros((nz, ny), dtype=np.intp)
    rows = np.arange(ny)
    for k in range(1, nz):
        options = np.full((3, ny), -np.inf)  # coming to row j from row j + 1, j, j - 1
        options[0, :-1] = acc[1:]
        options[1] = acc
        options[2, 1:] = acc[:-1]
        best = np.argmax(options, axis=0)
        back[k] = rows + 1 - best
        acc = options[best, rows] + score[k]
    path = np.zeros(nz, dtype=np.intp)
    path[-1] = int(np.argmax(acc))
    for k in range(nz - 1, 0, -1):
        path[k - 1] = back[k, path[k]]
    return path


def _view(slab: np.ndarray, grid: WorkGrid, y_mm: np.ndarray) -> SagittalView:
    """Step 3: the straightened view along the path and its contrast-free disc score."""
    dz, dy = float(grid.spacing[0]), float(grid.spacing[1])
    offsets = np.arange(_VIEW_MM[0], _VIEW_MM[1] + 1e-6, dy)
    rows = (y_mm[:, None] + offsets[None, :] - grid.affine[1, 3]) / grid.affine[1, 1]
    ks = np.broadcast_to(np.arange(grid.shape[0], dtype=float)[:, None], rows.shape)
    image = ndimage.map_coordinates(slab, [ks.ravel(), rows.ravel()], order=1, mode="nearest")
    image = image.reshape(rows.shape).astype(np.float32)
    band = np.abs(offsets) <= _LINE_HALF_MM
    cols = np.flatnonzero(band).astype(float)
    rel = offsets[band]
    nz = grid.shape[0]
    window = max(3, round(_MARROW_WINDOW_MM / dz) | 1)
    score = np.full(nz, np.nan)
    slope = np.zeros(nz)
    for t in np.tan(np.deg2rad(_TILTS_DEG)):
        s = t / dz
        lines_k = np.arange(nz, dtype=float)[:, None] + s * rel[None, :]
        inside = (lines_k >= 0) & (lines_k <= nz - 1)
        vals = ndimage.map_coordinates(
            image,
            [np.clip(lines_k, 0, nz - 1).ravel(), np.broadcast_to(cols, lines_k.shape).ravel()],
            order=1,
        ).reshape(lines_k.shape)
        line = np.where(
            inside.sum(axis=1) >= 0.8 * cols.size, np.nanmean(np.where(inside, vals, np.nan), 1), np.nan
        )
        marrow = ndimage.median_filter(
            np.nan_to_num(line, nan=float(np.nanmedian(line))), window, mode="nearest"
        )
        spread = float(np.nanmedian(np.abs(line - marrow))) * 1.4826
        val = np.abs(line - marrow) / max(4.0 * spread, 0.02)
        better = np.isfinite(val) & ~(val <= score)
        score[better] = val[better]
        slope[better] = s
    # one peak per disc, at its middle: on T1 the dark endplates either side of a dark disc would
    # otherwise score as two
    score = ndimage.uniform_filter1d(np.nan_to_num(score, nan=0.0), max(1, round(_SCORE_SMOOTH_MM / dz)))
    return SagittalView(image, offsets, score, slope, 0.0, np.zeros(nz, dtype=bool))


def _grow_bodies(
    values: np.ndarray,
    valid: np.ndarray,
    found: list[Disc],
    view: SagittalView,
    path_y: np.ndarray,
    xc: float,
    grid: WorkGrid,
    options: LevelOptions,
) -> list[Body]:
    """Step 4: each body grown between consecutive disc planes, cranial first."""
    nz, ny, nx = grid.shape
    dz, dx = float(grid.spacing[0]), float(grid.spacing[2])
    k = np.arange(nz, dtype=float)[:, None]
    offset = grid.y_mm(np.arange(ny))[None, :] - path_y[:, None]  # (z, y): mm behind the path
    half = options.disc_half_thickness_mm / dz
    planes = [d.plane_k(offset, view.band_centre_mm) for d in found]
    # Beyond the end discs a body is no taller than its neighbours' spacing: the lumbosacral disc is
    # the most tilted and often missed, and S1's marrow reads like L5's.
    if len(found) >= 2:
        step = float(np.median(np.abs(np.diff([d.k for d in found]))))
        top, bottom = planes[0] + step, planes[-1] - step
    else:
        top, bottom = np.full((nz, ny), np.inf), np.full((nz, ny), -np.inf)
    bounds = [top, *planes, bottom]
    x = grid.x_mm(np.arange(nx))
    across = np.abs(x - xc) <= _MAX_HALF_WIDTH_MM
    near = np.abs(offset) <= _MAX_HALF_DEPTH_MM
    edge = fov_edge(valid, 1 + int(options.fov_margin_mm // dz))
    regions = []
    for i in range(len(bounds) - 1):
        inside = (k < bounds[i] - half) & (k > bounds[i + 1] + half) & near  # (z, y)
        region = inside[:, :, None] & across[None, None, :] & valid
        ks = np.flatnonzero(region.any(axis=(1, 2)))
        if ks.size:
            marrow = _marrow(values, ks, path_y, grid, xc)
            if marrow is not None:
                regions.append((i, region, marrow))
    # A body is about as deep and as wide as its neighbours: where the marrow's run goes on into
    # tissue of like signal (prevertebral vessels, psoas), it is cut back to 1.25x the median extent,
    # keeping its centre's side.
    depth = np.median([m.extent[1] - m.extent[0] for _, _, m in regions]) if regions else 0.0
    width = np.median([m.extent[3] - m.extent[2] for _, _, m in regions]) if regions else 0.0
    bodies = []
    for i, region, marrow in regions:
        mask = _grown(values, region, marrow.capped(1.25 * depth, 1.25 * width), grid)
        if mask is None:
            continue
        kk = np.flatnonzero(mask.any(axis=(1, 2)))
        k0, k1 = int(kk[0]), int(kk[-1])
        # an end piece whose far disc is not seen may be cut by it as much as by the field of view
        cut = bool((mask & edge).any()) or (i in (0, len(bounds) - 2))
        if (k1 - k0 + 1) * dz < options.min_body_height_mm and not cut:
            continue
        widths = [np.ptp(np.flatnonzero(mask[kq].any(axis=0))) * dx + dx for kq in range(k0, k1 + 1)]
        bodies.append(Body(k0, k1, mask, float(np.median(widths)), cut))
    return bodies


@dataclass(frozen=True)
class _Marrow:
    """One body's marrow: its centre voxel, its signal range, and its extent (j0, j1, i0, i1) on the
    two planes through the centre."""

    centre: tuple[int, int, int]
    low: float
    high: float
    extent: tuple[int, int, int, int]

    def capped(self, depth: float, width: float) -> _Marrow:
        _, jc, ic = self.centre
        j0, j1, i0, i1 = self.extent
        return replace(self, extent=(*_cap(j0, j1, jc, depth), *_cap(i0, i1, ic, width)))


def _cap(lo: int, hi: int, centre: int, most: float) -> tuple[int, int]:
    """``lo..hi`` shortened to ``most`` samples around ``centre`` in proportion to each side."""
    if hi - lo <= most:
        return lo, hi
    share = (centre - lo) / max(hi - lo, 1)
    return round(centre - share * most), round(centre + (1.0 - share) * most)


def _marrow(
    values: np.ndarray, ks: np.ndarray, path_y: np.ndarray, grid: WorkGrid, xc: float
) -> _Marrow | None:
    """The marrow's signal range and run through the body's centre (the centre of slices ``ks``)."""
    kc = int(ks[len(ks) // 2])
    jc = round((path_y[kc] - grid.affine[1, 3]) / grid.affine[1, 1])
    ic = round((xc - grid.affine[0, 3]) / grid.affine[0, 2])
    _, ny, nx = values.shape
    if not (0 <= jc < ny and 0 <= ic < nx):
        return None
    # the range: its middle half in z, +-8 mm front to back and +-10 mm across (marrow is often
    # uneven -- a fatty centre, red marrow at the rim -- so a small core would miss the rim)
    k0, k1 = int(ks[0]), int(ks[-1])
    middle = slice(k0 + (k1 - k0) // 4, k1 - (k1 - k0) // 4 + 1)
    rj, ri = round(8.0 / float(grid.spacing[1])), round(10.0 / float(grid.spacing[2]))
    core = values[middle, max(0, jc - rj) : jc + rj + 1, max(0, ic - ri) : ic + ri + 1]
    low, mid, high = (float(v) for v in np.percentile(core, [5, 50, 95]))
    low, high = low - _RANGE_SLACK * mid, high + _RANGE_SLACK * mid
    # the extent: the run of marrow signal through the centre on the median over the middle slices
    # (a vertical line -- the anterior cortex, the canal's wall -- ends it; a dot does not)
    ap = np.median(values[middle, :, max(0, ic - 4) : ic + 5], axis=(0, 2))
    lr = np.median(values[middle, max(0, jc - 4) : jc + 5, :], axis=(0, 1))
    j0, j1 = _run((ap >= low) & (ap <= high), jc)
    i0, i1 = _run((lr >= low) & (lr <= high), ic)
    return _Marrow((kc, jc, ic), low, high, (j0, j1, i0, i1))


def _grown(values: np.ndarray, region: np.ndarray, marrow: _Marrow, grid: WorkGrid) -> np.ndarray | None:
    """The marrow connected to the body's centre inside ``region`` and the marrow's extent. The work
    is done on the region's bounding box (plus a margin wider than any morphology below reaches),
    not on the whole grid: the result is the same, for a fraction of the voxels."""
    j0, j1, i0, i1 = marrow.extent
    box = np.zeros_like(region)
    box[:, max(0, j0 - 2) : j1 + 3, max(0, i0 - 2) : i1 + 3] = True
    region = region & box
    if not region.any():
        return None
    crop = tuple(
        slice(max(0, int(idx.min()) - _CROP_MARGIN), int(idx.max()) + _CROP_MARGIN + 1)
        for idx in np.nonzero(region)
    )
    kc, jc, ic = (c - sl.start for c, sl in zip(marrow.centre, crop, strict=True))
    inside = all(0 <= c < sl.stop - sl.start for c, sl in zip((kc, jc, ic), crop, strict=True))
    centre = (kc, jc, ic) if inside else (-1, -1, -1)  # outside: the largest piece is the body
    body = _grown_in(values[crop], region[crop], marrow, centre, grid)
    if body is None:
        return None
    out = np.zeros_like(region)
    out[crop] = body
    return out


def _grown_in(
    values: np.ndarray, region: np.ndarray, marrow: _Marrow, centre: tuple[int, int, int], grid: WorkGrid
) -> np.ndarray | None:
    like = region & (values >= marrow.low) & (values <= marrow.high)
    like = ndimage.binary_opening(like, structure=ndimage.generate_binary_structure(3, 1), iterations=2)
    lab, n = ndimage.label(like)
    if n == 0:
        return None
    seed = lab[centre] if centre[0] >= 0 else 0
    if seed == 0:
        sizes = ndimage.sum_labels(like, lab, index=np.arange(1, n + 1))
        seed = 1 + int(np.argmax(sizes))
    body = lab == seed
    body = ndimage.binary_closing(body, structure=np.ones((3, 3, 3), dtype=bool), iterations=2)
    # the cortex (a signal void in every sequence) is the body's too: one cortical thickness out
    reach = max(1, round(_CORTEX_MM / float(grid.spacing[1])))
    body = ndimage.binary_dilation(body, structure=ndimage.generate_binary_structure(3, 1), iterations=reach)
    body &= region
    for axis in (0, 2):  # holes closed on axial and sagittal planes: a vein or a Schmorl node is body
        body = np.moveaxis(body, axis, 0)
        for q in np.flatnonzero(body.any(axis=(1, 2))):
            body[q] = ndimage.binary_fill_holes(body[q])
        body = np.moveaxis(body, 0, axis)
    return body


def _run(ok: np.ndarray, centre: int) -> tuple[int, int]:
    """First and last index of the run of ``ok`` through ``centre``."""
    if not ok[centre]:
        return centre, centre
    lo = centre
    while lo > 0 and ok[lo - 1]:
        lo -= 1
    hi = centre
    while hi < len(ok) - 1 and ok[hi + 1]:
        hi += 1
    return lo, hi
