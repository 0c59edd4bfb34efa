"""``DIR/cohort.html``: one self-contained summary page over ``DIR/cohort.csv``.

The per-series report answers "what about this patient"; this page answers "what does the cohort
look like": how many series, patients and modalities, L3 SMI by sex against the CT muscle cut-offs,
the L1 trabecular HU distribution against Pickhardt's thresholds (contrast-enhanced series drawn
apart, since contrast raises L1 attenuation), the classification counts per criteria set, and a
table linking each series' own report.html by relative path.

It is built from cohort.csv alone (not from every results.json), so it is cheap to regenerate after
each merge and shows exactly what the spreadsheet shows. Same rules as the per-series report: CSS
inline, plots as PNG ``data:`` URIs, no scripts, no external URLs, every CSV string HTML-escaped.
The page is deterministic: the same cohort.csv gives the same bytes (fixed figure size and dpi, no
software/date chunks in the PNGs, no randomness, no timestamps), so re-runs do not churn it.

Cut-offs are read from :mod:`imaging.classification.criteria`, never retyped here. A value that is
missing is left out of the plots and shown as "—", and the page says how many are missing and why.
"""

from __future__ import annotations

import base64
import io
import math
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal
from urllib.parse import quote

from imaging.classification import criteria as C
from imaging.classification.inputs import Sex
from imaging.classification.result import Status
from imaging.outputs.cohort import read_cohort
from imaging.outputs.paths import series_dir, write_text_atomic
from imaging.outputs.report_html import BASE_CSS, esc

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

PAGE_NAME = "cohort.html"
SMI_COLUMN = "L3_smi_cm2_m2"
L1_HU_COLUMN = "L1_trabecular_hu_mean"
CLASS_PREFIX = "class_"
#: Shown in the series table: the primary definition and the imaging-only screen.
OSTEOSARCOPENIA_COLUMNS: tuple[tuple[str, str], ...] = (
    ("class_osteosarcopenia", "Osteosarcopenia"),
    ("class_osteosarcopenia_ct_opportunistic", "CT screen"),
)
STATUS_ORDER: tuple[Status, ...] = (
    Status.POSITIVE,
    Status.NEGATIVE,
    Status.SUSPECTED,
    Status.INSUFFICIENT_DATA,
)
_STATUS_COLOURS = {
    Status.POSITIVE: "#c0392b",
    Status.NEGATIVE: "#2e86c1",
    Status.SUSPECTED: "#e67e22",
    Status.INSUFFICIENT_DATA: "#b3b3b3",
}
_DPI = 100
#: Only these PNG text chunks would vary between matplotlib versions/runs; None drops them.
_PNG_METADATA = {"Software": None}
_HU_BIN_WIDTH = 10.0
LineStyle = Literal["-", "--", ":", "-."]
_LINE_STYLES: tuple[LineStyle, ...] = ("-", "--", ":", "-.")
_CUTOFF_COLOURS = ("#7b3294", "#008837", "#c51b7d", "#4d4d4d")

_CSS = (
    BASE_CSS
    + """
.missing{color:#7a5a00}
figure{display:block;margin:8px 0} figcaption{font-size:12px;color:#444}
"""
)


# --- reading cohort.csv ---------------------------------------------------------------------------


def _text(row: Mapping[str, str], column: str) -> str:
    return (row.get(column) or "").strip()


def _float(row: Mapping[str, str], column: str) -> float | None:
    """The cell as a finite number, or None (empty, unparsable, NaN or infinite all mean missing)."""
    try:
        value = float(_text(row, column))
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _sex(row: Mapping[str, str]) -> Sex | None:
    try:
        return Sex.parse(_text(row, "sex"))
    except ValueError:
        return None


def _patient_id(row: Mapping[str, str]) -> str:
    """The patient ID as in the headers: cohort.csv quotes formula-like text with a leading ``'``."""
    text = row.get("patient_id") or ""
    if text.startswith("'") and text[1:].startswith(("=", "+", "-", "@")):
        return text[1:]
    return text


