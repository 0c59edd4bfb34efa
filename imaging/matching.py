"""Join one imaging series with the subject's clinical and DXA records, and merge the subject facts.

Records are joined by patient ID (exact match after trimming spaces) within a date window around the
imaging date (default ±180 days, :data:`DEFAULT_WINDOW_DAYS`); the record nearest in date wins, and on
a tie the earlier one. An undated record is used only when no dated one is in the window and it is
the only candidate, with a warning.

Facts that disagree between sources are never silently resolved: every conflict is reported with all
values. Sex, weight and age in conflict become unknown. Height alone has a precedence, because SMI
needs it and the user can settle it: ``--height-m`` (cli) → DICOM PatientSize (dicom) → clinical
record (clinical); ``height_source`` records which was used. A DXA report's height and weight are
checked against the others but are not a height source (the contract's ``height_source`` has no
"dxa" value).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from imaging.classification.inputs import (
    ClassificationInputs,
    CtInputs,
    DxaInputs,
    FunctionInputs,
    Sex,
    Subject,
)
from imaging.clinical import ClinicalRecord
from imaging.schema import HeightSource, SubjectBlock

DEFAULT_WINDOW_DAYS = 180


@dataclass(frozen=True)
class MatchOptions:
    window_days: int = DEFAULT_WINDOW_DAYS
    height_tolerance_m: float = 0.02  # heights more than 2 cm apart conflict
    weight_tolerance_kg: float = 5.0  # weights more than 5 kg apart conflict
    age_tolerance_years: float = 1.0  # beyond the years elapsed between the records' dates

    def __post_init__(self) -> None:
        if self.window_days < 0:
            raise ValueError(f"window_days must be ≥ 0, got {self.window_days}")


@dataclass(frozen=True)
class ImagingRecord:
    """Subject facts from the DICOM header of the analysed series (StudyDate, PatientSize...)."""

    patient_id: str
    date: dt.date | None = None
    sex: Sex | None = None
    age_years: float | None = None
    height_m: float | None = None
    weight_kg: float | None = None


@dataclass(frozen=True)
class DxaRecord:
    """A DXA result (contract ``bonemuscle dxa --json`` object) with its patient facts and date."""

    patient_id: str
    date: dt.date | None
    results: DxaInputs
    sex: Sex | None = None
    age_years: float | None = None
    height_m: float | None = None
    weight_kg: float | None = None

    @classmethod
    def from_contract(cls, data: Mapping[str, Any], date: dt.date | None = None) -> DxaRecord:
        """``date`` overrides a ``date`` / ``study_date`` key (ISO or DICOM YYYYMMDD) in the object, if any.

        The contract's DXA JSON carries no date; the DXA reader's ``DxaResult.exam_date`` (YYYYMMDD) is
        the value to pass here.

        Raises:
            ValueError: when the object has no patient ID or an unreadable date.
        """
        patient = data.get("patient") or {}
        pid = str(patient.get("id") or "").strip()
        if not pid:
            raise ValueError("DXA result has no patient id: it cannot be matched to imaging")
        if date is None:
            text = data.get("date") or data.get("study_date") or patient.get("date")
            date = parse_date(str(text)) if text else None
        return cls(
            patient_id=pid,
            date=date,
            results=DxaInputs.from_contract(data),
            sex=Sex.parse(patient.get("sex")),
            age_years=_float(patient.get("age_years")),
            height_m=_float(patient.get("height_m")),
            weight_kg=_float(patient.get("weight_kg")),
        )


@dataclass(frozen=True)
class Conflict:
    field: str
    values: tuple[tuple[str, float | str], ...]  # (source, value)
    resolution: str

    def to_dict(self) -> dict[str, Any]:
        return {"field": self.field, "values": dict(self.values), "resolution": self.resolution}

    def __str__(self) -> str:
        shown = ", ".join(f"{src} {val}" for src, val in self.values)
        return f"{self.field} differs between sources ({shown}): {self.resolution}"


@dataclass(frozen=True)
class Match:
    patient_id: str
    subject: Subject
    height_source: HeightSource
    clinical: ClinicalRecord | None
    dxa: DxaRecord | None
    conflicts: tuple[Conflict, ...] = ()
    warnings: tuple[str, ...] = field(default=())

    def subject_dict(self) -> SubjectBlock:
        """The contract's results.json ``subject`` object."""
        s = self.subject
        return {
            "sex": s.sex.value if s.sex else None,
            "age_years": s.age_years,
            "height_m": s.height_m,
            "height_source": self.height_source,
            "weight_kg": s.weight_kg,
            "bmi_kg_m2": round(s.bmi, 2) if s.bmi is not None else None,
        }

    def classification_inputs(self, ct: CtInputs | None = None) -> ClassificationInputs:
        function = self.clinical.function() if self.clinical else FunctionInputs()
        return ClassificationInputs(
            subject=self.subject, dxa=self.dxa.results if self.dxa else None, function=function, ct=ct
        )


