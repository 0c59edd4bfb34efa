"""The shipped MR Dixon tissue model: it loads, its weights match the recorded sha256, and it segments.

The phantom is rendered at 3 mm pixels (about 150 x 150) so the check stays a few seconds on a CPU;
the model resamples it to its own 1.5 mm grid and the labels must come back on the input grid.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from imaging.segmentation.labels import TISSUE_NAMES
from imaging.segmentation.networks import segment
from imaging.series_facts import Modality, SeriesFacts
from imaging.volume import Volume
from segmentation_models.inference import InferenceOptions
from segmentation_models.loading import load_registered, sha256_file
from segmentation_models.registry import DEFAULT_MODEL_NAMES, get_spec
from training_data import data
from training_data.evaluate import HELD_OUT_SEED0, dice

NAME = DEFAULT_MODEL_NAMES["MR"]


@pytest.fixture(scope="module")
def mr_spec():
    return get_spec(NAME)


def test_registered_mr_model_is_mr_and_matches_its_checksum(mr_spec) -> None:
    assert mr_spec.name == NAME
    assert mr_spec.modality == "MR"
    assert mr_spec.weights_path is not None and mr_spec.weights_path.is_file()
    assert sha256_file(mr_spec.weights_path) == mr_spec.weights_sha256
    assert mr_spec.weights_path.stat().st_size < 20 * 1024 * 1024  # small enough to ship in git


@pytest.mark.slow
def test_registered_mr_model_segments_a_dixon_phantom_on_its_grid(mr_spec) -> None:
    settings = data.sample_phantom_settings(HELD_OUT_SEED0 + 17, "MR")
    case = data.render_phantom_case(replace(settings, pixel_mm=3.0, matrix=150, n_slices=3, supersample=1))
    volume = Volume(case.image, np.diag([*case.spacing_kji, 1.0]), SeriesFacts(modality=Modality.MR))
    model = load_registered(mr_spec)

    seg = segment(volume, model, InferenceOptions(device="cpu"), fat_fraction_pct=case.fat_fraction)

    assert seg.tissue is not None and seg.compartments is not None
    assert seg.tissue.array.shape == volume.shape
    assert seg.compartments.array.shape == volume.shape
    assert set(np.unique(seg.tissue.array).tolist()) <= {0, *TISSUE_NAMES}  # 0 = background
    # A trained network finds the subcutaneous fat ring of a held-out phantom; an untrained one does not.
    sat = dice(seg.tissue.mask("sat"), case.tissue == _value("sat"))
    assert sat is not None and sat > 0.7


def _value(name: str) -> int:
    return next(v for v, n in TISSUE_NAMES.items() if n == name)
