"""Truth measurements per vertebral level, from the truth labels of a rendered grid: the one definition.

The sample tree's truth.json (:mod:`phantoms.sample_truth`) is written from here.
Two kinds of value sit side by side, so a reader can tell a pipeline error from a property of the image:

* **nominal** (``*_nominal``): the parameter the renderer used for the tissue (attenuation table or
  Dixon fat fraction), before partial volume, texture, blur and noise. What the tissue *is*.
* **measured on truth labels** (no suffix): the same formula the pipeline applies, on the truth labels
  and the supplied image. What a perfect segmentation measures on *this* image.

Definitions:

* ``slice_index``: the mid-vertebral slice. The vertebral body (cortex, trabecular bone and
  basivertebral vein of this vertebra in the fine labels) occupies slices ``body_slices``; the slice
  nearest their middle is taken, and when the body spans an even number of slices (two equally
  central slices) the cranial one, the same rule as :func:`imaging.levels.slices.middle_slice`.
  A body cut by the first or last slice of a multi-slice grid has no established middle: the level is
  left out, as the pipeline leaves it out.
* ``*_area_cm2``: voxel count of the contract tissue class on that slice × pixel area / 100;
  ``muscle_group_area_cm2[group]`` likewise for the group's muscle voxels (:data:`GROUP_FINES`).
* ``muscle_hu_mean``: mean CT over ``skeletal_muscle`` voxels on the slice; ``muscle_hu_nominal`` the
  renderer's muscle attenuation (contrast and kVp applied).
* Trabecular ROI: :func:`imaging.measurements.bone.trabecular_roi` (anterior half of the body, ≥ 5 mm
  inside its outline, central half of its height: a 3-D ROI over several slices) applied to this
  vertebra's truth body mask. ``trabecular_hu_nominal``: the renderer's trabecular attenuation of the
  level (subject parameter + level offset, kVp and contrast applied). ``trabecular_hu_noise_free``:
  ROI mean of the noise-free render (texture and kernel included, noise not); it departs from the
  nominal value by the mean of the trabecular texture over the ROI (zero-mean over the whole phantom,
  SD 14 HU, ~1 mm grain: a few HU over an ROI), because texture is bone heterogeneity, not noise.
  Blur and edge enhancement do not reach the ROI: a texture-free noise-free render reads the nominal
  value to 0.1 HU on every sample series, soft and sharp. ``trabecular_hu_mean``/``median``: ROI on the
  supplied (noisy) image.
* MR (``mr``): ``muscle_ff_pct`` mean truth fat fraction over ``skeletal_muscle`` voxels on the slice;
  ``muscle_group_ff_pct[group]`` over the group's muscle voxels (IMAT inclusions are their own label,
  so excluded): boundary voxels carry partial volume of their neighbours, so it departs from the
  parameter, above it where muscle borders fat; ``muscle_group_ff_core_pct[group]`` over core voxels
  (all face neighbours in the group, in-plane and the slices above and below where the grid has them):
  free of partial volume, so it equals ``muscle_ff_nominal_pct`` (the parameter) up to IMAT streaks.
  ``marrow_ff_pct``: truth fat fraction over the trabecular ROI; ``marrow_ff_nominal_pct``: the level's
  marrow parameter. The truth fat fraction is the voxel-wise noise-free, unblurred, partial-volume
  map of :class:`DixonImages`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from imaging.measurements.bone import trabecular_roi as roi_in_body
from imaging.segmentation.labels import MEASURED_LEVELS
from phantoms.anatomy import Phantom
from phantoms.ct import attenuation_table
from phantoms.grid import Grid
from phantoms.labels import (
    FINE_TO_TISSUE,
    MUSCLE_GROUPS,
    Fine,
    PhantomLabels,
    vertebra_value,
)
from phantoms.mr import DixonImages, marrow_fat_fraction
from segmentation_models.class_schema import MUSCLE_GROUP_NAMES

BODY_FINES = (Fine.VERTEBRAL_CORTEX, Fine.VERTEBRAL_TRABECULAR, Fine.BASIVERTEBRAL_VEIN)
_GROUPED = {f for fines in MUSCLE_GROUPS.values() for f in fines}
# Muscle groups by the pipeline's names (class_schema.MUSCLE_GROUP_NAMES): every muscle fine label in one.
GROUP_FINES: dict[str, tuple[Fine, ...]] = {
    **MUSCLE_GROUPS,
    "other_muscle": tuple(
        f for f, t in FINE_TO_TISSUE.items() if t == "skeletal_muscle" and f not in _GROUPED
    ),
}
assert set(GROUP_FINES) == set(MUSCLE_GROUP_NAMES.values()), "phantom groups must be the pipeline's groups"


@dataclass(frozen=True)
class CtRender:
    """How a CT image was rendered, which the trabecular truth needs besides the image itself.

    ``noise_free_hu`` is the same render without noise (same texture draw): its ROI mean is the value a
    perfect measurement converges to. ``contrast``/``kvp`` give the nominal attenuation.
    """

    contrast: str = "none"
    kvp: float = 120.0
    noise_free_hu: np.ndarray | None = None


def body_mask(labels: PhantomLabels, level: str) -> np.ndarray:
    """3-D mask of the vertebral body of ``level`` (cortex, trabecular bone, basivertebral vein)."""
    return np.isin(labels.fine, [int(f) for f in BODY_FINES]) & (labels.vertebrae == vertebra_value(level))


def level_slice(labels: PhantomLabels, level: str) -> int | None:
    """Mid-vertebral slice of ``level`` (cranial of two equally central), or None (absent or cut body)."""
    slices = np.flatnonzero(body_mask(labels, level).any(axis=(1, 2)))
    grid = labels.grid
    n = grid.shape[0]
    if slices.size == 0 or (n > 1 and (slices[0] == 0 or slices[-1] == n - 1)):
        return None
    first, last = int(slices[0]), int(slices[-1])
    ks = np.arange(first, last + 1)
    pos = np.asarray(grid.slice_position_mm(ks), dtype=float)
    dist = np.abs(pos - 0.5 * (pos[0] + pos[-1]))
    nearest = ks[dist <= dist.min() + 1e-6]
    return int(max(nearest, key=lambda k: float(grid.slice_center_world(int(k))[2])))


def trabecular_roi(labels: PhantomLabels, level: str) -> np.ndarray:
    """3-D trabecular ROI of ``level``: the pipeline's ROI definition on the truth body mask."""
    return roi_in_body(body_mask(labels, level), labels.grid.volume(labels.vertebrae))