def nearest(
    records: Sequence[Any], patient_id: str, date: dt.date | None, window_days: int, kind: str
) -> tuple[Any | None, tuple[str, ...]]:
    """The record of this patient nearest to ``date`` within the window, and warnings about the choice."""
    mine = [r for r in records if r.patient_id.strip() == patient_id.strip()]
    if not mine:
        return None, ()
    dated = [r for r in mine if r.date is not None]
    undated = [r for r in mine if r.date is None]
    if date is None:
        if len(mine) == 1:
            return mine[0], (
                f"imaging date unknown: the only {kind} record of {patient_id} used without a date check",
            )
        return None, (f"imaging date unknown and {len(mine)} {kind} records for {patient_id}: none chosen",)
    inside = [r for r in dated if abs((r.date - date).days) <= window_days]
    if inside:
        inside.sort(key=lambda r: (abs((r.date - date).days), r.date))
        best = inside[0]
        warnings: list[str] = []
        if len(inside) > 1 and abs((inside[1].date - date).days) == abs((best.date - date).days):
            warnings.append(f"two {kind} records equally near {date}: the earlier ({best.date}) was used")
        return best, tuple(warnings)
    outside = [f"{r.date} ({abs((r.date - date).days)} days)" for r in dated]
    if len(undated) == 1:
        return undated[0], (f"{kind} record of {patient_id} has no date: used without a date check",)
    note = f"{kind} records of {patient_id} outside the ±{window_days}-day window of {date}: " + ", ".join(
        outside
    )
    if len(undated) > 1:
        note += f"; {len(undated)} undated records, none chosen"
    return None, (note,)


def match(
    imaging: ImagingRecord,
    clinical: Sequence[ClinicalRecord] = (),
    dxa: Sequence[DxaRecord] = (),
    *,
    cli_height_m: float | None = None,
    options: MatchOptions = MatchOptions(),
) -> Match:
    """Join the records and merge subject facts (see the module docstring for the rules)."""
    pid = imaging.patient_id
    clin, w1 = nearest(clinical, pid, imaging.date, options.window_days, "clinical")
    dx, w2 = nearest(dxa, pid, imaging.date, options.window_days, "DXA")
    warnings = [*w1, *w2]
    conflicts: list[Conflict] = []

    def sources(attr: str) -> list[tuple[str, Any]]:
        pairs = [("dicom", imaging), ("clinical", clin), ("dxa", dx)]
        return [
            (name, getattr(rec, attr))
            for name, rec in pairs
            if rec is not None and getattr(rec, attr) is not None
        ]

    # Height: precedence cli > dicom > clinical; conflicts still reported.
    heights = ([("cli", cli_height_m)] if cli_height_m is not None else []) + sources("height_m")
    height, height_source = None, None
    for name, value in heights:
        if name != "dxa":
            height, height_source = value, name
            break
    if heights and _spread(v for _, v in heights) > options.height_tolerance_m:
        conflicts.append(
            Conflict(
                "height_m", tuple(heights), f"{height_source} height used (precedence cli > dicom > clinical)"
            )
        )
    if height is None and heights:
        warnings.append(
            "only the DXA report gives a height; it is not used as height source: give --height-m"
        )

    sexes = sources("sex")
    sex = sexes[0][1] if sexes else None
    if len({v for _, v in sexes}) > 1:
        conflicts.append(Conflict("sex", tuple((n, v.value) for n, v in sexes), "sex set to unknown"))
        sex = None

    weights = sources("weight_kg")
    weight = weights[0][1] if weights else None
    if weights and _spread(v for _, v in weights) > options.weight_tolerance_kg:
        conflicts.append(Conflict("weight_kg", tuple(weights), "weight (and BMI) set to unknown"))
        weight = None

    age = _merge_age(imaging, clin, dx, options, conflicts)
    warnings += [str(c) for c in conflicts]
    subject = Subject(sex=sex, age_years=age, height_m=height, weight_kg=weight)
    return Match(pid, subject, height_source, clin, dx, tuple(conflicts), tuple(warnings))


def _merge_age(
    imaging: ImagingRecord,
    clin: ClinicalRecord | None,
    dx: DxaRecord | None,
    options: MatchOptions,
    conflicts: list[Conflict],
) -> float | None:
    """Age at the imaging date (DICOM first); records whose ages disagree beyond the time between them
    plus the tolerance conflict, and the age becomes unknown."""
    entries = [
        (name, rec.age_years, rec.date)
        for name, rec in (("dicom", imaging), ("clinical", clin), ("dxa", dx))
        if rec is not None and rec.age_years is not None
    ]
    if not entries:
        return None
    for i, (_, a1, d1) in enumerate(entries):
        for _, a2, d2 in entries[i + 1 :]:
            gap = abs((d1 - d2).days) / 365.25 if d1 and d2 else 0.0
            if abs(a1 - a2) > gap + options.age_tolerance_years:
                conflicts.append(
                    Conflict("age_years", tuple((n, a) for n, a, _ in entries), "age set to unknown")
                )
                return None
    return entries[0][1]


def parse_date(text: str) -> dt.date:
    """ISO ``YYYY-MM-DD`` or DICOM ``YYYYMMDD``.

    Raises:
        ValueError: naming the text when it is neither.
    """
    text = text.strip()
    try:
        if len(text) == 8 and text.isdigit():
            return dt.date(int(text[:4]), int(text[4:6]), int(text[6:]))
        return dt.date.fromisoformat(text)
    except ValueError as exc:
        raise ValueError(f"date {text!r} is neither YYYY-MM-DD nor YYYYMMDD") from exc


def _spread(values: Any) -> float:
    """Range of the values, rounded to 1e-6 so that 1.80 − 1.78 is exactly 0.02 at the tolerance."""
    vals = list(values)
    return round(max(vals) - min(vals), 6) if vals else 0.0


def _float(value: object) -> float | None:
    try:
        return float(value) if value is not None and value != "" else None  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
