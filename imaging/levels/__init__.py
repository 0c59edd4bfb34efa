"""Vertebral levels: naming the vertebrae from anatomy, and choosing the slice that stands for a level.

Where L3 is chosen: :func:`imaging.levels.choice.choose_slices` (the representative slice of every
level, from the vertebra labels or a stated ``--level``), using :mod:`.slices` (vertebral bodies and
the mid-vertebral / transverse-process conventions). The labels it reads come from a label source or
from :func:`identify_levels` here, applied by :func:`imaging.levels.assign.with_vertebral_levels`.

Counting vertebrae is only meaningful from something that fixes the count: the sacrum (the vertebra
above it is L5) or the lowest rib-bearing vertebra (T12). This package finds the column, splits it
into bodies at the discs, looks for those two anchors, and names the bodies from them — or, when the
field of view holds neither, says that the level cannot be established instead of guessing (a wrong
L3 silently corrupts every downstream measurement).

Usage::

    result = identify_levels(ct_volume)                 # CT: HU alone
    result = identify_levels(mr_volume, bone_mask=bone)  # MR: a network's bone mask on the input grid
    result = identify_levels(mr_volume, bone_mask=bone, fat_fraction_pct=ff)  # MR Dixon: + marrow cues
    result.labels            # LabelMap on the input grid, contract names (empty when not established)
    result.report.confidence, result.report.reason, result.report.warnings
    [(v.name, v.z_range_mm, v.anchor, v.confidence) for v in result.report.vertebrae]

Modules: :mod:`.workgrid` (LPS-aligned resampling), :mod:`.spine` (column; MR bodies),
:mod:`.discs` (CT: discs from the straightened mid-sagittal view, bodies between them),
:mod:`.anchors` (ribs, sacrum), :mod:`.marrow` (MR Dixon: discs and the sacrum from the fat fraction),
:mod:`.labelling` (names and confidence), :mod:`.identify`; :mod:`.assign` (labels into a
Segmentation), :mod:`.slices` and :mod:`.choice` (slice per level).
"""

from imaging.levels.identify import identify_levels
from imaging.levels.labelling import REFUSAL, name_vertebrae
from imaging.levels.model import Anchor, LevelOptions, LevelReport, LevelResult, VertebraFinding

__all__ = [
    "REFUSAL",
    "Anchor",
    "LevelOptions",
    "LevelReport",
    "LevelResult",
    "VertebraFinding",
    "identify_levels",
    "name_vertebrae",
]
