"""Conformance: our volumes against reference conversions of public DICOM test data.

Data: ../shared/data/conformance (see its MANIFEST.md); read in place, never copied. References are
dcm2niix (dcm_qa_*) and dicom2nifti ground truths. We compare real-world voxel values and world
geometry through both affines (after finding the axis permutation/flip between the grids), never raw
arrays.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from imaging.ingest.assemble import assemble_volume
from imaging.ingest.model import IngestError, Instance, Source

from ._reference import load_reference, max_corner_distance_mm, reference_on_our_grid

pytestmark = pytest.mark.shared

GEOMETRY_TOL_MM = 1e-3


def instances_in(path: Path) -> list[Instance]:
    files = sorted(p for p in path.iterdir() if p.suffix == ".dcm") if path.is_dir() else [path]
    return [Instance(Source(f), Source(f).read(stop_before_pixels=True)) for f in files]


@pytest.fixture(scope="module")
def conf(shared_data: Path) -> Path:
    return shared_data / "conformance"


def assert_matches(
    path: Path, ref: Path, volume_index: int | None = None, tol_mm: float = GEOMETRY_TOL_MM
) -> None:
    volume = assemble_volume(instances_in(path))
    data, ref_affine = load_reference(ref, volume_index)
    assert volume.array.size == data.size, f"{volume.shape} vs reference {data.shape}"
    assert max_corner_distance_mm(volume, ref_affine, data.shape) <= tol_mm
    expected = reference_on_our_grid(volume, data, ref_affine)
    np.testing.assert_allclose(volume.array.astype(np.float64), expected, rtol=1e-5, atol=1e-3)


# --- dcm_qa_ts: one Siemens mosaic in nine transfer syntaxes (dcm2niix references) -------------------


@pytest.mark.parametrize("n", range(1, 10))
def test_dcm_qa_transfer_syntaxes(conf: Path, n: int) -> None:
    """Explicit/implicit LE, big endian, RLE, JPEG lossless x2, JPEG-LS x2, JPEG 2000: same volume."""
    assert_matches(conf / "dcm_qa_ts" / "In" / f"{n}.dcm", conf / "dcm_qa_ts" / "Ref" / f"{n}.nii")


# --- dcm_qa_frag: 96 slices, one compressed frame split over several fragments -----------------------


@pytest.mark.parametrize("series", ["5001", "6001"])
def test_dcm_qa_fragmented_frames(conf: Path, series: str) -> None:
    """JPEG lossless (5001) and JPEG 2000 (6001) with fragmented frames.

    dcm2niix takes the slice spacing from the first two positions (2.000107 mm, rounding of the
    stored positions); we use first-to-last / (n-1) = 2.000001 mm, which puts the last of 96 slices
    on its stored ImagePositionPatient. The two grids therefore part by up to 95 x 0.000106 mm at the far end:
    the tolerance here is 0.011 mm, and test_positions_match_dicom_exactly checks ours at 1e-3 mm.
    """
    base = conf / "dcm_qa_frag"
    assert_matches(
        base / "In" / f"{series}_anat-T1w_acq-tfl",
        base / "Ref" / f"anat-T1w_acq-tfl_{series}.nii",
        tol_mm=0.011,
    )


def test_positions_match_dicom_exactly(conf: Path) -> None:
    """Every slice's ImagePositionPatient is a voxel centre of our grid (within 1e-3 mm)."""
    instances = instances_in(conf / "dcm_qa_frag" / "In" / "5001_anat-T1w_acq-tfl")
    volume = assemble_volume(instances)
    inv = np.linalg.inv(volume.affine)
    for inst in instances:
        ipp = np.array([float(v) for v in inst.header.ImagePositionPatient])
        kji = inv @ np.r_[ipp, 1.0]
        snapped = np.round(kji[:3])
        assert np.allclose(snapped[1:], 0)
        assert np.linalg.norm(volume.world(snapped)[0] - ipp) <= GEOMETRY_TOL_MM


# --- dcm_qa_enh: enhanced multi-frame MR ---------------------------------------------------------------


@pytest.mark.parametrize("t", range(4))
def test_dcm_qa_enhanced_siemens_each_time_point(conf: Path, t: int) -> None:
    """Siemens XA10: four files, one per time point (6 frames each); the reference is 4-D (64x64x6x4),
    so each file is compared with its volume of the reference."""
    base = conf / "dcm_qa_enh"
    assert_matches(
        base / "In" / "Siemens" / "XA10" / f"6_{t + 1}.dcm",
        base / "Ref" / "Siemens_REST1_w_SMS_PF7-8_6.nii",
        t,
    )


def test_dcm_qa_enhanced_siemens_series_is_4d_and_refused(conf: Path) -> None:
    """All four files together are a time series (same positions, TemporalPositionIndex differs)."""
    with pytest.raises(IngestError, match=r"4 different images .* TemporalPositionIndex"):
        assemble_volume(instances_in(conf / "dcm_qa_enh" / "In" / "Siemens" / "XA10"))


def test_dcm_qa_enhanced_philips_two_stacks_refused(conf: Path) -> None:
    """Philips B0 map: magnitude and field-map frames interleaved at the same 32 positions (dcm2niix
    splits them into _e1 and _e2_fieldmaphz). We refuse rather than guess which one the user wants."""
    with pytest.raises(IngestError, match=r"2 different images .*FrameType.*several stacks"):
        assemble_volume(instances_in(conf / "dcm_qa_enh" / "In" / "Philips"))


