"""Round-trip tests of the phantom DICOM writers: headers, pixels, geometry and reproducibility."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pydicom
import pytest
from pydicom.uid import (
    CTImageStorage,
    ExplicitVRLittleEndian,
    JPEG2000Lossless,
    JPEGLSLossless,
    MRImageStorage,
    RLELossless,
    SecondaryCaptureImageStorage,
)

from imaging.volume import Volume
from phantoms.dicom_series import (
    SIGNED_ZERO,
    UNSIGNED_MINUS_1024,
    Contrast,
    CTAcquisition,
    Equipment,
    FileNaming,
    InstanceOrder,
    MRAcquisition,
    Patient,
    PixelEncoding,
    ScreenCapture,
    SeriesMeta,
    Study,
    derive_uid,
    plane_of_slice,
    write_ct_localizer,
    write_ct_series,
    write_mr_series,
    write_secondary_capture,
)

# Type 1 and type 2 attributes of the modules a CT / MR image IOD requires (PS3.3 A.3 / A.4).
COMMON_REQUIRED = (
    # Patient
    "PatientName",
    "PatientID",
    "PatientBirthDate",
    "PatientSex",
    # General Study
    "StudyInstanceUID",
    "StudyDate",
    "StudyTime",
    "ReferringPhysicianName",
    "StudyID",
    "AccessionNumber",
    # General Series
    "Modality",
    "SeriesInstanceUID",
    "SeriesNumber",
    # General Equipment
    "Manufacturer",
    # General Image
    "InstanceNumber",
    # Image Pixel
    "SamplesPerPixel",
    "PhotometricInterpretation",
    "Rows",
    "Columns",
    "BitsAllocated",
    "BitsStored",
    "HighBit",
    "PixelRepresentation",
    "PixelData",
    # SOP Common
    "SOPClassUID",
    "SOPInstanceUID",
)
IMAGE_PLANE_REQUIRED = ("PixelSpacing", "ImageOrientationPatient", "ImagePositionPatient", "SliceThickness")
FRAME_OF_REFERENCE_REQUIRED = ("FrameOfReferenceUID", "PositionReferenceIndicator")
CT_REQUIRED = ("ImageType", "RescaleIntercept", "RescaleSlope", "KVP", "AcquisitionNumber", "PatientPosition")
MR_REQUIRED = (
    "ImageType",
    "ScanningSequence",
    "SequenceVariant",
    "ScanOptions",
    "MRAcquisitionType",
    "RepetitionTime",
    "EchoTime",
    "EchoTrainLength",
    "PatientPosition",
)


def _meta(tag: str, *, height_m: float | None = 1.78, **kw: object) -> SeriesMeta:
    patient = Patient("BM999", "PHANTOM^TEST", "M", "19680301", 58, height_m, 82.0)
    study = Study(derive_uid("study", tag), "20261122", "101500", "CT ABDOMEN", "ACC1", "1")
    fields = {
        "patient": patient,
        "study": study,
        "equipment": Equipment("SIEMENS", "SOMATOM Force"),
        "series_uid": derive_uid("series", tag),
        "series_number": 3,
        "description": "Abdomen 3.0 Br40",
        "frame_of_reference_uid": derive_uid("for", tag),
        "series_time": "101612",
    }
    fields.update(kw)
    return SeriesMeta(**fields)  # type: ignore[arg-type]


def _affine(
    spacing=(3.0, 1.5, 1.25), origin=(-100.0, -80.0, -250.0), towards_head: bool = True
) -> np.ndarray:
    """Axial [slice,row,column] -> LPS affine: columns to patient left, rows to posterior."""
    dz, dy, dx = spacing
    aff = np.eye(4)
    aff[:3, 0] = [0.0, 0.0, dz if towards_head else -dz]
    aff[:3, 1] = [0.0, dy, 0.0]
    aff[:3, 2] = [dx, 0.0, 0.0]
    aff[:3, 3] = origin
    return aff


def _hu(shape=(6, 40, 36), seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    hu = rng.normal(40, 30, shape)
    hu[:, :3, :] = -1000
    hu[:, -2:, -2:] = 1800  # dense bone / metal-ish values stay exact
    return np.rint(hu).astype(np.int16)


def _read_all(folder: Path) -> list[pydicom.Dataset]:
    return [pydicom.dcmread(p) for p in sorted(folder.iterdir())]


def _assemble_by_position(datasets: list[pydicom.Dataset]) -> tuple[np.ndarray, np.ndarray]:
    """Independent check of geometry: sort by position along the normal and rebuild the affine."""
    iop = np.array([float(v) for v in datasets[0].ImageOrientationPatient])
    row_cos, col_cos = iop[:3], iop[3:]
    normal = np.cross(row_cos, col_cos)
    ordered = sorted(datasets, key=lambda d: float(np.array(d.ImagePositionPatient, dtype=float) @ normal))
    ipp = np.array([[float(v) for v in d.ImagePositionPatient] for d in ordered])
    dr, dc = (float(v) for v in ordered[0].PixelSpacing)
    aff = np.eye(4)
    aff[:3, 0] = (ipp[-1] - ipp[0]) / max(len(ordered) - 1, 1)
    aff[:3, 1] = col_cos * dr
    aff[:3, 2] = row_cos * dc
    aff[:3, 3] = ipp[0]
    array = np.stack([pydicom.pixels.apply_modality_lut(d.pixel_array, d) for d in ordered])
    return array, aff


@pytest.fixture
def strict_writing():
    """Make pydicom reject invalid element values while the writers run (VR length, character set...)."""
    old = pydicom.config.settings.writing_validation_mode
    pydicom.config.settings.writing_validation_mode = pydicom.config.RAISE
    yield
    pydicom.config.settings.writing_validation_mode = old


@pytest.mark.parametrize(
    ("syntax", "encoding"),
    [
        (ExplicitVRLittleEndian, UNSIGNED_MINUS_1024),
        (RLELossless, SIGNED_ZERO),
        (JPEGLSLossless, UNSIGNED_MINUS_1024),
        (JPEG2000Lossless, SIGNED_ZERO),
    ],
)
def test_ct_series_round_trips_pixels_and_geometry(tmp_path, strict_writing, syntax, encoding):
    hu = _hu()
    affine = _affine()
    paths = write_ct_series(
        hu,
        affine,
        tmp_path,
        meta=_meta("ct"),
        acquisition=CTAcquisition(kernel="Br40"),
        transfer_syntax=syntax,
        encoding=encoding,
    )
    assert len(paths) == hu.shape[0]
    datasets = _read_all(tmp_path)
    for ds in datasets:
        assert ds.file_meta.TransferSyntaxUID == syntax
        assert ds.SOPClassUID == CTImageStorage
        assert int(ds.PixelRepresentation) == int(encoding.signed)
        assert float(ds.RescaleIntercept) == encoding.intercept
        for keyword in (*COMMON_REQUIRED, *IMAGE_PLANE_REQUIRED, *FRAME_OF_REFERENCE_REQUIRED, *CT_REQUIRED):
            assert keyword in ds, keyword
    array, aff = _assemble_by_position(datasets)
    np.testing.assert_array_equal(array, hu)
    np.testing.assert_allclose(aff, affine, atol=1e-6)


def test_ct_header_facts(tmp_path):
    write_ct_series(
        _hu(),
        _affine(),
        tmp_path,
        meta=_meta("facts"),
        acquisition=CTAcquisition(kvp=100, kernel="Br64", contrast=Contrast()),
    )
    ds = _read_all(tmp_path)[0]
    assert list(ds.ImageType) == ["ORIGINAL", "PRIMARY", "AXIAL"]
    assert ds.PatientAge == "058Y"
    assert float(ds.PatientSize) == pytest.approx(1.78)
    assert float(ds.PatientWeight) == pytest.approx(82.0)
    assert float(ds.KVP) == 100
    assert ds.ConvolutionKernel == "Br64"
    assert ds.ContrastBolusAgent and ds.ContrastBolusRoute == "IV"
    assert int(ds.BitsStored) == 12  # -1024..3071 HU fit 12 bits unsigned
    z = [float(d.ImagePositionPatient[2]) for d in _read_all(tmp_path)]
    assert sorted(float(d.SliceLocation) for d in _read_all(tmp_path)) == sorted(z)


def test_patient_size_absent_when_height_unknown(tmp_path):
    write_ct_series(
        _hu(), _affine(), tmp_path, meta=_meta("noheight", height_m=None), acquisition=CTAcquisition()
    )
    ds = _read_all(tmp_path)[0]
    assert "PatientSize" not in ds
    assert "PatientWeight" in ds


@pytest.mark.parametrize("order", list(InstanceOrder))
def test_instance_numbers_and_file_names(tmp_path, order):
    hu = _hu(shape=(12, 8, 8))
    meta = _meta("order", instance_order=order, file_naming=FileNaming.NO_EXTENSION)
    write_ct_series(hu, _affine(towards_head=False), tmp_path, meta=meta, acquisition=CTAcquisition())
    names = sorted(p.name for p in tmp_path.iterdir())
    assert all("." not in n for n in names)
    datasets = _read_all(tmp_path)
    assert sorted(int(d.InstanceNumber) for d in datasets) == list(range(1, 13))
    by_number = sorted(datasets, key=lambda d: int(d.InstanceNumber))
    z_by_number = [float(d.ImagePositionPatient[2]) for d in by_number]
    if order is InstanceOrder.SCRAMBLED:
        assert z_by_number != sorted(z_by_number) and z_by_number != sorted(z_by_number, reverse=True)
    array, _ = _assemble_by_position(datasets)
    np.testing.assert_array_equal(array, hu[::-1])  # slices ran feet-ward; assembly sorts along +normal


def test_oblique_in_plane_geometry_round_trips(tmp_path):
    theta = np.deg2rad(20)
    rot = np.array([[np.cos(theta), -np.sin(theta), 0], [np.sin(theta), np.cos(theta), 0], [0, 0, 1]])
    affine = _affine()
    affine[:3, :3] = rot @ affine[:3, :3]
    write_ct_series(_hu(), affine, tmp_path, meta=_meta("oblique"), acquisition=CTAcquisition())
    _, aff = _assemble_by_position(_read_all(tmp_path))
    np.testing.assert_allclose(aff, affine, atol=1e-5)


def test_tilted_stack_is_refused():
    affine = _affine()
    affine[1, 0] = 0.5  # slice step leans in y: a gantry-tilt stack
    with pytest.raises(ValueError, match="perpendicular"):
        plane_of_slice(affine, 0)


def test_out_of_range_hu_is_refused():
    with pytest.raises(ValueError, match="does not fit"):
        PixelEncoding(signed=False, intercept=-1024).to_stored(np.array([-2000, 0]))


def test_mr_series_round_trip(tmp_path, strict_writing):
    rng = np.random.default_rng(3)
    image = rng.integers(0, 3000, size=(5, 16, 16)).astype(np.uint16)
    acq = MRAcquisition(image_type=("ORIGINAL", "PRIMARY", "M", "DIXON", "IN_PHASE"), echo_time_ms=4.6)
    write_mr_series(
        image,
        _affine(),
        tmp_path,
        meta=_meta("mr", patient_position="HFS"),
        acquisition=acq,
        transfer_syntax=RLELossless,
    )
    datasets = _read_all(tmp_path)
    for ds in datasets:
        assert ds.SOPClassUID == MRImageStorage
        for keyword in (*COMMON_REQUIRED, *IMAGE_PLANE_REQUIRED, *FRAME_OF_REFERENCE_REQUIRED, *MR_REQUIRED):
            assert keyword in ds, keyword
        assert float(ds.EchoTime) == 4.6
        assert float(ds.MagneticFieldStrength) == 1.5
        assert ds.ImageType[-1] == "IN_PHASE"
    array, aff = _assemble_by_position(datasets)
    np.testing.assert_array_equal(array, image)
    np.testing.assert_allclose(aff, _affine(), atol=1e-6)


def test_mr_refuses_negative_values(tmp_path):
    acq = MRAcquisition(image_type=("ORIGINAL", "PRIMARY", "M"), echo_time_ms=2.3)
    with pytest.raises(ValueError, match=r"0\.\.65535"):
        write_mr_series(-np.ones((2, 4, 4)), _affine(), tmp_path, meta=_meta("neg"), acquisition=acq)


def test_localizer_is_a_single_coronal_image(tmp_path):
    hu = np.full((20, 30, 40), -1000, dtype=np.int16)
    hu[:, 10:20, 5:35] = 0  # a 10-row (15 mm) slab of water
    path = write_ct_localizer(hu, _affine(), tmp_path, meta=_meta("loc"))
    ds = pydicom.dcmread(path)
    assert list(ds.ImageType) == ["ORIGINAL", "PRIMARY", "LOCALIZER"]
    assert [float(v) for v in ds.ImageOrientationPatient] == [1, 0, 0, 0, 0, -1]
    image = ds.pixel_array
    assert image.shape[1] == 40
    assert image.shape[0] == round(19 * 3.0 / 1.25) + 1  # square pixels over the scanned range
    assert image[:, 20].max() == pytest.approx(150, abs=1)  # 15 mm of water in 0.1 mm units
    assert image[:, 0].max() == 0
    top_z = -250.0 + 19 * 3.0
    assert float(ds.ImagePositionPatient[2]) == pytest.approx(top_z)


def test_secondary_capture_dose_page(tmp_path):
    capture = ScreenCapture(lines=("Dose Report", "Total DLP 512.3 mGy*cm"))
    path = write_secondary_capture(capture, tmp_path, meta=_meta("sc"), transfer_syntax=RLELossless)
    ds = pydicom.dcmread(path)
    assert ds.SOPClassUID == SecondaryCaptureImageStorage
    assert "FrameOfReferenceUID" not in ds
    assert ds.ConversionType == "WSD"
    page = ds.pixel_array
    assert page.shape == (480, 640) and page.max() > 0  # text was drawn


def test_writing_twice_is_byte_identical(tmp_path):
    for run in ("a", "b"):
        meta = _meta("repro", instance_order=InstanceOrder.SCRAMBLED)
        write_ct_series(
            _hu(),
            _affine(),
            tmp_path / run / "ct",
            meta=meta,
            acquisition=CTAcquisition(),
            transfer_syntax=JPEGLSLossless,
        )
        write_ct_localizer(_hu(), _affine(), tmp_path / run / "loc", meta=_meta("repro-loc"))
    files_a = sorted(p.relative_to(tmp_path / "a") for p in (tmp_path / "a").rglob("*") if p.is_file())
    files_b = sorted(p.relative_to(tmp_path / "b") for p in (tmp_path / "b").rglob("*") if p.is_file())
    assert files_a == files_b and files_a
    for rel in files_a:
        assert (tmp_path / "a" / rel).read_bytes() == (tmp_path / "b" / rel).read_bytes(), rel


def test_derive_uid_is_stable_and_valid():
    uid = derive_uid("BM001", "study", 1)
    assert uid == derive_uid("BM001", "study", 1)
    assert uid != derive_uid("BM001", "study", 2)
    assert uid.startswith("2.25.") and len(uid) <= 64
    assert pydicom.uid.UID(uid).is_valid


@pytest.mark.parametrize("syntax", [JPEGLSLossless, RLELossless, ExplicitVRLittleEndian])
def test_assembly_stage_recovers_volume_and_affine(tmp_path, syntax):
    """The project reader gives back exactly the array and affine we wrote (HU, slice order, geometry)."""
    from imaging.ingest.assemble import assemble_volume
    from imaging.ingest.model import Instance, Source

    hu = _hu()
    affine = _affine()
    meta = _meta("asm", instance_order=InstanceOrder.SCRAMBLED, file_naming=FileNaming.NO_EXTENSION)
    write_ct_series(hu, affine, tmp_path, meta=meta, acquisition=CTAcquisition(), transfer_syntax=syntax)
    instances = [
        Instance(Source(p), pydicom.dcmread(p, stop_before_pixels=True)) for p in sorted(tmp_path.iterdir())
    ]
    volume = assemble_volume(instances, workers=1)
    assert isinstance(volume, Volume)
    np.testing.assert_allclose(volume.affine, affine, atol=1e-5)
    np.testing.assert_array_equal(volume.array, hu)


def test_padding_outside_the_reconstruction_circle_is_flagged(tmp_path):
    hu = _hu()
    hu[:, 0, :] = -2048  # outside the field of view, as scanners fill it
    acquisition = CTAcquisition(pixel_padding_hu=-2048)
    write_ct_series(hu, _affine(), tmp_path, meta=_meta("pad"), acquisition=acquisition, encoding=SIGNED_ZERO)
    ds = _read_all(tmp_path)[0]
    assert int(ds.PixelPaddingValue) == -2048
    assert (ds.pixel_array[0] == -2048).all()
    with pytest.raises(ValueError, match="does not fit"):
        write_ct_series(hu, _affine(), tmp_path / "u", meta=_meta("pad"), acquisition=acquisition)
