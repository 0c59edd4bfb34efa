"""Write synthetic volumes as DICOM series that look like what scanners and archives hand us.

The phantoms exist to exercise the ingestion stage, so the writers reproduce the variety a real
reader meets: unsigned storage with a -1024 intercept next to signed storage, BitsStored 12 next
to 16, compressed and uncompressed transfer syntaxes, InstanceNumber that does not follow the
slice position, file names without an extension, and the non-image objects (localizer, dose screen
capture) that share a study with the volumes. Geometry is derived only from the Volume affine
(``imaging.volume``): arrays are ``[slice, row, column]`` and the affine maps those indices to LPS
millimetres, so a reader that assembles the files correctly recovers the same affine.

Everything is deterministic: UIDs come from :func:`derive_uid` and dates and times are fields of the
metadata, so writing twice gives byte-identical files.
"""

from __future__ import annotations

import enum
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pydicom
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import (
    UID,
    CTImageStorage,
    ExplicitVRLittleEndian,
    MRImageStorage,
    SecondaryCaptureImageStorage,
)

IMPLEMENTATION_CLASS_UID = "2.25.305828488182831875890203105390232292301"
IMPLEMENTATION_VERSION = "BONEMUSCLE_PH1"


def derive_uid(*parts: object) -> str:
    """A UID in the 2.25 (UUID-derived) arc, fixed by ``parts``: the same inputs always give the same UID.

    Samples must be byte-reproducible from a seed, so no UID may come from the clock or a random UUID.
    """
    digest = hashlib.sha256("|".join(str(p) for p in parts).encode()).digest()
    return f"2.25.{int.from_bytes(digest[:16], 'big')}"


class FileNaming(enum.Enum):
    """How instance files are named on disk (real archives often drop the ``.dcm`` extension)."""

    NUMBERED_DCM = "numbered_dcm"  # IM0001.dcm, IM0002.dcm, ...
    NO_EXTENSION = "no_extension"  # IM00001, IM00002, ... (DICOMDIR / PACS export style)

    def name_for(self, number: int) -> str:
        return f"IM{number:04d}.dcm" if self is FileNaming.NUMBERED_DCM else f"IM{number:05d}"


class InstanceOrder(enum.Enum):
    """How InstanceNumber relates to the slice index (readers must sort by position, never by number)."""

    ALONG_INDEX = "along_index"  # instance 1 = slice 0
    REVERSED = "reversed"  # instance 1 = last slice (head first numbering of a foot-to-head array)
    SCRAMBLED = "scrambled"  # a fixed permutation unrelated to position

    def numbers(self, n: int, key: str) -> list[int]:
        """InstanceNumber for each slice index 0..n-1."""
        if self is InstanceOrder.ALONG_INDEX:
            return list(range(1, n + 1))
        if self is InstanceOrder.REVERSED:
            return list(range(n, 0, -1))
        seed = int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big")
        perm = np.random.default_rng(seed).permutation(n)
        return [int(p) + 1 for p in perm]


@dataclass(frozen=True)
class Patient:
    """Patient module plus the Patient Study facts (age, size, weight) that SMI and BMI depend on."""

    patient_id: str
    name: str
    sex: str  # "M" | "F" | "O"
    birth_date: str  # YYYYMMDD
    age_years: int
    height_m: float | None  # None: PatientSize absent from the header (the reader must look elsewhere)
    weight_kg: float | None


@dataclass(frozen=True)
class Study:
    """General Study module values shared by every series of one study."""

    uid: str
    date: str  # YYYYMMDD
    time: str  # HHMMSS
    description: str
    accession_number: str
    study_id: str
    referring_physician: str = ""


@dataclass(frozen=True)
class Equipment:
    """General Equipment module; the vendor drives naming conventions readers have to recognise."""

    manufacturer: str
    model: str
    station_name: str = "PHANTOM01"
    institution: str = "Bonemuscle Synthetic Hospital"
    software_versions: str = "bonemuscle-phantom 1"
    device_serial_number: str = "0000"


