"""Compare an assembled Volume with a reference NIfTI by world geometry, not by raw array layout.

Reference converters (dcm2niix, dicom2nifti) reorder and flip axes freely and write RAS; our Volume is
[slice,row,column] with an LPS affine. The mapping between the two index spaces must be a signed
permutation with integer offsets (same grid); once found, voxel values are compared through it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from imaging.volume import LPS_TO_RAS, Volume


def load_reference(path: Path, volume_index: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Real-world values (scl_slope applied) and RAS affine; 4-D references pick ``volume_index``."""
    import nibabel as nib

    img = nib.load(str(path))
    data = np.asanyarray(img.dataobj).astype(np.float64)
    if data.ndim == 4:
        if volume_index is None:
            assert data.shape[3] == 1, f"{path} is 4-D {data.shape}: say which volume to compare"
            volume_index = 0
        data = data[..., volume_index]
    return data, img.affine


def grid_mapping(volume: Volume, ref_affine: np.ndarray, ref_shape: tuple[int, ...]) -> np.ndarray:
    """4x4 integer matrix mapping reference (i,j,k) indices to our (slice,row,column) indices."""
    ours_ras = LPS_TO_RAS @ volume.affine
    mapping = np.linalg.inv(ours_ras) @ ref_affine
    rounded = np.round(mapping)
    lin = rounded[:3, :3]
    assert np.all(np.abs(lin).sum(axis=0) == 1) and np.all(np.abs(lin).sum(axis=1) == 1), (
        f"grids are not the same up to axis permutation/flip:\n{mapping}"
    )
    return rounded


def max_corner_distance_mm(volume: Volume, ref_affine: np.ndarray, ref_shape: tuple[int, ...]) -> float:
    """Largest world distance (mm) between the same voxel centre seen through both affines, over the
    eight corners of the reference grid."""
    mapping = grid_mapping(volume, ref_affine, ref_shape)
    ours_ras = LPS_TO_RAS @ volume.affine
    worst = 0.0
    for corner in np.array(np.meshgrid(*[[0, n - 1] for n in ref_shape[:3]], indexing="ij")).reshape(3, -1).T:
        c = np.r_[corner, 1.0]
        ours_index = mapping @ c
        worst = max(worst, float(np.linalg.norm((ref_affine @ c)[:3] - (ours_ras @ ours_index)[:3])))
    return worst


def reference_on_our_grid(volume: Volume, data: np.ndarray, ref_affine: np.ndarray) -> np.ndarray:
    """The reference voxels rearranged into our [slice,row,column] array order."""
    mapping = grid_mapping(volume, ref_affine, data.shape)
    out = np.full(volume.shape, np.nan)
    idx = np.indices(data.shape).reshape(3, -1)
    ours = (mapping[:3, :3] @ idx + mapping[:3, 3:4]).astype(int)
    inside = np.all((ours >= 0) & (ours < np.array(volume.shape)[:, None]), axis=0)
    assert inside.all(), "reference grid extends beyond ours"
    out[ours[0], ours[1], ours[2]] = data.reshape(-1)
    return out
