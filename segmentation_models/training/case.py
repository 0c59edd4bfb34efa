"""One training case and its targets' encoding: what the training loop and the data sources share.

A case is an image on the model's grid with, per voxel, the *set* of compartment classes it may be
(a ``uint16`` bit mask; ``UNKNOWN`` = no bit = no information), so fully labelled phantoms,
partially labelled TotalSegmentator maps and windowed manual labels train one loss. Where cases come
from (phantoms, real scans, a department's labels) is :mod:`training_data`; this module needs
nothing but numpy, so the networks library never imports the imaging stages.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from segmentation_models.networks import COMPARTMENT_CLASSES

UNKNOWN = np.uint16(0)
N_CLASSES = len(COMPARTMENT_CLASSES)


def bit(c: int) -> int:
    """The bit of class ``c``."""
    return 1 << int(c)


def bits_of(classes: Iterable[int]) -> int:
    """The bit mask allowing every class in ``classes``."""
    out = 0
    for c in classes:
        out |= bit(c)
    return out


ALL_BITS = bits_of(range(N_CLASSES))


def allowed_mask(bits: np.ndarray, n_classes: int = N_CLASSES) -> np.ndarray:
    """Boolean (n_classes, *shape) array: may voxel be class c? UNKNOWN allows everything."""
    b = np.where(bits == 0, np.uint16(ALL_BITS), bits)
    return np.stack([(b >> np.uint16(c)) & 1 for c in range(n_classes)]).astype(bool)


def set_dice_counts(pred: np.ndarray, bits: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Per class: (2·|P∩T| / 2, |P|+|T|) over voxels whose membership in the class is certain."""
    allowed = allowed_mask(bits, n)
    n_allowed = allowed.sum(axis=0)
    inter, total = np.zeros(n), np.zeros(n)
    for c in range(n):
        positive = allowed[c] & (n_allowed == 1) & (bits != 0)
        certain = positive | ~allowed[c]
        p = (pred == c) & certain
        inter[c] = np.count_nonzero(p & positive)
        total[c] = np.count_nonzero(p) + np.count_nonzero(positive)
    return inter, total


@dataclass(frozen=True)
class Case:
    """One training/evaluation case on the model grid ([slice, row, column])."""

    name: str
    image: np.ndarray  # float32 raw intensities (HU on CT); outside the field of view as the scanner wrote it
    target: np.ndarray  # uint16 allowed-class bits (0 = unknown)
    spacing_kji: tuple[float, float, float]
    modality: str
    source: str  # "phantom", "real" or "user"
    train_slices: tuple[int, ...]  # slices usable as centre slices for training
    tissue: np.ndarray | None = None  # phantom truth tissue labels (imaging.segmentation.labels.TISSUE_NAMES)
    # MR phantoms: fat fraction (%) from the rendered water/fat images by the pipeline's formula, so the
    # evaluation splits IMAT as `analyze` does; not cached (evaluation renders its cases afresh)
    fat_fraction: np.ndarray | None = None

    def __post_init__(self) -> None:
        if self.image.shape != self.target.shape or self.image.ndim != 3:
            raise ValueError(f"{self.name}: image {self.image.shape} and target {self.target.shape} differ")


def write_case(case: Case, path: Path) -> Path:
    """Atomically write a case as compressed npz (image as float32, targets as uint16)."""
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp.npz")
    arrays: dict[str, np.ndarray] = {
        "image": case.image.astype(np.float32),
        "target": case.target.astype(np.uint16),
    }
    if case.tissue is not None:
        arrays["tissue"] = case.tissue.astype(np.uint8)
    meta = {k: getattr(case, k) for k in ("name", "spacing_kji", "modality", "source", "train_slices")}
    # numpy's stub types every **kwds value like allow_pickle (bool): a known mypy limit, not an error
    np.savez_compressed(tmp, meta=np.array(json.dumps(meta)), **arrays)  # type: ignore[arg-type]
    tmp.replace(path)
    return path


def read_case(path: Path) -> Case:
    """Read a case written by :func:`write_case`."""
    with np.load(path, allow_pickle=False) as z:
        meta = json.loads(str(z["meta"]))
        return Case(
            name=meta["name"],
            image=z["image"],
            target=z["target"],
            spacing_kji=tuple(meta["spacing_kji"]),
            modality=meta["modality"],
            source=meta["source"],
            train_slices=tuple(meta["train_slices"]),
            tissue=z["tissue"] if "tissue" in z.files else None,
        )
