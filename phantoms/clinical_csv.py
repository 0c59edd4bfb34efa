"""The clinical table that goes with the sample subjects (``sample_dicoms/clinical.csv``).

Strength and performance values are chosen to agree with each subject's intended classification
(see the roster in :mod:`phantoms.study`): BM001 strong, BM002 weak and slow
(sarcopenia), BM003 in the normal range for the EWGSOP2/AWGS/FNIH cut-offs, BM004 mostly unknown
so that readers meet empty cells. Sex, age, height and weight come from the roster, never typed twice.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

COLUMNS: tuple[str, ...] = (
    "patient_id",
    "date",
    "sex",
    "age_years",
    "height_cm",
    "weight_kg",
    "grip_kg",
    "gait_speed_m_s",
    "chair_stand_s",
    "sppb",
    "tug_s",
    "fragility_fracture",
)


class SubjectFacts(Protocol):
    """What a roster subject must tell the clinical table (see ``study.Subject``)."""

    patient_id: str
    sex: str
    age_years: int
    height_m: float
    weight_kg: float
    clinical_date: str


@dataclass(frozen=True)
class Performance:
    """Strength and physical-performance results of one visit; None = not measured (an empty cell)."""

    grip_kg: float | None = None
    gait_speed_m_s: float | None = None
    chair_stand_s: float | None = None
    sppb: int | None = None
    tug_s: float | None = None
    fragility_fracture: bool | None = None


@dataclass(frozen=True)
class ClinicalRecord:
    """One row of clinical.csv."""

    patient_id: str
    date: str  # ISO YYYY-MM-DD
    sex: str
    age_years: int
    height_cm: float | None
    weight_kg: float | None
    performance: Performance

    def cells(self) -> list[str]:
        p = self.performance
        return [
            self.patient_id,
            self.date,
            self.sex,
            str(self.age_years),
            _num(self.height_cm),
            _num(self.weight_kg),
            _num(p.grip_kg),
            _num(p.gait_speed_m_s),
            _num(p.chair_stand_s),
            _num(p.sppb),
            _num(p.tug_s),
            "" if p.fragility_fracture is None else ("yes" if p.fragility_fracture else "no"),
        ]


# Per-subject visit results, consistent with the intended truth of the roster:
# BM001 normal strength and performance; BM002 low grip (<16 kg women) and slow gait (<=0.8 m/s) with a
# wrist fracture; BM003 above every consensus strength/performance cut-off except SDOC grip (<35.5 kg);
# BM004 only grip and gait known.
PERFORMANCE: dict[str, Performance] = {
    "BM001": Performance(40.0, 1.25, 9.8, 12, 7.9, False),
    "BM002": Performance(14.0, 0.7, 17.5, 7, 14.6, True),
    "BM003": Performance(31.0, 1.05, 11.4, 10, 10.8, False),
    "BM004": Performance(22.0, 1.1, None, None, None, None),
}


def _num(value: float | int | None) -> str:
    """Empty for unknown; integers without a trailing '.0'."""
    if value is None:
        return ""
    if float(value).is_integer():
        return str(int(value))
    return f"{value:g}"


def write_clinical_csv(records: Iterable[ClinicalRecord], path: str | Path) -> Path:
    """Write clinical.csv with the fixed column order and '\\n' line endings (byte-reproducible)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(format_clinical_csv(records), encoding="utf-8")
    return path


def format_clinical_csv(records: Iterable[ClinicalRecord]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(COLUMNS)
    for record in records:
        writer.writerow(record.cells())
    return buffer.getvalue()


def read_clinical_csv(path: str | Path) -> list[dict[str, str]]:
    """Rows as dicts of strings (used by the sample tests to check the file against the roster)."""
    with open(path, newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    return rows


def records_for(subjects: Sequence[SubjectFacts]) -> list[ClinicalRecord]:
    """Clinical rows for roster subjects, in roster order.

    Raises:
        KeyError: naming a subject that has no performance values in :data:`PERFORMANCE`.
    """
    rows = []
    for s in subjects:
        if s.patient_id not in PERFORMANCE:
            raise KeyError(f"no clinical performance values for subject {s.patient_id}")
        rows.append(
            ClinicalRecord(
                patient_id=s.patient_id,
                date=s.clinical_date,
                sex=s.sex,
                age_years=s.age_years,
                height_cm=round(s.height_m * 100, 1),
                weight_kg=s.weight_kg,
                performance=PERFORMANCE[s.patient_id],
            )
        )
    return rows
