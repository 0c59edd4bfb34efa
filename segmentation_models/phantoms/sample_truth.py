"""Truth of one sample series: label NIfTIs on the series grid and a truth.json of per-level numbers.

Split from :mod:`segmentation_models.phantoms.samples` because truth has its own job: it states what a
perfect segmentation of the written images measures (areas from voxel counts, mean HU, fat fractions at
the mid-vertebral slice of each level), plus the roster facts, DXA values and phantom parameters, so the
pipeline can be checked against the sample tree without the renderer.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

from imaging.labels import MEASURED_LEVELS, LabelMap
from imaging.volume import to_nifti
from segmentation_models.phantoms.dicom_series import SeriesMeta
from segmentation_models.phantoms.study import INTENDED, StudyPlan, Subject, series_folder


def level_slices(phantom: Any, grid: Any, levels: Sequence[str] = MEASURED_LEVELS) -> dict[str, int]:
    """Mid-vertebral slice index of each level the grid covers (slice nearest the vertebral body centre)."""
    out = {}
    n = grid.shape[0]
    positions = grid.slice_position_mm(np.arange(n))
    for name in levels:
        lo, hi = phantom.level_z_range(name)
        mid = 0.5 * (lo + hi)
        k = int(np.argmin(np.abs(positions - mid)))
        if min(lo, hi) - 1e-6 <= positions[k] <= max(lo, hi) + 1e-6:
            out[name] = k
    return out


def _mean(values: np.ndarray) -> float | None:
    return round(float(values.mean()), 2) if values.size else None


def level_truth(
    labels: Any,
    grid: Any,
    k: int,
    level: str,
    height_m: float,
    hu: np.ndarray | None,
    fat_fraction: np.ndarray | None,
) -> dict[str, Any]:
    """Measurements a perfect segmentation gives on slice ``k``: areas are voxel counts x pixel area."""
    from segmentation_models.phantoms.labels import MUSCLE_GROUPS, Fine, vertebra_value

    cm2 = grid.pixel_area_mm2 / 100.0
    tissue = LabelMap(labels.tissue[k], labels.tissue_names)
    muscle = tissue.mask("skeletal_muscle")
    trabecular = (labels.fine[k] == int(Fine.VERTEBRAL_TRABECULAR)) & (
        labels.vertebrae[k] == vertebra_value(level)
    )
    area = float(muscle.sum()) * cm2
    row: dict[str, Any] = {
        "slice_index": int(k),
        "z_mm": round(float(grid.slice_position_mm(k)), 3),
        "muscle_area_cm2": round(area, 3),
        "imat_area_cm2": round(float(tissue.mask("imat").sum()) * cm2, 3),
        "sat_area_cm2": round(float(tissue.mask("sat").sum()) * cm2, 3),
        "vat_area_cm2": round(float(tissue.mask("vat").sum()) * cm2, 3),
        "bone_area_cm2": round(float(tissue.mask("bone").sum()) * cm2, 3),
        "smi_cm2_m2": round(area / height_m**2, 3),
        "muscle_voxels": int(muscle.sum()),
        "trabecular_voxels": int(trabecular.sum()),
    }
    if hu is not None:
        row["muscle_hu_mean"] = _mean(hu[k][muscle])
        row["trabecular_hu_mean"] = _mean(hu[k][trabecular])
        row["trabecular_hu_median"] = (
            round(float(np.median(hu[k][trabecular])), 2) if trabecular.any() else None
        )
    if fat_fraction is not None:
        row["muscle_fat_fraction_pct"] = _mean(fat_fraction[k][muscle])
        row["marrow_fat_fraction_pct"] = _mean(fat_fraction[k][trabecular])
        groups = {}
        for group, fines in MUSCLE_GROUPS.items():
            mask = np.isin(labels.fine[k], [int(f) for f in fines])
            groups[group] = _mean(fat_fraction[k][mask])
        row["muscle_group_fat_fraction_pct"] = groups
    return row


def write_truth(
    folder: Path,
    subject: Subject,
    plan: StudyPlan,
    metas: Sequence[SeriesMeta],
    phantom: Any,
    grid: Any,
    labels: Any,
    *,
    facts: dict[str, Any],
    seed: int,
    hu: np.ndarray | None = None,
    fat_fraction: np.ndarray | None = None,
) -> None:
    """Truth for one series (or one Dixon set): label NIfTIs on the series grid and truth.json."""
    folder.mkdir(parents=True, exist_ok=True)
    volume = grid.volume(labels.tissue.astype(np.uint8))
    to_nifti(volume, folder / "tissue.nii.gz")
    to_nifti(volume.with_array(labels.vertebrae.astype(np.uint8)), folder / "vertebrae.nii.gz")
    _write_json(folder / "tissue.labels.json", {str(k): v for k, v in labels.tissue_names.items()})
    _write_json(folder / "vertebrae.labels.json", {str(k): v for k, v in labels.vertebra_names.items()})
    if fat_fraction is not None:
        ff = np.round(np.asarray(fat_fraction, dtype=np.float32), 1)  # 0.1 % steps keep the file small
        to_nifti(volume.with_array(ff), folder / "fat_fraction.nii.gz", dtype=np.float32)
    levels = {
        name: level_truth(
            labels,
            grid,
            k,
            name,
            subject.height_m,
            hu,
            None if fat_fraction is None else np.round(np.asarray(fat_fraction, np.float32), 1),
        )
        for name, k in level_slices(phantom, grid).items()
    }
    truth = {
        "patient_id": subject.patient_id,
        "seed": seed,
        "study": {"folder": plan.folder, "study_uid": plan.study.uid, "date": plan.study.date},
        "series": [
            {
                "series_uid": m.series_uid,
                "series_number": m.series_number,
                "description": m.description,
                "folder": "/".join(
                    (subject.patient_id, plan.folder, series_folder(m.series_number, m.description))
                ),
            }
            for m in metas
        ],
        "acquisition": facts,
        "grid": {
            "shape": list(grid.shape),
            "spacing_mm": [round(float(v), 6) for v in grid.spacing_kji[::-1]],
            "affine_lps": [[round(float(v), 6) for v in row] for row in grid.affine],
        },
        "subject": subject_facts(subject, phantom),
        "level_convention": "mid-vertebral: slice nearest the centre of the vertebral body",
        "levels": levels,
    }
    _write_json(folder / "truth.json", truth)


def subject_facts(subject: Subject, phantom: Any) -> dict[str, Any]:
    """Roster facts, the DXA values written for the subject, and the phantom's drawn parameters."""
    facts: dict[str, Any] = {
        "sex": subject.sex,
        "age_years": subject.age_years,
        "height_m": subject.height_m,
        "weight_kg": subject.weight_kg,
        "bmi_kg_m2": round(subject.weight_kg / subject.height_m**2, 2),
        "height_in_dicom": subject.height_in_dicom,
        "intended": INTENDED[subject.patient_id],
    }
    if subject.dxa is not None:
        facts["dxa"] = {
            "format": subject.dxa.format.value,
            "alm_kg": subject.dxa.alm_kg,
            "almi_kg_m2": round(subject.dxa.alm_kg / subject.height_m**2, 3),
            "t_scores": {name: site.t_score for name, site in subject.dxa.sites},
        }
    params = getattr(phantom, "params", None)
    if params is not None:
        facts["phantom_params"] = {
            k: (round(v, 4) if isinstance(v, float) else v) for k, v in asdict(params).items()
        }
    return facts


def _write_json(path: Path, data: Any) -> None:
    path.write_text(json.dumps(data, indent=2, sort_keys=False) + "\n", encoding="utf-8")
