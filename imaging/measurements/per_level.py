"""Per-level measurements of one series: the ``levels`` object of results.json, assembled from measurements.

Pure: a Volume and a Segmentation in, plain dicts out; every formula lives in :mod:`imaging.measurements`.
For each vertebra T10..L5 whose representative slice can be found (:func:`find_level_slices`, or the
user's stated level for a single slice) the entry holds the contract keys plus extras:

* ``convention`` (which slice rule chose the slice), ``contrast`` (next to every HU value, so a reader
  of one level cannot miss that HU were measured after contrast);
* muscle HU SD, low/normal-density muscle areas, bone area, per-muscle-group area and HU (CT);
* ``*_slab`` keys: the same areas/HU averaged over ±``slab_mm`` around the slice when at least
  :data:`MIN_SLAB_SLICES` slices fall in that slab (thin slices); otherwise a warning says why not;
* volumes (mL) of muscle/IMAT/SAT/VAT over the slices within this vertebra's cranio-caudal extent.

SMI (muscle area / height²) is given at every level because users ask for it, but published SMI
cut-offs are defined at L3 only; :data:`SMI_NOTE` says so in results.json.

A vertebra whose body is cut by the scanned range has no mid-vertebral slice, so it gets no ``levels``
entry (the contract requires an integer ``slice_index`` there, and the SR and QA outputs are cut at it).
Its trabecular attenuation is still measurable on the slices that show the body, as a radiologist
would read it: :attr:`LevelsResult.cut_levels` holds those values (CT only) with every slice-dependent
value null and the reason, and a warning carries the numbers so they reach results.json.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from imaging import notices as N
from imaging.levels.choice import choose_slices
from imaging.levels.slices import (
    LevelSlice,
    SliceConvention,
    vertebral_body_mask,
)
from imaging.measurements.bone import trabecular_hu
from imaging.measurements.tissue import slab_slices, slab_tissue, slice_tissue, volumes_ml
from imaging.notices import Notice
from imaging.segmentation.labels import MEASURED_LEVELS, TISSUE_NAMES, LabelMap
from imaging.segmentation.result import Segmentation
from imaging.volume import Volume

MIN_SLAB_SLICES = 3
CUT_BODY_REASON = "body cut by the scan range: mid-vertebral slice not established"
SMI_NOTE = (
    "smi_cm2_m2 is muscle area / height² at every level; published SMI cut-offs are defined at L3 only "
    "(the classification uses L3, or Derstine's fallback level when L3 is missing)"
)
_SLAB_KEYS = ("muscle_area_cm2", "imat_area_cm2", "sat_area_cm2", "vat_area_cm2", "muscle_hu_mean")


@dataclass(frozen=True)
class MeasureOptions:
    """How levels are chosen and averaged (``--level-convention``, ``--slab-mm``, ``--level``)."""

    convention: SliceConvention = SliceConvention.MID_VERTEBRAL
    slab_mm: float = 5.0
    stated_level: str | None = None

    def __post_init__(self) -> None:
        if self.slab_mm < 0:
            raise ValueError(f"slab half-width must be >= 0 mm, got {self.slab_mm}")
        if self.stated_level is not None and self.stated_level not in MEASURED_LEVELS:
            raise ValueError(
                f"--level must be one of {', '.join(MEASURED_LEVELS)}, got {self.stated_level!r}"
            )


@dataclass(frozen=True)
class LevelsResult:
    """The ``levels`` object, the slices chosen, volumes over the covered range, and why values are null."""

    levels: dict[str, dict[str, Any]]
    slices: dict[str, LevelSlice]
    volumes: dict[str, Any]
    not_measured: dict[str, str]
    notices: list[Notice] = field(default_factory=list)
    cut_levels: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def warnings(self) -> list[str]:
        return [n.message for n in self.notices]


def measure_levels(
    volume: Volume,
    seg: Segmentation,
    options: MeasureOptions,
    height_m: float | None,
    contrast: str,
) -> LevelsResult:
    """All per-level values of one series (see the module docstring)."""
    slices, not_measured, warnings = choose_slices(
        volume,
        seg.vertebrae,
        options.convention,
        options.stated_level,
        seg.missing.get("vertebrae"),
        seg.cut_by_scan,
    )
    is_ct = volume.meta.is_ct
    hu = volume.array if is_ct else None
    tissue = seg.tissue
    if tissue is None:
        warnings.append(
            Notice(N.NO_TISSUE, "no tissue labels: areas, HU and volumes are null at every level")
        )
    elif slices and not is_ct:
        warnings.append(
            Notice(
                N.HU_NOT_APPLICABLE,
                "MR series: HU values (muscle_hu_mean, trabecular_hu_*) do not apply and are null",
            )
        )
    if slices and height_m is None and tissue is not None:
        warnings.append(
            Notice(N.HEIGHT_UNKNOWN, "height unknown (give --height-m or a clinical CSV): smi_cm2_m2 is null")
        )
    levels: dict[str, dict[str, Any]] = {}
    slab_note: str | None = None
    partial = list((seg.meta.get("partial") or {}).get("cannot_derive", []))
    for name, level in sorted(slices.items(), key=lambda kv: MEASURED_LEVELS.index(kv[0])):
        entry = _slice_entry(volume, level, tissue, hu, height_m, contrast)
        if hu is not None:  # CT
            entry.update(_trabecular(volume, seg, level, hu, warnings))
        else:
            entry.update(trabecular_hu_mean=None, trabecular_hu_median=None)
        if seg.muscles is not None and tissue is not None:
            entry.update(_muscle_groups(volume, seg.muscles, tissue, level.slice_index, hu))
        if tissue is not None:
            slab, why = _slab(volume, tissue, level.slice_index, options.slab_mm, hu)
            entry.update(slab)
            slab_note = slab_note or why
            entry.update(_level_volumes(volume, seg, name, tissue))
        if partial:
            _withhold_partial(entry)
        levels[name] = entry
    if partial and slices:
        text = (
            "labels are partial (" + "; ".join(partial) + "): SAT/VAT/IMAT/muscle areas, volumes and SMI are "
            "null (muscle area kept as muscle_area_cm2_partial); muscle HU covers the labelled muscles only"
        )
        warnings.append(Notice(N.PARTIAL_LABELS, text))
    if slab_note:
        warnings.append(Notice(N.SLAB, slab_note))
    volumes = _covered_volumes(volume, seg, tissue) if not partial else {"withheld": "partial labels"}
    cut = _cut_levels(volume, seg, slices, hu, contrast, warnings) if is_ct else {}
    return LevelsResult(levels, slices, volumes, not_measured, warnings, cut)


def _cut_levels(
    volume: Volume,
    seg: Segmentation,
    slices: Mapping[str, LevelSlice],
    hu: np.ndarray | None,
    contrast: str,
    warnings: list[Notice],
) -> dict[str, dict[str, Any]]:
    """Body-only values of vertebrae whose body touches the first or last slice (see the module docstring).

    Trabecular HU is intensive: a mean over the visible part of the body reads the same bone, so it is
    kept (same ROI rules, incl. the minimum area); the ROI's central-height cut then applies to the
    visible part, which still excludes the one endplate in view. Muscle HU over the visible body's
    slices is given for the same reason. Areas, SMI, slice index and z stay null: they need the slice.
    """
    if seg.vertebrae is None or hu is None or volume.shape[0] < 2:
        return {}
    last = volume.shape[0] - 1
    out: dict[str, dict[str, Any]] = {}
    for name in MEASURED_LEVELS:
        if name in slices or not seg.vertebrae.mask(name).any():
            continue
        body = vertebral_body_mask(seg.vertebrae.mask(name), volume)
        span = np.flatnonzero(body.any(axis=(1, 2)))
        if span.size == 0 or (span[0] != 0 and span[-1] != last):
            continue
        result = trabecular_hu(hu, body, volume)
        entry: dict[str, Any] = {
            "slice_index": None,
            "z_mm": None,
            "reason": CUT_BODY_REASON,
            "visible_body_slices": [int(span[0]), int(span[-1])],
            "contrast": contrast,
            "trabecular_hu_mean": _round(result.hu_mean),
            "trabecular_hu_median": _round(result.hu_median),
            "trabecular_roi_voxels": result.roi_voxels,
            "muscle_hu_mean": _muscle_hu_over(seg.tissue, hu, span),
            **{key: None for key in ("muscle_area_cm2", "imat_area_cm2", "sat_area_cm2", "vat_area_cm2")},
            "smi_cm2_m2": None,
        }
        out[name] = entry
        if result.reason:
            warnings.append(
                Notice(N.CUT_BODY, f"{name}: {CUT_BODY_REASON}; trabecular HU null: {result.reason}", name)
            )
        else:
            text = (
                f"{name}: {CUT_BODY_REASON}; trabecular HU {entry['trabecular_hu_mean']:.1f} (median "
                f"{entry['trabecular_hu_median']:.1f}, contrast {contrast}) from the partially covered body "
                f"(slices {span[0]}-{span[-1]}); areas, SMI, slice_index and z_mm null"
            )
            warnings.append(Notice(N.CUT_BODY, text, name))
    return out


def _muscle_hu_over(tissue: LabelMap | None, hu: np.ndarray, span: np.ndarray) -> float | None:
    """Mean HU of skeletal muscle over the slices ``span[0]..span[-1]`` (None without muscle labels)."""
    if tissue is None:
        return None
    block = slice(int(span[0]), int(span[-1]) + 1)
    muscle = tissue.array[block] == _tissue_value("skeletal_muscle")
    return _round(float(hu[block][muscle].astype(np.float64).mean())) if muscle.any() else None


def _withhold_partial(entry: dict[str, Any]) -> None:
    """Labels that miss whole compartments (TotalSegmentator): areas would read as 0 or as a full SMA."""
    entry["muscle_area_cm2_partial"] = entry.get("muscle_area_cm2")
    for key in list(entry):
        kept = key in ("muscle_area_cm2_partial", "bone_area_cm2", "muscle_group_area_cm2")
        area = key.endswith(("_area_cm2", "_volume_ml", "_area_cm2_slab")) or key == "smi_cm2_m2"
        if area and not kept:
            entry[key] = None


def _slice_entry(
    volume: Volume,
    level: LevelSlice,
    tissue: LabelMap | None,
    hu: np.ndarray | None,
    height_m: float | None,
    contrast: str,
) -> dict[str, Any]:
    k = level.slice_index
    entry: dict[str, Any] = {
        "slice_index": int(k),
        "z_mm": round(float(level.z_mm), 3),
        "convention": level.convention.value,
        "body_slices": list(level.body_slices),
    }
    if tissue is None:
        entry.update(
            {key: None for key in ("muscle_area_cm2", "muscle_hu_mean", "imat_area_cm2", "sat_area_cm2")}
        )
        entry.update(vat_area_cm2=None, smi_cm2_m2=None)
        return entry
    plane = LabelMap(tissue.array[k], tissue.names)
    values = slice_tissue(plane, volume.pixel_area_mm2, None if hu is None else hu[k])
    entry.update({key: _round(v) for key, v in values.as_dict().items()})
    entry["bone_area_cm2"] = _round(
        float(np.count_nonzero(plane.mask("bone"))) * volume.pixel_area_mm2 / 100.0
    )
    area = values.muscle_area_cm2
    entry["smi_cm2_m2"] = _round(area / height_m**2) if height_m else None
    if hu is not None:
        entry["contrast"] = contrast
    return entry


def _trabecular(
    volume: Volume, seg: Segmentation, level: LevelSlice, hu: np.ndarray, warnings: list[Notice]
) -> dict[str, Any]:
    """Trabecular HU in this vertebra's body; None with a warning when there is no usable body."""
    name = level.level
    if seg.vertebrae is None or not seg.vertebrae.mask(name).any():
        text = f"{name}: no vertebra label for this level, so no trabecular ROI; trabecular HU null"
        warnings.append(Notice(N.TRABECULAR, text, name))
        return {"trabecular_hu_mean": None, "trabecular_hu_median": None}
    # the body find_level_slices opened, unless the slice came from elsewhere (a stated level)
    found = level.body
    body = found.full() if found is not None else vertebral_body_mask(seg.vertebrae.mask(name), volume)
    result = trabecular_hu(hu, body, volume)
    if result.reason:
        warnings.append(Notice(N.TRABECULAR, f"{name}: trabecular HU null: {result.reason}", name))
    return {
        "trabecular_hu_mean": _round(result.hu_mean),
        "trabecular_hu_median": _round(result.hu_median),
        "trabecular_roi_voxels": result.roi_voxels,
    }


