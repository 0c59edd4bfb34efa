"""Dice + cross-entropy over *sets* of allowed classes: the loss for full and partial labels alike.

MONAI's ``DiceCELoss`` takes one class per voxel; our targets are bit masks of allowed classes
(:mod:`.targets`). This loss reduces to ``DiceCELoss(softmax=True, batch=True)`` when every voxel
has exactly one class (tested), and otherwise:

* cross-entropy is the negative log of the probability mass on the allowed set,
  ``-log sum_{c in allowed} p_c``, averaged over voxels with any information; a voxel that allows
  everything contributes exactly zero, so unlabelled tissue is never pushed towards background;
* Dice of class ``c`` is computed only over voxels whose membership in ``c`` is certain (the set is
  exactly ``{c}``, or excludes ``c``); classes with no certain voxel in the batch are skipped.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch


def allowed_from_bits(bits: torch.Tensor, n_classes: int) -> torch.Tensor:
    """(B, C, ...) bool from (B, 1, ...) or (B, ...) integer bits; 0 (unknown) allows every class."""
    import torch

    if bits.ndim >= 2 and bits.shape[1] == 1:
        bits = bits[:, 0]
    bits = bits.long()
    shifts = torch.arange(n_classes, device=bits.device).view(1, -1, *([1] * (bits.ndim - 1)))
    allowed = ((bits.unsqueeze(1) >> shifts) & 1).bool()
    return allowed | (bits == 0).unsqueeze(1)


class SetDiceCELoss:
    """``lambda_dice * Dice + lambda_ce * CE`` over allowed-class sets (see the module docstring)."""

    def __init__(
        self, n_classes: int, lambda_dice: float = 1.0, lambda_ce: float = 1.0, smooth: float = 1e-5
    ) -> None:
        self.n_classes = n_classes
        self.lambda_dice = lambda_dice
        self.lambda_ce = lambda_ce
        self.smooth = smooth

    def __call__(self, logits: torch.Tensor, bits: torch.Tensor) -> torch.Tensor:
        import torch

        logits = logits.float()
        allowed = allowed_from_bits(bits, self.n_classes)
        n_allowed = allowed.sum(dim=1)  # (B, ...)
        informative = n_allowed < self.n_classes
        log_all = torch.logsumexp(logits, dim=1)
        log_set = torch.logsumexp(logits.masked_fill(~allowed, float("-inf")), dim=1)
        ce_map = (log_all - log_set) * informative
        ce = ce_map.sum() / informative.sum().clamp(min=1)

        prob = torch.softmax(logits, dim=1)
        positive = allowed & (n_allowed == 1).unsqueeze(1)
        certain = positive | ~allowed
        reduce = [0, *range(2, logits.ndim)]
        inter = (prob * positive * certain).sum(dim=reduce)
        denom = (prob * certain).sum(dim=reduce) + positive.sum(dim=reduce)
        has = certain.any(dim=0).flatten(1).any(dim=1) if logits.ndim > 2 else certain.any(dim=0)
        dice = 1.0 - (2.0 * inter + self.smooth) / (denom + self.smooth)
        dice_loss = dice[has].mean() if bool(has.any()) else logits.sum() * 0.0
        return self.lambda_dice * dice_loss + self.lambda_ce * ce
