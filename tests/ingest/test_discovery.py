"""Discovery: every DICOM under a path is found, everything else is counted or reported, nothing crashes."""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

import pytest
from pydicom.fileset import FileSet

from imaging.ingest import discovery as discovery_module
from imaging.ingest.discovery import discover

from .dicom_factory import make_dataset, write, write_series


def _sources(found) -> set[str]:
    return {str(i.source) for i in found.instances}


def test_nested_folders_and_files_without_extension(tmp_path: Path) -> None:
    write_series(tmp_path / "a" / "b" / "c", 3, prefix="IMG")
    write_series(tmp_path / "d", 2, prefix="")
    found = discover(tmp_path)
    assert len(found.instances) == 5
    assert found.problems == [] and found.non_dicom_skipped == 0
    assert found.files_scanned == 5


def test_single_file_path(tmp_path: Path) -> None:
    [path] = write_series(tmp_path, 1)
    found = discover(path)
    assert [i.source.path for i in found.instances] == [path]


def test_missing_path_raises(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="nope"):
        discover(tmp_path / "nope")


def test_file_without_preamble_is_dicom(tmp_path: Path) -> None:
    write(make_dataset(), tmp_path / "old_pacs_file", preamble=False)
    found = discover(tmp_path)
    assert len(found.instances) == 1
    assert found.instances[0].header.Modality == "CT"


def test_non_dicom_files_are_counted_not_reported(tmp_path: Path) -> None:
    write_series(tmp_path, 1)
    (tmp_path / "README.txt").write_text("hello\n" * 50)
    (tmp_path / "volume.nii.gz").write_bytes(b"\x1f\x8b" + os.urandom(300))
    (tmp_path / "empty").write_bytes(b"")
    found = discover(tmp_path)
    assert len(found.instances) == 1
    assert found.non_dicom_skipped == 3
    assert found.problems == []


def test_random_bytes_named_dcm_is_a_problem(tmp_path: Path) -> None:
    write_series(tmp_path, 2)
    (tmp_path / "noise.dcm").write_bytes(os.urandom(2048))
    found = discover(tmp_path)
    assert len(found.instances) == 2
    [problem] = found.problems
    assert problem.source.endswith("noise.dcm")
    assert "not DICOM" in problem.reason


def test_zip_archive_with_nested_folders(tmp_path: Path) -> None:
    paths = write_series(tmp_path / "src", 3)
    archive = tmp_path / "in" / "study.zip"
    archive.parent.mkdir()
    with zipfile.ZipFile(archive, "w") as zf:
        for k, p in enumerate(paths):
            zf.write(p, f"patient/series {k % 2}/{p.name}")
        zf.writestr("patient/notes.txt", "not dicom")
    found = discover(tmp_path / "in")
    assert len(found.instances) == 3
    assert all(i.source.path == archive and i.source.member.startswith("patient/") for i in found.instances)
    assert found.non_dicom_skipped == 1
    # the Source can be read back for assembly
    assert found.instances[0].source.read().Rows == 8


def test_zip_inside_zip_is_reported(tmp_path: Path) -> None:
    inner = tmp_path / "inner.zip"
    with zipfile.ZipFile(inner, "w") as zf:
        zf.writestr("x.txt", "x")
    outer = tmp_path / "scan" / "outer.zip"
    outer.parent.mkdir()
    with zipfile.ZipFile(outer, "w") as zf:
        zf.write(inner, "inner.zip")
    found = discover(outer)
    assert "zip inside a zip" in found.problems[0].reason


def _fileset(folder: Path, n: int = 3) -> Path:
    fs = FileSet()
    for k in range(n):
        extra = {"StudyTime": "120000", "StudyID": "1", "AccessionNumber": "A1"}
        fs.add(make_dataset(study_uid="1.2.3", series_uid="1.2.3.4", instance_number=k + 1, attrs=extra))
    fs.write(folder)
    return folder / "DICOMDIR"


def test_dicomdir_folder_and_dicomdir_file(tmp_path: Path) -> None:
    dicomdir = _fileset(tmp_path / "media")
    for root in (tmp_path / "media", dicomdir):
        found = discover(root)
        assert len(found.instances) == 3, root
        assert all(i.source.path.name.startswith("IM") for i in found.instances)
        assert found.problems == []
    assert discover(tmp_path / "media").dicomdirs[0].path == dicomdir


def test_dicomdir_reference_to_missing_file_is_reported(tmp_path: Path) -> None:
    dicomdir = _fileset(tmp_path / "media")
    next((tmp_path / "media").rglob("IM000001")).unlink()
    found = discover(dicomdir)
    assert len(found.instances) == 2
    assert any("IM000001" in p.reason and "does not exist" in p.reason for p in found.problems)


@pytest.mark.parametrize("name", ["with space.dcm", "ünïcødé_名前", "new\nline", "-leading-dash", "--help"])
def test_hostile_file_names(tmp_path: Path, name: str) -> None:
    write(make_dataset(), tmp_path / name)
    found = discover(tmp_path)
    assert [i.source.path.name for i in found.instances] == [name]


