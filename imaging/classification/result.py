"""What a criteria set returns, and the small algebra used to build it.

A criterion compares one measured value with one cut-off and yields a :class:`Finding`: LOW (the
abnormal side of the cut-off), NOT_LOW, or UNKNOWN with the missing input named. Criteria sets combine
findings and end in a :class:`Result` whose ``to_dict`` is the contract's classification entry.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import Enum, StrEnum
from typing import Any

from imaging.classification.criteria import Cutoff, Mark
from imaging.classification.inputs import Sex

#: Bumped whenever a threshold, source or rule changes, so stored results say which rules made them.
CRITERIA_VERSION = "2024.1"


class Status(StrEnum):
    POSITIVE = "positive"
    NEGATIVE = "negative"
    #: imaging-only screening: never a diagnosis.
    SUSPECTED = "suspected"
    INSUFFICIENT_DATA = "insufficient_data"


class State(Enum):
    LOW = "low"
    NOT_LOW = "not_low"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class Evidence:
    """One comparison of a value with a cut-off, with everything needed to audit it."""

    measure: str
    value: float
    threshold: float
    comparison: str
    unit: str
    source: str
    mark: Mark
    met: bool
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "measure": self.measure,
            "value": round(self.value, 4),
            "threshold": self.threshold,
            "comparison": self.comparison,
            "unit": self.unit,
            "met": self.met,
            "source": self.source,
            "source_status": self.mark.value,
        }
        if self.mark is Mark.UNCHECKED:
            out["configurable_default"] = True
        if self.note:
            out["note"] = self.note
        return out


@dataclass(frozen=True)
class Finding:
    state: State
    evidence: tuple[Evidence, ...] = ()
    missing: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()


def check(cutoff: Cutoff, value: float | None, sex: Sex | None, bmi: float | None = None) -> Finding:
    """Compare ``value`` with the cut-off for this sex (and BMI band, where the cut-off depends on it)."""
    if value is None:
        return Finding(State.UNKNOWN, missing=(cutoff.measure,))
    threshold, need = cutoff.threshold_for(sex, bmi)
    if threshold is None:
        return Finding(State.UNKNOWN, missing=need)
    met = cutoff.comparison.holds(value, threshold)
    evidence = Evidence(
        measure=cutoff.measure,
        value=value,
        threshold=threshold,
        comparison=cutoff.comparison.value,
        unit=cutoff.unit,
        source=cutoff.source,
        mark=cutoff.mark,
        met=met,
        note=cutoff.describe_band(sex, bmi),
    )
    return Finding(State.LOW if met else State.NOT_LOW, evidence=(evidence,))


def any_of(findings: Iterable[Finding]) -> Finding:
    """Alternatives (e.g. grip OR chair stand): low if any measured one is low; not low if the measured
    ones are all normal; unknown only when none could be assessed."""
    items = list(findings)
    evidence = tuple(e for f in items for e in f.evidence)
    notes = tuple(n for f in items for n in f.notes)
    if any(f.state is State.LOW for f in items):
        return Finding(State.LOW, evidence, notes=notes)
    if any(f.state is State.NOT_LOW for f in items):
        return Finding(State.NOT_LOW, evidence, notes=notes)
    return Finding(State.UNKNOWN, evidence, tuple(m for f in items for m in f.missing), notes)


@dataclass(frozen=True)
class Result:
    criteria_set: str
    status: Status
    stage: str | None
    evidence: tuple[Evidence, ...] = ()
    missing: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    source: str = ""

    def __post_init__(self) -> None:
        if self.status is Status.INSUFFICIENT_DATA and not self.missing:
            raise ValueError(f"{self.criteria_set}: insufficient_data must name the missing inputs")

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "status": self.status.value,
            "stage": self.stage,
            "evidence": [e.to_dict() for e in self.evidence],
            "source": self.source,
            "criteria_version": CRITERIA_VERSION,
        }
        if self.missing:
            out["missing"] = list(dict.fromkeys(self.missing))
        if self.notes:
            out["notes"] = list(dict.fromkeys(self.notes))
        return out


def collect(*findings: Finding) -> tuple[tuple[Evidence, ...], tuple[str, ...], tuple[str, ...]]:
    """Evidence, missing inputs and notes of several findings, in order, without duplicates."""
    evidence = tuple(dict.fromkeys(e for f in findings for e in f.evidence))
    missing = tuple(dict.fromkeys(m for f in findings for m in f.missing))
    notes = tuple(dict.fromkeys(n for f in findings for n in f.notes))
    return evidence, missing, notes