@dataclass(frozen=True)
class SeriesMeta:
    """Everything that identifies one series; the SOP instance UIDs are derived from ``series_uid``."""

    patient: Patient
    study: Study
    equipment: Equipment
    series_uid: str
    series_number: int
    description: str
    frame_of_reference_uid: str
    series_time: str  # HHMMSS
    body_part: str = "ABDOMEN"
    patient_position: str = "FFS"
    file_naming: FileNaming = FileNaming.NUMBERED_DCM
    instance_order: InstanceOrder = InstanceOrder.ALONG_INDEX
    protocol_name: str = ""

    def sop_uid(self, index: int) -> str:
        return derive_uid(self.series_uid, "instance", index)


@dataclass(frozen=True)
class PixelEncoding:
    """How HU values become stored values: stored = HU - intercept (slope fixed at 1 so values stay exact)."""

    signed: bool
    intercept: int

    def to_stored(self, hu: np.ndarray) -> tuple[np.ndarray, int]:
        """Stored array and the smallest BitsStored (12 or 16) that holds it.

        Raises:
            ValueError: when the values do not fit the chosen representation.
        """
        stored = np.asarray(hu).astype(np.int32) - self.intercept
        lo, hi = int(stored.min()), int(stored.max())
        for bits in (12, 16):
            vmin, vmax = (-(2 ** (bits - 1)), 2 ** (bits - 1) - 1) if self.signed else (0, 2**bits - 1)
            if vmin <= lo and hi <= vmax:
                return stored.astype(np.int16 if self.signed else np.uint16), bits
        kind = "signed" if self.signed else "unsigned"
        raise ValueError(
            f"HU range {lo + self.intercept}..{hi + self.intercept} does not fit {kind} 16-bit storage with "
            f"intercept {self.intercept}; clip the volume or choose another PixelEncoding"
        )


UNSIGNED_MINUS_1024 = PixelEncoding(signed=False, intercept=-1024)
SIGNED_ZERO = PixelEncoding(signed=True, intercept=0)


@dataclass(frozen=True)
class Contrast:
    """Contrast/Bolus module values; present only on contrast-enhanced series."""

    agent: str = "Iohexol 350 mg I/ml"
    route: str = "IV"
    volume_ml: float = 100.0
    phase: str = "PORTAL VENOUS"


@dataclass(frozen=True)
class CTAcquisition:
    """CT Image module facts that measurements depend on (kVp and kernel shift HU, contrast more)."""

    kvp: float = 120.0
    kernel: str = "Br40"
    contrast: Contrast | None = None
    tube_current_ma: int = 220
    exposure_mas: int = 180
    ctdi_vol_mgy: float = 9.5
    slice_thickness_mm: float | None = None  # None: equal to the slice spacing
    image_type: tuple[str, ...] = ("ORIGINAL", "PRIMARY", "AXIAL")
    acquisition_number: int = 1
    pixel_padding_hu: int | None = None  # HU of pixels outside the reconstruction circle, if flagged


@dataclass(frozen=True)
class MRAcquisition:
    """MR Image module facts for one Dixon output (echo times tell in- from opposed-phase)."""

    image_type: tuple[str, ...]
    echo_time_ms: float
    field_strength_t: float = 1.5
    repetition_time_ms: float = 6.8
    flip_angle_deg: float = 10.0
    sequence_name: str = "*fl3d2"
    scanning_sequence: str = "GR"
    sequence_variant: tuple[str, ...] = ("SP",)
    scan_options: str = ""
    echo_number: int = 1
    slice_thickness_mm: float | None = None
    imaging_frequency_mhz: float | None = None


@dataclass(frozen=True)
class Plane:
    """Image Plane module values of one slice, derived from a Volume affine."""

    position: tuple[float, float, float]
    orientation: tuple[float, ...]
    pixel_spacing: tuple[float, float]  # (row spacing, column spacing) as DICOM orders them
    slice_location: float


