"""From anchors to names: count from the sacrum (L5 above it) and/or the lowest rib-bearing vertebra
(T12), cross-check, and refuse when neither is in view.

Confidence is a documented heuristic, not a calibrated probability; it ranks how much anatomy backs
a name:

* both anchors, five lumbar-type vertebrae between them: 0.95;
* sacrum only: 0.80 (lumbosacral transitional anatomy, seen in roughly 1 in 10 people, cannot be
  excluded without the thoracolumbar junction);
* lowest rib-bearing vertebra only: 0.75 (11 or 13 rib pairs, and a hypoplastic 12th rib shorter than
  the rib test's reach, cannot be excluded without the sacrum); only when that vertebra has ribs on
  both sides -- a one-sided 'rib' may be a transverse process, a rib tip or a lumbar rib, and alone
  it is no anchor;
* both anchors but 4 or 6 lumbar-type vertebrae between them (sacralisation / lumbarisation, or 11 /
  13 rib pairs): 0.50, names counted from the sacrum, with a warning that the numbering depends on
  the convention and a whole-spine count;
* neither: no names at all.

Each vertebra's confidence falls by 2 % per vertebra counted from the anchor, and by 40 % when the
count passes through a body of implausible height (a missed disc or a fragment could shift it by one).

Cross-check with a cue a radiologist uses: L3's transverse processes are usually the longest of
L1-L4. When L2, L3 and L4 are whole in view and the vertebra named L2 or L4 (or L1) spans clearly
more (``PROCESS_MARGIN``) than the one named L3, a count off by one would look exactly like that: the
names stand, with a warning, and every confidence falls by ``PROCESS_DISAGREE_FACTOR``.

A second cue, where the ilia are in view: the tops of the iliac crests (:mod:`.crests`) lie between
the L3/L4 disc and L5 in nearly all adults (at L4 or the L4/L5 disc in most). Crests above the middle
of the vertebra named L3, or below the one named L5, say the count is off by more than the line's own
spread: a warning, and the same fall in confidence.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from imaging.levels.model import Anchor, LevelReport, VertebraFinding
from imaging.segmentation.labels import VERTEBRA_ORDER, level_index

CONFIDENCE = {
    "both": 0.95,
    "sacrum": 0.80,
    "ribs": 0.75,
    "transitional": 0.50,
}
STEP_FACTOR = 0.98
ODD_HEIGHT_FACTOR = 0.6
PROCESS_MARGIN = 1.08  # the widest must beat L3's span by this factor to count as disagreeing
PROCESS_DISAGREE_FACTOR = 0.6
REFUSAL = "field of view does not include the sacrum or a rib-bearing vertebra: level cannot be established"
ONE_SIDED_REFUSAL = (
    "the lowest vertebra with a rib has it on one side only and the sacrum is not in view: "
    "level cannot be established"
)


@dataclass(frozen=True)
class _Count:
    anchor_index: int  # index (into the finding list) of the anchor vertebra
    anchor_name: str
    anchor: Anchor
    confidence: float
    reason: str


def name_vertebrae(found: list[VertebraFinding], crest_z_mm: float | None = None) -> LevelReport:
    """Name cranial-first ``found`` (the sacrum, if any, last) from its anchors, or refuse.
    ``crest_z_mm``: the intercristal line's height where the ilia are in view (:mod:`.crests`)."""
    warnings: list[str] = []
    vert = [f for f in found if not f.is_sacrum]
    has_sacrum = any(f.is_sacrum for f in found) and bool(vert)
    rib_idx = _rib_anchor(vert, warnings)
    lumbar_count = None if rib_idx is None or not has_sacrum else len(vert) - 1 - rib_idx
    count = _choose_count(vert, has_sacrum, rib_idx, lumbar_count, warnings)
    if count is None:
        unnamed = tuple(
            replace(f, name=None, anchor=Anchor.NONE, steps_from_anchor=None, confidence=0.0) for f in found
        )
        bearing = [f for f in vert if f.ribs]
        reason = ONE_SIDED_REFUSAL if bearing and len(bearing[-1].ribs) == 1 else REFUSAL
        return LevelReport(Anchor.NONE, False, 0.0, reason, unnamed, None, tuple(warnings), crest_z_mm)
    doubtful = any("transitional" in w or "inconsistent" in w for w in warnings)
    if doubtful and count.confidence > CONFIDENCE["transitional"]:
        count = replace(count, confidence=CONFIDENCE["transitional"])
    named = _apply(found, vert, count, warnings)
    for disagrees in (_processes_disagree(named, warnings), _crests_disagree(named, crest_z_mm, warnings)):
        if disagrees:
            count = replace(count, confidence=count.confidence * PROCESS_DISAGREE_FACTOR)
            named = tuple(
                replace(f, confidence=round(f.confidence * PROCESS_DISAGREE_FACTOR, 3)) for f in named
            )
    return LevelReport(
        count.anchor, True, count.confidence, count.reason, named, lumbar_count, tuple(warnings), crest_z_mm
    )


