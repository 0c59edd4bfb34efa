"""Label maps as named data: the tissue and vertebra vocabularies of the output contract.

Label values are a storage detail; every consumer looks labels up by name, so a model that numbers
its classes differently only needs its own ``names`` table, never a code change downstream.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np

from segmentation_models.class_schema import VERTEBRA_ORDER

# Contract names (../shared/CONTRACT.md). Values chosen once here and used for every file we write.
TISSUE_NAMES: dict[int, str] = {
    1: "skeletal_muscle",
    2: "imat",
    3: "sat",
    4: "vat",
    5: "bone",
    6: "other_soft_tissue",
}

VERTEBRA_NAMES: dict[int, str] = {i + 1: name for i, name in enumerate(VERTEBRA_ORDER)}

# Levels the measurements report on (T10..L5), cranial to caudal.
MEASURED_LEVELS: tuple[str, ...] = ("T10", "T11", "T12", "L1", "L2", "L3", "L4", "L5")


@dataclass(frozen=True)
class LabelMap:
    """An integer label array (any shape) with its value -> name table."""

    array: np.ndarray
    names: Mapping[int, str]

    def __post_init__(self) -> None:
        if not np.issubdtype(self.array.dtype, np.integer):
            raise ValueError(f"label array must be integer, got {self.array.dtype}")
        seen = list(self.names.values())
        if len(seen) != len(set(seen)):
            raise ValueError("label names must be unique")

    def value_of(self, name: str) -> int | None:
        for value, label in self.names.items():
            if label == name:
                return int(value)
        return None

    def mask(self, name: str) -> np.ndarray:
        """Boolean mask of ``name``; all False when the map has no such label."""
        value = self.value_of(name)
        if value is None:
            return np.zeros(self.array.shape, dtype=bool)
        return self.array == value

    def mask_any(self, names: Iterable[str]) -> np.ndarray:
        values = [v for v in (self.value_of(n) for n in names) if v is not None]
        return np.isin(self.array, values)

    def present(self) -> list[str]:
        """Names whose value occurs in the array, in table order."""
        values = self.values_present()
        return [name for value, name in self.names.items() if value in values]

    def values_present(self) -> set[int]:
        """Values that occur in the array, named or not (0 included when present)."""
        if self.array.dtype in (np.uint8, np.uint16):  # a lookup table is cheaper than a sort
            seen = np.zeros(np.iinfo(self.array.dtype).max + 1, dtype=bool)
            seen[self.array] = True
            return set(np.flatnonzero(seen).tolist())
        return set(np.unique(self.array).tolist())

    def relabel(self, target: Mapping[int, str]) -> LabelMap:
        """Re-express this map in another table's values (by name); unknown names become 0."""
        lookup = {name: value for value, name in target.items()}
        out = np.zeros(self.array.shape, dtype=np.uint8 if max(target, default=0) < 256 else np.uint16)
        for value, name in self.names.items():
            if name in lookup:
                out[self.array == value] = lookup[name]
        return LabelMap(out, dict(target))

    def names_json(self) -> dict[str, str]:
        """The ``*.labels.json`` content of the contract: value (string) -> name."""
        return {str(int(v)): n for v, n in sorted(self.names.items())}


def level_index(name: str) -> int:
    """Cranio-caudal rank of a vertebra name (C1 = 0 ... S1 = 24)."""
    try:
        return VERTEBRA_ORDER.index(name)
    except ValueError:
        raise ValueError(f"unknown vertebra name {name!r}") from None
