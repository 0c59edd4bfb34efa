"""Where L3 is chosen: the representative slice of every vertebral level of one series.

From the vertebra labels (whatever produced them: a network, the anatomy-anchored finder in
:mod:`imaging.levels`, or the user's own file) by the slice convention in :mod:`.slices`; or, for a
single axial slice, the level the user states. Levels without a slice get the reason.
"""

from __future__ import annotations

from imaging import notices as N
from imaging.levels.slices import (
    LevelSlice,
    SliceConvention,
    find_level_slices,
    single_slice_level,
)
from imaging.notices import Notice
from imaging.segmentation.labels import MEASURED_LEVELS, LabelMap
from imaging.volume import Volume


def choose_slices(
    volume: Volume,
    vertebrae: LabelMap | None,
    convention: SliceConvention = SliceConvention.MID_VERTEBRAL,
    stated_level: str | None = None,
    missing_reason: str | None = None,
    cut_by_scan: frozenset[str] = frozenset(),
) -> tuple[dict[str, LevelSlice], dict[str, str], list[Notice]]:
    """Representative slice per level, reasons for levels without one, and notices.

    ``missing_reason`` is why the segmentation has no vertebra labels (``Segmentation.missing``):
    each level's reason then says so, and no warning repeats what the segmentation's notes say.
    ``cut_by_scan`` names vertebrae known to run on beyond the scanned range
    (``Segmentation.cut_by_scan``): their middle is not established even where their labels stop
    short of the edge.

    A stated level applies to single-slice series only (L3-only research archives often sit beside
    full scans); a stack keeps its levels from the vertebra labels, and a warning says so.
    """
    warnings: list[Notice] = []
    if stated_level is not None and volume.shape[0] != 1:
        warnings.append(
            Notice(
                N.LEVEL_STATED,
                f"--level {stated_level} applies to single-slice series; this one has "
                f"{volume.shape[0]} slices, so its levels come from the vertebra labels",
            )
        )
    elif stated_level is not None:
        found = {stated_level: single_slice_level(stated_level, volume)}
        if vertebrae is not None:
            labelled = [n for n in vertebrae.present() if n in MEASURED_LEVELS]
            if labelled and stated_level not in labelled:
                warnings.append(
                    Notice(
                        N.LEVEL_STATED,
                        f"the stated level {stated_level} differs from the vertebra label on the slice "
                        f"({', '.join(labelled)}); the stated level was used",
                        stated_level,
                    )
                )
        return found, {}, warnings
    if vertebrae is None:
        reason = missing_reason or "no vertebra labels: vertebral levels cannot be assigned"
        if volume.shape[0] == 1:
            reason += " (for a single slice, state its level with --level)"
        said = (
            []
            if missing_reason and volume.shape[0] != 1
            else [Notice(N.LEVELS_NO_LABELS, reason + "; all level values are null")]
        )
        return {}, {level: reason for level in MEASURED_LEVELS}, [*warnings, *said]
    found, level_notes = find_level_slices(vertebrae, volume, convention, cut_by_scan=cut_by_scan)
    warnings.extend(Notice(N.LEVEL_SLICE, note, level) for level, note in level_notes.items())
    not_measured: dict[str, str] = {}
    present = set(vertebrae.present())
    absent = [level for level in MEASURED_LEVELS if level not in found and level not in present]
    for level in MEASURED_LEVELS:
        if level in found:
            continue
        if level in present:
            not_measured[level] = level_notes.get(level, f"{level}: slice not established")
        else:
            not_measured[level] = f"{level}: not in the scanned range (no vertebra label)"
    if absent:
        warnings.append(
            Notice(
                N.LEVELS_ABSENT, f"levels not in the scanned range (no vertebra label): {', '.join(absent)}"
            )
        )
    return found, not_measured, warnings