def _muscle_groups(
    volume: Volume, muscles: LabelMap, tissue: LabelMap, k: int, hu: np.ndarray | None
) -> dict[str, Any]:
    """Area and HU of skeletal muscle within each muscle group on slice ``k`` (groups present only)."""
    muscle = tissue.array[k] == _tissue_value("skeletal_muscle")
    areas: dict[str, float] = {}
    hus: dict[str, float | None] = {}
    for value, group in muscles.names.items():
        mask = (muscles.array[k] == value) & muscle
        if not mask.any():
            continue
        areas[group] = _round(float(np.count_nonzero(mask)) * volume.pixel_area_mm2 / 100.0)  # type: ignore[assignment]
        if hu is not None:
            hus[group] = _round(float(hu[k][mask].astype(np.float64).mean()))
    out: dict[str, Any] = {"muscle_group_area_cm2": areas}
    if hu is not None:
        out["muscle_group_hu_mean"] = hus
    return out


def _slab(
    volume: Volume, tissue: LabelMap, k: int, slab_mm: float, hu: np.ndarray | None
) -> tuple[dict[str, Any], str | None]:
    """``*_slab`` means over ±slab_mm, or nothing plus the reason when too few slices fall in the slab."""
    if slab_mm <= 0:
        return {}, None
    positions = volume.slice_position_mm(np.arange(volume.shape[0]))
    indices = slab_slices(positions, k, slab_mm)
    if indices.size < MIN_SLAB_SLICES:
        return {}, (
            f"slab means (*_slab keys) not reported: ±{slab_mm:g} mm holds {indices.size} slice(s) at "
            f"{volume.spacing_kji[0]:g} mm spacing (need {MIN_SLAB_SLICES})"
        )
    values = slab_tissue(tissue, volume.pixel_area_mm2, indices, hu).as_dict()
    out: dict[str, Any] = {
        f"{key}_slab": _round(values[key]) for key in _SLAB_KEYS if hu is not None or key != "muscle_hu_mean"
    }
    out["slab_mm"] = slab_mm
    out["slab_slices"] = [int(indices[0]), int(indices[-1])]
    return out, None


