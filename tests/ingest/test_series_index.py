"""Series index: grouping, splitting of mixed series, kinds and reasons, header geometry."""

from __future__ import annotations

from pathlib import Path

import pydicom
import pytest

from imaging.ingest.discovery import discover
from imaging.ingest.series_index import Orientation, build_index, contrast_hint
from imaging.ingest.series_kind import SeriesKind

from .dicom_factory import CORONAL, SAGITTAL, make_dataset, write, write_series

STUDY, SERIES = "1.2.826.0.1.3680043.8.498.10", "1.2.826.0.1.3680043.8.498.11"


def _index(folder: Path):
    return build_index(discover(folder))


def test_one_ct_series_with_geometry(tmp_path: Path) -> None:
    write_series(tmp_path, 5, spacing=2.5, pixel_spacing=(0.7, 0.8), slice_thickness=2.5, kernel="B30f")
    [entry] = _index(tmp_path)
    assert entry.kind is SeriesKind.CT_IMAGE and entry.usable and entry.reasons == ()
    assert (entry.n_instances, entry.n_frames, entry.rows, entry.columns) == (5, 5, 8, 8)
    assert entry.pixel_spacing_mm == (0.7, 0.8)
    assert entry.slice_thickness_mm == 2.5
    assert entry.coverage_mm == pytest.approx(10.0)
    assert entry.orientation is Orientation.AXIAL
    assert entry.kernel == "B30f"
    assert entry.image_type == ("ORIGINAL", "PRIMARY", "AXIAL")
    assert entry.sub_key == "" and entry.split_label is None
    assert entry.key == entry.series_uid


def test_two_patients_in_one_folder_are_separate(tmp_path: Path) -> None:
    write_series(tmp_path / "x", 2, patient_id="ALICE", prefix="A")
    write_series(tmp_path / "x", 3, patient_id="BOB", prefix="B")
    entries = _index(tmp_path)
    assert [(e.patient_id, e.n_instances) for e in entries] == [("ALICE", 2), ("BOB", 3)]


def _dixon_slice(folder: Path, name: str, image_type: tuple[str, ...], te: float, z: float, **attrs) -> None:
    ds = make_dataset(
        modality="MR",
        study_uid=STUDY,
        series_uid=SERIES,
        position=(0, 0, z),
        image_type=image_type,
        series_description="t1_vibe_dixon_tra",
        attrs={"EchoTime": te, "MagneticFieldStrength": 1.5, **attrs},
    )
    write(ds, folder / name)


def test_dixon_components_sharing_one_series_uid_are_split(tmp_path: Path) -> None:
    types = {
        "opp": (("ORIGINAL", "PRIMARY", "M", "OPP_PHASE"), 2.39),
        "in": (("ORIGINAL", "PRIMARY", "M", "IN_PHASE"), 4.77),
        "w": (("DERIVED", "PRIMARY", "DIXON", "WATER"), 2.39),
        "f": (("DERIVED", "PRIMARY", "DIXON", "FAT"), 2.39),
    }
    for name, (itype, te) in types.items():
        for k in range(3):
            _dixon_slice(tmp_path, f"{name}{k}", itype, te, z=3.0 * k)
    entries = _index(tmp_path)
    kinds = {e.kind for e in entries}
    assert kinds == {
        SeriesKind.MR_DIXON_OPPOSED_PHASE,
        SeriesKind.MR_DIXON_IN_PHASE,
        SeriesKind.MR_DIXON_WATER,
        SeriesKind.MR_DIXON_FAT,
    }
    assert all(e.n_instances == 3 and e.usable for e in entries)
    assert all(e.series_uid == SERIES and e.split_label and "image types" in e.split_label for e in entries)
    assert len({e.key for e in entries}) == 4
    # sub keys are stable: a second scan gives the same ones
    assert [e.key for e in entries] == [e.key for e in _index(tmp_path)]


def test_dixon_by_echo_time_alone(tmp_path: Path) -> None:
    for k in range(2):
        _dixon_slice(tmp_path, f"a{k}", ("ORIGINAL", "PRIMARY", "M", "NONE"), 2.3, z=k)
        _dixon_slice(tmp_path, f"b{k}", ("ORIGINAL", "PRIMARY", "M", "NONE"), 4.6, z=k)
    entries = _index(tmp_path)
    assert {e.kind for e in entries} == {SeriesKind.MR_DIXON_OPPOSED_PHASE, SeriesKind.MR_DIXON_IN_PHASE}
    assert all("te=" in e.sub_key and "echoes" in e.split_label for e in entries)


