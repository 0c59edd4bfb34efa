"""The registered model descriptions training produces, by size.

``small`` is the CPU recipe (trainable in ~30 min on 2 cores, inference budget of a CPU-only site):
a 2.5-D DynUNet with 16..192 filters over five levels at 1.5 mm in-plane, batch norm (its inference
statistics do not depend on how much air surrounds the body, unlike instance norm, so 192-pixel
training crops and 288-pixel inference windows agree). ``large`` (32..320 filters, 1.0 mm) is for a
GPU. Both output :data:`segmentation_models.networks.COMPARTMENT_CLASSES`.

CT intensities are clipped to -300..500 HU and scaled to 0..1: everything from fat to trabecular
bone keeps its contrast; air, lung and gas saturate (the network needs them only as "not tissue").
MR uses per-volume 0.5-99.5 percentiles of the in-phase magnitude (arbitrary units).
"""

from __future__ import annotations

from dataclasses import replace

from segmentation_models.networks import tissue_recipe
from segmentation_models.registry import ModelSpec, Normalisation, NormKind, Spacing

SIZES = ("small", "large")


def tissue_spec(name: str, version: str, modality: str = "CT", size: str = "small") -> ModelSpec:
    """The compartment model description for ``modality`` and ``size``.

    Raises:
        ValueError: unknown size or modality.
    """
    if size not in SIZES or modality not in ("CT", "MR"):
        raise ValueError(f"size must be one of {SIZES} and modality CT or MR, got {size!r}, {modality!r}")
    base = tissue_recipe(name, version)
    norm = (
        Normalisation(NormKind.CT_WINDOW, -300.0, 500.0)
        if modality == "CT"
        else Normalisation(NormKind.PERCENTILE, 0.5, 99.5)
    )
    task = f"{modality} body-composition compartments (muscle groups, SAT, VAT, bone) on axial slices"
    if size == "large":
        return replace(base, modality=modality, normalisation=norm, task=task)
    kwargs = {
        "kernel_size": [3, 3, 3, 3, 3],
        "strides": [1, 2, 2, 2, 2],
        "upsample_kernel_size": [2, 2, 2, 2],
        "filters": [16, 32, 64, 128, 192],
        "norm_name": "batch",
    }
    return replace(
        base,
        modality=modality,
        task=task,
        normalisation=norm,
        spacing=Spacing(slice_mm=None, row_mm=1.5, column_mm=1.5),
        patch_size=(288, 288),
        architecture_kwargs=kwargs,
    )
