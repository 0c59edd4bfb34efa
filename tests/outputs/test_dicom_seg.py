"""DICOM SEG: read back with highdicom, pixel data equal to the label maps, codes, tilt and duplicates."""

from __future__ import annotations

from pathlib import Path

import highdicom as hd
import numpy as np
import pytest

from imaging.outputs.dicom_seg import build_seg
from imaging.segmentation.labels import LabelMap

from ._synthetic import Case, make_case

MODEL = {"name": "bm-tissue-unet", "version": "0.3.1", "weights_sha256": "ab" * 32}


def _write_and_read(case: Case, tmp_path: Path) -> tuple[hd.seg.Segmentation, list]:
    seg, specs = build_seg(
        case.volume, case.datasets, case.tissue, case.vertebrae, MODEL, software_version="bonemuscle test"
    )
    path = tmp_path / "seg.dcm"
    seg.save_as(path, enforce_file_format=True)
    return hd.seg.segread(path), specs


def _frame_slices(seg: hd.seg.Segmentation, case: Case) -> list[tuple[int, float, np.ndarray]]:
    """(segment number, fractional slice index on the volume grid, in-plane offset) for each frame."""
    affine = case.volume.affine
    inv = np.linalg.inv(affine)
    out = []
    for frame in seg.PerFrameFunctionalGroupsSequence:
        number = int(frame.SegmentIdentificationSequence[0].ReferencedSegmentNumber)
        ipp = np.asarray(frame.PlanePositionSequence[0].ImagePositionPatient, dtype=float)
        kji = inv @ np.append(ipp, 1.0)
        out.append((number, kji[0], kji[1:3]))
    return out


def _assert_pixels_equal_label_maps(seg: hd.seg.Segmentation, specs: list, case: Case) -> None:
    maps = {"tissue": case.tissue, "vertebrae": case.vertebrae}
    by_number = {s.number: s for s in specs}
    frames = _frame_slices(seg, case)
    pixels = seg.pixel_array
    seen = set()
    for i, (number, k, offset) in enumerate(frames):
        assert abs(k - round(k)) < 1e-4, "frame must lie on a volume slice"
        assert np.allclose(offset, 0.0, atol=1e-4), "frame must be the volume grid's slice, not shifted"
        spec = by_number[number]
        expected = maps[spec.source_map].mask(spec.name)[round(k)]
        assert np.array_equal(pixels[i].astype(bool), expected), f"segment {spec.name} slice {round(k)}"
        seen.add((number, round(k)))
    for spec in specs:  # no non-empty (segment, slice) was omitted
        mask = maps[spec.source_map].mask(spec.name)
        for k in np.flatnonzero(mask.any(axis=(1, 2))):
            assert (spec.number, int(k)) in seen


def test_seg_round_trip_pixels_and_codes(tmp_path: Path) -> None:
    case = make_case(tmp_path / "src")
    seg, specs = _write_and_read(case, tmp_path)
    _assert_pixels_equal_label_maps(seg, specs, case)

    labels = {int(s.SegmentNumber): s.SegmentLabel for s in seg.SegmentSequence}
    assert labels == {
        1: "Skeletal muscle",
        2: "IMAT",
        3: "SAT",
        4: "VAT",
        5: "Bone",
        6: "Other soft tissue",
        7: "L2",
        8: "L3",
    }
    types = {s.SegmentLabel: s.SegmentedPropertyTypeCodeSequence[0].CodeValue for s in seg.SegmentSequence}
    assert types["Skeletal muscle"] == "127954009"
    assert types["SAT"] == types["VAT"] == types["IMAT"] == "55603005"
    assert types["L3"] == "36470004"
    sat = next(s for s in seg.SegmentSequence if s.SegmentLabel == "SAT")
    assert sat.AnatomicRegionSequence[0].CodeValue == "71966008"
    assert all(s.SegmentAlgorithmType == "AUTOMATIC" for s in seg.SegmentSequence)
    algo = seg.SegmentSequence[0].SegmentationAlgorithmIdentificationSequence[0]
    assert algo.AlgorithmName == "bm-tissue-unet" and algo.AlgorithmVersion == "0.3.1"
    assert seg.FrameOfReferenceUID == case.datasets[0].FrameOfReferenceUID
    assert seg.StudyInstanceUID == case.datasets[0].StudyInstanceUID
    source_uids = {ds.SOPInstanceUID for ds in case.datasets}
    referenced = {
        r.ReferencedSOPInstanceUID for s in seg.ReferencedSeriesSequence for r in s.ReferencedInstanceSequence
    }
    assert referenced == source_uids
    first = seg.PerFrameFunctionalGroupsSequence[0].DerivationImageSequence[0].SourceImageSequence[0]
    assert first.SpatialLocationsPreserved == "YES"