@pytest.mark.parametrize(
    ("description", "image_type", "kind"),
    [
        ("WATER: AX LAVA-FLEX", ("DERIVED", "PRIMARY", "OTHER"), SeriesKind.MR_DIXON_WATER),
        ("mDIXON_W", ("ORIGINAL", "PRIMARY", "OTHER"), SeriesKind.MR_DIXON_WATER),
        ("mDIXON_IP", ("ORIGINAL", "PRIMARY", "OTHER"), SeriesKind.MR_DIXON_IN_PHASE),
        ("AX OutPhase", ("ORIGINAL", "PRIMARY", "OTHER"), SeriesKind.MR_DIXON_OPPOSED_PHASE),
        ("T1 mDixon", ("ORIGINAL", "PRIMARY", "F", "F"), SeriesKind.MR_DIXON_FAT),
        ("AX T2 FAT SAT", ("ORIGINAL", "PRIMARY", "OTHER"), SeriesKind.MR_OTHER),
        ("T2_W", ("ORIGINAL", "PRIMARY", "OTHER"), SeriesKind.MR_OTHER),  # _W without Dixon context
    ],
)
def test_dixon_recognition_from_vendor_labels(tmp_path: Path, description, image_type, kind) -> None:
    write_series(tmp_path, 2, modality="MR", series_description=description, image_type=image_type)
    [entry] = _index(tmp_path)
    assert entry.kind is kind


def _one(tmp_path: Path, **kwargs):
    write(make_dataset(**kwargs), tmp_path / "obj")
    [entry] = _index(tmp_path)
    return entry


@pytest.mark.parametrize(
    ("kwargs", "kind", "words"),
    [
        ({"image_type": ("ORIGINAL", "PRIMARY", "LOCALIZER")}, SeriesKind.LOCALIZER, "localizer"),
        ({"series_description": "Topogram 0.6 T20f"}, SeriesKind.LOCALIZER, "localizer"),
        ({"modality": "OT", "series_description": "Dose Report"}, SeriesKind.DOSE_REPORT, "dose"),
        ({"modality": "OT", "series_description": "screen"}, SeriesKind.SECONDARY_CAPTURE, "secondary"),
        ({"attrs": {"SOPClassUID": "1.2.840.10008.5.1.4.1.1.88.67"}}, SeriesKind.DOSE_REPORT, "dose"),
        ({"attrs": {"SOPClassUID": "1.2.840.10008.5.1.4.1.1.88.22"}}, SeriesKind.STRUCTURED_REPORT, "report"),
        (
            {"attrs": {"SOPClassUID": "1.2.840.10008.5.1.4.1.1.88.22", "Manufacturer": "HOLOGIC"}},
            SeriesKind.STRUCTURED_REPORT,
            "bonemuscle dxa",
        ),
        (
            {"attrs": {"SOPClassUID": "1.2.840.10008.5.1.4.1.1.66.4", "Modality": "SEG"}},
            SeriesKind.SEGMENTATION,
            "seg",
        ),
        (
            {"attrs": {"SOPClassUID": "1.2.840.10008.5.1.4.1.1.11.1"}},
            SeriesKind.PRESENTATION_STATE,
            "presentation",
        ),
        ({"attrs": {"Modality": "RTSTRUCT"}}, SeriesKind.RT_OBJECT, "radiotherapy"),
        (
            {"attrs": {"Modality": "PT", "SOPClassUID": "1.2.840.10008.5.1.4.1.1.128"}},
            SeriesKind.UNSUPPORTED_MODALITY,
            "PT",
        ),
        ({"attrs": {"Modality": "US"}}, SeriesKind.UNSUPPORTED_MODALITY, "US"),
        ({"attrs": {"Modality": "BMD"}}, SeriesKind.DXA, "DXA"),
        ({"modality": "DX", "attrs": {"Manufacturer": "HOLOGIC"}}, SeriesKind.DXA, "DXA"),
        ({"image_type": ("DERIVED", "SECONDARY", "MPR")}, SeriesKind.DERIVED, "MPR"),
        ({"image_type": ("DERIVED", "SECONDARY", "AXIAL")}, SeriesKind.DERIVED, "derived"),
    ],
)
def test_objects_set_aside_with_reason(tmp_path: Path, kwargs, kind, words) -> None:
    entry = _one(tmp_path, **kwargs)
    assert entry.kind is kind
    assert not entry.usable
    assert words.lower() in " ".join(entry.reasons).lower()


def test_three_plane_localizer_by_geometry(tmp_path: Path) -> None:
    study, series = "1.2.3.4", "1.2.3.4.5"
    for plane, iop in (("ax", (1, 0, 0, 0, 1, 0)), ("cor", CORONAL), ("sag", SAGITTAL)):
        write_series(
            tmp_path, 3, orientation=iop, study_uid=study, series_uid=series, prefix=plane, modality="MR"
        )
    entries = _index(tmp_path)
    assert len(entries) == 3
    assert all(e.kind is SeriesKind.LOCALIZER and "orientations" in e.split_label for e in entries)
    assert {e.orientation for e in entries} == {Orientation.AXIAL, Orientation.CORONAL, Orientation.SAGITTAL}


