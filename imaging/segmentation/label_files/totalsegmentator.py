"""TotalSegmentator classes expressed in our compartment and vertebra vocabulary, and what they lack.

TotalSegmentator (``total`` for CT, ``total_mr`` for MR) labels organs, bones, vertebrae and a few
muscles. Its maps are useful in two ways: as a precomputed segmentation a user supplies, and as
*partial* training labels for the real CT/MR in ../shared/data/real.

Mapping (by class name, never by value, since value tables differ between tasks and versions):

* ``vertebrae_C1`` .. ``vertebrae_S1`` → vertebra levels of the same name, and compartment ``bone``;
* ``autochthon_left/right`` (erector spinae + transversospinalis) → ``paraspinal``;
* ``iliopsoas_left/right`` → ``psoas`` (iliacus is included below the iliac crest: see below);
* gluteal muscles → ``other_muscle``;
* every other bone (ribs, sacrum, hip, femur, humerus, scapula, clavicle, sternum, skull, the
  unlevelled ``vertebrae`` class of ``total_mr``) → ``bone``;
* organs, vessels, lungs, airways, brain, spinal cord, intervertebral discs, costal cartilage →
  ``other_soft_tissue``.

What this mapping cannot give (``CANNOT_DERIVE``), and therefore what a result built from it lacks:

* no subcutaneous or visceral fat compartment → no SAT, no VAT;
* no abdominal wall muscles (rectus, obliques, transversus), no quadratus lumborum, no latissimus
  → skeletal muscle area is *partial* and is not an L3 skeletal muscle area (SMA/SMI);
* no IMAT class; on CT, IMAT inside the psoas and paraspinal masks comes from the HU windows only;
* ``iliopsoas`` merges psoas and iliacus, so below the iliac crest "psoas" includes iliacus;
* ``total_mr`` has one ``vertebrae`` class without levels → no vertebral levels from MR maps;
* TotalSegmentator background is *unlabelled*, not "nothing there": it contains fat and muscles.

Training use: these maps are partial labels. The loss is computed only on the classes present
(``SUPERVISED_COMPARTMENTS``) and on no background voxel, because TotalSegmentator background
includes tissue of classes it does not segment.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from imaging.segmentation.labels import VERTEBRA_ORDER

SOURCE = "TotalSegmentator (Wasserthal et al. 2023), tasks 'total' and 'total_mr'"


@dataclass(frozen=True)
class MappedClass:
    """What one TotalSegmentator class is in our vocabulary (None = not represented)."""

    compartment: str | None
    vertebra: str | None = None


_BONE_PREFIXES = ("rib_", "humerus", "scapula", "clavicula", "femur", "hip_", "vertebrae")
_BONE_NAMES = {"sacrum", "sternum", "skull"}
_OTHER_MUSCLE_PREFIXES = ("gluteus_",)

CANNOT_DERIVE: tuple[str, ...] = (
    "sat: no subcutaneous fat compartment",
    "vat: no visceral fat compartment",
    "abdominal_wall and quadratus_lumborum muscle groups: not segmented, so skeletal muscle area is partial",
    "imat: no class; on CT only the HU windows inside the psoas/paraspinal masks separate it",
    "psoas below the iliac crest: TotalSegmentator's iliopsoas includes iliacus",
    "vertebral levels from total_mr: one unlevelled 'vertebrae' class",
    "background: unlabelled, not empty (contains fat and unsegmented muscle)",
)
SUPERVISED_COMPARTMENTS: tuple[str, ...] = (
    "psoas",
    "paraspinal",
    "other_muscle",
    "bone",
    "other_soft_tissue",
)


def map_class(name: str) -> MappedClass:
    """Our compartment (and vertebra level) for one TotalSegmentator class name."""
    if name.startswith("vertebrae_"):
        level = name.removeprefix("vertebrae_")
        return MappedClass("bone", level if level in VERTEBRA_ORDER else None)
    if name.startswith("autochthon"):
        return MappedClass("paraspinal")
    if name.startswith("iliopsoas"):
        return MappedClass("psoas")
    if name.startswith(_OTHER_MUSCLE_PREFIXES):
        return MappedClass("other_muscle")
    if name in _BONE_NAMES or name.startswith(_BONE_PREFIXES):
        return MappedClass("bone")
    if name == "background":
        return MappedClass(None)
    return MappedClass("other_soft_tissue")


def is_totalsegmentator_table(names: Mapping[int, str]) -> bool:
    """Heuristic used when a file comes without a stated source: TotalSegmentator-only class names."""
    values = set(names.values())
    return bool(values & {"autochthon_left", "autochthon_right", "iliopsoas_left", "iliopsoas_right"}) or any(
        v.startswith("vertebrae_") for v in values
    )


def mapping_table(names: Mapping[int, str]) -> dict[str, MappedClass]:
    """The mapping for every class of a TotalSegmentator ``*.labels.json`` table."""
    return {name: map_class(name) for _, name in sorted(names.items())}


def names_from_label_files(paths: Iterable[Path]) -> dict[int, str]:
    """Union of the class names of several ``*.labels.json`` tables, renumbered in name order.

    Regenerate the document with
    ``mapping_markdown(names_from_label_files(Path("../shared/data/real").glob("*/totalsegmentator_total*.labels.json")))``.
    """
    names: set[str] = set()
    for path in paths:
        names.update(str(v) for v in json.loads(Path(path).read_text(encoding="utf-8")).values())
    return dict(enumerate(sorted(names), start=1))


def mapping_markdown(names: Mapping[int, str]) -> str:
    """The generated document (TOTALSEGMENTATOR.md): mapping table plus what it cannot give."""
    lines = [
        "# TotalSegmentator classes → bonemuscle compartments",
        "",
        "Generated by `imaging.segmentation.label_files.totalsegmentator.mapping_markdown`;",
        "do not edit by hand.",
        f"Source: {SOURCE}.",
        "",
        "| TotalSegmentator class | compartment | vertebra level |",
        "|---|---|---|",
    ]
    for name, mapped in mapping_table(names).items():
        lines.append(f"| {name} | {mapped.compartment or '—'} | {mapped.vertebra or '—'} |")
    lines += ["", "## What this mapping cannot give", ""]
    lines += [f"- {item}" for item in CANNOT_DERIVE]
    lines += [
        "",
        "## Use in training",
        "",
        "Partial labels: the loss is masked to voxels of the supervised compartments "
        f"({', '.join(SUPERVISED_COMPARTMENTS)}); TotalSegmentator background is never used as background.",
        "",
    ]
    return "\n".join(lines)
