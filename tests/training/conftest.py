"""Tiny phantoms and a tiny network so training tests run in seconds on a shared CPU."""

from __future__ import annotations

from dataclasses import replace

import pytest

from segmentation_models.registry import Spacing
from segmentation_models.training.case import Case
from segmentation_models.training.loop import TrainConfig
from segmentation_models.training.recipes import tissue_spec
from segmentation_models.training.transforms import AugmentConfig
from training_data import data


def tiny_case(seed: int) -> Case:
    """A 3-slice phantom case at 8 mm pixels (40 x 40): anatomy, targets and truth, in ~0.1 s."""
    s = data.sample_phantom_settings(seed)
    return data.render_phantom_case(replace(s, pixel_mm=8.0, matrix=48, n_slices=3, supersample=1))


def tiny_spec():
    spec = tissue_spec("tiny", "0")
    kwargs = {**spec.architecture_kwargs, "filters": [4, 8, 8, 8, 8]}
    return replace(spec, architecture_kwargs=kwargs, patch_size=(48, 48), spacing=Spacing(None, 8.0, 8.0))


@pytest.fixture(scope="session")
def tiny_cases() -> list[Case]:
    return [tiny_case(seed) for seed in (1, 2)]


def tiny_config(iterations: int, **kw) -> TrainConfig:
    options = {"batch_size": 2, "warmup": 1, "device": "cpu", "threads": 1, "checkpoint_every": 2, **kw}
    return TrainConfig(iterations=iterations, augment=AugmentConfig(crop=32), **options)
