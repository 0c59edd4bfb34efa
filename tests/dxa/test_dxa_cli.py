"""``bonemuscle dxa``: table and JSON output, exit codes."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from imaging.cli import EXIT_NOTHING_USABLE, EXIT_OK, EXIT_SOME_FAILED, EXIT_USAGE, CliError, dxa_cmd
from phantoms.dxa_exports import (
    DxaExam,
    GeSrOptions,
    ge_enhanced_sr,
    save,
    write_ge_enhanced_sr,
    write_hologic_reports,
)

CONTRACT_KEYS = {"vendor", "format", "patient", "sites", "body_composition", "warnings"}


def _run(path: Path, as_json: bool) -> int:
    return dxa_cmd.run(argparse.Namespace(path=str(path), json=as_json))


def test_json_for_one_report_is_the_contract_object(
    spine_hip_exam: DxaExam, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_ge_enhanced_sr(spine_hip_exam, tmp_path / "sr.dcm")
    assert _run(path, True) == EXIT_OK
    out = json.loads(capsys.readouterr().out)
    assert set(out) == CONTRACT_KEYS
    assert set(out["patient"]) == {"id", "sex", "age_years", "height_m", "weight_kg"}
    assert set(out["body_composition"]) == {"alm_kg", "almi_kg_m2", "alm_bmi", "lean_definition", "regions"}
    assert set(out["sites"]["L2"]) == {"bmd_g_cm2", "t_score", "z_score"}
    assert out["sites"]["femoral_neck_left"]["t_score"] == -1.5


def test_json_for_several_reports_is_a_list(
    spine_hip_exam: DxaExam, whole_body_exam: DxaExam, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_ge_enhanced_sr(spine_hip_exam, tmp_path / "sr.dcm")
    write_hologic_reports(whole_body_exam, tmp_path / "holo")
    assert _run(tmp_path, True) == EXIT_OK
    out = json.loads(capsys.readouterr().out)
    assert [r["patient"]["id"] for r in out] == ["BM002", "BM001"]  # sorted paths: holo/ before sr.dcm
    assert out[0]["body_composition"]["alm_kg"] == 18.1165


def test_human_table(whole_body_exam: DxaExam, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_hologic_reports(whole_body_exam, tmp_path)
    assert _run(tmp_path, False) == EXIT_OK
    text = capsys.readouterr().out
    assert "Hologic hologic_apex_sc: patient BM002" in text
    assert "femoral_neck_left" in text and "0.541" in text and "-2.7" in text
    assert "ALM 18.116 kg" in text and "excluding BMC" in text


def test_some_failed_exits_1_and_lists_them(
    spine_hip_exam: DxaExam, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_ge_enhanced_sr(spine_hip_exam, tmp_path / "good.dcm")
    save(ge_enhanced_sr(spine_hip_exam, GeSrOptions(root_meaning="Mystery")), tmp_path / "bad.dcm")
    assert _run(tmp_path, True) == EXIT_SOME_FAILED
    captured = capsys.readouterr()
    assert "root container 'Mystery'" in captured.err
    assert json.loads(captured.out)["patient"]["id"] == "BM001"


def test_nothing_usable_is_exit_3(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("hello")
    with pytest.raises(CliError, match="no usable DXA report") as info:
        _run(tmp_path, False)
    assert info.value.code == EXIT_NOTHING_USABLE


def test_registered_command_when_the_dispatcher_has_it(
    spine_hip_exam: DxaExam, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from imaging.cli import COMMANDS, main

    if "dxa" not in COMMANDS:
        pytest.skip("'dxa' is not registered in imaging.cli.COMMANDS yet (the lead registers it)")
    path = write_ge_enhanced_sr(spine_hip_exam, tmp_path / "sr.dcm")
    assert main(["dxa", str(path), "--json"]) == EXIT_OK
    assert json.loads(capsys.readouterr().out)["vendor"] == "GE"
    assert main(["dxa", str(tmp_path / "nope")]) == EXIT_USAGE  # as every command answers a missing path
    assert "no such file" in capsys.readouterr().err
