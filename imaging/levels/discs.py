"""CT: the intervertebral discs read off a straightened mid-sagittal view, and the bodies between them.

A reader counts vertebrae on a sagittal reformat: each disc is a dark band between two bright
endplates, tilted with the lordosis, and every body lies between two discs. Per-slice bone blobs
cannot see that on real spines: a broken cortex (basivertebral vein), marrow darker than the bone
threshold, vacuum or collapsed discs and osteophytes bridging them split one body in two or fuse
two, and the count shifts.

So, on CT:

1. The column's traced cross-sections give a smooth midline: its x and the *anterior edge* of the
   bodies along z (the front of a body is where the bone blob starts; the blob's centre jumps when
   a pedicle or a contrast-filled vessel joins it, its front does not).
2. A slab (3 planes 3 mm apart) is resampled along that midline into a straightened sagittal image:
   rows are working slices, columns millimetres behind the anterior edge.
3. Each slice is scored as a disc: for tilts of -24..24 degrees, the mean along a line across the
   body's depth is compared with the brightest parallel line 1.5-6 mm above and below it; the disc
   score is how far the line sits below the *dimmer* of those two (a valley between two endplates),
   as a fraction of that flank's height above soft tissue (so dense and osteoporotic bone, native and
   contrast CT read alike). Inside a body nothing bright flanks the marrow on both sides, so a
   basivertebral vein or dark marrow scores low; a vacuum disc scores high.
4. Peaks of the score, strongest first, at least ``min_disc_spacing_mm`` apart, at least
   ``min_disc_depth`` deep and at least 0.45x as deep as the typical of the three deepest, are the
   discs; then spacings are made consistent with their neighbours
   (:func:`_regularise`).
5. The bodies are the column's cross-sections (:func:`.spine.open_bodies`) between consecutive disc
   planes (endplate partial volume within
   ``disc_half_thickness_mm`` of a plane is left out). A piece reaching the end of the field of view
   is cut by it; the lowest piece may be the sacrum, which the width test of :mod:`.anchors` decides
   (wide pieces at the bottom are one sacrum: a remnant S1/S2 disc must not make S1 a lumbar vertebra).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from imaging.levels.model import LevelOptions
from imaging.levels.spine import (
    Body,
    Column,
    _median_width,
    _nan_median_filter,
    core_profile,
    fov_edge,
    nonbody_slices,
    rim_profile,
)
from imaging.levels.workgrid import WorkGrid

_TILTS_DEG = np.arange(-24.0, 25.0, 3.0)
_FLANK_MM = np.arange(1.5, 6.1, 1.5)  # where the endplates flanking a disc are looked for
_SLAB_OFFSETS_MM = (-3.0, 0.0, 3.0)  # lateral planes averaged into the sagittal view
_VIEW_MM = (-20.0, 80.0, 0.6)  # straightened view: from 20 mm in front of the bodies to 80 mm behind
_CANAL_STEP_MM = 0.6
# A disc is at least this fraction as deep as the typical of the three deepest: a body's own dark
# middle (basivertebral vein, fatty marrow) between bright endplates reads about a third of a disc.
_RELATIVE_DEPTH = 0.4
_MIN_INSERTED_DEPTH = 0.2  # a valley this shallow is a disc only where the spacing calls for one
# A slice between bodies by its cross-section (no ring, or a flat plate) where thick slices show no
# valley: a disc, ranked above the floors of the valley scores but below any clear valley.
_PLATE_SCORE = 0.5


@dataclass(frozen=True)
class Midline:
    """Smoothed column midline per working slice: x (patient left, mm) and the bodies' anterior edge
    (y, mm; posterior is +), with the median body half-width."""

    x_mm: np.ndarray
    front_mm: np.ndarray
    half_width_mm: float

    @property
    def depth_mm(self) -> float:
        """The band across a body that disc lines are scored on (a body is ~1.5 half-widths deep)."""
        return 1.3 * self.half_width_mm


@dataclass(frozen=True)
class Disc:
    """One disc: its plane crosses the band's centre at working slice ``k`` (fractional) and rises
    ``slope`` working slices per millimetre towards the back; ``score`` is its valley depth (HU)."""

    k: float
    slope: float
    score: float

    def plane_k(self, offset_mm: np.ndarray | float, band_centre_mm: float) -> np.ndarray:
        """Working slice of the plane at ``offset_mm`` behind the anterior edge."""
        return self.k + self.slope * (np.asarray(offset_mm, dtype=float) - band_centre_mm)


@dataclass(frozen=True)
class SagittalView:
    """The straightened mid-sagittal image (HU) and the disc score along the column (for QA)."""

    image: np.ndarray  # (working slice, offset behind the anterior edge)
    offsets_mm: np.ndarray
    score: np.ndarray  # per working slice; NaN where no tilt fits in the field of view
    slope: np.ndarray  # the best-scoring tilt per working slice (slices per mm)
    band_centre_mm: float
    between: np.ndarray  # per working slice: between two bodies by its cross-section


def fit_midline(column: Column, grid: WorkGrid, values: np.ndarray, affine: np.ndarray) -> Midline:
    """Robust, smooth midline: x from the traced column, the bodies' front from the spinal canal.

    The canal is the one landmark real CT never blurs: cerebrospinal fluid (under ~60 HU) directly
    behind the bodies, never filled by contrast. Its front wall on the midline
    plane, found per slice and smoothed (median over ~41 mm, then a Gaussian), minus a body depth of
    1.45 half-widths, is the front; the bone blobs' own front edge jumps wherever a broken cortex or
    dark marrow opens them away, or a contrast-filled aorta or crus joins them.
    """
    dz = float(grid.spacing[0])
    xs = _smooth(column.x_mm, dz)
    hw = float(np.nanmedian(column.half_width_mm))
    ys = float(np.nanmedian(column.y_mm)) + np.arange(-30.0, 80.0, _CANAL_STEP_MM)
    plane = _plane(values, affine, xs, np.broadcast_to(ys, (grid.shape[0], ys.size)), grid)
    expected = _smooth(column.y_mm, dz) + 0.725 * hw  # the bodies' back, roughly
    back = np.array([_canal_front(plane[k], ys, expected[k]) for k in range(grid.shape[0])])
    if not np.isfinite(back).any():  # no canal found (a bone mask without the arch): the blobs' centre
        back = column.y_mm + 0.725 * column.half_width_mm
    return Midline(xs, _smooth(back, dz) - 1.45 * hw, hw)


def _plane(
    values: np.ndarray, affine: np.ndarray, xs: np.ndarray, ys: np.ndarray, grid: WorkGrid
) -> np.ndarray:
    """(working slice, sample) values of a sagittal plane: at x ``xs[k]`` and y ``ys[k, :]`` (mm) on
    each working slice, sampled by world position (pass float32 ``values`` to avoid a copy)."""
    inv = np.linalg.inv(affine)
    src = np.asarray(values, dtype=np.float32)
    nz, n = ys.shape
    pts = np.stack([np.repeat(xs, n), ys.ravel(), np.repeat(grid.z_mm(np.arange(nz)), n)])
    coords = inv[:3, :3] @ pts + inv[:3, 3:4]
    return ndimage.map_coordinates(src, coords, order=1, mode="nearest").reshape(nz, n).astype(np.float32)


def _canal_front(profile: np.ndarray, ys: np.ndarray, expected: float) -> float:
    """y where a run of >= 8 mm under 60 HU (fluid) starts with bone or marrow (over 120 HU) within
    10 mm in front of it -- on the midline the posterior cortex is often broken by the basivertebral
    vein, so marrow may be what borders the canal -- taking the start nearest ``expected`` and within
    15 mm of it: fatty marrow behind the anterior cortex can read like fluid, but lies a body's depth
    further forward."""
    run = round(8.0 / _CANAL_STEP_MM)
    reach = round(10.0 / _CANAL_STEP_MM)
    dark = profile < 60.0
    runs = np.convolve(dark.astype(int), np.ones(run, dtype=int), mode="valid") == run
    starts = [
        i
        for i in np.flatnonzero(runs)
        if i >= reach and not runs[i - 1] and profile[i - reach : i].max() > 120.0
    ]
    if not starts:
        return float("nan")
    best = min(starts, key=lambda i: abs(ys[i] - expected))
    return float(ys[best]) if abs(ys[best] - expected) <= 15.0 else float("nan")


def _smooth(v: np.ndarray, dz: float, window_mm: float = 41.0, sigma_mm: float = 6.0) -> np.ndarray:
    m = _nan_median_filter(v, max(3, round(window_mm / dz) | 1))
    k = np.arange(len(v))
    ok = np.isfinite(m)
    m = np.interp(k, k[ok], m[ok])
    return ndimage.gaussian_filter1d(m, sigma_mm / dz, mode="nearest")


def sagittal_view(
    values: np.ndarray, affine: np.ndarray, midline: Midline, grid: WorkGrid, options: LevelOptions
) -> SagittalView:
    """The straightened view of ``values`` (input grid, sampled by world position) and its disc score."""
    lo, hi, step = _VIEW_MM
    offsets = np.arange(lo, hi, step)
    ys = midline.front_mm[:, None] + offsets[None, :]
    planes = [_plane(values, affine, midline.x_mm + dx, ys, grid) for dx in _SLAB_OFFSETS_MM]
    image = np.mean(planes, axis=0).astype(np.float32)
    band = (offsets >= 4.0) & (offsets <= midline.depth_mm)
    centre = float(offsets[band].mean())
    score, slope = _disc_scores(image, offsets, band, centre, float(grid.spacing[0]), options.soft_tissue_hu)
    between, core = _between_slices(values, affine, midline, grid, options.bone_hu)
    lab, n = ndimage.label(between)
    for v in range(1, n + 1):  # each run's centre is a disc candidate; a darker core, a surer disc
        k = round(float(np.mean(np.flatnonzero(lab == v))))
        candidate = _PLATE_SCORE + 0.1 * float(np.clip(1.0 - core[k] / options.bone_hu, 0.0, 1.0))
        if not score[k] >= candidate:
            score[k], slope[k] = candidate, 0.0
    return SagittalView(image, offsets, score, slope, centre, between)


def _between_slices(
    values: np.ndarray, affine: np.ndarray, midline: Midline, grid: WorkGrid, bone_hu: float
) -> tuple[np.ndarray, np.ndarray]:
    """Working slices that lie between two bodies by the axial cross-section
    (:func:`.spine.nonbody_slices`): no cortical ring at all (the disc itself), or a flat bright plate
    with no ring brighter than its core (a thick slice holding a disc and both endplates). Thick
    slices show no valley to score there: an endplate is missing or merged with the disc. Also
    returns the core profile (values near the axis per working slice)."""
    nz = grid.shape[0]
    centre_y = midline.front_mm + 0.725 * midline.half_width_mm
    axis = Column(midline.x_mm, centre_y, np.full(nz, midline.half_width_mm), np.zeros((0, 0, 0), bool))
    core = core_profile(values, affine, axis, grid)
    rim = rim_profile(values, affine, axis, grid)
    return nonbody_slices(core, rim, axis, bone_hu), core


def _disc_scores(
    image: np.ndarray, offsets: np.ndarray, band: np.ndarray, centre: float, dz: float, soft_hu: float
) -> tuple[np.ndarray, np.ndarray]:
    """Per working slice the best valley score over the tilts, and that tilt's slope (slices/mm)."""
    nz = image.shape[0]
    cols = np.flatnonzero(band).astype(float)
    rel = offsets[band] - centre
    flank = _FLANK_MM / dz
    score = np.full(nz, np.nan)
    slope = np.zeros(nz)
    for t in np.tan(np.deg2rad(_TILTS_DEG)):
        s = t / dz
        shift = s * rel
        # mean along the line through every slice (and through every flank offset), in one pass
        ks = np.arange(nz, dtype=float)[:, None] + shift[None, :]
        line = _line_medians(image, ks, cols)
        up = np.max([_endplate(image, ks + f, cols) for f in flank], axis=0)
        down = np.max([_endplate(image, ks - f, cols) for f in flank], axis=0)
        flanks = np.minimum(up, down)
        val = (flanks - line) / np.maximum(flanks - soft_hu, 50.0)
        better = np.isfinite(val) & ~(val <= score)  # NaN score counts as worse
        score[better] = val[better]
        slope[better] = s
    return score, slope


