"""Measurements on synthetic shapes of known size: level slices, areas, HU, trabecular ROI."""

from __future__ import annotations

import numpy as np
import pytest

from imaging.levels.slices import SliceConvention, find_level_slices, vertebral_body_mask
from imaging.measurements.bone import depth_mm, trabecular_hu, trabecular_roi
from imaging.measurements.tissue import slab_slices, slab_tissue, slice_tissue
from imaging.segmentation.labels import TISSUE_NAMES, VERTEBRA_NAMES, LabelMap
from imaging.volume import Volume

L2, L3 = 21, 22  # values in VERTEBRA_NAMES
assert VERTEBRA_NAMES[L3] == "L3"


def _grid(n_slices: int = 40, n: int = 96, px: float = 1.0, dz: float = 2.0, flip: bool = False) -> Volume:
    affine = np.eye(4)
    affine[:3, 0] = [0, 0, -dz if flip else dz]  # slice axis along z (head-first or reversed)
    affine[:3, 1] = [0, px, 0]  # rows go posterior
    affine[:3, 2] = [px, 0, 0]  # columns go to the patient's left
    affine[:3, 3] = [-n * px / 2, -n * px / 2, 40.0 if flip else -40.0]
    return Volume(np.zeros((n_slices, n, n), np.int16), affine)


def _vertebra(vol: Volume, z0: float, z1: float, with_tp_between: tuple[float, float] | None) -> np.ndarray:
    """Body: cylinder r=18 mm centred at (0, 0); spinous process: 4 mm bar posterior; optional TPs."""
    k, j, i = np.indices(vol.shape)
    w = vol.world(np.column_stack([k.ravel(), j.ravel(), i.ravel()])).reshape(*vol.shape, 3)
    x, y, z = w[..., 0], w[..., 1], w[..., 2]
    inz = (z >= z0) & (z <= z1)
    body = inz & (x**2 + y**2 <= 18**2)
    spinous = (z >= z0 - 6) & (z <= z1 - 6) & (np.abs(x) <= 2) & (y > 18) & (y < 40)
    mask = body | spinous
    if with_tp_between is not None:
        tz = (z >= with_tp_between[0]) & (z <= with_tp_between[1])
        mask |= tz & (np.abs(y - 10) <= 2) & (np.abs(x) <= 40)
    return mask


@pytest.mark.parametrize("flip", [False, True])
def test_mid_vertebral_slice_is_the_middle_of_the_body_not_of_the_processes(flip: bool) -> None:
    vol = _grid(flip=flip)
    labels = np.zeros(vol.shape, np.uint8)
    labels[_vertebra(vol, -10.0, 20.0, None)] = L3
    found, notes = find_level_slices(LabelMap(labels, VERTEBRA_NAMES), vol)
    assert notes == {}
    k = found["L3"].slice_index
    # body spans z = -10..20 mm; the spinous process (down to -16) must not pull the middle down
    assert vol.world([[k, 0, 0]])[0, 2] == pytest.approx(5.0, abs=1.0)
    # z_mm is the position along the slice normal (= world z only when the normal is +z)
    assert found["L3"].z_mm == pytest.approx(float(vol.slice_position_mm(k)))
    # the body it was chosen from travels with it (the trabecular ROI reuses it)
    np.testing.assert_array_equal(found["L3"].body.full(), vertebral_body_mask(labels == L3, vol))


def test_body_opening_removes_processes() -> None:
    vol = _grid()
    vert = _vertebra(vol, -10.0, 20.0, (0.0, 6.0))
    body = vertebral_body_mask(vert, vol)
    k = int(np.argmin(np.abs(vol.slice_position_mm(np.arange(vol.shape[0])) - 2.0)))
    assert body[k].sum() == pytest.approx(np.pi * 18**2, rel=0.06)
    assert not body[k][:, :20].any() and not body[k][:, -20:].any()  # TP tips gone


def test_transverse_process_convention_picks_a_slice_with_both_processes() -> None:
    vol = _grid()
    labels = np.zeros(vol.shape, np.uint8)
    labels[_vertebra(vol, -10.0, 20.0, (10.0, 14.0))] = L3
    found, _ = find_level_slices(LabelMap(labels, VERTEBRA_NAMES), vol, SliceConvention.TRANSVERSE_PROCESSES)
    assert found["L3"].convention is SliceConvention.TRANSVERSE_PROCESSES
    assert 10.0 <= found["L3"].z_mm <= 14.0


def test_transverse_process_convention_falls_back_and_says_so() -> None:
    vol = _grid()
    labels = np.zeros(vol.shape, np.uint8)
    labels[_vertebra(vol, -10.0, 20.0, None)] = L3
    found, notes = find_level_slices(
        LabelMap(labels, VERTEBRA_NAMES), vol, SliceConvention.TRANSVERSE_PROCESSES
    )
    assert found["L3"].convention is SliceConvention.MID_VERTEBRAL
    assert "transverse processes not found" in notes["L3"]


