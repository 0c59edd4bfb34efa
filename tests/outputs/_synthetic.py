"""A small synthetic CT series on disk, assembled by the real ingestion code, with label maps on its grid.

Shared by the output tests. The phantom is a 40x40-pixel slice stack (0.5 mm pixels, 2 mm slices):
a subcutaneous fat ring, a muscle block with a fat streak (IMAT), visceral fat and a bone block
labelled L2/L3. ``tilt_deg`` writes a gantry-tilted acquisition (slice k shifted along y), and
``duplicate_at`` adds a second instance with identical pixels at the position of that slice.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pydicom
from ingest._series_builder import slice_dataset, write_instances
from pydicom.uid import generate_uid

from imaging.ingest.assemble import assemble_volume
from imaging.segmentation.labels import TISSUE_NAMES, VERTEBRA_NAMES, LabelMap
from imaging.volume import Volume

N_SLICES = 8
SIZE = 40
SLICE_MM = 2.0
PIXEL_MM = 0.5


@dataclass(frozen=True)
class Case:
    volume: Volume
    datasets: list[pydicom.Dataset]
    tissue: LabelMap
    vertebrae: LabelMap


def _tissue_slice() -> np.ndarray:
    lab = np.zeros((SIZE, SIZE), dtype=np.uint8)
    lab[2:38, 2:38] = 3  # SAT ring (inner part overwritten below)
    lab[6:34, 6:34] = 6  # other soft tissue
    lab[8:20, 8:32] = 4  # VAT
    lab[22:32, 8:32] = 1  # muscle
    lab[26:28, 12:20] = 2  # IMAT streak
    lab[22:28, 18:24] = 5  # bone (vertebral body)
    return lab


def _hu_of(tissue: np.ndarray) -> np.ndarray:
    hu = np.full(tissue.shape, -1000, dtype=np.int16)
    for value, level in {1: 45, 2: -80, 3: -100, 4: -90, 5: 250, 6: 30}.items():
        hu[tissue == value] = level
    return hu


def make_case(folder: Path, *, tilt_deg: float = 0.0, duplicate_at: int | None = None) -> Case:
    """Write the series, assemble it with :func:`imaging.ingest.assemble.assemble_volume`."""
    tissue_2d = _tissue_slice()
    stored = (_hu_of(tissue_2d) + 1024).astype(np.int16)  # rescale intercept -1024
    uid = generate_uid()
    shift = SLICE_MM * math.tan(math.radians(tilt_deg))
    datasets = []
    for k in range(N_SLICES):
        position = (-10.0, -20.0 + k * shift, -100.0 + k * SLICE_MM)
        attrs = {
            "StudyInstanceUID": "1.2.826.0.1.3680043.8.498.77",
            "FrameOfReferenceUID": "1.2.826.0.1.3680043.8.498.78",
            "PatientName": "Doe^Jane",
            "PatientSex": "F",
            "StudyDate": "20240101",
        }
        if tilt_deg:
            attrs["GantryDetectorTilt"] = tilt_deg
        ds = slice_dataset(
            stored,
            position,
            pixel_spacing=(PIXEL_MM, PIXEL_MM),
            series_uid=uid,
            instance_number=k + 1,
            attrs=attrs,
        )
        datasets.append(ds)
    if duplicate_at is not None:
        twin = copy.deepcopy(datasets[duplicate_at])
        twin.SOPInstanceUID = generate_uid()
        twin.file_meta.MediaStorageSOPInstanceUID = twin.SOPInstanceUID
        twin.InstanceNumber = N_SLICES + 1
        datasets.append(twin)
    instances = write_instances(datasets, folder)
    volume = assemble_volume(instances, workers=1)
    n = volume.shape[0]
    tissue = np.repeat(tissue_2d[None], n, axis=0)
    vertebrae = np.zeros_like(tissue)
    body = tissue == 5
    l2 = next(v for v, name in VERTEBRA_NAMES.items() if name == "L2")
    l3 = next(v for v, name in VERTEBRA_NAMES.items() if name == "L3")
    vertebrae[:3][body[:3]] = l2
    vertebrae[3:][body[3:]] = l3
    headers = [inst.header for inst in instances]
    return Case(
        volume, headers, LabelMap(tissue, dict(TISSUE_NAMES)), LabelMap(vertebrae, dict(VERTEBRA_NAMES))
    )


def make_results(case: Case) -> dict:
    """A contract-shaped results dict for the case (numbers made up but plausible, two levels)."""
    vol = case.volume
    return {
        "schema_version": "1",
        "series": {
            "patient_id": "SYN1",
            "study_uid": vol.meta.study_uid,
            "series_uid": vol.meta.series_uid,
            "modality": "CT",
            "description": "synthetic",
            "n_slices": vol.shape[0],
            "spacing_mm": vol.spacing_xyz,
        },
        "subject": {
            "sex": "F",
            "age_years": 71.0,
            "height_m": 1.62,
            "height_source": "clinical",
            "weight_kg": 58.0,
            "bmi_kg_m2": 22.1,
        },
        "acquisition": {"contrast": "no", "kvp": 120.0, "kernel": "B30f"},
        "levels": {
            "L2": {
                "slice_index": 1,
                "z_mm": float(vol.slice_position_mm(1)),
                "muscle_area_cm2": 101.25,
                "muscle_hu_mean": 38.123456789,
                "imat_area_cm2": 4.5,
                "sat_area_cm2": 150.0,
                "vat_area_cm2": 80.25,
                "smi_cm2_m2": None,
                "trabecular_hu_mean": 180.5,
                "trabecular_hu_median": 178.0,
            },
            "L3": {
                "slice_index": 5,
                "z_mm": float(vol.slice_position_mm(5)),
                "muscle_area_cm2": 98.7654321,
                "muscle_hu_mean": 36.5,
                "imat_area_cm2": 5.25,
                "sat_area_cm2": 160.0,
                "vat_area_cm2": 90.0,
                "smi_cm2_m2": 37.634,
                "trabecular_hu_mean": 150.25,
                "trabecular_hu_median": None,
            },
        },
        "classification": {
            "CT_muscle_Derstine2018": {
                "status": "suspected",
                "stage": "low_skeletal_muscle_index",
                "evidence": [
                    {
                        "measure": "smi_cm2_m2",
                        "value": 37.634,
                        "threshold": 34.4,
                        "comparison": "<",
                        "unit": "cm²/m²",
                        "met": False,
                        "source": "Derstine 2018 (healthy 18-40 y, mean-2SD)",
                    }
                ],
                "source": "Derstine 2018 (healthy 18-40 y, mean-2SD)",
            }
        },
        "model": {"name": "bm-tissue-unet", "version": "0.3.1", "weights_sha256": "ab" * 32},
        "warnings": ["L2: SMI is reported at L3 only", "L3: trabecular median not computed: ROI too small"],
    }
