"""Imaging-only ("opportunistic") findings on CT: L1 attenuation for bone, L3 muscle index and density.

These are screening results. A positive CT finding is reported as ``suspected``, never as a
diagnosis: the consensus definitions need DXA and muscle strength/performance. Thresholds and their
meaning come from the sources in :mod:`imaging.classification.criteria`:

* L1 trabecular HU (Pickhardt 2013): ≤110 HU is >90% specific for DXA osteoporosis → "suspected";
  ≤160 HU is 90% sensitive, so 110–160 HU is "indeterminate" (DXA needed); >200 HU has a 99% negative
  predictive value → "unlikely"; 160–200 HU is above the sensitive cut-off without reaching the NPV
  threshold → also "indeterminate".
* SMI and muscle attenuation cut-offs are defined at L3. When another level stands in (Derstine's
  fallback order), the L3 cut-offs do not apply and the result says so.
"""

from __future__ import annotations

from imaging.classification import criteria as C
from imaging.classification.inputs import Contrast, CtInputs, Subject
from imaging.classification.result import Result, State, Status, any_of, check, collect


def _contrast_notes(ct: CtInputs, what: str) -> tuple[str, ...]:
    if ct.contrast is Contrast.YES:
        return (f"contrast-enhanced CT: {what}",)
    if ct.contrast is Contrast.UNKNOWN:
        return (f"contrast phase unknown: {what}",)
    return ()


def classify_ct_bone(ct: CtInputs | None) -> Result:
    """Pickhardt 2013 L1 attenuation bands: suspected osteoporosis / indeterminate / unlikely."""
    name, source = "CT_bone_Pickhardt2013", C.PICKHARDT
    if ct is None or ct.l1_trabecular_hu is None:
        return Result(name, Status.INSUFFICIENT_DATA, None, missing=("l1_trabecular_hu",), source=source)
    hu = ct.l1_trabecular_hu
    findings = [check(c, hu, None) for c in (C.CT_L1_SPECIFIC, C.CT_L1_SENSITIVE, C.CT_L1_NPV)]
    evidence, _, _ = collect(*findings)
    notes = _contrast_notes(ct, C.CONTRAST_EFFECT_NOTE)
    specific, sensitive, npv = (f.state is State.LOW for f in findings)
    if specific:
        return Result(
            name,
            Status.SUSPECTED,
            "suspected_osteoporosis",
            evidence,
            notes=(*notes, "≤110 HU is >90% specific for DXA osteoporosis; confirm with DXA"),
            source=source,
        )
    if npv:
        return Result(
            name,
            Status.NEGATIVE,
            "osteoporosis_unlikely",
            evidence,
            notes=(*notes, ">200 HU: negative predictive value 99% for DXA osteoporosis"),
            source=source,
        )
    band = (
        "between the specific (≤110 HU) and sensitive (≤160 HU) thresholds"
        if sensitive
        else "above the sensitive threshold (160 HU) but not above 200 HU (NPV 99%)"
    )
    return Result(
        name,
        Status.INSUFFICIENT_DATA,
        "indeterminate",
        evidence,
        missing=("DXA (L1 attenuation is indeterminate)",),
        notes=(*notes, f"L1 {hu:.0f} HU is {band}"),
        source=source,
    )


def classify_ct_muscle(ct: CtInputs | None, subject: Subject, criteria: C.CtMuscleCriteria) -> Result:
    """Low muscle index or low attenuation at L3 by one published cut-off set (imaging only)."""
    name, source = criteria.name, criteria.source
    base_notes = (criteria.note,) if criteria.note else ()
    measures = tuple(c.measure for c in criteria.cutoffs)
    if ct is None or ct.level is None:
        return Result(name, Status.INSUFFICIENT_DATA, None, missing=measures, notes=base_notes, source=source)
    if ct.level != "L3":
        return Result(
            name,
            Status.INSUFFICIENT_DATA,
            None,
            missing=tuple(f"{m} at L3" for m in measures),
            notes=(
                *base_notes,
                f"muscle measured at {ct.level} (Derstine 2018 fallback order); these cut-offs are for L3",
            ),
            source=source,
        )
    values = {
        "smi_cm2_m2": ct.smi_cm2_m2,
        "muscle_area_cm2": ct.muscle_area_cm2,
        "muscle_hu_mean": ct.muscle_hu_mean,
    }
    finding = any_of(check(c, values[c.measure], subject.sex, subject.bmi) for c in criteria.cutoffs)
    notes = base_notes
    if "muscle_hu_mean" in measures:
        notes = (*notes, *_contrast_notes(ct, "contrast and kVp change muscle attenuation"))
    if "smi_cm2_m2" in measures and ct.smi_cm2_m2 is None and ct.muscle_area_cm2 is not None:
        notes = (*notes, "SMI needs the subject's height, which is unknown")
    if finding.state is State.LOW:
        return Result(name, Status.SUSPECTED, criteria.finding, finding.evidence, notes=notes, source=source)
    if finding.state is State.NOT_LOW:
        return Result(name, Status.NEGATIVE, "normal", finding.evidence, notes=notes, source=source)
    return Result(
        name, Status.INSUFFICIENT_DATA, None, finding.evidence, finding.missing, notes, source=source
    )


def classify_ct_osteosarcopenia(bone: Result, muscle: Result) -> Result:
    """Suspected osteosarcopenia when both CT findings are suspected (e.g. low SMI and L1 ≤110 HU)."""
    name = "osteosarcopenia_ct_opportunistic"
    source = f"{bone.source} + {muscle.source}"
    evidence = bone.evidence + muscle.evidence
    notes = (
        f"imaging-only screening from {bone.criteria_set} and {muscle.criteria_set}: never a diagnosis; "
        "DXA and muscle strength/performance are needed for the consensus definitions",
    )
    if Status.NEGATIVE in (bone.status, muscle.status):
        return Result(name, Status.NEGATIVE, "not_suspected", evidence, notes=notes, source=source)
    if bone.status is Status.SUSPECTED and muscle.status is Status.SUSPECTED:
        return Result(
            name, Status.SUSPECTED, "suspected_osteosarcopenia", evidence, notes=notes, source=source
        )
    missing = bone.missing + muscle.missing
    return Result(name, Status.INSUFFICIENT_DATA, None, evidence, missing, notes, source=source)
