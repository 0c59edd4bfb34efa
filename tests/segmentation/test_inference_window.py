"""Inference windows and network preparation: whole-slice windows, batch norm folded into convolutions."""

from __future__ import annotations

import dataclasses

from segmentation_models.inference import MAX_WINDOW, window_size
from segmentation_models.training.recipes import tissue_spec


def test_whole_slice_rounded_up_to_the_network_divisor() -> None:
    spec = tissue_spec("t", "0")  # DynUNet, four stride-2 levels: divisor 16, patch 288
    assert window_size(spec, (40, 333, 301)) == (336, 304)


def test_trained_patch_is_a_lower_bound_and_max_window_an_upper_one() -> None:
    spec = tissue_spec("t", "0")
    assert window_size(spec, (5, 100, 120)) == tuple(spec.patch_size)
    assert window_size(spec, (5, 2000, 700)) == (MAX_WINDOW, MAX_WINDOW)


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
