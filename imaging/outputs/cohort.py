"""``DIR/cohort.csv``: one row per analysed series, level metrics flattened, for spreadsheet users.

Columns are fixed by the contract's results.json keys (identity, subject, acquisition, then every
measured level T10..L5 with ``<level>_<metric>``), so a cohort from one run lines up with another
even when a scan lacks some levels; classification statuses follow as ``class_<set>`` in sorted
order. Re-running a series replaces its row (keyed by series UID), so the batch runner can merge
results as they finish; the file is rewritten atomically under an advisory lock (POSIX ``flock``)
so concurrent workers do not lose each other's rows.

Text from DICOM headers (e.g. a series description ``=HYPERLINK(...)``) is prefixed with ``'`` when
it starts like a spreadsheet formula.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from imaging.outputs.paths import write_text_atomic
from imaging.outputs.results_json import LEVEL_METRICS
from imaging.schema import Results
from imaging.segmentation.labels import MEASURED_LEVELS

KEY_COLUMN = "series_uid"
BASE_COLUMNS: tuple[str, ...] = (
    "patient_id",
    "study_uid",
    "series_uid",
    "modality",
    "description",
    "n_slices",
    "spacing_x_mm",
    "spacing_y_mm",
    "spacing_z_mm",
    "sex",
    "age_years",
    "height_m",
    "height_source",
    "weight_kg",
    "bmi_kg_m2",
    "contrast",
    "kvp",
    "kernel",
    "model_name",
    "model_version",
    "n_warnings",
)
LEVEL_COLUMNS: tuple[str, ...] = tuple(
    f"{level}_{key}" for level in MEASURED_LEVELS for key in ("slice_index", "z_mm", *LEVEL_METRICS)
)
COLUMNS: tuple[str, ...] = BASE_COLUMNS + LEVEL_COLUMNS
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value) if isinstance(value, float) else str(value)
    text = str(value).replace("\r", " ").replace("\n", " ")
    return "'" + text if text.startswith(_FORMULA_START) else text


def cohort_row(results: Results) -> dict[str, str]:
    """One CSV row (column -> text; empty for null) from a results.json dict."""
    series = results.get("series") or {}
    subject = results.get("subject") or {}
    acquisition = results.get("acquisition") or {}
    model = results.get("model") or {}
    spacing: list[float | None] = [*(series.get("spacing_mm") or []), None, None, None]
    values: dict[str, Any] = {
        **{
            key: series.get(key)
            for key in ("patient_id", "study_uid", "series_uid", "modality", "description")
        },
        "n_slices": series.get("n_slices"),
        "spacing_x_mm": spacing[0],
        "spacing_y_mm": spacing[1],
        "spacing_z_mm": spacing[2],
        **{
            key: subject.get(key)
            for key in ("sex", "age_years", "height_m", "height_source", "weight_kg", "bmi_kg_m2")
        },
        **{key: acquisition.get(key) for key in ("contrast", "kvp", "kernel")},
        "model_name": model.get("name"),
        "model_version": model.get("version"),
        "n_warnings": len(results.get("warnings") or []),
    }
    levels = results.get("levels") or {}
    for level in MEASURED_LEVELS:
        entry: Mapping[str, Any] = levels.get(level) or {}
        for key in ("slice_index", "z_mm", *LEVEL_METRICS):
            values[f"{level}_{key}"] = entry.get(key)
    for name, entry in (results.get("classification") or {}).items():
        values[f"class_{name}"] = (entry or {}).get("status")
    return {column: _cell(value) for column, value in values.items()}


def column_order(rows: Sequence[Mapping[str, str]]) -> list[str]:
    """Fixed columns first, then any extra (classification) columns in sorted order."""
    extra = sorted({c for row in rows for c in row} - set(COLUMNS))
    return [*COLUMNS, *extra]


def render_csv(rows: Sequence[Mapping[str, str]]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=column_order(rows), restval="", lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def read_cohort(path: str | Path) -> list[dict[str, str]]:
    """Rows of an existing cohort.csv (empty list when there is none)."""
    path = Path(path)
    if not path.is_file():
        return []
    with open(path, newline="", encoding="utf-8") as fh:
        return [dict(row) for row in csv.DictReader(fh)]


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    """Hold an exclusive advisory lock on ``path.lock`` (no-op where flock does not exist)."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - non-POSIX
        yield
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_name(path.name + ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def update_cohort(path: str | Path, results: Sequence[Results]) -> Path:
    """Merge rows for ``results`` into ``path``: same series UID replaces, new ones append in order."""
    path = Path(path)
    new_rows = [cohort_row(r) for r in results]
    with _locked(path):
        rows = read_cohort(path)
        position = {row.get(KEY_COLUMN, ""): i for i, row in enumerate(rows)}
        for row in new_rows:
            key = row.get(KEY_COLUMN, "")
            if key and key in position:
                rows[position[key]] = row
            else:
                position[key] = len(rows)
                rows.append(row)
        write_text_atomic(path, render_csv(rows))
    return path
