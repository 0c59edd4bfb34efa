"""Tabular DXA exports: APEX database-style and NHANES-style CSV."""

from __future__ import annotations

import csv
from collections.abc import Iterable
from pathlib import Path

from imaging.dxa.model import Region, Site
from phantoms.dxa_exports.exam import (
    DxaExam,
)

# --- CSV exports
_APEX_BODY = {
    Region.ARM_LEFT: "LARM",
    Region.ARM_RIGHT: "RARM",
    Region.LEG_LEFT: "L_LEG",
    Region.LEG_RIGHT: "R_LEG",
    Region.TRUNK: "TRUNK",
    Region.HEAD: "HEAD",
    Region.TOTAL: "WBTOT",
}
_APEX_BONE = {"L1": Site.L1, "L2": Site.L2, "L3": Site.L3, "L4": Site.L4, "TOT": Site.LUMBAR_SPINE_L1_L4}


def _one_side(exam: DxaExam, left: Iterable[Site], right: Iterable[Site], what: str) -> str:
    sides = [side for side, sites in (("L", left), ("R", right)) if set(sites) & set(exam.sites)]
    if len(sides) > 1:
        raise ValueError(
            f"{exam.subject.patient_id}: a flat APEX row holds one {what}; the exam has both sides"
        )
    return sides[0] if sides else ""


def apex_rows(
    exams: Iterable[DxaExam], score_columns: bool = False
) -> tuple[list[str], list[dict[str, str]]]:
    """APEX database-style columns (one row per exam). T/Z-scores are not stored by APEX; ``score_columns``
    adds *_TSCORE/*_ZSCORE columns as some site exports do."""
    header = ["PATIENT_ID", "SEX", "AGE", "HEIGHT_CM", "WEIGHT_KG", "SCAN_DATE"]
    for prefix in _APEX_BODY.values():
        header += [f"{prefix}_{q}" for q in ("LEAN", "FAT", "BMC", "MASS")]
    bone = [*_APEX_BONE, "NECK", "HTOT", "R_13"]
    header += ["HIP_SIDE", "FOREARM_SIDE"] + [f"{b}_BMD" for b in bone]
    if score_columns:
        header += [f"{b}_{s}" for b in bone for s in ("TSCORE", "ZSCORE")]
    rows = []
    for exam in exams:
        s = exam.subject
        hip = _one_side(
            exam,
            (Site.FEMORAL_NECK_LEFT, Site.TOTAL_HIP_LEFT),
            (Site.FEMORAL_NECK_RIGHT, Site.TOTAL_HIP_RIGHT),
            "hip",
        )
        arm = _one_side(exam, (Site.RADIUS_33_LEFT,), (Site.RADIUS_33_RIGHT,), "forearm")
        side = {"L": "left", "R": "right"}
        bone_sites = dict(_APEX_BONE)
        if hip:
            bone_sites |= {"NECK": Site(f"femoral_neck_{side[hip]}"), "HTOT": Site(f"total_hip_{side[hip]}")}
        if arm:
            bone_sites["R_13"] = Site(f"radius_33_{side[arm]}")
        row = {
            "PATIENT_ID": s.patient_id,
            "SEX": s.sex,
            "AGE": str(s.age_years),
            "HEIGHT_CM": "" if s.height_m is None else f"{s.height_m * 100:.1f}",
            "WEIGHT_KG": "" if s.weight_kg is None else f"{s.weight_kg:.1f}",
            "SCAN_DATE": exam.study_date,
            "HIP_SIDE": hip,
            "FOREARM_SIDE": arm,
        }
        for region, prefix in _APEX_BODY.items():
            if (m := exam.regions.get(region)) is not None:
                row |= {
                    f"{prefix}_LEAN": f"{m.lean_g:.1f}",
                    f"{prefix}_FAT": f"{m.fat_g:.1f}",
                    f"{prefix}_BMC": f"{m.bmc_g:.1f}",
                    f"{prefix}_MASS": f"{m.total_g:.1f}",
                }
        for name, site in bone_sites.items():
            if (v := exam.sites.get(site)) is not None:
                row[f"{name}_BMD"] = f"{v.bmd_g_cm2:.3f}"
                if score_columns:
                    row[f"{name}_TSCORE"] = "" if v.t_score is None else f"{v.t_score:.1f}"
                    row[f"{name}_ZSCORE"] = "" if v.z_score is None else f"{v.z_score:.1f}"
        rows.append(row)
    return header, rows


