"""Clinical data CSV: reading, unit conversion and validation, with errors that say where and why.

Expected columns (``sample_dicoms/clinical.csv`` uses exactly these)::

    patient_id,date,sex,age_years,height_cm,weight_kg,grip_kg,gait_speed_m_s,chair_stand_s,sppb,tug_s,
    fragility_fracture

Unit variants are accepted in the header and converted to the units above (height in metres inside
the program): ``height_m``, ``height_in``, ``weight_lb``, ``grip_lb``, ``gait_speed_cm_s``,
``walk_400m_min``/``walk_400m_s``. An empty cell means unknown. Impossible values (height 3.5 m,
negative grip, gait 12 m/s, age 140) and likely unit mix-ups (1.78 in a centimetre column, 180 kg for a
1.60 m person) are problems naming file, row and column; they are never silently corrected.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from imaging.classification.inputs import FunctionInputs, Sex
from imaging.plausible import AGE_YEARS, HEIGHT_M, WEIGHT_KG

LB_TO_KG = 0.45359237
IN_TO_M = 0.0254


class ClinicalDataError(ValueError):
    """The clinical CSV cannot be used as it is; ``problems`` lists every fault found."""

    def __init__(self, problems: tuple[CsvProblem, ...]) -> None:
        self.problems = problems
        more = f" (and {len(problems) - 1} more problem(s))" if len(problems) > 1 else ""
        super().__init__(f"{problems[0]}{more}")


@dataclass(frozen=True)
class CsvProblem:
    file: str
    row: int | None  # line number in the file (header = 1); None for whole-file problems
    column: str | None
    message: str

    def __str__(self) -> str:
        where = self.file
        if self.row is not None:
            where += f", row {self.row}"
        if self.column is not None:
            where += f", column '{self.column}'"
        return f"{where}: {self.message}"


@dataclass(frozen=True)
class ClinicalRecord:
    """One row of the clinical CSV in program units (m, kg, s, m/s); None = unknown."""

    patient_id: str
    date: dt.date | None
    row: int
    sex: Sex | None = None
    age_years: float | None = None
    height_m: float | None = None
    weight_kg: float | None = None
    grip_kg: float | None = None
    gait_speed_m_s: float | None = None
    chair_stand_s: float | None = None
    sppb: float | None = None
    tug_s: float | None = None
    walk_400m_min: float | None = None
    fragility_fracture: bool | None = None

    def function(self) -> FunctionInputs:
        return FunctionInputs(
            grip_kg=self.grip_kg,
            gait_speed_m_s=self.gait_speed_m_s,
            chair_stand_s=self.chair_stand_s,
            sppb=self.sppb,
            tug_s=self.tug_s,
            walk_400m_min=self.walk_400m_min,
            fragility_fracture=self.fragility_fracture,
        )


@dataclass(frozen=True)
class ClinicalTable:
    source: str
    records: tuple[ClinicalRecord, ...]
    #: rows with problems are not in ``records``; each problem is listed here.
    problems: tuple[CsvProblem, ...]
    ignored_columns: tuple[str, ...]


@dataclass(frozen=True)
class _Numeric:
    """A numeric field: header variants with factor to program units, and the plausible range."""

    field: str
    variants: dict[str, float]
    low: float
    high: float
    unit: str
    strict_low: bool = False  # True: the value must be > low (a time of 0 s is impossible)


NUMERIC: tuple[_Numeric, ...] = (
    _Numeric("age_years", {"age_years": 1.0, "age": 1.0}, AGE_YEARS.low, AGE_YEARS.high, "years"),
    _Numeric(
        "height_m",
        {"height_cm": 0.01, "height_m": 1.0, "height_in": IN_TO_M},
        HEIGHT_M.low,
        HEIGHT_M.high,
        "m",
    ),
    _Numeric("weight_kg", {"weight_kg": 1.0, "weight_lb": LB_TO_KG}, WEIGHT_KG.low, WEIGHT_KG.high, "kg"),
    _Numeric("grip_kg", {"grip_kg": 1.0, "grip_lb": LB_TO_KG}, 0.0, 100.0, "kg"),
    _Numeric("gait_speed_m_s", {"gait_speed_m_s": 1.0, "gait_speed_cm_s": 0.01}, 0.0, 3.0, "m/s", True),
    _Numeric("chair_stand_s", {"chair_stand_s": 1.0}, 0.0, 120.0, "s", True),
    _Numeric("sppb", {"sppb": 1.0}, 0.0, 12.0, "points"),
    _Numeric("tug_s", {"tug_s": 1.0}, 0.0, 300.0, "s", True),
    _Numeric("walk_400m_min", {"walk_400m_min": 1.0, "walk_400m_s": 1 / 60}, 0.0, 60.0, "min", True),
)
TEXT_FIELDS = ("patient_id", "date", "sex", "fragility_fracture")

#: Unit mix-up detectors: (column, raw value) -> message, or None when the value looks right.
_UNIT_HINTS: dict[str, Callable[[float], str | None]] = {
    "height_cm": lambda v: "looks like metres (use a height_m column)" if 0.5 <= v <= 2.5 else None,
    "height_m": lambda v: "looks like centimetres (use a height_cm column)" if 50 <= v <= 250 else None,
    "height_in": lambda v: "looks like centimetres (use a height_cm column)" if 100 < v <= 250 else None,
    "gait_speed_m_s": lambda v: "looks like cm/s (use a gait_speed_cm_s column)" if 10 <= v <= 300 else None,
}


def _normalise(header: str) -> str:
    return header.strip().lstrip("\ufeff").strip().lower().replace(" ", "_").replace("-", "_")


def read_clinical_csv(path: str | Path, *, strict: bool = True) -> ClinicalTable:
    """Read and validate a clinical CSV file.

    Raises:
        ClinicalDataError: header faults always; row faults too when ``strict`` (the default). With
            ``strict=False`` faulty rows are left out and listed in ``ClinicalTable.problems``.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise ClinicalDataError((CsvProblem(str(path), None, None, f"cannot read ({exc})"),)) from exc
    table = parse_clinical_csv(text, str(path))
    if strict and table.problems:
        raise ClinicalDataError(table.problems)
    return table


