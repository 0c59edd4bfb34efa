"""Finding DXA reports in files and folders, dispatching to readers, merging one visit's reports."""

from __future__ import annotations

from pathlib import Path

import pydicom
import pytest

from imaging.dxa import ReportFormat, scan_path
from imaging.ingest.model import IngestError
from phantoms.dxa_exports import (
    DxaExam,
    GeSrOptions,
    ge_enhanced_sr,
    save,
    write_apex_csv,
    write_ge_enhanced_sr,
    write_ge_xml_image,
    write_hologic_reports,
)


def _ct_like(path: Path) -> Path:
    ds = pydicom.Dataset()
    ds.file_meta = pydicom.dataset.FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = pydicom.uid.ExplicitVRLittleEndian
    ds.Modality = "CT"
    ds.SOPClassUID = "1.2.840.10008.5.1.4.1.1.2"
    ds.SOPInstanceUID = pydicom.uid.generate_uid(entropy_srcs=[str(path.name)])
    ds.PatientID = "BM001"
    path.parent.mkdir(parents=True, exist_ok=True)
    ds.save_as(path, enforce_file_format=True)
    return path


def test_folder_with_mixed_files(spine_hip_exam: DxaExam, whole_body_exam: DxaExam, tmp_path: Path) -> None:
    write_ge_enhanced_sr(spine_hip_exam, tmp_path / "BM001" / "dxa_sr.dcm")
    write_hologic_reports(whole_body_exam, tmp_path / "BM002" / "dxa")
    write_apex_csv([whole_body_exam], tmp_path / "BM003" / "dxa.csv")
    _ct_like(tmp_path / "BM001" / "ct_001.dcm")
    (tmp_path / "clinical.csv").write_text("patient_id,date,sex\nBM001,2024-01-15,M\n")
    (tmp_path / "notes.txt").write_text("not dicom")
    scan = scan_path(tmp_path)
    assert scan.problems == ()
    assert len(scan.not_dxa) == 3
    formats = [(r.patient.id, r.format) for r in scan.results]
    assert formats == [
        ("BM001", ReportFormat.GE_ENHANCED_SR),
        ("BM002", ReportFormat.HOLOGIC_APEX_SC),
        ("BM002", ReportFormat.HOLOGIC_APEX_CSV),
    ]
    assert scan.results[1].to_json()["body_composition"]["alm_kg"] == 18.1165


def test_unknown_dxa_layout_in_a_folder_is_a_problem_not_a_crash(
    spine_hip_exam: DxaExam, tmp_path: Path
) -> None:
    save(ge_enhanced_sr(spine_hip_exam, GeSrOptions(root_meaning="Bone Report")), tmp_path / "odd.dcm")
    write_ge_xml_image(spine_hip_exam, tmp_path / "good.dcm")
    scan = scan_path(tmp_path)
    assert len(scan.results) == 1
    [problem] = scan.problems
    assert "SR with root container 'Bone Report' (modality BMD) — not a known DXA layout" in problem.reason


def test_single_non_dxa_file_says_what_it_is(tmp_path: Path) -> None:
    with pytest.raises(IngestError, match=r"CT object .* not a DXA report"):
        scan_path(_ct_like(tmp_path / "ct.dcm"))
    with pytest.raises(IngestError, match="no such file"):
        scan_path(tmp_path / "missing")


def test_conflicting_reports_of_one_visit_are_reported(whole_body_exam: DxaExam, tmp_path: Path) -> None:
    paths = write_hologic_reports(whole_body_exam, tmp_path)
    ds = pydicom.dcmread(paths[1])
    ds[0x0019, 0x1000].value = ds[0x0019, 0x1000].value.replace(b'"Age" ', b"").replace(b'"74"', b'"75"')
    ds.save_as(paths[1])
    [result] = scan_path(tmp_path).results
    assert result.patient.age_years == 74.0
    assert any("age_years differs" in w for w in result.warnings)