_NHANES_BODY = {
    Region.ARM_LEFT: "LA",
    Region.ARM_RIGHT: "RA",
    Region.LEG_LEFT: "LL",
    Region.LEG_RIGHT: "RL",
    Region.TRUNK: "TR",
    Region.HEAD: "HD",
    Region.TOTAL: "TO",
}
_NHANES_SPINE = {
    "DXXL1BMD": Site.L1,
    "DXXL2BMD": Site.L2,
    "DXXL3BMD": Site.L3,
    "DXXL4BMD": Site.L4,
    "DXXOSBMD": Site.LUMBAR_SPINE_L1_L4,
}


def nhanes_rows(
    exams: Iterable[DxaExam], lean_excluding_bmc: bool = True, lean_including_bmc: bool = True
) -> tuple[list[str], list[dict[str, str]]]:
    """NHANES-style columns: SEQN id, RIAGENDR (1 M, 2 F), RIDAGEYR, BMXHT cm, BMXWT kg, DXD..LE lean
    excluding BMC, DXX..LI lean including BMC, DXD..FAT, DXD..BMC, spine DXX..BMD. Femur columns are not
    written: NHANES does not record the hip side in them."""
    header = ["SEQN", "RIAGENDR", "RIDAGEYR", "BMXHT", "BMXWT"]
    for code in _NHANES_BODY.values():
        header += [f"DXD{code}LE"] * lean_excluding_bmc + [f"DXX{code}LI"] * lean_including_bmc
        header += [f"DXD{code}FAT", f"DXD{code}BMC"]
    header += list(_NHANES_SPINE)
    rows = []
    for exam in exams:
        s = exam.subject
        row = {
            "SEQN": s.patient_id,
            "RIAGENDR": {"M": "1", "F": "2"}[s.sex],
            "RIDAGEYR": str(s.age_years),
            "BMXHT": "" if s.height_m is None else f"{s.height_m * 100:.1f}",
            "BMXWT": "" if s.weight_kg is None else f"{s.weight_kg:.1f}",
        }
        for region, code in _NHANES_BODY.items():
            if (m := exam.regions.get(region)) is not None:
                row |= {f"DXD{code}FAT": f"{m.fat_g:.1f}", f"DXD{code}BMC": f"{m.bmc_g:.1f}"}
                if lean_excluding_bmc:
                    row[f"DXD{code}LE"] = f"{m.lean_g:.1f}"
                if lean_including_bmc:
                    row[f"DXX{code}LI"] = f"{m.lean_plus_bmc_g:.1f}"
        row |= {
            col: f"{exam.sites[site].bmd_g_cm2:.3f}"
            for col, site in _NHANES_SPINE.items()
            if site in exam.sites
        }
        rows.append(row)
    return header, rows


def write_csv(header: list[str], rows: list[dict[str, str]], path: str | Path) -> Path:
    """Write rows (missing cells empty) with a fixed column order."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=header, restval="")
        writer.writeheader()
        writer.writerows(rows)
    return path


def write_apex_csv(exams: Iterable[DxaExam], path: str | Path, score_columns: bool = False) -> Path:
    return write_csv(*apex_rows(exams, score_columns), path)


def write_nhanes_csv(
    exams: Iterable[DxaExam],
    path: str | Path,
    lean_excluding_bmc: bool = True,
    lean_including_bmc: bool = True,
) -> Path:
    return write_csv(*nhanes_rows(exams, lean_excluding_bmc, lean_including_bmc), path)
