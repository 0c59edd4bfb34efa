"""Vertebral level identification, end to end on one volume (pure: arrays in, labels and report out).

CT needs nothing but HU: bone is ``HU > bone_hu`` inside the trunk. MR (no HU) reuses the same
anatomy rules by passing a bone or vertebral-body mask predicted by a network (``bone_mask``, on the
input grid); the trunk outline then comes from the signal (above 10 % of its 99th percentile). Ribs
must be inside that mask for the rib anchor to be found; a body-only mask can still be split and
named from the sacrum, never from ribs (and says so: no rib-bearing vertebra is found).

MR without a bone mask (a sagittal spine series, which the axial tissue networks cannot read) takes
:mod:`.mr_sagittal`: the bodies from the signal alone, whatever the contrast. The sacrum and ribs are
not recognised from MR signal, so those bodies stay unnamed with the reason said.

A Dixon set's fat-fraction map (``fat_fraction_pct``, MR only) adds what a network's bone mask does
not reliably give (:mod:`.marrow`): discs from the fat fraction along the centreline (fatty marrow
against water-like discs and endplates, the MR counterpart of the HU core profile), and the sacrum
from the marrow at the column's axis below the lowest body. Without it, MR discs come from the bone
mask alone and the sacrum only from a bone mask that covers it.
"""

from __future__ import annotations

import time
from dataclasses import replace

import numpy as np

from imaging.levels import anchors, crests, discs, marrow, mr_sagittal, spine
from imaging.levels.labelling import name_vertebrae
from imaging.levels.model import Anchor, LevelOptions, LevelReport, LevelResult, VertebraFinding
from imaging.levels.workgrid import (
    WorkGrid,
    coverage_on_work,
    labels_to_input,
    resample_to_work,
    work_grid_for,
)
from imaging.segmentation.labels import VERTEBRA_NAMES, LabelMap
from imaging.series_facts import Modality
from imaging.volume import Volume

_VALUE = {name: value for value, name in VERTEBRA_NAMES.items()}
MR_UNNAMED = (
    "MR bodies found from the image alone: the sacrum and ribs are not recognised from MR signal, "
    "so no level can be named"
)
_FRONT_MARGIN_MM = 6.0  # osteophytes and the smoothed edge's error: bone this far in front still counts


def identify_levels(
    volume: Volume,
    bone_mask: np.ndarray | None = None,
    options: LevelOptions | None = None,
    fat_fraction_pct: np.ndarray | None = None,
) -> LevelResult:
    """Find, split and name the vertebrae of ``volume`` (see the module and package docstrings).

    Raises:
        ValueError: ``bone_mask`` or ``fat_fraction_pct`` does not have the volume's shape, or a
            fat-fraction map comes without a bone mask (it is an MR cue; CT uses HU).
    """
    options = options or LevelOptions()
    if fat_fraction_pct is not None:
        if bone_mask is None:
            raise ValueError("a fat-fraction map is an MR cue and needs the MR bone mask (bone_mask)")
        if fat_fraction_pct.shape != volume.shape:
            raise ValueError(
                f"fat_fraction_pct shape {fat_fraction_pct.shape} does not match the volume {volume.shape}"
            )
    if bone_mask is None and volume.meta.modality is Modality.MR:
        return _mr_from_image(volume, options)
    t: dict[str, float] = {}
    t0 = time.perf_counter()
    grid = work_grid_for(volume, options.inplane_mm)
    valid = coverage_on_work(volume, grid)
    bone, trunk = _masks(volume, bone_mask, grid, options)
    t["resample_s"] = time.perf_counter() - t0
    box = _trunk_box(trunk)  # per-slice morphology only where the patient is
    filled = np.zeros_like(bone)
    filled[box] = spine.fill_bone(bone[box], grid, options)
    opened = np.zeros_like(bone)
    opened[box] = spine.open_bodies(filled[box], grid, options)
    try:
        column = spine.trace_column(opened, trunk, grid, options)
    except ValueError as exc:
        return _empty(volume, str(exc), t)
    ff = None
    if fat_fraction_pct is not None:
        # Signal voids (cortex, air: NaN in the map) count as "not marrow" for every fat-fraction cue.
        ff = volume.with_array(np.nan_to_num(fat_fraction_pct.astype(np.float32), nan=-1.0))
        column = _with_sacral_marrow(ff, column, trunk, grid, options)
    hu: tuple[np.ndarray, np.ndarray] | None = None  # CT values for the rib cortex test
    front: np.ndarray | None = None
    if bone_mask is None:
        # one float copy of the HU for every sampler (each would otherwise make its own)
        ct = (np.asarray(volume.array, dtype=np.float32), volume.affine)
        bodies, disc_bone, front = _ct_bodies(ct, column, valid, grid, options)
        blobs, hu = column.blobs, ct
    else:
        blobs, disc_slices, between = _mr_discs(volume, bone_mask, ff, column, grid, options)
        column = replace(column, blobs=blobs)
        bodies = spine.split_bodies(column, valid, grid, options, disc_slices)
        disc_bone = _body_region(between, column, grid)
    t["column_s"] = time.perf_counter() - t0
    if not bodies:
        return _empty(volume, "no complete vertebral body found in the field of view", t)
    sacrum = anchors.find_sacrum(bodies, valid, options)
    ribs = anchors.find_ribs(bone, column, bodies, sacrum, valid, grid, options, hu)
    t["anchors_s"] = time.perf_counter() - t0
    # Bone plus the bodies' filled cross-sections: a hole that filling closed elsewhere (a canal
    # misjudged as marrow) would fuse the arch to the body and widen it in the label map.
    keep = (bone | blobs) & ~ribs.mask & ~disc_bone
    instances_work = _whole_vertebrae(bodies, keep, column, grid, options, front)
    spans = _process_spans(instances_work, len(bodies), grid)
    crest = crests.crest_z_mm(bone & ~ribs.mask, column, grid, valid) if bone_mask is None else None
    report = name_vertebrae(_findings(bodies, sacrum, ribs, column, valid, grid, options, spans), crest)
    report = _with_anchor_warnings(report, bodies, sacrum, options)
    instances = labels_to_input(instances_work, grid, volume)
    lut = np.zeros(len(bodies) + 1, dtype=np.uint8)
    for f in report.vertebrae:
        if f.name is not None:
            lut[f.index + 1] = _VALUE[f.name]
    labels = LabelMap(lut[instances], dict(VERTEBRA_NAMES))
    t["total_s"] = time.perf_counter() - t0
    return LevelResult(labels, instances, report, t)