def test_a_body_cut_by_the_scan_range_is_reported_not_guessed() -> None:
    vol = _grid()
    labels = np.zeros(vol.shape, np.uint8)
    labels[_vertebra(vol, 30.0, 60.0, None)] = L2  # extends beyond the top slice (z = 38)
    labels[_vertebra(vol, -10.0, 20.0, None)] = L3
    found, notes = find_level_slices(LabelMap(labels, VERTEBRA_NAMES), vol)
    assert "L2" not in found and "L3" in found
    assert notes["L2"].startswith("L2:") and "cannot be established" in notes["L2"]


def test_slice_areas_and_hu_of_known_shapes() -> None:
    tissue = np.zeros((50, 60), np.uint8)
    hu = np.zeros((50, 60), np.float32)
    tissue[0:10, 0:10] = 1  # muscle 100 px
    hu[0:10, 0:5] = 10.0  # low density half
    hu[0:10, 5:10] = 50.0
    tissue[20:24, 0:5] = 2  # imat 20 px
    tissue[30:40, 0:20] = 3  # sat 200 px
    tissue[45:50, 0:6] = 4  # vat 30 px
    res = slice_tissue(LabelMap(tissue, TISSUE_NAMES), pixel_area_mm2=0.5, hu=hu)
    assert res.muscle_area_cm2 == pytest.approx(0.5)
    assert res.imat_area_cm2 == pytest.approx(0.1)
    assert res.sat_area_cm2 == pytest.approx(1.0)
    assert res.vat_area_cm2 == pytest.approx(0.15)
    assert res.muscle_hu_mean == pytest.approx(30.0)
    assert res.low_density_muscle_area_cm2 == pytest.approx(0.25)
    assert res.normal_density_muscle_area_cm2 == pytest.approx(0.25)
    mr = slice_tissue(LabelMap(tissue, TISSUE_NAMES), pixel_area_mm2=0.5)
    assert mr.muscle_hu_mean is None and mr.low_density_muscle_area_cm2 is None


def test_slab_averages_over_the_requested_thickness() -> None:
    tissue = np.zeros((5, 10, 10), np.uint8)
    for k in range(5):
        tissue[k, : k + 1, :] = 1  # 10, 20, ... 50 px
    idx = slab_slices(np.array([0.0, 2.0, 4.0, 6.0, 8.0]), 2, half_width_mm=2.0)
    assert idx.tolist() == [1, 2, 3]
    res = slab_tissue(LabelMap(tissue, TISSUE_NAMES), 1.0, idx)
    assert res.muscle_area_cm2 == pytest.approx(0.3)


def test_trabecular_roi_avoids_cortex_and_posterior_vein() -> None:
    vol = _grid()
    vert = _vertebra(vol, -10.0, 20.0, None)
    body = vertebral_body_mask(vert, vol)
    k, j, i = np.indices(vol.shape)
    w = vol.world(np.column_stack([k.ravel(), j.ravel(), i.ravel()])).reshape(*vol.shape, 3)
    r = np.hypot(w[..., 0], w[..., 1])
    hu = np.where(r > 16.5, 900.0, 120.0)  # 1.5 mm cortex at 900 HU, trabecular 120 HU
    vein = (np.abs(w[..., 0]) < 3) & (w[..., 1] > 9) & (w[..., 1] < 18)
    hu = np.where(vein, -20.0, hu)  # low-density basivertebral vein, posterior midline
    res = trabecular_hu(hu.astype(np.float32), body, vol)
    assert res.hu_mean == pytest.approx(120.0)
    assert res.hu_median == pytest.approx(120.0)
    roi = trabecular_roi(body, vol)
    z_roi = vol.slice_position_mm(np.flatnonzero(roi.any(axis=(1, 2))))
    assert z_roi.min() >= -3.0 and z_roi.max() <= 13.0  # central half of -10..20


def test_tiny_body_gives_none_with_reason() -> None:
    vol = _grid()
    body = np.zeros(vol.shape, bool)
    body[20, 45:49, 45:49] = True
    res = trabecular_hu(np.zeros(vol.shape, np.float32), body, vol)
    assert res.hu_mean is None and res.reason


