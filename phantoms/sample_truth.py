"""Truth of one sample series: label NIfTIs on the series grid and a truth.json of per-level numbers.

Split from :mod:`phantoms.samples` because truth has its own job: it states what a
perfect segmentation of the written images measures, and what the renderer's parameters were, plus the
roster facts, DXA values and phantom parameters, so the pipeline can be checked against the sample tree
without the renderer. Every number comes from :func:`phantoms.truth.truth_measurements`
(the one definition); this module only rounds, documents (the ``definitions`` block) and writes.

Files per truth folder: ``tissue.nii.gz`` (contract tissue classes), ``vertebrae.nii.gz``,
``muscles.nii.gz`` (muscle groups, ``class_schema.MUSCLE_GROUP_NAMES``), each with a ``.labels.json``
(value -> name), ``fat_fraction.nii.gz`` for Dixon sets, and ``truth.json``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

from imaging.volume import to_nifti
from phantoms.dicom_series import SeriesMeta
from phantoms.study import INTENDED, StudyPlan, Subject, series_folder
from phantoms.truth import CtRender, muscle_group_map, truth_measurements
from segmentation_models.class_schema import MUSCLE_GROUP_NAMES

DIGITS = 4  # rounding of every float in truth.json (areas to 1e-4 cm², HU and % to 1e-4)

# What each key of a level means; written into every truth.json (and mirrored in sample_dicoms/README.md).
DEFINITIONS: dict[str, str] = {
    "nominal vs measured": (
        "*_nominal keys are the renderer's parameters for the tissue (before partial volume, texture, blur "
        "and noise); keys without the suffix are the pipeline's formula applied to the truth labels and the "
        "written image: what a perfect segmentation measures"
    ),
    "slice_index": (
        "mid-vertebral slice: the slice nearest the middle of the slices holding the vertebral body "
        "(cortex, trabecular bone, basivertebral vein) in the truth labels; of two equally central slices "
        "the cranial one; a body cut by the first or last slice is not listed. 0-based, slices sorted "
        "along the slice normal"
    ),
    "body_slices": "first and last slice index holding the vertebral body",
    "z_mm": "slice position along the slice normal (mm); world_z_mm: LPS z of the slice centre",
    "*_area_cm2": "truth voxel count of the class on the slice x pixel area / 100",
    "muscle_group_area_cm2": "truth voxel count of each muscle group (muscles.nii.gz) on the slice",
    "smi_cm2_m2": "muscle_area_cm2 / height_m^2",
    "muscle_hu_mean": "mean HU of the written image over truth skeletal_muscle voxels on the slice",
    "muscle_hu_nominal": "the renderer's muscle attenuation (contrast and kVp applied)",
    "trabecular ROI": (
        "imaging.measurements.bone.trabecular_roi on the truth vertebral body: anterior half of the body's "
        "AP extent, >= 5 mm inside its outline, central half of its height (3-D, several slices)"
    ),
    "trabecular_hu_nominal": (
        "the renderer's trabecular attenuation of this level (subject value + level offset, kVp and "
        "contrast applied), before texture, blur and noise"
    ),
    "trabecular_hu_noise_free": (
        "ROI mean of the same render without noise (texture and kernel included): the value a perfect "
        "measurement converges to. Differs from the nominal value by the trabecular texture's mean over "
        "the ROI (bone heterogeneity, a few HU); blur and edge enhancement do not reach the ROI"
    ),
    "trabecular_hu_mean / _median": "ROI mean / median of the written (noisy) image",
    "trabecular_roi_voxels": "voxels in the trabecular ROI",
    "mr.muscle_ff_pct": "mean truth fat fraction (%) over truth skeletal_muscle voxels on the slice",
    "mr.muscle_group_ff_pct": (
        "mean truth fat fraction over each group's muscle voxels on the slice (IMAT inclusions excluded); "
        "includes partial volume at the group's border"
    ),
    "mr.muscle_group_ff_core_pct": (
        "the same over core voxels (all face neighbours in the group): free of partial volume"
    ),
    "mr.muscle_ff_nominal_pct": "the muscle fat-fraction parameter",
    "mr.marrow_ff_pct": "mean truth fat fraction over the trabecular ROI",
    "mr.marrow_ff_nominal_pct": "the level's marrow fat-fraction parameter",
    "truth fat fraction": (
        "fat_fraction.nii.gz: 100 F/(W+F) of the noise-free, unblurred, partial-volume water and fat "
        "(stored in 0.1 % steps; truth.json values use the unrounded map)"
    ),
}


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
    ct: CtRender | None = None,
    dixon: Any = None,
) -> None:
    """Truth for one series (or one Dixon set): label NIfTIs on the series grid and truth.json.

    ``ct`` carries the noise-free render and the contrast/kVp of a CT; ``dixon`` the Dixon images.
    """
    folder.mkdir(parents=True, exist_ok=True)
    volume = grid.volume(labels.tissue.astype(np.uint8))
    to_nifti(volume, folder / "tissue.nii.gz")
    to_nifti(volume.with_array(labels.vertebrae.astype(np.uint8)), folder / "vertebrae.nii.gz")
    to_nifti(volume.with_array(muscle_group_map(labels)), folder / "muscles.nii.gz")
    _write_json(folder / "tissue.labels.json", {str(k): v for k, v in labels.tissue_names.items()})
    _write_json(folder / "vertebrae.labels.json", {str(k): v for k, v in labels.vertebra_names.items()})
    _write_json(folder / "muscles.labels.json", {str(k): v for k, v in MUSCLE_GROUP_NAMES.items()})
    if dixon is not None:
        ff = np.round(np.asarray(dixon.fat_fraction_pct, dtype=np.float32), 1)  # 0.1 % steps: small file
        to_nifti(volume.with_array(ff), folder / "fat_fraction.nii.gz", dtype=np.float32)
    measured = truth_measurements(phantom, labels, grid, hu, dixon, ct=ct)
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
        "level_convention": "mid-vertebral (cranial of two equally central slices)",
        "definitions": DEFINITIONS,
        "levels": rounded(measured["levels"]),
    }
    _write_json(folder / "truth.json", truth)


def rounded(value: Any, digits: int = DIGITS) -> Any:
    """``value`` with every float rounded (nested dicts and lists), so truth.json stays readable."""
    if isinstance(value, float):
        return round(value, digits)
    if isinstance(value, dict):
        return {k: rounded(v, digits) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [rounded(v, digits) for v in value]
    return value


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
