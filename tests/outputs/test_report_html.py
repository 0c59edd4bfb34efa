"""report.html: numbers shown, hostile DICOM strings escaped, nothing external, references from criteria."""

from __future__ import annotations

import copy
import re
from pathlib import Path

import pytest

from imaging.classification import criteria as C
from imaging.outputs.report_html import render_report

from ._synthetic import make_case, make_results

HOSTILE = "<script>alert(1)</script>"


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> dict:
    return make_results(make_case(Path(tmp_path_factory.mktemp("series"))))


def test_numbers_and_sections(results: dict) -> None:
    page = render_report(
        results, {"L3": b"\x89PNG fake"}, patient_name="Doe^Jane", software_version="bonemuscle 0.1"
    )
    assert page.startswith("<!DOCTYPE html>")
    assert "98.8" in page  # L3 muscle area 98.7654321 at one decimal
    assert "37.6" in page and "150.2" in page
    assert "Doe^Jane" in page
    assert "bm-tissue-unet" in page and "0.3.1" in page and "bonemuscle 0.1" in page
    assert "CT_muscle_Derstine2018" in page and "suspected" in page
    assert "data:image/png;base64," in page
    assert "L3: trabecular median not computed" in page  # warnings shown
    # reference values come from the criteria module, with sources
    assert C.PICKHARDT in page and C.DERSTINE in page
    assert "men 45.4, women 34.4" in page


def test_hostile_strings_are_escaped(results: dict) -> None:
    hostile = copy.deepcopy(results)
    hostile["series"]["description"] = HOSTILE
    hostile["warnings"].append(f"series {HOSTILE}")
    hostile["model"]["name"] = '"><img src=x onerror=alert(2)>'
    page = render_report(hostile, {}, patient_name=HOSTILE)
    assert "<script" not in page.lower()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<img src=x" not in page


def test_no_external_resources_or_scripts(results: dict) -> None:
    page = render_report(results, {"L2": b"png"}, patient_name="x")
    assert not re.search(r"(src|href)\s*=\s*[\"']?(https?:|//)", page, re.IGNORECASE)
    assert "url(" not in page and "@import" not in page
    assert "<script" not in page.lower() and "<link" not in page.lower()


def test_contrast_flagged(results: dict) -> None:
    enhanced = copy.deepcopy(results)
    enhanced["acquisition"]["contrast"] = "yes"
    page = render_report(enhanced)
    assert C.CONTRAST_EFFECT_NOTE in page
    assert 'class="alert">yes' in page