def _endplate(image: np.ndarray, ks: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """An endplate line's level: the dimmer of its anterior and posterior halves. An endplate spans
    the body; a tilted line through a body's marrow that touches one endplate at one end is bright
    in one half only."""
    n = ks.shape[1]
    a, half, b = n // 8, n // 2, n - n // 8  # the band's outer eighths may miss a small body's wall
    front = _line_means(image, ks[:, a:half], cols[a:half])
    back = _line_means(image, ks[:, half:b], cols[half:b])
    return np.minimum(front, back)


def _line_medians(image: np.ndarray, ks: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """Median along each line: a disc is dark across most of the body, even where an osteophyte or
    the ring apophysis brightens one end of it."""
    vals, ok = _line_samples(image, ks, cols)
    out = np.full(ks.shape[0], np.nan)
    out[ok] = np.nanmedian(vals[ok], axis=1)
    return out


def _line_means(image: np.ndarray, ks: np.ndarray, cols: np.ndarray) -> np.ndarray:
    vals, ok = _line_samples(image, ks, cols)
    out = np.full(ks.shape[0], np.nan)
    out[ok] = np.nanmean(vals[ok], axis=1)
    return out


def _line_samples(image: np.ndarray, ks: np.ndarray, cols: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``image`` along each row of ``ks`` (fractional slices) at ``cols``, NaN beyond the field of
    view, and which lines stay at least four fifths inside it (the others have no value)."""
    nz = image.shape[0]
    inside = (ks >= 0) & (ks <= nz - 1)
    coords = [np.clip(ks, 0, nz - 1).ravel(), np.broadcast_to(cols, ks.shape).ravel()]
    vals = ndimage.map_coordinates(image, coords, order=1).reshape(ks.shape)
    return np.where(inside, vals, np.nan), inside.sum(axis=1) >= 0.8 * ks.shape[1]


def find_discs(view: SagittalView, grid: WorkGrid, options: LevelOptions) -> list[Disc]:
    """The disc planes, cranial first (see the module docstring, step 4)."""
    dz = float(grid.spacing[0])
    s = np.nan_to_num(view.score, nan=-np.inf)
    peaks = [k for k in range(len(s)) if np.isfinite(s[k]) and s[k] >= s[max(0, k - 1) : k + 2].max()]
    min_gap = options.min_disc_spacing_mm / dz
    strongest = sorted((float(s[k]) for k in peaks), reverse=True)[:3]
    floor = max(options.min_disc_depth, _RELATIVE_DEPTH * float(np.median(strongest))) if strongest else 0.0
    chosen: list[int] = []
    for k in sorted(peaks, key=lambda k: -s[k]):
        if s[k] < floor:
            break
        if all(abs(k - c) >= min_gap for c in chosen):
            chosen.append(k)
    chosen = _regularise(sorted(chosen), peaks, s, min_gap)
    return [Disc(float(k), float(view.slope[k]), float(s[k])) for k in sorted(chosen, reverse=True)]


def _neighbour_gap(gaps: np.ndarray, i: int) -> float:
    near = [float(gaps[j]) for j in (i - 1, i + 1) if 0 <= j < len(gaps)]
    return max(near) if near else float(gaps[i])


def _regularise(chosen: list[int], peaks: list[int], s: np.ndarray, min_gap: float) -> list[int]:
    """Neighbouring vertebrae differ little in height, so a spacing over 1.6x its neighbours' gets the
    best valley in its middle third (a disc flattened by collapse, osteophytes or thick slices), and
    then one under 0.6x its neighbours' loses the weaker disc (a vein or marrow texture scored as a
    disc). Insertion comes first: with three discs, one long gap also makes the other look short."""
    for _ in range(2 * len(chosen) + 2):
        if len(chosen) < 3:
            return chosen
        gaps = np.diff(chosen)
        inserted = False
        for i in range(len(gaps)):
            if gaps[i] <= 1.6 * _neighbour_gap(gaps, i):
                continue
            a, b = chosen[i], chosen[i + 1]
            third = (b - a) / 3.0
            inner = [k for k in peaks if a + third <= k <= b - third and s[k] >= _MIN_INSERTED_DEPTH]
            if inner:
                chosen.insert(i + 1, max(inner, key=lambda k: s[k]))
                inserted = True
                break
        if inserted:
            continue
        for i in range(len(gaps)):
            if gaps[i] >= 0.6 * _neighbour_gap(gaps, i):
                continue
            weaker = i if s[chosen[i]] < s[chosen[i + 1]] else i + 1
            if _merge_fits(gaps, weaker):
                chosen.pop(weaker)
                break
        else:
            return chosen
    return chosen


def _merge_fits(gaps: np.ndarray, disc: int) -> bool:
    """Would dropping ``disc`` (an index into the sorted discs) leave a spacing like the others? An
    end disc always may go; an inner one only if the merged spacing is at most 1.4x the median of
    the spacings it does not touch (with none left to compare, nothing says it is spurious)."""
    if disc == 0 or disc == len(gaps):
        return True
    merged = gaps[disc - 1] + gaps[disc]
    others = np.delete(gaps, [disc - 1, disc])
    return others.size > 0 and merged <= 1.4 * float(np.median(others))


def _without_slivers(mask: np.ndarray) -> np.ndarray:
    """A body is one piece of bone: where a tilted plane leaves a sliver of the neighbour on one side
    (the sacrum's top behind a lordotic L5/S1 disc), the sliver -- a component under a quarter the
    size of the largest -- is not part of it. Large parts stay (a sacrum's segments)."""
    lab, n = ndimage.label(mask)
    if n <= 1:
        return mask
    sizes = ndimage.sum_labels(mask, lab, index=np.arange(1, n + 1))
    return np.isin(lab, 1 + np.flatnonzero(sizes >= 0.25 * sizes.max()))


def disc_zone(
    discs: list[Disc], view: SagittalView, midline: Midline, grid: WorkGrid, options: LevelOptions
) -> np.ndarray:
    """The body's cross-section within ``disc_half_thickness_mm`` of each disc plane (z, y, x): bone
    there is endplate blurred into the disc and belongs to no vertebra; the arch beside it still does."""
    nz, ny, nx = grid.shape
    k = np.arange(nz, dtype=float)[:, None]
    offset = grid.y_mm(np.arange(ny))[None, :] - midline.front_mm[:, None]
    half = options.disc_half_thickness_mm / float(grid.spacing[0])
    near = np.zeros((nz, ny), dtype=bool)
    for d in discs:
        near |= np.abs(k - d.plane_k(offset, view.band_centre_mm)) <= half
    near &= (offset >= -6.0) & (offset <= 1.6 * midline.half_width_mm)
    x = grid.x_mm(np.arange(nx))
    across = np.abs(x[None, :] - midline.x_mm[:, None]) <= midline.half_width_mm + 6.0
    return near[:, :, None] & across[:, None, :]


def bodies_between(
    discs: list[Disc],
    view: SagittalView,
    midline: Midline,
    column: Column,
    valid: np.ndarray,
    grid: WorkGrid,
    options: LevelOptions,
) -> list[Body]:
    """The column's bone between consecutive disc planes, cranial first (module docstring, step 5)."""
    nz, ny, nx = grid.shape
    dz, _, dx = grid.spacing
    k = np.arange(nz, dtype=float)[:, None]
    offset = grid.y_mm(np.arange(ny))[None, :] - midline.front_mm[:, None]  # (z, y) mm behind the front
    half = options.disc_half_thickness_mm / dz
    planes = [d.plane_k(offset, view.band_centre_mm) for d in discs]  # (z, y) each
    x = grid.x_mm(np.arange(nx))
    across = np.abs(x[None, :] - midline.x_mm[:, None]) <= midline.half_width_mm + 6.0  # (z, x)
    deep = (offset >= -6.0) & (offset <= 1.6 * midline.half_width_mm)  # (z, y): the body, not its arch
    region = column.blobs & deep[:, :, None] & across[:, None, :]
    bounds = [np.full((nz, ny), np.inf), *planes, np.full((nz, ny), -np.inf)]
    edge = fov_edge(valid, 1 + int(options.fov_margin_mm // dz))
    pieces = []
    for i in range(len(bounds) - 1):
        above, below = bounds[i], bounds[i + 1]
        inside = (k < above - half) & (k > below + half)  # (z, y)
        m = _without_slivers(region & inside[:, :, None])
        blobs = column.blobs & inside[:, :, None]
        ks = np.flatnonzero(m.any(axis=(1, 2)))
        if ks.size == 0:
            continue
        k0, k1 = int(ks[0]), int(ks[-1])
        cut = bool((m & edge).any())
        if (k1 - k0 + 1) * dz < options.min_body_height_mm and not cut:
            continue
        pieces.append(Body(k0, k1, m, _median_width(blobs, k0, k1, dx), cut))
    return pieces
