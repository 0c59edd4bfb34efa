"""cohort.html: counts, three plots as data URIs, cut-offs from the criteria data, escaping, determinism."""

from __future__ import annotations

import base64
import dataclasses
import re
from pathlib import Path

import pytest

from imaging.classification import criteria as C
from imaging.outputs.cohort import render_csv
from imaging.outputs.cohort_page import (
    _smi_cutoffs,
    l1_hu_png,
    smi_missing,
    status_counts,
    write_cohort_page,
)
from imaging.outputs.paths import series_dir

_IMG = re.compile(r'<img alt="[^"]*" src="data:image/png;base64,([A-Za-z0-9+/=]+)">')


def _row(pid: str, series: str, **values: object) -> dict[str, str]:
    row = {"patient_id": pid, "study_uid": "1.2.3", "series_uid": series, "modality": "CT"}
    row.update({k: "" if v is None else str(v) for k, v in values.items()})
    return row


def _cohort(tmp_path: Path, rows: list[dict[str, str]]) -> Path:
    (tmp_path / "cohort.csv").write_text(render_csv(rows), encoding="utf-8")
    return tmp_path


ROWS = [
    _row(
        "P1",
        "1.1",
        sex="M",
        height_m=1.8,
        contrast="no",
        L3_muscle_area_cm2=150.0,
        L3_smi_cm2_m2=46.3,
        L1_trabecular_hu_mean=95.5,
        class_osteosarcopenia="insufficient_data",
        class_osteosarcopenia_ct_opportunistic="suspected",
        class_CT_muscle_Derstine2018="negative",
    ),
    _row(
        "P2",
        "1.2",
        sex="F",
        height_m=1.6,
        contrast="yes",
        L3_muscle_area_cm2=80.0,
        L3_smi_cm2_m2=31.25,
        L1_trabecular_hu_mean=212.0,
        class_CT_muscle_Derstine2018="suspected",
    ),
    # no height: SMI missing; MR: no HU
    _row("P2", "1.3", modality="MR", sex="F", contrast="unknown", L3_muscle_area_cm2=70.0),
    # no L3 and no height
    _row("P3", "1.4", sex="M", contrast="no", L1_trabecular_hu_mean=140.0),
]


@pytest.fixture
def page(tmp_path: Path) -> str:
    return write_cohort_page(_cohort(tmp_path, ROWS)).read_text(encoding="utf-8")


def test_page_states_counts_and_missing(page: str) -> None:
    assert "<tr><th>Series analysed</th><td>4</td></tr>" in page
    assert "<tr><th>Patients</th><td>3</td></tr>" in page
    assert "CT: 3, MR: 1" in page
    assert "yes: 1, no: 2, unknown: 1" in page
    assert "SMI unavailable for 2 series: no height for 2, no L3 muscle area for 1." in page
    assert "L1 HU unavailable for 1 series (1 not CT" in page
    assert "46.3" in page and "31.2" in page and "212.0" in page  # table values, one decimal
    assert "<td class='num'>—</td>" in page  # missing value in the table


def test_three_png_data_uris_and_nothing_external(page: str) -> None:
    images = _IMG.findall(page)
    assert len(images) == 3
    for data in images:
        assert base64.b64decode(data).startswith(b"\x89PNG\r\n\x1a\n")
    assert "http:" not in page and "https:" not in page and "<script" not in page.lower()
    assert "src=" not in _IMG.sub("", page)  # no other sources at all


def test_cutoffs_are_read_from_criteria(page: str, monkeypatch: pytest.MonkeyPatch) -> None:
    drawn = {name: cutoff for name, cutoff in _smi_cutoffs()}
    assert drawn["CT_muscle_Derstine2018"] is C.CT_MUSCLE_SETS["CT_muscle_Derstine2018"].cutoffs[0]
    assert drawn["CT_muscle_Prado2008"] is C.CT_MUSCLE_SETS["CT_muscle_Prado2008"].cutoffs[0]
    assert "CT_muscle_Martin2013" not in drawn and "CT_muscle_Martin2013" in page  # BMI-banded: named
    before = l1_hu_png(ROWS)
    monkeypatch.setattr(C, "CT_L1_SPECIFIC", dataclasses.replace(C.CT_L1_SPECIFIC, male=100.0, female=100.0))
    assert l1_hu_png(ROWS) != before