@dataclass(frozen=True)
class SmiMissing:
    """Why SMI is absent, counted from the inputs it needs (height, an L3 muscle area)."""

    total: int
    no_height: int
    no_l3: int
    no_sex: int  # SMI present but sex unknown: not drawn against sex-specific cut-offs


def smi_missing(rows: Sequence[Mapping[str, str]]) -> SmiMissing:
    without = [r for r in rows if _float(r, SMI_COLUMN) is None]
    return SmiMissing(
        total=len(without),
        no_height=sum(_float(r, "height_m") is None for r in without),
        no_l3=sum(_float(r, "L3_muscle_area_cm2") is None for r in without),
        no_sex=sum(_float(r, SMI_COLUMN) is not None and _sex(r) is None for r in rows),
    )


def class_columns(rows: Sequence[Mapping[str, str]]) -> list[str]:
    """Every ``class_<set>`` column present in the cohort, sorted (as cohort.csv orders them)."""
    return sorted({c for r in rows for c in r if c.startswith(CLASS_PREFIX)})


def status_counts(rows: Sequence[Mapping[str, str]], column: str) -> dict[str, int]:
    """Series per status for one criteria set; empty cells are not counted (set not run)."""
    counts = Counter(_text(r, column) for r in rows)
    counts.pop("", None)
    return dict(counts)


# --- plots ----------------------------------------------------------------------------------------


def _figure(width: float, height: float) -> Figure:
    """A figure on its own Agg canvas: no pyplot global state, no display (batch jobs run on servers).

    matplotlib is imported here, not at module import, so the CLI starts without it.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _legend_below(fig: Figure, ax: Axes, ncols: int = 1) -> None:
    """Legend under the plot, so it never hides data points."""
    fig.legend(*ax.get_legend_handles_labels(), loc="outside lower center", fontsize=7, ncols=ncols)


def _png(fig: Figure) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=_DPI, metadata=_PNG_METADATA)
    return buf.getvalue()


def _jitter(n: int, width: float = 0.25) -> list[float]:
    """Deterministic spread of ``n`` points across ``±width`` (golden-ratio sequence, no RNG)."""
    return [((i * 0.6180339887) % 1.0 - 0.5) * 2 * width for i in range(n)]


def _smi_cutoffs() -> list[tuple[str, C.Cutoff]]:
    """Sex-specific SMI cut-offs with one threshold per sex (BMI-banded sets cannot be one line)."""
    found = []
    for crit in C.CT_MUSCLE_SETS.values():
        for cutoff in crit.cutoffs:
            if cutoff.measure == "smi_cm2_m2" and not cutoff.bands and cutoff.male is not None:
                found.append((crit.name, cutoff))
    return found


def smi_by_sex_png(rows: Sequence[Mapping[str, str]]) -> bytes:
    """Strip + box plot of L3 SMI for men and women, with each sex's cut-off lines and their source."""
    groups: dict[Sex, list[float]] = {sex: [] for sex in (Sex.MALE, Sex.FEMALE)}
    for row in rows:
        smi, sex = _float(row, SMI_COLUMN), _sex(row)
        if smi is not None and sex is not None:
            groups[sex].append(smi)
    fig = _figure(7.0, 4.5)
    ax = fig.add_subplot()
    for x, values in enumerate(groups.values()):
        if values:
            ax.boxplot([values], positions=[x], widths=0.5, showfliers=False)
            ax.scatter([x + j for j in _jitter(len(values))], values, s=14, color="#1f4e79", zorder=3)
    for i, (_name, cutoff) in enumerate(_smi_cutoffs()):
        style = _LINE_STYLES[i % len(_LINE_STYLES)]
        colour = _CUTOFF_COLOURS[i % len(_CUTOFF_COLOURS)]
        for x, value in ((0, cutoff.male), (1, cutoff.female)):
            if value is not None:
                ax.hlines(value, x - 0.4, x + 0.4, colors=colour, linestyles=style)
        ax.plot(
            [],
            [],
            color=colour,
            linestyle=style,
            label=f"{cutoff.source}: {cutoff.comparison.value} {cutoff.male:g} M / {cutoff.female:g} F",
        )
    ax.set_xticks([0, 1], [f"M (n={len(groups[Sex.MALE])})", f"F (n={len(groups[Sex.FEMALE])})"])
    ax.set_xlim(-0.6, 1.6)
    ax.set_ylabel("L3 SMI (cm²/m²)")
    ax.set_title("L3 skeletal muscle index by sex")
    _legend_below(fig, ax)
    return _png(fig)


