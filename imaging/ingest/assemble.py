"""Turn the instances of one series into a :class:`~imaging.volume.Volume` with exact geometry.

The order of work is chosen so that geometry is settled from headers before any pixel is decoded,
and every pixel is decoded exactly once straight into the pre-allocated output:

1. every frame's plane and rescale (:mod:`imaging.ingest.frames`);
2. common orientation/matrix checks, duplicates resolved (identical pixels dropped with a warning,
   different pixels refused), spacing/tilt rules (:mod:`imaging.ingest.geometry`);
3. pixels decoded per instance (thread or process pool, :mod:`imaging.ingest.decode`) into their
   final slot, rescaled on the way;
4. gantry tilt resampled onto the orthogonal grid (:mod:`imaging.ingest.tilt`), recorded in
   ``meta['corrections']``.

Every refusal is an :class:`IngestError` naming the series (and file) and the fault.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import numpy as np
import pydicom

from imaging.ingest import geometry
from imaging.ingest.decode import decode_stack, default_workers
from imaging.ingest.frames import FrameRef, frames_of
from imaging.ingest.model import IngestError, Instance
from imaging.ingest.pixels import PixelFormat, narrow_integers, pixel_format, read_frames
from imaging.ingest.series_meta import series_meta
from imaging.ingest.tilt import shear_correct
from imaging.volume import Volume


def assemble_volume(instances: Sequence[Instance], *, workers: int | None = None) -> Volume:
    """Assemble one series into a Volume (array [slice,row,column], affine to LPS mm).

    Raises:
        IngestError: naming the series and the problem (mixed orientation, missing slices,
            different images at one position, colour data, undecodable pixels...).
    """
    if not instances:
        raise IngestError("no DICOM instances given for the volume")
    first = instances[0].header
    where = _series_name(first)
    warnings: list[str] = []
    fmt = _common_format(instances, where)
    refs = [
        ref
        for i, inst in enumerate(instances)
        for ref in frames_of(i, inst.header, str(inst.source), warnings)
    ]
    if fmt_tile := refs[0].tile:
        fmt = PixelFormat(fmt_tile.rows, fmt_tile.columns, fmt.bits_allocated, fmt.bits_stored, fmt.signed)
    geometry.check_common_orientation([r.plane for r in refs], [r.label for r in refs], where)
    refs, dropped = _resolve_duplicates(refs, instances, fmt, where)
    if dropped:
        warnings.append(dropped)
    single_spacing, spacing_source = _single_slice_spacing(first) if len(refs) == 1 else (None, None)
    stack = geometry.build_stack([r.plane for r in refs], where, single_spacing)
    warnings.extend(stack.warnings)
    ordered = [refs[i] for i in stack.order]

    array, padding = decode_stack(ordered, instances, fmt, where, workers or default_workers())
    array = narrow_integers(array)
    corrections: list[str] = []
    meta = series_meta(first)
    if stack.tilted:
        fill = float(array.min())
        shift_rows, shift_cols = stack.shift_px_per_slice
        array = shear_correct(array, stack.shift_px_per_slice, fill)
        corrections.append(
            f"gantry tilt {stack.tilt_deg:.2f} deg: slices stacked obliquely to their normal were "
            f"shifted in-plane by {shift_rows:.4f} rows and {shift_cols:.4f} columns per slice onto a grid "
            f"stacked along the normal (linear interpolation, uncovered voxels = {fill:g})"
        )
    _check_tilt_tag(meta.gantry_tilt_deg, stack, warnings)
    shift_rows, shift_cols = stack.shift_px_per_slice
    meta = replace(
        meta,
        n_instances=len(instances),
        slice_spacing_mm=stack.slice_spacing_mm,
        slice_spacing_source=spacing_source or "positions",
        rescale=_rescale_summary(ordered),
        dtype=str(array.dtype),
        padding=padding,
        tilt_deg=stack.tilt_deg,
        tilt_shift_px_per_slice=(float(shift_rows), float(shift_cols)),
        warnings=tuple(warnings),
        corrections=tuple(corrections),
    )
    return Volume(array, stack.affine, meta)


def _series_name(ds: pydicom.Dataset) -> str:
    uid = str(ds.get("SeriesInstanceUID", "") or "?")
    desc = str(ds.get("SeriesDescription", "") or "").strip()
    return f"series {uid}" + (f" ({desc})" if desc else "")


def _common_format(instances: Sequence[Instance], where: str) -> PixelFormat:
    formats = [pixel_format(inst.header, f"{where}: {inst.source}") for inst in instances]
    for inst, fmt in zip(instances[1:], formats[1:], strict=True):
        if (fmt.rows, fmt.columns) != (formats[0].rows, formats[0].columns):
            raise IngestError(
                f"{where}: matrix differs between images: {inst.source} is {fmt.rows}x{fmt.columns}, "
                f"{instances[0].source} is {formats[0].rows}x{formats[0].columns}"
            )
    widest = max(formats, key=lambda f: (f.bits_allocated, f.bits_stored))
    if len({(f.bits_allocated, f.bits_stored, f.signed) for f in formats}) > 1:
        # mixed depth/sign inside one series: decode each with its own format, hold in a wide signed type
        return PixelFormat(widest.rows, widest.columns, 32, 32, True)
    return widest


def _single_slice_spacing(ds: pydicom.Dataset) -> tuple[float | None, str | None]:
    for key in ("SpacingBetweenSlices", "SliceThickness"):
        value = ds.get(key)
        if value not in (None, "") and float(value) > 0:
            return float(value), key
    return None, None


def _resolve_duplicates(
    refs: list[FrameRef], instances: Sequence[Instance], fmt: PixelFormat, where: str
) -> tuple[list[FrameRef], str | None]:
    """Drop exact duplicates (same position, identical pixels); refuse different images at one position."""
    normal = refs[0].plane.normal
    along = geometry.positions_along([r.plane for r in refs], normal)
    order = geometry.sort_along(along)
    groups = geometry.duplicate_groups(along[order])
    if not groups:
        return refs, None
    drop: set[int] = set()
    for group in groups:
        members = [int(order[g]) for g in group]
        z = float(along[members[0]])
        labels = ", ".join(refs[m].label for m in members[:4]) + (" ..." if len(members) > 4 else "")
        differing = _differing_attributes([refs[m] for m in members])
        n_positions = len(groups) + len(refs) - sum(len(g) for g in groups)
        why = f"{len(members)} different images at z={z:.3f} mm ({labels})"
        if differing:
            raise IngestError(
                f"{where}: {why} differing in {', '.join(differing)}: {len(refs)} images at {n_positions} "
                "position(s), i.e. several stacks (echoes, time points, image types) in one series; "
                "not a single volume"
            )
        pixels = [_stored_frame(refs[m], instances, fmt, where) for m in members]
        same = all(
            np.array_equal(pixels[0], p) and refs[m].rescale == refs[members[0]].rescale
            for p, m in zip(pixels[1:], members[1:], strict=True)
        )
        if not same:
            raise IngestError(
                f"{where}: {why}: not a single volume (repeated acquisition or several stacks?)"
            )
        drop.update(members[1:])
    kept = [r for i, r in enumerate(refs) if i not in drop]
    return kept, f"dropped {len(drop)} duplicate image(s) with identical pixels at the same position"


def _differing_attributes(refs: list[FrameRef]) -> list[str]:
    keys = {k for r in refs for k, _ in r.distinct}
    values = [dict(r.distinct) for r in refs]
    return sorted(k for k in keys if len({v.get(k) for v in values}) > 1)


def _stored_frame(ref: FrameRef, instances: Sequence[Instance], fmt: PixelFormat, where: str) -> np.ndarray:
    ds = instances[ref.instance].source.read()
    own = pixel_format(ds, f"{where}: {ref.label}")
    arr = read_frames(ds, own, [ref.frame], f"{where}: {ref.label}")[0]
    return ref.tile.cut(arr) if ref.tile else arr


def _rescale_summary(refs: list[FrameRef]) -> dict[str, Any]:
    slopes = sorted({r.rescale.slope for r in refs})
    intercepts = sorted({r.rescale.intercept for r in refs})
    return {
        "slope": slopes[0] if len(slopes) == 1 else None,
        "intercept": intercepts[0] if len(intercepts) == 1 else None,
        "per_slice": len(slopes) > 1 or len(intercepts) > 1,
    }


def _check_tilt_tag(tag_deg: Any, stack: geometry.Stack, warnings: list[str]) -> None:
    """Cross-check GantryDetectorTilt with the tilt the positions show (they may legitimately differ:
    a reconstruction can already be re-sliced along the normal, in which case no correction is needed)."""
    if tag_deg is None:
        return
    tag = abs(float(tag_deg))
    if tag > 0.01 and not stack.tilted:
        warnings.append(
            f"GantryDetectorTilt is {float(tag_deg):g} deg but slices are stacked along their normal "
            "(tilt already resolved in the reconstruction); no correction needed"
        )
    elif stack.tilted and abs(tag - stack.tilt_deg) > 1.0:
        warnings.append(
            f"GantryDetectorTilt {float(tag_deg):g} deg differs from the {stack.tilt_deg:.2f} deg shear of "
            "the slice positions; the positions were used"
        )
