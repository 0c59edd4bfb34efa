"""GE Lunar Enhanced SR: writer -> reader round trips and the layout variations sites produce."""

from __future__ import annotations

from pathlib import Path

import pydicom
import pytest

from imaging.dxa.ge_sr import read_ge_sr
from imaging.dxa.model import ReportFormat, Vendor
from imaging.ingest.model import IngestError
from phantoms.dxa_exports import DxaExam, GeSrOptions, MassUnit, ge_enhanced_sr


def _read(exam: DxaExam, options: GeSrOptions, tmp_path: Path) -> dict:
    path = tmp_path / "sr.dcm"
    ge_enhanced_sr(exam, options).save_as(path, enforce_file_format=True)
    return read_ge_sr(pydicom.dcmread(path), str(path)).to_json()


def test_round_trip_sites_and_patient(spine_hip_exam: DxaExam, tmp_path: Path) -> None:
    out = _read(spine_hip_exam, GeSrOptions(), tmp_path)
    assert (out["vendor"], out["format"]) == (Vendor.GE.value, ReportFormat.GE_ENHANCED_SR.value)
    assert out["patient"] == {
        "id": "BM001",
        "sex": "M",
        "age_years": 58.0,
        "height_m": 1.78,
        "weight_kg": 82.0,
    }
    for key, values in spine_hip_exam.sites.items():
        assert out["sites"][key.value] == {
            "bmd_g_cm2": values.bmd_g_cm2,
            "t_score": values.t_score,
            "z_score": values.z_score,
        }
    assert out["sites"]["femoral_neck_left"] == {"bmd_g_cm2": 0.826, "t_score": -1.5, "z_score": 0.7}


@pytest.mark.parametrize("scores_as_text", [True, False])
@pytest.mark.parametrize("decimal_comma", [False, True])
def test_text_or_num_scores_and_decimal_commas(
    spine_hip_exam: DxaExam, tmp_path: Path, scores_as_text: bool, decimal_comma: bool
) -> None:
    options = GeSrOptions(scores_as_text=scores_as_text, decimal_comma=decimal_comma, modality="BD")
    out = _read(spine_hip_exam, options, tmp_path)
    assert out["sites"]["lumbar_spine_L1_L4"] == {"bmd_g_cm2": 1.023, "t_score": -1.5, "z_score": -0.9}


def test_decimal_comma_really_is_in_the_file(spine_hip_exam: DxaExam) -> None:
    ds = ge_enhanced_sr(spine_hip_exam, GeSrOptions(decimal_comma=True))
    first_region = ds.ContentSequence[0].ContentSequence[0]
    assert "," in str(first_region.ContentSequence[0].MeasuredValueSequence[0].NumericValue)
    assert "," in first_region.ContentSequence[1].TextValue


def test_single_left_femur_maps_neck_and_total_to_left(spine_hip_exam: DxaExam, tmp_path: Path) -> None:
    left_only = DxaExam(
        spine_hip_exam.subject,
        sites={k: v for k, v in spine_hip_exam.sites.items() if not k.value.endswith("right")},
    )
    ds = ge_enhanced_sr(left_only)
    assert [meaning.ConceptNameCodeSequence[0].CodeMeaning for meaning in ds.ContentSequence] == [
        "AP Spine",
        "Left Femur",
    ]
    out = read_ge_sr(ds, "mem")
    assert out.to_json()["sites"]["total_hip_left"]["bmd_g_cm2"] == 0.902
    assert "femoral_neck_right" not in out.to_json()["sites"]


def test_trend_container_does_not_override_current_values(spine_hip_exam: DxaExam, tmp_path: Path) -> None:
    out = _read(spine_hip_exam, GeSrOptions(with_trend=True), tmp_path)
    assert out["sites"]["lumbar_spine_L1_L4"]["bmd_g_cm2"] == 1.023


@pytest.mark.parametrize("unit", list(MassUnit))
def test_ge_limb_totals_give_alm_in_any_mass_unit(
    ge_limb_totals: dict, unit: MassUnit, tmp_path: Path
) -> None:
    from phantoms.dxa_exports import Subject

    exam = DxaExam(Subject("G1", "F", 66, 1.62, 61.0), regions=ge_limb_totals)
    out = _read(exam, GeSrOptions(mass_unit=unit), tmp_path)
    assert out["body_composition"]["alm_kg"] == pytest.approx(13.338, abs=1e-4)
    assert out["body_composition"]["regions"]["arms"]["lean_g"] == pytest.approx(3085.0, abs=0.05)
    assert out["body_composition"]["lean_definition"] == "excluding_bmc"
    assert not [w for w in out["warnings"] if "tissue" in w or "total is" in w]


def test_unknown_root_container_is_named(spine_hip_exam: DxaExam) -> None:
    ds = ge_enhanced_sr(spine_hip_exam, GeSrOptions(root_meaning="Imaging Measurement Report"))
    with pytest.raises(
        IngestError, match="SR with root container 'Imaging Measurement Report' — not a known DXA"
    ):
        read_ge_sr(ds, "x.dcm")


def test_empty_dxa_report_lists_what_it_found(spine_hip_exam: DxaExam) -> None:
    ds = ge_enhanced_sr(spine_hip_exam)
    for scan in ds.ContentSequence:
        scan.ConceptNameCodeSequence[0].CodeMeaning = "Hand"
    with pytest.raises(IngestError, match=r"holds no known site.*Hand"):
        read_ge_sr(ds, "x.dcm")


def test_num_item_without_a_measured_value_is_null_and_says_why(spine_hip_exam: DxaExam) -> None:
    ds = ge_enhanced_sr(spine_hip_exam)
    region = ds.ContentSequence[0].ContentSequence[0]  # AP Spine, its first region
    bmd = region.ContentSequence[0]
    assert bmd.ValueType == "NUM"
    del bmd.MeasuredValueSequence
    out = read_ge_sr(ds, "mem").to_json()
    assert any("without a measured value" in w for w in out["warnings"])
