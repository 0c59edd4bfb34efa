"""Choose what to analyse in each study (one CT series or one MR Dixon set) and say why for every other.

CT ranking, in order (the first difference decides, and is the reason given to the others):

1. ORIGINAL\\PRIMARY images before anything else;
2. soft-tissue reconstruction kernel before unrecognised, unrecognised before sharp (bone/lung):
   muscle and fat HU thresholds are calibrated on soft-tissue kernels; sharp kernels add noise that
   pushes voxels across the -29/+150 HU and -190/-30 HU bounds (see :data:`KERNEL_RULES`);
3. thin before thick (``prefer="thick"`` reverses this, e.g. for 5 mm research protocols);
4. more coverage along the body axis, then more slices;
5. non-contrast before unknown before contrast-enhanced, among otherwise equal series: contrast
   raises muscle and trabecular attenuation (L1 by ~11 HU on average, clinical-criteria.md), and
   the attenuation cut-offs are easiest to read on unenhanced images;
6. lowest series number, then the series key (only so the choice is deterministic).

Contrast and non-contrast CT are both acceptable inputs (the phase is reported with every HU). A single
axial slice is a valid series (L3-only archives). When a study has both a usable CT and MR, the CT
is chosen. MR is analysed as a Dixon set: the usable Dixon components (in-phase, opposed-phase,
water, fat) of one acquisition, grouped by frame of reference, orientation and matrix.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum
from typing import Literal

from imaging.ingest.dixon import DixonComponent
from imaging.ingest.series_index import SeriesEntry
from imaging.ingest.series_kind import DIXON_KINDS, SeriesKind


class KernelClass(Enum):
    SOFT = "soft"
    UNKNOWN = "unknown"
    SHARP = "sharp"


class AnalysisUnit(Enum):
    CT = "ct"
    MR_DIXON = "mr_dixon"


# (vendor, pattern matched against the upper-cased first kernel value, class). First match wins.
# Siemens: letter(s) + two digits (B30f, B31f, Br36, Br38f, I30f, Q30f, Bf37): below 50 is smooth/medium,
#   50 and above sharp (B60f, B70f, Br64, I70f).
# Canon/Toshiba: FC01-FC29 body/soft (FC03, FC07, FC13, FC18), FC30 and above bone/lung (FC30, FC52, FC81).
# GE and others (United Imaging B_SOFT_B, B_SHARP_C): words.
# Philips: single letters A/B/C/D and YA/YB are body/soft, E, L, YC, YD are sharp (bone/lung).
KERNEL_RULES: tuple[tuple[str, str, KernelClass], ...] = (
    ("any", r"SHARP|LUNG|BONE|EDGE|DETAIL|ULTRA|CHEST|HIGH ?RES|\bHR\b", KernelClass.SHARP),
    ("any", r"SOFT|STANDARD|\bSTND\b|SMOOTH|\bBODY\b|ABDOMEN", KernelClass.SOFT),
    ("Canon", r"^FC(0\d|1\d|2\d)$", KernelClass.SOFT),
    ("Canon", r"^FC([3-9]\d)$", KernelClass.SHARP),
    ("Siemens", r"^[A-Z]{1,2}[1-4]\d[A-Z]?$", KernelClass.SOFT),
    ("Siemens", r"^[A-Z]{1,2}[5-9]\d[A-Z]?$", KernelClass.SHARP),
    ("Philips", r"^(A|B|C|D|YA|YB)$", KernelClass.SOFT),
    ("Philips", r"^(E|L|YC|YD|EB|LB)$", KernelClass.SHARP),
)
_COMPILED = tuple((vendor, re.compile(pattern), cls) for vendor, pattern, cls in KERNEL_RULES)


def kernel_class(kernel: str | None) -> KernelClass:
    """Soft, sharp or unknown from the kernel name (Siemens ``Br38f\\3`` is judged by ``Br38f``)."""
    if not kernel:
        return KernelClass.UNKNOWN
    name = kernel.split("\\")[0].strip().upper()
    for _vendor, pattern, cls in _COMPILED:
        if pattern.search(name):
            return cls
    return KernelClass.UNKNOWN


@dataclass(frozen=True)
class NotChosen:
    entry: SeriesEntry
    reason: str


@dataclass(frozen=True)
class StudyChoice:
    """What will be analysed in one study, and why each other series will not be."""

    patient_id: str
    study_key: str
    unit: AnalysisUnit | None
    chosen: tuple[SeriesEntry, ...]
    dixon_components: tuple[DixonComponent, ...]
    not_chosen: tuple[NotChosen, ...]
    summary: str


@dataclass(frozen=True)
class Choice:
    studies: tuple[StudyChoice, ...]

    @property
    def chosen(self) -> tuple[SeriesEntry, ...]:
        return tuple(e for s in self.studies for e in s.chosen)

    def is_chosen(self, entry: SeriesEntry) -> bool:
        return any(e.key == entry.key and e.study_key == entry.study_key for e in self.chosen)

    def reason_not_chosen(self, entry: SeriesEntry) -> str | None:
        for study in self.studies:
            for item in study.not_chosen:
                if item.entry.key == entry.key and item.entry.study_key == entry.study_key:
                    return item.reason
        return None


def choose_series(entries: list[SeriesEntry], prefer: Literal["thin", "thick"] = "thin") -> Choice:
    """One analysable unit per (patient, study); every other series gets the reason it was passed over."""
    if prefer not in ("thin", "thick"):
        raise ValueError(f"prefer must be 'thin' or 'thick', got {prefer!r}")
    studies: dict[tuple[str, str], list[SeriesEntry]] = {}
    for entry in entries:
        studies.setdefault((entry.patient_id, entry.study_key), []).append(entry)
    return Choice(tuple(_choose_in_study(p, s, members, prefer) for (p, s), members in studies.items()))


def _choose_in_study(patient: str, study: str, members: list[SeriesEntry], prefer: str) -> StudyChoice:
    reasons: dict[str, str] = {}
    for entry in members:
        if not entry.usable:
            reasons[entry.key] = "; ".join(entry.reasons) or "not analysable"
    cts = sorted(
        (e for e in members if e.usable and e.kind is SeriesKind.CT_IMAGE), key=lambda e: _ct_rank(e, prefer)
    )
    dixon = [e for e in members if e.usable and e.kind in DIXON_KINDS.values()]
    chosen: tuple[SeriesEntry, ...] = ()
    components: tuple[DixonComponent, ...] = ()
    unit = None
    if cts:
        winner = cts[0]
        chosen, unit = (winner,), AnalysisUnit.CT
        for other in cts[1:]:
            reasons[other.key] = _ct_reason(other, winner, prefer)
        for other in dixon:
            reasons[other.key] = f"CT {winner.label} chosen for this study"
        summary = f"CT {winner.label}: {_ct_facts(winner)}"
    elif dixon:
        sets = _dixon_sets(dixon, reasons)
        best = sets[0]
        chosen, unit = tuple(best), AnalysisUnit.MR_DIXON
        components = tuple(_component(e) for e in best)
        names = ", ".join(c.value for c in components)
        for other_set in sets[1:]:
            for other in other_set:
                reasons[other.key] = f"another Dixon set chosen ({', '.join(e.label for e in best)}: {names})"
        summary = f"MR Dixon set with {names}"
    else:
        summary = "nothing analysable in this study"
    chosen_keys = {e.key for e in chosen}
    not_chosen = tuple(NotChosen(e, reasons[e.key]) for e in members if e.key not in chosen_keys)
    return StudyChoice(patient, study, unit, chosen, components, not_chosen, summary)


def _thickness(entry: SeriesEntry) -> float | None:
    if entry.slice_thickness_mm and entry.slice_thickness_mm > 0:
        return entry.slice_thickness_mm
    if entry.coverage_mm and entry.n_frames > 1:
        return entry.coverage_mm / (entry.n_frames - 1)
    return None


def _ct_rank(entry: SeriesEntry, prefer: str) -> tuple:
    primary = 0 if entry.image_type[:2] == ("ORIGINAL", "PRIMARY") else 1
    kernel = list(KernelClass).index(kernel_class(entry.kernel))
    thick = _thickness(entry)
    thick_rank = float("inf") if thick is None else (thick if prefer == "thin" else -thick)
    number = entry.series_number if entry.series_number is not None else 1 << 30
    contrast = {"no": 0, "unknown": 1, "yes": 2}.get(entry.contrast, 1)
    return (
        primary,
        kernel,
        thick_rank,
        -(entry.coverage_mm or 0.0),
        -entry.n_frames,
        contrast,
        number,
        entry.key,
    )


def _ct_reason(other: SeriesEntry, winner: SeriesEntry, prefer: str) -> str:
    mine, best = _ct_rank(other, prefer), _ct_rank(winner, prefer)
    if mine[0] != best[0]:
        return f"not ORIGINAL\\PRIMARY ({'/'.join(other.image_type[:2])}); chose {winner.label}"
    if mine[1] != best[1]:
        what = "sharp kernel" if kernel_class(other.kernel) is KernelClass.SHARP else "unrecognised kernel"
        return f"{what} ({other.kernel or 'none'}); chose kernel {winner.kernel} in {winner.label}"
    if mine[2] != best[2]:
        t, w = _thickness(other), _thickness(winner)
        if t is None:
            return f"slice thickness unknown; chose {winner.label} ({w:g} mm)"
        word = "thicker" if prefer == "thin" else "thinner"
        return f"{word} ({t:g} mm) than {winner.label} ({w:g} mm)"
    if mine[3] != best[3]:
        mm, best_mm = other.coverage_mm or 0.0, winner.coverage_mm or 0.0
        return f"less coverage ({mm:.0f} mm) than {winner.label} ({best_mm:.0f} mm)"
    if mine[4] != best[4]:
        return f"fewer slices ({other.n_frames}) than {winner.label} ({winner.n_frames})"
    if mine[5] != best[5]:
        return (
            f"contrast {other.contrast} (evidence: {other.contrast_evidence or 'none'}); preferred "
            f"{winner.label} with contrast {winner.contrast}: contrast raises muscle and bone HU"
        )
    return f"equivalent to {winner.label}, which has the lower series number"


def _ct_facts(entry: SeriesEntry) -> str:
    thick = _thickness(entry)
    parts = [f"kernel {entry.kernel or 'unknown'} ({kernel_class(entry.kernel).value})"]
    parts.append(f"{thick:g} mm" if thick is not None else "thickness unknown")
    parts.append(f"{entry.n_frames} slice{'s' if entry.n_frames != 1 else ''}")
    return ", ".join(parts)


def _component(entry: SeriesEntry) -> DixonComponent:
    return next(c for c, k in DIXON_KINDS.items() if k is entry.kind)


def _dixon_sets(dixon: list[SeriesEntry], reasons: dict[str, str]) -> list[list[SeriesEntry]]:
    """Dixon entries grouped into acquisitions, best set first; duplicate components get a reason."""
    groups: dict[tuple, list[SeriesEntry]] = {}
    for entry in sorted(dixon, key=lambda e: (e.series_number or 0, e.key)):
        key = (entry.frame_of_reference_uid, entry.orientation, entry.rows, entry.columns, entry.n_frames)
        groups.setdefault(key, []).append(entry)
    sets = []
    for members in groups.values():
        kept: dict[DixonComponent, SeriesEntry] = {}
        for entry in members:
            component = _component(entry)
            if component in kept:
                reasons[entry.key] = f"second {component.value} image set; chose {kept[component].label}"
            else:
                kept[component] = entry
        order = list(DixonComponent)
        sets.append(sorted(kept.values(), key=lambda e: order.index(_component(e))))

    def rank(s: list[SeriesEntry]) -> tuple:
        comps = {_component(e) for e in s}
        water_fat = {DixonComponent.WATER, DixonComponent.FAT} <= comps
        return (-len(comps), not water_fat, -max(e.coverage_mm or 0.0 for e in s), s[0].series_number or 0)

    return sorted(sets, key=rank)
