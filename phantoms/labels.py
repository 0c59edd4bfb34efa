"""The phantom's fine label table, its mapping to the contract's tissue classes, and the label bundle.

Fine labels name anatomy (``psoas``, ``rib``); tissue classes are the contract's coarse names
(``skeletal_muscle``, ``bone`` ...) from :mod:`imaging.segmentation.labels`, so phantom truth and
pipeline output share one vocabulary. Vertebra values are
:data:`imaging.segmentation.labels.VERTEBRA_NAMES` (T10 = 17 ... S1 = 25).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

import numpy as np

from imaging.segmentation.labels import TISSUE_NAMES, VERTEBRA_NAMES
from phantoms.grid import Grid


class Fine(enum.IntEnum):
    """Fine anatomical labels (0 = air/background). Values are stable: training data depends on them."""

    AIR = 0
    SKIN = 1
    SAT = 2
    VAT = 3
    RENAL_SINUS_FAT = 4
    IMAT_SEPTUM = 5  # intermuscular fat between muscles and abdominal-wall layers
    IMAT_INCLUSION = 6  # marbling inside muscles
    PSOAS = 7
    QUADRATUS_LUMBORUM = 8
    PARASPINAL = 9  # erector spinae + multifidus
    RECTUS_ABDOMINIS = 10
    EXTERNAL_OBLIQUE = 11
    INTERNAL_OBLIQUE = 12
    TRANSVERSUS_ABDOMINIS = 13
    LATISSIMUS_DORSI = 14
    ARM_MUSCLE = 15
    VERTEBRAL_CORTEX = 16
    VERTEBRAL_TRABECULAR = 17
    BASIVERTEBRAL_VEIN = 18
    POSTERIOR_ELEMENTS = 19  # pedicles, laminae, articular, spinous and transverse processes
    RIB = 20
    SACRUM = 21
    ILIUM = 22
    HUMERUS = 23
    DISC = 24
    SPINAL_CANAL = 25
    LIVER = 26
    SPLEEN = 27
    KIDNEY = 28
    AORTA = 29
    IVC = 30
    STOMACH_WALL = 31
    STOMACH_CONTENT = 32
    SMALL_BOWEL_WALL = 33
    SMALL_BOWEL_CONTENT = 34
    COLON_WALL = 35
    COLON_CONTENT = 36
    BOWEL_GAS = 37
    LINEA_ALBA = 38
    LUNG = 39
    TABLE = 40
    ARM_FAT = 41
    ILIACUS = 42
    GLUTEAL = 43
    HUMERUS_MARROW = 44  # fatty marrow inside the humeral cortex (HUMERUS)
    DIAPHRAGM = (
        45  # domes, costal part against the lower chest wall, and the crura beside the upper lumbar spine
    )
    INTERCOSTAL = 46  # muscle between the rib sections of the lower chest wall


FINE_NAMES: dict[int, str] = {int(m): m.name.lower() for m in Fine}

_TISSUE_VALUE = {name: value for value, name in TISSUE_NAMES.items()}
# Fine labels that are skeletal muscle (shared by the tissue map and both renderers).
MUSCLE_FINES: tuple[Fine, ...] = (
    Fine.PSOAS,
    Fine.QUADRATUS_LUMBORUM,
    Fine.PARASPINAL,
    Fine.RECTUS_ABDOMINIS,
    Fine.EXTERNAL_OBLIQUE,
    Fine.INTERNAL_OBLIQUE,
    Fine.TRANSVERSUS_ABDOMINIS,
    Fine.LATISSIMUS_DORSI,
    Fine.ARM_MUSCLE,
    Fine.ILIACUS,
    Fine.GLUTEAL,
    Fine.DIAPHRAGM,
    Fine.INTERCOSTAL,
)
_BONE = (
    Fine.VERTEBRAL_CORTEX,
    Fine.VERTEBRAL_TRABECULAR,
    Fine.POSTERIOR_ELEMENTS,
    Fine.RIB,
    Fine.SACRUM,
    Fine.ILIUM,
    Fine.HUMERUS,
    Fine.HUMERUS_MARROW,
)
# Coarse class of every fine label. The basivertebral vein is a vessel inside bone: other soft tissue.
FINE_TO_TISSUE: dict[Fine, str | None] = {
    **{f: "skeletal_muscle" for f in MUSCLE_FINES},
    **{f: "bone" for f in _BONE},
    Fine.IMAT_SEPTUM: "imat",
    Fine.IMAT_INCLUSION: "imat",
    Fine.SAT: "sat",
    Fine.ARM_FAT: "sat",
    Fine.VAT: "vat",
    Fine.RENAL_SINUS_FAT: "vat",
    Fine.AIR: None,
    Fine.TABLE: None,
    Fine.LUNG: "other_soft_tissue",
    Fine.BOWEL_GAS: "other_soft_tissue",
}
for _f in Fine:
    FINE_TO_TISSUE.setdefault(_f, "other_soft_tissue")

# Lookup array fine value -> tissue value (0 = background).
TISSUE_LUT = np.zeros(max(FINE_NAMES) + 1, dtype=np.uint8)
for _f, _name in FINE_TO_TISSUE.items():
    TISSUE_LUT[int(_f)] = 0 if _name is None else _TISSUE_VALUE[_name]

# Muscle groups reported separately by the truth (fine labels belonging to each).
MUSCLE_GROUPS: dict[str, tuple[Fine, ...]] = {
    "psoas": (Fine.PSOAS,),
    "paraspinal": (Fine.PARASPINAL,),
    "quadratus_lumborum": (Fine.QUADRATUS_LUMBORUM,),
    "abdominal_wall": (
        Fine.RECTUS_ABDOMINIS,
        Fine.EXTERNAL_OBLIQUE,
        Fine.INTERNAL_OBLIQUE,
        Fine.TRANSVERSUS_ABDOMINIS,
    ),
}


def vertebra_value(name: str) -> int:
    """Contract value of a vertebra name (``imaging.segmentation.labels.VERTEBRA_NAMES``)."""
    for value, label in VERTEBRA_NAMES.items():
        if label == name:
            return value
    raise ValueError(f"unknown vertebra name {name!r}")


@dataclass(frozen=True)
class PhantomLabels:
    """Truth label maps on one grid: fine anatomy, contract tissue classes, vertebra levels."""

    fine: np.ndarray
    fine_names: dict[int, str]
    tissue: np.ndarray
    tissue_names: dict[int, str]
    vertebrae: np.ndarray
    vertebra_names: dict[int, str]
    grid: Grid

    def __post_init__(self) -> None:
        for name in ("fine", "tissue", "vertebrae"):
            arr = getattr(self, name)
            if tuple(arr.shape) != self.grid.shape:
                raise ValueError(f"{name} shape {arr.shape} does not match grid {self.grid.shape}")

    @classmethod
    def from_fine(cls, fine: np.ndarray, vertebrae: np.ndarray, grid: Grid) -> PhantomLabels:
        """Derive the tissue map from fine labels and attach the name tables."""
        return cls(
            fine=fine,
            fine_names=dict(FINE_NAMES),
            tissue=TISSUE_LUT[fine],
            tissue_names=dict(TISSUE_NAMES),
            vertebrae=vertebrae,
            vertebra_names=dict(VERTEBRA_NAMES),
            grid=grid,
        )
