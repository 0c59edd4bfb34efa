"""The reference standard of a phantom, its geometric truth, and why the two differ.

A manual body-composition segmentation (Slice-O-Matic style, Alberta protocol;
../shared/reference/clinical-criteria.md, "HU windows") outlines compartments and lets the HU
windows decide the tissue of every voxel inside them; on MR this project splits IMAT from muscle by
the Dixon fat fraction (``postprocess.MrRule``). :func:`reference_tissue` applies exactly that rule
to a phantom's *truth* compartments on its own image: a perfect manual segmentation. The phantom's
*geometric* tissue map (:func:`geometric_tissue`, the analytic structure under each voxel) differs
from it even so, and :func:`ceiling_causes` says why, voxel by voxel, trying these causes in order:

1. *compartment mapping*: the voxel's truth compartment cannot yield its geometric class
   (humeral marrow is geometric bone but lies in no bone compartment);
2. *designed value outside window*: the phantom's pure-tissue value of the class
   (:func:`designed_values`) falls outside the class's window (or fat-fraction side);
3. *partial volume and blur*: wrong already in a noise-free rendering of the same draw, at a
   boundary (:func:`near_boundary`: within :data:`BOUNDARY_MM` in-plane of another tissue, or
   another tissue in the next slice): mixed voxels in-plane and through thick slices, the scanner PSF,
   the sharp kernel's edge overshoot;
4. *texture and other*: wrong in the noise-free rendering away from boundaries (CT tissue texture;
   structures that start and end inside the slab of a stack's end slice);
5. *noise*, at boundaries or in interiors: right without noise, wrong with it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import ndimage

from imaging.segmentation.labels import TISSUE_NAMES, LabelMap

EVAL_TISSUES = ("skeletal_muscle", "imat", "sat", "vat", "bone")
# Reach of partial volume and blur in-plane: mixed voxels (<= 1 voxel), the PSF (sigma 0.35-0.8 mm)
# and the sharp kernel's edge overshoot (sigma 1.2 mm) all lie within this distance of a boundary.
BOUNDARY_MM = 2.5
CAUSES: dict[str, str] = {
    "compartment_mapping": "compartment mapping",
    "designed_value": "designed value outside window",
    "partial_volume": "partial volume and blur",
    "texture": "texture and other",
    "noise_boundary": "noise at boundaries",
    "noise_interior": "noise in interiors",
}
_CAUSE_KEYS = tuple(CAUSES)
_TISSUE_VALUE = {name: value for value, name in TISSUE_NAMES.items()}


def truth_compartments(case: Any) -> LabelMap:
    """The phantom's truth compartments (one class per voxel) as a named map."""
    from segmentation_models.networks import COMPARTMENT_CLASSES

    values = np.log2(np.maximum(case.target, 1)).astype(np.uint8)
    return LabelMap(values, dict(COMPARTMENT_CLASSES))


def geometric_tissue(case: Any) -> LabelMap:
    """The phantom's geometric tissue truth (majority analytic structure of each voxel)."""
    return LabelMap(case.tissue, dict(TISSUE_NAMES))


def reference_tissue(case: Any, compartments: LabelMap | None = None) -> LabelMap:
    """The reference standard: truth compartments + the pipeline's own tissue rule on the case's image.

    This is a perfect manual (Slice-O-Matic-style) segmentation: compartments outlined exactly, tissue
    decided by the HU windows (CT) or the fat-fraction IMAT split (MR) -- the very rule applied to
    predicted compartments, so a network with perfect compartments scores exactly 1.
    """
    from imaging.segmentation.tissue_rules import tissue_from_ct, tissue_from_mr

    comp = compartments if compartments is not None else truth_compartments(case)
    if case.modality == "CT":
        return tissue_from_ct(comp, case.image).tissue
    return tissue_from_mr(comp, case.fat_fraction).tissue


