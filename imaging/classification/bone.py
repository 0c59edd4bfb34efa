"""Bone status from DXA: WHO 1994 categories with the ISCD Official Positions' site and age rules.

Site rules (ISCD): the lowest T-score of the lumbar spine L1–L4, total hip and femoral neck; the 33%
radius only when the hip or the spine cannot be used (or for hyperparathyroidism / over the table
limit, which the caller states); never Ward's area or the trochanter (the input type does not carry
them). In the spine, a vertebra whose T-score differs by more than 1.0 from a neighbour is excluded,
at least two vertebrae must remain, and a single vertebra is never diagnostic.

Men under 50 and premenopausal women are read by Z-score: Z ≤ −2.0 is "below the expected range for
age", and no osteoporosis label comes from BMD alone.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from itertools import pairwise
from statistics import median

from imaging.classification import criteria as C
from imaging.classification.inputs import (
    HIP_SITES,
    RADIUS_SITES,
    SPINE_TOTAL,
    VERTEBRAE,
    DxaInputs,
    Sex,
    Subject,
)
from imaging.classification.result import Evidence, Result, Status, check


@dataclass(frozen=True)
class SiteScores:
    """The scores that may be used for diagnosis after ISCD's site rules, and why others were not."""

    scores: dict[str, float]
    excluded_vertebrae: tuple[str, ...]
    notes: tuple[str, ...]

    def lowest(self) -> tuple[str, float] | None:
        if not self.scores:
            return None
        site = min(self.scores, key=lambda s: self.scores[s])
        return site, self.scores[site]


def excluded_vertebrae(t_scores: dict[str, float]) -> tuple[str, ...]:
    """Vertebrae to exclude under ISCD's rule (T-score > 1.0 different from a neighbour).

    When two neighbours differ, the one farther from the median of the remaining vertebrae is the
    outlier (ties: the higher T-score, since structural artefacts raise BMD). Exclusion is repeated,
    with neighbours taken among the vertebrae still included, until no pair differs by more than 1.0.
    """
    remaining = [v for v in VERTEBRAE if v in t_scores]
    excluded: list[str] = []
    while len(remaining) >= 2:
        involved = {
            v
            for a, b in pairwise(remaining)
            if abs(t_scores[a] - t_scores[b]) > C.ISCD_VERTEBRA_T_DIFFERENCE
            for v in (a, b)
        }
        if not involved:
            break
        centre = median(t_scores[v] for v in remaining)
        worst = max(sorted(involved), key=lambda v: (abs(t_scores[v] - centre), t_scores[v]))
        excluded.append(worst)
        remaining.remove(worst)
    return tuple(excluded)


def select_sites(
    dxa: DxaInputs, score: str, *, allow_radius: bool = True, radius_indicated: bool = False
) -> SiteScores:
    """Apply ISCD's site rules to one kind of score (``"t_score"`` or ``"z_score"``)."""
    notes: list[str] = []
    scores: dict[str, float] = {}

    per_vertebra = {v: getattr(dxa.site(v), score) for v in VERTEBRAE}
    vertebrae: dict[str, float] = {v: s for v, s in per_vertebra.items() if s is not None}
    # ISCD's exclusion rule is stated on T-scores; under the Z-score reading, neighbour differences in
    # Z are used when no T-scores were reported (both are offsets of the same BMD at a vertebra).
    t_scores = {v: dxa.site(v).t_score for v in VERTEBRAE}
    t_vertebrae: dict[str, float] = {v: t for v, t in t_scores.items() if t is not None}
    excluded = excluded_vertebrae(t_vertebrae or vertebrae)
    total = getattr(dxa.site(SPINE_TOTAL), score)
    spine_usable = False
    if excluded:
        left = len(t_vertebrae or vertebrae) - len(excluded)
        notes.append(
            f"ISCD: excluded {', '.join(excluded)} (score differs from a neighbour by more than "
            f"{C.ISCD_VERTEBRA_T_DIFFERENCE:g}); the reported L1–L4 total includes it and cannot be "
            "recomputed without the vendor reference database, so the spine is not used"
            + (
                ""
                if left >= C.ISCD_MIN_VERTEBRAE
                else f" (only {left} evaluable vertebra left; at least 2 needed)"
            )
        )
    elif total is not None:
        scores[SPINE_TOTAL] = total
        spine_usable = True
    elif vertebrae:
        notes.append(
            "ISCD: single-vertebra scores are never diagnostic alone and no L1–L4 total was given; "
            "spine not used"
        )

    hip = {s: getattr(dxa.site(s), score) for s in HIP_SITES}
    hip = {s: v for s, v in hip.items() if v is not None}
    scores.update(hip)

    radius = {s: getattr(dxa.site(s), score) for s in RADIUS_SITES}
    radius = {s: v for s, v in radius.items() if v is not None}
    if radius and allow_radius:
        if radius_indicated or not spine_usable or not hip:
            scores.update(radius)
            notes.append(
                "ISCD: 33% radius used because "
                + (
                    "the caller indicated it (hyperparathyroidism or over the table limit)"
                    if radius_indicated
                    else "hip or spine is not usable"
                )
            )
        else:
            notes.append("ISCD: 33% radius not used (hip and spine usable; no indication given)")
    return SiteScores(scores, excluded, tuple(notes))