def plane_of_slice(affine: np.ndarray, k: int) -> Plane:
    """Image Plane values of slice ``k``.

    The affine's row axis (column 1) is DICOM's column direction cosine and its column axis
    (column 2) is the row direction cosine; the slice step (column 0) must be perpendicular to both,
    because ImagePositionPatient of stacked slices cannot encode a tilted stack otherwise.

    Raises:
        ValueError: when the slice axis is not perpendicular to the image plane.
    """
    aff = np.asarray(affine, dtype=np.float64)
    slice_step, row_step, col_step = aff[:3, 0], aff[:3, 1], aff[:3, 2]
    row_cos = col_step / np.linalg.norm(col_step)  # direction of increasing column index
    col_cos = row_step / np.linalg.norm(row_step)  # direction of increasing row index
    normal = np.cross(row_cos, col_cos)
    step = float(np.linalg.norm(slice_step))
    if abs(abs(float(slice_step @ normal)) - step) > 1e-6 * step:
        raise ValueError("affine slice axis is not perpendicular to the image plane (tilted stack)")
    position = aff[:3, 3] + k * slice_step
    return Plane(
        position=tuple(float(v) for v in position),  # type: ignore[arg-type]
        orientation=tuple(float(v) for v in (*row_cos, *col_cos)),
        pixel_spacing=(float(np.linalg.norm(row_step)), float(np.linalg.norm(col_step))),
        slice_location=float(position @ normal),
    )


def ds_str(value: float) -> str:
    """Decimal String with at most 6 decimals and no '-0' (DS is limited to 16 characters)."""
    text = f"{value:.6f}".rstrip("0").rstrip(".")
    text = "0" if text in ("-0", "") else text
    if len(text) > 16:
        raise ValueError(f"{value} does not fit a DICOM DS (16 characters)")
    return text


def age_string(years: int) -> str:
    """PatientAge as DICOM writes it ("058Y")."""
    return f"{int(years):03d}Y"


def _base_dataset(meta: SeriesMeta, sop_class: str, index: int, modality: str) -> Dataset:
    """Patient, General Study, General Series, Frame of Reference, General Equipment and SOP Common."""
    p, s, e = meta.patient, meta.study, meta.equipment
    ds = Dataset()
    ds.SpecificCharacterSet = "ISO_IR 100"
    ds.SOPClassUID = sop_class
    ds.SOPInstanceUID = meta.sop_uid(index)
    ds.StudyDate = ds.SeriesDate = ds.AcquisitionDate = ds.ContentDate = s.date
    ds.StudyTime = s.time
    ds.SeriesTime = ds.AcquisitionTime = ds.ContentTime = meta.series_time
    ds.AccessionNumber = s.accession_number
    ds.Modality = modality
    ds.Manufacturer = e.manufacturer
    ds.InstitutionName = e.institution
    ds.ReferringPhysicianName = s.referring_physician
    ds.StationName = e.station_name
    ds.StudyDescription = s.description
    ds.SeriesDescription = meta.description
    ds.ManufacturerModelName = e.model
    ds.PatientName = p.name
    ds.PatientID = p.patient_id
    ds.PatientBirthDate = p.birth_date
    ds.PatientSex = p.sex
    ds.PatientAge = age_string(p.age_years)
    if p.height_m is not None:
        ds.PatientSize = ds_str(p.height_m)
    if p.weight_kg is not None:
        ds.PatientWeight = ds_str(p.weight_kg)
    ds.BodyPartExamined = meta.body_part
    ds.DeviceSerialNumber = e.device_serial_number
    ds.SoftwareVersions = e.software_versions
    if meta.protocol_name:
        ds.ProtocolName = meta.protocol_name
    ds.PatientPosition = meta.patient_position
    ds.StudyInstanceUID = s.uid
    ds.SeriesInstanceUID = meta.series_uid
    ds.StudyID = s.study_id
    ds.SeriesNumber = meta.series_number
    ds.FrameOfReferenceUID = meta.frame_of_reference_uid
    ds.PositionReferenceIndicator = ""
    ds.Laterality = ""
    return ds


def _set_plane(ds: Dataset, plane: Plane, thickness_mm: float, spacing_mm: float | None) -> None:
    ds.SliceThickness = ds_str(thickness_mm)
    if spacing_mm is not None:
        ds.SpacingBetweenSlices = ds_str(spacing_mm)
    ds.ImagePositionPatient = [ds_str(v) for v in plane.position]
    ds.ImageOrientationPatient = [ds_str(v) for v in plane.orientation]
    ds.SliceLocation = ds_str(plane.slice_location)
    ds.PixelSpacing = [ds_str(v) for v in plane.pixel_spacing]


