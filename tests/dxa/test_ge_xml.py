"""GE ImageComments XML, newer <DXA_RESULTS> and older <DENSITOMETRY_RESULTS> layouts."""

from __future__ import annotations

from pathlib import Path

import pydicom
import pytest

from imaging.dxa.ge_xml import read_ge_xml
from imaging.ingest.model import IngestError
from phantoms.dxa_exports import DxaExam, GeXmlLayout, ge_results_xml, write_ge_xml_image


@pytest.mark.parametrize("layout", list(GeXmlLayout))
def test_neck_left_from_both_layouts(spine_hip_exam: DxaExam, layout: GeXmlLayout, tmp_path: Path) -> None:
    path = write_ge_xml_image(spine_hip_exam, tmp_path / "img.dcm", layout)
    text = pydicom.dcmread(path).ImageComments
    assert '<ROI region="Neck Left">' in text
    assert ("<YAT>" in text) == (layout is GeXmlLayout.DENSITOMETRY_RESULTS)
    out = read_ge_xml(pydicom.dcmread(path), str(path)).to_json()
    assert out["format"] == "ge_image_comments_xml"
    assert out["sites"]["femoral_neck_left"] == {"bmd_g_cm2": 0.826, "t_score": -1.5, "z_score": 0.7}
    assert out["sites"]["total_hip_right"]["bmd_g_cm2"] == 0.915
    assert out["sites"]["lumbar_spine_L1_L4"]["t_score"] == -1.5


def test_older_layout_reads_only_the_current_exam(spine_hip_exam: DxaExam) -> None:
    current = ge_results_xml(spine_hip_exam, GeXmlLayout.DENSITOMETRY_RESULTS)
    previous = (
        '<PREVIOUS_EXAM><SCAN type="DualFemur"><ROI region="Neck Left"><BMD>0.9</BMD></ROI></SCAN>'
        "</PREVIOUS_EXAM>"
    )
    ds = pydicom.Dataset()
    ds.ImageComments = current.replace("</CURRENT_EXAM>", "</CURRENT_EXAM>" + previous)
    assert read_ge_xml(ds, "mem").to_json()["sites"]["femoral_neck_left"]["bmd_g_cm2"] == 0.826


def test_body_composition_in_xml(whole_body_exam: DxaExam) -> None:
    ds = pydicom.Dataset()
    ds.ImageComments = ge_results_xml(whole_body_exam)
    assert read_ge_xml(ds, "mem").to_json()["body_composition"]["alm_kg"] == 18.1165


def test_broken_xml_is_a_clear_error() -> None:
    ds = pydicom.Dataset()
    ds.ImageComments = "<DXA_RESULTS><SCAN type='AP Spine'>"
    with pytest.raises(IngestError, match="does not parse"):
        read_ge_xml(ds, "img.dcm")
