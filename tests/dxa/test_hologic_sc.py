"""Hologic APEX secondary capture with the (0019,1000) text block."""

from __future__ import annotations

from pathlib import Path

import pydicom
import pytest

from imaging.dxa.hologic_sc import read_hologic_sc, tables, text_block
from imaging.dxa.read import merge_visits
from imaging.ingest.model import IngestError
from phantoms.dxa_exports import (
    DxaExam,
    HologicOptions,
    HologicScan,
    hologic_sc,
    write_hologic_reports,
)


def test_whole_body_alm_from_the_ancillary_lean_column(whole_body_exam: DxaExam, tmp_path: Path) -> None:
    path = tmp_path / "wb.dcm"
    hologic_sc(whole_body_exam, HologicScan.WHOLE_BODY).save_as(path, enforce_file_format=True)
    out = read_hologic_sc(pydicom.dcmread(path), str(path)).to_json()
    assert out["vendor"] == "Hologic" and out["format"] == "hologic_apex_sc"
    assert out["body_composition"]["alm_kg"] == 18.1165
    assert out["body_composition"]["regions"]["leg_right"] == {
        "lean_g": 6852.2,
        "fat_g": 4380.6,
        "bmc_g": 362.0,
    }
    # 61.5 in / 105.8 lb style units are converted: 1.58 m written as 62.2 in, 48 kg as 105.8 lb
    assert out["patient"]["height_m"] == pytest.approx(1.58, abs=0.0013)
    assert out["patient"]["weight_kg"] == pytest.approx(48.0, abs=0.05)
    assert out["patient"]["sex"] == "F"


def test_main_table_only_refuses_lean_plus_bmc_as_alm(whole_body_exam: DxaExam) -> None:
    ds = hologic_sc(whole_body_exam, HologicScan.WHOLE_BODY, HologicOptions(ancillary_table=False))
    assert "Lean + BMC" in text_block(ds) and "Lean[g]" not in text_block(ds)
    out = read_hologic_sc(ds, "wb.dcm").to_json()
    assert out["body_composition"]["alm_kg"] is None
    assert out["body_composition"]["regions"]["arm_left"]["lean_g"] is None
    assert any("only Lean+BMC" in w and "must exclude BMC" in w for w in out["warnings"])


def test_metric_units_and_day_first_dates(whole_body_exam: DxaExam) -> None:
    options = HologicOptions(height_unit="cm", weight_unit="kg", date_format="%d.%m.%Y")
    ds = hologic_sc(whole_body_exam, HologicScan.WHOLE_BODY, options)
    assert 'Height = "158.0 cm"' in text_block(ds)
    out = read_hologic_sc(ds, "wb.dcm").to_json()
    assert out["patient"]["height_m"] == 1.58 and out["patient"]["weight_kg"] == 48.0
    assert out["body_composition"]["almi_kg_m2"] == round(18.1165 / 1.58**2, 3)


def test_every_scan_round_trips_and_merges_into_one_visit(whole_body_exam: DxaExam, tmp_path: Path) -> None:
    paths = write_hologic_reports(whole_body_exam, tmp_path)
    assert [p.name for p in paths] == [
        "hologic_LSPINE.dcm",
        "hologic_HIP.dcm",
        "hologic_ARM.dcm",
        "hologic_WB.dcm",
    ]
    assert pydicom.dcmread(paths[1]).BodyPartExamined == "HIP"
    assert pydicom.dcmread(paths[0]).pixel_array.shape == (64, 96)
    results = [read_hologic_sc(pydicom.dcmread(p), str(p)) for p in paths]
    merged = merge_visits(results)
    assert len(merged) == 1
    out = merged[0].to_json()
    for key, values in whole_body_exam.sites.items():
        assert out["sites"][key.value] == {
            "bmd_g_cm2": values.bmd_g_cm2,
            "t_score": values.t_score,
            "z_score": values.z_score,
        }
    assert out["body_composition"]["alm_kg"] == 18.1165
    assert not [w for w in out["warnings"] if "no whole-body composition" in w]


def test_dual_hip_rows_carry_their_side(spine_hip_exam: DxaExam) -> None:
    out = read_hologic_sc(hologic_sc(spine_hip_exam, HologicScan.HIP), "hip.dcm").to_json()
    assert out["sites"]["femoral_neck_left"]["t_score"] == -1.5
    assert out["sites"]["femoral_neck_right"]["bmd_g_cm2"] == 0.840


def test_single_hip_without_side_is_not_guessed(whole_body_exam: DxaExam) -> None:
    ds = hologic_sc(whole_body_exam, HologicScan.HIP)
    del ds.Laterality
    block = text_block(ds).replace('var Side = "Left";', 'var Side = "";')
    ds[0x0019, 0x1000].value = block.encode()
    with pytest.raises(IngestError, match=r"no usable results.*side unknown"):
        read_hologic_sc(ds, "hip.dcm")


def test_results_cells_parse_into_tables(whole_body_exam: DxaExam) -> None:
    found = tables(text_block(hologic_sc(whole_body_exam, HologicScan.SPINE)))
    assert found["ResultsTable1"][0][:4] == ["Region", "Area[cm²]", "BMC[(g)]", "BMD[g/cm²]"]
    assert [row[0] for row in found["ResultsTable1"][1:]] == ["L1", "L2", "L3", "L4", "Total"]


def test_object_without_block_is_refused() -> None:
    with pytest.raises(IngestError, match=r"no Hologic \(0019,1000\) text block"):
        read_hologic_sc(pydicom.Dataset(), "sc.dcm")
