"""Warnings as values: what happened (a code), where (a vertebral level, when it is about one), and
the sentence a reader sees, rendered last.

Stages return notices instead of bare sentences, so a later stage or a batch user can act on the
code (count refusals across a cohort, drop the notes of a map that was supplied later) without
matching text; results.json carries both the contract's ``warnings`` (the sentences, in order) and
``notices`` (``{"code", "level", "message"}``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

# Codes: the stage, then what. Stable: users filter on them.
INGEST = "ingest"
SEGMENTATION = "segmentation"
MAP_MISSING = "segmentation.map_missing"  # a source could not give a map (tissue, vertebrae)
LEVEL_STATED = "levels.stated_level"
LEVEL_SLICE = "levels.slice_not_established"  # a labelled level without a usable slice
LEVELS_ABSENT = "levels.not_in_range"
LEVELS_NO_LABELS = "levels.no_labels"
NO_TISSUE = "measurement.no_tissue"
HU_NOT_APPLICABLE = "measurement.hu_not_applicable"
HEIGHT_UNKNOWN = "measurement.height_unknown"
PARTIAL_LABELS = "measurement.partial_labels"
SLAB = "measurement.slab"
TRABECULAR = "measurement.trabecular_null"
CUT_BODY = "measurement.cut_body"
MR = "mr"
ACQUISITION = "acquisition"
SUBJECT = "subject"


@dataclass(frozen=True)
class Notice:
    code: str
    message: str
    level: str | None = None


def messages(notices: Iterable[Notice]) -> list[str]:
    """The sentences, in order, each once: the contract's ``warnings``."""
    return list(dict.fromkeys(n.message for n in notices))


def unique(notices: Iterable[Notice]) -> list[Notice]:
    """Each notice once, first occurrence kept (the same note can come from two stages)."""
    return list(dict.fromkeys(notices))