def _crests_disagree(
    named: tuple[VertebraFinding, ...], crest_z_mm: float | None, warnings: list[str]
) -> bool:
    """Do the iliac crests lie outside the L3/L4 disc .. L5 span the count puts them in? (module doc)"""
    if crest_z_mm is None:
        return False
    z = {f.name: f.z_range_mm for f in named if f.name is not None}
    beside = next((name for name, (lo, hi) in z.items() if lo <= crest_z_mm <= hi), None)
    high = "L3" in z and crest_z_mm > 0.5 * (z["L3"][0] + z["L3"][1])  # above L3's middle
    low = "L5" in z and crest_z_mm < z["L5"][0]  # below L5
    if not (high or low):
        return False
    where = f"beside the vertebra named {beside}" if beside else ("above L3's middle" if high else "below L5")
    warnings.append(
        f"the iliac crests' tops (z {crest_z_mm:.0f} mm) lie {where}; they lie between the L3/L4 disc and "
        "L5 in nearly all adults: the count may be off; confidence lowered"
    )
    return True


def _processes_disagree(named: tuple[VertebraFinding, ...], warnings: list[str]) -> bool:
    """Do the transverse processes put the widest lumbar vertebra elsewhere than at L3? (module doc)"""
    spans = {
        f.name: f.process_span_mm
        for f in named
        if f.name in ("L1", "L2", "L3", "L4") and not f.cut_by_fov and f.process_span_mm is not None
    }
    if not {"L2", "L3", "L4"} <= spans.keys():
        return False
    widest = max(spans, key=lambda name: spans[name] or 0.0)
    l3, top = spans["L3"] or 0.0, spans[widest] or 0.0
    if widest == "L3" or top < PROCESS_MARGIN * l3:
        return False
    warnings.append(
        f"the transverse processes are widest at the vertebra named {widest} ({top:.0f} mm tip to tip, "
        f"L3 {l3:.0f} mm), not at L3 as usual: a count off by one would look like this; confidence lowered"
    )
    return True


def _choose_count(
    vert: list[VertebraFinding],
    has_sacrum: bool,
    rib_idx: int | None,
    lumbar_count: int | None,
    warnings: list[str],
) -> _Count | None:
    """Which anchor the names are counted from, with its confidence and reason (None: refuse)."""
    l5 = len(vert) - 1
    if has_sacrum and lumbar_count == 5:
        reason = "sacrum and lowest rib-bearing vertebra agree (5 lumbar-type vertebrae)"
        return _Count(l5, "L5", Anchor.BOTH, CONFIDENCE["both"], reason)
    if has_sacrum and lumbar_count is not None:
        kind = (
            "sacralisation of L5 or 11 rib pairs"
            if lumbar_count < 5
            else "lumbarisation of S1 or 13 rib pairs"
        )
        warnings.append(
            f"transitional anatomy: {lumbar_count} lumbar-type vertebrae between the lowest rib-bearing "
            f"vertebra and the sacrum ({kind}); levels counted from the sacrum and may differ by one "
            "from a whole-spine count"
        )
        reason = f"counted from the sacrum; {lumbar_count} lumbar-type vertebrae above it (transitional)"
        return _Count(l5, "L5", Anchor.BOTH, CONFIDENCE["transitional"], reason)
    if has_sacrum:
        _check_ribfree_t12(vert, l5, warnings)
        return _Count(
            l5, "L5", Anchor.SACRUM, CONFIDENCE["sacrum"], "counted upward from the sacrum (L5 above it)"
        )
    if rib_idx is not None and len(vert[rib_idx].ribs) == 2:
        # 12th ribs come in pairs: a rib on one side only at the lowest rib-bearing level is as likely
        # a transverse process or rib tip taken for a rib (seen on a real CT reconstructed at 3.2 mm),
        # or a lumbar rib, as a missed twelfth -- and each names every level one off. With the sacrum
        # in view it is only a cross-check (above); alone it anchors nothing.
        reason = "counted from the lowest rib-bearing vertebra (T12); the sacrum is not in view"
        return _Count(rib_idx, "T12", Anchor.LOWEST_RIB, CONFIDENCE["ribs"], reason)
    return None


