"""Which slice represents each vertebral level.

Two conventions are in use in the literature (clinical-criteria.md, "Slice conventions"):
(a) the L3 slice on which both transverse processes are visible, and (b) the mid-vertebral slice
(of two equally central slices, the cranial one: :func:`middle_slice`). Both are computed here from
the vertebra label map alone, so they work for any model and any grid.

The vertebral *body* is separated from the posterior elements by a morphological opening in the slice
plane: processes and laminae are a few millimetres thick and vanish under an opening with a disk of
~6 mm radius, while the body (~30-50 mm across) survives. The body's cranio-caudal extent then defines
the mid-vertebral slice; a body that touches the first or last slice of the series is incompletely
covered and its middle cannot be established, which is reported rather than guessed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

import numpy as np
from scipy import ndimage

from imaging.segmentation.labels import MEASURED_LEVELS, LabelMap
from imaging.volume import Volume

BODY_OPENING_RADIUS_MM = 6.0
# A transverse process counts as "visible" when bone of the vertebra reaches this far beyond the
# lateral edge of the vertebral body, on each side.
TRANSVERSE_PROCESS_MIN_MM = 12.0


class SliceConvention(StrEnum):
    MID_VERTEBRAL = "mid_vertebral"
    TRANSVERSE_PROCESSES = "transverse_processes_visible"
    USER_STATED = "user_stated"  # single-slice input whose level the user gave


@dataclass(frozen=True)
class VertebralBody:
    """One vertebral body as its bounding box and the mask inside it.

    A full-size mask per level would hold ~80 MB per 512x512x300 series; the box holds a few MB.
    """

    box: tuple[slice, slice, slice]
    mask: np.ndarray  # bool, the box's shape
    shape: tuple[int, int, int]  # the series'

    def full(self) -> np.ndarray:
        out = np.zeros(self.shape, dtype=bool)
        out[self.box] = self.mask
        return out

    def slices(self) -> np.ndarray:
        """Slice indices (ascending) on which the body is present."""
        return self.box[0].start + np.flatnonzero(self.mask.any(axis=(1, 2)))


@dataclass(frozen=True)
class LevelSlice:
    level: str
    slice_index: int
    z_mm: float
    convention: SliceConvention
    body_slices: tuple[int, int]  # first and last slice index holding the vertebral body
    # the body this slice was chosen from, kept so that the trabecular ROI does not open it again
    body: VertebralBody | None = field(default=None, compare=False, repr=False)


def inplane_disk(volume: Volume, radius_mm: float) -> np.ndarray:
    """2-D structuring element of ``radius_mm`` on the slice grid (anisotropic pixels allowed)."""
    _, row_mm, col_mm = volume.spacing_kji
    ry, rx = radius_mm / row_mm, radius_mm / col_mm
    y, x = np.ogrid[-int(ry) : int(ry) + 1, -int(rx) : int(rx) + 1]
    return (y / max(ry, 1e-6)) ** 2 + (x / max(rx, 1e-6)) ** 2 <= 1.0


def vertebral_body_mask(vertebra: np.ndarray, volume: Volume) -> np.ndarray:
    """Per-slice opening of one vertebra's mask that keeps the body and drops thin posterior elements."""
    return vertebral_body(vertebra, volume).full()


def vertebral_body(vertebra: np.ndarray, volume: Volume) -> VertebralBody:
    """:func:`vertebral_body_mask` as a :class:`VertebralBody`.

    The opening runs on the vertebra's bounding box padded by the disk radius (outside it the mask
    is empty either way), which gives the same result as on the whole slice at a small fraction of
    the cost on 512x512 series; the box comes from axis projections, cheaper than labelling.
    """
    disk = inplane_disk(volume, BODY_OPENING_RADIUS_MM)
    n_slices, n_rows, n_cols = (int(n) for n in vertebra.shape)
    shape = (n_slices, n_rows, n_cols)
    ks = np.flatnonzero(vertebra.any(axis=(1, 2)))
    if ks.size == 0:
        return VertebralBody((slice(0, 0),) * 3, np.zeros((0, 0, 0), dtype=bool), shape)
    slab = vertebra[ks[0] : ks[-1] + 1]
    rows = np.flatnonzero(slab.any(axis=(0, 2)))
    cols = np.flatnonzero(slab.any(axis=(0, 1)))
    pr, pc = disk.shape[0] // 2 + 1, disk.shape[1] // 2 + 1
    box = (
        slice(int(ks[0]), int(ks[-1]) + 1),
        slice(max(0, int(rows[0]) - pr), min(shape[1], int(rows[-1]) + 1 + pr)),
        slice(max(0, int(cols[0]) - pc), min(shape[2], int(cols[-1]) + 1 + pc)),
    )
    sub = vertebra[box]
    body = np.zeros(sub.shape, dtype=bool)
    for k in np.flatnonzero(sub.any(axis=(1, 2))):
        opened = ndimage.binary_opening(sub[k], structure=disk)
        if opened.any():
            lab, n = ndimage.label(opened)
            if n > 1:  # keep the largest blob: the body, not a stray thick process
                sizes = ndimage.sum_labels(opened, lab, index=np.arange(1, n + 1))
                opened = lab == (1 + int(np.argmax(sizes)))
            body[k] = opened
    return VertebralBody(box, body, shape)


