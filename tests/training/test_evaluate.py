"""Evaluation: Dice on certain voxels, held-out seeds, and the three phantom comparisons.

The headline column (network vs reference standard) must be exactly 1 for truth compartments and
below 1 for wrong ones; the geometric column must stay beside it; the ceiling's causes must add up.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch

from imaging.segmentation.labels import TISSUE_NAMES, LabelMap
from segmentation_models.loading import LoadedModel
from segmentation_models.networks import build_network
from segmentation_models.training.case import bit, bits_of, set_dice_counts
from training_data import data
from training_data.evaluate import (
    HELD_OUT_SEED0,
    EvalCase,
    dice,
    evaluate_phantoms,
    render_eval_case,
    score_phantom_cases,
)
from training_data.reference_standard import (
    EVAL_TISSUES,
    ceiling_causes,
    near_boundary,
    reference_tissue,
    truth_compartments,
)

from .conftest import tiny_case, tiny_spec


def test_dice_of_two_empty_masks_is_undefined_not_one():
    empty = np.zeros(4, dtype=bool)
    assert dice(empty, empty) is None
    assert dice(np.array([1, 1, 0, 0], bool), np.array([1, 0, 0, 0], bool)) == pytest.approx(2 / 3)


def test_set_dice_ignores_voxels_whose_class_is_uncertain():
    bits = np.array([bit(1), bit(1), bits_of([1, 2]), 0], dtype=np.uint16)
    pred = np.array([1, 2, 1, 1])
    inter, total = set_dice_counts(pred, bits, 3)
    # class 1: voxels 0,1 certain positives; voxel 2 ({1,2}) and 3 (unknown) are not counted
    assert inter[1] == 1 and total[1] == 1 + 2
    # class 2: voxels 0,1 certainly not class 2; voxel 1 predicted 2 is a false positive
    assert inter[2] == 0 and total[2] == 1


def test_evaluation_refuses_seeds_that_training_may_have_used():
    with pytest.raises(ValueError, match="trained on"):
        evaluate_phantoms(model=None, seeds=[HELD_OUT_SEED0 - 1])


def _tiny_settings(seed: int, modality: str = "CT") -> data.PhantomSettings:
    s = data.sample_phantom_settings(seed, modality)
    return replace(s, pixel_mm=4.0, matrix=110, n_slices=3, supersample=2, noise_hu=30.0)


@pytest.fixture(scope="module")
def ct_cases() -> list[EvalCase]:
    return [render_eval_case(_tiny_settings(seed)) for seed in (HELD_OUT_SEED0 + 3, HELD_OUT_SEED0 + 4)]


def _shifted(case) -> LabelMap:
    """Tissue labels from truth compartments moved two columns: a network with a systematic error."""
    comp = truth_compartments(case)
    return reference_tissue(case, LabelMap(np.roll(comp.array, 2, axis=2), dict(comp.names)))


def test_truth_compartments_score_exactly_one_against_the_reference_standard(ct_cases):
    ev = score_phantom_cases(ct_cases, reference_tissue, log=lambda _: None)
    present = [t for t in EVAL_TISSUES if ev.vs_reference[t] is not None]
    assert {"skeletal_muscle", "sat", "vat", "imat"} <= set(present)
    assert all(ev.vs_reference[t] == 1.0 for t in present)
    # the geometric column is kept, and for a perfect manual segmentation it *is* the ceiling
    assert set(ev.vs_geometric) == set(ev.ceiling) == set(EVAL_TISSUES)
    assert ev.vs_geometric == ev.ceiling
    # phantoms at 4 mm pixels with 30 HU noise: partial volume and noise keep the ceiling below 1
    assert ev.ceiling["imat"] < 0.95 and ev.ceiling["skeletal_muscle"] < 1.0
    for row in ev.per_case:
        assert set(row) == {"case", "vs_reference", "vs_geometric"}


def test_wrong_compartments_score_below_one_against_the_reference_standard(ct_cases):
    ev = score_phantom_cases(ct_cases, _shifted, log=lambda _: None)
    assert ev.vs_reference["skeletal_muscle"] < 0.99 and ev.vs_reference["sat"] < 0.99
    assert ev.vs_geometric["skeletal_muscle"] < ev.ceiling["skeletal_muscle"]


def test_mr_reference_standard_maps_fat_compartments_one_to_one():
    cases = [render_eval_case(_tiny_settings(HELD_OUT_SEED0 + 5, "MR"))]
    assert cases[0].case.fat_fraction is not None
    ev = score_phantom_cases(cases, reference_tissue, log=lambda _: None)
    assert ev.vs_reference["skeletal_muscle"] == 1.0
    assert ev.ceiling["sat"] == 1.0 and ev.ceiling["vat"] == 1.0  # MR compartments map directly
    assert ev.designed["imat"][0] >= 50.0 > ev.designed["skeletal_muscle"][1]  # FF design vs 50 % split


def test_ceiling_causes_add_up_to_the_ceilings_shortfall(ct_cases):
    ev = score_phantom_cases(ct_cases, reference_tissue, log=lambda _: None)
    for t in EVAL_TISSUES:
        if ev.ceiling[t] is not None:
            assert sum(ev.ceiling_points[t].values()) == pytest.approx(1.0 - ev.ceiling[t], abs=1e-12)
    # the noise-free twin moves losses: with 30 HU noise some must be noise
    noise = (
        ev.ceiling_points["skeletal_muscle"]["noise_boundary"]
        + ev.ceiling_points["skeletal_muscle"]["noise_interior"]
    )
    assert noise > 0


def test_ceiling_causes_name_each_cause():
    ev = render_eval_case(_tiny_settings(HELD_OUT_SEED0 + 3))
    case, clean = ev.case, ev.clean
    comp = truth_compartments(case)
    base = ceiling_causes(case, clean, ev.designed, comp)
    # a design whose IMAT value lies outside the IMAT window explains every missed IMAT voxel by design
    # (voxels the reference wrongly calls IMAT are geometric muscle: their causes stay)
    bad = ceiling_causes(case, clean, {**ev.designed, "imat": (-10.0, -10.0)}, comp)
    missed = int(np.count_nonzero((reference_tissue(case).array != 2) & (case.tissue == 2)))
    assert missed > 0 and base.counts["imat"]["designed_value"] == 0
    assert bad.counts["imat"]["designed_value"] == missed
    assert sum(bad.counts["imat"].values()) == sum(base.counts["imat"].values())
    # geometric bone inside a soft-tissue compartment cannot be produced: compartment mapping
    other = comp.mask("other_soft_tissue") & (case.tissue == 6)
    k, j, i = (int(v[0]) for v in np.nonzero(other))
    tissue = case.tissue.copy()
    tissue[k, j, i] = 5
    moved = ceiling_causes(replace(case, tissue=tissue), replace(clean, tissue=tissue), ev.designed, comp)
    assert moved.counts["bone"]["compartment_mapping"] == base.counts["bone"]["compartment_mapping"] + 1
    # an interior muscle voxel made fat only in the noisy image: noise in an interior
    muscle = (case.tissue == 1) & comp.mask("paraspinal")
    interior = muscle & ~near_boundary(case.tissue, case.spacing_kji[1]) & (reference_tissue(case).array == 1)
    if not interior.any():
        pytest.skip("no interior muscle voxel in this tiny phantom")
    k, j, i = (int(v[0]) for v in np.nonzero(interior))
    image = case.image.copy()
    image[k, j, i] = -100.0
    noisy = ceiling_causes(replace(case, image=image), clean, ev.designed, comp)
    after = noisy.counts["skeletal_muscle"]["noise_interior"]
    assert after == base.counts["skeletal_muscle"]["noise_interior"] + 1


def test_evaluate_phantoms_runs_the_model_through_segment():
    torch.manual_seed(0)
    model = LoadedModel(tiny_spec(), build_network(tiny_spec()).eval(), None, "untrained tiny")
    ev = evaluate_phantoms(model, [HELD_OUT_SEED0], pixel_mm=8.0, log=lambda _: None, standard=True)
    assert ev.n_cases == 1 and ev.modality == "CT" and ev.standard
    assert set(ev.vs_reference) == set(ev.vs_geometric) == set(EVAL_TISSUES)
    # an untrained network is far from a perfect manual segmentation
    assert (ev.vs_reference["skeletal_muscle"] or 0.0) < 0.9
    assert ev.ceiling_points  # the noise-free twin was rendered and the ceiling explained


def test_tiny_case_truth_is_consistent():
    case = tiny_case(1)
    ref = reference_tissue(case)
    assert ref.array.shape == case.tissue.shape
    assert set(np.unique(ref.array)) <= {0, *TISSUE_NAMES}
