"""Pieces every DXA reader needs: subject facts from a DICOM header, a collector for sites and regions,
and the final assembly into a :class:`DxaResult` (which is where ALM is derived, once, for all vendors)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date

import pydicom

from imaging.dxa.alm import check_region_sums, compute_body_composition
from imaging.dxa.model import (
    DxaResult,
    Patient,
    Region,
    RegionMass,
    ReportFormat,
    Sex,
    Site,
    SiteValues,
    Vendor,
)
from imaging.dxa.names import BODY_SCANS, Quantity, body_region, bone_site, norm
from imaging.dxa.units import mass_to_g, parse_number
from imaging.plausible import BMD_G_CM2, DXA_SCORE, HEIGHT_M, REGION_MASS_G, WEIGHT_KG, PlausibleRange


def parse_sex(text: object) -> Sex | None:
    """'M', 'Male', 'F', 'Female', 'W' (weiblich), 1/2 as NHANES codes them -> Sex; anything else None."""
    key = str(text or "").strip().lower()
    if key in {"m", "male", "1", "man", "männlich"}:
        return Sex.MALE
    if key in {"f", "female", "2", "w", "woman", "weiblich"}:
        return Sex.FEMALE
    return None


def parse_dicom_age(text: str | None) -> float | None:
    """DICOM AS ('058Y', '006M', '010W', '100D') -> years."""
    if not text:
        return None
    text = str(text).strip().upper()
    per_year = {"Y": 1.0, "M": 12.0, "W": 52.1775, "D": 365.2425}
    if len(text) == 4 and text[:3].isdigit() and text[3] in per_year:
        return int(text[:3]) / per_year[text[3]]
    return None


def age_from_dates(birth: str | None, on: str | None) -> float | None:
    """Whole years between two DICOM dates (YYYYMMDD), None when either is missing or malformed."""
    try:
        b = date(int(birth[:4]), int(birth[4:6]), int(birth[6:8]))  # type: ignore[index]
        d = date(int(on[:4]), int(on[4:6]), int(on[6:8]))  # type: ignore[index]
    except (TypeError, ValueError):
        return None
    return float(d.year - b.year - ((d.month, d.day) < (b.month, b.day)))


def checked_patient(
    warnings: list[str],
    patient_id: str | None,
    sex: Sex | None,
    age_years: float | None,
    height_m: float | None,
    weight_kg: float | None,
) -> Patient:
    """A Patient whose implausible height/weight are dropped with a warning instead of raising."""
    height_m = _checked(height_m, HEIGHT_M, warnings, suffix=" (unit error?): ignored")
    weight_kg = _checked(weight_kg, WEIGHT_KG, warnings, suffix=" (unit error?): ignored")
    return Patient(
        id=patient_id or None, sex=sex, age_years=age_years, height_m=height_m, weight_kg=weight_kg
    )


def patient_from_header(ds: pydicom.Dataset, warnings: list[str]) -> Patient:
    """Subject facts from the standard DICOM patient/study attributes (PatientSize is in metres)."""
    age = parse_dicom_age(ds.get("PatientAge"))
    if age is None:
        age = age_from_dates(ds.get("PatientBirthDate"), ds.get("StudyDate") or ds.get("ContentDate"))
    return checked_patient(
        warnings,
        str(ds.get("PatientID", "") or "") or None,
        parse_sex(ds.get("PatientSex")),
        age,
        _number(ds.get("PatientSize")),
        _number(ds.get("PatientWeight")),
    )


def _number(value: object) -> float | None:
    try:
        number = parse_number(None if value is None else str(value))
    except ValueError:
        return None
    return number if number else None  # DICOM writers put 0 for "unknown" height/weight


@dataclass
class Collector:
    """Accumulates what a reader finds; a site's first value wins and a conflicting repeat is reported."""

    source: str
    sites: dict[Site, SiteValues] = field(default_factory=dict)
    regions: dict[Region, RegionMass] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    def add_site(self, site: Site, values: SiteValues) -> None:
        if site in self.sites and self.sites[site] != values:
            self.warnings.append(f"{site.value} reported twice with different values: kept the first")
            return
        self.sites[site] = values

    def add_region(self, region: Region, mass: RegionMass) -> None:
        if region in self.regions and self.regions[region] != mass:
            self.warnings.append(
                f"region {region.value} reported twice with different values: kept the first"
            )
            return
        self.regions[region] = mass

    def record(
        self,
        scan: str,
        region: str,
        values: dict[Quantity, tuple[float | None, str]],
        scan_side: str | None = None,
        default_mass_unit: str | None = None,
    ) -> bool:
        """File one (scan, region) block of values under its site or body region; False when it is not ours.

        ``values`` maps each quantity to (number, unit as written). Masses are converted to grams; a mass
        without a unit is dropped with a warning unless the format defines ``default_mass_unit``.
        """
        if norm(scan) in BODY_SCANS:
            body = body_region(region)
            if body is None:
                return False
            grams: dict[Quantity, float | None] = {}
            for q in (
                Quantity.LEAN,
                Quantity.FAT,
                Quantity.BMC,
                Quantity.LEAN_PLUS_BMC,
                Quantity.TISSUE,
                Quantity.TOTAL_MASS,
            ):
                number, unit = values.get(q, (None, ""))
                grams[q] = self._grams(number, unit or default_mass_unit, f"{region} {q.value}")
            mass = RegionMass(
                grams[Quantity.LEAN], grams[Quantity.FAT], grams[Quantity.BMC], grams[Quantity.LEAN_PLUS_BMC]
            )
            self.warnings += check_region_sums(body, mass, grams[Quantity.TISSUE], grams[Quantity.TOTAL_MASS])
            self.add_region(body, mass)
            return True
        site = bone_site(scan, region, scan_side)
        if site is None:
            return False
        bmd, t_score, z_score = (
            values.get(q, (None, ""))[0] for q in (Quantity.BMD, Quantity.T_SCORE, Quantity.Z_SCORE)
        )
        self.add_site(site, SiteValues(bmd, t_score, z_score))
        return True

    def _grams(self, number: float | None, unit: str | None, what: str) -> float | None:
        if number is None:
            return None
        if not unit:
            self.warnings.append(f"{what}: mass without a unit ignored")
            return None
        try:
            return mass_to_g(number, unit)
        except ValueError as exc:
            self.warnings.append(f"{what}: {exc}; value ignored")
            return None

    @property
    def empty(self) -> bool:
        return not self.sites and not self.regions


