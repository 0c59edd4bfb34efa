"""TID 1500 SR: read back, measurement values identical to results.json, references to SEG and sources."""

from __future__ import annotations

from pathlib import Path

import highdicom as hd
import pydicom
import pytest

from imaging.outputs.dicom_seg import build_seg
from imaging.outputs.dicom_sr import GROUPS, build_sr

from ._synthetic import make_case, make_results

KEY_OF = {(g.label, m.name.value): m.key for g in GROUPS for m in g.measures}


def _sr(tmp_path: Path, with_seg: bool = True, **case_kw) -> tuple[Path, dict, object]:
    case = make_case(tmp_path / "src", **case_kw)
    results = make_results(case)
    seg, specs = (None, [])
    if with_seg:
        seg, specs = build_seg(
            case.volume, case.datasets, case.tissue, case.vertebrae, results["model"], software_version="t"
        )
    sr = build_sr(results, case.volume, case.datasets, seg, specs, software_version="t")
    path = tmp_path / "sr.dcm"
    sr.save_as(path, enforce_file_format=True)
    return path, results, seg


def _values(path: Path) -> dict[tuple[str, str], float]:
    """(level, results key) -> value, read with highdicom's SR parser."""
    report = hd.sr.srread(path)
    groups = [
        *report.content.get_planar_roi_measurement_groups(),
        *report.content.get_image_measurement_groups(),
    ]
    out = {}
    for group in groups:
        level, label = str(group.tracking_identifier).split(" ", 1)
        for m in group.get_measurements():
            out[(level, KEY_OF[(label, m.name.value)])] = m.value
    return out


@pytest.mark.parametrize("case_kw", [{}, {"tilt_deg": 15.0}, {"duplicate_at": 3}])
def test_values_equal_results(tmp_path: Path, case_kw: dict) -> None:
    path, results, _ = _sr(tmp_path, **case_kw)
    expected = {
        (level, key): value
        for level, entry in results["levels"].items()
        for key, value in entry.items()
        if key not in ("slice_index", "z_mm") and value is not None
    }
    assert _values(path) == expected  # identical floats, nulls left out


def test_units_and_codes(tmp_path: Path) -> None:
    path, _, _ = _sr(tmp_path)
    report = hd.sr.srread(path)
    units = {}
    for group in report.content.get_planar_roi_measurement_groups():
        for m in group.get_measurements():
            units[m.name.meaning] = m.unit.value
    assert units["Area"] == "cm2"
    assert units["Mean Attenuation Coefficient"] == "[hnsf'U]"
    ds = pydicom.dcmread(path)
    assert ds.SOPClassUID == "1.2.840.10008.5.1.4.1.1.88.34"  # Comprehensive 3D SR
    assert ds.ContentTemplateSequence[0].TemplateIdentifier == "1500"


def test_groups_reference_seg_frames_and_sources(tmp_path: Path) -> None:
    path, _, seg = _sr(tmp_path)
    report = hd.sr.srread(path)
    planar = report.content.get_planar_roi_measurement_groups()
    assert planar, "tissue groups must reference the SEG"
    for group in planar:
        ref = group.referenced_segmentation_frame
        assert ref is not None
        assert ref.referenced_sop_instance_uid == seg.SOPInstanceUID
        frame = ref.referenced_frame_numbers[0]
        segment = ref.referenced_segment_numbers[0]
        seg_frame = seg.PerFrameFunctionalGroupsSequence[frame - 1]
        assert int(seg_frame.SegmentIdentificationSequence[0].ReferencedSegmentNumber) == segment
        assert group.tracking_uid
    ds = pydicom.dcmread(path)
    evidence = {
        item.ReferencedSOPInstanceUID
        for study in ds.CurrentRequestedProcedureEvidenceSequence
        for series in study.ReferencedSeriesSequence
        for item in series.ReferencedSOPSequence
    }
    assert seg.SOPInstanceUID in evidence


def test_without_seg_groups_reference_source_images(tmp_path: Path) -> None:
    path, results, _ = _sr(tmp_path, with_seg=False)
    report = hd.sr.srread(path)
    assert report.content.get_planar_roi_measurement_groups() == []
    groups = report.content.get_image_measurement_groups()
    assert len(groups) == 10  # 2 levels x 5 groups
    assert _values(path)[("L3", "muscle_area_cm2")] == results["levels"]["L3"]["muscle_area_cm2"]


def test_no_measured_level_is_refused_with_the_reason(tmp_path: Path) -> None:
    case = make_case(tmp_path / "src")
    results = {**make_results(case), "levels": {}}
    with pytest.raises(ValueError, match="no level was measured"):
        build_sr(results, case.volume, case.datasets, None, [], software_version="t")
