"""The pipeline's entry point: every contract file in the contract layout, problems reported not raised."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import numpy as np
import pydicom
import pytest

from imaging.outputs import write_series_outputs
from imaging.outputs.paths import safe_part
from imaging.segmentation.labels import LabelMap

from ._synthetic import make_case, make_results

EXPECTED = {
    "results.json",
    "tissue.nii.gz",
    "tissue.labels.json",
    "vertebrae.nii.gz",
    "vertebrae.labels.json",
    "seg.dcm",
    "sr.dcm",
    "qa_L2.png",
    "qa_L3.png",
    "qa_levels.png",
    "report.html",
}


def test_all_files_in_contract_layout(tmp_path: Path) -> None:
    case = make_case(tmp_path / "src")
    results = make_results(case)
    results["series"]["patient_id"] = "../../etc"
    out = write_series_outputs(
        tmp_path / "out", case.volume, case.datasets, case.tissue, case.vertebrae, results
    )
    assert out.problems == ()
    assert {p.name for p in out.files} == EXPECTED
    assert {p.name for p in out.folder.iterdir()} == EXPECTED  # no temporary files left behind
    rel = out.folder.relative_to(tmp_path / "out").parts
    assert rel == (safe_part("../../etc"), results["series"]["study_uid"], results["series"]["series_uid"])
    assert json.loads((out.folder / "results.json").read_text()) == results
    assert pydicom.dcmread(out.folder / "seg.dcm").Modality == "SEG"
    assert pydicom.dcmread(out.folder / "sr.dcm").Modality == "SR"
    assert "Doe^Jane" in (out.folder / "report.html").read_text()


def test_invalid_results_write_nothing(tmp_path: Path) -> None:
    case = make_case(tmp_path / "src")
    results = make_results(case)
    del results["levels"]["L3"]["muscle_area_cm2"]
    with pytest.raises(ValueError, match="muscle_area_cm2"):
        write_series_outputs(
            tmp_path / "out", case.volume, case.datasets, case.tissue, case.vertebrae, results
        )
    assert not (tmp_path / "out").exists()


def test_missing_seg_is_a_reported_problem(tmp_path: Path) -> None:
    case = make_case(tmp_path / "src")
    results = make_results(case)
    empty_t = LabelMap(np.zeros_like(case.tissue.array), case.tissue.names)
    empty_v = LabelMap(np.zeros_like(case.vertebrae.array), case.vertebrae.names)
    results = copy.deepcopy(results)
    out = write_series_outputs(tmp_path / "out", case.volume, case.datasets, empty_t, empty_v, results)
    assert any(p.startswith("seg.dcm not written") for p in out.problems)
    names = {p.name for p in out.files}
    assert "seg.dcm" not in names and {"results.json", "sr.dcm", "report.html"} <= names
