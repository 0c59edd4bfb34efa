"""Truth measurements equal what the labels say, on the right slices."""

from __future__ import annotations

import numpy as np
import pytest

from segmentation_models.phantoms import (
    Fine,
    SubjectParams,
    axial_grid,
    make_phantom,
    render_ct,
    render_dixon,
    truth_measurements,
)
from segmentation_models.phantoms.truth import trabecular_roi


@pytest.fixture(scope="module")
def truth_scene():
    phantom = make_phantom(SubjectParams("R", "M", 55, 1.8, 90, seed=21))
    grid = axial_grid(phantom, 1.5, 5.0, levels=("L2", "L4"), matrix=(256, 256))
    hu, labels = render_ct(phantom, grid, rng=np.random.default_rng(0), supersample=2)
    dixon = render_dixon(phantom, grid, rng=np.random.default_rng(1), supersample=1)
    return phantom, grid, hu, labels, dixon, truth_measurements(phantom, labels, grid, hu, dixon)


def test_only_levels_on_the_grid_are_reported(truth_scene) -> None:
    *_, truth = truth_scene
    assert set(truth["levels"]) == {"L2", "L3", "L4"}


def test_mid_slice_is_nearest_to_the_body_middle(truth_scene) -> None:
    phantom, grid, *_, truth = truth_scene
    entry = truth["levels"]["L3"]
    zs = np.array([grid.slice_center_world(k)[2] for k in range(grid.shape[0])])
    assert entry["slice_index"] == int(np.argmin(np.abs(zs - phantom.level_mid_z("L3"))))
    assert entry["z_mm"] == pytest.approx(zs[entry["slice_index"]])


def test_areas_equal_voxel_counts(truth_scene) -> None:
    _, grid, hu, labels, _, truth = truth_scene
    entry = truth["levels"]["L3"]
    k = entry["slice_index"]
    value = {n: v for v, n in labels.tissue_names.items()}
    for key, name in (("muscle", "skeletal_muscle"), ("imat", "imat"), ("sat", "sat"), ("vat", "vat")):
        count = np.count_nonzero(labels.tissue[k] == value[name])
        assert entry[f"{key}_area_cm2"] == pytest.approx(count * grid.pixel_area_mm2 / 100)
    muscle = labels.tissue[k] == value["skeletal_muscle"]
    assert entry["muscle_hu_mean"] == pytest.approx(hu[k][muscle].mean())
    assert entry["smi_cm2_m2"] == pytest.approx(entry["muscle_area_cm2"] / 1.8**2)


def test_trabecular_roi_avoids_cortex_and_vein(truth_scene) -> None:
    _phantom, _, _hu, labels, _, truth = truth_scene
    entry = truth["levels"]["L3"]
    roi = trabecular_roi(labels, entry["slice_index"], "L3")
    assert roi.sum() > 50
    assert (labels.fine[entry["slice_index"]][roi] == Fine.VERTEBRAL_TRABECULAR).all()
    assert abs(entry["trabecular_hu_mean"] - entry["trabecular_hu_nominal"]) < 6
    assert entry["mr"]["marrow_ff_pct"] == pytest.approx(entry["mr"]["marrow_ff_nominal_pct"], abs=0.5)


def test_missing_images_give_none_not_zero(truth_scene) -> None:
    phantom, grid, _, labels, _, _ = truth_scene
    truth = truth_measurements(phantom, labels, grid, None, None)
    entry = truth["levels"]["L3"]
    assert entry["muscle_hu_mean"] is None and entry["trabecular_hu_mean"] is None and "mr" not in entry


def test_wrong_image_shape_is_refused(truth_scene) -> None:
    phantom, grid, hu, labels, *_ = truth_scene
    with pytest.raises(ValueError, match="does not match"):
        truth_measurements(phantom, labels, grid, hu[:-1], None)


def test_muscle_fat_fraction_truth_core_equals_parameter_label_mean_above_it() -> None:
    phantom = make_phantom(SubjectParams("F", "F", 60, 1.65, 70, seed=5, muscle_fat_fraction=0.1))
    z = phantom.level_mid_z("L3")
    grid = axial_grid(phantom, 2.0, 4.0, z_range_mm=(z - 4, z + 4), matrix=(200, 200))
    dixon = render_dixon(phantom, grid, rng=np.random.default_rng(0), supersample=2)
    mr = truth_measurements(phantom, dixon.labels, grid, None, dixon)["levels"]["L3"]["mr"]
    assert mr["muscle_ff_nominal_pct"] == pytest.approx(10.0)
    for group in ("psoas", "paraspinal", "abdominal_wall"):
        assert mr["muscle_ff_core_pct"][group] == pytest.approx(10.0, abs=0.6), group
    for group in ("paraspinal", "abdominal_wall"):  # bordered by fat: septa, inclusions, SAT
        assert mr["muscle_ff_pct"][group] > mr["muscle_ff_core_pct"][group] + 0.3, group
