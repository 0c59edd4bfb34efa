"""The training loop on tiny phantoms: it learns, checkpoints, and a resumed run replays the same run."""

from __future__ import annotations

import numpy as np
import torch

from segmentation_models.training.case import read_case, write_case
from segmentation_models.training.loop import CHECKPOINT, train
from training_data import data

from .conftest import tiny_config, tiny_spec


def test_case_round_trips_through_the_cache(tmp_path, tiny_cases):
    case = tiny_cases[0]
    back = read_case(write_case(case, tmp_path / "c.npz"))
    assert back.name == case.name and back.train_slices == case.train_slices
    np.testing.assert_array_equal(back.target, case.target)
    np.testing.assert_array_equal(back.tissue, case.tissue)
    assert back.spacing_kji == case.spacing_kji


def test_phantom_settings_are_deterministic_and_varied():
    a, b = data.sample_phantom_settings(5), data.sample_phantom_settings(5)
    assert a == b
    many = [data.sample_phantom_settings(s) for s in range(40)]
    assert len({m.kernel for m in many}) == 2 and len({m.contrast for m in many}) == 3
    assert min(m.slice_mm for m in many) < 2 and max(m.slice_mm for m in many) > 4
    assert any(m.params["arms_in_fov"] for m in many) and not all(m.params["arms_in_fov"] for m in many)


def test_two_iterations_train_and_checkpoint(tmp_path, tiny_cases):
    result = train(
        tiny_spec(), tiny_cases, tiny_config(2), tmp_path, val_cases=tiny_cases[:1], log=lambda s: None
    )
    assert result.iterations_done == 2 and len(result.losses) == 2
    assert all(np.isfinite(result.losses))
    assert (tmp_path / CHECKPOINT).is_file()
    assert result.validation and all(0.0 <= v <= 1.0 for v in result.validation.values())


def test_resume_continues_exactly_where_it_stopped(tmp_path, tiny_cases):
    spec = tiny_spec()
    quiet = {"log": lambda s: None}
    straight = train(spec, tiny_cases, tiny_config(4), tmp_path / "a", **quiet)
    train(spec, tiny_cases, tiny_config(4, stop_after=2, checkpoint_every=0), tmp_path / "b", **quiet)
    resumed = train(spec, tiny_cases, tiny_config(4), tmp_path / "b", resume=True, **quiet)
    assert resumed.resumed_from == 2 and resumed.iterations_done == 4
    a, b = straight.network.state_dict(), resumed.network.state_dict()
    for k in a:
        assert torch.allclose(a[k].float(), b[k].float(), atol=1e-5), k


def test_mr_dixon_recipe_trains_on_in_phase_phantoms(tmp_path):
    from dataclasses import replace

    from segmentation_models.training.recipes import tissue_spec

    s = replace(data.sample_phantom_settings(3, "MR"), pixel_mm=8.0, matrix=40, n_slices=3, supersample=1)
    case = data.render_phantom_case(s)
    assert case.modality == "MR" and case.image.max() > 0
    spec = replace(tiny_spec(), normalisation=tissue_spec("m", "0", "MR").normalisation, modality="MR")
    result = train(spec, [case], tiny_config(1), tmp_path, log=lambda s: None)
    assert result.iterations_done == 1 and np.isfinite(result.losses[0])
