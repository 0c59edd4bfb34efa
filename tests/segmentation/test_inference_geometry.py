"""Inference keeps geometry: labels land on the voxels (world positions) whose values produced them."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from imaging.segmentation.labels import TISSUE_NAMES
from imaging.segmentation.networks import segment
from imaging.series_facts import Modality, SeriesFacts
from imaging.volume import Volume
from segmentation_models.inference import (
    InferenceOptions,
    labels_to_input_grid,
    model_scale,
    run_heads,
    to_model_grid,
)
from segmentation_models.registry import Spacing, SpatialDims

from ._stubs import (
    expected_stub_labels,
    make_affine,
    rotation,
    stub_model,
    stub_spec,
    world_pattern_volume,
)

CPU = InferenceOptions(device="cpu", batch_size=3)
GEOMETRIES = {
    "axial": make_affine((2.0, 1.0, 1.0), np.eye(3)),
    "oblique": make_affine((2.5, 1.0, 1.0), rotation([1.0, 0.4, 0.2], 23.0)),
    "flipped_rows_and_slices": make_affine((2.0, 1.0, 1.0), np.eye(3), flip=(-1, -1, 1)),
    "flipped_columns_oblique": make_affine(
        (3.0, 1.0, 1.0), rotation([0.0, 1.0, 0.3], -37.0), flip=(1, 1, -1)
    ),
}


def _tissue_value(name: str) -> int:
    return next(v for v, n in TISSUE_NAMES.items() if n == name)


@pytest.mark.parametrize("name", sorted(GEOMETRIES))
def test_labels_match_voxels_on_non_square_series(name):
    vol = world_pattern_volume((5, 23, 37), GEOMETRIES[name])
    seg = segment(vol, stub_model(stub_spec()), CPU)
    expected = expected_stub_labels(vol.array)
    assert seg.compartments.array.shape == vol.shape
    np.testing.assert_array_equal(seg.compartments.array, expected)
    # contract tissue map: psoas compartment at 60 HU -> skeletal muscle; fat at -100 HU -> sat; bone
    assert np.array_equal(seg.tissue.mask("skeletal_muscle"), vol.array == 60)
    assert np.array_equal(seg.tissue.mask("sat"), vol.array == -100)
    assert np.array_equal(seg.tissue.mask("bone"), vol.array == 700)
    assert np.array_equal(seg.muscles.mask("psoas"), vol.array == 60)
    assert seg.vertebrae is None and any("vertebra" in w for w in seg.notes)


def test_pattern_is_asymmetric_so_flips_would_be_caught():
    vol = world_pattern_volume((5, 23, 37), GEOMETRIES["oblique"])
    for axis in range(3):
        assert not np.array_equal(vol.array, np.flip(vol.array, axis))
    assert len(np.unique(vol.array)) == 4


@pytest.mark.parametrize("name", ["oblique", "flipped_columns_oblique"])
def test_resampling_by_two_returns_exact_blocks(name):
    """Series at half the model spacing in-plane: each 2x2 block holds one value and must come back whole."""
    rng = np.random.default_rng(3)
    coarse = rng.choice(np.array([-1000, -100, 60, 700], dtype=np.int16), size=(4, 9, 14))
    hu = np.kron(coarse, np.ones((1, 2, 2), dtype=np.int16))  # (4, 18, 28), 0.5 mm pixels
    aff = GEOMETRIES[name].copy()
    aff[:3, 1:3] *= 0.5
    vol = Volume(hu, aff, SeriesFacts(modality=Modality.CT))
    spec = stub_spec(spacing=Spacing(None, 1.0, 1.0), patch=(8, 8))
    assert list(model_scale(vol, spec)) == [1.0, 2.0, 2.0]
    seg = segment(vol, stub_model(spec), CPU)
    np.testing.assert_array_equal(seg.compartments.array, expected_stub_labels(hu))


def test_non_integer_resampling_only_moves_boundaries_by_under_one_model_voxel():
    aff = make_affine((2.0, 0.7, 0.7), rotation([0.2, 0.1, 1.0], 11.0))
    vol = world_pattern_volume((3, 41, 53), aff)
    spec = stub_spec(spacing=Spacing(None, 1.0, 1.0), patch=(16, 16))
    got = segment(vol, stub_model(spec), CPU).compartments.array
    want = expected_stub_labels(vol.array)
    assert got.shape == vol.shape
    wrong = got != want
    # linear intensity resampling blurs edges (air next to muscle can read as fat), so mislabelled
    # voxels must all lie within one model voxel (1 mm <= 2 x 0.7 mm) of a true label boundary
    from scipy import ndimage

    edge = ndimage.grey_dilation(want, size=(1, 3, 3)) != ndimage.grey_erosion(want, size=(1, 3, 3))
    assert np.all(ndimage.binary_dilation(edge, structure=np.ones((1, 3, 3)), iterations=1)[wrong])
    assert wrong.mean() < 0.1


def test_2p5d_uses_the_centre_slice_and_repeats_edges():
    vol = world_pattern_volume((4, 12, 15), GEOMETRIES["oblique"])
    spec = stub_spec(dims=SpatialDims.TWO_HALF_D, context=3, patch=(8, 8))
    seg = segment(vol, stub_model(spec), CPU)
    np.testing.assert_array_equal(seg.compartments.array, expected_stub_labels(vol.array))


def test_3d_model_resamples_slices_and_returns_to_input_grid():
    coarse = np.random.default_rng(5).choice(np.array([-1000, -100, 60, 700], dtype=np.int16), size=(3, 5, 6))
    hu = np.kron(coarse, np.ones((2, 1, 1), dtype=np.int16))  # slices at 1.5 mm, model 3 mm
    vol = Volume(
        hu,
        make_affine((1.5, 1.0, 1.0), rotation([1, 1, 0], 30.0), flip=(-1, 1, 1)),
        SeriesFacts(modality=Modality.CT),
    )
    spec = stub_spec(dims=SpatialDims.THREE_D, spacing=Spacing(3.0, 1.0, 1.0), patch=(4, 4, 4))
    heads = run_heads(vol, stub_model(spec), CPU)
    np.testing.assert_array_equal(heads[0].labels, expected_stub_labels(hu))


def test_inference_is_deterministic_and_probabilities_sum_to_one():
    vol = world_pattern_volume((3, 10, 11), GEOMETRIES["axial"])
    opts = InferenceOptions(device="cpu", keep_probabilities=True)
    a = segment(vol, stub_model(stub_spec(patch=(8, 8))), opts)
    b = segment(vol, stub_model(stub_spec(patch=(8, 8))), opts)
    np.testing.assert_array_equal(a.tissue.array, b.tissue.array)
    total = sum(p.astype(np.float32) for p in a.probabilities.values())
    np.testing.assert_allclose(total, 1.0, atol=1e-2)
    assert set(a.probabilities) == {"background", "subcutaneous_fat", "psoas", "bone"}


def test_resampling_helpers_are_inverse_on_grid_points():
    scale = np.array([1.0, 2.0, 0.5])
    labels = np.arange(2 * 3 * 8, dtype=np.uint8).reshape(2, 3, 8)
    fine = to_model_grid(labels.astype(np.float32), 1.0 / scale)  # upsample by the inverse factors
    assert fine.shape == (2, 6, 4)
    back = labels_to_input_grid(labels, (2, 6, 4), 1.0 / scale)
    assert back.shape == (2, 6, 4)


def test_cuda_request_without_cuda_is_an_error():
    import torch

    if torch.cuda.is_available():
        pytest.skip("CUDA present")
    vol = world_pattern_volume((2, 8, 8), GEOMETRIES["axial"])
    with pytest.raises(RuntimeError, match="no CUDA"):
        segment(vol, stub_model(stub_spec(patch=(8, 8))), InferenceOptions(device="cuda"))


def test_wrong_channel_count_is_reported():
    spec = stub_spec(patch=(8, 8), classes={0: "background", 1: "psoas"})
    model = stub_model(stub_spec(patch=(8, 8)))  # 4 output channels
    from dataclasses import replace

    with pytest.raises(RuntimeError, match="produced 4 channels"):
        segment(world_pattern_volume((2, 8, 8), GEOMETRIES["axial"]), replace(model, spec=spec), CPU)


class _FirstHalfOfLastAxis(torch.nn.Module):
    """Class 1 on the first half of the network's last spatial axis: exposes the axis order it is fed."""

    def forward(self, x):
        n = x.shape[-1]
        first = (torch.arange(n) < n // 2).float().expand_as(x[:, :1])
        return torch.cat([1.0 - first, first], dim=1) * 10.0


def test_bundle_axis_order_is_transposed_for_the_network_and_back():
    from dataclasses import replace

    from segmentation_models.loading import LoadedModel
    from segmentation_models.registry import AxisOrder

    vol = world_pattern_volume((2, 6, 10), GEOMETRIES["oblique"])
    spec = stub_spec(patch=(6, 10), classes={0: "background", 1: "psoas"})
    ours = LoadedModel(spec, _FirstHalfOfLastAxis(), None, "stub")
    got = segment(vol, ours, CPU).compartments.array
    assert np.array_equal(got[0], np.tile(np.arange(10) < 5, (6, 1)))  # our order: last axis = column
    monai_order = replace(ours, spec=replace(spec, axis_order=AxisOrder.COLUMN_ROW_SLICE))
    got = segment(vol, monai_order, CPU).compartments.array
    assert np.array_equal(got[0], np.tile((np.arange(6) < 3)[:, None], (1, 10)))  # network's last axis = row
