"""A Volume's facts: typed and frozen, and one answer to "is this CT?" everywhere."""

from __future__ import annotations

import dataclasses

import pytest

from imaging.series_facts import Modality, SeriesFacts


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("CT", Modality.CT),
        (" ct ", Modality.CT),
        ("MR", Modality.MR),
        ("PT", Modality.OTHER),
        (None, Modality.OTHER),
    ],
)
def test_modality_of_a_dicom_value(code, expected):
    assert Modality.of(code) is expected


def test_a_series_that_does_not_say_is_neither_ct_nor_mr():
    facts = SeriesFacts()
    assert facts.modality is Modality.OTHER and not facts.is_ct and not facts.is_mr


def test_facts_are_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        SeriesFacts().kvp = 120.0  # type: ignore[misc]