def l1_hu_png(rows: Sequence[Mapping[str, str]]) -> bytes:
    """Histogram of L1 trabecular HU, stacked by contrast status, with Pickhardt's three thresholds."""
    from matplotlib.ticker import MaxNLocator

    by_contrast: dict[str, list[float]] = {"no": [], "yes": [], "unknown": []}
    for row in rows:
        hu = _float(row, L1_HU_COLUMN)
        if hu is not None:
            contrast = _text(row, "contrast")
            by_contrast[contrast if contrast in by_contrast else "unknown"].append(hu)
    thresholds = (C.CT_L1_SPECIFIC, C.CT_L1_SENSITIVE, C.CT_L1_NPV)
    values = [v for vs in by_contrast.values() for v in vs]
    cut_hu = [t.male for t in thresholds if t.male is not None]  # Pickhardt's: one value for both sexes
    low = math.floor(min([*values, *cut_hu]) / _HU_BIN_WIDTH) - 1
    high = math.ceil(max([*values, *cut_hu]) / _HU_BIN_WIDTH) + 1
    bins = [b * _HU_BIN_WIDTH for b in range(low, high + 1)]
    fig = _figure(7.0, 4.5)
    ax = fig.add_subplot()
    labels = {"no": "unenhanced", "yes": "contrast-enhanced", "unknown": "contrast unknown"}
    styles = {"no": ("#1f4e79", ""), "yes": ("#e67e22", "//"), "unknown": ("#b3b3b3", "..")}
    present = [k for k, vs in by_contrast.items() if vs]
    if present:
        ax.hist(
            [by_contrast[k] for k in present],
            bins=bins,
            stacked=True,
            color=[styles[k][0] for k in present],
            label=[f"{labels[k]} (n={len(by_contrast[k])})" for k in present],
            edgecolor="black",
            linewidth=0.5,
        )
        for patch_set, key in zip(ax.containers, present, strict=True):
            for patch in patch_set:
                patch.set_hatch(styles[key][1])
    for i, cutoff in enumerate(thresholds):
        if cutoff.male is None:
            continue
        ax.axvline(
            cutoff.male,
            color="black",
            linestyle=_LINE_STYLES[i % len(_LINE_STYLES)],
            linewidth=1,
            label=f"{cutoff.comparison.value}{cutoff.male:g} HU ({cutoff.source})",
        )
    ax.set_xlabel("L1 trabecular mean (HU)")
    ax.set_ylabel("series")
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_title("L1 trabecular attenuation")
    _legend_below(fig, ax)
    return _png(fig)


def classification_png(rows: Sequence[Mapping[str, str]]) -> bytes:
    """Horizontal stacked bars: per criteria set, how many series were positive/negative/..."""
    from matplotlib.ticker import MaxNLocator

    columns = class_columns(rows)
    names = [c.removeprefix(CLASS_PREFIX) for c in columns]
    counts = [status_counts(rows, c) for c in columns]
    fig = _figure(8.0, max(3.0, 1.4 + 0.32 * len(columns)))
    ax = fig.add_subplot()
    left = [0] * len(columns)
    for status in STATUS_ORDER:
        widths = [c.get(status.value, 0) for c in counts]
        ax.barh(names, widths, left=left, color=_STATUS_COLOURS[status], label=status.value)
        left = [a + b for a, b in zip(left, widths, strict=True)]
    ax.invert_yaxis()
    ax.tick_params(axis="y", labelsize=7)
    ax.set_xlabel("series")
    ax.set_title("Classification status per criteria set")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    _legend_below(fig, ax, ncols=4)
    return _png(fig)


