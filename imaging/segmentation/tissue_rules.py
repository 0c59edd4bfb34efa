"""From predicted compartments to contract tissue labels: HU windows on CT, fat fraction on MR.

CT follows the manual standard (Alberta protocol, as Slice-O-Matic users and peer tools apply it):
the compartment says *where*, the attenuation says *what*.

* muscle compartment (any muscle group, or a model's own ``imat`` class): HU in the muscle window
  (−29..150) → ``skeletal_muscle``; in the IMAT window (−190..−30) → ``imat``;
* subcutaneous compartment: SAT window (−190..−30) → ``sat``;
* visceral compartment: VAT window (−150..−50 by default, or −190..−30; the choice is recorded) → ``vat``;
* bone → ``bone`` and other soft tissue → ``other_soft_tissue``, unwindowed.

A compartment voxel outside its windows (air in a fascial plane, a calcification, a vessel with
contrast) is left unlabelled and *counted* per compartment in the report, so a badly placed
compartment shows up as large counts instead of silently shifting areas.

MR has no HU. Compartments map directly (muscle → ``skeletal_muscle``, subcutaneous → ``sat``,
visceral → ``vat``). When a Dixon fat-fraction map is given, muscle-compartment voxels whose fat
fraction is at or above ``imat_min_ff_pct`` become ``imat``: by default 50 %, i.e. a voxel is IMAT
when fat dominates its signal (a configurable default, not a published cut-off). A magnitude-only
(IP/OP) fat fraction is folded into 0–50 % and can never reach that threshold: ``MrRule`` says so.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from imaging.segmentation.labels import TISSUE_NAMES, LabelMap
from imaging.segmentation.windows import IMAT, MUSCLE, SAT, VAT, VAT_WIDE, HuWindow
from segmentation_models.class_schema import COMPARTMENT_ROLES, MUSCLE_GROUP_NAMES, MUSCLE_GROUPS, Role

_TISSUE_VALUE = {name: value for value, name in TISSUE_NAMES.items()}


class VatWindow(enum.Enum):
    """Which published VAT window to apply (clinical-criteria.md: record which)."""

    ALBERTA = "alberta_-150_-50"
    WIDE = "wide_-190_-30"

    @property
    def window(self) -> HuWindow:
        return VAT if self is VatWindow.ALBERTA else VAT_WIDE


@dataclass(frozen=True)
class CtRule:
    """HU windows applied inside compartments (defaults: Alberta protocol)."""

    muscle: HuWindow = MUSCLE
    imat: HuWindow = IMAT
    sat: HuWindow = SAT
    vat: VatWindow = VatWindow.ALBERTA

    def __post_init__(self) -> None:
        if self.muscle.low <= self.imat.high:
            raise ValueError(f"muscle window {self.muscle} overlaps the IMAT window {self.imat}")

    def describe(self) -> dict[str, Any]:
        return {
            "rule": "ct_hu_windows_in_compartments",
            "skeletal_muscle": self.muscle.describe(),
            "imat": self.imat.describe(),
            "sat": self.sat.describe(),
            "vat": {**self.vat.window.describe(), "choice": self.vat.value},
        }


@dataclass(frozen=True)
class MrRule:
    """Direct compartment mapping; IMAT from the Dixon fat fraction when one is given."""

    imat_min_ff_pct: float = 50.0
    source: str = "fat-dominant voxel (FF >= 50 %); configurable default, not a published cut-off"

    def __post_init__(self) -> None:
        if not 0.0 < self.imat_min_ff_pct <= 100.0:
            raise ValueError(f"imat_min_ff_pct must be in (0, 100], got {self.imat_min_ff_pct}")

    def describe(self, with_ff: bool, folded: bool) -> dict[str, Any]:
        out: dict[str, Any] = {"rule": "mr_direct_compartments", "imat_from_fat_fraction": with_ff}
        if with_ff:
            out.update(imat_min_ff_pct=self.imat_min_ff_pct, source=self.source, fat_fraction_folded=folded)
        return out


@dataclass(frozen=True)
class TissueRules:
    """The one place a run's tissue rules live: every label source (networks, label files) reads them."""

    ct: CtRule = field(default_factory=CtRule)
    mr: MrRule = field(default_factory=MrRule)


@dataclass(frozen=True)
class TissueResult:
    """Contract tissue map, muscle-group map, and what the rule did."""

    tissue: LabelMap
    muscles: LabelMap
    unlabelled_voxels: dict[str, int]
    rule: dict[str, Any]
    warnings: list[str] = field(default_factory=list)


def roles_array(compartments: LabelMap) -> tuple[np.ndarray, dict[Role, int]]:
    """Per-voxel role codes (index into ``list(Role)``) from a compartment map, via a lookup table.

    Raises:
        ValueError: a compartment name outside the vocabulary.
    """
    roles = list(Role)
    lut = np.zeros(int(max(compartments.names, default=0)) + 1, dtype=np.uint8)
    for value, name in compartments.names.items():
        if name not in COMPARTMENT_ROLES:
            raise ValueError(
                f"compartment {name!r} has no post-processing role; known: {sorted(COMPARTMENT_ROLES)}"
            )
        lut[int(value)] = roles.index(COMPARTMENT_ROLES[name])
    arr = compartments.array
    if arr.size and int(arr.max()) >= lut.size:
        raise ValueError(
            f"compartment map holds value {int(arr.max())} missing from its table {dict(compartments.names)}"
        )
    return lut[arr], {r: i for i, r in enumerate(roles)}


