"""assemble_volume on synthetic series written with pydicom: ordering, duplicates, gaps, tilt,
single slices, oblique planes, bit depths and endianness, rescale and output types."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest
from pydicom.uid import generate_uid

from imaging.ingest.assemble import assemble_volume
from imaging.ingest.model import IngestError

from ._series_builder import axial_series, slice_dataset, write_instances


def ramp(n: int, rows: int = 6, cols: int = 5) -> np.ndarray:
    """Stored values unique per voxel, slice k starting at 1000 + 100 k (so order errors show)."""
    base = np.arange(rows * cols).reshape(rows, cols)
    return np.stack([1000 + 100 * k + base for k in range(n)]).astype(np.int16)


def test_order_by_position_not_instance_number_or_file_name(tmp_path: Path) -> None:
    stored = ramp(8)
    z = [-50.0 + 2.5 * k for k in range(8)]
    uid = generate_uid()
    perm = list(range(8))
    random.Random(4).shuffle(perm)
    datasets = [
        slice_dataset(stored[k], (-10, -20, z[k]), series_uid=uid, instance_number=perm[k] + 1)
        for k in range(8)
    ]
    names = [f"{perm[k]:02d}.dcm" for k in range(8)]
    shuffled = write_instances(datasets, tmp_path, names)
    random.Random(7).shuffle(shuffled)
    volume = assemble_volume(shuffled)
    np.testing.assert_array_equal(volume.array, stored.astype(np.int32) - 1024)
    assert volume.array.dtype == np.int16
    np.testing.assert_allclose(volume.affine[:3, 3], [-10, -20, -50])
    np.testing.assert_allclose(volume.spacing_xyz, [0.5, 0.5, 2.5])


def test_descending_positions_give_the_same_volume(tmp_path: Path) -> None:
    stored = ramp(5)
    z = [10.0, 8.0, 6.0, 4.0, 2.0]  # InstanceNumber 1 is the top slice
    volume = assemble_volume(axial_series(tmp_path, stored, z))
    np.testing.assert_array_equal(volume.array, stored[::-1].astype(np.int32) - 1024)
    assert volume.affine[2, 3] == pytest.approx(2.0)
    assert volume.slice_normal @ [0, 0, 1] == pytest.approx(1.0)


def test_identical_duplicate_is_dropped_with_warning(tmp_path: Path) -> None:
    stored = ramp(4)
    z = [0.0, 1.0, 2.0, 3.0]
    instances = axial_series(tmp_path / "a", stored, z)
    again = axial_series(tmp_path / "b", stored[2:3], [2.0])  # same pixels, same position, another file
    volume = assemble_volume([*instances, *again])
    assert volume.shape[0] == 4
    assert any("duplicate" in w for w in volume.meta.warnings)


def test_different_images_at_one_position_are_refused(tmp_path: Path) -> None:
    stored = ramp(4)
    instances = axial_series(tmp_path / "a", stored, [0.0, 1.0, 2.0, 3.0])
    other = axial_series(tmp_path / "b", stored[:1] + 7, [2.0])
    with pytest.raises(IngestError, match=r"2 different images at z=2\.000 mm"):
        assemble_volume([*instances, *other])


def test_missing_slice_is_refused_with_positions(tmp_path: Path) -> None:
    z = [0.0, 3.0, 6.0, 12.0, 15.0]
    with pytest.raises(IngestError, match=r"missing slice.*z=6\.000 to z=12\.000 mm"):
        assemble_volume(axial_series(tmp_path, ramp(5), z))


def test_small_spacing_jitter_is_accepted_with_warning(tmp_path: Path) -> None:
    z = [0.0, 2.004, 4.0, 5.997, 8.0]  # < 1 % of 2 mm
    volume = assemble_volume(axial_series(tmp_path, ramp(5), z))
    assert volume.spacing_kji[0] == pytest.approx(2.0)
    assert any("spacing varies" in w for w in volume.meta.warnings)


def test_irregular_spacing_is_refused(tmp_path: Path) -> None:
    z = [0.0, 2.0, 4.0, 6.5, 8.5]  # 2.5 mm step: not a gap, not rounding
    with pytest.raises(IngestError, match="irregular slice spacing"):
        assemble_volume(axial_series(tmp_path, ramp(5), z))


def test_non_parallel_slice_is_refused(tmp_path: Path) -> None:
    uid = generate_uid()
    stored = ramp(3)
    datasets = [slice_dataset(stored[k], (0, 0, 2.0 * k), series_uid=uid) for k in range(3)]
    datasets[1].ImageOrientationPatient = ["1", "0", "0", "0", "0", "-1"]  # a coronal image in an axial stack
    with pytest.raises(IngestError, match="not parallel"):
        assemble_volume(write_instances(datasets, tmp_path))


def sphere_stored(
    plane_origin: np.ndarray, row_dir: np.ndarray, col_dir: np.ndarray, centre: np.ndarray
) -> np.ndarray:
    """Stored values of one 64x64, 1 mm slice: 1124 (100 HU) inside a 12 mm sphere, 1024 (0 HU) outside."""
    j, i = np.mgrid[0:64, 0:64]
    world = plane_origin + i[..., None] * row_dir + j[..., None] * col_dir
    inside = np.linalg.norm(world - centre, axis=-1) <= 12.0
    return np.where(inside, 1124, 1024).astype(np.int16)


def test_gantry_tilt_is_resampled_so_a_sphere_stays_at_its_world_position(tmp_path: Path) -> None:
    """CT tilted 20 deg: planes tilted, table positions stepping along z only (a sheared stack)."""
    tilt = np.radians(20.0)
    row_dir = np.array([1.0, 0.0, 0.0])
    col_dir = np.array([0.0, np.cos(tilt), -np.sin(tilt)])
    centre = np.array([30.0, 25.0, 20.0])
    uid = generate_uid()
    datasets = []
    for k in range(24):
        origin = np.array([0.0, 0.0, 2.0 * k])
        stored = sphere_stored(origin, row_dir, col_dir, centre)
        datasets.append(
            slice_dataset(
                stored, origin, orientation=(*row_dir, *col_dir), pixel_spacing=(1, 1), series_uid=uid
            )
        )
    volume = assemble_volume(write_instances(datasets, tmp_path))
    assert volume.meta.corrections and "gantry tilt 20.00 deg" in volume.meta.corrections[0]
    assert volume.meta.tilt_deg == pytest.approx(20.0, abs=1e-3)
    # the corrected grid is orthogonal
    axes = volume.affine[:3, :3] / volume.spacing_kji
    np.testing.assert_allclose(axes.T @ axes, np.eye(3), atol=1e-9)
    inside = np.argwhere(volume.array > 50)
    weights = volume.array[volume.array > 50].astype(np.float64)
    centroid = (volume.world(inside) * weights[:, None]).sum(axis=0) / weights.sum()
    np.testing.assert_allclose(centroid, centre, atol=0.5)
    # without the shear correction the sphere's centre would be several mm away
    assert abs(volume.meta.tilt_shift_px_per_slice[0]) * 10 > 5


def test_single_slice_uses_spacing_between_slices_then_thickness(tmp_path: Path) -> None:
    uid = generate_uid()
    with_sbs = slice_dataset(ramp(1)[0], (0, 0, 40), series_uid=uid, attrs={"SpacingBetweenSlices": "3.0"})
    volume = assemble_volume(write_instances([with_sbs], tmp_path / "a"))
    assert volume.shape[0] == 1 and volume.spacing_kji[0] == pytest.approx(3.0)
    assert volume.meta.slice_spacing_source == "SpacingBetweenSlices"
    assert abs(np.linalg.det(volume.affine)) > 0
    only_thickness = slice_dataset(ramp(1)[0], (0, 0, 40), series_uid=uid, attrs={"SliceThickness": "5.0"})
    volume = assemble_volume(write_instances([only_thickness], tmp_path / "b"))
    assert volume.spacing_kji[0] == pytest.approx(5.0)
    assert volume.meta.slice_spacing_source == "SliceThickness"
    neither = slice_dataset(ramp(1)[0], (0, 0, 40), series_uid=uid, attrs={"SliceThickness": None})
    with pytest.raises(IngestError, match="single slice without SpacingBetweenSlices or SliceThickness"):
        assemble_volume(write_instances([neither], tmp_path / "c"))


def test_oblique_orientation_affine(tmp_path: Path) -> None:
    a = np.radians(30.0)
    row_dir = np.array([np.cos(a), np.sin(a), 0.0])
    col_dir = np.array([0.0, 0.0, -1.0])
    normal = np.cross(row_dir, col_dir)
    uid = generate_uid()
    origin = np.array([5.0, -7.0, 30.0])
    stored = ramp(4)
    datasets = [
        slice_dataset(
            stored[k],
            origin + 1.5 * k * normal,
            orientation=(*row_dir, *col_dir),
            pixel_spacing=(0.7, 0.9),
            series_uid=uid,
        )
        for k in (3, 1, 0, 2)
    ]
    volume = assemble_volume(write_instances(datasets, tmp_path))
    np.testing.assert_allclose(volume.affine[:3, 0], 1.5 * normal, atol=1e-5)
    np.testing.assert_allclose(volume.affine[:3, 1], 0.7 * col_dir, atol=1e-6)
    np.testing.assert_allclose(volume.affine[:3, 2], 0.9 * row_dir, atol=1e-6)
    np.testing.assert_allclose(volume.affine[:3, 3], origin, atol=1e-5)
    np.testing.assert_array_equal(volume.array, stored.astype(np.int32) - 1024)


def test_12_bit_unsigned_with_garbage_high_bits(tmp_path: Path) -> None:
    values = np.array([[0, 1, 4095], [2048, 100, 7]], dtype=np.uint16)
    garbage = values | np.uint16(0xA000)  # overlay bits above BitsStored
    volume = assemble_volume(
        axial_series(tmp_path, np.stack([garbage, garbage]), [0, 1], bits_stored=12, signed=False)
    )
    np.testing.assert_array_equal(volume.array[0], values.astype(np.int32) - 1024)


def test_12_bit_signed_is_sign_extended(tmp_path: Path) -> None:
    values = np.array([[-2048, -1, 0], [2047, -5, 3]])
    twelve_bit = (values & 0xFFF) | 0x5000  # two's complement in 12 bits, garbage above
    stored = np.stack([twelve_bit] * 2).astype(np.uint16).view(np.int16)
    volume = assemble_volume(
        axial_series(tmp_path, stored, [0, 1], bits_stored=12, signed=True, rescale=None)
    )
    np.testing.assert_array_equal(volume.array[1], values)


def test_big_endian_matches_little_endian(tmp_path: Path) -> None:
    stored = ramp(3)
    little = assemble_volume(axial_series(tmp_path / "le", stored, [0, 1, 2]))
    big = assemble_volume(axial_series(tmp_path / "be", stored, [0, 1, 2], big_endian=True))
    np.testing.assert_array_equal(big.array, little.array)
    np.testing.assert_array_equal(little.array, stored.astype(np.int32) - 1024)


def test_fractional_rescale_gives_float32_real_values(tmp_path: Path) -> None:
    stored = ramp(2)
    volume = assemble_volume(axial_series(tmp_path, stored, [0, 1], rescale=(0.5, -1000.5)))
    assert volume.array.dtype == np.float32
    np.testing.assert_allclose(volume.array, stored * 0.5 - 1000.5)


def test_wide_integer_range_narrowed_when_values_fit(tmp_path: Path) -> None:
    """16-bit unsigned with intercept could exceed int16 in principle; the actual values fit."""
    stored = ramp(2).astype(np.uint16)
    volume = assemble_volume(axial_series(tmp_path, stored, [0, 1], signed=False))
    assert volume.array.dtype == np.int16
    large = np.full((2, 3, 3), 60000, dtype=np.uint16)
    wide = assemble_volume(axial_series(tmp_path / "w", large, [0, 1], signed=False, rescale=(1, 0)))
    assert wide.array.dtype == np.float32 and float(wide.array.max()) == 60000.0


def test_colour_image_is_refused(tmp_path: Path) -> None:
    ds = slice_dataset(
        ramp(1)[0], (0, 0, 0), series_uid=generate_uid(), attrs={"PhotometricInterpretation": "RGB"}
    )
    with pytest.raises(IngestError, match="colour image"):
        assemble_volume(write_instances([ds], tmp_path))


def test_padding_value_is_counted_and_kept(tmp_path: Path) -> None:
    stored = ramp(2)
    stored[:, 0, 0] = -2000
    volume = assemble_volume(axial_series(tmp_path, stored, [0, 1], attrs={"PixelPaddingValue": -2000}))
    assert volume.meta.padding == {"stored_value": -2000, "voxels": 2}
    assert volume.array[0, 0, 0] == -3024  # the file's value, not an invented one


def test_truncated_pixel_data_names_the_file(tmp_path: Path) -> None:
    ds = slice_dataset(ramp(1)[0], (0, 0, 0), series_uid=generate_uid(), attrs={"SpacingBetweenSlices": "1"})
    ds.PixelData = ds.PixelData[:10]
    instances = write_instances([ds], tmp_path)
    with pytest.raises(IngestError, match=r"0000\.dcm.*truncated"):
        assemble_volume(instances)


def test_meta_records_acquisition_and_patient(tmp_path: Path) -> None:
    attrs = {"KVP": "120", "ContrastBolusAgent": "IOMERON", "PatientSex": "F", "PatientWeight": "61.5"}
    volume = assemble_volume(axial_series(tmp_path, ramp(2), [0, 1], attrs=attrs))
    meta = volume.meta
    assert meta.modality == "CT" and meta.units == "HU"
    assert meta.kvp == 120.0 and meta.patient_weight_kg == 61.5 and meta.patient_sex == "F"
    assert meta.contrast == {"ContrastBolusAgent": "IOMERON"}
    assert meta.rescale == {"slope": 1.0, "intercept": -1024.0, "per_slice": False}


@pytest.mark.parametrize(
    "syntax",
    [
        "1.2.840.10008.1.2.5",  # RLE lossless
        "1.2.840.10008.1.2.4.80",  # JPEG-LS lossless
        "1.2.840.10008.1.2.4.90",  # JPEG 2000 lossless
        "1.2.840.10008.1.2.1.99",  # deflated explicit VR little endian
    ],
)
def test_compressed_encodings_decode_to_the_same_volume(tmp_path: Path, syntax: str) -> None:
    from pydicom.uid import UID

    stored = np.abs(ramp(3, rows=64, cols=64)).astype(np.uint16) % 4096  # openjpeg needs >= 64 px
    plain = assemble_volume(axial_series(tmp_path / "plain", stored, [0, 1, 2], bits_stored=12, signed=False))
    uid = generate_uid()
    datasets = []
    for k in range(3):
        ds = slice_dataset(stored[k], (0, 0, float(k)), series_uid=uid, bits_stored=12, signed=False)
        if syntax.endswith(".99"):
            ds.file_meta.TransferSyntaxUID = UID(syntax)
        else:
            ds.compress(UID(syntax), stored[k])
        datasets.append(ds)
    packed = assemble_volume(write_instances(datasets, tmp_path / "packed"))
    np.testing.assert_array_equal(packed.array, plain.array)
