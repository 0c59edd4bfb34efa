"""A tiny synthetic CT series on disk with exactly known tissue areas, HU and one vertebra (L3).

Grid: ``N_SLICES`` axial slices of 48x48 pixels, 1 mm pixels, 3 mm slices, slice k at z = 3k mm.
Every slice holds the same blocks (value = HU, label = contract tissue):

* SAT band rows 2-5 (-100 HU), muscle block rows 10-19 x cols 10-29 (50 HU) with an IMAT strip in its
  rows 10-11 (-80 HU), VAT block rows 22-25 x cols 2-9 (-100 HU);
* a vertebra (bone, 200 HU; label L3 on slices ``L3_SLICES``) rows 26-47 x cols 8-39: 22 x 32 mm,
  wide enough to survive the 6 mm body opening and to leave a trabecular ROI above the minimum area
  (anterior half, 5 mm inside the outline); the slices above carry L2 up to the last slice, so L2
  is cut by the edge of the scan.

So on any L3 slice: muscle 200 - 20 = 180 px = 1.80 cm², IMAT 0.20 cm², SAT 48*4 px = 1.92 cm², VAT
0.32 cm², muscle HU exactly 50, trabecular HU exactly 200.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from ingest.dicom_factory import make_dataset, write
from pydicom.uid import generate_uid

from imaging.segmentation.labels import TISSUE_NAMES, VERTEBRA_NAMES
from imaging.volume import Volume, to_nifti

N_SLICES = 16
SIZE = 48
SLICE_MM = 3.0
L3_SLICES = range(2, 12)
L2_SLICES = range(12, 16)
MUSCLE_CM2 = 1.80
IMAT_CM2 = 0.20
SAT_CM2 = 1.92
VAT_CM2 = 0.32
_T = {name: value for value, name in TISSUE_NAMES.items()}
_V = {name: value for value, name in VERTEBRA_NAMES.items()}


def tissue_plane() -> np.ndarray:
    lab = np.zeros((SIZE, SIZE), dtype=np.uint8)
    lab[2:6, :] = _T["sat"]
    lab[10:20, 10:30] = _T["skeletal_muscle"]
    lab[10:12, 10:20] = _T["imat"]
    lab[22:26, 2:10] = _T["vat"]
    lab[26:48, 8:40] = _T["bone"]
    return lab


def hu_plane() -> np.ndarray:
    hu = np.full((SIZE, SIZE), -1000, dtype=np.int16)
    lab = tissue_plane()
    for name, value in (("sat", -100), ("skeletal_muscle", 50), ("imat", -80), ("vat", -100), ("bone", 200)):
        hu[lab == _T[name]] = value
    return hu


def label_arrays(n_slices: int = N_SLICES) -> tuple[np.ndarray, np.ndarray]:
    """(tissue, vertebrae) arrays [slice, row, column] for the series."""
    tissue = np.repeat(tissue_plane()[None], n_slices, axis=0)
    vert = np.zeros_like(tissue)
    for k in range(n_slices):
        level = "L3" if k in L3_SLICES else "L2" if k in L2_SLICES else None
        if level:
            vert[k][tissue[k] == _T["bone"]] = _V[level]
    return tissue, vert


def write_series(
    folder: Path,
    *,
    n_slices: int = N_SLICES,
    patient_id: str = "SYN1",
    attrs: dict | None = None,
    study_uid: str | None = None,
) -> Path:
    """Write the CT series (one file per slice) into ``folder``; returns the folder."""
    study_uid = study_uid or generate_uid()
    series_uid = generate_uid()
    for k in range(n_slices):
        ds = make_dataset(
            patient_id=patient_id,
            study_uid=study_uid,
            series_uid=series_uid,
            position=(0.0, 0.0, k * SLICE_MM),
            pixel_spacing=(1.0, 1.0),
            slice_thickness=SLICE_MM,
            rows=SIZE,
            columns=SIZE,
            instance_number=k + 1,
            attrs={
                "PixelData": hu_plane().tobytes(),
                "PatientSex": "F",
                "PatientAge": "070Y",
                **(attrs or {}),
            },
        )
        write(ds, folder / f"IM{k:04d}.dcm")
    return folder


def write_labels(folder: Path, volume: Volume) -> tuple[Path, Path]:
    """tissue.nii.gz and vertebrae.nii.gz (+ .labels.json) on ``volume``'s grid."""
    folder.mkdir(parents=True, exist_ok=True)
    tissue, vert = label_arrays(volume.shape[0])
    paths = []
    for stem, array, names in (("tissue", tissue, TISSUE_NAMES), ("vertebrae", vert, VERTEBRA_NAMES)):
        path = folder / f"{stem}.nii.gz"
        to_nifti(volume.with_array(array), path)
        (folder / f"{stem}.labels.json").write_text(json.dumps({str(k): v for k, v in names.items()}))
        paths.append(path)
    return paths[0], paths[1]
