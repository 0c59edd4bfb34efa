"""One table of plausible subject values, read by every reader of height, weight and age.

These are sanity bounds for a human subject, not clinical cut-offs: a value outside them is a unit
or entry error (height in centimetres in a metres field, weight in pounds) and is dropped with a
warning, never used. The CLI, the clinical CSV, DICOM PatientSize and the DXA readers all ask
this table, so a value accepted from one source is accepted from every other.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class PlausibleRange:
    """Closed interval of plausible values of one subject quantity."""

    quantity: str
    low: float
    high: float
    unit: str

    def contains(self, value: float) -> bool:
        return math.isfinite(value) and self.low <= value <= self.high

    def problem(self, value: float) -> str | None:
        """Why ``value`` cannot be this quantity (None when it can), in words a user can act on."""
        if self.contains(value):
            return None
        return (
            f"{self.quantity} {value:g} {self.unit} is not plausible ({self.low:g}-{self.high:g} {self.unit})"
        )


HEIGHT_M = PlausibleRange("height", 0.5, 2.5, "m")
WEIGHT_KG = PlausibleRange("weight", 20.0, 350.0, "kg")
AGE_YEARS = PlausibleRange("age", 0.0, 120.0, "years")

# DXA report values (sanity bounds again, wide of any person: areal BMD of the forearm in severe
# osteoporosis is ~0.3 g/cm2 and of a sclerotic spine ~2 g/cm2; T- and Z-scores beyond +-10 SD are
# typing or unit errors; a region's lean, fat or bone mass is never negative nor beyond a heavy adult's
# whole body).
BMD_G_CM2 = PlausibleRange("areal BMD", 0.05, 3.0, "g/cm2")
DXA_SCORE = PlausibleRange("T- or Z-score", -10.0, 10.0, "SD")
REGION_MASS_G = PlausibleRange("regional mass", 0.0, 300_000.0, "g")