def _masks(
    volume: Volume, bone_mask: np.ndarray | None, grid: WorkGrid, options: LevelOptions
) -> tuple[np.ndarray, np.ndarray]:
    if bone_mask is None:
        bone, soft = resample_to_work(volume, grid, (options.bone_hu, options.body_hu))
    else:
        if bone_mask.shape != volume.shape:
            raise ValueError(f"bone_mask shape {bone_mask.shape} does not match the volume {volume.shape}")
        (bone,) = resample_to_work(volume.with_array(bone_mask.astype(np.float32)), grid, (0.5,), order=0)
        cut = 0.1 * float(np.percentile(volume.array, 99))
        (soft,) = resample_to_work(volume, grid, (cut,))
        soft |= bone
    trunk = spine.trunk_mask(soft)
    return bone & trunk, trunk


def _trunk_box(trunk: np.ndarray) -> tuple[slice, slice, slice]:
    rows = np.flatnonzero(trunk.any(axis=(0, 2)))
    cols = np.flatnonzero(trunk.any(axis=(0, 1)))
    if rows.size == 0:
        return (slice(None), slice(0, 0), slice(0, 0))
    return (slice(None), slice(int(rows[0]), int(rows[-1]) + 1), slice(int(cols[0]), int(cols[-1]) + 1))


def _with_sacral_marrow(
    ff: Volume, column: spine.Column, trunk: np.ndarray, grid: WorkGrid, options: LevelOptions
) -> spine.Column:
    """MR: the column extended caudally by the marrow at its axis (:func:`marrow.extend_caudally`)."""
    core = spine.core_profile(ff.array, ff.affine, column, grid)
    low, high = marrow.marrow_window(core, column, options)
    if not np.isfinite(low):
        return column
    above_low, above_high = resample_to_work(ff, grid, (low, high))
    return marrow.extend_caudally(column, above_low & ~above_high, trunk, grid, options)


def _ct_bodies(
    hu: tuple[np.ndarray, np.ndarray],
    column: spine.Column,
    valid: np.ndarray,
    grid: WorkGrid,
    options: LevelOptions,
) -> tuple[list[spine.Body], np.ndarray, np.ndarray]:
    """CT bodies between the discs of the straightened sagittal view (:mod:`.discs`), the bone that
    labels no body, and the bodies' anterior edge per working slice (y mm). Wide pieces at the bottom
    are one sacrum, so a remnant S1/S2 disc cannot turn S1 into a lumbar vertebra."""
    values, affine = hu
    midline = discs.fit_midline(column, grid, values, affine)
    view = discs.sagittal_view(values, affine, midline, grid, options)
    found = discs.find_discs(view, grid, options)
    column = replace(column, blobs=column.blobs & ~view.between[:, None, None])
    bodies = discs.bodies_between(found, view, midline, column, valid, grid, options)
    while len(bodies) >= 3:
        widths = [b.width_mm for b in bodies[:-2] if not b.cut_by_fov] or [b.width_mm for b in bodies[:-2]]
        low, last = bodies[-2], bodies[-1]
        if not (anchors.is_wide(low, widths, options) and anchors.is_wide(last, widths, options)):
            break
        merged = spine.Body(
            last.k0, low.k1, low.mask | last.mask, max(low.width_mm, last.width_mm), last.cut_by_fov
        )
        bodies = [*bodies[:-2], merged]
    # bone beside a disc plane, or on a slice the cross-section puts between bodies, labels no body
    no_body = discs.disc_zone(found, view, midline, grid, options) | _body_region(view.between, column, grid)
    return bodies, no_body, midline.front_mm


