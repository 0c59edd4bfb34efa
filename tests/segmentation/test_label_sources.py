"""Precomputed segmentations: .tag round trip and placement, DICOM SEG round trip, NIfTI, grids."""

from __future__ import annotations

import json

import highdicom as hd
import numpy as np
import pydicom
import pytest
from ingest.dicom_factory import write_series
from pydicom.uid import generate_uid

from imaging.ingest.assemble import assemble_volume
from imaging.ingest.model import Instance, Source
from imaging.segmentation.label_files import PrecomputedOptions, load_precomputed
from imaging.segmentation.label_files.grid import GridMismatchError, labels_onto_grid
from imaging.segmentation.label_files.slice_o_matic_tag import (
    TagFormatError,
    TagMapping,
    read_tag,
    tag_to_names,
    write_tag,
)
from imaging.series_facts import Modality, SeriesFacts
from imaging.volume import Volume, to_nifti

from ._stubs import make_affine, rotation

OBLIQUE_IOP = (0.9659258, 0.2588190, 0.0, -0.2588190 * 0.9, 0.9659258 * 0.9, 0.4358899)


def _series(tmp_path, n=4, rows=6, cols=9, **kw):
    # orthonormalise the oblique orientation so it is valid DICOM
    r = np.array(OBLIQUE_IOP[:3])
    c = np.array(OBLIQUE_IOP[3:])
    c = c - (c @ r) * r
    c /= np.linalg.norm(c)
    iop = tuple(float(v) for v in (*r, *c))
    paths = write_series(
        tmp_path, n, spacing=2.5, orientation=iop, rows=rows, columns=cols, pixel_spacing=(0.7, 0.9), **kw
    )
    vol = assemble_volume([Instance(Source(p), Source(p).read(stop_before_pixels=True)) for p in paths])
    return paths, vol


def test_tag_round_trip_and_headerless(tmp_path):
    arr = np.random.default_rng(0).choice(np.array([0, 1, 2, 5, 7], dtype=np.uint8), size=(5, 7))
    path = write_tag(tmp_path / "a.tag", arr, {1: "muscle", 7: "sat"})
    tag = read_tag(path)
    np.testing.assert_array_equal(tag.array, arr)
    assert tag.header["x"] == "7" and tag.header["y"] == "5"
    raw = tmp_path / "raw.tag"
    raw.write_bytes(arr.tobytes())
    np.testing.assert_array_equal(read_tag(raw, shape=(5, 7)).array, arr)
    with pytest.raises(TagFormatError, match="expected 36"):
        read_tag(raw, shape=(6, 6))
    with pytest.raises(TagFormatError, match="header says 5x7"):
        read_tag(path, shape=(7, 5))


def test_tag_mapping_default_and_configurable():
    from imaging.segmentation.label_files.slice_o_matic_tag import TagImage

    tag = TagImage(np.array([[0, 1, 2, 5, 7, 3]], dtype=np.uint8), {})
    arr, names, warnings = tag_to_names(tag)
    assert [names.get(int(v)) for v in arr.ravel()] == [None, "skeletal_muscle", "imat", "vat", "sat", None]
    assert "tags [3]" in warnings[0]
    arr, names, warnings = tag_to_names(tag, TagMapping({1: "skeletal_muscle", 3: "imat"}))
    assert [names.get(int(v)) for v in arr.ravel()] == [None, "skeletal_muscle", None, None, None, "imat"]


def test_tag_placed_by_its_dicom_on_an_oblique_series(tmp_path):
    paths, vol = _series(tmp_path)
    vol = vol.with_array(np.zeros(vol.shape, dtype=np.int16))  # HU irrelevant: tissue labels are final
    pattern = np.zeros((6, 9), dtype=np.uint8)
    pattern[1:3, 2:8] = 1
    pattern[4, 0:3] = 7
    target = paths[2]
    write_tag(target.with_name(target.name + ".tag"), pattern)
    seg = load_precomputed(target.with_name(target.name + ".tag"), vol)
    k = int(
        np.argmin(
            [
                abs(
                    float(
                        np.dot(
                            vol.world([[i, 0, 0]])[0]
                            - np.array(
                                pydicom.dcmread(target, stop_before_pixels=True).ImagePositionPatient, float
                            ),
                            vol.slice_normal,
                        )
                    )
                )
                for i in range(vol.shape[0])
            ]
        )
    )
    expect = np.zeros(vol.shape, dtype=bool)
    expect[k] = pattern == 1
    assert np.array_equal(seg.tissue.mask("skeletal_muscle"), expect)
    assert int(seg.tissue.mask("sat").sum()) == 3 and seg.tissue.mask("sat")[k].sum() == 3
    # without the DICOM beside it, the slice index is required
    lone = tmp_path / "lone.tag"
    write_tag(lone, pattern)
    with pytest.raises(ValueError, match="slice index"):
        load_precomputed(lone, vol)
    seg = load_precomputed(lone, vol, PrecomputedOptions(tag_slice_index=1))
    assert np.array_equal(seg.tissue.mask("skeletal_muscle")[1], pattern == 1)