def _rib_anchor(vert: list[VertebraFinding], warnings: list[str]) -> int | None:
    """Index of the lowest rib-bearing vertebra, if a rib-free vertebra is *seen* directly below it."""
    bearing = [i for i, f in enumerate(vert) if f.ribs]
    if not bearing:
        return None
    r = max(bearing)
    if len(vert[r].ribs) == 1:
        warnings.append(
            f"vertebra {r + 1} (from the top), the lowest with a rib, has it on the {vert[r].ribs[0]} side "
            "only: without the sacrum a one-sided rib cannot anchor the count (T12's ribs are paired)"
        )
    below = vert[r + 1] if r + 1 < len(vert) else None
    if below is None or not below.ribs_assessable:
        warnings.append(
            "ribs articulate with the lowest rib-bearing vertebra in view, but the vertebra below it is not "
            "fully in view: it cannot be shown to be the lowest rib-bearing vertebra (T12)"
        )
        return None
    gaps = [i for i in range(r) if not vert[i].ribs and vert[i].ribs_assessable]
    if gaps:
        warnings.append(
            "inconsistent rib detection: a vertebra above the lowest rib-bearing one shows no rib; "
            "confidence lowered"
        )
    return r


def _check_ribfree_t12(vert: list[VertebraFinding], l5: int, warnings: list[str]) -> None:
    t12 = l5 - 5
    if 0 <= t12 < len(vert) and vert[t12].ribs_assessable and not vert[t12].ribs:
        warnings.append(
            "transitional anatomy: the vertebra counted as T12 from the sacrum has no ribs (6 lumbar-type "
            "vertebrae, or 11 rib pairs); levels counted from the sacrum"
        )


def _apply(
    found: list[VertebraFinding], vert: list[VertebraFinding], count: _Count, warnings: list[str]
) -> tuple[VertebraFinding, ...]:
    base = level_index(count.anchor_name)
    heights = np.array([f.z_range_mm[1] - f.z_range_mm[0] for f in vert if not f.cut_by_fov])
    typical = float(np.median(heights)) if heights.size else None
    odd = {
        i
        for i, f in enumerate(vert)
        if typical is not None
        and not f.cut_by_fov
        and not 0.6 * typical <= f.z_range_mm[1] - f.z_range_mm[0] <= 1.5 * typical
    }
    for i in sorted(odd):
        warnings.append(
            f"vertebra {i + 1} (from the top) has an implausible height "
            f"({vert[i].z_range_mm[1] - vert[i].z_range_mm[0]:.0f} mm vs typical {typical:.0f} mm): "
            "a missed disc or a fragment may shift levels counted across it"
        )
    out: list[VertebraFinding] = []
    for i, f in enumerate(vert):
        steps = abs(i - count.anchor_index)
        lo, hi = sorted((i, count.anchor_index))
        crossed = sum(1 for j in odd if lo <= j <= hi)
        conf = count.confidence * STEP_FACTOR**steps * ODD_HEIGHT_FACTOR**crossed
        k = base + (i - count.anchor_index)
        name = VERTEBRA_ORDER[k] if 0 <= k <= level_index("L5") else None
        if name is None:
            warnings.append(
                f"vertebra {i + 1} (from the top) counts beyond C1..L5 from the anchor; left unnamed"
            )
            conf = 0.0
        out.append(
            replace(f, name=name, anchor=count.anchor, steps_from_anchor=steps, confidence=round(conf, 3))
        )
    for f in found:
        if f.is_sacrum:
            conf = count.confidence if count.anchor in (Anchor.SACRUM, Anchor.BOTH) else 0.0
            out.append(replace(f, name="S1", anchor=count.anchor, steps_from_anchor=0, confidence=conf))
    return tuple(out)
