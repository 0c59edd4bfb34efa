"""Putting a label array from another grid onto the series grid, by world coordinates only.

Precomputed segmentations come on their own grids (a NIfTI stored LAS, a SEG with its own frame
order, one .tag slice). Every target voxel centre is mapped to the source grid through the two
affines and takes the nearest source label, so flips, permutations and offsets need no special case.
Grids that do not overlap at all are refused: that is a wrong file, not an empty segmentation.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from imaging.volume import Volume

# A target voxel within this many source voxels outside the source grid still takes the edge voxel:
# absorbs rounding of positions written with few decimals (DICOM DS values).
EDGE_TOLERANCE_VOXELS = 0.01


class GridMismatchError(ValueError):
    """The label grid and the series do not overlap (or not enough); the message says by how much."""


@dataclass(frozen=True)
class Resampled:
    array: np.ndarray  # labels on the target grid, 0 outside the source
    covered_fraction: float  # share of target voxels that fall inside the source grid


def labels_onto_grid(
    labels: np.ndarray, source_affine: np.ndarray, target: Volume, min_covered_fraction: float = 0.0
) -> Resampled:
    """Nearest-neighbour labels of ``labels`` (source affine, [slice,row,column]) at target voxel centres.

    Raises:
        GridMismatchError: no target voxel (or fewer than ``min_covered_fraction``) lies in the source.
    """
    if labels.ndim != 3:
        raise ValueError(f"label array must be 3-D [slice, row, column], got shape {labels.shape}")
    to_source = np.linalg.inv(np.asarray(source_affine, dtype=np.float64)) @ target.affine
    out = np.zeros(target.shape, dtype=labels.dtype)
    _, rows, cols = target.shape
    jj, ii = np.meshgrid(np.arange(rows, dtype=np.float64), np.arange(cols, dtype=np.float64), indexing="ij")
    plane = np.stack([np.zeros(jj.size), jj.ravel(), ii.ravel()])
    upper = np.array(labels.shape, dtype=np.float64)[:, None] - 1.0
    covered = 0
    for k in range(target.shape[0]):  # slice by slice: bounded memory on 512 x 512 x 1000 series
        plane[0] = k
        src = to_source[:3, :3] @ plane + to_source[:3, 3:4]
        inside = np.all(
            (src >= -0.5 - EDGE_TOLERANCE_VOXELS) & (src <= upper + 0.5 + EDGE_TOLERANCE_VOXELS), axis=0
        )
        if not inside.any():
            continue
        idx = np.clip(np.floor(src[:, inside] + 0.5).astype(np.intp), 0, upper.astype(np.intp))
        flat = out[k].reshape(-1)
        flat[inside] = labels[idx[0], idx[1], idx[2]]
        covered += int(inside.sum())
    fraction = covered / float(np.prod(target.shape))
    if covered == 0:
        raise GridMismatchError(
            "the segmentation does not overlap the series at all (no series voxel lies inside its grid): "
            "it belongs to another series or its geometry is wrong"
        )
    if fraction < min_covered_fraction:
        raise GridMismatchError(
            f"the segmentation covers only {fraction:.1%} of the series, "
            f"less than the {min_covered_fraction:.0%} required"
        )
    return Resampled(out, fraction)
