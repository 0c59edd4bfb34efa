"""Inference maps probabilities back to the input grid linearly (the Dice targets depend on it).

Lives with the training tests because the accuracy it protects is what training is evaluated on.
A network whose class-1 probability rises smoothly along the columns is run on a series 4x finer
than the model grid: the boundary must land within one input pixel of where the probability crosses
0.5, not on the model grid's 4-pixel steps (nearest-neighbour label upsampling).
"""

from __future__ import annotations

import numpy as np
import torch
from segmentation._stubs import stub_spec

from imaging.segmentation.networks import segment
from imaging.series_facts import Modality, SeriesFacts
from imaging.volume import Volume
from segmentation_models.inference import InferenceOptions, upsample_in_plane
from segmentation_models.loading import LoadedModel
from segmentation_models.registry import Spacing

CLASSES = {0: "background", 1: "psoas"}


class RampNet(torch.nn.Module):
    """Logits (−s·x, +s·x) of the centred normalised intensity x − 0.5: class 1 where x > 0.5."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        v = (x[:, :1] - 0.5) * 40.0
        return torch.cat([-v, v], dim=1)


def test_upsampling_is_the_inverse_corner_aligned_mapping():
    p = torch.arange(4.0).view(1, 1, 1, 4)
    up = upsample_in_plane(p, (1, 8), np.array([1.0, 2.0]))
    # input pixel s samples model coordinate (s + 1/2)/2 - 1/2, clamped at the edges
    np.testing.assert_allclose(up[0, 0, 0].numpy(), [0, 0.25, 0.75, 1.25, 1.75, 2.25, 2.75, 3])


def test_boundaries_fall_between_model_voxels():
    cols = 64
    hu = np.tile(np.linspace(-1000.0, 1000.0, cols, dtype=np.float32), (1, 3, 1))  # (1, 3, 64)
    hu += np.float32(70.0)  # crossing inside a model voxel (column ~30 of 64, model voxels of 4)
    affine = np.diag([2.0, 0.5, 0.5, 1.0])
    vol = Volume(hu, affine, SeriesFacts(modality=Modality.CT))
    spec = stub_spec(spacing=Spacing(None, 2.0, 2.0), patch=(4, 16), classes=CLASSES)
    model = LoadedModel(spec, RampNet().eval(), None, "ramp")
    got = segment(vol, model, InferenceOptions(device="cpu")).compartments.array[0, 1]
    first = int(np.argmax(got == 1))
    exact = int(np.argmax(hu[0, 1] > 0.0))
    assert np.all(got[first:] == 1) and np.all(got[:first] == 0)
    assert abs(first - exact) <= 1
