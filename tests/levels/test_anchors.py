"""Anchors on the synthetic spine: ribs name T12, the sacrum names L5, a thick iliac-like plate is no
rib, and ribs on the lowest vertebra in view anchor nothing."""

from __future__ import annotations

import numpy as np

from imaging.levels import Anchor, identify_levels

from ._synthetic_spine import synthetic_spine


def _names_by_owner(result, owner: np.ndarray) -> dict[int, str | None]:  # type: ignore[no-untyped-def]
    out = {}
    for f in result.report.vertebrae:
        values, counts = np.unique(owner[(result.instances == f.index + 1) & (owner > 0)], return_counts=True)
        if values.size:
            out[int(values[np.argmax(counts)])] = f.name
    return out


def test_ribs_and_sacrum_agree() -> None:
    volume, owner = synthetic_spine(6, ribs_on=frozenset({1}), sacrum=True)
    result = identify_levels(volume)
    report = result.report
    assert report.anchor is Anchor.BOTH and report.lumbar_count == 5
    assert _names_by_owner(result, owner) == {1: "T12", 2: "L1", 3: "L2", 4: "L3", 5: "L4", 6: "L5"}
    assert [v.name for v in report.vertebrae if v.is_sacrum] == ["S1"]
    assert result.labels.mask("L3").sum() > 0 and not result.labels.mask("T11").any()


def test_sacrum_alone_counts_up_from_l5() -> None:
    volume, owner = synthetic_spine(3, sacrum=True)
    result = identify_levels(volume)
    assert result.report.anchor is Anchor.SACRUM
    assert _names_by_owner(result, owner) == {1: "L3", 2: "L4", 3: "L5"}


def test_thick_plate_beside_a_body_is_not_a_rib() -> None:
    volume, owner = synthetic_spine(4, ribs_on=frozenset({1}), plate_on=frozenset({4}))
    result = identify_levels(volume)
    assert result.report.anchor is Anchor.LOWEST_RIB
    assert _names_by_owner(result, owner) == {1: "T12", 2: "L1", 3: "L2", 4: "L3"}
    assert result.report.vertebrae[-1].ribs == ()


def test_ribs_on_the_lowest_body_in_view_anchor_nothing() -> None:
    volume, _ = synthetic_spine(3, ribs_on=frozenset({1, 2, 3}))
    report = identify_levels(volume).report
    assert not report.established
    assert any("cannot be shown to be the lowest rib-bearing" in w for w in report.warnings)


def test_six_lumbar_type_vertebrae_are_reported_as_transitional() -> None:
    """13 rib-free vertebrae above the sacrum would be 6 lumbar: counted from the sacrum, flagged."""
    volume, owner = synthetic_spine(7, ribs_on=frozenset({1}), sacrum=True)
    result = identify_levels(volume)
    report = result.report
    assert report.anchor is Anchor.BOTH and report.lumbar_count == 6
    assert report.confidence == 0.5
    assert any("lumbarisation" in w for w in report.warnings)
    assert _names_by_owner(result, owner)[7] == "L5"
