"""A segmentation the user supplies instead of running a network: NIfTI, DICOM SEG or .tag.

The file is placed on the series grid by world coordinates (:mod:`.grid`), its label names are
turned into our vocabulary, and the result is the same :class:`Segmentation` a network gives:

* contract tissue names (``skeletal_muscle``, ``imat``, ``sat``, ``vat``, ``bone`` ...) are taken as
  final, as a manual Slice-O-Matic segmentation already has the operator's HU thresholds applied;
  with ``apply_hu_windows=True`` they are treated as compartments and re-windowed instead;
* compartment names (``psoas``, ``subcutaneous_fat`` ...) go through the same post-processing as
  network output (HU windows on CT, direct mapping / fat fraction on MR);
* vertebra names (``L3``, ``vertebrae_L3``) make the vertebra map;
* TotalSegmentator tables are mapped as documented in :mod:`.totalsegmentator` and flagged partial.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from imaging.segmentation.label_files import totalsegmentator as ts
from imaging.segmentation.label_files.grid import labels_onto_grid
from imaging.segmentation.label_files.names import canonical_name
from imaging.segmentation.label_files.slice_o_matic_tag import TagMapping, read_tag, tag_to_names
from imaging.segmentation.labels import TISSUE_NAMES, VERTEBRA_NAMES, LabelMap
from imaging.segmentation.result import Segmentation
from imaging.segmentation.tissue_rules import TissueRules, tissue_from_ct, tissue_from_mr
from imaging.volume import Volume
from segmentation_models.class_schema import MUSCLE_GROUPS


@dataclass(frozen=True)
class PrecomputedOptions:
    """How to read a user's segmentation (all optional)."""

    names: dict[int, str] | None = None  # value -> name for a NIfTI without a .labels.json
    tag_mapping: TagMapping = field(default_factory=TagMapping)
    tag_slice_index: int | None = None  # series slice a .tag belongs to, when its DICOM is not beside it
    apply_hu_windows: bool = False
    min_covered_fraction: float = 0.0
    rules: TissueRules = field(default_factory=TissueRules)


def load_precomputed(
    path: str | Path,
    volume: Volume,
    options: PrecomputedOptions | None = None,
    fat_fraction_pct: np.ndarray | None = None,
) -> Segmentation:
    """Read ``path`` and return contract label maps on ``volume``'s grid.

    Raises:
        ValueError (incl. GridMismatchError, TagFormatError): unreadable file, unknown names, or a
            segmentation that does not overlap the series.
    """
    options = options or PrecomputedOptions()
    path = Path(path)
    name = path.name.lower()
    if name.endswith(".tag"):
        labels, names, warnings, covered = _tag_on_grid(path, volume, options)
        kind = "slice_o_matic_tag"
    else:
        if name.endswith((".nii", ".nii.gz")):
            from imaging.segmentation.label_files.nifti import read_nifti_labels

            grid, kind = read_nifti_labels(path, options.names), "nifti"
        else:
            from imaging.segmentation.label_files.dicom_seg import read_dicom_seg

            grid, kind = read_dicom_seg(path), "dicom_seg"
        placed = labels_onto_grid(grid.array, grid.affine, volume, options.min_covered_fraction)
        labels, names, warnings, covered = (
            placed.array,
            grid.names,
            list(grid.warnings),
            placed.covered_fraction,
        )
    meta = {"source": {"kind": kind, "path": str(path)}, "covered_fraction": round(covered, 6)}
    return labels_to_segmentation(labels, names, volume, options, meta, warnings, fat_fraction_pct)


