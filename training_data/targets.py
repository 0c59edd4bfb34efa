"""Training targets as *sets of allowed classes*, one bit per compartment class.

A target voxel holds a ``uint16`` bit mask: bit ``c`` set means "the voxel may be class ``c``".
A fully labelled voxel has exactly one bit; ``UNKNOWN`` (0, no bit) means "no information" and is
what padding and unlabelled slices get. This one representation covers every source we train on:

* phantoms: one bit per voxel, from the fine anatomy (:data:`FINE_TO_COMPARTMENT`);
* TotalSegmentator maps: its classes give one bit; its background only *excludes* the classes it
  segments (it contains fat and unsegmented muscle, so it must not be pushed to "background");
* manual tissue labels (Slice-O-Matic .tag, tissue NIfTI): muscle/IMAT -> any muscle group (the
  file does not say which); an unlabelled voxel excludes every compartment whose HU window contains
  its attenuation (the operator would have labelled it otherwise).

Compartment targets on phantoms (documented mapping, see :data:`FINE_TO_COMPARTMENT`): muscles map to
their group; intermuscular septa and intramuscular fat (the phantom's two IMAT labels) belong to the
compartment of the *nearest muscle* in the slice, because the network predicts the fascial
compartment and IMAT is separated afterwards by the HU windows; skin, organs, bowel, discs, canal
and the basivertebral vein -> ``other_soft_tissue``; air and the couch -> ``background``.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from scipy import ndimage

from imaging.segmentation.tissue_rules import CtRule
from imaging.segmentation.windows import HuWindow
from phantoms.labels import Fine
from segmentation_models.class_schema import MUSCLE_GROUPS
from segmentation_models.networks import COMPARTMENT_CLASSES
from segmentation_models.training.case import ALL_BITS, bit, bits_of

CLASS_INDEX: dict[str, int] = {name: value for value, name in COMPARTMENT_CLASSES.items()}
_IMAT = -1  # marker: assigned to the nearest muscle's group

FINE_TO_COMPARTMENT: dict[Fine, str | int] = {
    Fine.AIR: "background",
    Fine.TABLE: "background",
    Fine.SAT: "subcutaneous_fat",
    Fine.ARM_FAT: "subcutaneous_fat",
    Fine.VAT: "visceral_fat",
    Fine.RENAL_SINUS_FAT: "visceral_fat",
    Fine.IMAT_SEPTUM: _IMAT,
    Fine.IMAT_INCLUSION: _IMAT,
    Fine.PSOAS: "psoas",
    Fine.PARASPINAL: "paraspinal",
    Fine.QUADRATUS_LUMBORUM: "quadratus_lumborum",
    Fine.RECTUS_ABDOMINIS: "abdominal_wall",
    Fine.EXTERNAL_OBLIQUE: "abdominal_wall",
    Fine.INTERNAL_OBLIQUE: "abdominal_wall",
    Fine.TRANSVERSUS_ABDOMINIS: "abdominal_wall",
    Fine.LATISSIMUS_DORSI: "other_muscle",
    Fine.ARM_MUSCLE: "other_muscle",
    Fine.ILIACUS: "other_muscle",
    Fine.GLUTEAL: "other_muscle",
    Fine.DIAPHRAGM: "other_muscle",
    Fine.INTERCOSTAL: "other_muscle",
    **{
        f: "bone"
        for f in (
            Fine.VERTEBRAL_CORTEX,
            Fine.VERTEBRAL_TRABECULAR,
            Fine.POSTERIOR_ELEMENTS,
            Fine.RIB,
            Fine.SACRUM,
            Fine.ILIUM,
            Fine.HUMERUS,
        )
    },
}
for _f in Fine:
    FINE_TO_COMPARTMENT.setdefault(_f, "other_soft_tissue")

_LUT = np.zeros(max(int(f) for f in Fine) + 1, dtype=np.int16)
for _f, _c in FINE_TO_COMPARTMENT.items():
    _LUT[int(_f)] = _c if isinstance(_c, int) else CLASS_INDEX[_c]
MUSCLE_CLASSES: tuple[int, ...] = tuple(CLASS_INDEX[g] for g in MUSCLE_GROUPS)


def phantom_compartments(fine: np.ndarray) -> np.ndarray:
    """Compartment class index (uint8) of every voxel of a fine phantom label array [slice, row, col].

    IMAT voxels take the group of the nearest muscle voxel in the same slice (2-D distance).
    """
    comp = _LUT[fine]
    for k in range(fine.shape[0]):
        imat = comp[k] == _IMAT
        if not imat.any():
            continue
        muscle = np.isin(comp[k], MUSCLE_CLASSES)
        if not muscle.any():  # fat islands with no muscle in the slice: the generic muscle group
            comp[k][imat] = CLASS_INDEX["other_muscle"]
            continue
        _, (jj, ii) = ndimage.distance_transform_edt(~muscle, return_indices=True)
        comp[k][imat] = comp[k][jj[imat], ii[imat]]
    return comp.astype(np.uint8)


def single_class_bits(classes: np.ndarray) -> np.ndarray:
    """Bit masks (uint16) of a fully labelled class-index array."""
    return (np.uint16(1) << classes.astype(np.uint16)).astype(np.uint16)


def compartment_label_bits(labels: np.ndarray, names: Mapping[int, str]) -> np.ndarray:
    """Targets from a label array whose values name compartments (a TotalSegmentator map once mapped,
    a user's compartment NIfTI/SEG). ``skeletal_muscle``/``imat`` allow any muscle group.

    Unnamed values (0 included) exclude every class the file labels somewhere, except
    ``other_soft_tissue`` (never exhaustive): TotalSegmentator background holds fat and unsegmented
    muscle, so it must not be pushed to "background".

    Raises:
        KeyError: a name outside the compartment vocabulary.
    """
    aliases = {"sat": ("subcutaneous_fat",), "vat": ("visceral_fat",)}
    muscles = tuple(MUSCLE_GROUPS)
    value_bits: dict[int, int] = {}
    for value, name in names.items():
        group = muscles if name in ("skeletal_muscle", "imat") else aliases.get(name, (name,))
        value_bits[int(value)] = bits_of(CLASS_INDEX[n] for n in group)
    labelled = 0
    for b in value_bits.values():
        labelled |= b
    labelled &= ~bit(CLASS_INDEX["other_soft_tissue"])
    size = max(int(labels.max(initial=0)), max(value_bits, default=0)) + 1
    lut = np.full(size, ALL_BITS & ~labelled, dtype=np.uint16)
    for value, b in value_bits.items():
        lut[value] = b
    return lut[labels.astype(np.intp)]


def tissue_label_bits(
    tissue: np.ndarray, names: Mapping[int, str], hu: np.ndarray, rule: CtRule | None = None
) -> np.ndarray:
    """Targets from windowed manual tissue labels (contract names) on CT, e.g. a Slice-O-Matic L3 tag.

    ``skeletal_muscle``/``imat`` -> any muscle group; ``sat`` -> subcutaneous; ``vat`` -> visceral;
    ``bone``/``other_soft_tissue`` -> that class. An unlabelled voxel excludes the compartments whose
    window contains its HU (an operator leaves no in-window voxel of a labelled compartment blank).
    """
    rule = rule or CtRule()
    by_name = {
        "skeletal_muscle": bits_of(MUSCLE_CLASSES),
        "imat": bits_of(MUSCLE_CLASSES),
        "sat": bit(CLASS_INDEX["subcutaneous_fat"]),
        "vat": bit(CLASS_INDEX["visceral_fat"]),
        "bone": bit(CLASS_INDEX["bone"]),
        "other_soft_tissue": bit(CLASS_INDEX["other_soft_tissue"]),
    }
    out = np.zeros(tissue.shape, dtype=np.uint16)
    for value, name in names.items():
        if name in by_name:
            out[tissue == int(value)] = by_name[name]
    blank = tissue == 0
    allowed = np.full(tissue.shape, ALL_BITS, dtype=np.uint16)
    windows: list[tuple[list[HuWindow], int]] = [
        ([rule.muscle, rule.imat], bits_of(MUSCLE_CLASSES)),
        ([rule.sat], bit(CLASS_INDEX["subcutaneous_fat"])),
        ([rule.vat.window], bit(CLASS_INDEX["visceral_fat"])),
    ]
    for wins, bits in windows:
        inside = np.zeros(tissue.shape, dtype=bool)
        for w in wins:
            inside |= w.contains(hu)
        allowed[inside] &= np.uint16(ALL_BITS & ~bits)
    out[blank] = allowed[blank]
    return out