def test_dicom_seg_round_trip_onto_the_series_grid(tmp_path):
    paths, vol = _series(tmp_path, n=5, rows=7, cols=10)
    sources = [pydicom.dcmread(p) for p in paths]
    for ds in sources:  # patient/study attributes highdicom copies into the SEG
        for keyword, value in (
            ("PatientName", "Test^Seg"),
            ("PatientBirthDate", ""),
            ("PatientSex", "O"),
            ("StudyDate", "20240101"),
            ("StudyTime", "120000"),
            ("ReferringPhysicianName", ""),
            ("AccessionNumber", ""),
            ("StudyID", "1"),
        ):
            if keyword not in ds:
                setattr(ds, keyword, value)
    rng = np.random.default_rng(1)
    muscle = rng.random((5, 7, 10)) > 0.6
    level = np.zeros((5, 7, 10), dtype=bool)
    level[1:3, 2:5, 3:8] = True
    muscle &= ~level
    category = hd.sr.CodedConcept("91723000", "SCT", "Anatomical Structure")
    descriptions = [
        hd.seg.SegmentDescription(
            1,
            "Skeletal muscle",
            category,
            hd.sr.CodedConcept("127954009", "SCT", "Skeletal muscle tissue"),
            hd.seg.SegmentAlgorithmTypeValues.MANUAL,
        ),
        hd.seg.SegmentDescription(
            2,
            "L3 vertebra",
            category,
            hd.sr.CodedConcept("10060000", "SCT", "L3 vertebra"),
            hd.seg.SegmentAlgorithmTypeValues.MANUAL,
        ),
    ]
    # frames in the order of the source images (= our slice order: written along the normal)
    seg_ds = hd.seg.Segmentation(
        source_images=sources,
        pixel_array=np.stack([muscle, level], axis=-1).astype(np.uint8),
        segmentation_type=hd.seg.SegmentationTypeValues.BINARY,
        segment_descriptions=descriptions,
        series_instance_uid=generate_uid(),
        series_number=99,
        sop_instance_uid=generate_uid(),
        instance_number=1,
        manufacturer="bonemuscle tests",
        manufacturer_model_name="synthetic",
        software_versions="0",
        device_serial_number="0",
    )
    seg_path = tmp_path / "seg.dcm"
    seg_ds.save_as(seg_path)
    vol = vol.with_array(np.full(vol.shape, 50, dtype=np.int16))
    seg = load_precomputed(seg_path, vol)
    assert np.array_equal(seg.tissue.mask("skeletal_muscle"), muscle)
    assert np.array_equal(seg.vertebrae.mask("L3"), level)
    assert seg.meta["source"]["kind"] == "dicom_seg" and seg.meta["covered_fraction"] == 1.0


def test_nifti_labels_in_another_orientation_land_by_world_position(tmp_path):
    aff = make_affine((2.0, 0.8, 0.8), rotation([0.3, 1.0, 0.1], 17.0))
    vol = Volume(np.zeros((4, 9, 13), dtype=np.int16), aff, SeriesFacts(modality=Modality.CT))
    labels = np.zeros(vol.shape, dtype=np.uint8)
    labels[1, 2:6, 3:11] = 1  # psoas compartment
    labels[2:4, 0:2, :] = 2  # L4
    # store the same labels flipped along two axes, with the affine adjusted to keep world positions
    flip = np.eye(4)
    flip[1, 1] = flip[2, 2] = -1
    flip[1, 3], flip[2, 3] = vol.shape[1] - 1, vol.shape[2] - 1
    stored = Volume(labels[:, ::-1, ::-1].copy(), aff @ flip)
    path = to_nifti(stored, tmp_path / "seg.nii.gz")
    (tmp_path / "seg.labels.json").write_text(json.dumps({"1": "psoas", "2": "L4"}))
    hu = vol.with_array(np.where(labels == 1, 40, -1000).astype(np.int16))
    seg = load_precomputed(path, hu)
    assert np.array_equal(seg.muscles.mask("psoas"), labels == 1)
    assert np.array_equal(seg.tissue.mask("skeletal_muscle"), labels == 1)  # 40 HU inside the muscle window
    assert np.array_equal(seg.vertebrae.mask("L4"), labels == 2)


def test_grids_that_do_not_overlap_are_refused():
    vol = Volume(np.zeros((3, 5, 5), dtype=np.int16), make_affine((2.0, 1.0, 1.0), np.eye(3)))
    far = make_affine((2.0, 1.0, 1.0), np.eye(3), origin=(500.0, 0.0, 0.0))
    with pytest.raises(GridMismatchError, match="does not overlap"):
        labels_onto_grid(np.ones((3, 5, 5), dtype=np.uint8), far, vol)
    half = make_affine((2.0, 1.0, 1.0), np.eye(3), origin=(10.0 + 3.0, -20.0, 30.0))  # shifted 3 columns
    out = labels_onto_grid(np.ones((3, 5, 5), dtype=np.uint8), half, vol)
    assert out.covered_fraction == pytest.approx(2 / 5)
    with pytest.raises(GridMismatchError, match="covers only"):
        labels_onto_grid(np.ones((3, 5, 5), dtype=np.uint8), half, vol, min_covered_fraction=0.5)
