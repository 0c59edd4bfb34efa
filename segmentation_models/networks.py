"""MONAI networks: which ones we use and why, and building one from a :class:`ModelSpec`.

Choices (the recipes below are what training will register):

* **Tissue compartments: 2.5-D DynUNet.** Body composition is defined on single axial slices (L3),
  and clinical CT comes with slice thickness from 0.6 to 5 mm. A 2-D network on in-plane resampled
  slices never has to interpolate across thick slices; feeding the two neighbouring slices as extra
  channels (2.5-D) gives the through-plane cue that separates bowel loops from muscle at little cost.
  DynUNet is MONAI's implementation of the nnU-Net architecture, the strongest general baseline
  across segmentation benchmarks, and its depth is configured by the strides list.
* **Vertebral levels: 3-D SegResNet at coarse spacing.** Naming a vertebra needs context far beyond
  one slice (counting from the sacrum or the last rib), so levels come from a 3-D network with a
  large field of view (192 x 320 x 320 mm per patch). SegResNet is memory-light for such patches.

Only a fixed set of MONAI classes is accepted: a model description is data and must not name
arbitrary importable code.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from segmentation_models.class_schema import MUSCLE_GROUPS, HeadKind
from segmentation_models.registry import (
    Head,
    ModelSpec,
    Normalisation,
    NormKind,
    Spacing,
    SpatialDims,
    SpecError,
)

if TYPE_CHECKING:
    import torch

SUPPORTED_ARCHITECTURES: tuple[str, ...] = ("DynUNet", "UNet", "SegResNet", "BasicUNet")

COMPARTMENT_CLASSES: dict[int, str] = {
    0: "background",
    **{i + 1: name for i, name in enumerate(MUSCLE_GROUPS)},
    6: "subcutaneous_fat",
    7: "visceral_fat",
    8: "bone",
    9: "other_soft_tissue",
}
VERTEBRA_CLASSES: dict[int, str] = {
    0: "background",
    **{i + 1: name for i, name in enumerate(("T9", "T10", "T11", "T12", "L1", "L2", "L3", "L4", "L5", "S1"))},
}


def tissue_recipe(name: str = "tissue-2p5d", version: str = "untrained") -> ModelSpec:
    """The 2.5-D DynUNet compartment model description (weights are filled in by training)."""
    return ModelSpec(
        name=name,
        version=version,
        task="CT body-composition compartments (muscle groups, SAT, VAT, bone) on axial slices",
        heads=(Head(HeadKind.COMPARTMENTS, COMPARTMENT_CLASSES),),
        spatial_dims=SpatialDims.TWO_HALF_D,
        spacing=Spacing(slice_mm=None, row_mm=1.0, column_mm=1.0),
        patch_size=(320, 320),
        normalisation=Normalisation(NormKind.CT_WINDOW, -1000.0, 1000.0),
        architecture="DynUNet",
        architecture_kwargs={
            "kernel_size": [3, 3, 3, 3, 3, 3],
            "strides": [1, 2, 2, 2, 2, 2],
            "upsample_kernel_size": [2, 2, 2, 2, 2],
            "filters": [32, 64, 128, 256, 320, 320],
            "norm_name": "instance",
        },
        context_slices=3,
    )


def vertebra_recipe(name: str = "vertebrae-3d", version: str = "untrained") -> ModelSpec:
    """The 3-D SegResNet vertebra-level model description (weights are filled in by training)."""
    return ModelSpec(
        name=name,
        version=version,
        task="vertebral levels T9-S1 on CT",
        heads=(Head(HeadKind.VERTEBRAE, VERTEBRA_CLASSES),),
        spatial_dims=SpatialDims.THREE_D,
        spacing=Spacing(slice_mm=3.0, row_mm=2.0, column_mm=2.0),
        patch_size=(64, 160, 160),
        normalisation=Normalisation(NormKind.CT_WINDOW, -1000.0, 1000.0),
        architecture="SegResNet",
        architecture_kwargs={"init_filters": 16, "blocks_down": [1, 2, 2, 4], "blocks_up": [1, 1, 1]},
    )


def build_network(spec: ModelSpec) -> torch.nn.Module:
    """Instantiate the (untrained) MONAI network a spec describes; weights are loaded separately.

    Raises:
        SpecError: no or unsupported architecture, or arguments MONAI rejects.
    """
    if spec.architecture not in SUPPORTED_ARCHITECTURES:
        raise SpecError(
            f"model {spec.name!r}: architecture {spec.architecture!r} is not one of "
            f"{list(SUPPORTED_ARCHITECTURES)}"
        )
    from monai.networks import nets

    dims = 3 if spec.spatial_dims is SpatialDims.THREE_D else 2
    kwargs: dict[str, Any] = dict(spec.architecture_kwargs)
    common: Mapping[str, Any] = {
        "spatial_dims": dims,
        "in_channels": spec.in_channels,
        "out_channels": spec.out_channels,
    }
    clash = sorted(set(common) & set(kwargs))
    if clash:
        raise SpecError(
            f"model {spec.name!r}: architecture_kwargs must not set {clash} (derived from the spec)"
        )
    cls = getattr(nets, spec.architecture)
    try:
        return cls(**common, **kwargs)
    except (TypeError, ValueError, AssertionError) as exc:
        raise SpecError(
            f"model {spec.name!r}: MONAI {spec.architecture} rejected its arguments: {exc}"
        ) from exc


def size_divisor(spec: ModelSpec) -> int | None:
    """The factor every input side must be a multiple of, for architectures where it is known.

    Inference uses it to grow the window to a whole slice (a fully convolutional network does not
    care that it was trained on smaller patches); None means "unknown: keep the trained patch size"
    (TorchScript files and bundles whose architecture is opaque).
    """
    kwargs = spec.architecture_kwargs
    if spec.architecture in ("DynUNet", "UNet"):
        factor = 1
        for stride in kwargs.get("strides", ()):
            factor *= int(stride if isinstance(stride, int) else max(stride))
        return factor
    if spec.architecture == "SegResNet":
        return 2 ** (len(kwargs.get("blocks_down", (1, 2, 2, 4))) - 1)
    if spec.architecture == "BasicUNet":
        return 16
    return None
