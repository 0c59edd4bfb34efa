"""analyze_path: what it refuses before writing anything, and the report of a run with nothing to do."""

from __future__ import annotations

from pathlib import Path

import pytest
from pipeline._synthetic_ct import write_labels, write_series

from imaging.ingest.assemble import assemble_volume
from imaging.ingest.discovery import discover
from imaging.ingest.series_index import build_index
from imaging.pipeline.run import PlanError, analyze_path
from imaging.pipeline.series_job import JobOptions
from imaging.segmentation.source import SegmentationSource


def _labels(series: Path, where: Path) -> tuple[Path, ...]:
    return tuple(write_labels(where, assemble_volume(build_index(discover(series))[0].instances)))


def test_precomputed_labels_with_several_units_are_refused_before_anything_is_written(tmp_path):
    one = write_series(tmp_path / "in" / "a", patient_id="A", n_slices=4)
    write_series(tmp_path / "in" / "b", patient_id="B", n_slices=5)
    options = JobOptions(segmentation=SegmentationSource(files=_labels(one, tmp_path / "labels")))
    lines: list[str] = []
    with pytest.raises(PlanError, match=r"describe one series .* holds 2 units"):
        analyze_path(tmp_path / "in", tmp_path / "out", options, lines.append)
    assert not (tmp_path / "out").exists() and lines == []


def test_nothing_analysable_is_an_empty_report_saying_why(tmp_path):
    series = write_series(tmp_path / "ct", n_slices=4)
    options = JobOptions(segmentation=SegmentationSource(files=_labels(series, tmp_path / "labels")))
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "notes.txt").write_text("not DICOM")
    report = analyze_path(tmp_path / "in", tmp_path / "out", options)
    assert report.outcomes == () and report.n_ok == 0 and report.cohort is None
    assert not (tmp_path / "out").exists()
    assert analyze_path(tmp_path / "ct", tmp_path / "out", options).n_ok == 1
    assert (tmp_path / "out" / "cohort.csv").is_file()
