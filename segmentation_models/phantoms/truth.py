"""Exact truth measurements per vertebral level, computed from the truth labels of a rendered grid.

Definitions (all on the level's mid-vertebral slice: the slice whose centre is nearest in z to the
middle of the vertebral body, provided it lies within half a slice of it):

* ``*_area_cm2``: voxel count of the contract tissue class on that slice × pixel area / 100.
* ``muscle_hu_mean``: mean of the supplied CT image over truth ``skeletal_muscle`` voxels on the slice
  (what a perfect segmentation would measure on this image; blur and noise included).
* ``trabecular_hu_mean``/``median``: CT over the trabecular ROI: this vertebra's trabecular voxels
  on the slice, eroded in-plane by 3 mm, minus the basivertebral vein grown by 2 mm.
* ``mr.muscle_ff_pct[group]``: mean truth fat fraction over the group's label voxels on the slice
  (IMAT inclusions are their own label, so excluded): exactly what a perfect segmentation measures
  on a noise-free Dixon, the number to compare a pipeline's measurement with. Boundary voxels carry
  partial volume of their neighbours, so it departs from the tissue parameter, more so at coarse
  resolution: above it where muscle borders fat (septa, inclusions, SAT: paraspinals, abdominal
  wall), possibly below it where it borders water-rich tissue (bowel beside the psoas).
* ``mr.muscle_ff_core_pct[group]``: the same over the group's core voxels, those whose face
  neighbours in the volume (four in-plane; the slices above and below where the grid has them) are
  all of the group: free of partial volume, so it equals ``muscle_ff_nominal_pct`` (the parameter)
  up to slivers of IMAT streaks. The gap between the two is the partial-volume share.
* ``mr.marrow_ff_pct``: truth fat fraction over the trabecular ROI.
* ``*_nominal``: the parameter values the renderer used (before partial volume, blur and noise).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import ndimage

from imaging.labels import MEASURED_LEVELS
from segmentation_models.phantoms.anatomy import Phantom
from segmentation_models.phantoms.grid import Grid
from segmentation_models.phantoms.labels import MUSCLE_GROUPS, Fine, PhantomLabels, vertebra_value
from segmentation_models.phantoms.mr import DixonImages, marrow_fat_fraction

ROI_EROSION_MM = 3.0
VEIN_MARGIN_MM = 2.0


def level_slice(phantom: Phantom, grid: Grid, level: str) -> int | None:
    """Index of the mid-vertebral slice of ``level`` on ``grid``, or None when the grid misses it."""
    mid = phantom.level_mid_z(level)
    zs = np.array([grid.slice_center_world(k)[2] for k in range(grid.shape[0])])
    k = int(np.argmin(np.abs(zs - mid)))
    half = 0.5 * float(grid.spacing_kji[0]) * abs(float(grid.slice_normal[2]))
    return k if abs(zs[k] - mid) <= half + 1e-6 else None


def trabecular_roi(labels: PhantomLabels, k: int, level: str) -> np.ndarray:
    """2-D ROI on slice ``k`` inside the trabecular core of ``level`` (see module docstring)."""
    _, dj, di = labels.grid.spacing_kji
    fine, vert = labels.fine[k], labels.vertebrae[k]
    mine = vert == vertebra_value(level)
    trab = mine & (fine == Fine.VERTEBRAL_TRABECULAR)
    vein = mine & (fine == Fine.BASIVERTEBRAL_VEIN)
    eroded = ndimage.binary_erosion(trab | vein, structure=_disk(ROI_EROSION_MM, dj, di))
    vein_zone = ndimage.binary_dilation(vein, structure=_disk(VEIN_MARGIN_MM, dj, di)) if vein.any() else vein
    return eroded & trab & ~vein_zone


def truth_measurements(
    phantom: Phantom,
    labels: PhantomLabels,
    grid: Grid,
    ct_hu: np.ndarray | None = None,
    dixon: DixonImages | None = None,
) -> dict[str, Any]:
    """Truth per level T10..L5 found on ``grid``: ``{"levels": {name: {...}}, "params": {...}}``.

    Raises:
        ValueError: an image whose shape differs from the grid.
    """
    for name, arr in (("ct_hu", ct_hu), ("dixon", None if dixon is None else dixon.fat_fraction_pct)):
        if arr is not None and tuple(arr.shape) != grid.shape:
            raise ValueError(f"{name} shape {arr.shape} does not match grid {grid.shape}")
    area_cm2 = grid.pixel_area_mm2 / 100.0
    tissue_value = {n: v for v, n in labels.tissue_names.items()}
    p = phantom.params
    levels: dict[str, Any] = {}
    for level in MEASURED_LEVELS:
        if level not in phantom.spine.by_name:
            continue
        k = level_slice(phantom, grid, level)
        if k is None:
            continue
        tissue = labels.tissue[k]
        muscle = tissue == tissue_value["skeletal_muscle"]
        entry: dict[str, Any] = {
            "slice_index": k,
            "z_mm": float(grid.slice_position_mm(k)),
            "world_z_mm": float(grid.slice_center_world(k)[2]),
            "level_mid_z_mm": phantom.level_mid_z(level),
        }
        for cls, key in (("skeletal_muscle", "muscle"), ("imat", "imat"), ("sat", "sat"), ("vat", "vat")):
            entry[f"{key}_area_cm2"] = float(np.count_nonzero(tissue == tissue_value[cls]) * area_cm2)
        entry["smi_cm2_m2"] = entry["muscle_area_cm2"] / p.height_m**2
        roi = trabecular_roi(labels, k, level)
        entry["trabecular_roi_voxels"] = int(np.count_nonzero(roi))
        entry["muscle_hu_mean"] = _mean(ct_hu[k], muscle) if ct_hu is not None else None
        entry["trabecular_hu_mean"] = _mean(ct_hu[k], roi) if ct_hu is not None else None
        entry["trabecular_hu_median"] = _median(ct_hu[k], roi) if ct_hu is not None else None
        entry["muscle_hu_nominal"] = p.muscle_hu
        entry["trabecular_hu_nominal"] = p.trabecular_hu + phantom.spine.by_name[level].trabecular_offset_hu
        if dixon is not None:
            ff = dixon.fat_fraction_pct[k]
            groups = {g: np.isin(labels.fine, [int(f) for f in fines]) for g, fines in MUSCLE_GROUPS.items()}
            entry["mr"] = {
                "muscle_ff_pct": {g: _mean(ff, mask[k]) for g, mask in groups.items()},
                "muscle_ff_core_pct": {g: _mean(ff, _core(mask, k)) for g, mask in groups.items()},
                "muscle_ff_nominal_pct": 100.0 * p.muscle_fat_fraction,
                "marrow_ff_pct": _mean(ff, roi),
                "marrow_ff_nominal_pct": 100.0 * marrow_fat_fraction(phantom, level),
            }
        levels[level] = entry
    return {
        "levels": levels,
        "params": {
            "height_m": p.height_m,
            "muscle_ff_pct": 100.0 * p.muscle_fat_fraction,
            "muscle_hu": p.muscle_hu,
            "trabecular_hu_L1": p.trabecular_hu,
        },
    }


def _core(mask: np.ndarray, k: int) -> np.ndarray:
    """Slice ``k`` of ``mask`` keeping voxels whose existing face neighbours are all in the mask."""
    core = mask[k].copy()
    core[1:, :] &= mask[k, :-1, :]
    core[:-1, :] &= mask[k, 1:, :]
    core[:, 1:] &= mask[k, :, :-1]
    core[:, :-1] &= mask[k, :, 1:]
    if k > 0:
        core &= mask[k - 1]
    if k + 1 < mask.shape[0]:
        core &= mask[k + 1]
    return core


def _mean(img: np.ndarray, mask: np.ndarray) -> float | None:
    return float(np.mean(img[mask], dtype=np.float64)) if mask.any() else None


def _median(img: np.ndarray, mask: np.ndarray) -> float | None:
    return float(np.median(img[mask])) if mask.any() else None


def _disk(radius_mm: float, dj: float, di: float) -> np.ndarray:
    rj, ri = int(np.ceil(radius_mm / dj)), int(np.ceil(radius_mm / di))
    j, i = np.ogrid[-rj : rj + 1, -ri : ri + 1]
    return (j * dj) ** 2 + (i * di) ** 2 <= radius_mm**2
