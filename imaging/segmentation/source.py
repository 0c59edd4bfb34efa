"""Where a series' labels come from: loaded networks, or precomputed files (NIfTI, DICOM SEG, .tag).

Several precomputed files may be given for one series (e.g. ``tissue.nii.gz`` and ``vertebrae.nii.gz``
as a manual workflow writes them); each is placed on the series grid by world coordinates and the
results are combined: the first file that provides a map (tissue, vertebrae, muscle groups) supplies
it. The model block of results.json records what was used.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from imaging.schema import ModelBlock
from imaging.segmentation.label_files.precomputed import PrecomputedOptions, load_precomputed
from imaging.segmentation.networks import segment
from imaging.segmentation.result import Segmentation
from imaging.segmentation.tissue_rules import TissueRules
from imaging.volume import Volume
from segmentation_models.inference import InferenceOptions
from segmentation_models.loading import LoadedModel, sha256_file
from segmentation_models.registry import ModelSpec

SEGMENTATION_SUFFIXES = (".nii", ".nii.gz", ".tag")


@dataclass(frozen=True)
class SegmentationSource:
    """Networks to run, or precomputed label files to read (exactly one of the two is non-empty)."""

    models: tuple[LoadedModel, ...] = ()
    files: tuple[Path, ...] = ()
    inference: InferenceOptions = field(default_factory=InferenceOptions)
    rules: TissueRules = field(default_factory=TissueRules)

    def __post_init__(self) -> None:
        if bool(self.models) == bool(self.files):
            raise ValueError("give either models or precomputed segmentation files, not both or neither")

    def model_block(self, modality: str | None = None) -> ModelBlock:
        """results.json ``model``: the network(s) that segment a ``modality`` series (all when None),
        or the precomputed files with their checksums."""
        if self.models:
            models = self.models
            if modality is not None:
                fit = fitting_models([m.spec for m in models], modality)
                models = tuple(models[i] for i in fit)
            return describe_models([m.describe() for m in models])
        return {
            "name": "precomputed",
            "version": "+".join(p.name for p in self.files),
            "weights_sha256": None,
            "files": [{"path": str(p), "sha256": sha256_file(p)} for p in self.files],
        }


def is_segmentation_file(path: Path) -> bool:
    """A file ``--model`` may name instead of a network: NIfTI, .tag, or a DICOM SEG object."""
    name = path.name.lower()
    if not path.is_file():
        return False
    if name.endswith(SEGMENTATION_SUFFIXES):
        return True
    if name.endswith((".ts", ".pt", ".json")):
        return False
    try:
        import pydicom

        ds = pydicom.dcmread(path, stop_before_pixels=True)
    except Exception:  # not DICOM: let model loading report what it is
        return False
    return str(ds.get("Modality", "")) == "SEG"


def run_segmentation(
    source: SegmentationSource,
    volume: Volume,
    fat_fraction_pct: np.ndarray | None = None,
    fat_fraction_folded: bool = False,
) -> Segmentation:
    """Labels on ``volume``'s grid from the networks or the files.

    Raises:
        ValueError: a precomputed file that cannot be read or does not overlap the series.
    """
    if source.models:
        models = models_for(source.models, volume)
        return segment(volume, models, source.inference, source.rules, fat_fraction_pct, fat_fraction_folded)
    opts = PrecomputedOptions(rules=source.rules)
    parts = [load_precomputed(p, volume, opts, fat_fraction_pct) for p in source.files]
    return combine(parts)


def models_for(models: Sequence[LoadedModel], volume: Volume) -> tuple[LoadedModel, ...]:
    """The given models trained on this series' modality (a CT network on MR signal gives nonsense).

    Raises:
        ValueError: none of them fits, naming what was given and what the series needs.
    """
    modality = volume.meta.modality.value
    fit = fitting_models([m.spec for m in models], modality)
    return tuple(models[i] for i in fit)


def fitting_models(specs: Sequence[ModelSpec], modality: str) -> tuple[int, ...]:
    """Indices of the models trained on ``modality``: ``analyze`` and ``batch`` choose with this one rule.

    Raises:
        ValueError: none of them fits, naming what was given and what the series needs.
    """
    modality = modality.upper()
    fit = tuple(i for i, spec in enumerate(specs) if spec.modality.upper() == modality)
    if not fit:
        given = ", ".join(f"{spec.name} ({spec.modality})" for spec in specs)
        raise ValueError(
            f"no segmentation model for {modality or 'this'} series: given {given}; give a {modality} model "
            "with --model, or precomputed labels with --segmentation"
        )
    return fit


def describe_models(descriptions: Sequence[Mapping[str, Any]]) -> ModelBlock:
    """results.json ``model`` from the networks that made the labels: the first, plus all as components."""
    first = descriptions[0]
    block: ModelBlock = {
        "name": first["name"],
        "version": first["version"],
        "weights_sha256": first["weights_sha256"],
    }
    if len(descriptions) > 1:
        block["components"] = [dict(d) for d in descriptions]
    return block


def combine(parts: Sequence[Segmentation]) -> Segmentation:
    """One Segmentation from several files: the first map of each kind wins; a map is reported missing
    (with the first file's reason) only when no file gives it."""
    if len(parts) == 1:
        return parts[0]

    def first(attr: str) -> Any:
        return next((getattr(p, attr) for p in parts if getattr(p, attr) is not None), None)

    tissue, vertebrae = first("tissue"), first("vertebrae")
    missing: dict[str, str] = {}
    for name, found in (("tissue", tissue), ("vertebrae", vertebrae)):
        if found is None:
            missing[name] = next(p.missing[name] for p in parts if name in p.missing)
    warnings = [w for p in parts for w in p.warnings]
    meta = {"sources": [dict(p.meta) for p in parts]}
    return Segmentation(
        tissue,
        vertebrae,
        first("muscles"),
        first("compartments"),
        None,
        meta,
        tuple(dict.fromkeys(warnings)),
        missing,
    )
