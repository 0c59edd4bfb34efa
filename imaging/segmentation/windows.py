"""Attenuation windows used to define tissues on CT, each with the source it comes from.

Values and sources are from ../shared/reference/clinical-criteria.md. The ``mark`` follows that file:
"checked" against the primary text, "secondary" via a secondary source, "unchecked" = configurable default.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class HuWindow:
    name: str
    low: float
    high: float
    source: str
    mark: str = "checked"

    def contains(self, hu: Any) -> Any:  # works on scalars and numpy arrays alike
        return (hu >= self.low) & (hu <= self.high)

    def describe(self) -> dict[str, object]:
        return {"low_hu": self.low, "high_hu": self.high, "source": self.source, "mark": self.mark}


ALBERTA = "Alberta protocol / Slice-O-Matic (Mitsiopoulos 1998; Mourtzakis 2008)"

MUSCLE = HuWindow("skeletal_muscle", -29, 150, ALBERTA)
IMAT = HuWindow("imat", -190, -30, ALBERTA)
SAT = HuWindow("sat", -190, -30, ALBERTA)
VAT = HuWindow("vat", -150, -50, ALBERTA)
VAT_WIDE = HuWindow("vat", -190, -30, "alternative VAT window used by some groups (clinical-criteria.md)")
LOW_DENSITY_MUSCLE = HuWindow("low_density_muscle", -29, 29, "low-density muscle range", mark="unchecked")
NORMAL_DENSITY_MUSCLE = HuWindow(
    "normal_density_muscle", 30, 150, "normal-density muscle range", mark="unchecked"
)
CORTICAL_BONE_MIN_HU = 400.0  # Alberta: cortical bone >400 HU

TISSUE_WINDOWS: dict[str, HuWindow] = {"skeletal_muscle": MUSCLE, "imat": IMAT, "sat": SAT, "vat": VAT}
