"""The Volume convention: array [slice,row,column], affine (slice,row,column) -> LPS, NIfTI in RAS."""

from __future__ import annotations

import nibabel as nib
import numpy as np
import pytest

from imaging.series_facts import Modality, SeriesFacts
from imaging.volume import Volume, from_nifti, to_nifti


def _oblique_volume() -> Volume:
    rng = np.random.default_rng(0)
    array = rng.integers(-1000, 1000, size=(4, 5, 6)).astype(np.int16)
    theta = np.deg2rad(20)
    row_dir = np.array([np.cos(theta), np.sin(theta), 0.0])  # along a row = increasing column index
    col_dir = np.array([-np.sin(theta), np.cos(theta), 0.0])  # down a column = increasing row index
    normal = np.cross(row_dir, col_dir)
    affine = np.eye(4)
    affine[:3, 0] = normal * 2.5  # slice
    affine[:3, 1] = col_dir * 0.8  # row
    affine[:3, 2] = row_dir * 0.7  # column
    affine[:3, 3] = [-100.0, 50.0, 30.0]
    return Volume(array, affine, SeriesFacts(modality=Modality.CT))


def test_spacing_and_positions_follow_the_documented_axes() -> None:
    vol = _oblique_volume()
    assert vol.spacing_xyz == pytest.approx([0.7, 0.8, 2.5])
    assert vol.pixel_area_mm2 == pytest.approx(0.56)
    assert np.allclose(vol.world([[1, 0, 0]]) - vol.world([[0, 0, 0]]), vol.slice_normal * 2.5)
    assert vol.slice_position_mm(2) - vol.slice_position_mm(0) == pytest.approx(5.0)


def test_nifti_round_trip_keeps_voxels_and_world_geometry(tmp_path) -> None:
    vol = _oblique_volume()
    path = to_nifti(vol, tmp_path / "v.nii.gz")
    img = nib.load(path)
    # nibabel's view: array (i=column, j=row, k=slice), RAS affine. Voxel (c, r, s) must be the same
    # physical point as our (s, r, c) after the LPS->RAS flip.
    s, r, c = 3, 2, 5
    ras = img.affine @ np.array([c, r, s, 1.0])
    lps = vol.world([[s, r, c]])[0]
    assert np.allclose(ras[:3], lps * [-1, -1, 1])
    assert np.asarray(img.dataobj)[c, r, s] == vol.array[s, r, c]
    back = from_nifti(path)
    assert np.array_equal(back.array, vol.array)
    assert np.allclose(back.affine, vol.affine)


@pytest.mark.parametrize(
    "array, affine, message",
    [
        (np.zeros((2, 2)), np.eye(4), "3-D"),
        (np.zeros((2, 2, 2)), np.eye(3), "4x4"),
        (np.zeros((2, 2, 2)), np.diag([0.0, 1.0, 1.0, 1.0]), "singular"),
    ],
)
def test_invalid_volumes_are_rejected_with_the_reason(array, affine, message) -> None:
    with pytest.raises(ValueError, match=message):
        Volume(array, affine)