def uses_z_score(subject: Subject) -> tuple[bool | None, str]:
    """Whether ISCD's Z-score rule applies; None when the age needed to decide is unknown."""
    if subject.sex is Sex.FEMALE and subject.menopausal is not None:
        return (not subject.menopausal), "menopausal status given"
    if subject.age_years is None:
        return None, ""
    if subject.age_years < C.ISCD_Z_SCORE_AGE_BELOW:
        why = "age < 50"
        if subject.sex is Sex.FEMALE:
            why += "; menopausal status unknown, assumed premenopausal"
        elif subject.sex is None:
            why += "; sex unknown"
        return True, why
    why = "age ≥ 50" + (
        "; menopausal status unknown, assumed postmenopausal" if subject.sex is Sex.FEMALE else ""
    )
    return False, why


def classify_bone(
    subject: Subject,
    dxa: DxaInputs | None,
    fragility_fracture: bool | None,
    *,
    radius_indicated: bool = False,
) -> Result:
    """WHO/ISCD bone status. ``positive`` means low bone mass or worse; ``stage`` says which."""
    name, source = "WHO_ISCD_bone", C.WHO
    if dxa is None:
        return Result(name, Status.INSUFFICIENT_DATA, None, missing=("DXA",), source=source)
    z_rule, why = uses_z_score(subject)
    if z_rule is None:
        return Result(
            name,
            Status.INSUFFICIENT_DATA,
            None,
            missing=("age_years",),
            source=source,
            notes=("age decides between T-score (≥ 50) and Z-score (< 50) reading (ISCD)",),
        )
    sites = select_sites(dxa, "z_score" if z_rule else "t_score", radius_indicated=radius_indicated)
    notes = (f"{'Z' if z_rule else 'T'}-score reading: {why}", *sites.notes)
    lowest = sites.lowest()
    if lowest is None:
        kind = "z_score" if z_rule else "t_score"
        return Result(
            name,
            Status.INSUFFICIENT_DATA,
            None,
            source=source,
            notes=notes,
            missing=(f"DXA {kind} at lumbar spine L1–L4, total hip or femoral neck",),
        )
    site, value = lowest
    if z_rule:
        finding = check(C.ISCD_Z_LOW, value, subject.sex)
        low = finding.evidence[0].met
        return Result(
            name,
            Status.POSITIVE if low else Status.NEGATIVE,
            "below_expected_range_for_age" if low else "within_expected_range_for_age",
            evidence=_at_site(finding.evidence, site),
            notes=(*notes, "ISCD: no osteoporosis label from BMD alone under the Z-score rule"),
            source=source,
        )
    low_mass = check(C.WHO_LOW_BONE_MASS, value, subject.sex)
    porosis = check(C.WHO_OSTEOPOROSIS, value, subject.sex)
    evidence = _at_site(low_mass.evidence + porosis.evidence, site)
    if porosis.evidence[0].met:
        if fragility_fracture is True:
            stage, extra = (
                "severe_osteoporosis",
                "fragility fracture reported: severe (established) osteoporosis",
            )
        elif fragility_fracture is None:
            stage, extra = "osteoporosis", "fragility fracture history unknown: severity not assessed"
        else:
            stage, extra = "osteoporosis", "no fragility fracture reported"
        return Result(name, Status.POSITIVE, stage, evidence, notes=(*notes, extra), source=source)
    if low_mass.evidence[0].met:
        return Result(name, Status.POSITIVE, "osteopenia", evidence, notes=notes, source=source)
    return Result(name, Status.NEGATIVE, "normal", evidence, notes=notes, source=source)


def _at_site(evidence: tuple[Evidence, ...], site: str) -> tuple[Evidence, ...]:
    """Name the site in the evidence so a reader sees where the lowest score came from."""
    return tuple(replace(e, note=f"lowest score at {site}") for e in evidence)
