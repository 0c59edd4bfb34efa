"""Naming from anchors: agreement, transitional anatomy, single anchors and the refusal."""

from __future__ import annotations

from dataclasses import replace

import pytest

from imaging.levels import REFUSAL, Anchor, VertebraFinding, name_vertebrae
from imaging.levels.labelling import CONFIDENCE, ONE_SIDED_REFUSAL, PROCESS_DISAGREE_FACTOR


def _column(
    n: int,
    ribs_on: set[int],
    *,
    sacrum: bool,
    height: float = 28.0,
    cut_top: bool = True,
    assessable: set[int] | None = None,
    heights: dict[int, float] | None = None,
) -> list[VertebraFinding]:
    """``n`` vertebrae cranial first (index 0 at the top), 8 mm discs, optional sacrum below."""
    out = []
    z = 0.0
    for i in range(n):
        h = (heights or {}).get(i, height)
        out.append(
            VertebraFinding(
                index=i,
                name=None,
                z_range_mm=(z - h, z),
                centroid_lps=(0.0, 0.0, z - h / 2),
                cut_by_fov=cut_top and i == 0,
                ribs=("left", "right") if i in ribs_on else (),
                ribs_assessable=(i != 0 or not cut_top) if assessable is None else i in assessable,
            )
        )
        z -= h + 8.0
    if sacrum:
        out.append(VertebraFinding(n, None, (z - 60, z), (0.0, 0.0, z - 30), True, (), False, is_sacrum=True))
    return out


def test_both_anchors_agree_names_from_t12_to_s1() -> None:
    report = name_vertebrae(_column(8, {0, 1, 2}, sacrum=True))  # T10 T11 T12 L1..L5 S1
    assert report.established and report.anchor is Anchor.BOTH
    assert report.names() == ["T10", "T11", "T12", "L1", "L2", "L3", "L4", "L5", "S1"]
    assert report.lumbar_count == 5
    assert report.confidence == CONFIDENCE["both"]
    assert not report.warnings
    by_name = {v.name: v for v in report.vertebrae}
    assert by_name["L5"].confidence > by_name["L1"].confidence > by_name["T10"].confidence


@pytest.mark.parametrize(("n_lumbar", "kind"), [(4, "sacralisation"), (6, "lumbarisation")])
def test_transitional_count_lowers_confidence_and_says_why(n_lumbar: int, kind: str) -> None:
    n = 3 + n_lumbar
    report = name_vertebrae(_column(n, {0, 1, 2}, sacrum=True))
    assert report.established
    assert report.lumbar_count == n_lumbar
    assert report.confidence == CONFIDENCE["transitional"]
    assert any(kind in w for w in report.warnings)
    assert report.vertebrae[n - 1].name == "L5"  # counted from the sacrum


def test_sacrum_only_counts_upward() -> None:
    report = name_vertebrae(_column(4, set(), sacrum=True))
    assert report.anchor is Anchor.SACRUM
    assert report.names() == ["L2", "L3", "L4", "L5", "S1"]
    assert report.confidence == CONFIDENCE["sacrum"]


def test_sacrum_only_with_a_rib_free_t12_is_transitional() -> None:
    report = name_vertebrae(_column(7, set(), sacrum=True))  # would be T11..L5: "T12" has no rib
    assert any("transitional" in w for w in report.warnings)
    assert report.confidence == CONFIDENCE["transitional"]


def test_lowest_rib_bearing_vertebra_only() -> None:
    report = name_vertebrae(_column(5, {0, 1}, sacrum=False))
    assert report.anchor is Anchor.LOWEST_RIB
    assert report.names() == ["T11", "T12", "L1", "L2", "L3"]
    assert report.confidence == CONFIDENCE["ribs"]


def test_neither_anchor_refuses_and_names_nothing() -> None:
    report = name_vertebrae(_column(4, set(), sacrum=False))
    assert not report.established
    assert report.anchor is Anchor.NONE
    assert report.reason == REFUSAL
    assert report.names() == []
    assert all(v.confidence == 0.0 for v in report.vertebrae)


def test_ribs_on_the_lowest_vertebra_in_view_do_not_anchor() -> None:
    # Both vertebrae bear ribs; nothing below shows the ribs stop there: T12 is not established.
    report = name_vertebrae(_column(2, {0, 1}, sacrum=False, cut_top=True))
    assert not report.established
    assert any("cannot be shown to be the lowest rib-bearing" in w for w in report.warnings)


def test_rib_status_below_undetermined_refuses() -> None:
    found = _column(3, {0}, sacrum=False, cut_top=False, assessable={0, 2})  # vertebra 1 undetermined
    assert not name_vertebrae(found).established


def test_implausible_height_lowers_confidence_of_levels_counted_across_it() -> None:
    normal = name_vertebrae(_column(8, {0, 1, 2}, sacrum=True))
    odd = name_vertebrae(_column(8, {0, 1, 2}, sacrum=True, heights={4: 60.0}))
    assert any("implausible height" in w for w in odd.warnings)
    n = {v.name: v.confidence for v in normal.vertebrae}
    o = {v.name: v.confidence for v in odd.vertebrae}
    assert o["L5"] == n["L5"]  # between the anchor and the odd body: unaffected
    assert o["T12"] < n["T12"]


def _with_spans(found: list[VertebraFinding], spans: dict[int, float]) -> list[VertebraFinding]:
    return [replace(f, process_span_mm=spans.get(f.index)) for f in found]


