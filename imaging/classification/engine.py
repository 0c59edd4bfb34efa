"""Run the selected criteria sets on one subject and return the contract's ``classification`` object.

The choice of sets is a frozen :class:`EngineConfig`; :data:`DEFAULT_CONFIG` is the project default
the README quotes: WHO/ISCD for bone, EWGSOP2 for sarcopenia, osteosarcopenia with the
osteopenia-or-worse bone criterion (Hirschfeld 2017; Kirk 2020; Huang 2023), plus the imaging-only CT
screens. Every set is reported, including those that cannot be decided (``insufficient_data`` with the
missing inputs), so a reader sees what would be needed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from imaging.classification import criteria as C
from imaging.classification.bone import classify_bone
from imaging.classification.criteria import BoneCriterion, CtMuscleCriteria, SarcopeniaCriteria
from imaging.classification.ct_opportunistic import (
    classify_ct_bone,
    classify_ct_muscle,
    classify_ct_osteosarcopenia,
)
from imaging.classification.inputs import ClassificationInputs
from imaging.classification.osteosarcopenia import classify_osteosarcopenia
from imaging.classification.result import CRITERIA_VERSION, Result
from imaging.classification.sarcopenia import classify_sarcopenia


@dataclass(frozen=True)
class EngineConfig:
    """Which criteria sets to run.

    ``osteosarcopenia`` lists (bone criterion, sarcopenia set) pairs; the first is the primary
    definition, reported also under the key ``"osteosarcopenia"``. ``ct_screen_muscle`` is the CT
    muscle set paired with L1 attenuation for the imaging-only osteosarcopenia screen.
    ``radius_indicated`` states an ISCD forearm indication (hyperparathyroidism, over the table limit).
    """

    sarcopenia: tuple[SarcopeniaCriteria, ...]
    osteosarcopenia: tuple[tuple[BoneCriterion, SarcopeniaCriteria], ...]
    ct_muscle: tuple[CtMuscleCriteria, ...]
    ct_screen_muscle: CtMuscleCriteria
    radius_indicated: bool = False

    def __post_init__(self) -> None:
        if not self.osteosarcopenia:
            raise ValueError("EngineConfig needs at least one osteosarcopenia definition (the primary one)")


#: Project default: EWGSOP2 + WHO/ISCD, osteopenia-or-worse bone criterion; the Chinese 2022 definition
#: and the other consensus sets are reported beside it.
DEFAULT_CONFIG = EngineConfig(
    sarcopenia=(C.EWGSOP2_CRITERIA, C.AWGS2019_CRITERIA, C.FNIH_CRITERIA, C.SDOC_CRITERIA),
    osteosarcopenia=(
        (BoneCriterion.OSTEOPENIA_OR_WORSE, C.EWGSOP2_CRITERIA),
        (BoneCriterion.OSTEOPOROSIS_ONLY, C.CHINA_SARCOPENIA),
    ),
    ct_muscle=tuple(C.CT_MUSCLE_SETS.values()),
    ct_screen_muscle=C.CT_MUSCLE_SETS["CT_muscle_Derstine2018"],
)

#: One line for the README and the report header.
DEFAULT_DESCRIPTION = (
    "WHO/ISCD bone + EWGSOP2 sarcopenia; osteosarcopenia = osteopenia or worse (T ≤ −1.0; Hirschfeld 2017, "
    "Kirk 2020, Huang 2023) + EWGSOP2-confirmed sarcopenia; CT screens (Pickhardt 2013 L1 HU, Derstine 2018 "
    "L3 SMI) reported as 'suspected' only"
)


def classify(
    inputs: ClassificationInputs, config: EngineConfig = DEFAULT_CONFIG
) -> dict[str, dict[str, Any]]:
    """All configured criteria sets, keyed by set name, as JSON-serialisable dicts."""
    results: list[Result] = [
        classify_bone(
            inputs.subject,
            inputs.dxa,
            inputs.function.fragility_fracture,
            radius_indicated=config.radius_indicated,
        )
    ]
    results += [classify_sarcopenia(inputs, crit) for crit in config.sarcopenia]
    osteo = [
        classify_osteosarcopenia(inputs, bone, sarc, radius_indicated=config.radius_indicated)
        for bone, sarc in config.osteosarcopenia
    ]
    results += osteo
    ct_bone = classify_ct_bone(inputs.ct)
    results.append(ct_bone)
    ct_muscle = {c.name: classify_ct_muscle(inputs.ct, inputs.subject, c) for c in config.ct_muscle}
    results += ct_muscle.values()
    screen = ct_muscle.get(config.ct_screen_muscle.name) or classify_ct_muscle(
        inputs.ct, inputs.subject, config.ct_screen_muscle
    )
    results.append(classify_ct_osteosarcopenia(ct_bone, screen))

    out = {r.criteria_set: r.to_dict() for r in results}
    primary = dict(out[osteo[0].criteria_set])
    primary["definition"] = osteo[0].criteria_set
    primary["note"] = "primary osteosarcopenia definition of this configuration"
    out["osteosarcopenia"] = primary
    return out


def config_summary(config: EngineConfig = DEFAULT_CONFIG) -> dict[str, Any]:
    """What was run, for results.json: set names, the bone-criterion switch and the criteria version."""
    return {
        "criteria_version": CRITERIA_VERSION,
        "sarcopenia": [c.name for c in config.sarcopenia],
        "osteosarcopenia": [
            {"bone_criterion": b.value, "sarcopenia": s.name} for b, s in config.osteosarcopenia
        ],
        "ct_muscle": [c.name for c in config.ct_muscle],
        "ct_screen_muscle": config.ct_screen_muscle.name,
        "radius_indicated": config.radius_indicated,
    }
