"""MR Dixon: one fat-fraction map from a Dixon set, and the ``mr`` block of results.json.

The scanner's water and fat images are used when both are in the set (phase-resolved, 0-100 %);
otherwise in-phase/opposed-phase magnitudes give a map folded into 0-50 % (see
:mod:`imaging.measurements.dixon`), which is said in the warnings and in ``mr.folded``. All images of
a set must lie on one grid: voxel-wise arithmetic between images that are not is meaningless, so a
mismatched set is refused with the reason rather than resampled.

Muscle fat fraction is reported per muscle group (the whole group compartment, fat infiltration
included) at the muscle level (L3, or Derstine's fallback when L3 is missing), and for the contract
``skeletal_muscle`` label at every level; marrow fat fraction L1-L4 in the trabecular ROI of each
vertebral body (the same ROI as CT trabecular HU).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from imaging.classification.inputs import muscle_level
from imaging.ingest.dixon import DixonComponent
from imaging.levels.slices import LevelSlice, vertebral_body_mask
from imaging.measurements.bone import roi_problem, trabecular_roi
from imaging.measurements.dixon import (
    FatFractionMap,
    background_noise_sd,
    fat_fraction,
    roi_fat_fraction,
    swap_warning,
    water_fat_from_in_opposed,
)
from imaging.segmentation.result import Segmentation
from imaging.volume import Volume

GRID_TOLERANCE_MM = 0.01
MARROW_LEVELS = ("L1", "L2", "L3", "L4")
CONTRACT_GROUPS = ("psoas", "paraspinal")
# The image the outputs are written on, in order of preference: anatomy is clearest on water/in-phase.
REFERENCE_ORDER = (
    DixonComponent.WATER,
    DixonComponent.IN_PHASE,
    DixonComponent.FAT,
    DixonComponent.OPPOSED_PHASE,
)


class DixonSetError(ValueError):
    """A Dixon set that cannot give a fat fraction (missing components, images on different grids)."""


@dataclass(frozen=True)
class DixonFatFraction:
    """The fat-fraction map of a set, the component it is reported on, and how it was made."""

    map: FatFractionMap
    reference: DixonComponent
    components: tuple[DixonComponent, ...]
    warnings: list[str] = field(default_factory=list)


def check_same_grid(volumes: Mapping[DixonComponent, Volume]) -> None:
    """Refuse a set whose images differ in shape or geometry (they are combined voxel by voxel).

    Raises:
        DixonSetError: naming the components and how they differ.
    """
    items = list(volumes.items())
    first_name, first = items[0]
    for name, vol in items[1:]:
        if vol.shape != first.shape:
            raise DixonSetError(
                f"Dixon {name.value} image has shape {vol.shape} but {first_name.value} has {first.shape}: "
                "the images of one set must share one grid"
            )
        if not np.allclose(vol.affine, first.affine, atol=GRID_TOLERANCE_MM):
            shift = float(np.abs(vol.affine[:3, 3] - first.affine[:3, 3]).max())
            raise DixonSetError(
                f"Dixon {name.value} and {first_name.value} images are on different grids (origin differs by "
                f"up to {shift:.3g} mm or orientation/spacing differ): "
                "the images of one set must share one grid"
            )


def reference_component(components: Mapping[DixonComponent, Any]) -> DixonComponent:
    return next(c for c in REFERENCE_ORDER if c in components)


def network_image(volumes: Mapping[DixonComponent, Volume]) -> Volume | None:
    """The image an MR tissue network reads: the in-phase magnitude, as the Dixon model was trained on.

    Water alone shows fat as dark as air, so compartments are drawn on in-phase (water + fat signal);
    a set without in-phase but with water and fat gets their sum (the in-phase magnitude up to noise).
    None when neither exists (an in/opposed-less, water/fat-less set has no fat fraction anyway).
    """
    ip = volumes.get(DixonComponent.IN_PHASE)
    if ip is not None:
        return ip
    water, fat = volumes.get(DixonComponent.WATER), volumes.get(DixonComponent.FAT)
    if water is None or fat is None:
        return None
    summed = water.array.astype(np.float32) + fat.array.astype(np.float32)
    return Volume(summed, water.affine, water.meta)


def dixon_fat_fraction(volumes: Mapping[DixonComponent, Volume]) -> DixonFatFraction:
    """Fat-fraction map (percent) from the scanner's water/fat images, else from in/opposed phase.

    Raises:
        DixonSetError: neither water+fat nor in+opposed phase present, or images on different grids.
    """
    if not volumes:
        raise DixonSetError("empty Dixon set")
    check_same_grid(volumes)
    have = set(volumes)
    warnings: list[str] = []
    ip = volumes.get(DixonComponent.IN_PHASE)
    if {DixonComponent.WATER, DixonComponent.FAT} <= have:
        water = volumes[DixonComponent.WATER].array.astype(np.float32)
        fat = volumes[DixonComponent.FAT].array.astype(np.float32)
        # In-phase magnitude is water+fat with one noise draw; the sum of W and F doubles its variance.
        noise_image = ip.array if ip is not None else water + fat
        ff = fat_fraction(
            water, fat, background_noise_sd(noise_image), source="scanner_water_fat", folded=False
        )
    elif {DixonComponent.IN_PHASE, DixonComponent.OPPOSED_PHASE} <= have:
        in_phase = volumes[DixonComponent.IN_PHASE].array
        water, fat = water_fat_from_in_opposed(in_phase, volumes[DixonComponent.OPPOSED_PHASE].array)
        ff = fat_fraction(water, fat, background_noise_sd(in_phase), source="ip_op_magnitude", folded=True)
        warnings.append(
            "no scanner water/fat images: fat fraction derived from in/opposed-phase magnitudes and folded "
            "into 0-50 %; marrow values near or above 50 % cannot be told apart"
        )
    else:
        names = ", ".join(sorted(c.value for c in have))
        raise DixonSetError(f"Dixon set has only {names}: a fat fraction needs water+fat or in+opposed phase")
    warnings.extend(ff.warnings)
    return DixonFatFraction(
        ff, reference_component(volumes), tuple(sorted(have, key=REFERENCE_ORDER.index)), warnings
    )


def mr_block(
    dff: DixonFatFraction,
    seg: Segmentation,
    volume: Volume,
    slices: Mapping[str, LevelSlice],
) -> tuple[dict[str, Any], dict[str, dict[str, Any]], list[str]]:
    """(``mr`` object, per-level additions, warnings) from the map, the labels and the level slices."""
    ff = dff.map
    warnings = list(dff.warnings)
    per_level: dict[str, dict[str, Any]] = {}
    tissue = seg.tissue
    if tissue is not None:
        swap = swap_warning(ff, tissue.mask("sat"))
        if swap:
            warnings.append(swap)
    for name, level in slices.items():
        k = level.slice_index
        extra: dict[str, Any] = {}
        if tissue is not None:
            roi = np.zeros(volume.shape, dtype=bool)
            roi[k] = tissue.array[k] == tissue.value_of("skeletal_muscle")
            value, why = roi_fat_fraction(ff, roi)
            extra["muscle_fat_fraction_pct"] = _round(value)
            if why:
                warnings.append(f"{name}: muscle fat fraction null: {why}")
        extra["marrow_fat_fraction_pct"] = _marrow(ff, seg, volume, name, warnings)
        per_level[name] = extra

    groups: dict[str, float | None] = {}
    at = muscle_level(list(slices))
    if at is None:
        warnings.append("no muscle level (L3 or a fallback) found: per-group muscle fat fraction is null")
        groups = dict.fromkeys(CONTRACT_GROUPS)
    elif seg.muscles is None:
        warnings.append(
            "the segmentation has no muscle groups (psoas, paraspinal ...): per-group muscle fat fraction "
            "is null; the skeletal_muscle value per level is reported instead"
        )
        groups = dict.fromkeys(CONTRACT_GROUPS)
    else:
        k = slices[at].slice_index
        names = [
            n for n in seg.muscles.names.values() if n in CONTRACT_GROUPS or seg.muscles.mask(n)[k].any()
        ]
        for group in dict.fromkeys([*CONTRACT_GROUPS, *names]):
            roi = np.zeros(volume.shape, dtype=bool)
            roi[k] = seg.muscles.mask(group)[k]
            value, why = roi_fat_fraction(ff, roi)
            groups[group] = _round(value)
            if why:
                warnings.append(f"{at} {group}: muscle fat fraction null: {why}")
    marrow = {n: per_level[n]["marrow_fat_fraction_pct"] for n in MARROW_LEVELS if n in per_level}
    missing = [n for n in MARROW_LEVELS if n not in per_level]
    if missing:
        warnings.append(f"marrow fat fraction not measured at {', '.join(missing)}: level not found")
    block = {
        "fat_fraction_source": ff.source,
        "folded": ff.folded,
        "quantity": "signal fat fraction (no T1/T2* or multi-peak correction; not PDFF)",
        "components": [c.value for c in dff.components],
        "muscle_fat_fraction_level": at,
        "muscle_fat_fraction_pct": groups,
        "marrow_fat_fraction_pct": marrow,
    }
    return block, per_level, warnings


def _marrow(
    ff: FatFractionMap, seg: Segmentation, volume: Volume, name: str, warnings: list[str]
) -> float | None:
    if seg.vertebrae is None or not seg.vertebrae.mask(name).any():
        warnings.append(f"{name}: no vertebra label, marrow fat fraction null")
        return None
    roi = trabecular_roi(vertebral_body_mask(seg.vertebrae.mask(name), volume), volume)
    too_small = roi_problem(roi, volume)
    if too_small is not None:
        warnings.append(f"{name}: marrow fat fraction null: {too_small}")
        return None
    value, why = roi_fat_fraction(ff, roi)
    if why:
        warnings.append(f"{name}: marrow fat fraction null: {why}")
    elif ff.folded and value is not None and value > 40.0:
        warnings.append(
            f"{name}: marrow fat fraction {value:.0f} % from folded in/opposed data may truly be 100 − that"
        )
    return _round(value)


def _round(value: float | None) -> float | None:
    return None if value is None else round(float(value), 2)