def test_duplicate_sop_instance_uid_identical_and_different(tmp_path: Path) -> None:
    ds = make_dataset(sop_uid="1.2.3.99")
    write(ds, tmp_path / "a")
    write(ds, tmp_path / "b")
    ds.SeriesDescription = "edited"
    write(ds, tmp_path / "c")
    found = discover(tmp_path)
    assert len(found.instances) == 1
    assert found.instances[0].source.path.name == "a"
    reasons = {Path(p.source).name: p.reason for p in found.problems}
    assert "identical copy" in reasons["b"] and str(tmp_path / "a") in reasons["b"]
    assert "bytes differ" in reasons["c"]


def test_truncated_files_are_problems(tmp_path: Path) -> None:
    good = write(make_dataset(), tmp_path / "good")
    data = good.read_bytes()
    (tmp_path / "cut_pixels").write_bytes(data[:-40])
    (tmp_path / "cut_header").write_bytes(data[:600])
    (tmp_path / "garbage_after_preamble").write_bytes(data[:132] + os.urandom(400))
    found = discover(tmp_path)
    assert [i.source.path.name for i in found.instances] == ["good"]
    reasons = {Path(p.source).name: p.reason for p in found.problems}
    assert set(reasons) == {"cut_pixels", "cut_header", "garbage_after_preamble"}
    assert "truncated" in reasons["cut_pixels"]
    assert "truncated" in reasons["cut_header"]


def test_missing_pixel_data_is_recorded(tmp_path: Path) -> None:
    path = write(make_dataset(with_pixels=False), tmp_path / "header_only")
    found = discover(tmp_path)
    assert len(found.instances) == 1
    assert {s.path for s in found.without_pixels} == {path}
    # headers never carry pixel data, with or without it on disk
    write(make_dataset(), tmp_path / "full")
    assert all("PixelData" not in i.header for i in discover(tmp_path).instances)


def test_unreadable_file_is_a_problem(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_series(tmp_path, 2)
    locked = write(make_dataset(), tmp_path / "locked.dcm")
    real_open = open

    def fake_open(file, *args, **kwargs):  # root ignores chmod, so simulate the OS refusing
        if Path(file) == locked:
            raise PermissionError(13, "Permission denied", str(file))
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr(discovery_module, "open", fake_open, raising=False)
    found = discover(tmp_path)
    assert len(found.instances) == 2
    [problem] = found.problems
    assert problem.source == str(locked) and "Permission denied" in problem.reason


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs POSIX FIFOs")
def test_fifo_and_broken_link_do_not_block(tmp_path: Path) -> None:
    write_series(tmp_path, 1)
    os.mkfifo(tmp_path / "pipe")
    (tmp_path / "dangling").symlink_to(tmp_path / "gone")
    found = discover(tmp_path)
    assert len(found.instances) == 1
    assert [Path(p.source).name for p in found.problems] == ["dangling"]


def test_a_file_of_garbage_after_a_dicom_marker_is_its_own_problem(tmp_path: Path) -> None:
    """pydicom decodes lazily: 'DICM' repeated parses as elements of unknown VR that raise only when
    touched. That must be this file's problem, never the command's (it used to stop index/analyze)."""
    write_series(tmp_path, 2)
    (tmp_path / "garbage.dcm").write_bytes(b"\0" * 128 + b"DICM" * 500)
    found = discover(tmp_path)
    assert len(found.instances) == 2
    assert [Path(p.source).name for p in found.problems] == ["garbage.dcm"]


def test_an_undecodable_standard_tag_makes_the_header_damaged(tmp_path: Path) -> None:
    """A corrupted VR in a later tag (here ImageOrientationPatient's 'DS' -> 'QQ') is found while the
    file is read, not later when the series index reads the orientation."""
    write_series(tmp_path, 2)
    bad = write(make_dataset(sop_uid="1.2.3.4.99"), tmp_path / "bad_vr.dcm")
    data = bad.read_bytes()
    iop = b"\x20\x00\x37\x00DS"  # (0020,0037) in explicit VR little endian
    assert iop in data
    bad.write_bytes(data.replace(iop, b"\x20\x00\x37\x00QQ"))
    found = discover(tmp_path)
    assert len(found.instances) == 2
    (problem,) = found.problems
    assert Path(problem.source).name == "bad_vr.dcm" and "(0020,0037)" in problem.reason


def test_a_cut_in_large_deferred_pixel_data_is_truncation(tmp_path: Path) -> None:
    """Pixel data larger than the deferral size is read lazily; the length check must see its offset."""
    good = write(make_dataset(rows=128, columns=128), tmp_path / "good")
    data = good.read_bytes()
    assert len(data) > 4 * discovery_module._DEFER_BYTES
    (tmp_path / "cut").write_bytes(data[: len(data) // 2])
    found = discover(tmp_path)
    assert [i.source.path.name for i in found.instances] == ["good"]
    (problem,) = found.problems
    assert "truncated" in problem.reason


def test_dicomdir_entry_leading_outside_its_folder_is_not_followed(tmp_path: Path) -> None:
    import pydicom

    dicomdir = _fileset(tmp_path / "media")
    outside = write(make_dataset(sop_uid="1.2.3.4.77"), tmp_path / "SECRET")
    ds = pydicom.dcmread(dicomdir)
    images = [r for r in ds.DirectoryRecordSequence if r.get("ReferencedFileID")]
    images[0].ReferencedFileID = ["..", "SECRET"]
    ds.save_as(dicomdir)
    found = discover(dicomdir)
    assert outside not in {i.source.path for i in found.instances}
    assert len(found.instances) == 2
    assert any("leads outside" in p.reason for p in found.problems)
