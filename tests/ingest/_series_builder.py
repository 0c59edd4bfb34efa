"""Write small synthetic single-frame series with pydicom, pixel values and geometry under test control.

Separate from tests/ingest/dicom_factory.py (header-level fixtures for discovery/indexing): the
assembly tests need exact control of stored pixels (bit depth, sign, garbage bits, endianness) and
of each slice's position, so this builder takes the stored array and the positions directly.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pydicom
from pydicom.dataset import FileMetaDataset
from pydicom.uid import CTImageStorage, ExplicitVRBigEndian, ExplicitVRLittleEndian, generate_uid

from imaging.ingest.model import Instance, Source

AXIAL = (1.0, 0.0, 0.0, 0.0, 1.0, 0.0)


def slice_dataset(
    stored: np.ndarray,
    position: Sequence[float],
    *,
    orientation: Sequence[float] = AXIAL,
    pixel_spacing: Sequence[float] = (0.5, 0.5),
    series_uid: str,
    instance_number: int = 1,
    bits_stored: int | None = None,
    signed: bool = True,
    rescale: tuple[float, float] | None = (1.0, -1024.0),
    big_endian: bool = False,
    attrs: dict[str, Any] | None = None,
) -> pydicom.Dataset:
    """One CT slice whose PixelData is exactly ``stored`` (uint16/int16 array, raw bits as given)."""
    ds = pydicom.Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.MediaStorageSOPClassUID = CTImageStorage
    ds.SOPInstanceUID = generate_uid()
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    ds.file_meta.TransferSyntaxUID = ExplicitVRBigEndian if big_endian else ExplicitVRLittleEndian
    ds.SOPClassUID = CTImageStorage
    ds.Modality = "CT"
    ds.PatientID = "SYN1"
    ds.StudyInstanceUID = "1.2.826.0.1.3680043.8.498.1"
    ds.SeriesInstanceUID = series_uid
    ds.SeriesDescription = "synthetic"
    ds.InstanceNumber = instance_number
    ds.ImagePositionPatient = [f"{v:.6f}" for v in position]
    ds.ImageOrientationPatient = [f"{v:.8f}" for v in orientation]
    ds.PixelSpacing = [f"{v:.6f}" for v in pixel_spacing]
    ds.SliceThickness = "1.0"
    ds.Rows, ds.Columns = stored.shape
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.BitsAllocated = 16
    ds.BitsStored = bits_stored or 16
    ds.HighBit = ds.BitsStored - 1
    ds.PixelRepresentation = 1 if signed else 0
    if rescale is not None:
        ds.RescaleSlope, ds.RescaleIntercept = f"{rescale[0]:g}", f"{rescale[1]:g}"
    raw = stored.astype(np.int16 if signed else np.uint16)
    ds.PixelData = raw.astype(raw.dtype.newbyteorder(">" if big_endian else "<")).tobytes()
    for key, value in (attrs or {}).items():
        if value is None:
            delattr(ds, key)
        else:
            setattr(ds, key, value)
    return ds


def write_instances(
    datasets: Sequence[pydicom.Dataset], folder: Path, names: Sequence[str] | None = None
) -> list[Instance]:
    """Save datasets and return them as Instances (headers re-read from disk, as discovery would)."""
    folder.mkdir(parents=True, exist_ok=True)
    instances = []
    for i, ds in enumerate(datasets):
        path = folder / (names[i] if names else f"{i:04d}.dcm")
        big = ds.file_meta.TransferSyntaxUID == ExplicitVRBigEndian
        pydicom.dcmwrite(path, ds, enforce_file_format=True, little_endian=not big, implicit_vr=False)
        instances.append(Instance(Source(path), Source(path).read(stop_before_pixels=True)))
    return instances


def axial_series(
    folder: Path,
    stored: np.ndarray,
    z_positions: Sequence[float],
    *,
    origin_xy: tuple[float, float] = (-10.0, -20.0),
    **kwargs: Any,
) -> list[Instance]:
    """Axial slices ``stored[k]`` at ``z_positions[k]`` in one new series, files named in input order."""
    uid = generate_uid()
    datasets = [
        slice_dataset(
            stored[k], (origin_xy[0], origin_xy[1], z), series_uid=uid, instance_number=k + 1, **kwargs
        )
        for k, z in enumerate(z_positions)
    ]
    return write_instances(datasets, folder)
