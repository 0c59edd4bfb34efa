"""The slice-geometry rules on hand-made planes (no DICOM involved)."""

from __future__ import annotations

import numpy as np
import pytest

from imaging.ingest import geometry
from imaging.ingest.geometry import Plane, build_stack, plane_from_values
from imaging.ingest.model import IngestError

ROW = np.array([1.0, 0.0, 0.0])
COL = np.array([0.0, 1.0, 0.0])


def axial(z: float, x: float = 0.0, y: float = 0.0, spacing: tuple[float, float] = (0.8, 0.6)) -> Plane:
    return Plane(np.array([x, y, z]), ROW, COL, spacing)


def test_plane_from_values_normalises_and_validates() -> None:
    plane = plane_from_values([1, 2, 3], [2, 0, 0, 0, 3, 0], [0.5, 0.7])
    np.testing.assert_allclose(plane.normal, [0, 0, 1])
    with pytest.raises(ValueError, match="not perpendicular"):
        plane_from_values([0, 0, 0], [1, 0, 0, 1, 0, 0], [1, 1])
    with pytest.raises(ValueError, match="PixelSpacing"):
        plane_from_values([0, 0, 0], [1, 0, 0, 0, 1, 0], [0, 1])


def test_affine_columns_are_slice_row_column_steps() -> None:
    stack = build_stack([axial(4.0), axial(0.0), axial(2.0)], "s")
    assert stack.order == (1, 2, 0)
    # columns: slice step (2 mm along z), row step (0.8 mm along the column cosine), column step (0.6 mm)
    np.testing.assert_allclose(stack.affine[:3, :3], [[0, 0, 0.6], [0, 0.8, 0], [2.0, 0, 0]])
    np.testing.assert_allclose(stack.affine[:3, 3], [0, 0, 0])
    assert not stack.tilted


def test_duplicate_groups_within_tolerance() -> None:
    along = np.array([0.0, 1.0, 1.005, 2.0, 3.0, 3.0, 3.0])
    assert geometry.duplicate_groups(along) == [[1, 2], [4, 5, 6]]


@pytest.mark.parametrize(
    ("z", "message"),
    [
        ([0, 1, 2, 3.6, 4.6], r"missing slice.*z=2\.000 to z=3\.600"),
        ([0, 1, 2, 3.3, 4.3], "irregular slice spacing"),
    ],
)
def test_spacing_rules_refuse(z: list[float], message: str) -> None:
    with pytest.raises(IngestError, match=message):
        geometry.regular_spacing(np.array(z, dtype=float), "s")


def test_spacing_rounding_is_accepted_silently_or_with_warning() -> None:
    spacing, warnings = geometry.regular_spacing(np.array([0, 1.0, 2.0, 3.0]), "s")
    assert spacing == 1.0 and warnings == []
    spacing, warnings = geometry.regular_spacing(np.array([0, 1.004, 2.0, 3.0]), "s")
    assert spacing == pytest.approx(1.0) and "varies" in warnings[0]


def test_tilt_shift_per_slice_sign_and_size() -> None:
    """Positions step 2 mm in z and 0.5 mm in +y (the column-cosine direction, 0.8 mm rows): on a grid
    stacked along z, acquired slice k starts k x 0.625 rows further down."""
    planes = [axial(2.0 * k, y=0.5 * k) for k in range(5)]
    stack = build_stack(planes, "s")
    assert stack.tilted
    assert stack.shift_px_per_slice == pytest.approx((0.5 / 0.8, 0.0))
    assert stack.tilt_deg == pytest.approx(np.degrees(np.arctan2(0.5, 2.0)))
    np.testing.assert_allclose(stack.affine[:3, 0], [0, 0, 2.0])


def test_tiny_in_plane_drift_is_not_tilt() -> None:
    planes = [axial(2.0 * k, y=1e-4 * k) for k in range(5)]
    assert not build_stack(planes, "s").tilted


def test_positions_off_a_line_are_refused() -> None:
    planes = [axial(2.0 * k, x=(3.0 if k == 2 else 0.0)) for k in range(5)]
    with pytest.raises(IngestError, match="do not lie on one line"):
        build_stack(planes, "s")


def test_orientation_and_spacing_must_match() -> None:
    coronal = Plane(np.zeros(3), ROW, np.array([0.0, 0.0, -1.0]), (0.8, 0.6))
    with pytest.raises(IngestError, match="not parallel"):
        geometry.check_common_orientation([axial(0), coronal], ["a", "b"], "s")
    with pytest.raises(IngestError, match="pixel spacing differs"):
        geometry.check_common_orientation([axial(0), axial(1, spacing=(0.9, 0.6))], ["a", "b"], "s")


def test_single_plane_needs_a_spacing() -> None:
    stack = build_stack([axial(7.0)], "s", single_slice_spacing=2.5)
    assert abs(np.linalg.det(stack.affine)) > 0 and stack.slice_spacing_mm == 2.5
    with pytest.raises(IngestError, match="single slice"):
        build_stack([axial(7.0)], "s")
