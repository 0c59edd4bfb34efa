"""The synthetic DXA export writers: deterministic, well-formed, shaped as the reference documents."""

from __future__ import annotations

import csv
from pathlib import Path

import pydicom
import pytest

from phantoms.dxa_exports import (
    ENHANCED_SR,
    HOLOGIC_CREATOR,
    SECONDARY_CAPTURE,
    BodyRegion,
    BoneSite,
    DxaExam,
    GeSrOptions,
    HologicScan,
    Subject,
    ge_enhanced_sr,
    hologic_scans,
    hologic_text_block,
    write_apex_csv,
    write_ge_enhanced_sr,
    write_hologic_reports,
    write_nhanes_csv,
)

EXAM = DxaExam(
    Subject("BM009", "F", 70, 1.60, 55.0),
    sites={
        "lumbar_spine_L1_L4": BoneSite(0.85, -2.0, -0.5),
        "femoral_neck_left": BoneSite(0.6, -2.2, -0.4),
        "femoral_neck_right": BoneSite(0.61, -2.1, -0.3),
    },
    regions={"arm_left": BodyRegion(1800.0, 1500.0, 100.0), "total": BodyRegion(35000.0, 20000.0, 1900.0)},
)


def test_same_description_gives_identical_files(tmp_path: Path) -> None:
    a = write_ge_enhanced_sr(EXAM, tmp_path / "a.dcm").read_bytes()
    b = write_ge_enhanced_sr(EXAM, tmp_path / "b.dcm").read_bytes()
    assert a == b
    other = DxaExam(EXAM.subject, EXAM.sites, EXAM.regions, seed="another")
    assert ge_enhanced_sr(other).SOPInstanceUID != ge_enhanced_sr(EXAM).SOPInstanceUID


def test_enhanced_sr_header_and_tree(tmp_path: Path) -> None:
    ds = pydicom.dcmread(write_ge_enhanced_sr(EXAM, tmp_path / "sr.dcm", GeSrOptions(modality="BD")))
    assert ds.SOPClassUID == ENHANCED_SR and ds.file_meta.MediaStorageSOPClassUID == ENHANCED_SR
    assert ds.Modality == "BD" and ds.ValueType == "CONTAINER"
    assert ds.ConceptNameCodeSequence[0].CodeMeaning == "DXA Report"
    scans = [item.ConceptNameCodeSequence[0].CodeMeaning for item in ds.ContentSequence]
    assert scans == ["AP Spine", "DualFemur", "Body Composition"]
    regions = [item.ConceptNameCodeSequence[0].CodeMeaning for item in ds.ContentSequence[1].ContentSequence]
    assert regions == ["Neck Left", "Neck Right"]
    codes = {item.ConceptNameCodeSequence[0].CodingSchemeDesignator for item in ds.ContentSequence}
    assert codes == {"99BONEMUSCLE"}
    assert ds.PatientSize == pytest.approx(1.60) and ds.PatientAge == "070Y"


def test_hologic_sc_is_a_valid_secondary_capture(tmp_path: Path) -> None:
    assert hologic_scans(EXAM) == [HologicScan.SPINE, HologicScan.HIP, HologicScan.WHOLE_BODY]
    paths = write_hologic_reports(EXAM, tmp_path)
    ds = pydicom.dcmread(paths[-1])
    assert ds.SOPClassUID == SECONDARY_CAPTURE and ds.Modality == "OT" and ds.BodyPartExamined == ""
    assert ds[0x0019, 0x0010].value == HOLOGIC_CREATOR
    block = ds[0x0019, 0x1000].value.decode()
    assert block.startswith("<HologicHeader1>")
    assert 'PatInfo.js">' in block and 'ScanInfo.js">' in block and 'Results.js">' in block
    assert ds.pixel_array.shape == (ds.Rows, ds.Columns) and ds.pixel_array.max() > ds.pixel_array.min()


def test_hologic_whole_body_tables() -> None:
    block = hologic_text_block(EXAM, HologicScan.WHOLE_BODY)
    assert 'ResultsTable1[0][2] = "Lean + BMC[g]";' in block
    assert 'ResultsTable2[0][3] = "Lean[g]";' in block
    assert 'ResultsTable2[1][0] = "L Arm";' in block and 'ResultsTable2[1][3] = "1800.0";' in block
    assert 'var Height = "63.0 in";' in block and 'var Weight = "121.3 lb";' in block


def test_csv_columns(tmp_path: Path) -> None:
    one_hip = DxaExam(
        EXAM.subject, {k: v for k, v in EXAM.sites.items() if "right" not in k.value}, EXAM.regions
    )
    with open(write_apex_csv([one_hip], tmp_path / "apex.csv")) as fh:
        [row] = list(csv.DictReader(fh))
    assert row["LARM_LEAN"] == "1800.0" and row["NECK_BMD"] == "0.600" and row["HIP_SIDE"] == "L"
    assert row["RARM_LEAN"] == "" and "NECK_TSCORE" not in row
    with open(write_nhanes_csv([one_hip], tmp_path / "nh.csv")) as fh:
        [row] = list(csv.DictReader(fh))
    assert row["DXDLALE"] == "1800.0" and row["DXXLALI"] == "1900.0" and row["RIAGENDR"] == "2"


def test_flat_apex_row_refuses_two_hips(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="one hip"):
        write_apex_csv([EXAM], tmp_path / "apex.csv")


def test_description_is_validated() -> None:
    with pytest.raises(ValueError, match="sex"):
        Subject("X", "female", 50, 1.6, 60.0)
    with pytest.raises(ValueError):
        DxaExam(EXAM.subject, sites={"femoral_neck": BoneSite(0.8)})