def test_classification_counts(page: str) -> None:
    assert status_counts(ROWS, "class_CT_muscle_Derstine2018") == {"negative": 1, "suspected": 1}
    # positive, negative, suspected, insufficient_data, other
    expected = "".join(f"<td class='num'>{n}</td>" for n in (0, 1, 1, 0, 0))
    assert f"<td>CT_muscle_Derstine2018</td>{expected}" in page


def test_png_metadata_has_no_software_or_date(page: str) -> None:
    for data in _IMG.findall(page):
        png = base64.b64decode(data)
        assert b"Software" not in png and b"Creation Time" not in png and b"tIME" not in png


def test_identical_bytes_on_two_runs(tmp_path: Path) -> None:
    out = _cohort(tmp_path, ROWS)
    first = write_cohort_page(out).read_bytes()
    second = write_cohort_page(out).read_bytes()
    assert first == second


def test_hostile_patient_id_is_escaped_and_link_is_relative(tmp_path: Path) -> None:
    hostile = '<script>alert("x")</script>'
    rows = [_row(hostile, "9.9", sex="F", contrast="no", L1_trabecular_hu_mean=100.0)]
    out = _cohort(tmp_path, rows)
    folder = series_dir(out, hostile, "1.2.3", "9.9")
    folder.mkdir(parents=True)
    (folder / "report.html").write_text("<html></html>")
    page = write_cohort_page(out).read_text(encoding="utf-8")
    assert "<script" not in page
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in page
    (href,) = re.findall(r'<a href="([^"]+)">report</a>', page)
    assert not href.startswith(("/", "http")) and ".." not in href
    assert (out / href).resolve() == (folder / "report.html").resolve()


def test_missing_report_is_not_linked(page: str) -> None:
    assert "<a href" not in page


def test_empty_or_absent_cohort_says_so(tmp_path: Path) -> None:
    page = write_cohort_page(tmp_path).read_text(encoding="utf-8")  # no cohort.csv at all
    assert "No series have been analysed yet" in page and "<img" not in page
    (tmp_path / "cohort.csv").write_text("patient_id,series_uid\n")
    assert "No series have been analysed yet" in write_cohort_page(tmp_path).read_text()


def test_missing_columns_and_garbage_values(tmp_path: Path) -> None:
    (tmp_path / "cohort.csv").write_text("patient_id,series_uid,L3_smi_cm2_m2\nA,1,nan\nB,2,abc\n")
    page = write_cohort_page(tmp_path).read_text(encoding="utf-8")
    assert len(_IMG.findall(page)) == 2  # no classification columns: that plot is replaced by a sentence
    assert "No classification columns" in page
    assert "SMI unavailable for 2 series" in page
    assert "unknown: 2" in page  # contrast column absent
    assert smi_missing([{"L3_smi_cm2_m2": "inf"}]).total == 1


def test_analyze_path_writes_the_page_linking_the_report(tmp_path: Path) -> None:
    from pipeline._synthetic_ct import write_labels, write_series

    from imaging.ingest.assemble import assemble_volume
    from imaging.ingest.discovery import discover
    from imaging.ingest.series_index import build_index
    from imaging.pipeline.run import analyze_path
    from imaging.pipeline.series_job import JobOptions
    from imaging.segmentation.source import SegmentationSource

    series = write_series(tmp_path / "in" / "ct")
    labels = write_labels(tmp_path / "labels", assemble_volume(build_index(discover(series))[0].instances))
    out = tmp_path / "out"
    report = analyze_path(tmp_path / "in", out, JobOptions(segmentation=SegmentationSource(files=labels)))
    assert report.n_ok == 1 and report.warnings == ()
    page = (out / "cohort.html").read_text(encoding="utf-8")
    assert "<tr><th>Series analysed</th><td>1</td></tr>" in page
    (href,) = re.findall(r'<a href="([^"]+)">report</a>', page)
    assert (out / href).is_file() and href.endswith("/report.html")
    assert len(_IMG.findall(page)) == 3