def _set_pixels(ds: Dataset, stored: np.ndarray, bits_stored: int, transfer_syntax: UID) -> None:
    """Image Pixel module (monochrome) and the pixel data, compressed when the syntax asks for it."""
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.Rows, ds.Columns = (int(n) for n in stored.shape)
    ds.BitsAllocated = 16 if stored.dtype.itemsize == 2 else 8
    ds.BitsStored = bits_stored
    ds.HighBit = bits_stored - 1
    ds.PixelRepresentation = 1 if stored.dtype.kind == "i" else 0
    ds.file_meta = FileMetaDataset()
    ds.file_meta.ImplementationClassUID = IMPLEMENTATION_CLASS_UID
    ds.file_meta.ImplementationVersionName = IMPLEMENTATION_VERSION
    if transfer_syntax == ExplicitVRLittleEndian:
        ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
        ds.PixelData = np.ascontiguousarray(stored).astype(stored.dtype.newbyteorder("<")).tobytes()
    else:
        ds.compress(transfer_syntax, np.ascontiguousarray(stored), generate_instance_uid=False)


def _save(ds: Dataset, path: Path) -> Path:
    ds.file_meta.MediaStorageSOPClassUID = ds.SOPClassUID
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    ds.file_meta.ImplementationClassUID = IMPLEMENTATION_CLASS_UID
    ds.file_meta.ImplementationVersionName = IMPLEMENTATION_VERSION
    path.parent.mkdir(parents=True, exist_ok=True)
    ds.save_as(path, enforce_file_format=True)
    return path


def _check_stack(array: np.ndarray, affine: np.ndarray) -> None:
    if np.ndim(array) != 3:
        raise ValueError(f"expected a [slice, row, column] array, got shape {np.shape(array)}")
    if np.asarray(affine).shape != (4, 4):
        raise ValueError(f"expected a 4x4 affine, got shape {np.asarray(affine).shape}")


def write_ct_series(
    hu: np.ndarray,
    affine: np.ndarray,
    out_dir: str | Path,
    *,
    meta: SeriesMeta,
    acquisition: CTAcquisition,
    transfer_syntax: UID = ExplicitVRLittleEndian,
    encoding: PixelEncoding = UNSIGNED_MINUS_1024,
) -> list[Path]:
    """Write a HU volume ``[slice, row, column]`` as CT Image Storage instances, one file per slice.

    Returns the written paths in slice-index order.

    Raises:
        ValueError: when the array, affine or HU range cannot be represented (the message says which).
    """
    _check_stack(hu, affine)
    stored, bits = encoding.to_stored(hu)
    out_dir = Path(out_dir)
    n = stored.shape[0]
    numbers = meta.instance_order.numbers(n, meta.series_uid)
    spacing = float(np.linalg.norm(np.asarray(affine, dtype=np.float64)[:3, 0]))
    thickness = acquisition.slice_thickness_mm or spacing
    paths = []
    for k in range(n):
        ds = _base_dataset(meta, CTImageStorage, k, "CT")
        ds.ImageType = list(acquisition.image_type)
        ds.InstanceNumber = numbers[k]
        ds.AcquisitionNumber = acquisition.acquisition_number
        ds.PatientOrientation = ""
        _set_plane(ds, plane_of_slice(affine, k), thickness, spacing)
        ds.KVP = ds_str(acquisition.kvp)
        ds.ConvolutionKernel = acquisition.kernel
        ds.XRayTubeCurrent = acquisition.tube_current_ma
        ds.Exposure = acquisition.exposure_mas
        ds.CTDIvol = acquisition.ctdi_vol_mgy
        ds.ReconstructionDiameter = ds_str(float(stored.shape[2]) * float(np.linalg.norm(affine[:3, 2])))
        ds.RescaleIntercept = ds_str(encoding.intercept)
        ds.RescaleSlope = "1"
        ds.RescaleType = "HU"
        if acquisition.pixel_padding_hu is not None:
            ds.PixelPaddingValue = acquisition.pixel_padding_hu - encoding.intercept
        ds.WindowCenter, ds.WindowWidth = "40", "400"
        if acquisition.contrast is not None:
            c = acquisition.contrast
            ds.ContrastBolusAgent = c.agent
            ds.ContrastBolusRoute = c.route
            ds.ContrastBolusVolume = ds_str(c.volume_ml)
        _set_pixels(ds, stored[k], bits, transfer_syntax)
        paths.append(_save(ds, out_dir / meta.file_naming.name_for(numbers[k])))
    return paths