def muscle_group_map(labels: PhantomLabels) -> np.ndarray:
    """uint8 map of muscle groups with the values of ``class_schema.MUSCLE_GROUP_NAMES`` (0 elsewhere)."""
    lut = np.zeros(max(int(f) for f in Fine) + 1, dtype=np.uint8)
    for value, name in MUSCLE_GROUP_NAMES.items():
        for fine in GROUP_FINES[name]:
            lut[int(fine)] = value
    return lut[labels.fine]


def truth_measurements(
    phantom: Phantom,
    labels: PhantomLabels,
    grid: Grid,
    ct_hu: np.ndarray | None = None,
    dixon: DixonImages | None = None,
    *,
    ct: CtRender | None = None,
) -> dict[str, Any]:
    """Truth per level T10..L5 found on ``grid``: ``{"levels": {name: {...}}, "params": {...}}``.

    ``ct`` says how ``ct_hu`` was rendered (nominal attenuation, noise-free image); without it the
    nominal values assume an unenhanced 120 kV scan and ``trabecular_hu_noise_free`` is None.

    Raises:
        ValueError: an image whose shape differs from the grid.
    """
    ct = ct or CtRender()
    images = (("ct_hu", ct_hu), ("noise_free_hu", ct.noise_free_hu))
    for name, arr in (*images, ("dixon", None if dixon is None else dixon.fat_fraction_pct)):
        if arr is not None and tuple(arr.shape) != grid.shape:
            raise ValueError(f"{name} shape {arr.shape} does not match grid {grid.shape}")
    table = attenuation_table(phantom, ct.contrast, ct.kvp)
    groups = muscle_group_map(labels)
    p = phantom.params
    levels: dict[str, Any] = {}
    for level in MEASURED_LEVELS:
        if level not in phantom.spine.by_name:
            continue
        k = level_slice(labels, level)
        if k is None:
            continue
        slices = np.flatnonzero(body_mask(labels, level).any(axis=(1, 2)))
        entry: dict[str, Any] = {
            "slice_index": k,
            "z_mm": float(grid.slice_position_mm(k)),
            "world_z_mm": float(grid.slice_center_world(k)[2]),
            "level_mid_z_mm": phantom.level_mid_z(level),
            "body_slices": [int(slices[0]), int(slices[-1])],
            **_areas(labels, groups, k, grid, p.height_m),
        }
        roi = trabecular_roi(labels, level)
        muscle = labels.tissue[k] == _tissue_value(labels, "skeletal_muscle")
        entry["trabecular_roi_voxels"] = int(np.count_nonzero(roi))
        entry["muscle_hu_nominal"] = float(table[int(Fine.PSOAS), 0])
        entry["muscle_hu_mean"] = _mean(ct_hu[k], muscle) if ct_hu is not None else None
        entry["trabecular_hu_nominal"] = float(table[int(Fine.VERTEBRAL_TRABECULAR), vertebra_value(level)])
        nf = ct.noise_free_hu
        entry["trabecular_hu_noise_free"] = _mean(nf, roi) if nf is not None else None
        entry["trabecular_hu_mean"] = _mean(ct_hu, roi) if ct_hu is not None else None
        entry["trabecular_hu_median"] = _median(ct_hu, roi) if ct_hu is not None else None
        if dixon is not None:
            entry["mr"] = _mr(phantom, dixon.fat_fraction_pct, groups, muscle, roi, k, level)
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


