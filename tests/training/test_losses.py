"""Set-valued Dice+CE: equal to MONAI's DiceCELoss on full labels, silent where labels say nothing."""

from __future__ import annotations

import torch
from monai.losses import DiceCELoss

from segmentation_models.training.losses import SetDiceCELoss


def test_equals_monai_dice_ce_on_single_class_labels():
    torch.manual_seed(0)
    logits = torch.randn(2, 5, 12, 10)
    labels = torch.randint(0, 5, (2, 1, 12, 10))
    ours = SetDiceCELoss(5)(logits, 1 << labels)
    monai = DiceCELoss(softmax=True, to_onehot_y=True, batch=True)(logits, labels)
    assert torch.allclose(ours, monai, atol=1e-5)


def test_unknown_voxels_get_no_gradient():
    torch.manual_seed(1)
    logits = torch.randn(1, 4, 6, 6, requires_grad=True)
    bits = torch.full((1, 1, 6, 6), 1 << 2)
    bits[..., :3] = 0  # left half unlabelled
    SetDiceCELoss(4)(logits, bits).backward()
    assert torch.all(logits.grad[..., :3] == 0)
    assert torch.any(logits.grad[..., 3:] != 0)


def test_a_set_label_is_not_pushed_towards_background():
    # voxel allowed to be class 1 or 2, not 0: mass moving from 0 to {1,2} lowers the loss,
    # moving between 1 and 2 does not change the cross-entropy term
    loss = SetDiceCELoss(3, lambda_dice=0.0)
    bits = torch.tensor([[[[0b110]]]])
    base = loss(torch.tensor([[[[1.0]], [[0.0]], [[0.0]]]]), bits)
    better = loss(torch.tensor([[[[0.0]], [[1.0]], [[0.0]]]]), bits)
    same = loss(torch.tensor([[[[0.0]], [[0.0]], [[1.0]]]]), bits)
    assert better < base and torch.isclose(better, same)
