"""Samples and augmentation: 2.5-D slabs cut from cases, then MONAI random transforms.

Intensities are normalised with the registry spec's own :class:`Normalisation` (the function
inference uses), once per case, before any augmentation. Augmentations model what differs between
scanners and patients that the phantom renderer does not already vary: in-plane rotation (patient
positioning), scale (habitus, pixel size), mild elastic deformation, extra noise, blur (soft kernels),
gamma and intensity scale/shift (calibration, kVp), and simulated lower in-plane resolution. No flips:
left-right anatomy (liver, spleen, aorta) is asymmetric and situs inversus is not a target.

Every random draw is seeded per iteration by the loop, so a run (and a resumed run) replays exactly.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from segmentation_models.registry import Normalisation
from segmentation_models.training.case import Case


@dataclass(frozen=True)
class AugmentConfig:
    """Probabilities and ranges of the random transforms (defaults: the registered CT recipe)."""

    crop: int = 192
    p_affine: float = 0.7
    rotate_rad: float = 0.26
    scale: float = 0.15
    p_elastic: float = 0.1
    p_noise: float = 0.3
    noise_std: float = 0.015
    p_blur: float = 0.2
    p_gamma: float = 0.3
    p_intensity: float = 0.3
    p_lowres: float = 0.15


def normalised_image(case: Case, normalisation: Normalisation) -> np.ndarray:
    """The case's image normalised exactly as inference normalises a series."""
    return normalisation.apply(case.image)


def slab(image: np.ndarray, target: np.ndarray, k: int, context: int) -> tuple[np.ndarray, np.ndarray]:
    """Centre slice ``k`` with ``context`` slices as channels (edges repeat, as in inference) and its
    target: ((context, R, C) float32, (1, R, C) uint16 bits)."""
    half = context // 2
    ks = np.clip(np.arange(k - half, k + half + 1), 0, image.shape[0] - 1)
    return image[ks].astype(np.float32), target[k][None]


def training_transform(config: AugmentConfig) -> Any:
    """MONAI dictionary transform over ``{"image", "label"}`` (label = target bits, padded with 0 =
    unknown, resampled nearest so bit masks survive)."""
    from monai import transforms as mt

    keys = ["image", "label"]
    size = (config.crop, config.crop)
    return mt.Compose(
        [
            mt.SpatialPadd(keys, spatial_size=size, mode="constant", value=0),
            mt.RandSpatialCropd(keys, roi_size=size, random_size=False),
            mt.RandAffined(
                keys,
                prob=config.p_affine,
                rotate_range=(config.rotate_rad,),
                scale_range=(config.scale, config.scale),
                mode=("bilinear", "nearest"),
                padding_mode="zeros",
            ),
            mt.Rand2DElasticd(
                keys,
                spacing=(40, 40),
                magnitude_range=(1.0, 3.0),
                prob=config.p_elastic,
                mode=("bilinear", "nearest"),
                padding_mode="zeros",
            ),
            mt.RandSimulateLowResolutiond(
                ["image"],
                prob=config.p_lowres,
                zoom_range=(0.5, 0.9),
                downsample_mode="area",
                upsample_mode="bilinear",
            ),
            mt.RandGaussianSmoothd(["image"], prob=config.p_blur, sigma_x=(0.3, 1.0), sigma_y=(0.3, 1.0)),
            mt.RandGaussianNoised(["image"], prob=config.p_noise, std=config.noise_std),
            mt.RandAdjustContrastd(["image"], prob=config.p_gamma, gamma=(0.8, 1.25)),
            mt.RandScaleIntensityd(["image"], factors=0.05, prob=config.p_intensity),
            mt.RandShiftIntensityd(["image"], offsets=0.03, prob=config.p_intensity),
        ]
    )


def pad_to_multiple(array: np.ndarray, multiple: int) -> tuple[np.ndarray, tuple[int, int]]:
    """Zero-pad the last two axes up to a multiple (validation on whole slices); returns the original size."""
    rows, cols = array.shape[-2:]
    pr, pc = (-rows) % multiple, (-cols) % multiple
    pad = [(0, 0)] * (array.ndim - 2) + [(0, pr), (0, pc)]
    return np.pad(array, pad), (rows, cols)
