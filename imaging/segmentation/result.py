"""What the segmentation stage returns, whatever produced the labels (networks or label files)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from imaging.segmentation.labels import LabelMap

MISSABLE = ("tissue", "vertebrae")  # maps a source may be unable to give, with a reason


class GridMismatchError(ValueError):
    """Label maps of one segmentation that do not share one voxel grid."""


@dataclass(frozen=True)
class Segmentation:
    """Label maps on the input series grid (same shape as its Volume), whatever produced them.

    ``tissue`` uses :data:`imaging.segmentation.labels.TISSUE_NAMES`, ``vertebrae`` uses
    ``VERTEBRA_NAMES`` and ``muscles`` uses :data:`segmentation_models.class_schema.MUSCLE_GROUP_NAMES`;
    any of them is None when the source cannot give it (``warnings`` then says why). ``compartments``
    is the raw model output (model's own table) and ``probabilities`` its per-class softmax (float16,
    name -> array) when asked for. ``meta`` records the model or file, the windows/rules used and
    voxel counts left unlabelled. ``missing`` says, per map the source could not give (``tissue``,
    ``vertebrae``), why; a later stage that supplies the map (level finding supplies vertebrae)
    drops that key, and :attr:`notes` renders what is still missing after ``warnings``, so no
    warning is ever retracted by matching its text.

    Every map is checked against the others when the value is built: a map on another grid would
    otherwise be measured against the wrong voxels without any error.
    """

    tissue: LabelMap | None
    vertebrae: LabelMap | None
    muscles: LabelMap | None = None
    compartments: LabelMap | None = None
    probabilities: Mapping[str, np.ndarray] | None = None
    meta: Mapping[str, Any] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()
    missing: Mapping[str, str] = field(default_factory=dict)
    # vertebrae the labelling source knows run on beyond the scanned range, though their labels may
    # stop a slice or two short of its edge (the level finder's cut_by_fov)
    cut_by_scan: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        for name in self.missing:
            if name not in MISSABLE:
                raise ValueError(f"missing: {name!r} is not one of {MISSABLE}")
            if getattr(self, name) is not None:
                raise ValueError(f"missing[{name!r}] given, but the segmentation has {name} labels")
        shapes = {
            name: tuple(m.array.shape)
            for name, m in (
                ("tissue", self.tissue),
                ("vertebrae", self.vertebrae),
                ("muscles", self.muscles),
                ("compartments", self.compartments),
            )
            if m is not None
        }
        for name, p in (self.probabilities or {}).items():
            shapes[f"probabilities[{name}]"] = tuple(p.shape)
        if len(set(shapes.values())) > 1:
            listed = ", ".join(f"{k} {v}" for k, v in shapes.items())
            raise GridMismatchError(f"segmentation maps are on different grids: {listed}")

    @property
    def notes(self) -> tuple[str, ...]:
        """The warnings a reader sees: the sources' warnings, then why a map is still missing."""
        return (*self.warnings, *self.missing.values())

    def supplied(self, name: str) -> dict[str, str]:
        """``missing`` without ``name``: for a stage that now supplies that map."""
        return {k: v for k, v in self.missing.items() if k != name}

    @property
    def shape(self) -> tuple[int, ...] | None:
        """The (slices, rows, columns) grid every map is on; None when there is no map at all."""
        for m in (self.tissue, self.vertebrae, self.muscles, self.compartments):
            if m is not None:
                return tuple(m.array.shape)
        return None