# --- HTML -----------------------------------------------------------------------------------------


def _img(data: bytes, alt: str, caption: str) -> str:
    uri = "data:image/png;base64," + base64.b64encode(data).decode("ascii")
    return f'<figure><img alt="{esc(alt)}" src="{uri}"><figcaption>{esc(caption)}</figcaption></figure>'


def _counts(rows: Sequence[Mapping[str, str]]) -> str:
    patients = {_patient_id(r) for r in rows}
    modalities = Counter(_text(r, "modality") or "unknown" for r in rows)
    contrast = Counter(_text(r, "contrast") or "unknown" for r in rows)
    pairs = [
        ("Series analysed", str(len(rows))),
        ("Patients", str(len(patients))),
        ("Modalities", ", ".join(f"{m}: {n}" for m, n in sorted(modalities.items()))),
        ("Contrast", ", ".join(f"{k}: {contrast.get(k, 0)}" for k in ("yes", "no", "unknown"))),
    ]
    return "<table>" + "".join(f"<tr><th>{esc(k)}</th><td>{esc(v)}</td></tr>" for k, v in pairs) + "</table>"


def _smi_note(rows: Sequence[Mapping[str, str]]) -> str:
    miss = smi_missing(rows)
    notes = []
    if miss.total:
        notes.append(
            f"SMI unavailable for {miss.total} series: no height for {miss.no_height}, "
            f"no L3 muscle area for {miss.no_l3}."
        )
    if miss.no_sex:
        notes.append(f"SMI known but sex unknown for {miss.no_sex} series: not plotted.")
    banded = [
        c.name for c in C.CT_MUSCLE_SETS.values() for k in c.cutoffs if k.measure == "smi_cm2_m2" and k.bands
    ]
    if banded:
        notes.append(f"Not drawn (cut-off depends on BMI): {', '.join(banded)}.")
    return "".join(f"<p class='missing'>{esc(n)}</p>" for n in notes)


def _hu_note(rows: Sequence[Mapping[str, str]]) -> str:
    missing = sum(_float(r, L1_HU_COLUMN) is None for r in rows)
    non_ct = sum(_float(r, L1_HU_COLUMN) is None and _text(r, "modality") != "CT" for r in rows)
    notes = []
    if missing:
        notes.append(
            f"L1 HU unavailable for {missing} series ({non_ct} not CT; "
            "the rest: L1 not found or not measurable)."
        )
    notes.append(C.CONTRAST_EFFECT_NOTE + ".")
    return "".join(f"<p class='missing'>{esc(n)}</p>" for n in notes)


def _class_table(rows: Sequence[Mapping[str, str]]) -> str:
    head = "".join(f"<th>{esc(s.value)}</th>" for s in STATUS_ORDER)
    body = ""
    for column in class_columns(rows):
        counts = status_counts(rows, column)
        cells = "".join(f"<td class='num'>{counts.get(s.value, 0)}</td>" for s in STATUS_ORDER)
        other = sum(n for k, n in counts.items() if k not in {s.value for s in STATUS_ORDER})
        body += (
            f"<tr><td>{esc(column.removeprefix(CLASS_PREFIX))}</td>{cells}<td class='num'>{other}</td></tr>"
        )
    return f"<table><tr><th>Criteria set</th>{head}<th>other</th></tr>{body}</table>"