def _areas(labels: PhantomLabels, groups: np.ndarray, k: int, grid: Grid, height_m: float) -> dict[str, Any]:
    cm2 = grid.pixel_area_mm2 / 100.0
    tissue = labels.tissue[k]
    out: dict[str, Any] = {}
    for cls, key in (
        ("skeletal_muscle", "muscle"),
        ("imat", "imat"),
        ("sat", "sat"),
        ("vat", "vat"),
        ("bone", "bone"),
    ):
        out[f"{key}_area_cm2"] = float(np.count_nonzero(tissue == _tissue_value(labels, cls)) * cm2)
    out["smi_cm2_m2"] = out["muscle_area_cm2"] / height_m**2
    out["muscle_voxels"] = int(np.count_nonzero(tissue == _tissue_value(labels, "skeletal_muscle")))
    out["muscle_group_area_cm2"] = {
        name: float(np.count_nonzero(groups[k] == value) * cm2)
        for value, name in MUSCLE_GROUP_NAMES.items()
        if (groups[k] == value).any()
    }
    return out


def _mr(
    phantom: Phantom,
    ff: np.ndarray,
    groups: np.ndarray,
    muscle: np.ndarray,
    roi: np.ndarray,
    k: int,
    level: str,
) -> dict[str, Any]:
    present = {
        name: groups == value for value, name in MUSCLE_GROUP_NAMES.items() if (groups[k] == value).any()
    }
    return {
        "muscle_ff_pct": _mean(ff[k], muscle),
        "muscle_group_ff_pct": {g: _mean(ff[k], mask[k]) for g, mask in present.items()},
        "muscle_group_ff_core_pct": {g: _mean(ff[k], _core(mask, k)) for g, mask in present.items()},
        "muscle_ff_nominal_pct": 100.0 * phantom.params.muscle_fat_fraction,
        "marrow_ff_pct": _mean(ff, roi),
        "marrow_ff_nominal_pct": 100.0 * marrow_fat_fraction(phantom, level),
    }


def _tissue_value(labels: PhantomLabels, name: str) -> int:
    return next(v for v, n in labels.tissue_names.items() if n == name)


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
