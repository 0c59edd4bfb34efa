"""The class vocabulary models may predict, and the segmentation result every source returns.

A network predicts *compartments* (where muscle, subcutaneous fat, visceral fat ... are), not the
contract's final tissue labels: on CT the Alberta HU windows are applied inside each compartment
afterwards (:mod:`imaging.segmentation.tissue_rules`), so IMAT inside muscle is measured from
attenuation instead of being guessed by the network. Vertebra levels are a second head (or model)
because a voxel is both ``bone`` and ``L3``.

Class tables are named data (value -> name): a model that orders its channels differently only needs
its own table. Every name a table uses must be in this vocabulary, so a typo in a model card fails at
load time, not as silently missing muscle in a results file.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import Any


class Role(enum.Enum):
    """What a compartment becomes after post-processing."""

    BACKGROUND = "background"
    MUSCLE = "muscle"  # skeletal muscle compartment, IMAT separated by HU (CT) or fat fraction (MR)
    IMAT = "imat"  # a model that predicts IMAT itself; on CT it is re-windowed like the muscle compartment
    SAT = "sat"
    VAT = "vat"
    BONE = "bone"
    OTHER = "other_soft_tissue"


class HeadKind(enum.Enum):
    """Which output a group of network channels describes."""

    COMPARTMENTS = "compartments"
    VERTEBRAE = "vertebrae"


# Muscle groups kept apart because MR fat fraction is reported per group (psoas, paraspinal ...).
MUSCLE_GROUPS: tuple[str, ...] = (
    "psoas",
    "paraspinal",
    "quadratus_lumborum",
    "abdominal_wall",
    "other_muscle",
)
MUSCLE_GROUP_NAMES: dict[int, str] = {i + 1: name for i, name in enumerate(MUSCLE_GROUPS)}

COMPARTMENT_ROLES: dict[str, Role] = {
    "background": Role.BACKGROUND,
    **{name: Role.MUSCLE for name in MUSCLE_GROUPS},
    "skeletal_muscle": Role.MUSCLE,  # an ungrouped muscle class (e.g. a user's own model)
    "imat": Role.IMAT,
    "subcutaneous_fat": Role.SAT,
    "sat": Role.SAT,
    "visceral_fat": Role.VAT,
    "vat": Role.VAT,
    "bone": Role.BONE,
    "other_soft_tissue": Role.OTHER,
}

# The vertebra vocabulary, cranial to caudal (the output contract's names).
VERTEBRA_ORDER: tuple[str, ...] = (
    *(f"C{i}" for i in range(1, 8)),
    *(f"T{i}" for i in range(1, 13)),
    *(f"L{i}" for i in range(1, 6)),
    "S1",
)

VERTEBRA_CLASS_NAMES: frozenset[str] = frozenset(("background", *VERTEBRA_ORDER))


class ClassTableError(ValueError):
    """A class table that cannot be used: the message names the offending entry and the allowed names."""


def validate_classes(kind: HeadKind, classes: Mapping[Any, str]) -> dict[int, str]:
    """Check a head's class table and return it with integer keys.

    Values must be the channel indices 0..n-1 (value = channel, 0 = background) so that argmax over
    the head's channels is the label value directly.

    Raises:
        ClassTableError: non-integer or non-contiguous values, no background at 0, duplicate or
            unknown names.
    """
    try:
        table = {int(k): str(v) for k, v in classes.items()}
    except (TypeError, ValueError):
        raise ClassTableError(f"{kind.value} class values must be integers, got {sorted(classes)}") from None
    if sorted(table) != list(range(len(table))) or len(table) < 2:
        raise ClassTableError(
            f"{kind.value} class values must be the channel indices 0..n-1 (n >= 2), got {sorted(table)}"
        )
    if table[0] != "background":
        raise ClassTableError(f"{kind.value} class 0 must be 'background', got {table[0]!r}")
    if len(set(table.values())) != len(table):
        raise ClassTableError(f"{kind.value} class names must be unique: {table}")
    allowed = set(COMPARTMENT_ROLES) if kind is HeadKind.COMPARTMENTS else VERTEBRA_CLASS_NAMES
    unknown = sorted(set(table.values()) - allowed)
    if unknown:
        raise ClassTableError(f"unknown {kind.value} class name(s) {unknown}; allowed: {sorted(allowed)}")
    return table


def guess_head_kind(classes: Mapping[Any, str]) -> HeadKind:
    """Vertebrae when every non-background name is a vertebra level, otherwise compartments."""
    names = {str(v) for v in classes.values()} - {"background"}
    return HeadKind.VERTEBRAE if names and names <= set(VERTEBRA_ORDER) else HeadKind.COMPARTMENTS
