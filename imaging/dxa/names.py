"""The vocabulary that maps vendor labels onto sites, regions and quantities.

Matching is on meanings, never on code values, and is tolerant of case, spacing and underscores ("Neck Left",
"NECK_LEFT", "neckleft" are the same). The tables are plain data so a new vendor spelling is one line: GE's
body-composition item names in SR/XML are not publicly documented, so those entries are our own documented
vocabulary and are expected to grow when real exports are seen.
"""

from __future__ import annotations

import re
from enum import StrEnum

from imaging.dxa.model import Region, Site


class Quantity(StrEnum):
    """Values a report states for a bone site or a body region."""

    BMD = "bmd"
    T_SCORE = "t_score"
    Z_SCORE = "z_score"
    BMC = "bmc"
    AREA = "area"
    LEAN = "lean"  # lean soft tissue EXCLUDING bone mineral
    LEAN_PLUS_BMC = "lean_plus_bmc"  # lean soft tissue INCLUDING bone mineral ("fat-free mass")
    FAT = "fat"
    TISSUE = "tissue"  # fat + lean
    TOTAL_MASS = "total_mass"  # tissue + BMC


def norm(label: str) -> str:
    """Case-, space- and underscore-insensitive key for a label ('Neck Left' -> 'neckleft')."""
    return re.sub(r"[\s_]+", "", str(label).strip().lower())


QUANTITY_NAMES: dict[str, Quantity] = {
    norm(k): v
    for k, v in {
        "BMD": Quantity.BMD,
        "BMD_TSCORE": Quantity.T_SCORE,
        "T-score": Quantity.T_SCORE,
        "T score": Quantity.T_SCORE,
        "YAT": Quantity.T_SCORE,
        "BMD_ZSCORE": Quantity.Z_SCORE,
        "Z-score": Quantity.Z_SCORE,
        "Z score": Quantity.Z_SCORE,
        "AMZ": Quantity.Z_SCORE,
        "BMC": Quantity.BMC,
        "Bone Mineral Content": Quantity.BMC,
        "AREA": Quantity.AREA,
        "Lean": Quantity.LEAN,
        "Lean Mass": Quantity.LEAN,
        "Lean Tissue": Quantity.LEAN,
        "Lean Soft Tissue": Quantity.LEAN,
        "Lean+BMC": Quantity.LEAN_PLUS_BMC,
        "Lean + BMC": Quantity.LEAN_PLUS_BMC,
        "Lean+BMC Mass": Quantity.LEAN_PLUS_BMC,
        "Fat-Free Mass": Quantity.LEAN_PLUS_BMC,
        "Fat": Quantity.FAT,
        "Fat Mass": Quantity.FAT,
        "Tissue": Quantity.TISSUE,
        "Tissue Mass": Quantity.TISSUE,
        "Total Mass": Quantity.TOTAL_MASS,
        "Total": Quantity.TOTAL_MASS,  # a column/item name here; as a container or row label it is a region
    }.items()
}

BODY_REGION_NAMES: dict[str, Region] = {
    norm(k): v
    for k, v in {
        "Arm Left": Region.ARM_LEFT,
        "Left Arm": Region.ARM_LEFT,
        "L Arm": Region.ARM_LEFT,
        "Arm Right": Region.ARM_RIGHT,
        "Right Arm": Region.ARM_RIGHT,
        "R Arm": Region.ARM_RIGHT,
        "Arms": Region.ARMS,
        "Leg Left": Region.LEG_LEFT,
        "Left Leg": Region.LEG_LEFT,
        "L Leg": Region.LEG_LEFT,
        "Leg Right": Region.LEG_RIGHT,
        "Right Leg": Region.LEG_RIGHT,
        "R Leg": Region.LEG_RIGHT,
        "Legs": Region.LEGS,
        "Trunk": Region.TRUNK,
        "Head": Region.HEAD,
        "Android": Region.ANDROID,
        "Gynoid": Region.GYNOID,
        "Subtotal": Region.SUBTOTAL,
        "Total": Region.TOTAL,
        "Total Body": Region.TOTAL,
    }.items()
}

SPINE_SCANS = frozenset(norm(s) for s in ("AP Spine", "Lumbar Spine", "Spine", "LSPINE", "L-Spine"))
BODY_SCANS = frozenset(norm(s) for s in ("Body Composition", "Total Body", "Whole Body", "Body", "WB"))
FEMUR_SCANS: dict[str, str | None] = {
    norm("Left Femur"): "left",
    norm("Right Femur"): "right",
    norm("Left Hip"): "left",
    norm("Right Hip"): "right",
    norm("DualFemur"): None,
    norm("Dual Hip"): None,
    norm("Hip"): None,
}
FOREARM_SCANS: dict[str, str | None] = {
    norm("Left Forearm"): "left",
    norm("Right Forearm"): "right",
    norm("Forearm"): None,
}

_SPINE_REGIONS = {
    "l1": Site.L1,
    "l2": Site.L2,
    "l3": Site.L3,
    "l4": Site.L4,
    "l1-l4": Site.LUMBAR_SPINE_L1_L4,
}
_NECK = {"left": Site.FEMORAL_NECK_LEFT, "right": Site.FEMORAL_NECK_RIGHT}
_TOTAL_HIP = {"left": Site.TOTAL_HIP_LEFT, "right": Site.TOTAL_HIP_RIGHT}
_RADIUS_33 = {"left": Site.RADIUS_33_LEFT, "right": Site.RADIUS_33_RIGHT}
_RADIUS_33_NAMES = frozenset(norm(s) for s in ("Radius 33%", "33% Radius", "Radius 1/3", "1/3", "1/3 Radius"))


def side_of(label: str) -> str | None:
    """'left'/'right' when a label names one side (Left, L, Right, R), else None."""
    key = norm(label)
    if key in {"left", "l", "links", "gauche"}:
        return "left"
    if key in {"right", "r", "rechts", "droite"}:
        return "right"
    return None


def bone_site(scan: str, region: str, scan_side: str | None = None) -> Site | None:
    """Which contract site a (scan, region) pair reports, or None when it is not one of ours.

    ``scan_side`` supplies the side of a single-sided scan when the scan name does not carry it (e.g.
    Hologic's "Hip" report, whose side is in the DICOM Laterality). Regions like "Neck Mean", "L2-L4" or
    "Trend L1-L4" map to None on purpose: they are not the sites the contract reports.
    """
    s, r = norm(scan), norm(region)
    if s in SPINE_SCANS:
        return _SPINE_REGIONS.get(r)
    if s in FEMUR_SCANS:
        side = FEMUR_SCANS[s] or scan_side
        for prefix, table in (("neck", _NECK), ("total", _TOTAL_HIP)):
            if r == prefix and side:
                return table[side]
            if r.startswith(prefix) and side_of(r[len(prefix) :]):
                return table[side_of(r[len(prefix) :]) or ""]
            if r.endswith(prefix) and side_of(r[: -len(prefix)]):
                return table[side_of(r[: -len(prefix)]) or ""]
        return None
    if s in FOREARM_SCANS:
        side = FOREARM_SCANS[s] or scan_side
        return _RADIUS_33[side] if side and r in _RADIUS_33_NAMES else None
    return None


def quantity(label: str) -> Quantity | None:
    return QUANTITY_NAMES.get(norm(label))


def body_region(label: str) -> Region | None:
    return BODY_REGION_NAMES.get(norm(label))
