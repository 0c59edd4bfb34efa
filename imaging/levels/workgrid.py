"""An LPS-aligned working grid, so the spine analysis never has to reason about the input's orientation.

The input may be axial, flipped, oblique or sagittal; anatomy-based rules ("ribs run laterally", "the
sacrum is wide in x", "the column runs along z") are only simple in patient axes. Every input is
therefore resampled once onto a grid whose array axes are (+z superior, +y posterior, +x left) — in
the project's ``[slice, row, column]`` order — and the final labels are mapped back onto the input
grid by world position (nearest neighbour). Only boolean masks are kept on the working grid, built
slab by slab, so memory stays small even for long thin-slice series.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from imaging.volume import Volume

_SLAB = 24  # working slices resampled per call (bounds the float scratch memory)


@dataclass(frozen=True)
class WorkGrid:
    """The working grid: ``shape`` (z, y, x) and ``affine`` (index -> LPS mm), axis-aligned."""

    shape: tuple[int, int, int]
    affine: np.ndarray

    @property
    def spacing(self) -> np.ndarray:
        """(dz, dy, dx) in mm."""
        return np.abs(np.array([self.affine[2, 0], self.affine[1, 1], self.affine[0, 2]]))

    def z_mm(self, k: np.ndarray | float) -> np.ndarray:
        return self.affine[2, 3] + np.asarray(k, dtype=np.float64) * self.affine[2, 0]

    def y_mm(self, j: np.ndarray | float) -> np.ndarray:
        return self.affine[1, 3] + np.asarray(j, dtype=np.float64) * self.affine[1, 1]

    def x_mm(self, i: np.ndarray | float) -> np.ndarray:
        return self.affine[0, 3] + np.asarray(i, dtype=np.float64) * self.affine[0, 2]


def work_grid_for(
    volume: Volume, inplane_mm: float = 1.2, z_range_mm: tuple[float, float] = (2.0, 5.0)
) -> WorkGrid:
    """The axis-aligned grid covering ``volume``'s world bounding box.

    In-plane spacing is the coarser of ``inplane_mm`` and the input's pixel size; z spacing is the
    input's step along z (its slice spacing for axial series), clipped to ``z_range_mm``. Slices up
    to 5 mm are analysed on their own positions: a working slice interpolated between a disc slice
    and an endplate slice would be neither, and the disc test needs each slice to be one or the
    other. Thin ones are analysed at 2 mm, still well below the thinnest disc (~5 mm), to keep a
    long thin-slice series to seconds.
    """
    a = volume.affine
    lo, hi = volume.world_bounds()
    steps = np.abs(a[:3, :3])  # |mm moved along x, y, z| per index step of each array axis
    dz = float(np.clip(steps[2].max(), *z_range_mm))
    pix = float(min(volume.spacing_kji[1], volume.spacing_kji[2]))
    dxy = max(inplane_mm, pix)
    shape = (
        int(np.floor((hi[2] - lo[2]) / dz + 1e-6)) + 1,
        int(np.floor((hi[1] - lo[1]) / dxy + 1e-6)) + 1,
        int(np.floor((hi[0] - lo[0]) / dxy + 1e-6)) + 1,
    )
    affine = np.eye(4)
    affine[:3, 0] = (0.0, 0.0, dz)
    affine[:3, 1] = (0.0, dxy, 0.0)
    affine[:3, 2] = (dxy, 0.0, 0.0)
    affine[:3, 3] = (lo[0], lo[1], lo[2])
    return WorkGrid(shape, affine)


def _work_to_input(volume: Volume, grid: WorkGrid) -> tuple[np.ndarray, np.ndarray]:
    m = np.linalg.inv(volume.affine) @ grid.affine
    return m[:3, :3], m[:3, 3]


def resample_to_work(
    volume: Volume, grid: WorkGrid, thresholds: tuple[float, ...], *, order: int = 1
) -> list[np.ndarray]:
    """Boolean masks ``volume > t`` for each threshold, sampled once on ``grid`` (outside: False)."""
    matrix, offset = _work_to_input(volume, grid)
    outs = [np.zeros(grid.shape, dtype=bool) for _ in thresholds]
    src = np.asarray(volume.array, dtype=np.float32)
    for k0 in range(0, grid.shape[0], _SLAB):
        k1 = min(k0 + _SLAB, grid.shape[0])
        shifted = offset + matrix[:, 0] * k0
        vals = ndimage.affine_transform(
            src,
            matrix,
            shifted,
            output_shape=(k1 - k0, grid.shape[1], grid.shape[2]),
            order=order,
            mode="constant",
            cval=-1e30,
            prefilter=False,
        )
        for out, t in zip(outs, thresholds, strict=True):
            out[k0:k1] = vals > t
    return outs


def values_on_work(volume: Volume, grid: WorkGrid) -> np.ndarray:
    """The values themselves (float32, linear) on ``grid``; the nearest edge value outside the input.
    For small inputs that need the signal, not masks (MR without a bone mask): one whole-volume copy."""
    matrix, offset = _work_to_input(volume, grid)
    return ndimage.affine_transform(
        np.asarray(volume.array, dtype=np.float32),
        matrix,
        offset,
        output_shape=grid.shape,
        order=1,
        mode="nearest",
        prefilter=False,
    )


def coverage_on_work(volume: Volume, grid: WorkGrid) -> np.ndarray:
    """Working voxels whose centre lies inside the input's sampled volume (its field of view).

    The input index of a working voxel is affine in (k, j, i), so each input axis's coordinate is a
    sum of three broadcast terms: no resampling needed.
    """
    matrix, offset = _work_to_input(volume, grid)
    nk, nj, ni = grid.shape
    k = np.arange(nk, dtype=np.float32)[:, None, None]
    j = np.arange(nj, dtype=np.float32)[None, :, None]
    i = np.arange(ni, dtype=np.float32)[None, None, :]
    inside = np.ones(grid.shape, dtype=bool)
    for axis, n in enumerate(volume.shape):
        coord = matrix[axis, 0] * k + matrix[axis, 1] * j + matrix[axis, 2] * i + offset[axis]
        inside &= (coord >= -0.5) & (coord <= n - 0.5)
    return inside


def labels_to_input(labels: np.ndarray, grid: WorkGrid, volume: Volume) -> np.ndarray:
    """Nearest-neighbour transfer of working-grid labels onto the input grid, by world position.

    Outside the working grid is 0. Same rule as ``ndimage.affine_transform(order=0, mode="constant")``
    (round half up, nothing beyond the first and last sample's centre), which oblique inputs still
    use; for an axis-aligned input (the usual axial series) each working index depends on one input
    index only, so the transfer is a gather along three index vectors, several times faster on
    512x512x300 series.
    """
    m = np.linalg.inv(grid.affine) @ volume.affine
    matrix, offset = m[:3, :3], m[:3, 3]
    nonzero = np.abs(matrix) > 1e-12
    if not (nonzero.sum(axis=0) == 1).all() or not (nonzero.sum(axis=1) == 1).all():
        return ndimage.affine_transform(
            labels, matrix, offset, output_shape=volume.shape, order=0, mode="constant", cval=0
        ).astype(labels.dtype)
    padded = np.pad(labels, [(0, 1)] * 3)  # index n on each axis: the zero outside
    index = []
    for a in range(3):
        b = int(np.flatnonzero(nonzero[a])[0])  # the input axis this working axis follows
        coord = matrix[a, b] * np.arange(volume.shape[b], dtype=np.float64) + offset[a]
        nearest = np.floor(coord + 0.5).astype(np.intp)
        nearest[(coord < 0) | (coord > labels.shape[a] - 1)] = labels.shape[a]
        shape = [1, 1, 1]
        shape[b] = -1
        index.append(nearest.reshape(shape))
    return padded[index[0], index[1], index[2]]