def _lateral_axis_reach(
    mask2d: np.ndarray, body2d: np.ndarray, volume: Volume, k: int
) -> tuple[float, float]:
    """How far (mm) the vertebra reaches beyond the body's left and right edges on slice ``k``."""
    rows, cols = np.nonzero(mask2d)
    brows, bcols = np.nonzero(body2d)
    if rows.size == 0 or brows.size == 0:
        return 0.0, 0.0
    x = volume.world(np.column_stack([np.full(rows.size, k), rows, cols]))[:, 0]
    bx = volume.world(np.column_stack([np.full(brows.size, k), brows, bcols]))[:, 0]
    # LPS: +x is the patient's left.
    return float(x.max() - bx.max()), float(bx.min() - x.min())


def middle_slice(volume: Volume, first: int, last: int) -> int:
    """The slice nearest the middle of slices ``first..last``; of two equally near, the cranial one.

    A body covering an even number of slices has its middle exactly between two of them. Taking the
    cranial one (larger LPS z at the slice centre) whatever the slice order on disk makes the choice
    reproducible, and it is the rule the phantom truth uses (phantoms/truth.py).
    """
    ks = np.arange(first, last + 1)
    pos = volume.slice_position_mm(ks)
    dist = np.abs(pos - 0.5 * (pos[0] + pos[-1]))
    nearest = ks[dist <= dist.min() + 1e-6 * max(1.0, float(volume.spacing_kji[0]))]
    if nearest.size == 1:
        return int(nearest[0])
    _, rows, cols = volume.shape
    centres = np.column_stack(
        [nearest, np.full(nearest.size, (rows - 1) / 2), np.full(nearest.size, (cols - 1) / 2)]
    )
    return int(nearest[int(np.argmax(volume.world(centres)[:, 2]))])


def find_level_slices(
    vertebrae: LabelMap,
    volume: Volume,
    convention: SliceConvention = SliceConvention.MID_VERTEBRAL,
    levels: tuple[str, ...] = MEASURED_LEVELS,
    cut_by_scan: frozenset[str] = frozenset(),
) -> tuple[dict[str, LevelSlice], dict[str, str]]:
    """Representative slice per covered level, and a note per level that is present but not measured
    (or measured on a fallback slice), keyed by level. A body touching the first or last slice, or
    named in ``cut_by_scan`` (its source knows the scan cuts it), has no middle to find.

    The transverse-process convention is defined for L3; for other levels (and for an L3 whose
    processes are not found) the mid-vertebral slice is used and the result says so.
    """
    found: dict[str, LevelSlice] = {}
    notes: dict[str, str] = {}
    n_slices = volume.shape[0]
    for level in levels:
        mask = vertebrae.mask(level)
        if not mask.any():
            continue
        body = vertebral_body(mask, volume)
        body_slices = body.slices()
        if body_slices.size == 0:
            notes[level] = f"{level}: only posterior elements are in the field of view; level not measured"
            continue
        first, last = int(body_slices[0]), int(body_slices[-1])
        if n_slices > 1 and (first == 0 or last == n_slices - 1 or level in cut_by_scan):
            notes[level] = (
                f"{level}: vertebral body is cut by the edge of the scanned range; its mid-vertebral "
                "slice cannot be established"
            )
            continue
        mid = (volume.slice_position_mm(first) + volume.slice_position_mm(last)) / 2.0
        k = middle_slice(volume, first, last)
        chosen = SliceConvention.MID_VERTEBRAL
        if convention is SliceConvention.TRANSVERSE_PROCESSES and level == "L3":
            k_tp = _transverse_process_slice(mask, body.full(), volume, first, last, mid)
            if k_tp is None:
                notes[level] = "L3: transverse processes not found on both sides; mid-vertebral slice used"
            else:
                k, chosen = k_tp, SliceConvention.TRANSVERSE_PROCESSES
        found[level] = LevelSlice(level, k, float(volume.slice_position_mm(k)), chosen, (first, last), body)
    return found, notes


def _transverse_process_slice(
    mask: np.ndarray, body: np.ndarray, volume: Volume, first: int, last: int, mid_mm: float
) -> int | None:
    candidates = []
    for k in range(first, last + 1):
        left, right = _lateral_axis_reach(mask[k], body[k], volume, k)
        if min(left, right) >= TRANSVERSE_PROCESS_MIN_MM:
            candidates.append(k)
    if not candidates:
        return None
    positions = volume.slice_position_mm(np.array(candidates))
    return int(candidates[int(np.argmin(np.abs(positions - mid_mm)))])


def single_slice_level(level: str, volume: Volume) -> LevelSlice:
    """A one-slice research input whose level the user states (L3-only archives)."""
    if volume.shape[0] != 1:
        raise ValueError("a stated level applies only to single-slice inputs")
    return LevelSlice(level, 0, float(volume.slice_position_mm(0)), SliceConvention.USER_STATED, (0, 0))
