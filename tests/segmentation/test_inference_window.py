"""Inference windows and network preparation: whole-slice windows, batch norm folded into convolutions."""

from __future__ import annotations

import dataclasses

from segmentation_models.inference import BODY_MARGIN_PX, MAX_WINDOW, body_box, window_size
from segmentation_models.training.recipes import tissue_spec


def test_whole_slice_rounded_up_to_the_network_divisor() -> None:
    spec = tissue_spec("t", "0")  # DynUNet, four stride-2 levels: divisor 16, patch 288
    assert window_size(spec, (40, 333, 301)) == (336, 304)


def test_small_slices_get_small_windows_and_max_window_is_an_upper_bound() -> None:
    spec = tissue_spec("t", "0")
    assert window_size(spec, (5, 100, 120)) == (112, 128)  # below the trained 288: no padding to it
    assert window_size(spec, (5, 2000, 700)) == (MAX_WINDOW, MAX_WINDOW)


def _batch_with_body(rows: slice, cols: slice, shape=(2, 3, 256, 300)):
    import torch

    batch = torch.zeros(shape)
    batch[1, 2, rows, cols] = 0.4  # one channel of one slice is enough to count as body
    return batch


def test_body_box_covers_the_body_plus_margin_in_multiples_of_the_divisor() -> None:
    spec = tissue_spec("t", "0")
    rows, cols = body_box(_batch_with_body(slice(100, 140), slice(20, 61)), spec)
    assert rows.start <= 100 - BODY_MARGIN_PX and rows.stop >= 140 + BODY_MARGIN_PX
    assert cols.start == 0 and cols.stop >= 61 + BODY_MARGIN_PX  # clamped at the image edge
    assert (rows.stop - rows.start) % 16 == 0 and (cols.stop - cols.start) % 16 == 0


def test_body_box_is_none_when_the_body_fills_the_plane_and_empty_for_air() -> None:
    import torch

    spec = tissue_spec("t", "0")
    assert body_box(_batch_with_body(slice(10, 250), slice(5, 295)), spec) is None
    rows, cols = body_box(torch.zeros(1, 3, 64, 64), spec)
    assert rows.stop == rows.start and cols.stop == cols.start


def test_outside_the_body_box_every_head_is_background(tmp_path) -> None:
    import torch

    from segmentation_models.inference import InferenceOptions, Predictor
    from segmentation_models.loading import resolve_model

    predictor = Predictor(resolve_model("bonemuscle-ct-tissue"), InferenceOptions("cpu", 2))
    batch = _batch_with_body(slice(100, 140), slice(120, 180))
    with torch.inference_mode():
        probabilities = predictor.head_probabilities(predictor.logits(batch))[0]
    rows, cols = body_box(batch, predictor.spec)
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