def test_matrix_split_and_coronal_ct_not_usable(tmp_path: Path) -> None:
    write_series(tmp_path, 20, study_uid="1.2.3", series_uid="1.2.3.9", prefix="a")
    write_series(tmp_path, 20, study_uid="1.2.3", series_uid="1.2.3.9", prefix="b", rows=16, columns=16)
    entries = _index(tmp_path)
    assert sorted(e.sub_key for e in entries) == ["matrix=16x16", "matrix=8x8"]
    write_series(tmp_path / "cor", 10, orientation=CORONAL)
    [coronal] = _index(tmp_path / "cor")
    assert coronal.orientation is Orientation.CORONAL
    assert not coronal.usable and "axial" in coronal.reasons[0]


def test_empty_sop_class_falls_back_to_file_meta(tmp_path: Path) -> None:
    write_series(tmp_path, 2, attrs={"SOPClassUID": ""})
    [entry] = _index(tmp_path)
    assert entry.kind is SeriesKind.CT_IMAGE and entry.usable


def test_emptied_uids_get_stable_stand_in_keys(tmp_path: Path) -> None:
    write_series(tmp_path / "s1", 3, attrs={"StudyInstanceUID": "", "SeriesInstanceUID": "", "PatientID": ""})
    write_series(tmp_path / "s2", 2, attrs={"StudyInstanceUID": "", "SeriesInstanceUID": "", "PatientID": ""})
    entries = _index(tmp_path)
    assert sorted(e.n_instances for e in entries) == [2, 3]
    assert all(e.series_uid == "" and e.series_key.startswith("nouid-") for e in entries)
    assert all(any("SeriesInstanceUID is empty" in n for n in e.notes) for e in entries)
    assert all(e.usable for e in entries)
    assert [e.key for e in entries] == [e.key for e in _index(tmp_path)]


def test_enhanced_multiframe_geometry_from_functional_groups(tmp_path: Path) -> None:
    ds = make_dataset(
        slice_thickness=None,
        attrs={"ImagePositionPatient": None, "ImageOrientationPatient": None, "PixelSpacing": None},
    )
    ds.SOPClassUID = ds.file_meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.2.1"
    ds.NumberOfFrames = 2
    ds.PixelData = ds.PixelData * 2
    shared = pydicom.Dataset()
    shared.PlaneOrientationSequence = [pydicom.Dataset()]
    shared.PlaneOrientationSequence[0].ImageOrientationPatient = [1, 0, 0, 0, 1, 0]
    shared.PixelMeasuresSequence = [pydicom.Dataset()]
    shared.PixelMeasuresSequence[0].PixelSpacing = [0.5, 0.5]
    shared.PixelMeasuresSequence[0].SliceThickness = 1.5
    ds.SharedFunctionalGroupsSequence = [shared]
    frames = []
    for z in (0.0, 1.5):
        frame = pydicom.Dataset()
        frame.PlanePositionSequence = [pydicom.Dataset()]
        frame.PlanePositionSequence[0].ImagePositionPatient = [0, 0, z]
        frames.append(frame)
    ds.PerFrameFunctionalGroupsSequence = frames
    write(ds, tmp_path / "enhanced")
    [entry] = _index(tmp_path)
    assert (entry.n_instances, entry.n_frames) == (1, 2)
    assert entry.pixel_spacing_mm == (0.5, 0.5) and entry.slice_thickness_mm == 1.5
    assert entry.orientation is Orientation.AXIAL and entry.coverage_mm == pytest.approx(1.5)
    assert entry.usable


def test_gap_in_slices_is_noted(tmp_path: Path) -> None:
    paths = write_series(tmp_path, 6, spacing=2.0)
    paths[3].unlink()
    [entry] = _index(tmp_path)
    assert any("uneven slice spacing" in n for n in entry.notes)


@pytest.mark.parametrize(
    ("attrs", "expected"),
    [
        ({"ContrastBolusAgent": "OMNIPAQUE 350"}, "yes"),
        ({"ContrastBolusAgent": "NONE"}, "no"),
        ({"SeriesDescription": "Abdomen portal venous 1.0"}, "yes"),
        ({"SeriesDescription": "Abdomen nativ 1.0"}, "no"),
        ({"SeriesDescription": "Abdomen 1.0"}, "unknown"),
    ],
)
def test_contrast_hint(attrs, expected) -> None:
    ds = make_dataset(attrs=attrs)
    assert contrast_hint(ds)[0] == expected


def test_a_backslash_in_patient_id_is_kept_as_written_not_shown_as_a_list(tmp_path: Path) -> None:
    """pydicom splits 'A\\\\B' into two values; the index keys and shows the ID as the file wrote it."""
    from imaging.ingest.discovery import discover
    from imaging.ingest.series_index import build_index

    from .dicom_factory import write_series

    write_series(tmp_path, 3, patient_id="A\\B")
    (entry,) = build_index(discover(tmp_path))
    assert entry.patient_id == "A\\B"