def _mr_discs(
    volume: Volume,
    bone_mask: np.ndarray,
    ff: Volume | None,
    column: spine.Column,
    grid: WorkGrid,
    options: LevelOptions,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """MR: column blobs with non-disc gaps bridged, the disc slices and the slices between two bodies,
    from the core profile -- the fat fraction (water ~0 %, :func:`marrow.between_slices`) with a
    Dixon set, else the bone mask's fraction (no slice is judged between bodies then)."""
    if ff is not None:
        profile = spine.core_profile(ff.array, ff.affine, column, grid)
        blobs = spine.bridge_gaps(column.blobs, profile, column, 0.0)
        disc_slices = spine.disc_slices(profile, column, grid, 0.0, options.disc_drop)
        between = marrow.between_slices(profile, column, options.disc_drop)
        blobs[between] = False
        return blobs, disc_slices | between, between
    profile = spine.core_profile(bone_mask.astype(np.float32), volume.affine, column, grid)
    blobs = spine.bridge_gaps(column.blobs, profile, column, 0.0)
    disc_slices = spine.disc_slices(profile, column, grid, 0.0, options.disc_drop)
    return blobs, disc_slices, np.zeros_like(disc_slices)


def _body_region(slices: np.ndarray, column: spine.Column, grid: WorkGrid) -> np.ndarray:
    """The body's cross-section (an ellipse a little larger than the body) on ``slices``: bone there is
    an endplate blurred into the disc and labels no vertebra; the arch behind it still does."""
    out = np.zeros(grid.shape, dtype=bool)
    ks = np.flatnonzero(slices)
    if ks.size == 0:
        return out
    xc, yc, hw = column.interpolated()
    x = grid.x_mm(np.arange(grid.shape[2]))
    y = grid.y_mm(np.arange(grid.shape[1]))
    for k in ks:
        a, b = hw[k] + 3.0, 0.8 * hw[k] + 3.0
        out[k] = ((x[None, :] - xc[k]) / a) ** 2 + ((y[:, None] - yc[k]) / b) ** 2 <= 1.0
    return out


def _findings(
    bodies: list[spine.Body],
    sacrum: int | None,
    ribs: anchors.RibFindings,
    column: spine.Column,
    valid: np.ndarray,
    grid: WorkGrid,
    options: LevelOptions,
    process_spans: list[float | None],
) -> list[VertebraFinding]:
    out = []
    for i, (b, bare) in enumerate(zip(bodies, _bare_findings(bodies, grid), strict=True)):
        sides = tuple(sorted({r.side for r in ribs.ribs if r.body_index == i}))
        assessable = i not in ribs.unresolved and anchors.ribs_assessable(b, column, valid, grid, options)
        out.append(
            replace(
                bare,
                ribs=sides if i != sacrum else (),
                ribs_assessable=assessable,
                is_sacrum=i == sacrum,
                process_span_mm=process_spans[i],
            )
        )
    return out


def _bare_findings(bodies: list[spine.Body], grid: WorkGrid) -> list[VertebraFinding]:
    """Each body as found: where it is, whether the scan cuts it; no name, ribs or anchor yet."""
    ranges = anchors.body_z_ranges(bodies, grid)
    out = []
    for i, b in enumerate(bodies):
        centroid = grid.affine[:3, :3] @ np.argwhere(b.mask).mean(axis=0) + grid.affine[:3, 3]
        out.append(
            VertebraFinding(
                index=i,
                name=None,
                z_range_mm=ranges[i],
                centroid_lps=tuple(float(c) for c in centroid),  # type: ignore[arg-type]
                cut_by_fov=b.cut_by_fov,
                ribs=(),
                ribs_assessable=False,
            )
        )
    return out


def _process_spans(instances: np.ndarray, n: int, grid: WorkGrid) -> list[float | None]:
    """Left-right span of each whole vertebra (instance 1..n on the working grid), tip to tip of its
    transverse processes: the 99.5th percentile either side of its own median x, so a stray voxel
    does not count. None where the vertebra has no voxel."""
    x = grid.x_mm(np.arange(grid.shape[2]))
    out: list[float | None] = []
    for v in range(1, n + 1):
        xs = x[np.nonzero(instances == v)[2]]
        if xs.size == 0:
            out.append(None)
            continue
        mid = float(np.median(xs))
        out.append(float(np.percentile(xs - mid, 99.5) + np.percentile(mid - xs, 99.5)))
    return out


def _with_anchor_warnings(
    report: LevelReport, bodies: list[spine.Body], sacrum: int | None, options: LevelOptions
) -> LevelReport:
    """Flag a wide (transitional-looking) vertebra above the sacrum: fused transverse processes."""
    widths = [b.width_mm for b in bodies if not b.cut_by_fov]
    extra = []
    if sacrum is not None and sacrum >= 1 and anchors.is_wide(bodies[sacrum - 1], widths, options):
        extra.append(
            "the vertebra above the sacrum is sacrum-wide: possible lumbosacral transitional vertebra"
        )
    if not extra:
        return report
    conf = min(report.confidence, 0.5) if report.established else report.confidence
    return LevelReport(
        report.anchor, report.established, conf, report.reason, report.vertebrae, report.lumbar_count,
        report.warnings + tuple(extra),
    )  # fmt: skip


def _whole_vertebrae(
    bodies: list[spine.Body],
    bone: np.ndarray,
    column: spine.Column,
    grid: WorkGrid,
    options: LevelOptions,
    front_mm: np.ndarray | None = None,
) -> np.ndarray:
    """Instance labels (1 = most cranial) grown from each body into its posterior elements; never in
    front of the bodies' anterior edge (``front_mm``, CT), where contrast in the aorta or the crura
    passes the bone threshold."""
    seeds = np.zeros(bone.shape, dtype=np.uint8)
    for i, b in enumerate(bodies):
        seeds[b.mask] = i + 1
    xc, yc, hw = column.interpolated()
    x = grid.x_mm(np.arange(bone.shape[2]))
    y = grid.y_mm(np.arange(bone.shape[1]))
    lateral_ok = np.abs(x[None, :] - xc[:, None]) <= hw[:, None] + options.lateral_reach_mm  # (z, x)
    depth = y[None, :] - yc[:, None]  # (z, y)
    ap_ok = (depth >= -hw[:, None]) & (depth <= options.posterior_reach_mm)
    if front_mm is not None:
        ap_ok &= y[None, :] >= front_mm[:, None] - _FRONT_MARGIN_MM
    region = lateral_ok[:, None, :] & ap_ok[:, :, None]
    reach = options.posterior_reach_mm + options.lateral_reach_mm
    # Posterior elements reach below the body (spinous processes, inferior facets) more than above.
    windows = {}
    for i, b in enumerate(bodies):
        h = b.k1 - b.k0 + 1
        windows[i + 1] = (b.k0 - int(0.8 * h), b.k1 + int(0.4 * h))
    # Bone that touches no body (a neighbour's process cut by the FOV) stays unlabelled.
    return spine.grow_vertebrae(seeds, bone, region, grid, reach, windows)


def _mr_from_image(volume: Volume, options: LevelOptions) -> LevelResult:
    """MR without a bone mask: bodies from the signal (:mod:`.mr_sagittal`), counted, never named."""
    t0 = time.perf_counter()
    try:
        grid, bodies = mr_sagittal.find_mr_bodies(volume, options)
    except ValueError as exc:
        return _empty(volume, str(exc), {"total_s": time.perf_counter() - t0})
    if not bodies:
        return _empty(volume, "no complete vertebral body found in the field of view", {})
    instances_work = np.zeros(grid.shape, dtype=np.uint8)
    for i, b in enumerate(bodies):
        instances_work[b.mask] = i + 1
    vertebrae = tuple(_bare_findings(bodies, grid))
    report = LevelReport(Anchor.NONE, False, 0.0, MR_UNNAMED, vertebrae, None, ())
    instances = labels_to_input(instances_work, grid, volume)
    labels = LabelMap(np.zeros(volume.shape, dtype=np.uint8), dict(VERTEBRA_NAMES))
    return LevelResult(labels, instances, report, {"total_s": time.perf_counter() - t0})


def _empty(volume: Volume, why: str, t: dict[str, float]) -> LevelResult:
    report = LevelReport(Anchor.NONE, False, 0.0, why, (), None, ())
    zeros = np.zeros(volume.shape, dtype=np.uint8)
    return LevelResult(LabelMap(zeros, dict(VERTEBRA_NAMES)), zeros.copy(), report, t)