def write_mr_series(
    image: np.ndarray,
    affine: np.ndarray,
    out_dir: str | Path,
    *,
    meta: SeriesMeta,
    acquisition: MRAcquisition,
    transfer_syntax: UID = ExplicitVRLittleEndian,
) -> list[Path]:
    """Write a magnitude volume of non-negative integers (arbitrary units) as MR Image Storage instances.

    MR has no rescale to physical units, so the caller scales the four Dixon images with one common
    factor (fat fraction = F / (F + W) then survives storage).

    Raises:
        ValueError: for negative or non-integer-representable values, or a bad array/affine.
    """
    _check_stack(image, affine)
    values = np.asarray(image)
    if values.min() < 0 or values.max() > 65535:
        raise ValueError(f"MR values must lie in 0..65535, got {values.min()}..{values.max()}")
    stored = np.rint(values).astype(np.uint16)
    bits = 12 if stored.max() < 4096 else 16
    out_dir = Path(out_dir)
    n = stored.shape[0]
    numbers = meta.instance_order.numbers(n, meta.series_uid)
    spacing = float(np.linalg.norm(np.asarray(affine, dtype=np.float64)[:3, 0]))
    thickness = acquisition.slice_thickness_mm or spacing
    freq = acquisition.imaging_frequency_mhz or round(42.577478 * acquisition.field_strength_t, 6)
    paths = []
    for k in range(n):
        ds = _base_dataset(meta, MRImageStorage, k, "MR")
        ds.ImageType = list(acquisition.image_type)
        ds.InstanceNumber = numbers[k]
        ds.AcquisitionNumber = 1
        ds.PatientOrientation = ""
        ds.ScanningSequence = acquisition.scanning_sequence
        ds.SequenceVariant = list(acquisition.sequence_variant)
        ds.ScanOptions = acquisition.scan_options
        ds.MRAcquisitionType = "3D"
        ds.SequenceName = acquisition.sequence_name
        ds.RepetitionTime = ds_str(acquisition.repetition_time_ms)
        ds.EchoTime = ds_str(acquisition.echo_time_ms)
        ds.EchoNumbers = acquisition.echo_number
        ds.EchoTrainLength = 2
        ds.ImagingFrequency = ds_str(freq)
        ds.ImagedNucleus = "1H"
        ds.MagneticFieldStrength = ds_str(acquisition.field_strength_t)
        ds.FlipAngle = ds_str(acquisition.flip_angle_deg)
        _set_plane(ds, plane_of_slice(affine, k), thickness, spacing)
        _set_pixels(ds, stored[k], bits, transfer_syntax)
        paths.append(_save(ds, out_dir / meta.file_naming.name_for(numbers[k])))
    return paths