# T12 L1 L2 L3 L4 L5 counted from the rib on vertebra 0; spans by index (L1..L4 = 1..4)
L3_WIDEST = {1: 60.0, 2: 68.0, 3: 78.0, 4: 72.0}


def test_transverse_processes_widest_at_l3_leave_the_count_alone() -> None:
    report = name_vertebrae(_with_spans(_column(6, {0}, sacrum=False, cut_top=False), L3_WIDEST))
    assert report.established and report.confidence == CONFIDENCE["ribs"]
    assert not any("transverse" in w for w in report.warnings)


@pytest.mark.parametrize("widest", [2, 4])
def test_processes_widest_next_to_l3_lower_confidence_and_say_why(widest: int) -> None:
    """As if the count were off by one: the true L3 named L2 or L4."""
    spans = {**L3_WIDEST, widest: 90.0}
    report = name_vertebrae(_with_spans(_column(6, {0}, sacrum=False, cut_top=False), spans))
    assert report.established  # names stand, flagged
    assert report.confidence == pytest.approx(CONFIDENCE["ribs"] * PROCESS_DISAGREE_FACTOR)
    (warning,) = [w for w in report.warnings if "transverse" in w]
    assert f"named L{widest}" in warning
    assert all(v.confidence <= CONFIDENCE["ribs"] * PROCESS_DISAGREE_FACTOR + 1e-3 for v in report.vertebrae)


def test_process_check_needs_l2_to_l4_whole_in_view() -> None:
    spans = {1: 60.0, 2: 90.0, 3: 78.0}  # no span for L4
    report = name_vertebrae(_with_spans(_column(6, {0}, sacrum=False, cut_top=False), spans))
    assert report.confidence == CONFIDENCE["ribs"]


# _column(8, {0, 1, 2}, sacrum=True): T10 T11 T12 L1..L5 S1, 28 mm bodies and 8 mm discs from z 0 down;
# L2 spans z -172..-144, L3 -208..-180, L4 -244..-216, L5 -280..-252, S1 below -288.
@pytest.mark.parametrize("crest_z", [-200.0, -230.0, -248.0, -270.0])
def test_iliac_crests_from_mid_l3_to_l5_leave_the_count_alone(crest_z: float) -> None:
    report = name_vertebrae(_column(8, {0, 1, 2}, sacrum=True), crest_z)
    assert report.confidence == CONFIDENCE["both"]
    assert report.iliac_crest_z_mm == crest_z
    assert not any("iliac" in w for w in report.warnings)


@pytest.mark.parametrize(
    ("crest_z", "where"), [(-160.0, "named L2"), (-188.0, "named L3"), (-300.0, "named S1")]
)
def test_iliac_crests_far_from_l4_lower_confidence_and_say_where(crest_z: float, where: str) -> None:
    """As if the count were off: crests beside the vertebra named L2, or below the one named L5."""
    report = name_vertebrae(_column(8, {0, 1, 2}, sacrum=True), crest_z)
    assert report.established  # names stand, flagged
    assert report.confidence == pytest.approx(CONFIDENCE["both"] * PROCESS_DISAGREE_FACTOR)
    (warning,) = [w for w in report.warnings if "iliac" in w]
    assert where in warning


def test_no_crests_in_view_is_no_check() -> None:
    report = name_vertebrae(_column(8, {0, 1, 2}, sacrum=True), None)
    assert report.confidence == CONFIDENCE["both"] and report.iliac_crest_z_mm is None


def test_a_one_sided_lowest_rib_does_not_anchor_the_count() -> None:
    """Seen on a real CT reconstructed at 3.2 mm: T12's left rib missed and a 'rib' on L1's left; a
    one-sided rib at the lowest rib-bearing level would have named every level one too high."""
    found = _column(6, {0, 1}, sacrum=False, cut_top=False)
    found[1] = replace(found[1], ribs=("left",))
    report = name_vertebrae(found)
    assert not report.established and report.names() == []
    assert report.reason == ONE_SIDED_REFUSAL
    assert any("left side only" in w for w in report.warnings)


def test_with_the_sacrum_in_view_a_one_sided_rib_is_only_a_cross_check() -> None:
    found = _column(8, {0, 1, 2}, sacrum=True)
    found[2] = replace(found[2], ribs=("right",))
    report = name_vertebrae(found)
    assert report.established and report.anchor is Anchor.BOTH  # they agree: five lumbar between
    assert report.names() == ["T10", "T11", "T12", "L1", "L2", "L3", "L4", "L5", "S1"]
    assert any("right side only" in w for w in report.warnings)


def test_a_rib_head_in_a_disc_gap_belongs_below_unless_it_sits_at_the_floor_of_the_body_above() -> None:
    """Thoracic rib heads straddle the disc and belong to the vertebra below; a twelfth rib's head is
    on T12's own body and may read just under its floor (ct_abdomen_e at 3.2 mm: 0.3 mm under)."""
    from imaging.levels.anchors import _owner

    ranges = [(159.0, 185.0), (127.0, 156.0)]  # cranial first: T12 then L1, a 3 mm disc between
    assert _owner(158.7, ranges) == 0
    assert _owner(157.5, ranges) == 1
    assert _owner(170.0, ranges) == 0 and _owner(140.0, ranges) == 1
