"""Trabecular attenuation of vertebral bodies (opportunistic osteoporosis screening at L1).

The ROI follows the rule in clinical-criteria.md: inside the vertebral body, away from the cortex and
the basivertebral vein. Concretely: the central half of the body's height (endplates are denser), the
body eroded by a cortical margin in-plane, and the posterior quarter of what remains dropped, because
the basivertebral venous plexus enters the body posteriorly in the midline and reads as low HU.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from imaging.measurements.levels import inplane_disk
from imaging.volume import Volume

CORTEX_MARGIN_MM = 3.0
POSTERIOR_FRACTION_EXCLUDED = 0.25
CENTRAL_HEIGHT_FRACTION = 0.5
MIN_ROI_AREA_MM2 = 40.0


@dataclass(frozen=True)
class TrabecularResult:
    hu_mean: float | None
    hu_median: float | None
    roi_voxels: int
    reason: str | None  # why the values are None


def trabecular_roi(body: np.ndarray, volume: Volume) -> np.ndarray:
    """Boolean ROI inside one vertebral body mask (on the volume grid)."""
    roi = np.zeros_like(body, dtype=bool)
    slices = np.flatnonzero(body.any(axis=(1, 2)))
    if slices.size == 0:
        return roi
    z = volume.slice_position_mm(slices)
    lo, hi = z.min(), z.max()
    margin = (hi - lo) * (1.0 - CENTRAL_HEIGHT_FRACTION) / 2.0
    central = slices[(z >= lo + margin - 1e-6) & (z <= hi - margin + 1e-6)]
    if central.size == 0:  # very thick slices: keep the one nearest the middle
        central = slices[[int(np.argmin(np.abs(z - (lo + hi) / 2)))]]
    disk = inplane_disk(volume, CORTEX_MARGIN_MM)
    for k in central:
        core = ndimage.binary_erosion(body[k], structure=disk)
        rows, cols = np.nonzero(core)
        if rows.size == 0:
            continue
        # LPS +y is posterior: drop the most posterior part of the core.
        y = volume.world(np.column_stack([np.full(rows.size, k), rows, cols]))[:, 1]
        cut = y.max() - POSTERIOR_FRACTION_EXCLUDED * (y.max() - y.min())
        keep = y <= cut
        roi[k, rows[keep], cols[keep]] = True
    return roi


def trabecular_hu(hu: np.ndarray, body: np.ndarray, volume: Volume) -> TrabecularResult:
    roi = trabecular_roi(body, volume)
    n = int(np.count_nonzero(roi))
    if n == 0:
        return TrabecularResult(None, None, 0, "vertebral body too small or thin for a trabecular ROI")
    per_slice_area = np.count_nonzero(roi, axis=(1, 2)).max() * volume.pixel_area_mm2
    if per_slice_area < MIN_ROI_AREA_MM2:
        return TrabecularResult(
            None, None, n, f"trabecular ROI only {per_slice_area:.0f} mm² (< {MIN_ROI_AREA_MM2:.0f} mm²)"
        )
    values = hu[roi].astype(np.float64)
    return TrabecularResult(float(values.mean()), float(np.median(values)), n, None)
