"""Label maps stored as NIfTI, with the value -> name table beside them.

The table is the contract's ``<name>.labels.json`` (value as string -> name), which is also how
TotalSegmentator maps in ../shared/data come. Geometry comes from the NIfTI affine only
(:func:`imaging.volume.from_nifti` handles RAS/LPS), so LAS- or RAS-stored files land correctly.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from imaging.volume import from_nifti


@dataclass(frozen=True)
class LabelGrid:
    """A label array on its own grid: [slice,row,column] + index -> LPS affine + value -> name."""

    array: np.ndarray
    affine: np.ndarray
    names: dict[int, str]
    warnings: list[str] = field(default_factory=list)


def sidecar_for(path: Path) -> Path:
    name = path.name
    for suffix in (".nii.gz", ".nii"):
        if name.endswith(suffix):
            return path.with_name(name[: -len(suffix)] + ".labels.json")
    return path.with_name(path.stem + ".labels.json")


def read_names(path: Path) -> dict[int, str]:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        return {int(k): str(v) for k, v in data.items() if int(k) != 0}
    except (OSError, ValueError, AttributeError) as exc:
        raise ValueError(f"{path}: not a label table (JSON object of value -> name): {exc}") from None


def read_nifti_labels(path: Path, names: dict[int, str] | None = None) -> LabelGrid:
    """Read a label NIfTI and its names (given, or from ``<name>.labels.json`` beside it).

    Raises:
        ValueError: no names table, non-integer voxels, or values missing from the table.
    """
    path = Path(path)
    if names is None:
        table = sidecar_for(path)
        if not table.is_file():
            raise ValueError(f"{path}: no label names; put them in {table.name} (value -> name) beside it")
        names = read_names(table)
    vol = from_nifti(path)
    arr = vol.array
    if not np.issubdtype(arr.dtype, np.integer):
        if not np.all(np.equal(np.mod(arr, 1), 0)):
            raise ValueError(f"{path}: label NIfTI holds non-integer values")
        arr = arr.astype(np.int32)
    present = {int(v) for v in np.unique(arr)} - {0}
    missing = sorted(present - set(names))
    warnings = [f"{path.name}: values {missing} have no name and are ignored"] if missing else []
    return LabelGrid(arr, vol.affine, dict(names), warnings)