def _ct_windows() -> dict[str, Any]:
    """The default CT rule's window per windowed class (postprocess.CtRule, Alberta protocol)."""
    from imaging.segmentation.tissue_rules import CtRule

    rule = CtRule()
    return {"skeletal_muscle": rule.muscle, "imat": rule.imat, "sat": rule.sat, "vat": rule.vat.window}


def _in_window(modality: str, tissue: str, value: float) -> bool | None:
    """Whether a pure-tissue value lies on its own class's side of the rule; None when unwindowed."""
    from imaging.segmentation.tissue_rules import MrRule

    if modality == "CT":
        windows = _ct_windows()
        return bool(windows[tissue].contains(value)) if tissue in windows else None
    threshold = MrRule().imat_min_ff_pct
    if tissue == "skeletal_muscle":
        return value < threshold
    if tissue == "imat":
        return value >= threshold
    return None


def window_text(modality: str, tissue: str) -> str:
    """The rule side of a windowed class, in words (for tables)."""
    from imaging.segmentation.tissue_rules import MrRule

    if modality == "CT":
        w = _ct_windows().get(tissue)
        return "compartment" if w is None else f"{w.low:g}..{w.high:g} HU"
    thr = MrRule().imat_min_ff_pct
    return {"skeletal_muscle": f"FF < {thr:g} %", "imat": f"FF >= {thr:g} %"}.get(tissue, "compartment")


def designed_values(settings: Any) -> dict[str, tuple[float, float]]:
    """Pure-tissue (noise-free, no partial volume) value range per windowed tissue class of one draw.

    CT: HU of every fine label of the class from the renderer's attenuation table (contrast and kVp of
    the draw); MR: fat fraction (%) of every fine label from the Dixon water/fat tables.
    """
    from phantoms import FINE_TO_TISSUE, SubjectParams, make_phantom
    from phantoms.ct import attenuation_table
    from phantoms.mr import water_fat_tables

    phantom = make_phantom(SubjectParams(**settings.params))
    if settings.modality == "CT":
        table = attenuation_table(phantom, settings.contrast, settings.kvp)[:, 0]
    else:
        w, f = (t[:, 0] for t in water_fat_tables(phantom))
        table = np.where(w + f > 0, 100.0 * f / np.maximum(w + f, 1e-9), 0.0)
    names = (
        ("skeletal_muscle", "imat", "sat", "vat")
        if settings.modality == "CT"
        else ("skeletal_muscle", "imat")
    )
    out = {}
    for name in names:
        vals = [float(table[int(fine)]) for fine, t in FINE_TO_TISSUE.items() if t == name]
        out[name] = (min(vals), max(vals))
    return out


def near_boundary(tissue: np.ndarray, spacing_mm: float) -> np.ndarray:
    """Voxels where partial volume and blur can act: within :data:`BOUNDARY_MM` in-plane of another
    geometric class, or with another class at the same position in a neighbouring slice (a boundary
    between two slice centres lies inside one of their slabs; with 5 mm slices that is the largest
    partial-volume source)."""
    r = max(1, round(BOUNDARY_MM / spacing_mm))
    j, i = np.ogrid[-r : r + 1, -r : r + 1]
    foot = (j * j + i * i <= r * r)[None]
    out = ndimage.maximum_filter(tissue, footprint=foot) != ndimage.minimum_filter(tissue, footprint=foot)
    across = tissue[1:] != tissue[:-1]
    out[1:] |= across
    out[:-1] |= across
    return out


def _producible(compartments: LabelMap) -> dict[int, np.ndarray]:
    """Per compartment role: which tissue values its rule can produce (0 = unlabelled)."""
    from imaging.segmentation.tissue_rules import roles_array
    from segmentation_models.class_schema import Role

    role, code = roles_array(compartments)
    can = {
        Role.BACKGROUND: (0,),
        Role.MUSCLE: (_TISSUE_VALUE["skeletal_muscle"], _TISSUE_VALUE["imat"]),
        Role.IMAT: (_TISSUE_VALUE["skeletal_muscle"], _TISSUE_VALUE["imat"]),
        Role.SAT: (_TISSUE_VALUE["sat"],),
        Role.VAT: (_TISSUE_VALUE["vat"],),
        Role.BONE: (_TISSUE_VALUE["bone"],),
        Role.OTHER: (_TISSUE_VALUE["other_soft_tissue"],),
    }
    out = {}
    for value in range(max(TISSUE_NAMES) + 1):
        roles = [code[r] for r, vals in can.items() if value in vals]
        out[value] = np.isin(role, roles)
    return out