def assemble(
    vendor: Vendor,
    fmt: ReportFormat,
    patient: Patient,
    sites: dict[Site, SiteValues],
    regions: dict[Region, RegionMass],
    reading_warnings: list[str] | tuple[str, ...],
    source: str,
    exam_date: str | None = None,
) -> DxaResult:
    """The result with ALM, ALMI and ALM/BMI derived from the regions and the patient's height and weight.
    Every number is checked against its plausible range first: one outside it is dropped (null) with a
    warning, never summed into ALM or compared with a cut-off."""
    reading_warnings = list(reading_warnings)
    sites = {site: _plausible_site(site, v, reading_warnings) for site, v in sites.items()}
    regions = {region: _plausible_region(region, m, reading_warnings) for region, m in regions.items()}
    composition, alm_warnings = compute_body_composition(regions, patient)
    return DxaResult(
        vendor=vendor,
        format=fmt,
        patient=patient,
        sites=dict(sites),
        body_composition=composition,
        warnings=(*reading_warnings, *alm_warnings),
        source=source,
        exam_date=exam_date,
        reading_warnings=tuple(reading_warnings),
    )


def _checked(
    value: float | None,
    plausible: PlausibleRange,
    warnings: list[str],
    what: str = "",
    suffix: str = "; value ignored",
) -> float | None:
    """``value``, or None with a warning when it cannot be what it claims (one rule for every reader)."""
    if value is None or not (problem := plausible.problem(value)):
        return value
    warnings.append(f"{what}: {problem}{suffix}" if what else f"{problem}{suffix}")
    return None


def _plausible_site(site: Site, v: SiteValues, warnings: list[str]) -> SiteValues:
    return SiteValues(
        _checked(v.bmd_g_cm2, BMD_G_CM2, warnings, f"{site.value} BMD"),
        _checked(v.t_score, DXA_SCORE, warnings, f"{site.value} T-score"),
        _checked(v.z_score, DXA_SCORE, warnings, f"{site.value} Z-score"),
    )


def _plausible_region(region: Region, m: RegionMass, warnings: list[str]) -> RegionMass:
    return replace(
        m,
        lean_g=_checked(m.lean_g, REGION_MASS_G, warnings, f"{region.value} lean mass"),
        fat_g=_checked(m.fat_g, REGION_MASS_G, warnings, f"{region.value} fat mass"),
        bmc_g=_checked(m.bmc_g, REGION_MASS_G, warnings, f"{region.value} bone mineral content"),
        lean_plus_bmc_g=_checked(m.lean_plus_bmc_g, REGION_MASS_G, warnings, f"{region.value} lean+BMC"),
    )
