"""Two-point Dixon MR rendering with exact fat-fraction truth.

Signal model (proton-density weighted, so the signal fat fraction equals the tissue fat fraction;
no T1, T2* or multi-peak bias is simulated): every tissue has a relative proton density ``rho`` and a
fat fraction ``ff``; water W = rho·(1-ff), fat F = rho·ff, averaged over sub-points (partial volume).
Then: Gaussian blur, a smooth receive-coil bias field, scaling to a 12-bit range, and complex
Gaussian noise per image before taking magnitudes (Rician):
in-phase |W+F|, opposed-phase |W-F|, water |W|, fat |F|.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from phantoms.anatomy import Phantom
from phantoms.ct import mean_over_subpoints
from phantoms.grid import Grid
from phantoms.labels import MUSCLE_FINES, Fine, PhantomLabels

FULL_SCALE = 2600.0  # signal of pure fat with rho = 1 before the bias field (fits in 12 bits)
IMAT_FF = 0.90
# (rho, fat fraction) per fine label; muscle and marrow come from the subject parameters.
_TISSUE: dict[Fine, tuple[float, float]] = {
    Fine.SKIN: (0.6, 0.10),
    Fine.SAT: (0.95, 0.93),
    Fine.VAT: (0.95, 0.90),
    Fine.RENAL_SINUS_FAT: (0.95, 0.90),
    Fine.IMAT_SEPTUM: (0.95, IMAT_FF),
    Fine.IMAT_INCLUSION: (0.95, IMAT_FF),
    Fine.ARM_FAT: (0.95, 0.93),
    Fine.VERTEBRAL_CORTEX: (0.05, 0.0),
    Fine.BASIVERTEBRAL_VEIN: (0.4, 0.0),
    Fine.POSTERIOR_ELEMENTS: (0.3, 0.5),
    Fine.RIB: (0.3, 0.5),
    Fine.SACRUM: (0.6, 0.6),
    Fine.ILIUM: (0.5, 0.6),
    Fine.HUMERUS: (0.05, 0.0),
    Fine.HUMERUS_MARROW: (0.9, 0.85),
    Fine.DISC: (0.7, 0.0),
    Fine.SPINAL_CANAL: (0.9, 0.0),
    Fine.LIVER: (0.6, 0.04),
    Fine.SPLEEN: (0.75, 0.01),
    Fine.KIDNEY: (0.8, 0.01),
    Fine.AORTA: (0.3, 0.0),
    Fine.IVC: (0.35, 0.0),
    Fine.STOMACH_WALL: (0.6, 0.02),
    Fine.STOMACH_CONTENT: (0.8, 0.0),
    Fine.SMALL_BOWEL_WALL: (0.6, 0.02),
    Fine.SMALL_BOWEL_CONTENT: (0.8, 0.0),
    Fine.COLON_WALL: (0.6, 0.02),
    Fine.COLON_CONTENT: (0.5, 0.1),
    Fine.BOWEL_GAS: (0.0, 0.0),
    Fine.LINEA_ALBA: (0.4, 0.05),
    Fine.LUNG: (0.05, 0.0),
    Fine.TABLE: (0.0, 0.0),
    Fine.AIR: (0.0, 0.0),
}
_MUSCLE_RHO = 0.6
_MUSCLES = MUSCLE_FINES


@dataclass(frozen=True)
class DixonImages:
    """Four Dixon magnitudes (float32, 12-bit range), the fat-fraction truth (percent) and labels.

    ``fat_fraction_pct`` is 100·F/(W+F) of the noise-free, unblurred, partial-volume-averaged
    W and F: what a perfect two-point Dixon measures in each voxel; 0 where there is no signal.
    """

    in_phase: np.ndarray
    opposed_phase: np.ndarray
    water: np.ndarray
    fat: np.ndarray
    fat_fraction_pct: np.ndarray
    labels: PhantomLabels
    noise_sd: float


def water_fat_tables(phantom: Phantom) -> tuple[np.ndarray, np.ndarray]:
    """Lookup tables [fine label, vertebra value] of water and fat signal (rho units)."""
    p = phantom.params
    rho = np.zeros((64, 32), dtype=np.float32)
    ff = np.zeros((64, 32), dtype=np.float32)
    for fine, (r, f) in _TISSUE.items():
        rho[int(fine)], ff[int(fine)] = r, f
    for m in _MUSCLES:
        rho[int(m)], ff[int(m)] = _MUSCLE_RHO, p.muscle_fat_fraction
    rho[int(Fine.VERTEBRAL_TRABECULAR)] = 0.75
    ff[int(Fine.VERTEBRAL_TRABECULAR)] = p.marrow_fat_fraction
    for v in phantom.spine.vertebrae:
        ff[int(Fine.VERTEBRAL_TRABECULAR), v.value] = np.clip(
            p.marrow_fat_fraction + v.marrow_ff_offset, 0.0, 1.0
        )
    return rho * (1 - ff), rho * ff


def marrow_fat_fraction(phantom: Phantom, level: str) -> float:
    """Trabecular marrow fat fraction (0-1) the renderer uses at ``level``."""
    v = phantom.spine.by_name[level]
    return float(np.clip(phantom.params.marrow_fat_fraction + v.marrow_ff_offset, 0.0, 1.0))


def render_dixon(
    phantom: Phantom,
    grid: Grid,
    *,
    field_strength_t: float = 1.5,
    snr: float | None = None,
    rng: np.random.Generator,
    supersample: int = 2,
) -> DixonImages:
    """Dixon images of ``phantom`` on ``grid``. ``snr`` is lean-muscle in-phase signal / noise SD
    (default 30 at 1.5 T, 50 at 3 T); 3 T also gets a stronger bias field.

    Raises:
        ValueError: a non-positive field strength or SNR.
    """
    if field_strength_t <= 0 or (snr is not None and snr <= 0):
        raise ValueError(f"field strength and SNR must be positive, got {field_strength_t}, {snr}")
    snr = snr if snr is not None else (30.0 if field_strength_t < 2 else 50.0)
    sampled = phantom.sample(grid, supersample)
    w_tab, f_tab = water_fat_tables(phantom)
    w = mean_over_subpoints(sampled, w_tab)
    f = mean_over_subpoints(sampled, f_tab)
    total = w + f
    ff_pct = np.where(total > 1e-3, 100.0 * f / np.maximum(total, 1e-6), 0.0).astype(np.float32)
    _, dj, di = grid.spacing_kji
    sig = (0, 0.8 / dj, 0.8 / di)
    bias = _bias_field(grid.shape, 0.12 if field_strength_t < 2 else 0.25, rng) * FULL_SCALE
    w = ndimage.gaussian_filter(w, sig) * bias
    f = ndimage.gaussian_filter(f, sig) * bias
    sd = _MUSCLE_RHO * FULL_SCALE / snr

    def mag(x: np.ndarray) -> np.ndarray:
        re = x + rng.normal(0, sd, x.shape)
        im = rng.normal(0, sd, x.shape)
        return np.hypot(re, im).astype(np.float32)

    return DixonImages(mag(w + f), mag(w - f), mag(w), mag(f), ff_pct, sampled.labels(), float(sd))


def _bias_field(shape: tuple[int, int, int], amplitude: float, rng: np.random.Generator) -> np.ndarray:
    """Smooth multiplicative receive bias: a random low-order polynomial in the in-plane position."""
    _, rows, cols = shape
    v = np.linspace(-1, 1, rows)[:, None]
    u = np.linspace(-1, 1, cols)[None, :]
    c = rng.uniform(-1, 1, 5)
    poly = c[0] * u + c[1] * v + c[2] * u * v + c[3] * (u * u - 0.33) + c[4] * (v * v - 0.33)
    field = np.exp(amplitude * poly / 2.0).astype(np.float32)
    return np.broadcast_to(field, shape)
