"""Subject parameters: everything that defines one synthetic person.

The anatomy is a deterministic function of these values; shape variation that is not a named
parameter (lordosis, vertebral sizes, bowel layout, fat distribution harmonics) is drawn from a
generator seeded with ``seed``, so two phantoms built from equal parameters are identical.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import Any, Literal

import numpy as np

Sex = Literal["M", "F"]

# (low, high) sanity bounds: outside them the anatomy builder produces nonsense, so refuse early.
_BOUNDS: dict[str, tuple[float, float]] = {
    "age_years": (18.0, 100.0),
    "height_m": (1.3, 2.2),
    "weight_kg": (30.0, 250.0),
    "sat_scale": (0.2, 3.0),
    "vat_scale": (0.2, 3.0),
    "muscle_scale": (0.4, 2.0),
    "imat_fraction": (0.0, 0.25),
    "muscle_hu": (-10.0, 80.0),
    "trabecular_hu": (20.0, 400.0),
    "marrow_fat_fraction": (0.0, 1.0),
    "muscle_fat_fraction": (0.0, 0.5),
}


@dataclass(frozen=True)
class SubjectParams:
    """One synthetic person. Scales are relative to an average adult of the same sex (1 = average).

    ``imat_fraction`` is the fraction of the muscle compartment occupied by fat inclusions (marbling);
    intermuscular septa come on top. ``muscle_hu`` is the unenhanced attenuation of lean muscle and
    ``trabecular_hu`` the unenhanced L1 trabecular attenuation (other levels vary a few HU around it).
    Fat fractions are fractions (0-1), not percent.
    """

    subject_id: str
    sex: Sex
    age_years: float
    height_m: float
    weight_kg: float
    seed: int
    sat_scale: float = 1.0
    vat_scale: float = 1.0
    muscle_scale: float = 1.0
    imat_fraction: float = 0.03
    muscle_hu: float = 45.0
    trabecular_hu: float = 170.0
    marrow_fat_fraction: float = 0.40
    muscle_fat_fraction: float = 0.05
    arms_in_fov: bool = False

    def __post_init__(self) -> None:
        if self.sex not in ("M", "F"):
            raise ValueError(f"sex must be 'M' or 'F', got {self.sex!r}")
        if not isinstance(self.seed, int | np.integer) or self.seed < 0:
            raise ValueError(f"seed must be a non-negative integer, got {self.seed!r}")
        for name, (lo, hi) in _BOUNDS.items():
            value = float(getattr(self, name))
            if not lo <= value <= hi:
                raise ValueError(
                    f"{name}={value} is outside the supported range [{lo}, {hi}]; pick a value inside it"
                )

    @property
    def bmi(self) -> float:
        return self.weight_kg / self.height_m**2


def sample_params(rng: np.random.Generator, subject_id: str = "P", **overrides: Any) -> SubjectParams:
    """Draw a plausible adult. Correlations follow the literature loosely: fat scales with BMI, VAT with
    age and male sex, muscle attenuation and L1 trabecular HU fall with age (~2.5 HU/year, Jang 2019).

    ``overrides`` replace drawn values (e.g. ``sex="F"``); derived values are drawn from the overridden
    sex/age/BMI so that an override of ``sex`` still gives a coherent person.

    Raises:
        TypeError: an override names no field of :class:`SubjectParams`.
    """
    names = {f.name for f in fields(SubjectParams)}
    unknown = set(overrides) - names
    if unknown:
        raise TypeError(f"unknown SubjectParams field(s): {sorted(unknown)}")
    sex: Sex = overrides.get("sex", "M" if rng.random() < 0.5 else "F")
    age = float(overrides.get("age_years", rng.uniform(20.0, 88.0)))
    height = float(overrides.get("height_m", rng.normal(1.76 if sex == "M" else 1.63, 0.065)))
    height = float(np.clip(height, 1.45, 2.05))
    bmi = float(np.clip(rng.normal(26.5, 4.5), 17.5, 42.0))
    weight = float(overrides.get("weight_kg", bmi * height**2))
    bmi = weight / height**2
    adip = np.log(bmi / 25.0)
    sat = float(np.clip(np.exp(2.0 * adip + rng.normal(0, 0.2)), 0.3, 2.8))
    vat = float(np.clip(np.exp(1.8 * adip + 0.012 * (age - 50) + rng.normal(0, 0.25)), 0.3, 2.8))
    muscle = float(
        np.clip(rng.normal(1.0, 0.13) * (1 - 0.004 * max(age - 40, 0)) * (bmi / 25) ** 0.3, 0.5, 1.8)
    )
    imat = float(np.clip(0.02 + 0.0008 * (age - 30) + 0.002 * (bmi - 25) + rng.normal(0, 0.01), 0.0, 0.2))
    muscle_hu = float(np.clip(50 - 0.22 * (age - 30) - 0.6 * (bmi - 25) + rng.normal(0, 4), 18, 60))
    trab = float(np.clip(226 - 2.5 * (age - 25) + rng.normal(0, 30), 50, 320))
    marrow = float(
        np.clip((0.32 if sex == "M" else 0.27) + 0.004 * (age - 25) + rng.normal(0, 0.06), 0.1, 0.85)
    )
    mff = float(np.clip(0.04 + 0.0012 * (age - 30) + 0.002 * (bmi - 25) + rng.normal(0, 0.015), 0.01, 0.3))
    drawn = SubjectParams(
        subject_id=subject_id,
        sex=sex,
        age_years=age,
        height_m=height,
        weight_kg=weight,
        seed=int(rng.integers(0, 2**31 - 1)),
        sat_scale=sat,
        vat_scale=vat,
        muscle_scale=muscle,
        imat_fraction=imat,
        muscle_hu=muscle_hu,
        trabecular_hu=trab,
        marrow_fat_fraction=marrow,
        muscle_fat_fraction=mff,
    )
    return replace(drawn, **overrides)
