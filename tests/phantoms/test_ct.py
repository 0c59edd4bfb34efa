"""CT rendering: tissue attenuation, contrast, kernel noise and the reconstruction circle."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from phantoms import Fine, SubjectParams, axial_grid, make_phantom, render_ct


@pytest.fixture(scope="module")
def scene():
    params = SubjectParams("C", "M", 60, 1.75, 82, seed=4, muscle_hu=38.0, trabecular_hu=150.0)
    phantom = make_phantom(params)
    z = phantom.level_mid_z("L1")
    grid = axial_grid(phantom, 1.0, 3.0, z_range_mm=(z - 3, z + 3), matrix=(400, 400))
    return phantom, grid


def _core(labels, label: Fine, mm: int = 3) -> np.ndarray:
    mask = labels.fine == label
    return ndimage.binary_erosion(mask, structure=np.ones((1, 2 * mm + 1, 2 * mm + 1)))


def test_tissue_attenuation_in_expected_ranges(scene) -> None:
    phantom, grid = scene
    hu, labels = render_ct(phantom, grid, noise_hu=0, rng=np.random.default_rng(0))
    assert hu.dtype == np.int16 and hu.shape == grid.shape
    expect = {Fine.SAT: (-125, -85), Fine.LIVER: (50, 66), Fine.AORTA: (30, 55), Fine.PARASPINAL: (30, 46)}
    for label, (lo, hi) in expect.items():
        core = _core(labels, label)
        assert core.any(), label
        assert lo <= hu[core].mean() <= hi, (label, hu[core].mean())
    air = (labels.fine == Fine.AIR) & (hu > -1500)
    assert np.median(hu[air]) <= -990


def test_partial_volume_blends_the_shell(scene) -> None:
    phantom, grid = scene
    hu, labels = render_ct(phantom, grid, noise_hu=0, rng=np.random.default_rng(0))
    cortex = hu[labels.fine == Fine.VERTEBRAL_CORTEX]
    assert 200 < np.median(cortex) < 900  # a 1.2 mm shell never reads its full 950 HU at 1 mm pixels


def test_portal_contrast_enhances_vessels_organs_and_bone(scene) -> None:
    phantom, grid = scene
    plain, labels = render_ct(phantom, grid, noise_hu=0, rng=np.random.default_rng(1))
    portal, _ = render_ct(phantom, grid, contrast="portal", noise_hu=0, rng=np.random.default_rng(1))
    aorta, liver = _core(labels, Fine.AORTA), _core(labels, Fine.LIVER)
    trab = _core(labels, Fine.VERTEBRAL_TRABECULAR, 2)
    assert portal[aorta].mean() > 150 and portal[liver].mean() > 100
    delta = portal[trab].mean() - plain[trab].mean()
    assert 8 <= delta <= 14


def test_kernel_sets_noise_and_fov_is_padded(scene) -> None:
    phantom, grid = scene
    soft, labels = render_ct(phantom, grid, kernel="soft", rng=np.random.default_rng(2))
    sharp, _ = render_ct(phantom, grid, kernel="sharp", rng=np.random.default_rng(2))
    sat = _core(labels, Fine.SAT, 4)
    assert sharp[sat].std() > 1.5 * soft[sat].std()
    assert soft[0, 0, 0] == -2048 and soft[0, 200, 200] != -2048


def test_rendering_is_reproducible_with_the_same_rng(scene) -> None:
    phantom, grid = scene
    a, _ = render_ct(phantom, grid, rng=np.random.default_rng(7), supersample=1)
    b, _ = render_ct(phantom, grid, rng=np.random.default_rng(7), supersample=1)
    assert np.array_equal(a, b)
