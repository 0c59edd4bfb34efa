"""Networks as a label source: run each model's heads, then assemble the stage's Segmentation.

:func:`segment` is what ``analyze`` calls; the batch runner makes head labels itself (slices of many
studies share each forward pass) and ends in the same :func:`assemble_segmentation`, so a unit's
tissue labels cannot depend on which command produced them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from imaging.segmentation.body_parts import trunk_mask, trunk_only_in_trunk
from imaging.segmentation.labels import VERTEBRA_NAMES, LabelMap
from imaging.segmentation.result import Segmentation
from imaging.segmentation.rib_cage import no_visceral_fat_outside_rib_cage
from imaging.segmentation.tissue_rules import TissueRules, tissue_from_ct, tissue_from_mr
from imaging.series_facts import Modality
from imaging.volume import Volume
from segmentation_models.class_schema import HeadKind
from segmentation_models.inference import HeadOutput, InferenceOptions, run_heads
from segmentation_models.loading import LoadedModel


@dataclass(frozen=True)
class ModelRecord:
    """What a Segmentation records about a network whose heads it is built from (picklable: no network).

    The batch runner makes head labels in one process and the Segmentation in another, so it passes
    these records instead of the loaded models.
    """

    description: dict[str, Any]
    modality: str
    warnings: tuple[str, ...] = ()

    @classmethod
    def of(cls, model: LoadedModel) -> ModelRecord:
        return cls(model.describe(), model.spec.modality, tuple(model.warnings))


def segment(
    volume: Volume,
    models: LoadedModel | Sequence[LoadedModel],
    options: InferenceOptions | None = None,
    rules: TissueRules | None = None,
    fat_fraction_pct: np.ndarray | None = None,
    fat_fraction_folded: bool = False,
) -> Segmentation:
    """Segment ``volume`` with one model (or a compartment model plus a vertebra model).

    Runs every model's heads, then :func:`assemble_segmentation` turns them into the Segmentation.
    """
    options = (options or InferenceOptions()).on_device()
    models = [models] if isinstance(models, LoadedModel) else list(models)
    heads = [head for model in models for head in run_heads(volume, model, options)]
    return assemble_segmentation(
        volume,
        heads,
        [ModelRecord.of(m) for m in models],
        device=options.device,
        amp=options.amp,
        rules=rules,
        fat_fraction_pct=fat_fraction_pct,
        fat_fraction_folded=fat_fraction_folded,
    )


def assemble_segmentation(
    volume: Volume,
    heads: Sequence[HeadOutput],
    models: Sequence[ModelRecord],
    *,
    device: str,
    amp: bool,
    rules: TissueRules | None = None,
    fat_fraction_pct: np.ndarray | None = None,
    fat_fraction_folded: bool = False,
) -> Segmentation:
    """The contract Segmentation from head labels on ``volume``'s grid: the one rule set for every path.

    ``analyze`` (through :func:`segment`) and the batch runner (which batches slices across studies
    and so makes its head labels itself) both end here, so a unit's tissue labels cannot depend on
    which command produced them. CT volumes (``meta['modality'] == 'CT'``, HU values) get the HU
    windows inside compartments; MR maps compartments directly, using ``fat_fraction_pct`` (same
    grid, percent) for IMAT when given. Of several heads of one kind the first is used.
    """
    rules = rules or TissueRules()
    # a volume that does not say (stubs, user arrays) is taken as what the networks were trained on
    known = volume.meta.modality
    modality = known.value if known is not Modality.OTHER else models[0].modality.upper()
    warnings: list[str] = []
    for model in models:
        warnings.extend(model.warnings)
        if model.modality != modality:
            name = model.description["name"]
            warnings.append(f"model {name!r} was trained on {model.modality}, the series is {modality}")
    outputs: dict[HeadKind, HeadOutput] = {}
    for head in heads:
        outputs.setdefault(head.kind, head)
    meta: dict[str, Any] = {"models": [dict(m.description) for m in models], "device": device, "amp": amp}
    tissue = muscles = compartments = probabilities = None
    missing: dict[str, str] = {}
    comp = outputs.get(HeadKind.COMPARTMENTS)
    if comp is None:
        missing["tissue"] = "no compartment model given: tissue areas cannot be measured"
    else:
        compartments = LabelMap(comp.labels, dict(comp.classes))
        trunk = trunk_mask(compartments)
        compartments, moved = trunk_only_in_trunk(compartments, trunk)
        compartments, outside_cage = no_visceral_fat_outside_rib_cage(compartments, trunk)
        probabilities = comp.probabilities
        if modality == "CT":
            result = tissue_from_ct(compartments, volume.array, rules.ct)
        else:
            result = tissue_from_mr(compartments, fat_fraction_pct, rules.mr, fat_fraction_folded)
        tissue, muscles = result.tissue, result.muscles
        rule = {
            **result.rule,
            "limb_voxels_given_limb_compartments": moved,
            "visceral_fat_outside_rib_cage_reassigned_voxels": outside_cage,
        }
        meta.update(tissue_rule=rule, unlabelled_voxels=result.unlabelled_voxels)
        warnings.extend(result.warnings)
    vert = outputs.get(HeadKind.VERTEBRAE)
    vertebrae = (
        LabelMap(vert.labels, dict(vert.classes)).relabel(VERTEBRA_NAMES) if vert is not None else None
    )
    if vert is None:
        missing["vertebrae"] = "no vertebra model given: vertebral levels cannot be assigned"
    return Segmentation(
        tissue, vertebrae, muscles, compartments, probabilities, meta, tuple(warnings), missing
    )
