"""Truth measurements equal what the labels say, on the right slices."""

from __future__ import annotations

import numpy as np
import pytest

from phantoms import (
    Fine,
    SubjectParams,
    axial_grid,
    make_phantom,
    render_ct,
    render_dixon,
    truth_measurements,
)
from phantoms.ct import attenuation_table, mean_over_subpoints
from phantoms.truth import (
    GROUP_FINES,
    CtRender,
    body_mask,
    level_slice,
    muscle_group_map,
    trabecular_roi,
)


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


def test_mid_slice_is_the_middle_of_the_labelled_body(truth_scene) -> None:
    phantom, grid, _, _labels, *_, truth = truth_scene
    entry = truth["levels"]["L3"]
    first, last = entry["body_slices"]
    k = entry["slice_index"]
    assert abs((k - first) - (last - k)) <= 1
    if (last - first) % 2 == 1:  # even count: the cranial of the two (slices run superior here)
        assert k == (first + last + 1) // 2
    assert entry["z_mm"] == pytest.approx(float(grid.slice_position_mm(k)))
    # the labelled body's middle is within a slice of the analytic middle
    assert abs(entry["world_z_mm"] - phantom.level_mid_z("L3")) <= grid.spacing_kji[0]


def test_tie_takes_the_cranial_slice_and_a_cut_body_is_left_out(truth_scene) -> None:
    _, grid, _, labels, *_ = truth_scene
    vert = np.zeros_like(labels.vertebrae)
    fine = np.zeros_like(labels.fine)
    value = int(labels.vertebrae.max())  # any vertebra value
    name = labels.vertebra_names[value]
    fine[2:6, 10:20, 10:20] = Fine.VERTEBRAL_TRABECULAR  # slices 2..5: middle between 3 and 4
    vert[2:6, 10:20, 10:20] = value
    fake = type(labels)(
        fine, labels.fine_names, labels.tissue, labels.tissue_names, vert, labels.vertebra_names, grid
    )
    assert level_slice(fake, name) == 4  # slices run superior: 4 is cranial
    vert[0:6] = np.where(fine[2:3] > 0, value, 0)
    fine[0:6] = fine[2:3]
    cut = type(labels)(
        fine, labels.fine_names, labels.tissue, labels.tissue_names, vert, labels.vertebra_names, grid
    )
    assert level_slice(cut, name) is None


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
    phantom, _, _hu, labels, _dixon, truth = truth_scene
    entry = truth["levels"]["L3"]
    roi = trabecular_roi(labels, "L3")
    assert roi.sum() == entry["trabecular_roi_voxels"] > 50
    assert (labels.fine[roi] == Fine.VERTEBRAL_TRABECULAR).all()
    assert (roi <= body_mask(labels, "L3")).all()
    # Partial volume: the noise-free, texture-free, unblurred image over the ROI is the nominal value.
    sampled = phantom.sample(labels.grid, 2)
    plain = mean_over_subpoints(sampled, attenuation_table(phantom))
    assert plain[trabecular_roi(sampled.labels(), "L3")].mean() == pytest.approx(
        entry["trabecular_hu_nominal"], abs=0.3
    )
    assert entry["mr"]["marrow_ff_pct"] == pytest.approx(entry["mr"]["marrow_ff_nominal_pct"], abs=0.5)


def test_nominal_trabecular_hu_follows_contrast_and_noise_free_image(truth_scene) -> None:
    phantom, grid, hu, labels, *_ = truth_scene
    plain = truth_measurements(phantom, labels, grid, hu)["levels"]["L3"]
    portal = truth_measurements(phantom, labels, grid, hu, ct=CtRender("portal", 120.0, hu))["levels"]["L3"]
    assert plain["trabecular_hu_noise_free"] is None
    assert portal["trabecular_hu_nominal"] > plain["trabecular_hu_nominal"] + 5  # iodine in marrow vessels
    assert portal["trabecular_hu_noise_free"] == pytest.approx(plain["trabecular_hu_mean"])


def test_muscle_group_map_covers_every_muscle_voxel(truth_scene) -> None:
    _, _grid, _, labels, _, truth = truth_scene
    groups = muscle_group_map(labels)
    muscle = labels.tissue == next(v for v, n in labels.tissue_names.items() if n == "skeletal_muscle")
    assert ((groups > 0) == muscle).all()
    assert set(GROUP_FINES) == {"psoas", "paraspinal", "quadratus_lumborum", "abdominal_wall", "other_muscle"}
    entry = truth["levels"]["L3"]
    assert sum(entry["muscle_group_area_cm2"].values()) == pytest.approx(entry["muscle_area_cm2"])


def test_missing_images_give_none_not_zero(truth_scene) -> None:
    phantom, grid, _, labels, _, _ = truth_scene
    truth = truth_measurements(phantom, labels, grid, None, None)
    entry = truth["levels"]["L3"]
    assert entry["muscle_hu_mean"] is None and entry["trabecular_hu_mean"] is None and "mr" not in entry
    assert entry["trabecular_hu_noise_free"] is None and entry["trabecular_hu_nominal"] is not None


def test_wrong_image_shape_is_refused(truth_scene) -> None:
    phantom, grid, hu, labels, *_ = truth_scene
    with pytest.raises(ValueError, match="does not match"):
        truth_measurements(phantom, labels, grid, hu[:-1], None)


def test_muscle_fat_fraction_truth_core_equals_parameter_label_mean_above_it() -> None:
    phantom = make_phantom(SubjectParams("F", "F", 60, 1.65, 70, seed=5, muscle_fat_fraction=0.1))
    grid = axial_grid(
        phantom, 2.0, 4.0, levels=("L3",), matrix=(200, 200)
    )  # the whole body: its middle known
    dixon = render_dixon(phantom, grid, rng=np.random.default_rng(0), supersample=2)
    mr = truth_measurements(phantom, dixon.labels, grid, None, dixon)["levels"]["L3"]["mr"]
    assert mr["muscle_ff_nominal_pct"] == pytest.approx(10.0)
    for group in ("psoas", "paraspinal", "abdominal_wall"):
        assert mr["muscle_group_ff_core_pct"][group] == pytest.approx(10.0, abs=0.6), group
    for group in ("paraspinal", "abdominal_wall"):  # bordered by fat: septa, inclusions, SAT
        assert mr["muscle_group_ff_pct"][group] > mr["muscle_group_ff_core_pct"][group] + 0.3, group
