"""Numbers and units as DXA software writes them."""

from __future__ import annotations

import pytest

from imaging.dxa.units import mass_to_g, parse_height_m, parse_number, parse_weight_kg, split_value_unit


@pytest.mark.parametrize(
    ("text", "expected"),
    [("1.023", 1.023), ("1,023", 1.023), ("-1,5", -1.5), ("−2.5", -2.5), ("18,116.5", 18116.5),
     ("18.116,5", 18116.5), (" 0.826 ", 0.826), ("1,234,567", 1234567.0), (3, 3.0)],
)  # fmt: skip
def test_parse_number_handles_decimal_commas_and_thousands(text: str, expected: float) -> None:
    assert parse_number(text) == pytest.approx(expected)


@pytest.mark.parametrize("text", ["", None, "  ", "--", "N/A"])
def test_empty_cells_are_none_not_zero(text: str | None) -> None:
    assert parse_number(text) is None


def test_garbage_is_refused_not_guessed() -> None:
    with pytest.raises(ValueError, match="not a number"):
        parse_number("osteopenia")


def test_value_and_unit_are_split() -> None:
    assert split_value_unit("61.5 in") == (61.5, "in")
    assert split_value_unit("0,826 g/cm2") == (0.826, "g/cm2")


def test_inches_and_centimetres_to_metres() -> None:
    assert parse_height_m("61.5 in") == pytest.approx(1.5621)
    assert parse_height_m("156 cm") == pytest.approx(1.56)
    assert parse_height_m("1,56 m") == pytest.approx(1.56)
    assert parse_height_m("") is None


def test_pounds_and_kilograms() -> None:
    assert parse_weight_kg("150 lb") == pytest.approx(68.0388555)
    assert parse_weight_kg("150 lbs") == pytest.approx(68.0388555)
    assert parse_weight_kg("61,5 kg") == pytest.approx(61.5)
    assert mass_to_g(2.0, "kg") == 2000.0
    assert mass_to_g(1.0, "lbs") == pytest.approx(453.59237)


def test_bare_numbers_need_a_unit() -> None:
    with pytest.raises(ValueError, match="no unit"):
        parse_height_m("156")
    assert parse_height_m("156", default_unit="cm") == pytest.approx(1.56)
    with pytest.raises(ValueError, match="unknown mass unit"):
        mass_to_g(3.0, "stone")


@pytest.mark.parametrize(
    ("text", "expected"),
    [("8.1200E-01", (0.812, "")), ("9.85E-01 g/cm2", (0.985, "g/cm2")), ("1,2E+3 g", (1200.0, "g")),
     ("-2.5e0", (-2.5, "")), ("18116.5E0 g", (18116.5, "g"))],
)  # fmt: skip
def test_exponents_are_part_of_the_number_not_a_unit(text: str, expected: tuple[float, str]) -> None:
    """DICOM decimal strings and many exports write E-notation; "8.12E-01" is 0.812, never 8.12."""
    value, unit = split_value_unit(text)
    assert value == pytest.approx(expected[0]) and unit == expected[1]


@pytest.mark.parametrize("text", ["1e999", "-1E400", float("inf"), float("nan")])
def test_non_finite_numbers_are_refused(text: str | float) -> None:
    with pytest.raises(ValueError, match="not a finite number"):
        split_value_unit(text)
