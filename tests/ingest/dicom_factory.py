"""Build small synthetic DICOM instances for tests, so edge cases are made by editing headers.

Every instance is a valid, tiny image (8x8 pixels by default) written with pydicom. The API is three
functions, shared by the ingestion and CLI tests:

* :func:`make_dataset` returns a :class:`pydicom.Dataset` for one CT or MR slice; keyword arguments
  set geometry and identity, and ``**attrs`` overrides or adds any DICOM keyword
  (``attrs={"EchoTime": 2.3}``; a value of ``None`` deletes the element).
* :func:`write` saves a dataset to a path (optionally without the 128-byte preamble, as some
  archives store files).
* :func:`write_series` writes ``n`` slices of one series stacked along the slice normal and
  returns their paths.

UIDs are generated per call unless given, so two calls never collide by accident; pass
``study_uid``/``series_uid`` explicitly to put instances in the same series.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pydicom
from pydicom.dataset import FileMetaDataset
from pydicom.uid import CTImageStorage, ExplicitVRLittleEndian, MRImageStorage, generate_uid

AXIAL = (1.0, 0.0, 0.0, 0.0, 1.0, 0.0)
CORONAL = (1.0, 0.0, 0.0, 0.0, 0.0, -1.0)
SAGITTAL = (0.0, 1.0, 0.0, 0.0, 0.0, -1.0)

_SOP_CLASS = {"CT": CTImageStorage, "MR": MRImageStorage}


def make_dataset(
    *,
    modality: str = "CT",
    patient_id: str = "PAT1",
    study_uid: str | None = None,
    series_uid: str | None = None,
    sop_uid: str | None = None,
    position: Sequence[float] = (0.0, 0.0, 0.0),
    orientation: Sequence[float] = AXIAL,
    pixel_spacing: Sequence[float] = (0.8, 0.8),
    slice_thickness: float | None = 1.0,
    rows: int = 8,
    columns: int = 8,
    image_type: Sequence[str] = ("ORIGINAL", "PRIMARY", "AXIAL"),
    series_description: str = "Abdomen 1.0 B30f",
    series_number: int = 2,
    instance_number: int = 1,
    kernel: str | None = "B30f",
    with_pixels: bool = True,
    attrs: dict[str, Any] | None = None,
) -> pydicom.Dataset:
    """One CT or MR image slice with sensible defaults; ``attrs`` overrides any keyword (None deletes)."""
    ds = pydicom.Dataset()
    ds.file_meta = FileMetaDataset()
    sop_class = _SOP_CLASS.get(modality, "1.2.840.10008.5.1.4.1.1.7")  # others: secondary capture
    sop_uid = sop_uid or generate_uid()
    ds.file_meta.MediaStorageSOPClassUID = sop_class
    ds.file_meta.MediaStorageSOPInstanceUID = sop_uid
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian

    ds.SOPClassUID = sop_class
    ds.SOPInstanceUID = sop_uid
    ds.StudyInstanceUID = study_uid or generate_uid()
    ds.SeriesInstanceUID = series_uid or generate_uid()
    ds.FrameOfReferenceUID = "1.2.826.0.1.3680043.8.498.1"
    ds.PatientID = patient_id
    ds.PatientName = f"Test^{patient_id}"
    ds.Modality = modality
    ds.ImageType = list(image_type)
    ds.SeriesDescription = series_description
    ds.SeriesNumber = series_number
    ds.InstanceNumber = instance_number
    ds.StudyDate = "20240101"
    ds.ImagePositionPatient = [float(v) for v in position]
    ds.ImageOrientationPatient = [float(v) for v in orientation]
    ds.PixelSpacing = [float(v) for v in pixel_spacing]
    if slice_thickness is not None:
        ds.SliceThickness = slice_thickness
    if kernel is not None and modality == "CT":
        ds.ConvolutionKernel = kernel
    ds.Rows = rows
    ds.Columns = columns
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.BitsAllocated = 16
    ds.BitsStored = 16
    ds.HighBit = 15
    ds.PixelRepresentation = 1
    if modality == "CT":
        ds.RescaleIntercept = 0
        ds.RescaleSlope = 1
        ds.KVP = 120
    if with_pixels:
        pixels = np.arange(rows * columns, dtype=np.int16).reshape(rows, columns)
        ds.PixelData = pixels.tobytes()
    for keyword, value in (attrs or {}).items():
        if value is None:
            if keyword in ds:
                delattr(ds, keyword)
        else:
            setattr(ds, keyword, value)
    return ds


def write(ds: pydicom.Dataset, path: str | Path, *, preamble: bool = True) -> Path:
    """Save ``ds`` at ``path`` (parents created); ``preamble=False`` writes the bare dataset, no 'DICM'."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if preamble:
        ds.save_as(path, enforce_file_format=True)
    else:
        # Old archives: no preamble and no file meta, implicit VR little endian body only.
        bare = pydicom.Dataset()
        bare.update(ds)
        pydicom.dcmwrite(path, bare, implicit_vr=True, little_endian=True)
    return path


def write_series(
    folder: str | Path,
    n: int,
    *,
    spacing: float = 1.0,
    orientation: Sequence[float] = AXIAL,
    study_uid: str | None = None,
    series_uid: str | None = None,
    prefix: str = "IM",
    **kwargs: Any,
) -> list[Path]:
    """Write ``n`` slices of one series, ``spacing`` mm apart along the normal; returns the file paths."""
    study_uid = study_uid or generate_uid()
    series_uid = series_uid or generate_uid()
    row, col = np.asarray(orientation[:3], float), np.asarray(orientation[3:], float)
    normal = np.cross(row, col)
    paths = []
    for k in range(n):
        ds = make_dataset(
            study_uid=study_uid,
            series_uid=series_uid,
            orientation=orientation,
            position=tuple(float(v) for v in normal * k * spacing),
            instance_number=k + 1,
            **kwargs,
        )
        paths.append(write(ds, Path(folder) / f"{prefix}{k:04d}"))
    return paths
