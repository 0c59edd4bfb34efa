"""Bad inputs beside a good series: each gets a clear message naming the file; the good series is chosen.

Also the real data: the anonymised PET/CT's CT series (empty UIDs and SOP class in the dataset) and the
whole conformance tree, which must index without crashing.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from imaging.ingest.discovery import discover
from imaging.ingest.selection import choose_series
from imaging.ingest.series_index import build_index
from imaging.ingest.series_kind import SeriesKind

from .dicom_factory import make_dataset, write, write_series


@pytest.fixture
def messy(tmp_path: Path) -> Path:
    """A good 6-slice CT plus one of every fault the issue lists."""
    good = write_series(tmp_path / "good", 6, patient_id="GOOD", series_number=2)
    data = good[0].read_bytes()
    (tmp_path / "truncated.dcm").write_bytes(data[: len(data) - 60])
    (tmp_path / "random.dcm").write_bytes(os.urandom(4096))
    write(make_dataset(patient_id="NOPIX", with_pixels=False), tmp_path / "nopix" / "IM1")
    write_series(tmp_path / "noipp", 2, patient_id="NOIPP", attrs={"ImagePositionPatient": None})
    write_series(tmp_path / "zero", 2, patient_id="ZERO", pixel_spacing=(0.0, 0.0))
    write_series(tmp_path / "neg", 2, patient_id="NEG", pixel_spacing=(-0.7, 0.7))
    (tmp_path / "zz").mkdir()
    (tmp_path / "zz" / "copy_of_first").write_bytes(data)
    write_series(tmp_path / "other_patient", 3, patient_id="OTHER")
    return tmp_path


def test_every_fault_named_and_good_series_chosen(messy: Path) -> None:
    found = discover(messy)
    problems = {Path(p.source).name: p.reason for p in found.problems}
    assert "truncated" in problems["truncated.dcm"]
    assert "not DICOM" in problems["random.dcm"]
    assert "duplicate SOPInstanceUID" in problems["copy_of_first"]

    entries = build_index(found)
    by_patient = {e.patient_id: e for e in entries}
    assert set(by_patient) == {"GOOD", "NOPIX", "NOIPP", "ZERO", "NEG", "OTHER"}
    assert by_patient["GOOD"].usable and by_patient["GOOD"].n_instances == 6
    assert by_patient["OTHER"].usable
    for patient, words in [
        ("NOPIX", "no pixel data"),
        ("NOIPP", "ImagePositionPatient missing"),
        ("ZERO", "PixelSpacing"),
        ("NEG", "PixelSpacing"),
    ]:
        entry = by_patient[patient]
        assert not entry.usable
        reason = " ".join(entry.reasons)
        assert words in reason and str(messy / patient.lower()) in reason, reason

    choice = choose_series(entries)
    assert {e.patient_id for e in choice.chosen} == {"GOOD", "OTHER"}


@pytest.mark.shared
def test_real_ct_one_series_of_20_chosen(shared_data: Path) -> None:
    found = discover(shared_data / "real" / "ct_upper_abdomen_b" / "dicom")
    assert found.problems == []
    [entry] = build_index(found)
    assert entry.kind is SeriesKind.CT_IMAGE and entry.usable
    assert entry.n_instances == 20
    assert (entry.rows, entry.columns) == (512, 512)
    assert entry.pixel_spacing_mm == pytest.approx((0.9765625, 0.9765625))
    assert entry.contrast == "yes"
    choice = choose_series([entry])
    assert choice.chosen == (entry,)


@pytest.mark.shared
def test_conformance_tree_indexes_cleanly(shared_data: Path) -> None:
    found = discover(shared_data / "conformance")
    assert len(found.instances) > 200
    for problem in found.problems:
        assert problem.source and problem.reason
        assert Path(problem.source.split("!")[0]).exists()
    entries = build_index(found)
    kinds = {e.kind for e in entries}
    assert {SeriesKind.CT_IMAGE, SeriesKind.SEGMENTATION, SeriesKind.STRUCTURED_REPORT} <= kinds
    assert all(e.reasons for e in entries if not e.usable)
    choice = choose_series(entries)
    assert all(e.usable for e in choice.chosen)
