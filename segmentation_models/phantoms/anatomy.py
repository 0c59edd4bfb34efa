"""The analytic anatomy of one subject, and its sampling onto grids.

:class:`Phantom` composes the spine, trunk (fat and muscles) and organs into one function
``classify(points) -> (fine label, vertebra value)`` of LPS points. :meth:`Phantom.sample` evaluates
it on a grid: voxel centres first, then -- where a voxel's label differs from a face neighbour's --
``supersample``³ sub-points spread evenly through the voxel. Labels are the majority of the
sub-points; renderers average the sub-point intensities (partial volume).

Speed, measured on the shared 2-core development machine under load from other jobs: a
256×256×60 grid at 1.5×1.5×3 mm labels in ~8 s with supersample 1 and ~25-30 s with supersample 3
(about 16% of voxels straddle a boundary and get 27 sub-points each). Not yet the "few seconds"
target; ``tests/phantoms/test_anatomy.py::test_speed_figures`` (slow) prints the figures.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from segmentation_models.phantoms.geometry import Box, Canvas
from segmentation_models.phantoms.grid import Grid
from segmentation_models.phantoms.labels import Fine, PhantomLabels
from segmentation_models.phantoms.organs import Organs
from segmentation_models.phantoms.params import SubjectParams
from segmentation_models.phantoms.soft_tissue import Trunk
from segmentation_models.phantoms.spine import Spine

_N_LABELS = 64  # > max fine label value; bincount width for majority votes
_CHUNK_VOXELS = 40_000


@dataclass(frozen=True)
class Sampled:
    """Labels of a grid plus the sub-point labels of the voxels that straddle a boundary.

    ``mixed`` are flat voxel indices; ``sub_fine``/``sub_vert`` are (len(mixed), supersample³).
    Voxels not in ``mixed`` are uniform: every sub-point has the centre label.
    """

    fine: np.ndarray
    vert: np.ndarray
    mixed: np.ndarray
    sub_fine: np.ndarray
    sub_vert: np.ndarray
    grid: Grid

    def labels(self) -> PhantomLabels:
        return PhantomLabels.from_fine(self.fine, self.vert, self.grid)


class Phantom:
    """One subject's anatomy, defined in continuous LPS coordinates."""

    def __init__(self, params: SubjectParams, *, with_table: bool = True) -> None:
        self.params = params
        rng = np.random.default_rng(params.seed)
        self.spine = Spine(params, rng)
        self.trunk = Trunk(params, self.spine, rng)
        self.spine.attach_ribs(lambda phi, z: self.trunk.ray_point(phi, z, 0.45 * self.trunk.wall_mm), rng)
        self.organs = Organs(self.trunk, rng)
        self.with_table = with_table
        zs = np.linspace(self.spine.z_s1, self.spine.z_top, 40)
        back = self.trunk.y_post(zs) + self.trunk.sat_mm(np.full(zs.shape, np.pi), zs) + 2.0
        self.table_y = float(np.max(back)) + 1.0
        self._bounds = self.trunk.bounds()

    # --- levels -------------------------------------------------------------------------------------
    def level_z_range(self, name: str) -> tuple[float, float]:
        """(superior, inferior) z in mm of the vertebral body ``name`` (S1: the sacrum's S1 segment).

        Raises:
            ValueError: the phantom has no such vertebra.
        """
        if name == "S1":
            return float(self.spine.z_s1), float(self.spine.z_s1 - 30.0 * self.spine.scale)
        v = self.spine.by_name.get(name)
        if v is None:
            raise ValueError(f"phantom has no vertebra {name!r}; it has {', '.join(self.spine.by_name)}, S1")
        return float(v.z_top), float(v.z_bot)

    def level_mid_z(self, name: str) -> float:
        top, bot = self.level_z_range(name)
        return float(0.5 * (top + bot))

    @property
    def levels(self) -> tuple[str, ...]:
        return (*self.spine.by_name, "S1")

    def body_center_xy(self, z: float) -> tuple[float, float]:
        cx, cy = self.trunk.center(z)
        return float(cx), float(cy)

    # --- evaluation ---------------------------------------------------------------------------------
    def classify(self, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Fine label and vertebra value (0 = none) of each LPS point (N, 3)."""
        cv = Canvas(np.asarray(points, dtype=np.float64).reshape(-1, 3))
        idx = cv.select(self._bounds)
        if self.with_table:
            self._paint_table(cv)
        if len(idx):
            interior, env = self.trunk.paint_outer(cv, idx)
            self.organs.paint(cv, interior)
            self.trunk.paint_muscles(cv, interior, env)
            self.spine.paint(cv, interior)
        return cv.fine, cv.vert

    def _paint_table(self, cv: Canvas) -> None:
        """A curved carbon-fibre couch top 10 mm thick under the patient's back."""
        idx = cv.select(Box((-260, 260), (self.table_y, self.table_y + 60), (-1e9, 1e9)))
        if not len(idx):
            return
        y = cv.y[idx] - self.table_y - 0.0006 * cv.x[idx] ** 2
        cv.paint(idx[(y >= 0) & (y < 10) & (np.abs(cv.x[idx]) < 240)], Fine.TABLE)

    def sample(self, grid: Grid, supersample: int = 1) -> Sampled:
        """Evaluate the anatomy on ``grid`` (see the module docstring for the supersampling rule).

        Raises:
            ValueError: ``supersample`` < 1.
        """
        if supersample < 1:
            raise ValueError(f"supersample must be >= 1, got {supersample}")
        n_k, rows, cols = grid.shape
        fine = np.zeros(grid.shape, dtype=np.uint8)
        vert = np.zeros(grid.shape, dtype=np.uint8)
        for k in range(n_k):
            f, v = self.classify(grid.slice_points(k))
            fine[k] = f.reshape(rows, cols)
            vert[k] = v.reshape(rows, cols)
        empty = np.zeros((0, supersample**3), dtype=np.uint8)
        if supersample == 1:
            return Sampled(fine, vert, np.zeros(0, dtype=np.int64), empty, empty, grid)
        mixed = np.flatnonzero(_boundary(fine) | _boundary(vert))
        offsets = (np.arange(supersample) + 0.5) / supersample - 0.5
        ok, oj, oi = np.meshgrid(offsets, offsets, offsets, indexing="ij")
        sub = np.stack([ok.ravel(), oj.ravel(), oi.ravel()], axis=1)  # (s^3, 3)
        n_sub = len(sub)
        sub_fine = np.empty((len(mixed), n_sub), dtype=np.uint8)
        sub_vert = np.empty((len(mixed), n_sub), dtype=np.uint8)
        fine_flat, vert_flat = fine.reshape(-1), vert.reshape(-1)
        for start in range(0, len(mixed), _CHUNK_VOXELS):
            chunk = mixed[start : start + _CHUNK_VOXELS]
            kji = np.stack(np.unravel_index(chunk, grid.shape), axis=1).astype(np.float64)
            pts = grid.world((kji[:, None, :] + sub[None, :, :]).reshape(-1, 3))
            f, v = self.classify(pts)
            f, v = f.reshape(len(chunk), n_sub), v.reshape(len(chunk), n_sub)
            sub_fine[start : start + len(chunk)] = f
            sub_vert[start : start + len(chunk)] = v
            fine_flat[chunk] = _majority(f)
            vert_flat[chunk] = _majority(v)
        return Sampled(fine, vert, mixed, sub_fine, sub_vert, grid)

    def label(self, grid: Grid, supersample: int = 1) -> PhantomLabels:
        """Fine, tissue and vertebra truth labels on ``grid`` (majority of sub-points)."""
        return self.sample(grid, supersample).labels()


def make_phantom(params: SubjectParams, *, with_table: bool = True) -> Phantom:
    """Build the analytic anatomy of ``params`` (deterministic: same params, same anatomy)."""
    return Phantom(params, with_table=with_table)


def _boundary(a: np.ndarray) -> np.ndarray:
    """Voxels whose value differs from any face neighbour's."""
    out = np.zeros(a.shape, dtype=bool)
    for axis in range(3):
        if a.shape[axis] < 2:
            continue
        lo = [slice(None)] * 3
        hi = [slice(None)] * 3
        lo[axis] = slice(None, -1)
        hi[axis] = slice(1, None)
        diff = a[tuple(lo)] != a[tuple(hi)]
        out[tuple(lo)] |= diff
        out[tuple(hi)] |= diff
    return out


def _majority(sub: np.ndarray) -> np.ndarray:
    """Most frequent value per row (ties go to the smaller value)."""
    n = len(sub)
    counts = np.bincount((np.arange(n)[:, None] * _N_LABELS + sub).ravel(), minlength=n * _N_LABELS)
    return np.argmax(counts.reshape(n, _N_LABELS), axis=1).astype(np.uint8)
