"""Test helpers: an analytic "thresholding network" and small synthetic CT volumes.

The stub maps the normalised centre channel to one-hot logits by fixed HU edges, so for any input
the expected labels are a known function of the voxel values: geometry tests can then assert that
labels land on exactly the voxels (world positions) that carry those values.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from imaging.series_facts import Modality, SeriesFacts
from imaging.volume import Volume
from segmentation_models.class_schema import HeadKind
from segmentation_models.loading import LoadedModel
from segmentation_models.registry import (
    Head,
    ModelSpec,
    Normalisation,
    NormKind,
    Spacing,
    SpatialDims,
)

# Classes of the stub: HU < -500 background, -500..-50 subcutaneous fat, -50..300 psoas, >= 300 bone.
STUB_CLASSES = {0: "background", 1: "subcutaneous_fat", 2: "psoas", 3: "bone"}
HU_EDGES = (-500.0, -50.0, 300.0)


def normalised_edges(lo: float = -1000.0, hi: float = 1000.0) -> list[float]:
    return [(e - lo) / (hi - lo) for e in HU_EDGES]


class ThresholdNet(nn.Module):
    """Pointwise classifier of the centre input channel (no learned parameters)."""

    def __init__(self, edges: list[float], n_classes: int, centre: int = 0) -> None:
        super().__init__()
        self.register_buffer("edges", torch.tensor(edges, dtype=torch.float32))
        self.n_classes = n_classes
        self.centre = centre

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        v = x[:, self.centre : self.centre + 1].contiguous()
        idx = torch.bucketize(v, self.edges, right=True)
        return torch.cat([(idx == c).float() * 10.0 for c in range(self.n_classes)], dim=1)


def stub_spec(
    dims: SpatialDims = SpatialDims.TWO_D,
    spacing: Spacing | None = None,
    context: int = 1,
    patch: tuple[int, ...] = (16, 16),
    classes: dict[int, str] | None = None,
    kind: HeadKind = HeadKind.COMPARTMENTS,
) -> ModelSpec:
    return ModelSpec(
        name="stub",
        version="0",
        task="test",
        heads=(Head(kind, classes or STUB_CLASSES),),
        spatial_dims=dims,
        spacing=spacing or Spacing(None, 1.0, 1.0),
        patch_size=patch,
        normalisation=Normalisation(NormKind.CT_WINDOW, -1000.0, 1000.0),
        context_slices=context,
    )


def stub_model(spec: ModelSpec) -> LoadedModel:
    net = ThresholdNet(normalised_edges(), spec.out_channels, centre=spec.context_slices // 2)
    return LoadedModel(spec, net.eval(), weights_sha256=None, source="stub")


def expected_stub_labels(hu: np.ndarray) -> np.ndarray:
    return np.digitize(hu, HU_EDGES, right=False).astype(np.uint8)


def rotation(axis: np.ndarray, angle_deg: float) -> np.ndarray:
    axis = np.asarray(axis, dtype=float) / np.linalg.norm(axis)
    a = np.deg2rad(angle_deg)
    k = np.array([[0, -axis[2], axis[1]], [axis[2], 0, -axis[0]], [-axis[1], axis[0], 0]])
    return np.eye(3) + np.sin(a) * k + (1 - np.cos(a)) * (k @ k)


def make_affine(
    spacing_kji: tuple[float, float, float],
    rot: np.ndarray,
    flip: tuple[int, int, int] = (1, 1, 1),
    origin: tuple[float, float, float] = (10.0, -20.0, 30.0),
) -> np.ndarray:
    """Columns: slice, row, column direction vectors (times spacing, with optional flips)."""
    base = np.array([[0.0, 0, 1], [0, 1, 0], [1, 0, 0]]).T  # slice along z, row along y, column along x
    dirs = rot @ base
    aff = np.eye(4)
    aff[:3, :3] = dirs * (np.array(spacing_kji) * np.array(flip))[None, :]
    aff[:3, 3] = origin
    return aff


def world_pattern_volume(shape: tuple[int, int, int], affine: np.ndarray) -> Volume:
    """HU defined in world space by asymmetric half-spaces, so any flip/transpose changes the answer."""
    vol = Volume(np.zeros(shape, dtype=np.int16), affine, SeriesFacts(modality=Modality.CT))
    kji = np.stack(np.meshgrid(*[np.arange(n) for n in shape], indexing="ij"), -1).reshape(-1, 3)
    p = vol.world(kji)
    hu = np.full(len(p), -1000, dtype=np.int16)  # background air
    hu[p[:, 0] + 0.3 * p[:, 1] > 12.0] = -100  # fat
    hu[p[:, 1] - 0.5 * p[:, 0] > -18.0] = 60  # muscle
    hu[(p[:, 0] > 22.0) & (p[:, 1] > -14.0)] = 700  # bone
    return vol.with_array(hu.reshape(shape))
