"""Cross-sectional tissue areas and attenuation on one slice, or averaged over a slab.

The tissue map is taken as final: the segmentation stage has already applied the HU windows inside
each predicted compartment (that is where IMAT inside muscle is separated from muscle). Here we only
count and average, so the same code measures CT and MR maps; HU values are None for MR.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from imaging.segmentation.labels import LabelMap
from imaging.segmentation.windows import LOW_DENSITY_MUSCLE, NORMAL_DENSITY_MUSCLE

MM2_PER_CM2 = 100.0


@dataclass(frozen=True)
class SliceTissue:
    muscle_area_cm2: float
    imat_area_cm2: float
    sat_area_cm2: float
    vat_area_cm2: float
    muscle_hu_mean: float | None
    muscle_hu_sd: float | None
    low_density_muscle_area_cm2: float | None
    normal_density_muscle_area_cm2: float | None

    def as_dict(self) -> dict[str, float | None]:
        return dict(self.__dict__)


def slice_tissue(tissue: LabelMap, pixel_area_mm2: float, hu: np.ndarray | None = None) -> SliceTissue:
    """Areas (cm²) of each tissue on a 2-D label slice; muscle attenuation when ``hu`` is given."""
    if tissue.array.ndim != 2:
        raise ValueError(f"slice_tissue takes one 2-D slice, got shape {tissue.array.shape}")
    to_cm2 = pixel_area_mm2 / MM2_PER_CM2
    muscle = tissue.mask("skeletal_muscle")
    hu_mean = hu_sd = low = normal = None
    if hu is not None:
        values = hu[muscle].astype(np.float64)
        if values.size:
            hu_mean = float(values.mean())
            hu_sd = float(values.std())
        low = float(np.count_nonzero(LOW_DENSITY_MUSCLE.contains(values))) * to_cm2
        normal = float(np.count_nonzero(NORMAL_DENSITY_MUSCLE.contains(values))) * to_cm2
    return SliceTissue(
        muscle_area_cm2=float(np.count_nonzero(muscle)) * to_cm2,
        imat_area_cm2=float(np.count_nonzero(tissue.mask("imat"))) * to_cm2,
        sat_area_cm2=float(np.count_nonzero(tissue.mask("sat"))) * to_cm2,
        vat_area_cm2=float(np.count_nonzero(tissue.mask("vat"))) * to_cm2,
        muscle_hu_mean=hu_mean,
        muscle_hu_sd=hu_sd,
        low_density_muscle_area_cm2=low,
        normal_density_muscle_area_cm2=normal,
    )


def slab_slices(positions_mm: np.ndarray, center_index: int, half_width_mm: float) -> np.ndarray:
    """Indices of slices whose centre lies within ±half_width_mm of the centre slice."""
    return np.flatnonzero(np.abs(positions_mm - positions_mm[center_index]) <= half_width_mm + 1e-6)


def slab_tissue(
    tissue: LabelMap, pixel_area_mm2: float, indices: np.ndarray, hu: np.ndarray | None = None
) -> SliceTissue:
    """Per-slice mean of areas over a slab, muscle HU pooled over all its muscle voxels."""
    per_slice = [
        slice_tissue(LabelMap(tissue.array[k], tissue.names), pixel_area_mm2, None if hu is None else hu[k])
        for k in indices
    ]

    def mean(name: str) -> float | None:
        values = [getattr(s, name) for s in per_slice]
        return None if any(v is None for v in values) else float(np.mean(values))

    hu_mean = hu_sd = None
    if hu is not None:
        muscle = tissue.mask("skeletal_muscle")[indices]
        values = hu[indices][muscle].astype(np.float64)
        if values.size:
            hu_mean, hu_sd = float(values.mean()), float(values.std())
    return SliceTissue(
        muscle_area_cm2=mean("muscle_area_cm2"),  # type: ignore[arg-type]
        imat_area_cm2=mean("imat_area_cm2"),  # type: ignore[arg-type]
        sat_area_cm2=mean("sat_area_cm2"),  # type: ignore[arg-type]
        vat_area_cm2=mean("vat_area_cm2"),  # type: ignore[arg-type]
        muscle_hu_mean=hu_mean,
        muscle_hu_sd=hu_sd,
        low_density_muscle_area_cm2=mean("low_density_muscle_area_cm2"),
        normal_density_muscle_area_cm2=mean("normal_density_muscle_area_cm2"),
    )


def volumes_ml(
    tissue: LabelMap, voxel_volume_mm3: float, slices: np.ndarray | None = None
) -> dict[str, float]:
    """Tissue volumes (mL) over the given slices (all when None)."""
    arr = tissue.array if slices is None else tissue.array[slices]
    sub = LabelMap(arr, tissue.names)
    return {
        f"{name}_volume_ml": float(np.count_nonzero(sub.mask(name))) * voxel_volume_mm3 / 1000.0
        for name in ("skeletal_muscle", "imat", "sat", "vat")
    }
