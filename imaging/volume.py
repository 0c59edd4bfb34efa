"""The one volume type every stage passes along: voxels and their world geometry, never apart.

Axis order is fixed project-wide so that nobody has to remember which file uses which:

* ``array`` is indexed ``[slice, row, column]`` (k, j, i), slices sorted by position along the
  slice normal (never by InstanceNumber).
* ``affine`` is a 4x4 matrix mapping ``(slice, row, column, 1)`` indices, in that array order, to
  DICOM patient coordinates (LPS, millimetres). This is the convention of highdicom's ``Volume``.
* Spacing reported to users (results.json ``spacing_mm``) is ``[x, y, z]`` = (column spacing, row
  spacing, slice spacing), the order DICOM and NIfTI users expect.

NIfTI files are written in RAS with the array transposed to (column, row, slice); that conversion
lives only in :func:`to_nifti` / :func:`from_nifti` so no other code handles LPS/RAS flips.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from imaging.series_facts import SeriesFacts

LPS_TO_RAS = np.diag([-1.0, -1.0, 1.0, 1.0])


@dataclass(frozen=True)
class Volume:
    """Voxel array in ``[slice, row, column]`` order plus the affine to LPS millimetres.

    ``meta`` carries the series' facts later stages need (modality, kernel, contrast, patient data,
    what assembly corrected) as one typed, frozen :class:`~imaging.series_facts.SeriesFacts`.
    """

    array: np.ndarray
    affine: np.ndarray
    meta: SeriesFacts = field(default_factory=SeriesFacts)

    def __post_init__(self) -> None:
        if self.array.ndim != 3:
            raise ValueError(f"Volume array must be 3-D [slice, row, column], got shape {self.array.shape}")
        aff = np.asarray(self.affine, dtype=np.float64)
        if aff.shape != (4, 4):
            raise ValueError(f"Volume affine must be 4x4, got {aff.shape}")
        if not np.allclose(aff[3], [0, 0, 0, 1]):
            raise ValueError("Volume affine bottom row must be [0, 0, 0, 1]")
        if abs(np.linalg.det(aff[:3, :3])) < 1e-9:
            raise ValueError("Volume affine is singular (zero spacing or parallel axes)")
        object.__setattr__(self, "affine", aff)

    @property
    def shape(self) -> tuple[int, int, int]:
        return tuple(int(n) for n in self.array.shape)  # type: ignore[return-value]

    @property
    def spacing_kji(self) -> np.ndarray:
        """Voxel spacing in mm along (slice, row, column) array axes."""
        return np.linalg.norm(self.affine[:3, :3], axis=0)

    @property
    def spacing_xyz(self) -> list[float]:
        """[column, row, slice] spacing in mm: the order results.json reports."""
        k, j, i = self.spacing_kji
        return [float(i), float(j), float(k)]

    @property
    def slice_normal(self) -> np.ndarray:
        """Unit vector (LPS) of increasing slice index."""
        v = self.affine[:3, 0]
        return v / np.linalg.norm(v)

    @property
    def pixel_area_mm2(self) -> float:
        """In-plane area of one voxel: the area unit of every cross-sectional measurement."""
        _, j, i = self.spacing_kji
        return float(i * j)

    def slice_position_mm(self, k: int | np.ndarray) -> np.ndarray:
        """Position of slice ``k`` along the slice normal (mm), as reported in results ``z_mm``."""
        origin_along = float(self.affine[:3, 3] @ self.slice_normal)
        return origin_along + np.asarray(k, dtype=np.float64) * float(self.spacing_kji[0])

    def world(self, kji: np.ndarray) -> np.ndarray:
        """LPS coordinates of (N, 3) array indices in [slice, row, column] order."""
        kji = np.atleast_2d(np.asarray(kji, dtype=np.float64))
        return kji @ self.affine[:3, :3].T + self.affine[:3, 3]

    def world_bounds(self) -> tuple[np.ndarray, np.ndarray]:
        """(lowest, highest) LPS coordinates of the voxel centres: the box an axis-aligned reformat
        must cover, whatever the acquisition's orientation."""
        n = np.array(self.shape, dtype=np.float64) - 1.0
        corners = np.array([[k, j, i] for k in (0, n[0]) for j in (0, n[1]) for i in (0, n[2])])
        world = self.world(corners)
        return world.min(axis=0), world.max(axis=0)

    def with_array(self, array: np.ndarray, meta: SeriesFacts | None = None) -> Volume:
        """Same geometry, new voxels (e.g. a label map on the input grid), and the same facts unless
        others are given."""
        if array.shape != self.array.shape:
            raise ValueError(f"shape {array.shape} does not match volume grid {self.array.shape}")
        return replace(self, array=array, meta=self.meta if meta is None else meta)


def nifti_affine(volume: Volume) -> np.ndarray:
    """RAS affine for the array transposed to (column, row, slice)."""
    swap = np.zeros((4, 4))
    swap[0, 2] = swap[1, 1] = swap[2, 0] = swap[3, 3] = 1.0  # (i, j, k) -> (k, j, i)
    return LPS_TO_RAS @ volume.affine @ swap


def to_nifti(volume: Volume, path: str | Path, dtype: Any | None = None) -> Path:
    """Write ``volume`` as NIfTI with exact world geometry (qform and sform both set)."""
    import nibabel as nib

    data = np.transpose(volume.array, (2, 1, 0))
    if dtype is not None:
        data = data.astype(dtype)
    aff = nifti_affine(volume)
    img = nib.Nifti1Image(data, aff)
    img.set_qform(aff, code=1)
    img.set_sform(aff, code=1)
    img.header.set_xyzt_units("mm")
    path = Path(path)
    nib.save(img, str(path))
    return path


def from_nifti(path: str | Path, meta: SeriesFacts | None = None) -> Volume:
    """Read a NIfTI into the project convention (array [slice,row,column], LPS affine)."""
    import nibabel as nib

    img = nib.load(str(path))
    if not isinstance(img, nib.spatialimages.SpatialImage):
        raise ValueError(f"{path}: not an image with a voxel grid ({type(img).__name__})")
    data = np.asanyarray(img.dataobj)
    if data.ndim == 4 and data.shape[3] == 1:
        data = data[..., 0]
    if data.ndim != 3:
        raise ValueError(f"{path}: expected a 3-D NIfTI, got shape {data.shape}")
    swap = np.zeros((4, 4))
    swap[0, 2] = swap[1, 1] = swap[2, 0] = swap[3, 3] = 1.0
    affine = LPS_TO_RAS @ img.affine @ swap
    return Volume(np.ascontiguousarray(np.transpose(data, (2, 1, 0))), affine, meta or SeriesFacts())
