"""APEX database-style and NHANES-style CSV exports."""

from __future__ import annotations

from pathlib import Path

import pytest

from imaging.dxa.csv_exports import read_csv_export
from imaging.ingest.model import IngestError
from phantoms.dxa_exports import DxaExam, write_apex_csv, write_nhanes_csv


def test_apex_round_trip_without_scores(whole_body_exam: DxaExam, tmp_path: Path) -> None:
    [result] = read_csv_export(write_apex_csv([whole_body_exam], tmp_path / "apex.csv"))
    out = result.to_json()
    assert out["format"] == "hologic_apex_csv"
    assert out["patient"] == {
        "id": "BM002",
        "sex": "F",
        "age_years": 74.0,
        "height_m": 1.58,
        "weight_kg": 48.0,
    }
    assert out["body_composition"]["alm_kg"] == 18.1165
    assert out["sites"]["femoral_neck_left"] == {"bmd_g_cm2": 0.541, "t_score": None, "z_score": None}
    assert out["sites"]["radius_33_left"]["bmd_g_cm2"] == 0.598
    assert any("store no T- or Z-scores" in w for w in out["warnings"])


def test_apex_optional_score_columns(whole_body_exam: DxaExam, tmp_path: Path) -> None:
    [result] = read_csv_export(write_apex_csv([whole_body_exam], tmp_path / "apex.csv", score_columns=True))
    assert result.to_json()["sites"]["femoral_neck_left"] == {
        "bmd_g_cm2": 0.541,
        "t_score": -2.7,
        "z_score": -0.6,
    }


def test_apex_hip_without_side_is_not_reported(whole_body_exam: DxaExam, tmp_path: Path) -> None:
    path = write_apex_csv([whole_body_exam], tmp_path / "apex.csv")
    lines = path.read_text().splitlines()
    header = lines[0].split(",")
    row = lines[1].split(",")
    row[header.index("HIP_SIDE")] = ""
    path.write_text(lines[0] + "\n" + ",".join(row) + "\n")
    out = read_csv_export(path)[0].to_json()
    assert "femoral_neck_left" not in out["sites"]
    assert any("HIP_SIDE is empty" in w for w in out["warnings"])


def test_nhanes_uses_lean_excluding_bmc(
    whole_body_exam: DxaExam, spine_hip_exam: DxaExam, tmp_path: Path
) -> None:
    results = read_csv_export(write_nhanes_csv([whole_body_exam, spine_hip_exam], tmp_path / "nh.csv"))
    assert [r.patient.id for r in results] == ["BM002", "BM001"]
    wb = results[0].to_json()
    assert wb["format"] == "nhanes_csv"
    assert wb["body_composition"]["alm_kg"] == 18.1165
    assert wb["sites"]["L3"]["bmd_g_cm2"] == 0.760
    assert results[1].body_composition.alm_kg is None


def test_nhanes_lean_including_bmc_only_is_refused(whole_body_exam: DxaExam, tmp_path: Path) -> None:
    path = write_nhanes_csv([whole_body_exam], tmp_path / "nh.csv", lean_excluding_bmc=False)
    assert "DXXLALI" in path.read_text() and "DXDLALE" not in path.read_text()
    out = read_csv_export(path)[0].to_json()
    assert out["body_composition"]["alm_kg"] is None
    assert any("only Lean+BMC" in w for w in out["warnings"])


def test_unknown_csv_names_its_columns(tmp_path: Path) -> None:
    path = tmp_path / "clinical.csv"
    path.write_text("patient_id,date,sex,grip_kg\nBM001,2024-01-15,M,40\n")
    with pytest.raises(IngestError, match=r"columns \(patient_id, date, sex, grip_kg\) are not a known DXA"):
        read_csv_export(path)


def _edited(path: Path, column: str, value: str) -> Path:
    """``path`` with ``column`` of its first data row set to ``value``."""
    lines = path.read_text().splitlines()
    header = lines[0].split(",")
    row = lines[1].split(",")
    row[header.index(column)] = value
    path.write_text("\n".join([lines[0], ",".join(row), *lines[2:]]) + "\n")
    return path


def test_apex_e_notation_is_read_as_the_number_it_is(whole_body_exam: DxaExam, tmp_path: Path) -> None:
    path = _edited(write_apex_csv([whole_body_exam], tmp_path / "apex.csv"), "NECK_BMD", "5.4100E-01")
    [result] = read_csv_export(path)
    assert result.to_json()["sites"]["femoral_neck_left"]["bmd_g_cm2"] == 0.541


@pytest.mark.parametrize(
    ("column", "value"), [("NECK_BMD", "1e999"), ("NECK_BMD", "8.12"), ("NECK_BMD", "-0.5")]
)
def test_apex_implausible_bmd_is_null_with_a_warning(
    whole_body_exam: DxaExam, tmp_path: Path, column: str, value: str
) -> None:
    [result] = read_csv_export(
        _edited(write_apex_csv([whole_body_exam], tmp_path / "apex.csv"), column, value)
    )
    out = result.to_json()
    assert out["sites"].get("femoral_neck_left", {}).get("bmd_g_cm2") is None  # no site, or a null BMD
    assert any(value in w for w in out["warnings"])


def test_apex_negative_lean_mass_is_never_summed_into_alm(whole_body_exam: DxaExam, tmp_path: Path) -> None:
    path = _edited(write_apex_csv([whole_body_exam], tmp_path / "apex.csv"), "LARM_LEAN", "-1500")
    [result] = read_csv_export(path)
    out = result.to_json()
    assert out["body_composition"]["regions"]["arm_left"]["lean_g"] is None
    assert out["body_composition"]["alm_kg"] is None
    assert any("arm_left lean mass" in w and "not plausible" in w for w in out["warnings"])


def test_apex_duplicated_column_is_refused_naming_it(whole_body_exam: DxaExam, tmp_path: Path) -> None:
    path = write_apex_csv([whole_body_exam], tmp_path / "apex.csv")
    lines = path.read_text().splitlines()
    path.write_text("\n".join([lines[0] + ",NECK_BMD", *(line + ",0.9" for line in lines[1:])]) + "\n")
    with pytest.raises(IngestError, match="NECK_BMD appear"):
        read_csv_export(path)


def test_apex_latin1_export_is_read(whole_body_exam: DxaExam, tmp_path: Path) -> None:
    path = write_apex_csv([whole_body_exam], tmp_path / "apex.csv")
    lines = path.read_text().splitlines()
    path.write_bytes(
        ("\n".join([lines[0] + ",NAME", *(line + ",Müller" for line in lines[1:])]) + "\n").encode("latin-1")
    )
    [result] = read_csv_export(path)
    assert result.to_json()["body_composition"]["alm_kg"] == 18.1165
