"""Signal fat fraction from two-point Dixon MR (clinical-criteria.md, "MRI").

Water and fat images reconstructed by the scanner are phase-resolved and preferred. From magnitude
in-phase/opposed-phase images alone, water = (IP + OP)/2 and fat = (IP − OP)/2 hold only where water
dominates: a voxel with fat fraction f and one with 1 − f give identical magnitudes. So an IP/OP-only
result is folded into 0–50 % and labelled as such; it is valid for muscle (normally far below 50 %)
and not for marrow of older adults (often above 50 %), which is reported with a warning.

What we report is the *signal* fat fraction, not PDFF: no T1, T2* or multi-peak fat correction.
Magnitude noise biases low-signal voxels towards 50 %, so voxels below an SNR floor are excluded.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

MIN_SNR = 10.0  # signal / background noise SD below which the fat fraction is not trusted
SWAP_SAT_FF_MAX_PCT = 50.0  # subcutaneous fat with a median FF below this => water/fat swapped


@dataclass(frozen=True)
class FatFractionMap:
    percent: np.ndarray  # float32, 0..100; NaN where not measurable (background, low SNR)
    source: str  # "scanner_water_fat" or "ip_op_magnitude"
    folded: bool  # True when derived from IP/OP magnitudes (cannot exceed 50 %)
    warnings: list[str] = field(default_factory=list)


def water_fat_from_in_opposed(in_phase: np.ndarray, opposed: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Water-dominant two-point solution from magnitudes; fat is clipped at 0 (noise can make OP > IP)."""
    ip = in_phase.astype(np.float32)
    op = opposed.astype(np.float32)
    water = (ip + op) / 2.0
    fat = np.clip((ip - op) / 2.0, 0.0, None)
    return water, fat


def background_noise_sd(image: np.ndarray, body: np.ndarray | None = None) -> float | None:
    """Noise SD from air outside the body (Rayleigh-distributed magnitude: SD = mean / sqrt(pi/2))."""
    img = image.astype(np.float64)
    air = ~body if body is not None else img < np.percentile(img, 20)
    values = img[air]
    values = values[values > 0]
    if values.size < 100:
        return None
    return float(values.mean() / np.sqrt(np.pi / 2.0))


def fat_fraction(
    water: np.ndarray, fat: np.ndarray, noise_sd: float | None, *, source: str, folded: bool
) -> FatFractionMap:
    """Fat fraction in percent, NaN where the combined signal is below the SNR floor."""
    w = water.astype(np.float32)
    f = fat.astype(np.float32)
    total = w + f
    warnings: list[str] = []
    if noise_sd is None or noise_sd <= 0:
        floor = np.float32(np.percentile(total, 50) * 0.05)
        warnings.append(
            "background noise could not be estimated; low-signal voxels cut at 5% of median signal"
        )
    else:
        floor = np.float32(MIN_SNR * noise_sd)
    with np.errstate(divide="ignore", invalid="ignore"):
        pct = np.where(total > floor, 100.0 * f / total, np.nan).astype(np.float32)
    pct = np.clip(pct, 0.0, 100.0)
    if folded:
        warnings.append(
            "fat fraction from in/opposed-phase magnitudes: values are folded into 0-50% "
            "(a voxel with fat fraction f is indistinguishable from 1-f)"
        )
    return FatFractionMap(pct, source, folded, warnings)


def swap_warning(ff: FatFractionMap, sat: np.ndarray) -> str | None:
    """Subcutaneous fat must read as fat: if it does not, water and fat images are likely swapped."""
    values = ff.percent[sat]
    values = values[np.isfinite(values)]
    if values.size < 50 or ff.folded:
        return None
    median = float(np.median(values))
    if median < SWAP_SAT_FF_MAX_PCT:
        return (
            f"possible water/fat swap: subcutaneous fat has median fat fraction {median:.0f}% "
            f"(expected > {SWAP_SAT_FF_MAX_PCT:.0f}%); check the series labelled water and fat"
        )
    return None


def roi_fat_fraction(
    ff: FatFractionMap, roi: np.ndarray, min_voxels: int = 20
) -> tuple[float | None, str | None]:
    """Mean fat fraction over an ROI, or None with the reason."""
    values = ff.percent[roi]
    finite = values[np.isfinite(values)]
    if finite.size < min_voxels:
        return None, f"only {finite.size} measurable voxels in the ROI (need {min_voxels})"
    return float(finite.mean()), None