def _level_volumes(volume: Volume, seg: Segmentation, name: str, tissue: LabelMap) -> dict[str, Any]:
    """Tissue volumes over the slices within this vertebra's extent; ``volume_complete`` False when cut."""
    if seg.vertebrae is None:
        return {}
    span = np.flatnonzero(seg.vertebrae.mask(name).any(axis=(1, 2)))
    if span.size == 0:
        return {}
    slices = np.arange(span[0], span[-1] + 1)
    out: dict[str, Any] = {k: _round(v) for k, v in volumes_ml(tissue, _voxel_mm3(volume), slices).items()}
    n = volume.shape[0]
    out["volume_slices"] = [int(slices[0]), int(slices[-1])]
    out["volume_complete"] = bool(n > 1 and slices[0] > 0 and slices[-1] < n - 1)
    return out


def _covered_volumes(volume: Volume, seg: Segmentation, tissue: LabelMap | None) -> dict[str, Any]:
    """Volumes over the whole scan and over the slices spanned by the measured vertebrae T10..L5."""
    if tissue is None:
        return {}
    voxel = _voxel_mm3(volume)
    out: dict[str, Any] = {"whole_scan": {k: _round(v) for k, v in volumes_ml(tissue, voxel).items()}}
    if seg.vertebrae is not None:
        covered = seg.vertebrae.mask_any(MEASURED_LEVELS).any(axis=(1, 2))
        span = np.flatnonzero(covered)
        if span.size:
            slices = np.arange(span[0], span[-1] + 1)
            present = set(seg.vertebrae.present())
            names = [n for n in MEASURED_LEVELS if n in present]
            out["measured_vertebrae"] = {
                "levels": f"{names[0]}-{names[-1]}",
                "slices": [int(slices[0]), int(slices[-1])],
                **{k: _round(v) for k, v in volumes_ml(tissue, voxel, slices).items()},
            }
    return out


def _voxel_mm3(volume: Volume) -> float:
    return float(np.prod(volume.spacing_kji))


def _tissue_value(name: str) -> int:
    return next(v for v, n in TISSUE_NAMES.items() if n == name)


def _round(value: float | None, digits: int = 3) -> float | None:
    return None if value is None else round(float(value), digits)


def level_summary(levels: Mapping[str, Mapping[str, Any]]) -> str:
    """One line for the terminal: levels found, L3 SMI and L1 trabecular HU."""
    if not levels:
        return "no level found"
    names = list(levels)
    parts = [f"levels {names[0]}-{names[-1]}" if len(names) > 1 else f"level {names[0]}"]
    l3 = levels.get("L3")
    if l3 is not None:
        smi = l3.get("smi_cm2_m2")
        parts.append(
            f"L3 slice {l3['slice_index']}, SMI " + (f"{smi:.1f} cm²/m²" if smi is not None else "n/a")
        )
    l1 = levels.get("L1")
    if l1 is not None:
        hu = l1.get("trabecular_hu_mean")
        parts.append("L1 trabecular " + (f"{hu:.0f} HU" if hu is not None else "n/a"))
    return "; ".join(parts)
