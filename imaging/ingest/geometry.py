"""Slice geometry: from per-frame planes to one orthogonal affine, or a refusal that says why.

Pure functions on numbers, no DICOM parsing, so every rule below is tested on hand-made planes.

Rules (documented here because users and reviewers need them, not just the code):

* Slices are ordered by their position projected on the slice normal ``row_cosine x col_cosine``,
  never by InstanceNumber or file name.
* All slices must share orientation (cosines within ``ORIENTATION_TOL``), matrix and pixel spacing.
* Two slices at the same position (within ``DUPLICATE_TOL_MM``) are duplicates; the caller decides
  whether their pixels are identical (drop one) or not (refuse: not a single volume).
* Spacing between neighbours along the normal: a gap above ``GAP_FACTOR`` x the median is a missing
  slice (refuse, naming the positions). Otherwise the spacing must be regular: a deviation from the
  mean of at most ``max(SPACING_ABS_TOL_MM, SPACING_REL_TOL x mean)`` is accepted (it is rounding of
  the stored positions) and the mean spacing is used; a deviation above ``SPACING_WARN_MM`` inside
  that tolerance is reported as a warning. Anything larger is refused as irregular spacing, because a
  single affine cannot place those slices correctly.
* Gantry tilt: the stacking direction (first to last position) may leave the normal. If the in-plane
  drift over the whole stack exceeds ``TILT_DRIFT_TOL_PX`` of a pixel, the series is tilted; the result
  carries the per-slice in-plane shift so the caller can resample every slice onto a grid stacked
  exactly along the normal (see :mod:`imaging.ingest.tilt`). Positions that do not lie on one straight
  line are refused.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from imaging.ingest.model import IngestError

ORIENTATION_TOL = 1e-3  # direction cosines: about 0.06 degrees
PIXEL_SPACING_TOL_MM = 1e-3
DUPLICATE_TOL_MM = 0.01
GAP_FACTOR = 1.5
SPACING_ABS_TOL_MM = 0.01
MAX_PIXEL_SPACING_MM = 100.0  # a pixel wider than 10 cm is a unit error, not an image
MAX_POSITION_MM = 1e5
# Body-composition CT and MR are reconstructed at <= 5 mm (old archives 7.5-10 mm); slices further apart
# are scattered images, not a volume whose levels can be found or whose slabs can be measured.
MAX_SLICE_SPACING_MM = 15.0  # 100 m from the scanner's origin
SPACING_REL_TOL = 0.01
SPACING_WARN_MM = 1e-3
TILT_DRIFT_TOL_PX = 0.05
LINE_TOL_PX = 0.1


@dataclass(frozen=True, eq=False)
class Plane:
    """Where one 2-D frame sits in patient space (DICOM LPS, mm).

    ``row_cosine`` is the direction of increasing column index (first three values of
    ImageOrientationPatient); ``col_cosine`` the direction of increasing row index.
    ``spacing`` is PixelSpacing as DICOM stores it: (between rows, between columns).
    """

    position: np.ndarray
    row_cosine: np.ndarray
    col_cosine: np.ndarray
    spacing: tuple[float, float]

    @property
    def normal(self) -> np.ndarray:
        n = np.cross(self.row_cosine, self.col_cosine)
        return n / np.linalg.norm(n)


@dataclass(frozen=True, eq=False)
class Stack:
    """The ordered slices of one volume and the orthogonal affine they map onto.

    ``order`` indexes the caller's planes (duplicates already removed by the caller), sorted along
    the normal. ``shift_px_per_slice`` is (rows, columns) of in-plane offset of slice k+1 relative to
    slice k on the orthogonal grid: zero unless the stack is tilted.
    """

    order: tuple[int, ...]
    affine: np.ndarray
    slice_spacing_mm: float
    shift_px_per_slice: tuple[float, float]
    tilt_deg: float
    warnings: tuple[str, ...]

    @property
    def tilted(self) -> bool:
        return self.shift_px_per_slice != (0.0, 0.0)


def plane_from_values(ipp: Sequence[float], iop: Sequence[float], pixel_spacing: Sequence[float]) -> Plane:
    """Build a :class:`Plane` from the three DICOM attributes, normalising the cosines.

    Raises:
        ValueError: a value missing, not finite (every comparison with NaN is false, so NaN would pass
            the other checks), or out of range, naming the attribute.
    """
    iop_arr = np.asarray([float(v) for v in iop], dtype=np.float64)
    if iop_arr.shape != (6,):
        raise ValueError(f"ImageOrientationPatient needs 6 values, got {len(iop_arr)}")
    if not np.isfinite(iop_arr).all():
        raise ValueError(f"ImageOrientationPatient has a value that is not finite: {iop_arr.tolist()}")
    row, col = iop_arr[:3], iop_arr[3:]
    nr, nc = np.linalg.norm(row), np.linalg.norm(col)
    if nr < 1e-6 or nc < 1e-6:
        raise ValueError("ImageOrientationPatient has a zero-length direction")
    row, col = row / nr, col / nc
    if abs(float(row @ col)) > 1e-2:
        raise ValueError(f"ImageOrientationPatient directions are not perpendicular (dot {row @ col:.3f})")
    ps = [float(v) for v in pixel_spacing]
    if len(ps) != 2 or not all(0 < v <= MAX_PIXEL_SPACING_MM for v in ps):  # also False for NaN
        raise ValueError(f"PixelSpacing must be two numbers in (0, {MAX_PIXEL_SPACING_MM:g}] mm, got {ps}")
    pos = np.asarray([float(v) for v in ipp], dtype=np.float64)
    if pos.shape != (3,):
        raise ValueError(f"ImagePositionPatient needs 3 values, got {len(pos)}")
    if not (np.isfinite(pos).all() and (np.abs(pos) <= MAX_POSITION_MM).all()):
        raise ValueError(
            f"ImagePositionPatient {pos.tolist()} is not a position in a scanner (|value| <= 1e5 mm)"
        )
    return Plane(pos, row, col, (ps[0], ps[1]))


def check_common_orientation(planes: Sequence[Plane], labels: Sequence[str], where: str) -> None:
    """Refuse a stack whose frames do not share orientation and pixel spacing.

    Raises:
        IngestError: naming the first frame that differs from the first one and how.
    """
    ref = planes[0]
    for plane, label in zip(planes[1:], labels[1:], strict=True):
        if (
            np.abs(plane.row_cosine - ref.row_cosine).max() > ORIENTATION_TOL
            or np.abs(plane.col_cosine - ref.col_cosine).max() > ORIENTATION_TOL
        ):
            raise IngestError(
                f"{where}: slices are not parallel: {label} has orientation "
                f"{_fmt(np.r_[plane.row_cosine, plane.col_cosine])}, {labels[0]} has "
                f"{_fmt(np.r_[ref.row_cosine, ref.col_cosine])} "
                "(mixed orientations or a localizer in the series)"
            )
        if max(abs(a - b) for a, b in zip(plane.spacing, ref.spacing, strict=True)) > PIXEL_SPACING_TOL_MM:
            raise IngestError(
                f"{where}: pixel spacing differs between slices: {label} {list(plane.spacing)} mm, "
                f"{labels[0]} {list(ref.spacing)} mm"
            )


def positions_along(planes: Sequence[Plane], normal: np.ndarray) -> np.ndarray:
    """Signed distance (mm) of every frame origin along the slice normal."""
    return np.array([float(p.position @ normal) for p in planes])


def sort_along(along: np.ndarray) -> np.ndarray:
    """Indices ordering frames by position along the normal (stable, so ties keep input order)."""
    return np.argsort(along, kind="stable")


def duplicate_groups(along_sorted: np.ndarray) -> list[list[int]]:
    """Runs of consecutive sorted positions closer than DUPLICATE_TOL_MM (indices into the sorted list)."""
    groups: list[list[int]] = []
    current = [0]
    for i in range(1, len(along_sorted)):
        if along_sorted[i] - along_sorted[current[0]] <= DUPLICATE_TOL_MM:
            current.append(i)
        else:
            groups.append(current)
            current = [i]
    groups.append(current)
    return [g for g in groups if len(g) > 1]


def regular_spacing(along_sorted: np.ndarray, where: str) -> tuple[float, list[str]]:
    """Slice spacing (mm) of positions sorted along the normal, applying the documented rules.

    Raises:
        IngestError: for a missing slice (gap) or irregular spacing, listing the positions.
    """
    steps = np.diff(along_sorted)
    median = float(np.median(steps))
    if median > MAX_SLICE_SPACING_MM:
        raise IngestError(
            f"{where}: slices {median:.1f} mm apart ({len(along_sorted)} slices): too sparse to be a volume "
            f"(at most {MAX_SLICE_SPACING_MM:g} mm; a localizer or a set of scattered slices?)"
        )
    gaps = np.flatnonzero(steps > GAP_FACTOR * median)
    if gaps.size:
        shown = ", ".join(
            f"z={along_sorted[i]:.3f} to z={along_sorted[i + 1]:.3f} mm ({steps[i]:.3f} mm)" for i in gaps[:5]
        )
        raise IngestError(
            f"{where}: missing slice(s): gap {shown} where the median spacing is {median:.3f} mm "
            f"({len(gaps)} gap(s) in {len(along_sorted)} slices)"
        )
    mean = float((along_sorted[-1] - along_sorted[0]) / (len(along_sorted) - 1))
    deviation = float(np.abs(steps - mean).max())
    tolerance = max(SPACING_ABS_TOL_MM, SPACING_REL_TOL * mean)
    if deviation > tolerance:
        i = int(np.abs(steps - mean).argmax())
        raise IngestError(
            f"{where}: irregular slice spacing: steps range {steps.min():.3f}-{steps.max():.3f} mm "
            f"(e.g. z={along_sorted[i]:.3f} to z={along_sorted[i + 1]:.3f} mm); a volume needs one spacing "
            f"(tolerance {tolerance:.3f} mm)"
        )
    warnings = []
    if deviation > SPACING_WARN_MM:
        warnings.append(
            f"slice spacing varies by up to {deviation:.4f} mm around {mean:.4f} mm (within tolerance "
            f"{tolerance:.3f} mm); the mean spacing is used"
        )
    return mean, warnings


def build_stack(planes: Sequence[Plane], where: str, single_slice_spacing: float | None = None) -> Stack:
    """Order de-duplicated, parallel planes and derive the orthogonal affine.

    ``single_slice_spacing`` is the spacing to use when there is exactly one plane (from
    SpacingBetweenSlices or SliceThickness; the caller records which).

    Raises:
        IngestError: on missing/irregular spacing, positions off a straight line, or a single
            slice without a known thickness.
    """
    ref = planes[0]
    normal = ref.normal
    along = positions_along(planes, normal)
    order = sort_along(along)
    along_sorted = along[order]
    dr, dc = ref.spacing
    if len(planes) == 1:
        if single_slice_spacing is None or single_slice_spacing <= 0:
            raise IngestError(
                f"{where}: single slice without SpacingBetweenSlices or SliceThickness: its slice spacing is "
                "unknown, so no volume geometry can be given"
            )
        affine = _affine(ref.position, normal * single_slice_spacing, ref)
        return Stack((0,), affine, float(single_slice_spacing), (0.0, 0.0), 0.0, ())
    if duplicate_groups(along_sorted):
        raise ValueError("build_stack needs de-duplicated planes; remove duplicates first")
    spacing, warnings = regular_spacing(along_sorted, where)
    positions = np.array([planes[i].position for i in order])
    n = len(positions)
    step = (positions[-1] - positions[0]) / (n - 1)
    fitted = positions[0] + np.arange(n)[:, None] * step
    off_line = float(np.linalg.norm(positions - fitted, axis=1).max())
    if off_line > LINE_TOL_PX * min(dr, dc) + SPACING_ABS_TOL_MM:
        raise IngestError(
            f"{where}: slice positions do not lie on one line (a slice is {off_line:.3f} mm off it): "
            "slices were moved in-plane between acquisitions, cannot stack them"
        )
    along_step = float(step @ normal)
    in_plane = step - along_step * normal
    shift_rows = float(in_plane @ ref.col_cosine) / dr
    shift_cols = float(in_plane @ ref.row_cosine) / dc
    drift_px = max(abs(shift_rows), abs(shift_cols)) * (n - 1)
    if drift_px <= TILT_DRIFT_TOL_PX:
        shift_rows = shift_cols = 0.0
        tilt = 0.0
    else:
        tilt = math.degrees(math.atan2(float(np.linalg.norm(in_plane)), abs(along_step)))
    affine = _affine(positions[0], normal * spacing, ref)
    return Stack(
        tuple(int(i) for i in order), affine, spacing, (shift_rows, shift_cols), tilt, tuple(warnings)
    )


def _affine(origin: np.ndarray, slice_step: np.ndarray, plane: Plane) -> np.ndarray:
    """(slice, row, column) -> LPS: columns are slice step, row step, column step, origin."""
    dr, dc = plane.spacing
    aff = np.eye(4)
    aff[:3, 0] = slice_step
    aff[:3, 1] = plane.col_cosine * dr
    aff[:3, 2] = plane.row_cosine * dc
    aff[:3, 3] = origin
    return aff


def _fmt(values: np.ndarray) -> str:
    return "[" + ", ".join(f"{v:.4f}" for v in values) + "]"
