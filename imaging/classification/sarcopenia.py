"""Sarcopenia by the consensus definitions (EWGSOP2, AWGS 2019, FNIH, SDOC).

Each definition is a :class:`~imaging.classification.criteria.SarcopeniaCriteria` (data); this module
only evaluates components and applies the definition's staging. Alternatives inside a component (grip
OR chair stand) count as low when any measured one is low, and as normal when the measured ones are
normal; a component with nothing measured is unknown and makes the result ``insufficient_data`` only
when the outcome actually depends on it.

Muscle mass comes from DXA lean mass excluding bone mineral (ALM); neither EWGSOP2 nor AWGS defines a
CT cut-off, so CT muscle measures are never used here.
"""

from __future__ import annotations

from imaging.classification.criteria import SarcopeniaCriteria, Staging
from imaging.classification.inputs import ClassificationInputs
from imaging.classification.result import Finding, Result, State, Status, any_of, check, collect

LOW, NOT_LOW, UNKNOWN = State.LOW, State.NOT_LOW, State.UNKNOWN


def measure_values(inputs: ClassificationInputs) -> tuple[dict[str, float | None], dict[str, str]]:
    """Values by measure name, deriving ALMI and ALM/BMI from ALM when the DXA report lacks them.

    The second item maps a measure (or "dxa") to a note on how it was obtained or why it is absent.
    """
    fn, subject, dxa = inputs.function, inputs.subject, inputs.dxa
    values: dict[str, float | None] = {
        "grip_kg": fn.grip_kg,
        "gait_speed_m_s": fn.gait_speed_m_s,
        "chair_stand_s": fn.chair_stand_s,
        "sppb": fn.sppb,
        "tug_s": fn.tug_s,
        "walk_400m_min": fn.walk_400m_min,
        "alm_kg": None,
        "almi_kg_m2": None,
        "alm_bmi": None,
    }
    notes: dict[str, str] = {}
    if dxa is None:
        return values, {"dxa": "no DXA given: muscle mass unknown"}
    if dxa.lean_definition != "excluding_bmc":
        notes["dxa"] = (
            f"DXA lean mass is '{dxa.lean_definition}': appendicular lean mass must exclude bone mineral "
            "content, so DXA muscle mass is not used"
        )
        return values, notes
    values["alm_kg"] = dxa.alm_kg
    values["almi_kg_m2"] = dxa.almi_kg_m2
    values["alm_bmi"] = dxa.alm_bmi
    if dxa.almi_kg_m2 is None and dxa.alm_kg is not None and subject.height_m:
        values["almi_kg_m2"] = dxa.alm_kg / subject.height_m**2
        notes["almi_kg_m2"] = "ALMI computed as DXA ALM / height²"
    bmi = subject.bmi
    if dxa.alm_bmi is None and dxa.alm_kg is not None and bmi:
        values["alm_bmi"] = dxa.alm_kg / bmi
        notes["alm_bmi"] = "ALM/BMI computed from DXA ALM and the subject's BMI"
    return values, notes


def classify_sarcopenia(inputs: ClassificationInputs, criteria: SarcopeniaCriteria) -> Result:
    values, value_notes = measure_values(inputs)
    sex, bmi = inputs.subject.sex, inputs.subject.bmi

    def component(cutoffs: tuple) -> Finding | None:
        if not cutoffs:
            return None
        return any_of(check(c, values[c.measure], sex, bmi) for c in cutoffs)

    strength = component(criteria.strength)
    mass = component(criteria.mass)
    performance = component(criteria.performance)
    parts = [f for f in (strength, mass, performance) if f is not None]
    evidence, _, notes = collect(*parts)
    used = {c.measure for c in criteria.mass} | ({"dxa"} if criteria.mass else set())
    notes = (
        *notes,
        *(text for key, text in value_notes.items() if key in used),
        *((criteria.note,) if criteria.note else ()),
    )

    if criteria.staging is Staging.EWGSOP2:
        status, stage, missing = _ewgsop2(strength, mass, performance)
    elif criteria.staging is Staging.AWGS:
        status, stage, missing = _awgs(strength, mass, performance)
    else:
        second = mass if mass is not None else performance
        status, stage, missing = _both(strength, second)
    if status is Status.POSITIVE and missing:
        notes = (*notes, "severity not assessed: " + "; ".join(missing) + " unknown")
    return Result(criteria.name, status, stage, evidence, missing, notes, source=criteria.source)


Outcome = tuple[Status, str | None, tuple[str, ...]]


def _missing(*findings: Finding | None) -> tuple[str, ...]:
    return tuple(m for f in findings if f is not None and f.state is UNKNOWN for m in _alternatives(f))


def _alternatives(finding: Finding) -> tuple[str, ...]:
    # Alternatives (grip OR chair stand) are reported as one "a or b" item: any one of them suffices.
    return (" or ".join(dict.fromkeys(finding.missing)),) if finding.missing else ()


def _ewgsop2(strength: Finding | None, mass: Finding | None, performance: Finding | None) -> Outcome:
    assert strength is not None and mass is not None and performance is not None
    if strength.state is UNKNOWN:
        return Status.INSUFFICIENT_DATA, None, _missing(strength)
    if strength.state is NOT_LOW:
        return Status.NEGATIVE, "no_sarcopenia", ()
    if mass.state is UNKNOWN:
        return Status.INSUFFICIENT_DATA, "probable", _missing(mass)
    if mass.state is NOT_LOW:
        return Status.NEGATIVE, "probable", ()  # low strength only: probable, not confirmed
    if performance.state is LOW:
        return Status.POSITIVE, "severe", ()
    return Status.POSITIVE, "confirmed", _missing(performance)  # severity unassessed if unknown


def _awgs(strength: Finding | None, mass: Finding | None, performance: Finding | None) -> Outcome:
    assert strength is not None and mass is not None and performance is not None
    s, m, p = strength.state, mass.state, performance.state
    possible = LOW in (s, p)
    if m is NOT_LOW or (s is NOT_LOW and p is NOT_LOW):
        return Status.NEGATIVE, ("possible" if possible else "no_sarcopenia"), ()
    if m is UNKNOWN:
        return (
            Status.INSUFFICIENT_DATA,
            ("possible" if possible else None),
            _missing(mass, strength, performance),
        )
    if not possible:  # low mass, neither strength nor performance known to be low, one unknown
        return Status.INSUFFICIENT_DATA, None, _missing(strength, performance)
    if s is LOW and p is LOW:
        return Status.POSITIVE, "severe", ()
    return Status.POSITIVE, "sarcopenia", _missing(strength, performance)


def _both(first: Finding | None, second: Finding | None) -> Outcome:
    assert first is not None and second is not None
    if NOT_LOW in (first.state, second.state):
        return Status.NEGATIVE, "no_sarcopenia", ()
    if first.state is LOW and second.state is LOW:
        return Status.POSITIVE, "sarcopenia", ()
    return Status.INSUFFICIENT_DATA, None, _missing(first, second)