def labels_to_segmentation(
    labels: np.ndarray,
    names: dict[int, str],
    volume: Volume,
    options: PrecomputedOptions | None = None,
    meta: dict | None = None,
    warnings: list[str] | None = None,
    fat_fraction_pct: np.ndarray | None = None,
) -> Segmentation:
    """Interpret a named label array already on ``volume``'s grid (pure: arrays in, maps out)."""
    options = options or PrecomputedOptions()
    meta = dict(meta or {})
    warnings = list(warnings or [])
    if labels.shape != volume.shape:
        raise ValueError(f"labels {labels.shape} are not on the series grid {volume.shape}")
    tissue_direct: dict[int, str] = {}
    compartments: dict[int, str] = {}
    vertebrae: dict[int, str] = {}
    if ts.is_totalsegmentator_table(names):
        meta["partial"] = {"source": ts.SOURCE, "cannot_derive": list(ts.CANNOT_DERIVE)}
        warnings.append(
            "TotalSegmentator labels: no SAT/VAT, and skeletal muscle is partial (psoas, paraspinal, gluteal)"
        )
        for value, label in names.items():
            mapped = ts.map_class(label)
            if mapped.compartment:
                compartments[value] = mapped.compartment
            if mapped.vertebra:
                vertebrae[value] = mapped.vertebra
    else:
        unknown = []
        for value, label in names.items():
            canon = canonical_name(label)
            if canon is None:
                unknown.append(label)
            elif canon in VERTEBRA_NAMES.values():
                vertebrae[value] = canon
            elif canon in TISSUE_NAMES.values() and not options.apply_hu_windows:
                tissue_direct[value] = canon
            else:
                compartments[value] = canon
        if unknown:
            warnings.append(f"labels {unknown} are not tissue, compartment or vertebra names and are ignored")
    tissue = muscles = comp_map = None
    if compartments:
        comp_map = _named_map(labels, compartments)
        if volume.meta.is_ct:
            result = tissue_from_ct(comp_map, volume.array, options.rules.ct)
        else:
            result = tissue_from_mr(comp_map, fat_fraction_pct, options.rules.mr)
        tissue = result.tissue
        meta.update(tissue_rule=result.rule, unlabelled_voxels=result.unlabelled_voxels)
        warnings.extend(result.warnings)
        if any(n in MUSCLE_GROUPS for n in compartments.values()):
            muscles = result.muscles
    if tissue_direct:
        direct = _named_map(labels, tissue_direct).relabel(TISSUE_NAMES)
        if tissue is None:
            tissue = direct
        else:  # both kinds in one file: explicit tissue labels win where present
            tissue = LabelMap(
                np.where(direct.array > 0, direct.array, tissue.array).astype(np.uint8), dict(TISSUE_NAMES)
            )
    missing = {}
    if tissue is None:
        missing["tissue"] = "the segmentation has no tissue labels: tissue areas cannot be measured"
    vert_map = _named_map(labels, vertebrae).relabel(VERTEBRA_NAMES) if vertebrae else None
    if vert_map is None:
        missing["vertebrae"] = "the segmentation has no vertebra labels: levels must come from elsewhere"
    return Segmentation(tissue, vert_map, muscles, comp_map, None, meta, tuple(warnings), missing)


def _named_map(labels: np.ndarray, selected: dict[int, str]) -> LabelMap:
    """Labels restricted to ``selected`` values, renumbered 1..n by distinct name (names may repeat)."""
    distinct = list(dict.fromkeys(selected.values()))
    lut_size = max(int(labels.max(initial=0)), max(selected)) + 1
    lut = np.zeros(lut_size, dtype=np.uint8 if len(distinct) < 255 else np.uint16)
    for value, name in selected.items():
        lut[value] = distinct.index(name) + 1
    return LabelMap(lut[labels.astype(np.intp)], {i + 1: n for i, n in enumerate(distinct)})


def _tag_on_grid(
    path: Path, volume: Volume, options: PrecomputedOptions
) -> tuple[np.ndarray, dict, list[str], float]:
    """Place one .tag slice: by its DICOM's position when the DICOM is beside it, else by slice index."""
    _, rows, cols = volume.shape
    tag = read_tag(path, shape=(rows, cols))
    array, names, warnings = tag_to_names(tag, options.tag_mapping)
    dicom = next(
        (p for p in (path.with_suffix(""), path.with_suffix(".dcm")) if p.is_file() and p != path), None
    )
    if dicom is not None:
        affine = _slice_affine(dicom, float(volume.spacing_kji[0]))
        placed = labels_onto_grid(array[None], affine, volume)
        return placed.array, names, warnings, placed.covered_fraction
    if options.tag_slice_index is None:
        raise ValueError(
            f"{path}: no DICOM slice beside it ({path.with_suffix('').name}); give the slice index"
        )
    if not 0 <= options.tag_slice_index < volume.shape[0]:
        raise ValueError(
            f"{path}: slice index {options.tag_slice_index} outside the series (0..{volume.shape[0] - 1})"
        )
    out = np.zeros(volume.shape, dtype=np.uint8)
    out[options.tag_slice_index] = array
    return out, names, warnings, 1.0 / volume.shape[0]


def _slice_affine(dicom: Path, thickness_mm: float) -> np.ndarray:
    """Index -> LPS affine of one DICOM slice, from its header (the .tag has no geometry of its own)."""
    import pydicom

    ds = pydicom.dcmread(dicom, stop_before_pixels=True)
    iop = np.array([float(v) for v in ds.ImageOrientationPatient])
    row_mm, col_mm = (float(v) for v in ds.PixelSpacing)
    affine = np.eye(4)
    affine[:3, 0] = np.cross(iop[:3], iop[3:]) * thickness_mm
    affine[:3, 1] = iop[3:] * row_mm
    affine[:3, 2] = iop[:3] * col_mm
    affine[:3, 3] = [float(v) for v in ds.ImagePositionPatient]
    return affine
