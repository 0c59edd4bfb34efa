"""`bonemuscle index`: text and JSON reports, exit codes, one-line errors."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from ingest.dicom_factory import write_series

import imaging.cli as cli
from imaging.cli import main


@pytest.fixture(autouse=True)
def only_index(monkeypatch: pytest.MonkeyPatch) -> None:
    """Register only `index`, so these tests do not depend on other subcommands being importable."""
    monkeypatch.setattr(cli, "COMMANDS", {"index": "index_cmd"})


def test_text_report_and_exit_ok(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_series(tmp_path, 4, patient_id="P7", series_number=3, series_description="Abd 1.0 B30f")
    assert main(["index", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "4 DICOM instances" in out and "0 problem(s)" in out
    assert "Patient P7" in out
    assert "Abd 1.0 B30f" in out and "chosen for analysis" in out
    assert "8x8" in out and "0.8x0.8" in out


def test_json_schema(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_series(tmp_path / "a", 3, series_number=2, slice_thickness=1.0, study_uid="1.2.3")
    write_series(tmp_path / "b", 3, series_number=3, slice_thickness=5.0, study_uid="1.2.3")
    assert main(["index", str(tmp_path), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["schema_version"] == "1"
    assert report["summary"]["dicom_instances"] == 6 and report["summary"]["chosen_series"] == 1
    [patient] = report["patients"]
    [study] = patient["studies"]
    assert study["chosen_unit"] == "ct"
    first, second = study["series"]
    assert first["chosen"] and first["usable"] and first["not_chosen_reason"] is None
    assert first["matrix"] == {"rows": 8, "columns": 8}
    assert first["pixel_spacing_mm"] == {"row": 0.8, "column": 0.8}
    assert first["orientation"] == "axial" and first["kind"] == "ct_image"
    assert not second["chosen"] and "thicker" in second["not_chosen_reason"]


def test_problems_give_exit_1_and_are_listed(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_series(tmp_path, 2)
    (tmp_path / "broken.dcm").write_bytes(os.urandom(1000))
    assert main(["index", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert "Problems (1):" in out and "broken.dcm" in out


def test_no_dicom_gives_exit_3(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "notes.txt").write_text("nothing here")
    assert main(["index", str(tmp_path)]) == 3
    captured = capsys.readouterr()
    assert "1 non-DICOM skipped" in captured.out
    assert "no DICOM files found" in captured.err


def test_nothing_usable_gives_exit_3(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_series(tmp_path, 2, image_type=("ORIGINAL", "PRIMARY", "LOCALIZER"))
    assert main(["index", str(tmp_path)]) == 3
    assert "not usable: localizer" in capsys.readouterr().out


def test_missing_path_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["index", str(tmp_path / "absent")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no such file or directory" in err and "Traceback" not in err


def test_hostile_names_are_printed_escaped(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_series(tmp_path / "a\nb", 1)
    (tmp_path / "a\nb" / "x\n.dcm").write_bytes(b"junk" * 100)
    assert main(["index", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert "a\\nb" in out and "x\\n.dcm" in out