def test_seg_over_tilted_source_uses_the_corrected_grid(tmp_path: Path) -> None:
    case = make_case(tmp_path / "src", tilt_deg=15.0)
    assert case.volume.meta.corrections, "the synthetic series must really be tilt-corrected"
    seg, specs = _write_and_read(case, tmp_path)
    _assert_pixels_equal_label_maps(seg, specs, case)
    assert seg.FrameOfReferenceUID == case.datasets[0].FrameOfReferenceUID
    normal = case.volume.slice_normal
    src_by_uid = {ds.SOPInstanceUID: ds for ds in case.datasets}
    shifted = 0
    for frame in seg.PerFrameFunctionalGroupsSequence:
        ipp = np.asarray(frame.PlanePositionSequence[0].ImagePositionPatient, dtype=float)
        for ref in frame.DerivationImageSequence[0].SourceImageSequence:
            src = np.asarray(src_by_uid[ref.ReferencedSOPInstanceUID].ImagePositionPatient, dtype=float)
            assert abs((ipp - src) @ normal) < 1e-3, "frame must reference the coplanar source slice"
            if np.linalg.norm(ipp - src) > 1e-3:
                shifted += 1
                assert ref.SpatialLocationsPreserved == "NO"
    assert shifted > 0


def test_seg_over_duplicate_positions_references_both(tmp_path: Path) -> None:
    case = make_case(tmp_path / "src", duplicate_at=3)
    assert len(case.datasets) == case.volume.shape[0] + 1
    seg, specs = _write_and_read(case, tmp_path)
    _assert_pixels_equal_label_maps(seg, specs, case)
    twins = {
        ds.SOPInstanceUID
        for ds in case.datasets
        if float(ds.ImagePositionPatient[2]) == float(case.datasets[3].ImagePositionPatient[2])
    }
    assert len(twins) == 2
    refs_at_3 = [
        {r.ReferencedSOPInstanceUID for r in f.DerivationImageSequence[0].SourceImageSequence}
        for (number, k, _), f in zip(
            _frame_slices(seg, case), seg.PerFrameFunctionalGroupsSequence, strict=True
        )
        if round(k) == 3
    ]
    assert refs_at_3 and all(refs == twins for refs in refs_at_3)


def test_empty_label_maps_are_refused(tmp_path: Path) -> None:
    case = make_case(tmp_path / "src")
    empty = LabelMap(np.zeros_like(case.tissue.array), case.tissue.names)
    empty_v = LabelMap(np.zeros_like(case.vertebrae.array), case.vertebrae.names)
    with pytest.raises(ValueError, match="nothing to encode"):
        build_seg(case.volume, case.datasets, empty, empty_v, MODEL, software_version="x")


def test_sources_missing_type2_patient_attributes(tmp_path: Path) -> None:
    case = make_case(tmp_path / "src")
    for ds in case.datasets:
        for keyword in ("PatientBirthDate", "AccessionNumber", "StudyID", "StudyTime"):
            if keyword in ds:
                delattr(ds, keyword)
    seg, _ = build_seg(case.volume, case.datasets, case.tissue, case.vertebrae, MODEL, software_version="x")
    assert "PatientBirthDate" in seg and not seg.PatientBirthDate
    assert "PatientBirthDate" not in case.datasets[0]  # caller's headers untouched


@pytest.mark.parametrize(
    ("frame_of_reference", "reason"),
    [
        (lambda i: None, "carry no FrameOfReferenceUID"),  # an anonymiser dropped it (ct_abdomen_e)
        (lambda i: f"1.2.826.0.1.3680043.8.498.{100 + i}", r"carry \d+ different FrameOfReferenceUIDs"),
    ],  # one per image, as LIDC's anonymiser left them (ct_chest_f)
)
def test_sources_without_one_frame_of_reference_are_refused_with_the_tag_named(
    tmp_path: Path, frame_of_reference, reason
) -> None:
    case = make_case(tmp_path / "src")
    for i, ds in enumerate(case.datasets):
        uid = frame_of_reference(i)
        if uid is None:
            del ds.FrameOfReferenceUID
        else:
            ds.FrameOfReferenceUID = uid
    with pytest.raises(ValueError, match=reason) as raised:
        build_seg(case.volume, case.datasets, case.tissue, case.vertebrae, MODEL, software_version="x")
    assert "(0020,0052)" in str(raised.value)
