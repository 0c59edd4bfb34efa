"""The device and AMP are decided in one place, once: InferenceOptions.on_device."""

from __future__ import annotations

import pytest

from segmentation_models.inference import InferenceOptions


def test_auto_becomes_a_concrete_device_and_amp_runs_only_on_cuda():
    torch = pytest.importorskip("torch")
    decided = InferenceOptions(device="auto", amp=True).on_device()
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert decided.device == expected and decided.amp is (expected == "cuda")
    assert decided.on_device() == decided  # deciding again changes nothing
    assert InferenceOptions(device="cpu", amp=True).on_device().amp is False


def test_cuda_without_cuda_is_refused_when_decided():
    torch = pytest.importorskip("torch")
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    with pytest.raises(RuntimeError, match="no CUDA"):
        InferenceOptions(device="cuda").on_device()