def _report_link(out_dir: Path, row: Mapping[str, str]) -> str:
    """Relative link to the series' report.html when it exists (no dead links), else a dash."""
    folder = series_dir(out_dir, _patient_id(row), row.get("study_uid"), row.get("series_uid"))
    if not (folder / "report.html").is_file():
        return "—"
    rel = "/".join(quote(part) for part in folder.relative_to(out_dir).parts) + "/report.html"
    return f'<a href="{esc(rel)}">report</a>'


def _num(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f}"


def _series_table(out_dir: Path, rows: Sequence[Mapping[str, str]]) -> str:
    has_date = any(_text(r, "study_date") for r in rows)
    head = "<th>Patient</th>" + ("<th>Study date</th>" if has_date else "")
    head += "<th>Modality</th><th>Sex</th><th>L3 SMI (cm²/m²)</th><th>L1 HU</th><th>Contrast</th>"
    head += "".join(f"<th>{esc(label)}</th>" for _, label in OSTEOSARCOPENIA_COLUMNS) + "<th>Report</th>"
    body = ""
    for row in rows:
        cells = f"<td>{esc(_patient_id(row) or None)}</td>"
        if has_date:
            cells += f"<td>{esc(_text(row, 'study_date') or None)}</td>"
        cells += (
            f"<td>{esc(_text(row, 'modality') or None)}</td><td>{esc(_text(row, 'sex') or None)}</td>"
            f"<td class='num'>{_num(_float(row, SMI_COLUMN))}</td>"
            f"<td class='num'>{_num(_float(row, L1_HU_COLUMN))}</td>"
            f"<td>{esc(_text(row, 'contrast') or None)}</td>"
        )
        cells += "".join(f"<td>{esc(_text(row, c) or None)}</td>" for c, _ in OSTEOSARCOPENIA_COLUMNS)
        body += f"<tr>{cells}<td>{_report_link(out_dir, row)}</td></tr>"
    note = "<p class='muted'>— = not available. Imaging-only findings are 'suspected', never a diagnosis.</p>"
    return f"<table><tr>{head}</tr>{body}</table>{note}"


def render_cohort_page(out_dir: str | Path, rows: Sequence[Mapping[str, str]]) -> str:
    """The complete HTML document for the cohort ``rows`` (as read from ``out_dir/cohort.csv``)."""
    out_dir = Path(out_dir)
    title = "Cohort summary"
    start = (
        "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
        f"<title>{esc(title)}</title><style>{_CSS}</style></head><body><h1>{esc(title)}</h1>"
    )
    if not rows:
        return (
            start + "<p>No series have been analysed yet: cohort.csv is empty or absent.</p></body></html>\n"
        )
    return (
        start
        + f"<h2>Counts</h2>{_counts(rows)}"
        + "<h2>L3 skeletal muscle index</h2>"
        + _img(smi_by_sex_png(rows), "L3 SMI by sex", "L3 SMI by sex with sex-specific cut-offs")
        + _smi_note(rows)
        + "<h2>L1 trabecular attenuation</h2>"
        + _img(
            l1_hu_png(rows), "L1 trabecular HU histogram", "L1 trabecular HU with Pickhardt 2013 thresholds"
        )
        + _hu_note(rows)
        + "<h2>Classification</h2>"
        + (
            _img(classification_png(rows), "Classification counts", "Series per status and criteria set")
            + _class_table(rows)
            if class_columns(rows)
            else "<p class='muted'>No classification columns in cohort.csv.</p>"
        )
        + f"<h2>Series</h2>{_series_table(out_dir, rows)}"
        + "</body></html>\n"
    )


def write_cohort_page(out_dir: str | Path) -> Path:
    """Read ``out_dir/cohort.csv`` and write ``out_dir/cohort.html`` atomically; returns its path."""
    out_dir = Path(out_dir)
    html_text = render_cohort_page(out_dir, read_cohort(out_dir / "cohort.csv"))
    return write_text_atomic(out_dir / PAGE_NAME, html_text)
