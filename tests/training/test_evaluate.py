"""Evaluation helpers: Dice on certain voxels only, undefined Dice as None, held-out seeds enforced."""

from __future__ import annotations

import numpy as np
import pytest

from segmentation_models.training import targets as tg
from segmentation_models.training.evaluate import HELD_OUT_SEED0, dice, evaluate_phantoms, set_dice_counts


def test_dice_of_two_empty_masks_is_undefined_not_one():
    empty = np.zeros(4, dtype=bool)
    assert dice(empty, empty) is None
    assert dice(np.array([1, 1, 0, 0], bool), np.array([1, 0, 0, 0], bool)) == pytest.approx(2 / 3)


def test_set_dice_ignores_voxels_whose_class_is_uncertain():
    bits = np.array([tg.bit(1), tg.bit(1), tg.bits_of([1, 2]), 0], dtype=np.uint16)
    pred = np.array([1, 2, 1, 1])
    inter, total = set_dice_counts(pred, bits, 3)
    # class 1: voxels 0,1 certain positives; voxel 2 ({1,2}) and 3 (unknown) are not counted
    assert inter[1] == 1 and total[1] == 1 + 2
    # class 2: voxels 0,1 certainly not class 2; voxel 1 predicted 2 is a false positive
    assert inter[2] == 0 and total[2] == 1


def test_evaluation_refuses_seeds_that_training_may_have_used():
    with pytest.raises(ValueError, match="trained on"):
        evaluate_phantoms(model=None, seeds=[HELD_OUT_SEED0 - 1])