# --- dicom2nifti: generic encodings, enhanced and multi-frame ------------------------------------------

D2N_MATCHING = [
    "generic/anatomical/001",
    "generic/anatomical/001_implicit",
    "generic/anatomical/002_non_isotropic",  # per-slice RescaleSlope: float32 real-world values
    "generic/compressed/001",
    "generic/compressed_j2k/001",
    "generic/compressed_jpeg/001",
    "generic/compressed_jpegls/001",
    "generic/compressed_rle/001",
    "philips_enhanced/anatomical/001",
    "philips_enhanced/anatomical/001_implicit",
    "siemens_multiframe/anatomical/001",
    "hyperfine/anatomical/001",
]


@pytest.mark.parametrize("case", D2N_MATCHING)
def test_dicom2nifti_ground_truth(conf: Path, case: str) -> None:
    base = conf / "dicom2nifti" / case
    assert_matches(base, base.parent / f"{base.name}_ground_truth.nii.gz")


@pytest.mark.parametrize("case", ["philips_enhanced/dti/001", "philips_enhanced/fmri/001_implicit"])
def test_dicom2nifti_multi_stack_refused(conf: Path, case: str) -> None:
    """DTI (b-values) and fMRI (time points) are 4-D: several frames per position. Refused, naming what
    differs; the ground truths are 4-D and are not compared."""
    with pytest.raises(IngestError, match=r"different images .*(DiffusionBValue|TemporalPositionIndex)"):
        assemble_volume(instances_in(conf / "dicom2nifti" / case))


def test_dicom2nifti_rgb_refused(conf: Path) -> None:
    with pytest.raises(IngestError, match=r"colour image \(RGB"):
        assemble_volume(instances_in(conf / "dicom2nifti" / "generic" / "rgb" / "001"))


# --- dicom2nifti/failing: every case refused clearly or corrected explicitly ----------------------------


def test_failing_gantry_tilt_is_resampled(conf: Path) -> None:
    """Tilted CT (IOP tilted 14 deg, positions stepping along z): corrected by in-plane shifts.

    Each acquired slice k stays in its plane; its first voxel (ImagePositionPatient) must land on our
    grid at row offset k x shift. We check that the world position of acquired voxel (row 0, col 0) of
    slice k, moved by the recorded shift, is the DICOM position.
    """
    instances = instances_in(conf / "dicom2nifti" / "failing" / "gantrytilting" / "001")
    volume = assemble_volume(instances)
    assert volume.meta.corrections and "gantry tilt 14.00 deg" in volume.meta.corrections[0]
    assert volume.shape == (4, 512, 512)
    assert volume.array.dtype == np.float32
    ordered = sorted(
        instances,
        key=lambda i: float(
            np.array([float(v) for v in i.header.ImagePositionPatient]) @ volume.slice_normal
        ),
    )
    shift_rows, shift_cols = volume.meta.tilt_shift_px_per_slice
    assert abs(shift_rows) > 1 and shift_cols == 0  # tilt about the left-right axis
    inv = np.linalg.inv(volume.affine)
    for k, inst in enumerate(ordered):
        ipp = np.array([float(v) for v in inst.header.ImagePositionPatient])
        kji = (inv @ np.r_[ipp, 1.0])[:3]
        np.testing.assert_allclose(kji, [k, k * shift_rows, 0.0], atol=1e-4)
    # slice 0 needs no shift: its voxels are the acquired HU exactly
    raw0 = ordered[0].source.read().pixel_array.astype(np.float32) - 1024
    np.testing.assert_array_equal(volume.array[0], raw0)


def test_failing_not_a_volume_refused(conf: Path) -> None:
    with pytest.raises(IngestError, match=r"4 different images at z=61\.500 mm"):
        assemble_volume(instances_in(conf / "dicom2nifti" / "failing" / "notavolume" / "001"))


def test_failing_slice_count_two_slices_accepted(conf: Path) -> None:
    """Two parallel slices 1 mm apart are a valid (thin) volume; it matches dicom2nifti's ground truth."""
    base = conf / "dicom2nifti" / "failing" / "slicecount" / "001"
    assert_matches(base, base.parent / "001_ground_truth.nii.gz")


@pytest.mark.parametrize(
    ("case", "gap"),
    [
        ("001", r"z=28\.107 to z=38\.107 mm \(10\.000 mm\)"),
        ("002", r"z=-133\.749 to z=-132\.250 mm \(1\.499 mm\)"),
    ],
)
def test_failing_missing_slice_refused(conf: Path, case: str, gap: str) -> None:
    """001: 5 mm spacing with one 10 mm gap; 002: tilted 0.78 mm series missing one slice."""
    with pytest.raises(IngestError, match=rf"missing slice\(s\): gap {gap}"):
        assemble_volume(instances_in(conf / "dicom2nifti" / "failing" / "sliceincrement" / case))


def test_failing_mixed_orientation_refused(conf: Path) -> None:
    with pytest.raises(IngestError, match="slices are not parallel"):
        assemble_volume(instances_in(conf / "dicom2nifti" / "failing" / "sliceorientation" / "001"))