@dataclass
class CauseTable:
    """Voxels where the reference standard and geometric truth disagree, per class and cause, pooled.

    ``counts[t][cause]`` counts false negatives and false positives of class ``t``; ``totals[t]`` is
    |reference| + |geometric|, so ``counts / totals`` are Dice points lost and sum to 1 − Dice.
    """

    counts: dict[str, dict[str, int]] = field(default_factory=dict)
    totals: dict[str, int] = field(default_factory=dict)

    def add(self, other: CauseTable) -> None:
        for t, row in other.counts.items():
            mine = self.counts.setdefault(t, dict.fromkeys(_CAUSE_KEYS, 0))
            for c, n in row.items():
                mine[c] += n
        for t, n in other.totals.items():
            self.totals[t] = self.totals.get(t, 0) + n

    def points(self) -> dict[str, dict[str, float]]:
        """Dice points lost per class and cause."""
        return {
            t: {c: (n / self.totals[t] if self.totals.get(t) else 0.0) for c, n in row.items()}
            for t, row in self.counts.items()
        }


def ceiling_causes(
    case: Any, clean: Any, designed: Mapping[str, tuple[float, float]], compartments: LabelMap | None = None
) -> CauseTable:
    """Assign every voxel where reference standard and geometric truth disagree to one cause.

    ``clean`` is the same draw rendered without noise (same anatomy and grid, same texture). Causes
    are tried in the order of :data:`CAUSES` (see the module docstring); a voxel counts against the
    geometric class it misses and against the class the reference gives it instead.
    """
    comp = compartments if compartments is not None else truth_compartments(case)
    geo = np.asarray(case.tissue)
    if clean.tissue is not None and not np.array_equal(clean.tissue, geo):
        raise ValueError(f"{case.name}: the noise-free rendering has different truth labels")
    ref = reference_tissue(case, comp).array
    ref_clean = reference_tissue(clean, comp).array
    boundary = near_boundary(geo, float(case.spacing_kji[1]))
    producible = _producible(comp)
    cause = np.full(geo.shape, -1, dtype=np.int8)
    lost = ref != geo
    unmapped = np.zeros(geo.shape, dtype=bool)
    for value, ok in producible.items():
        unmapped |= (geo == value) & ~ok
    cause[lost & unmapped] = 0
    outside = np.zeros(geo.shape, dtype=bool)
    for name, (lo, hi) in designed.items():
        if not (_in_window(case.modality, name, lo) or _in_window(case.modality, name, hi)):
            outside |= geo == _TISSUE_VALUE[name]
    open_ = lost & (cause < 0)
    cause[open_ & outside] = 1
    open_ = lost & (cause < 0)
    wrong_clean = ref_clean != geo
    cause[open_ & wrong_clean & boundary] = 2
    cause[open_ & wrong_clean & ~boundary] = 3
    open_ = lost & (cause < 0)
    cause[open_ & boundary] = 4
    cause[open_ & ~boundary] = 5
    out = CauseTable()
    for name in EVAL_TISSUES:
        v = _TISSUE_VALUE[name]
        involved = lost & ((geo == v) | (ref == v))
        codes = np.bincount(cause[involved].astype(np.intp), minlength=len(_CAUSE_KEYS))
        out.counts[name] = {c: int(codes[i]) for i, c in enumerate(_CAUSE_KEYS)}
        out.totals[name] = int(np.count_nonzero(geo == v)) + int(np.count_nonzero(ref == v))
    return out
