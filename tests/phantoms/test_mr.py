"""Dixon rendering: signal model, fat-fraction truth and noise."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from phantoms import Fine, SubjectParams, axial_grid, make_phantom, render_dixon


@pytest.fixture(scope="module")
def dixon_scene():
    params = SubjectParams("D", "F", 45, 1.65, 68, seed=9, muscle_fat_fraction=0.12, marrow_fat_fraction=0.45)
    phantom = make_phantom(params)
    z = phantom.level_mid_z("L3")
    grid = axial_grid(phantom, 1.2, 4.0, z_range_mm=(z - 4, z + 4), matrix=(320, 320))
    images = render_dixon(phantom, grid, field_strength_t=3.0, snr=120, rng=np.random.default_rng(3))
    return phantom, grid, images


def _core(labels, fines, mm: int = 2) -> np.ndarray:
    mask = np.isin(labels.fine, [int(f) for f in fines])
    return ndimage.binary_erosion(mask, structure=np.ones((1, 2 * mm + 1, 2 * mm + 1)))


def test_truth_fat_fraction_matches_parameters(dixon_scene) -> None:
    _phantom, _, img = dixon_scene
    core = _core(img.labels, [Fine.PSOAS, Fine.PARASPINAL])
    assert core.any()
    exact = np.isclose(img.fat_fraction_pct[core], 12.0, atol=1e-3)
    # Core voxels can still hold a sliver of an IMAT streak from the neighbouring slice; nearly all are exact.
    assert exact.mean() > 0.95
    assert np.median(img.fat_fraction_pct[core]) == pytest.approx(12.0, abs=1e-3)
    sat = _core(img.labels, [Fine.SAT])
    assert img.fat_fraction_pct[sat].mean() > 90


def test_measured_fat_fraction_matches_within_noise(dixon_scene) -> None:
    _, _, img = dixon_scene
    core = _core(img.labels, [Fine.PSOAS, Fine.PARASPINAL])
    measured = 100 * img.fat[core] / (img.fat[core] + img.water[core])
    assert abs(measured.mean() - 12.0) < 1.0


def test_in_and_opposed_phase_follow_the_signal_model(dixon_scene) -> None:
    _, _, img = dixon_scene
    sat = _core(img.labels, [Fine.SAT], 3)
    muscle = _core(img.labels, [Fine.PARASPINAL])
    # Fat-dominant SAT: opposed phase is |W - F| = F - W, far below in-phase W + F.
    assert img.opposed_phase[sat].mean() < 0.9 * img.in_phase[sat].mean()
    assert img.in_phase[sat].mean() > img.in_phase[muscle].mean()
    w_plus_f = img.water[muscle].mean() + img.fat[muscle].mean()
    assert abs(img.in_phase[muscle].mean() - w_plus_f) < 0.05 * w_plus_f
    assert img.in_phase.dtype == np.float32 and img.in_phase.max() < 4096


def test_marrow_fat_fraction_varies_by_level_around_the_parameter(dixon_scene) -> None:
    phantom, _, img = dixon_scene
    core = _core(img.labels, [Fine.VERTEBRAL_TRABECULAR], 3)
    assert (
        abs(img.fat_fraction_pct[core].mean() - 100 * (0.45 + phantom.spine.by_name["L3"].marrow_ff_offset))
        < 0.5
    )
