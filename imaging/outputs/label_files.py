"""The contract's label files: NIfTI label maps on the input grid plus their value -> name tables.

``tissue.nii.gz`` / ``tissue.labels.json``, ``vertebrae.nii.gz`` / ``vertebrae.labels.json`` and, for
Dixon MR, ``fat_fraction.nii.gz`` (float32 percent). Geometry goes through
:func:`imaging.volume.to_nifti`, the project's only LPS -> RAS conversion, so the files overlay the
source series exactly in any viewer. Each file is written atomically.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from imaging.outputs.paths import write_json_atomic, write_with
from imaging.segmentation.labels import VERTEBRA_ORDER, LabelMap
from imaging.volume import Volume, to_nifti

REQUIRED_TISSUE_NAMES: tuple[str, ...] = ("skeletal_muscle", "imat", "sat", "vat", "bone")


def check_label_map(labels: LabelMap, volume: Volume, what: str) -> None:
    """Refuse a label map that is not on the volume grid or whose values lack names.

    Raises:
        ValueError: naming the map and the fix.
    """
    if labels.array.shape != volume.shape:
        raise ValueError(
            f"{what} label map has shape {labels.array.shape} but the volume grid is {volume.shape}: "
            "resample the labels onto the series grid (nearest neighbour) before writing outputs"
        )
    unnamed = sorted(labels.values_present() - {0} - {int(v) for v in labels.names})
    if unnamed:
        raise ValueError(f"{what} label map holds values {unnamed} that have no name in its table")


def check_tissue_names(tissue: LabelMap) -> None:
    """The contract requires the five tissue names in the table (present in the image or not)."""
    missing = [name for name in REQUIRED_TISSUE_NAMES if tissue.value_of(name) is None]
    if missing:
        raise ValueError(f"tissue label table lacks the contract names {missing}")


def check_vertebra_names(vertebrae: LabelMap) -> None:
    unknown = [name for name in vertebrae.names.values() if name not in VERTEBRA_ORDER]
    if unknown:
        raise ValueError(f"vertebra label table has names outside C1..S1: {unknown}")


def _label_dtype(labels: LabelMap) -> type:
    return np.uint8 if max(labels.names, default=0) < 256 else np.uint16


def write_label_map(out_dir: Path, stem: str, volume: Volume, labels: LabelMap) -> list[Path]:
    """``<stem>.nii.gz`` (integer labels on the volume grid) and ``<stem>.labels.json``."""
    nifti = out_dir / f"{stem}.nii.gz"
    image = volume.with_array(labels.array.astype(_label_dtype(labels), copy=False))
    write_with(nifti, lambda tmp: to_nifti(image, tmp))
    table = write_json_atomic(out_dir / f"{stem}.labels.json", labels.names_json())
    return [nifti, table]


def write_fat_fraction(out_dir: Path, volume: Volume, fat_fraction_pct: np.ndarray) -> Path:
    """``fat_fraction.nii.gz``: float32 percent; voxels without a trusted value stay NaN."""
    values = np.asarray(fat_fraction_pct, dtype=np.float32)
    finite = values[np.isfinite(values)]
    if finite.size and (finite.min() < -1e-3 or finite.max() > 100.0 + 1e-3):
        raise ValueError(
            f"fat fraction must be percent 0-100, got range {finite.min():.3g}..{finite.max():.3g} "
            "(a 0-1 fraction must be multiplied by 100)"
        )
    path = out_dir / "fat_fraction.nii.gz"
    image = volume.with_array(values)
    write_with(path, lambda tmp: to_nifti(image, tmp, dtype=np.float32))
    return path


def write_label_files(
    out_dir: str | Path,
    volume: Volume,
    tissue: LabelMap,
    vertebrae: LabelMap,
    fat_fraction_pct: np.ndarray | None = None,
) -> list[Path]:
    """All label files of one series; returns the paths written.

    Raises:
        ValueError: when a label map is off-grid, has unnamed values or lacks contract names.
    """
    out_dir = Path(out_dir)
    check_label_map(tissue, volume, "tissue")
    check_label_map(vertebrae, volume, "vertebra")
    check_tissue_names(tissue)
    check_vertebra_names(vertebrae)
    written = write_label_map(out_dir, "tissue", volume, tissue)
    written += write_label_map(out_dir, "vertebrae", volume, vertebrae)
    if fat_fraction_pct is not None:
        written.append(write_fat_fraction(out_dir, volume, fat_fraction_pct))
    return written
