"""The sliding window grows to the whole slice for networks whose down-sampling is known."""

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
