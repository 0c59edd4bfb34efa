"""labels_to_input's gather path must give exactly what nearest-neighbour affine resampling gives."""

import numpy as np
import pytest
from scipy import ndimage

from imaging.levels.workgrid import WorkGrid, labels_to_input
from imaging.volume import Volume


def _axial_volume(rng: np.random.Generator, permuted: bool) -> Volume:
    shape = tuple(int(n) for n in rng.integers(6, 30, 3))
    spacing = rng.choice([0.5, 0.75, 1.0, 1.5, 3.0], 3)
    order = rng.permutation(3) if permuted else np.arange(3)
    sign = rng.choice([-1.0, 1.0], 3)
    affine = np.eye(4)
    affine[:3, :3] = np.eye(3)[:, order] * (spacing * sign)[order]
    affine[:3, 3] = rng.uniform(-40, 40, 3).round(1)
    return Volume(np.zeros(shape, np.int16), affine)


def _work_grid(rng: np.random.Generator, volume: Volume) -> WorkGrid:
    affine = np.eye(4)
    affine[:3, 0], affine[:3, 1], affine[:3, 2] = (0, 0, 3.0), (0, 1.5, 0), (1.5, 0, 0)
    affine[:3, 3] = volume.affine[:3, 3] + rng.uniform(-6, 6, 3).round(2)  # half-voxel ties included
    return WorkGrid(tuple(int(n) for n in rng.integers(4, 20, 3)), affine)


def _reference(labels: np.ndarray, grid: WorkGrid, volume: Volume) -> np.ndarray:
    m = np.linalg.inv(grid.affine) @ volume.affine
    return ndimage.affine_transform(
        labels, m[:3, :3], m[:3, 3], output_shape=volume.shape, order=0, mode="constant", cval=0
    )


@pytest.mark.parametrize("permuted", [False, True])
def test_gather_equals_nearest_neighbour_resampling(permuted: bool) -> None:
    rng = np.random.default_rng(7 + permuted)
    for _ in range(15):
        volume = _axial_volume(rng, permuted)
        grid = _work_grid(rng, volume)
        labels = rng.integers(0, 9, grid.shape).astype(np.uint8)
        got = labels_to_input(labels, grid, volume)
        assert got.dtype == labels.dtype and got.shape == volume.shape
        np.testing.assert_array_equal(got, _reference(labels, grid, volume))


def test_oblique_input_still_resampled_by_position() -> None:
    rng = np.random.default_rng(3)
    volume = _axial_volume(rng, False)
    tilt = np.deg2rad(12.0)
    rotation = np.array([[1, 0, 0], [0, np.cos(tilt), -np.sin(tilt)], [0, np.sin(tilt), np.cos(tilt)]])
    affine = volume.affine.copy()
    affine[:3, :3] = rotation @ affine[:3, :3]
    volume = Volume(volume.array, affine)
    grid = _work_grid(rng, volume)
    labels = rng.integers(0, 9, grid.shape).astype(np.uint8)
    np.testing.assert_array_equal(labels_to_input(labels, grid, volume), _reference(labels, grid, volume))
