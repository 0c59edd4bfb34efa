"""Training targets: phantom compartments, partial (TotalSegmentator) and windowed manual labels."""

from __future__ import annotations

import numpy as np

from phantoms.labels import Fine
from segmentation_models.training.case import allowed_mask
from training_data import targets as tg

C = tg.CLASS_INDEX


def test_imat_takes_the_group_of_the_nearest_muscle():
    fine = np.zeros((1, 5, 9), dtype=np.uint8)
    fine[0, :, :3] = Fine.PSOAS
    fine[0, :, 6:] = Fine.PARASPINAL
    fine[0, 2, 3] = Fine.IMAT_INCLUSION  # next to psoas
    fine[0, 2, 5] = Fine.IMAT_SEPTUM  # next to paraspinal
    fine[0, 0, 4] = Fine.SAT
    comp = tg.phantom_compartments(fine)
    assert comp[0, 2, 3] == C["psoas"] and comp[0, 2, 5] == C["paraspinal"]
    assert comp[0, 0, 4] == C["subcutaneous_fat"] and comp[0, 4, 4] == C["background"]


def test_every_fine_label_has_a_compartment_and_table_is_background():
    assert set(tg.FINE_TO_COMPARTMENT) == set(Fine)
    assert tg.FINE_TO_COMPARTMENT[Fine.TABLE] == "background"
    assert tg.FINE_TO_COMPARTMENT[Fine.RENAL_SINUS_FAT] == "visceral_fat"


def test_totalsegmentator_background_excludes_only_what_it_segments():
    labels = np.array([[0, 1, 2, 3]])
    bits = tg.compartment_label_bits(labels, {1: "paraspinal", 2: "bone", 3: "other_soft_tissue"})
    allowed = allowed_mask(bits)
    assert list(np.flatnonzero(allowed[:, 0, 1])) == [C["paraspinal"]]
    background = set(np.flatnonzero(allowed[:, 0, 0]))
    assert C["paraspinal"] not in background and C["bone"] not in background
    # unlabelled voxels may still be fat, other muscles, organs or air: never forced to background
    assert {C["subcutaneous_fat"], C["visceral_fat"], C["psoas"], C["other_soft_tissue"], 0} <= background


def test_windowed_tissue_labels_use_the_hu_windows_for_blank_voxels():
    names = {1: "skeletal_muscle", 3: "sat"}
    tissue = np.array([[1, 3, 0, 0, 0]])
    hu = np.array([[40.0, -100.0, 40.0, -100.0, 800.0]])
    allowed = allowed_mask(tg.tissue_label_bits(tissue, names, hu))
    muscles = {C[g] for g in ("psoas", "paraspinal", "quadratus_lumborum", "abdominal_wall", "other_muscle")}
    assert set(np.flatnonzero(allowed[:, 0, 0])) == muscles
    assert set(np.flatnonzero(allowed[:, 0, 1])) == {C["subcutaneous_fat"]}
    # blank at muscle HU: not muscle (the operator would have labelled it); fat HU: not SAT/VAT
    assert not (set(np.flatnonzero(allowed[:, 0, 2])) & muscles)
    assert C["subcutaneous_fat"] not in set(np.flatnonzero(allowed[:, 0, 3]))
    assert allowed[:, 0, 4].all()  # 800 HU is in no window: nothing can be excluded


def test_unknown_allows_everything():
    assert allowed_mask(np.zeros((2, 2), dtype=np.uint16)).all()
