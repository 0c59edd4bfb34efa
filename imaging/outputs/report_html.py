"""``report.html``: one self-contained page per series for the reading clinician.

Self-contained means one file that opens anywhere, offline: CSS inline, QA images as ``data:`` URIs,
no scripts, no links to anything. Every string that came from DICOM headers, the clinical CSV or
the model (patient name, series description, warnings...) is HTML-escaped: a PatientName of
``<script>...`` is shown as text, never run.

Reference values are not restated here: they are read from :mod:`imaging.classification.criteria`
(the engine's own cut-offs), so the page and the classification cannot disagree.
"""

from __future__ import annotations

import base64
import html
from collections.abc import Mapping, Sequence
from typing import Any

from imaging.classification import criteria as C
from imaging.outputs.results_json import LEVEL_METRICS
from imaging.schema import Results
from imaging.segmentation.labels import MEASURED_LEVELS

# Page basics both HTML outputs share (the cohort page imports them).
BASE_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Arial,sans-serif;margin:24px;color:#1d1d1d;
max-width:1200px}
h1{font-size:22px;margin:0 0 4px} h2{font-size:17px;margin:26px 0 8px;border-bottom:1px solid #ccc}
table{border-collapse:collapse;font-size:13px;margin:6px 0}
th,td{border:1px solid #ccc;padding:3px 7px;text-align:left}
th{background:#f1f1f1} td.num{text-align:right;font-variant-numeric:tabular-nums}
.muted{color:#666;font-size:12px}
img{max-width:100%;border:1px solid #999}
"""
_CSS = (
    BASE_CSS
    + """
.warn{background:#fff3cd;border:2px solid #d39e00;padding:10px 14px;margin:12px 0}
.warn li{margin:2px 0} .alert{color:#a40000;font-weight:bold}
.status{font-weight:bold}
figure{display:inline-block;margin:8px 12px 8px 0} figcaption{font-size:12px;color:#444}
"""
)

_METRIC_LABELS: dict[str, str] = {
    "muscle_area_cm2": "Muscle area (cm²)",
    "muscle_hu_mean": "Muscle mean (HU)",
    "imat_area_cm2": "IMAT area (cm²)",
    "sat_area_cm2": "SAT area (cm²)",
    "vat_area_cm2": "VAT area (cm²)",
    "smi_cm2_m2": "SMI (cm²/m²)",
    "trabecular_hu_mean": "Trabecular mean (HU)",
    "trabecular_hu_median": "Trabecular median (HU)",
}


def esc(value: Any) -> str:
    """Text for HTML (quotes too); None shows as an em dash."""
    return "—" if value is None else html.escape(str(value), quote=True)


def _num(value: Any, digits: int = 1) -> str:
    if value is None:
        return "—"
    if isinstance(value, int | float) and not isinstance(value, bool):
        return f"{value:.{digits}f}"
    return esc(value)


def _rows(pairs: Sequence[tuple[str, Any]]) -> str:
    return "".join(f"<tr><th>{esc(k)}</th><td>{esc(v)}</td></tr>" for k, v in pairs)


def _warnings(warnings: Sequence[str]) -> str:
    if not warnings:
        return '<p class="muted">No warnings.</p>'
    items = "".join(f"<li>{esc(w)}</li>" for w in warnings)
    return f'<div class="warn"><strong>Warnings ({len(warnings)})</strong><ul>{items}</ul></div>'


def _subject(results: Results, patient_name: str | None) -> str:
    series = results.get("series") or {}
    subject = results.get("subject") or {}
    height = subject.get("height_m")
    height_text = None if height is None else f"{height:.2f} m (source: {subject.get('height_source')})"
    return (
        "<table>"
        + _rows(
            [
                ("Patient name", patient_name),
                ("Patient ID", series.get("patient_id")),
                ("Sex", subject.get("sex")),
                ("Age (years)", subject.get("age_years")),
                ("Height", height_text or "unknown — SMI cannot be computed without it"),
                ("Weight (kg)", subject.get("weight_kg")),
                ("BMI (kg/m²)", subject.get("bmi_kg_m2")),
            ]
        )
        + "</table>"
    )


def _acquisition(results: Results) -> str:
    series = results.get("series") or {}
    acq = results.get("acquisition") or {}
    contrast = acq.get("contrast")
    contrast_html = esc(contrast)
    if contrast in ("yes", "unknown"):
        note = (
            C.CONTRAST_EFFECT_NOTE
            if contrast == "yes"
            else "contrast phase not known: interpret HU with care"
        )
        contrast_html = f'<span class="alert">{esc(contrast)}</span> — {esc(note)}'
    spacing = series.get("spacing_mm")
    rows = _rows(
        [
            ("Modality", series.get("modality")),
            ("Series description", series.get("description")),
            ("Study UID", series.get("study_uid")),
            ("Series UID", series.get("series_uid")),
            ("Slices", series.get("n_slices")),
            ("Spacing x, y, z (mm)", ", ".join(f"{v:g}" for v in spacing) if spacing else None),
            ("kVp", acq.get("kvp")),
            ("Kernel", acq.get("kernel")),
        ]
    )
    return f"<table>{rows}<tr><th>Contrast</th><td>{contrast_html}</td></tr></table>"


def _levels_table(levels: Mapping[str, Mapping[str, Any]]) -> str:
    names = [n for n in MEASURED_LEVELS if n in levels]
    if not names:
        return '<p class="alert">No vertebral level could be measured.</p>'
    head = "".join(f"<th>{esc(n)}</th>" for n in names)
    body = "<tr><th>Slice index</th>" + "".join(
        f'<td class="num">{esc(levels[n].get("slice_index"))}</td>' for n in names
    )
    body += "</tr><tr><th>z (mm)</th>" + "".join(
        f'<td class="num">{_num(levels[n].get("z_mm"))}</td>' for n in names
    )
    body += "</tr>"
    for key in LEVEL_METRICS:
        cells = "".join(f'<td class="num">{_num(levels[n].get(key))}</td>' for n in names)
        body += f"<tr><th>{esc(_METRIC_LABELS.get(key, key))}</th>{cells}</tr>"
    note = "<p class='muted'>— = not measured (see warnings)</p>"
    return f"<table><tr><th>Measure</th>{head}</tr>{body}</table>{note}"


def _cutoff_rows(cutoff: C.Cutoff, label: str) -> str:
    if cutoff.bands:
        values = "; ".join(f"{band}: men {m:g}, women {f:g}" for band, m, f in cutoff.bands)
    elif cutoff.male == cutoff.female:
        values = f"{cutoff.male:g}"
    else:
        values = f"men {cutoff.male:g}, women {cutoff.female:g}"
    return (
        f"<tr><td>{esc(label)}</td><td>{esc(cutoff.measure)} {esc(cutoff.comparison.value)} {esc(values)} "
        f"{esc(cutoff.unit)}</td><td>{esc(cutoff.source)}</td><td>{esc(cutoff.mark.value)}</td></tr>"
    )


def _references() -> str:
    rows = ""
    for crit in C.CT_MUSCLE_SETS.values():
        for cutoff in crit.cutoffs:
            rows += _cutoff_rows(cutoff, f"{crit.name} ({crit.finding})")
    for cutoff, meaning in (
        (C.CT_L1_SPECIFIC, "L1 trabecular: >90% specific for DXA osteoporosis"),
        (C.CT_L1_SENSITIVE, "L1 trabecular: 90% sensitive for DXA osteoporosis"),
        (C.CT_L1_NPV, "L1 trabecular: osteoporosis unlikely (NPV 99%)"),
    ):
        rows += _cutoff_rows(cutoff, meaning)
    return (
        "<table><tr><th>Criterion</th><th>Abnormal side</th><th>Source</th><th>Verification</th></tr>"
        f"{rows}</table>"
    )


def _met(evidence: Mapping[str, Any]) -> str:
    if "met" not in evidence:
        return ""
    return "yes" if evidence["met"] else "no"


def _classification(classification: Mapping[str, Mapping[str, Any]]) -> str:
    if not classification:
        return '<p class="muted">No classification was run.</p>'
    parts = []
    for name, entry in classification.items():
        evidence = entry.get("evidence") or []
        ev_rows = "".join(
            f"<tr><td>{esc(e.get('measure'))}</td><td class='num'>{_num(e.get('value'), 2)}</td>"
            f"<td>{esc(e.get('comparison', ''))} {esc(e.get('threshold'))} {esc(e.get('unit', ''))}</td>"
            f"<td>{esc(_met(e))}</td><td>{esc(e.get('source'))}</td></tr>"
            for e in evidence
        )
        missing = entry.get("missing") or []
        extra = f"<p class='muted'>Missing inputs: {esc(', '.join(map(str, missing)))}</p>" if missing else ""
        notes = "".join(f"<p class='muted'>{esc(n)}</p>" for n in entry.get("notes") or [])
        table = (
            "<table><tr><th>Measure</th><th>Value</th><th>Cut-off</th><th>Met</th><th>Source</th></tr>"
            f"{ev_rows}</table>"
            if ev_rows
            else ""
        )
        parts.append(
            f"<h3>{esc(name)}: <span class='status'>{esc(entry.get('status'))}</span>"
            f"{' — ' + esc(entry.get('stage')) if entry.get('stage') else ''}</h3>{table}{extra}{notes}"
        )
    return "".join(parts)


def _figure(data: bytes, alt: str, caption: str) -> str:
    uri = "data:image/png;base64," + base64.b64encode(data).decode("ascii")
    return f'<figure><img alt="{esc(alt)}" src="{uri}"><figcaption>{esc(caption)}</figcaption></figure>'


def _images(pngs: Mapping[str, bytes]) -> str:
    figures = [_figure(data, f"QA overlay {level}", level) for level, data in pngs.items()]
    return "".join(figures) or '<p class="muted">No QA images.</p>'


def _spine_image(data: bytes | None) -> str:
    if not data:
        return '<p class="muted">No spine view.</p>'
    return _figure(data, "Vertebral levels: coronal and sagittal view (qa_levels.png)", "qa_levels.png")


def render_report(
    results: Results,
    qa_pngs: Mapping[str, bytes] | None = None,
    *,
    patient_name: str | None = None,
    software_version: str | None = None,
    levels_png: bytes | None = None,
) -> str:
    """The HTML page for one series' results (a complete document, UTF-8); ``levels_png`` is the
    coronal/sagittal spine view (qa_levels.png), shown first among the QA images."""
    series = results.get("series") or {}
    model = results.get("model") or {}
    title = f"Body composition — {series.get('patient_id') or 'unknown patient'}"
    model_rows = _rows(
        [
            ("Segmentation model", model.get("name")),
            ("Model version", model.get("version")),
            ("Weights SHA-256", model.get("weights_sha256")),
            ("bonemuscle", software_version),
            ("results.json schema", results.get("schema_version")),
        ]
    )
    return (
        "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
        f"<title>{esc(title)}</title><style>{_CSS}</style></head><body>"
        f"<h1>{esc(title)}</h1><p class='muted'>Series {esc(series.get('series_uid'))}</p>"
        f"{_warnings(results.get('warnings') or [])}"
        f"<h2>Subject</h2>{_subject(results, patient_name)}"
        f"<h2>Acquisition</h2>{_acquisition(results)}"
        f"<h2>Measurements per vertebral level</h2>{_levels_table(results.get('levels') or {})}"
        f"<h2>Reference values</h2>{_references()}"
        f"<h2>Classification</h2>{_classification(results.get('classification') or {})}"
        f"<p class='muted'>Imaging-only findings are reported as 'suspected', never as a diagnosis.</p>"
        f"<h2>Vertebral levels</h2>{_spine_image(levels_png)}"
        f"<h2>QA overlays</h2>{_images(qa_pngs or {})}"
        f"<h2>Model and versions</h2><table>{model_rows}</table>"
        "</body></html>\n"
    )