def parse_clinical_csv(text: str, source: str = "<clinical csv>") -> ClinicalTable:
    """Parse CSV text (pure). Header faults raise :class:`ClinicalDataError`; row faults are returned."""
    reader = csv.reader(io.StringIO(text))
    header_row = next(reader, None)
    if header_row is None:
        raise ClinicalDataError((CsvProblem(source, None, None, "file is empty (no header row)"),))
    headers = [_normalise(h) for h in header_row]
    columns, ignored = _map_columns(headers, source)

    records: list[ClinicalRecord] = []
    problems: list[CsvProblem] = []
    for line, cells in enumerate(reader, start=2):
        if not any(c.strip() for c in cells):
            continue  # blank line
        if len(cells) != len(headers):
            problems.append(CsvProblem(source, line, None, f"{len(cells)} cells, header has {len(headers)}"))
            continue
        row = {h: cells[i].strip() for i, h in enumerate(headers)}
        record, row_problems = _parse_row(row, columns, line, source)
        problems += row_problems
        if record is not None and not row_problems:
            records.append(record)
    return ClinicalTable(source, tuple(records), tuple(problems), tuple(ignored))


def _map_columns(headers: list[str], source: str) -> tuple[dict[str, str], list[str]]:
    """Field name -> the header column that supplies it; raises for missing/duplicate/ambiguous columns."""
    problems: list[CsvProblem] = []
    dupes = sorted({h for h in headers if headers.count(h) > 1})
    if dupes:
        problems.append(CsvProblem(source, 1, ", ".join(dupes), "column appears more than once"))
    columns: dict[str, str] = {f: f for f in TEXT_FIELDS if f in headers}
    if "patient_id" not in columns:
        problems.append(CsvProblem(source, 1, "patient_id", "required column is missing"))
    for spec in NUMERIC:
        present = [h for h in spec.variants if h in headers]
        if len(present) > 1:
            problems.append(CsvProblem(source, 1, ", ".join(present), f"give {spec.field} in one unit only"))
        elif present:
            columns[spec.field] = present[0]
    if problems:
        raise ClinicalDataError(tuple(problems))
    ignored = [h for h in headers if h not in columns.values()]
    return columns, ignored


def _parse_row(
    row: dict[str, str], columns: dict[str, str], line: int, source: str
) -> tuple[ClinicalRecord | None, list[CsvProblem]]:
    problems: list[CsvProblem] = []

    def bad(column: str, message: str) -> None:
        problems.append(CsvProblem(source, line, column, message))

    pid = row.get("patient_id", "")
    if not pid:
        bad("patient_id", "empty patient ID")
    values: dict[str, object] = {}
    date_text = row.get(columns.get("date", ""), "")
    if date_text:
        try:
            values["date"] = dt.date.fromisoformat(date_text)
        except ValueError:
            bad("date", f"{date_text!r} is not an ISO date (YYYY-MM-DD)")
    try:
        values["sex"] = Sex.parse(row.get(columns.get("sex", ""), ""))
    except ValueError as exc:
        bad("sex", str(exc))
    fracture = row.get(columns.get("fragility_fracture", ""), "").lower()
    if fracture in ("yes", "y", "true", "1"):
        values["fragility_fracture"] = True
    elif fracture in ("no", "n", "false", "0"):
        values["fragility_fracture"] = False
    elif fracture:
        bad("fragility_fracture", f"{fracture!r} is not yes/no (empty = unknown)")

    for spec in NUMERIC:
        column = columns.get(spec.field)
        text = row.get(column, "") if column else ""
        if column is None or not text:
            continue
        try:
            raw = float(text)
        except ValueError:
            bad(column, f"{text!r} is not a number")
            continue
        hint = _UNIT_HINTS.get(column, lambda _v: None)(raw)
        value = raw * spec.variants[column]
        if hint:
            bad(column, f"{text} {hint}")
        elif not (spec.low < value if spec.strict_low else spec.low <= value) or value > spec.high:
            bound = "above 0" if spec.strict_low else f"at least {spec.low:g}"
            bad(
                column,
                f"{text} is impossible: {spec.field} must be {bound} and at most {spec.high:g} {spec.unit}",
            )
        else:
            values[spec.field] = value
    sppb = values.get("sppb")
    if isinstance(sppb, float) and not sppb.is_integer():
        bad(columns["sppb"], "SPPB is a whole number of points (0-12)")

    weight, height = values.get("weight_kg"), values.get("height_m")
    if columns.get("weight_kg") == "weight_kg" and isinstance(weight, float) and isinstance(height, float):
        bmi = weight / height**2
        bmi_if_lb = weight * LB_TO_KG / height**2
        if bmi > 60 and 12 <= bmi_if_lb <= 60:
            bad(
                "weight_kg",
                f"{weight:g} kg at {height:.2f} m gives BMI {bmi:.0f}: possibly lb (use weight_lb)",
            )
    if problems or not pid:
        return None, problems
    values.setdefault("date", None)
    return ClinicalRecord(patient_id=pid, row=line, **values), problems  # type: ignore[arg-type]