def muscle_groups(compartments: LabelMap) -> LabelMap:
    """The muscle-group map (:data:`MUSCLE_GROUP_NAMES`) from a compartment map: whole compartments,
    unwindowed, because per-group MR fat fraction must include the fat infiltrating the group."""
    out = np.zeros(compartments.array.shape, dtype=np.uint8)
    for value, name in MUSCLE_GROUP_NAMES.items():
        if name in MUSCLE_GROUPS:
            out[compartments.mask(name)] = value
    return LabelMap(out, dict(MUSCLE_GROUP_NAMES))


def tissue_from_ct(compartments: LabelMap, hu: np.ndarray, rule: CtRule | None = None) -> TissueResult:
    """Apply HU windows inside compartments (see module docstring). Pure: arrays in, maps out."""
    rule = rule or CtRule()
    if hu.shape != compartments.array.shape:
        raise ValueError(f"HU array {hu.shape} and compartments {compartments.array.shape} differ in shape")
    role, code = roles_array(compartments)
    out = np.zeros(hu.shape, dtype=np.uint8)
    unlabelled: dict[str, int] = {}

    def windowed(mask: np.ndarray, windows: list[tuple[HuWindow, str]], key: str) -> None:
        hit = np.zeros_like(mask)
        for window, tissue in windows:
            sel = mask & window.contains(hu) & ~hit
            out[sel] = _TISSUE_VALUE[tissue]
            hit |= sel
        unlabelled[key] = int(np.count_nonzero(mask & ~hit))

    muscle = (role == code[Role.MUSCLE]) | (role == code[Role.IMAT])
    windowed(muscle, [(rule.muscle, "skeletal_muscle"), (rule.imat, "imat")], "muscle_compartment")
    windowed(role == code[Role.SAT], [(rule.sat, "sat")], "subcutaneous_compartment")
    windowed(role == code[Role.VAT], [(rule.vat.window, "vat")], "visceral_compartment")
    out[role == code[Role.BONE]] = _TISSUE_VALUE["bone"]
    out[role == code[Role.OTHER]] = _TISSUE_VALUE["other_soft_tissue"]
    return TissueResult(
        LabelMap(out, dict(TISSUE_NAMES)), muscle_groups(compartments), unlabelled, rule.describe()
    )


def tissue_from_mr(
    compartments: LabelMap,
    fat_fraction_pct: np.ndarray | None = None,
    rule: MrRule | None = None,
    fat_fraction_folded: bool = False,
) -> TissueResult:
    """Map compartments directly; split IMAT from muscle by fat fraction when it is given.

    Voxels with a NaN fat fraction (not measurable) stay ``skeletal_muscle``: the compartment is known,
    only the split is not; their number is reported under ``muscle_without_fat_fraction``.
    """
    rule = rule or MrRule()
    role, code = roles_array(compartments)
    out = np.zeros(role.shape, dtype=np.uint8)
    muscle = (role == code[Role.MUSCLE]) | (role == code[Role.IMAT])
    out[muscle] = _TISSUE_VALUE["skeletal_muscle"]
    out[role == code[Role.SAT]] = _TISSUE_VALUE["sat"]
    out[role == code[Role.VAT]] = _TISSUE_VALUE["vat"]
    out[role == code[Role.BONE]] = _TISSUE_VALUE["bone"]
    out[role == code[Role.OTHER]] = _TISSUE_VALUE["other_soft_tissue"]
    warnings: list[str] = []
    counts: dict[str, int] = {}
    if fat_fraction_pct is None:
        out[role == code[Role.IMAT]] = _TISSUE_VALUE["imat"]  # a model's own IMAT class is all we have
        if not np.any(role == code[Role.IMAT]):
            warnings.append("MR without a fat-fraction map: IMAT is not separated from skeletal muscle")
    else:
        if fat_fraction_pct.shape != role.shape:
            raise ValueError(
                f"fat fraction {fat_fraction_pct.shape} and compartments {role.shape} differ in shape"
            )
        ff = np.asarray(fat_fraction_pct, dtype=np.float32)
        fatty = muscle & (ff >= rule.imat_min_ff_pct)  # NaN compares False
        out[fatty] = _TISSUE_VALUE["imat"]
        counts["muscle_without_fat_fraction"] = int(np.count_nonzero(muscle & np.isnan(ff)))
        if fat_fraction_folded and rule.imat_min_ff_pct >= 50.0:
            warnings.append(
                "fat fraction from in/opposed-phase magnitudes is folded into 0-50 %: "
                f"IMAT (FF >= {rule.imat_min_ff_pct:g} %) cannot be detected from it"
            )
    describe = rule.describe(fat_fraction_pct is not None, fat_fraction_folded)
    return TissueResult(
        LabelMap(out, dict(TISSUE_NAMES)), muscle_groups(compartments), counts, describe, warnings
    )