def write_ct_localizer(
    hu: np.ndarray,
    affine: np.ndarray,
    out_dir: str | Path,
    *,
    meta: SeriesMeta,
    kvp: float = 120.0,
    transfer_syntax: UID = ExplicitVRLittleEndian,
) -> Path:
    """Write a coronal projection ("scout") of an axial HU volume as a single CT LOCALIZER image.

    The projection integrates attenuation along the patient's anterior-posterior axis (water-equivalent
    path length in 0.1 mm), with square pixels at the volume's column spacing, head at the top.

    Raises:
        ValueError: when the volume is not axial (its rows must run along the patient's A-P axis).
    """
    _check_stack(hu, affine)
    aff = np.asarray(affine, dtype=np.float64)
    row_dir = aff[:3, 1] / np.linalg.norm(aff[:3, 1])
    if abs(abs(row_dir[1]) - 1.0) > 1e-6 or abs(abs(aff[:3, 0][2]) - np.linalg.norm(aff[:3, 0])) > 1e-6:
        raise ValueError("localizer needs an axial volume (rows along A-P, slices along S-I)")
    row_mm, col_mm = np.linalg.norm(aff[:3, 1]), np.linalg.norm(aff[:3, 2])
    mu = np.clip((np.asarray(hu, dtype=np.float64) + 1000.0) / 1000.0, 0.0, None)
    path_01mm = mu.sum(axis=1) * row_mm * 10.0  # [slice, column]
    if aff[2, 0] > 0:  # slice index increases towards the head: flip so that row 0 is the head end
        path_01mm = path_01mm[::-1]
    step_z = float(np.linalg.norm(aff[:3, 0]))
    rows = round((path_01mm.shape[0] - 1) * step_z / col_mm) + 1
    source_k = np.arange(rows) * col_mm / step_z  # fractional slice index of each localizer row
    image = np.stack([np.interp(source_k, np.arange(path_01mm.shape[0]), c) for c in path_01mm.T], axis=1)
    stored = np.clip(np.rint(image), 0, 65535).astype(np.uint16)
    top_z = float(max(aff[2, 3], aff[2, 3] + (hu.shape[0] - 1) * aff[2, 0]))
    centre_y = float(aff[1, 3] + aff[1, 1] * (hu.shape[1] - 1) / 2.0)
    col_dir = aff[:3, 2] / col_mm
    loc_affine = np.eye(4)
    loc_affine[:3, 0] = [0.0, 1.0, 0.0]
    loc_affine[:3, 1] = [0.0, 0.0, -col_mm]
    loc_affine[:3, 2] = col_dir * col_mm
    loc_affine[:3, 3] = [aff[0, 3], centre_y, top_z]
    plane = plane_of_slice(loc_affine, 0)
    ds = _base_dataset(meta, CTImageStorage, 0, "CT")
    ds.ImageType = ["ORIGINAL", "PRIMARY", "LOCALIZER"]
    ds.InstanceNumber = 1
    ds.AcquisitionNumber = 1
    ds.PatientOrientation = ["L", "F"]
    _set_plane(ds, plane, thickness_mm=1.0, spacing_mm=None)
    ds.KVP = ds_str(kvp)
    ds.ConvolutionKernel = "STANDARD"
    ds.RescaleIntercept, ds.RescaleSlope, ds.RescaleType = "0", "1", "US"
    bits = 12 if stored.max() < 4096 else 16
    _set_pixels(ds, stored, bits, transfer_syntax)
    return _save(ds, Path(out_dir) / meta.file_naming.name_for(1))


def render_text_page(lines: Sequence[str], size: tuple[int, int] = (640, 480)) -> np.ndarray:
    """Grey-level screen capture of a text page (uint8, rows x columns), as scanners save dose pages."""
    from PIL import Image, ImageDraw, ImageFont

    img = Image.new("L", size, color=0)
    draw = ImageDraw.Draw(img)
    font = ImageFont.load_default()
    y = 16
    for line in lines:
        draw.text((16, y), line, fill=230, font=font)
        y += 18
    return np.asarray(img, dtype=np.uint8)


@dataclass(frozen=True)
class ScreenCapture:
    """Secondary Capture facts: what the page is and how it was converted."""

    lines: tuple[str, ...]
    image_type: tuple[str, ...] = ("DERIVED", "SECONDARY", "SCREEN SAVE")
    conversion_type: str = "WSD"
    modality: str = "CT"
    size: tuple[int, int] = field(default=(640, 480))


def write_secondary_capture(
    capture: ScreenCapture,
    out_dir: str | Path,
    *,
    meta: SeriesMeta,
    transfer_syntax: UID = ExplicitVRLittleEndian,
) -> Path:
    """Write a text page (e.g. a CT dose report) as a single-frame Secondary Capture Image."""
    page = render_text_page(capture.lines, capture.size)
    ds = _base_dataset(meta, SecondaryCaptureImageStorage, 0, capture.modality)
    for keyword in ("FrameOfReferenceUID", "PositionReferenceIndicator"):
        delattr(ds, keyword)  # SC images have no Frame of Reference module
    ds.ImageType = list(capture.image_type)
    ds.ConversionType = capture.conversion_type
    ds.InstanceNumber = 1
    ds.PatientOrientation = ""
    ds.BurnedInAnnotation = "YES"
    _set_pixels(ds, page, 8, transfer_syntax)
    return _save(ds, Path(out_dir) / meta.file_naming.name_for(1))


def read_series_headers(folder: str | Path) -> list[pydicom.Dataset]:
    """All instances of one written series folder, sorted by InstanceNumber (a test and script helper)."""
    datasets = [pydicom.dcmread(p) for p in sorted(Path(folder).iterdir()) if p.is_file()]
    return sorted(datasets, key=lambda d: int(d.InstanceNumber))