@pytest.mark.parametrize("flip", [False, True])
def test_even_body_span_takes_the_cranial_slice(flip: bool) -> None:
    vol = _grid(flip=flip)  # 2 mm slices; flip: slice index runs caudal
    labels = np.zeros(vol.shape, np.uint8)
    labels[_vertebra(vol, -9.0, 20.0, None)] = L3  # body centres at -8..20: 15 slices, odd
    found, _ = find_level_slices(LabelMap(labels, VERTEBRA_NAMES), vol)
    assert vol.world([[found["L3"].slice_index, 0, 0]])[0, 2] == pytest.approx(6.0)
    labels[_vertebra(vol, -9.0, 22.0, None)] = L3  # -8..22: 16 slices, centre 7 between 6 and 8
    found, _ = find_level_slices(LabelMap(labels, VERTEBRA_NAMES), vol)
    assert vol.world([[found["L3"].slice_index, 0, 0]])[0, 2] == pytest.approx(8.0)  # cranial


def _body_world(vol: Volume) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    k, j, i = np.indices(vol.shape)
    w = vol.world(np.column_stack([k.ravel(), j.ravel(), i.ravel()])).reshape(*vol.shape, 3)
    return w[..., 0], w[..., 1], w[..., 2]


def test_roi_is_free_of_sharp_kernel_undershoot_next_to_the_cortex() -> None:
    from scipy import ndimage

    vol = _grid(px=0.75, n=128)
    x, y, z = _body_world(vol)
    r = np.hypot(x, y)
    inside = (z >= -10) & (z <= 20)
    hu = np.where(inside & (r <= 18), np.where(r > 16.8, 950.0, 130.0), 40.0).astype(np.float32)
    # An edge-enhancing kernel: blur, then add 0.6 x (blur - wide blur): bone next to cortex undershoots.
    blur = ndimage.gaussian_filter(hu, sigma=(0, 0.35 / 0.75, 0.35 / 0.75))
    sharp = blur + 0.6 * (blur - ndimage.gaussian_filter(blur, sigma=(0, 1.2 / 0.75, 1.2 / 0.75)))
    body = vertebral_body_mask(_vertebra(vol, -10.0, 20.0, None), vol)
    res = trabecular_hu(sharp, body, vol)
    assert res.hu_mean == pytest.approx(130.0, abs=0.5)
    rim = body & ~ndimage.binary_erosion(body, iterations=6) & (r < 16.0)  # 1-4.5 mm inside the cortex
    assert sharp[rim].mean() < 125.0  # the undershoot the margin avoids is real in this image


def test_roi_avoids_a_central_venous_lake_and_stays_anterior() -> None:
    vol = _grid()
    x, y, z = _body_world(vol)
    body = vertebral_body_mask(_vertebra(vol, -10.0, 20.0, None), vol)
    lake = (x / 4.0) ** 2 + ((y - 0.3 * 18) / 3.0) ** 2 + ((z - 5.0) / 3.5) ** 2 < 1  # reaches y = 2.4
    channel = (np.abs(x) < 2) & (y > 5.4) & (np.abs(z - 5.0) < 2.5)
    hu = np.where(lake | channel, 30.0, 125.0).astype(np.float32)
    assert trabecular_hu(hu, body, vol).hu_mean == pytest.approx(125.0)
    roi = trabecular_roi(body, vol)
    assert y[roi].max() <= 0.0 + 1e-6 and y[roi].min() >= -18.0 + 5.0  # anterior half, 5 mm off the edge


def test_anterior_is_found_from_world_coordinates_when_rows_run_anterior() -> None:
    vol = _grid()
    affine = vol.affine.copy()
    affine[:3, 1] = [0, -1.0, 0]  # rows run anterior
    affine[1, 3] = 48.0
    flipped = Volume(vol.array, affine)
    _, y, _ = _body_world(flipped)
    body = vertebral_body_mask(_vertebra(flipped, -10.0, 20.0, None), flipped)
    roi = trabecular_roi(body, flipped)
    assert roi.any() and y[roi].max() <= 1e-6


def test_roi_under_the_minimum_area_gives_none_with_the_area() -> None:
    vol = _grid(px=3.0, n=32)
    x, y, _ = _body_world(vol)
    small = _vertebra(vol, -10.0, 20.0, None) & (np.hypot(x, y) <= 9.0)
    res = trabecular_hu(np.zeros(vol.shape, np.float32), vertebral_body_mask(small, vol), vol)
    assert res.hu_mean is None and res.roi_voxels > 0 and "mm²" in (res.reason or "")


def test_depth_on_the_bounding_box_equals_the_whole_slice_transform() -> None:
    from scipy import ndimage

    vol = _grid(n=64, px=0.7)
    rng = np.random.default_rng(5)
    for _ in range(6):
        mask = ndimage.binary_opening(rng.random((64, 64)) < 0.6, iterations=2)
        mask[:, :3] |= rng.random() < 0.5  # sometimes touching the matrix edge
        whole = ndimage.distance_transform_edt(np.pad(mask, 1), sampling=(0.7, 0.7))[1:-1, 1:-1]
        np.testing.assert_array_equal(depth_mm(mask, vol), whole)
    assert not depth_mm(np.zeros((64, 64), bool), vol).any()
