"""Turning the label names found in user files into our vocabulary.

Files name their labels freely: "Skeletal Muscle", "L3 vertebra", "vertebrae_L3", "Subcutaneous
adipose tissue". Matching is by a normalised form (lower case, separators unified) and a short
synonym table; anything not recognised is reported, never guessed.
"""

from __future__ import annotations

import re

from imaging.segmentation.labels import TISSUE_NAMES, VERTEBRA_ORDER
from segmentation_models.class_schema import COMPARTMENT_ROLES

SYNONYMS: dict[str, str] = {
    "muscle": "skeletal_muscle",
    "skeletal_muscle_tissue": "skeletal_muscle",
    "subcutaneous_adipose_tissue": "sat",
    "subcutaneous_fat": "subcutaneous_fat",
    "visceral_adipose_tissue": "vat",
    "visceral_fat": "visceral_fat",
    "intermuscular_adipose_tissue": "imat",
    "intramuscular_adipose_tissue": "imat",
    "bone_tissue": "bone",
    "erector_spinae": "paraspinal",
    "psoas_major": "psoas",
    "quadratus_lumborum_muscle": "quadratus_lumborum",
}
_VERTEBRA_RE = re.compile(r"^(?:vertebrae?_)?([ctls]\d{1,2})(?:_vertebrae?)?$")


def normalise(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", text.strip().lower()).strip("_")


def canonical_name(text: str) -> str | None:
    """Our name for a label text: a tissue, compartment or vertebra name, or None when unknown."""
    key = normalise(text)
    key = SYNONYMS.get(key, key)
    if key in TISSUE_NAMES.values() or key in COMPARTMENT_ROLES:
        return key
    m = _VERTEBRA_RE.match(key)
    if m and m.group(1).upper() in VERTEBRA_ORDER:
        return m.group(1).upper()
    return None
