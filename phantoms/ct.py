"""CT rendering: per-tissue attenuation, partial volume, scanner blur and correlated noise.

Pipeline (each step a pure function of its inputs and the caller's ``rng``):

1. sub-point attenuation from the fine label (:func:`attenuation_table`; trabecular bone per level),
   averaged over the sub-points of boundary voxels (partial volume);
2. low-frequency tissue texture (fat lobules, trabecular mottle), zero-mean per tissue;
3. scanner PSF: Gaussian in-plane blur (kernel-dependent), plus edge enhancement for ``sharp``;
4. correlated Gaussian noise of standard deviation ``noise_hu`` (kernel-dependent default);
5. rounding to int16 and the reconstruction circle (outside = ``outside_fov_hu``).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from phantoms.anatomy import Phantom, Sampled
from phantoms.grid import Grid
from phantoms.labels import MUSCLE_FINES, Fine, PhantomLabels
from phantoms.spine import LEVELS


class Contrast(enum.StrEnum):
    NONE = "none"
    ARTERIAL = "arterial"
    PORTAL = "portal"


class Kernel(enum.StrEnum):
    SOFT = "soft"
    SHARP = "sharp"


# Unenhanced HU of each fine label (muscle and trabecular bone come from the subject parameters).
_PLAIN_HU: dict[Fine, float] = {
    Fine.AIR: -1000,
    Fine.SKIN: 35,
    Fine.SAT: -105,
    Fine.VAT: -95,
    Fine.RENAL_SINUS_FAT: -95,
    Fine.IMAT_SEPTUM: -90,
    Fine.IMAT_INCLUSION: -90,
    Fine.ARM_FAT: -105,
    Fine.VERTEBRAL_CORTEX: 950,
    Fine.BASIVERTEBRAL_VEIN: 40,
    Fine.POSTERIOR_ELEMENTS: 420,
    Fine.RIB: 420,
    Fine.SACRUM: 280,
    Fine.ILIUM: 380,
    Fine.HUMERUS: 1000,  # diaphyseal cortex
    Fine.HUMERUS_MARROW: -40,  # yellow marrow with sparse trabeculae
    Fine.DISC: 85,
    Fine.SPINAL_CANAL: 12,
    Fine.LIVER: 58,
    Fine.SPLEEN: 48,
    Fine.KIDNEY: 32,
    Fine.AORTA: 42,
    Fine.IVC: 40,
    Fine.STOMACH_WALL: 42,
    Fine.STOMACH_CONTENT: 12,
    Fine.SMALL_BOWEL_WALL: 40,
    Fine.SMALL_BOWEL_CONTENT: 15,
    Fine.COLON_WALL: 40,
    Fine.COLON_CONTENT: -60,
    Fine.BOWEL_GAS: -990,
    Fine.LINEA_ALBA: 60,
    Fine.LUNG: -860,
    Fine.TABLE: -350,
}
# Added HU in each enhanced phase (Pickhardt 2016: enhanced - unenhanced L1 = +11 HU on average).
_ENHANCEMENT: dict[Contrast, dict[Fine, float]] = {
    Contrast.NONE: {},
    Contrast.ARTERIAL: {
        Fine.AORTA: 260,
        Fine.IVC: 20,
        Fine.KIDNEY: 140,
        Fine.SPLEEN: 60,
        Fine.LIVER: 12,
        Fine.BASIVERTEBRAL_VEIN: 30,
        Fine.SMALL_BOWEL_WALL: 50,
        Fine.COLON_WALL: 40,
        Fine.STOMACH_WALL: 50,
        Fine.VERTEBRAL_TRABECULAR: 8,
        Fine.SACRUM: 6,
        Fine.SKIN: 10,
        Fine.DISC: 5,
    },
    Contrast.PORTAL: {
        Fine.AORTA: 120,
        Fine.IVC: 110,
        Fine.KIDNEY: 130,
        Fine.SPLEEN: 70,
        Fine.LIVER: 50,
        Fine.BASIVERTEBRAL_VEIN: 90,
        Fine.SMALL_BOWEL_WALL: 45,
        Fine.COLON_WALL: 40,
        Fine.STOMACH_WALL: 45,
        Fine.VERTEBRAL_TRABECULAR: 11,
        Fine.SACRUM: 9,
        Fine.SKIN: 15,
        Fine.DISC: 8,
    },
}
_MUSCLE_ENHANCEMENT = {Contrast.NONE: 0.0, Contrast.ARTERIAL: 5.0, Contrast.PORTAL: 8.0}
_MUSCLES = MUSCLE_FINES
# In-plane PSF sigma (mm), edge enhancement gain and default noise SD per kernel.
_PSF_MM = {Kernel.SOFT: 0.65, Kernel.SHARP: 0.35}
_SHARPEN = {Kernel.SOFT: 0.0, Kernel.SHARP: 0.6}
_NOISE_HU = {Kernel.SOFT: 12.0, Kernel.SHARP: 30.0}
# Texture SD (HU) by tissue family; correlation length ~2-3 mm.
_TEXTURE_HU = {"fat": 7.0, "muscle": 4.0, "organ": 4.0, "trabecular": 14.0}


@dataclass(frozen=True)
class CTSettings:
    """Acquisition choices that change the image (not the anatomy)."""

    contrast: Contrast = Contrast.NONE
    kvp: float = 120.0
    kernel: Kernel = Kernel.SOFT
    noise_hu: float | None = None  # None: the kernel's default
    supersample: int = 3
    outside_fov_hu: int = -2048


def attenuation_table(
    phantom: Phantom, contrast: Contrast | str = Contrast.NONE, kvp: float = 120.0
) -> np.ndarray:
    """HU lookup indexed [fine label, vertebra value]: the noise-free attenuation of every sub-point.

    Lower kVp raises bone and contrast HU and slightly lowers fat (a simple linear spectral model:
    ±1.5%/kV for iodine and bone around 120 kV), enough to make kVp matter the way it does clinically.
    """
    contrast = Contrast(contrast)
    p = phantom.params
    table = np.zeros((64, 32), dtype=np.float32)
    hu = {**_PLAIN_HU, **{m: p.muscle_hu + _MUSCLE_ENHANCEMENT[contrast] for m in _MUSCLES}}
    enh = _ENHANCEMENT[contrast]
    k_hi = 1.0 + 0.015 * (120.0 - kvp)
    for fine, base in hu.items():
        val = base + enh.get(fine, 0.0) * k_hi
        if fine in (
            Fine.VERTEBRAL_CORTEX,
            Fine.POSTERIOR_ELEMENTS,
            Fine.RIB,
            Fine.SACRUM,
            Fine.ILIUM,
            Fine.HUMERUS,
        ):
            val = base * k_hi + enh.get(fine, 0.0)
        if base < -50 and base > -200:
            val = base * (1.0 + 0.003 * (120.0 - kvp))
        table[int(fine), :] = val
    for v in phantom.spine.vertebrae:
        trab = (p.trabecular_hu + v.trabecular_offset_hu) * k_hi + enh.get(Fine.VERTEBRAL_TRABECULAR, 0.0)
        table[int(Fine.VERTEBRAL_TRABECULAR), v.value] = trab
    return table


def mean_over_subpoints(sampled: Sampled, table: np.ndarray) -> np.ndarray:
    """Noise-free image: table value at each voxel, averaged over sub-points at boundaries."""
    img = table[sampled.fine, sampled.vert].astype(np.float32)
    if len(sampled.mixed):
        vals = table[sampled.sub_fine, sampled.sub_vert].mean(axis=1)
        img.reshape(-1)[sampled.mixed] = vals
    return img


def render_ct(
    phantom: Phantom,
    grid: Grid,
    *,
    contrast: Contrast | str = "none",
    kvp: float = 120.0,
    kernel: Kernel | str = "soft",
    noise_hu: float | None = None,
    rng: np.random.Generator,
    supersample: int = 3,
    outside_fov_hu: int = -2048,
) -> tuple[np.ndarray, PhantomLabels]:
    """A CT image (int16 HU, [slice, row, column]) of ``phantom`` on ``grid`` and its truth labels."""
    settings = CTSettings(Contrast(contrast), kvp, Kernel(kernel), noise_hu, supersample, outside_fov_hu)
    sampled = phantom.sample(grid, settings.supersample)
    return ct_from_sampled(phantom, sampled, settings, rng), sampled.labels()


def ct_from_sampled(
    phantom: Phantom, sampled: Sampled, settings: CTSettings, rng: np.random.Generator
) -> np.ndarray:
    """Steps 1-5 of the module docstring on an already sampled grid."""
    grid = sampled.grid
    img = mean_over_subpoints(sampled, attenuation_table(phantom, settings.contrast, settings.kvp))
    img += _texture(sampled, rng)
    _, dj, di = grid.spacing_kji
    sig = _PSF_MM[settings.kernel]
    blurred = ndimage.gaussian_filter(img, sigma=(0, sig / dj, sig / di), mode="nearest")
    gain = _SHARPEN[settings.kernel]
    if gain:
        wide = ndimage.gaussian_filter(blurred, sigma=(0, 1.2 / dj, 1.2 / di), mode="nearest")
        blurred = blurred + gain * (blurred - wide)
    sd = _NOISE_HU[settings.kernel] if settings.noise_hu is None else float(settings.noise_hu)
    if sd > 0:
        blurred += _correlated_noise(grid.shape, sd, 0.5 if settings.kernel is Kernel.SOFT else 0.3, rng)
    out = np.clip(np.rint(blurred), -1024, 3071).astype(np.int16)
    out[:, ~_fov_disc(grid.shape[1:])] = settings.outside_fov_hu
    return out


def _texture(sampled: Sampled, rng: np.random.Generator) -> np.ndarray:
    """Zero-mean smooth texture per tissue family, on the grid (render-time, not anatomy)."""
    fine = sampled.fine
    fat = np.isin(fine, [Fine.SAT, Fine.VAT, Fine.IMAT_SEPTUM, Fine.IMAT_INCLUSION, Fine.ARM_FAT])
    muscle = np.isin(fine, list(_MUSCLES))
    organ = np.isin(fine, [Fine.LIVER, Fine.SPLEEN, Fine.KIDNEY])
    trab = np.isin(fine, [Fine.VERTEBRAL_TRABECULAR, Fine.SACRUM])
    out = np.zeros(fine.shape, dtype=np.float32)
    _, dj, di = sampled.grid.spacing_kji
    for mask, key, corr_mm in (
        (fat, "fat", 2.5),
        (muscle, "muscle", 2.0),
        (organ, "organ", 3.0),
        (trab, "trabecular", 1.2),
    ):
        if mask.any():
            field = ndimage.gaussian_filter(
                rng.standard_normal(fine.shape).astype(np.float32), sigma=(0.5, corr_mm / dj, corr_mm / di)
            )
            field /= max(float(field.std()), 1e-6)
            out[mask] += _TEXTURE_HU[key] * field[mask]
    return out


def _correlated_noise(
    shape: tuple[int, ...], sd: float, corr_px: float, rng: np.random.Generator
) -> np.ndarray:
    noise = ndimage.gaussian_filter(
        rng.standard_normal(shape).astype(np.float32), sigma=(0, corr_px, corr_px)
    )
    return noise * (sd / max(float(noise.std()), 1e-6))


def _fov_disc(shape: tuple[int, int]) -> np.ndarray:
    """Pixels inside the reconstruction circle inscribed in the matrix."""
    rows, cols = shape
    j, i = np.ogrid[:rows, :cols]
    cj, ci = (rows - 1) / 2, (cols - 1) / 2
    return ((j - cj) / (rows / 2)) ** 2 + ((i - ci) / (cols / 2)) ** 2 <= 1.0


__all__ = ["LEVELS", "CTSettings", "Contrast", "Kernel", "attenuation_table", "render_ct"]
