"""Inference windows and network preparation: whole-slice windows, batch norm folded into convolutions."""

from __future__ import annotations

import dataclasses

import numpy as np

from segmentation_models.inference import BODY_MARGIN_PX, MAX_WINDOW, unit_box, window_size
from segmentation_models.training.recipes import tissue_spec


def test_whole_slice_rounded_up_to_the_network_divisor() -> None:
    spec = tissue_spec("t", "0")  # DynUNet, four stride-2 levels: divisor 16, patch 288
    assert window_size(spec, (40, 333, 301)) == (336, 304)


def test_small_slices_get_small_windows_and_max_window_is_an_upper_bound() -> None:
    spec = tissue_spec("t", "0")
    assert window_size(spec, (5, 100, 120)) == (112, 128)  # below the trained 288: no padding to it
    assert window_size(spec, (5, 2000, 700)) == (MAX_WINDOW, MAX_WINDOW)


def _unit_with_body(rows: slice, cols: slice, shape=(4, 256, 300)) -> np.ndarray:
    x = np.zeros(shape, np.float32)
    x[2, rows, cols] = 0.4  # one slice of the unit is enough to count as body
    return x


def test_body_box_covers_the_body_plus_margin_in_multiples_of_the_divisor() -> None:
    spec = tissue_spec("t", "0")
    rows, cols = unit_box(_unit_with_body(slice(100, 140), slice(20, 61)), spec)
    assert rows.start <= 100 - BODY_MARGIN_PX and rows.stop >= 140 + BODY_MARGIN_PX
    assert cols.start == 0 and cols.stop >= 61 + BODY_MARGIN_PX  # clamped at the image edge
    assert (rows.stop - rows.start) % 16 == 0 and (cols.stop - cols.start) % 16 == 0


def test_body_box_is_none_when_the_body_fills_the_plane_and_empty_for_air() -> None:
    spec = tissue_spec("t", "0")
    assert unit_box(_unit_with_body(slice(10, 250), slice(5, 295)), spec) is None
    rows, cols = unit_box(np.zeros((1, 64, 64), np.float32), spec)
    assert rows.stop == rows.start and cols.stop == cols.start


def test_outside_the_body_box_every_head_is_background(tmp_path) -> None:
    import torch

    from segmentation_models.inference import InferenceOptions, Predictor
    from segmentation_models.loading import resolve_model

    predictor = Predictor(resolve_model("bonemuscle-ct-tissue"), InferenceOptions("cpu", 2))
    x = _unit_with_body(slice(100, 140), slice(120, 180))
    rows, cols = unit_box(x, predictor.spec)
    batch = torch.from_numpy(x[:, None].repeat(3, axis=1))
    with torch.inference_mode():
        probabilities = predictor.head_probabilities(predictor.logits(batch, (rows, cols)))[0]
    outside = torch.ones(batch.shape[2:], dtype=torch.bool)
    outside[rows, cols] = False
    assert outside.any()
    assert torch.all(probabilities[:, 0][:, outside] > 0.999999)


def test_opaque_architecture_keeps_the_trained_patch() -> None:
    spec = dataclasses.replace(tissue_spec("t", "0"), architecture=None)
    assert window_size(spec, (40, 333, 301)) == tuple(spec.patch_size)


def test_folding_batch_norm_changes_nothing_but_rounding() -> None:
    import copy

    import torch

    from segmentation_models.inference import fold_batch_norm
    from segmentation_models.loading import resolve_model

    model = resolve_model("bonemuscle-ct-tissue")
    plain = model.network.eval()
    folded = fold_batch_norm(copy.deepcopy(plain), model.spec)
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in folded.modules())
    assert any(isinstance(m, torch.nn.BatchNorm2d) for m in plain.modules())  # the loaded model is untouched
    x = torch.randn(2, 3, 96, 112, generator=torch.Generator().manual_seed(0))
    with torch.inference_mode():
        torch.testing.assert_close(folded(x), plain(x), rtol=1e-4, atol=1e-4)


def test_a_slices_labels_do_not_depend_on_the_other_slices_of_its_batch() -> None:
    """The batch runner mixes slices of several studies in one pass; analyze runs one study at a time."""
    import torch

    from segmentation_models.inference import InferenceOptions, Predictor, labels_of
    from segmentation_models.loading import resolve_model

    predictor = Predictor(resolve_model("bonemuscle-ct-tissue"), InferenceOptions("cpu", 4))
    rng = np.random.default_rng(0)
    small = np.zeros((1, 3, 160, 160), np.float32)
    small[..., 60:100, 50:110] = rng.uniform(0.3, 0.7, (1, 3, 40, 60))
    large = np.zeros((1, 3, 160, 160), np.float32)
    large[..., 10:150, 5:155] = rng.uniform(0.3, 0.7, (1, 3, 140, 150))
    box = unit_box(small[:, 1], predictor.spec)
    with torch.inference_mode():
        alone = labels_of(predictor.logits(torch.from_numpy(small), box))
        mixed = labels_of(predictor.logits(torch.from_numpy(np.concatenate([small, large])), box))
    np.testing.assert_array_equal(mixed[:1], alone)
