"""Two-point Dixon fat fraction on synthetic signals with known truth."""

from __future__ import annotations

import numpy as np
import pytest

from imaging.measurements.dixon import (
    background_noise_sd,
    fat_fraction,
    roi_fat_fraction,
    swap_warning,
    water_fat_from_in_opposed,
)


def _phantom(rng: np.random.Generator, noise: float = 2.0):
    """Air border, muscle (FF 8%) on the left half, fat (FF 90%) on the right half."""
    water = np.zeros((64, 64), np.float32)
    fat = np.zeros((64, 64), np.float32)
    body = np.zeros((64, 64), bool)
    body[8:56, 8:56] = True
    muscle = body.copy()
    muscle[:, 32:] = False
    sat = body & ~muscle
    water[muscle], fat[muscle] = 920.0, 80.0
    water[sat], fat[sat] = 100.0, 900.0

    def magnitude(x: np.ndarray) -> np.ndarray:
        return np.abs(x + rng.normal(0, noise, x.shape) + 1j * rng.normal(0, noise, x.shape)).astype(
            np.float32
        )

    return magnitude(water), magnitude(fat), magnitude(water + fat), magnitude(water - fat), body, muscle, sat


def test_scanner_water_fat_gives_the_true_fat_fraction() -> None:
    w, f, _, _, body, muscle, sat = _phantom(np.random.default_rng(1))
    ff = fat_fraction(w, f, background_noise_sd(w + f, body), source="scanner_water_fat", folded=False)
    assert roi_fat_fraction(ff, muscle)[0] == pytest.approx(8.0, abs=0.5)
    assert roi_fat_fraction(ff, sat)[0] == pytest.approx(90.0, abs=0.5)
    assert np.isnan(ff.percent[~body]).mean() > 0.95  # air is not measured
    assert swap_warning(ff, sat) is None


def test_in_opposed_phase_is_correct_for_muscle_and_folded_for_fat() -> None:
    _, _, ip, op, body, muscle, sat = _phantom(np.random.default_rng(2))
    water, fat = water_fat_from_in_opposed(ip, op)
    ff = fat_fraction(water, fat, background_noise_sd(ip, body), source="ip_op_magnitude", folded=True)
    assert roi_fat_fraction(ff, muscle)[0] == pytest.approx(8.0, abs=0.5)
    assert roi_fat_fraction(ff, sat)[0] == pytest.approx(10.0, abs=0.5)  # 90% folds to 10%
    assert any("folded" in w for w in ff.warnings)


def test_swapped_water_and_fat_are_flagged() -> None:
    w, f, _, _, body, _, sat = _phantom(np.random.default_rng(3))
    ff = fat_fraction(f, w, background_noise_sd(w + f, body), source="scanner_water_fat", folded=False)
    assert "swap" in (swap_warning(ff, sat) or "")


def test_roi_without_signal_is_none_with_reason() -> None:
    w, f, _, _, body, _, _ = _phantom(np.random.default_rng(4))
    ff = fat_fraction(w, f, background_noise_sd(w + f, body), source="scanner_water_fat", folded=False)
    value, reason = roi_fat_fraction(ff, ~body & (np.arange(64)[None, :] < 4))
    assert value is None and "measurable voxels" in reason
