"""Numbers and units as DXA software writes them: site-dependent decimal separators, in/cm, lb/kg, g/kg/lbs.

Every parser returns None for an empty cell and raises ValueError (with the offending text) for text that is
present but not understood, so a reader can turn it into a warning instead of inventing a value.
"""

from __future__ import annotations

import math
import re

INCH_M = 0.0254
POUND_KG = 0.45359237

# sign, mantissa (digits with '.' or ',' separators), optional exponent (DICOM decimal strings and many
# exports write "8.1200E-01"), then whatever follows is the unit
_NUMBER = re.compile(
    r"^\s*(?P<mantissa>[+\-−]?\s*(?:[0-9][0-9.,]*|[.,][0-9]+))(?P<exponent>[eE][+\-−]?[0-9]+)?\s*(?P<unit>.*?)\s*$"
)


def parse_number(text: str | float | int | None) -> float | None:
    """A decimal number written with '.' or ',' as the decimal separator.

    Rules: with both separators present, the last one is the decimal separator and the other groups thousands
    ("18,116.5", "18.116,5"); a lone comma is a decimal comma ("1,023" -> 1.023), because DXA software that
    uses decimal commas does not also write thousands separators without decimals.
    """
    number, _unit = split_value_unit(text)
    return number


def split_value_unit(text: str | float | int | None) -> tuple[float | None, str]:
    """("61.5 in") -> (61.5, "in"); ("-1,5") -> (-1.5, ""); ("8.12E-01") -> (0.812, ""); ("") -> (None, "").

    Raises:
        ValueError: text that is present but no finite number (``1e999``, ``inf``, words).
    """
    if text is None:
        return None, ""
    if isinstance(text, int | float):
        if not math.isfinite(text):
            raise ValueError(f"{text!r} is not a finite number")
        return float(text), ""
    stripped = str(text).strip().strip('"').strip()
    if not stripped or stripped in {"-", "--", "---", "N/A", "n/a", "NA"}:
        return None, ""
    match = _NUMBER.match(stripped)
    if match is None:
        raise ValueError(f"{text!r} is not a number")
    raw, unit = match["mantissa"].replace("−", "-").replace(" ", ""), match["unit"]
    exponent = (match["exponent"] or "").replace("−", "-")
    if "," in raw and "." in raw:
        decimal = "," if raw.rfind(",") > raw.rfind(".") else "."
        thousands = "." if decimal == "," else ","
        raw = raw.replace(thousands, "").replace(decimal, ".")
    elif raw.count(",") == 1:
        raw = raw.replace(",", ".")
    elif raw.count(",") > 1:
        raw = raw.replace(",", "")
    try:
        value = float(raw + exponent)
    except ValueError:
        raise ValueError(f"{text!r} is not a number") from None
    if not math.isfinite(value):
        raise ValueError(f"{text!r} is not a finite number")
    return value, unit


def length_to_m(value: float, unit: str) -> float:
    """Height in metres from a value and its unit (in, inch, ", cm, mm, m)."""
    u = unit.strip().lower().rstrip(".")
    if u in {"in", "inch", "inches", '"', "''"}:
        return value * INCH_M
    if u == "cm":
        return value / 100.0
    if u == "mm":
        return value / 1000.0
    if u in {"m", "meter", "metre", "meters", "metres"}:
        return value
    raise ValueError(f"unknown length unit {unit!r}")


def mass_to_kg(value: float, unit: str) -> float:
    """Body weight in kg from a value and its unit (lb, lbs, kg, g)."""
    return mass_to_g(value, unit) / 1000.0


def mass_to_g(value: float, unit: str) -> float:
    """A mass in grams from a value and its unit (g, kg, lb, lbs)."""
    u = unit.strip().lower().rstrip(".").strip("()[] ")
    if u in {"g", "gram", "grams"}:
        return value
    if u in {"kg", "kilogram", "kilograms"}:
        return value * 1000.0
    if u in {"lb", "lbs", "pound", "pounds"}:
        return value * POUND_KG * 1000.0
    raise ValueError(f"unknown mass unit {unit!r}")


def parse_height_m(text: str | None, default_unit: str | None = None) -> float | None:
    """'61.5 in' / '156 cm' / '1.56' (with default_unit) -> metres; None when empty.

    A bare number without a stated or default unit is refused rather than guessed.
    """
    value, unit = split_value_unit(text)
    if value is None:
        return None
    unit = unit or (default_unit or "")
    if not unit:
        raise ValueError(f"height {text!r} has no unit")
    return length_to_m(value, unit)


def parse_weight_kg(text: str | None, default_unit: str | None = None) -> float | None:
    """'135.6 lb' / '61.5 kg' -> kg; None when empty; a bare number needs default_unit."""
    value, unit = split_value_unit(text)
    if value is None:
        return None
    unit = unit or (default_unit or "")
    if not unit:
        raise ValueError(f"weight {text!r} has no unit")
    return mass_to_kg(value, unit)
