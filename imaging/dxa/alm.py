"""Appendicular lean mass (ALM) and its indices from body-composition regions.

ALM (= ASM) is the lean soft tissue of both arms and both legs EXCLUDING bone mineral content (EWGSOP2,
FNIH). Each limb pair is taken from its two sides, or from the report's two-limb total ("Arms", "Legs") when
the sides are not given. Whatever is missing is named in the warning, and a Lean+BMC column is never used
in its place.
"""

from __future__ import annotations

from collections.abc import Mapping

from imaging.dxa.model import BodyComposition, Patient, Region, RegionMass

_LIMB_PAIRS: tuple[tuple[Region, Region, Region], ...] = (
    (Region.ARM_LEFT, Region.ARM_RIGHT, Region.ARMS),
    (Region.LEG_LEFT, Region.LEG_RIGHT, Region.LEGS),
)


def limb_pair_lean_g(
    regions: Mapping[Region, RegionMass], left: Region, right: Region, both: Region
) -> tuple[float | None, str | None]:
    """Lean (excl. BMC) of one limb pair in grams, or None and the reason it cannot be had."""
    l_mass, r_mass = regions.get(left), regions.get(right)
    if l_mass and r_mass and l_mass.lean_g is not None and r_mass.lean_g is not None:
        return l_mass.lean_g + r_mass.lean_g, None
    both_mass = regions.get(both)
    if both_mass and both_mass.lean_g is not None:
        return both_mass.lean_g, None
    problems = []
    for region in (left, right):
        mass = regions.get(region)
        if mass is None:
            problems.append(f"no {region.value} region")
        elif mass.lean_g is None and mass.lean_plus_bmc_g is not None:
            problems.append(
                f"{region.value} reports only Lean+BMC (lean including bone mineral content), "
                "and ALM must exclude BMC"
            )
        elif mass.lean_g is None:
            problems.append(f"{region.value} has no lean mass")
    problems.append(f"no {both.value} total either")
    return None, "; ".join(problems)


def compute_body_composition(
    regions: Mapping[Region, RegionMass], patient: Patient
) -> tuple[BodyComposition, tuple[str, ...]]:
    """ALM, ALM/height² and ALM/BMI from the regions; every None comes with a warning saying why."""
    if not regions:
        return BodyComposition(regions={}), ("no whole-body composition in this report: ALM not available",)
    warnings: list[str] = []
    total_g = 0.0
    for left, right, both in _LIMB_PAIRS:
        lean, reason = limb_pair_lean_g(regions, left, right, both)
        if lean is None:
            warnings.append(f"ALM not computed: {reason}")
        else:
            total_g += lean
    if warnings:
        return BodyComposition(regions=dict(regions)), tuple(warnings)
    alm_kg = total_g / 1000.0
    almi = alm_bmi = None
    if patient.height_m is None:
        warnings.append("ALM index (ALM/height²) not computed: height unknown")
        if patient.weight_kg is not None:
            warnings.append("ALM/BMI not computed: height unknown, so BMI unknown")
    else:
        almi = alm_kg / patient.height_m**2
    if patient.weight_kg is None:
        warnings.append("ALM/BMI not computed: weight unknown, so BMI unknown")
    elif patient.height_m is not None:
        alm_bmi = alm_kg / (patient.weight_kg / patient.height_m**2)
    return BodyComposition(regions=dict(regions), alm_kg=alm_kg, almi_kg_m2=almi, alm_bmi=alm_bmi), tuple(
        warnings
    )


def check_region_sums(
    region: Region, mass: RegionMass, tissue_g: float | None, total_g: float | None
) -> list[str]:
    """GE's own identities: Tissue = Fat + Lean and Total = Tissue + BMC (1 g or 0.5 % slack for rounding)."""
    out = []

    def off(a: float, b: float) -> bool:
        return abs(a - b) > max(1.0, 0.005 * abs(b))

    if tissue_g is not None and mass.fat_g is not None and mass.lean_g is not None:
        fat_lean = mass.fat_g + mass.lean_g
        if off(fat_lean, tissue_g):
            out.append(f"{region.value}: fat + lean = {fat_lean:.1f} g but tissue is {tissue_g:.1f} g")
    if total_g is not None and tissue_g is not None and mass.bmc_g is not None:
        with_bmc = tissue_g + mass.bmc_g
        if off(with_bmc, total_g):
            out.append(f"{region.value}: tissue + BMC = {with_bmc:.1f} g but total is {total_g:.1f} g")
    return out
