"""Osteosarcopenia: a bone criterion and a sarcopenia definition, both met.

The definitions disagree on the bone criterion, so it is a switch (:class:`BoneCriterion`):

* OSTEOPENIA_OR_WORSE (Hirschfeld 2017; Kirk 2020; Huang 2023): lowest T ≤ −1.0 with sarcopenia by the
  chosen consensus set (EWGSOP2 by default).
* OSTEOPOROSIS_ONLY (Chinese expert consensus 2022, "sarcopenic osteoporosis"): T ≤ −2.5 at L1–L4,
  femoral neck or total hip, or a fragility fracture; sarcopenia with AWGS-style cut-offs.

T-scores are chosen with ISCD's site rules (see :mod:`imaging.classification.bone`). Under ISCD's
Z-score rule (men < 50, premenopausal women) neither definition's T-score criterion applies.
"""

from __future__ import annotations

from imaging.classification import criteria as C
from imaging.classification.bone import select_sites, uses_z_score
from imaging.classification.criteria import BoneCriterion, SarcopeniaCriteria
from imaging.classification.inputs import ClassificationInputs
from imaging.classification.result import Finding, Result, State, Status, check, collect
from imaging.classification.sarcopenia import classify_sarcopenia


def result_name(bone: BoneCriterion, sarcopenia: SarcopeniaCriteria) -> str:
    return f"osteosarcopenia_{bone.value}_{sarcopenia.name}"


def bone_finding(
    inputs: ClassificationInputs, criterion: BoneCriterion, *, radius_indicated: bool = False
) -> Finding:
    """Whether the definition's bone criterion is met (LOW), not met, or cannot be judged."""
    china = criterion is BoneCriterion.OSTEOPOROSIS_ONLY
    cutoff = C.OSTEOSARCOPENIA_T_CHINA if china else C.OSTEOSARCOPENIA_T_BROAD
    fracture = inputs.function.fragility_fracture
    fracture_note = (
        "fragility fracture reported: meets the osteoporosis criterion (Chinese consensus 2022)",
    )
    if china and fracture is True:
        t = _t_score_finding(inputs, cutoff, china, radius_indicated)
        return Finding(State.LOW, t.evidence, notes=(*t.notes, *fracture_note))
    t = _t_score_finding(inputs, cutoff, china, radius_indicated)
    if not china or t.state is not State.NOT_LOW:
        return t
    if fracture is False:
        return t
    return Finding(State.UNKNOWN, t.evidence, ("fragility_fracture",), t.notes)


def _t_score_finding(
    inputs: ClassificationInputs, cutoff: C.Cutoff, china: bool, radius_indicated: bool
) -> Finding:
    if inputs.dxa is None:
        return Finding(State.UNKNOWN, missing=("DXA T-score",))
    z_rule, why = uses_z_score(inputs.subject)
    if z_rule is None:
        return Finding(State.UNKNOWN, missing=("age_years",))
    if z_rule:
        return Finding(
            State.UNKNOWN,
            missing=("T-score criterion not applicable (ISCD Z-score rule)",),
            notes=(f"ISCD Z-score rule applies ({why}): the definitions' T-score criteria do not apply",),
        )
    # The Chinese consensus names L1–L4, femoral neck and total hip only: no radius.
    sites = select_sites(inputs.dxa, "t_score", allow_radius=not china, radius_indicated=radius_indicated)
    lowest = sites.lowest()
    if lowest is None:
        return Finding(
            State.UNKNOWN, missing=("DXA T-score at L1–L4, total hip or femoral neck",), notes=sites.notes
        )
    site, value = lowest
    finding = check(cutoff, value, inputs.subject.sex)
    return Finding(finding.state, finding.evidence, notes=(*sites.notes, f"lowest T-score at {site}"))


def classify_osteosarcopenia(
    inputs: ClassificationInputs,
    bone: BoneCriterion,
    sarcopenia: SarcopeniaCriteria | None = None,
    *,
    radius_indicated: bool = False,
) -> Result:
    """Consensus osteosarcopenia. ``sarcopenia`` defaults to EWGSOP2 (broad) or AWGS 2019 (Chinese)."""
    if sarcopenia is None:
        sarcopenia = C.CHINA_SARCOPENIA if bone is BoneCriterion.OSTEOPOROSIS_ONLY else C.EWGSOP2_CRITERIA
    name = result_name(bone, sarcopenia)
    bone_source = (
        C.OSTEOSARCOPENIA_CHINA if bone is BoneCriterion.OSTEOPOROSIS_ONLY else C.OSTEOSARCOPENIA_BROAD
    )
    source = f"{bone_source}; sarcopenia by {sarcopenia.source}"
    b = bone_finding(inputs, bone, radius_indicated=radius_indicated)
    s_result = classify_sarcopenia(inputs, sarcopenia)
    s_state = {
        Status.POSITIVE: State.LOW,
        Status.NEGATIVE: State.NOT_LOW,
    }.get(s_result.status, State.UNKNOWN)
    evidence, _, notes = collect(b)
    evidence = evidence + s_result.evidence
    notes = (
        f"bone criterion: {bone.value}",
        *notes,
        f"sarcopenia ({sarcopenia.name}): {s_result.status.value}"
        + (f", stage {s_result.stage}" if s_result.stage else ""),
        *s_result.notes,
    )
    if State.NOT_LOW in (b.state, s_state):
        return Result(name, Status.NEGATIVE, "no_osteosarcopenia", evidence, notes=notes, source=source)
    if b.state is State.LOW and s_state is State.LOW:
        return Result(name, Status.POSITIVE, "osteosarcopenia", evidence, notes=notes, source=source)
    missing = (*b.missing, *s_result.missing)
    return Result(name, Status.INSUFFICIENT_DATA, None, evidence, missing, notes, source=source)
