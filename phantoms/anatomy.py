"""The analytic anatomy of one subject, and its sampling onto grids.

:class:`Phantom` composes the spine, trunk (fat and muscles), organs, pelvis and (optionally) arms into one
``classify(points) -> (fine label, vertebra value)`` of LPS points. :meth:`Phantom.sample` evaluates
it on a grid: voxel centres first (in slabs of ~400k points), then each voxel whose label differs from a
face neighbour's gets ``supersample`` sub-points along each axis *along which it differs* and one
(the centre plane) along the others; those are replicated so every voxel still has ``supersample``³
equally weighted sub-points (``Sampled.sub_fine``). A boundary that is straight through the voxel
gives the same volume fraction either way, so the partial volume is kept at a third to a half of
the cost. Labels are the majority of the sub-points; renderers average sub-point intensities.

Speed (cProfile-guided), 256×256×60 grid at 1.5×1.5×3 mm, T12-L5, on the shared 2-core development
machine (load average 3-4 from other jobs, so wall times scatter ±30%; CPU seconds in brackets):

=============  ===================  =====================================================
supersample    before               after (with pelvis, denser bowel)
=============  ===================  =====================================================
1              5.8-8 s              2.3-3.5 s (1.9 s)
2              --                   4.8-7.4 s (4.7 s)
3              25-32 s              10-13 s (8.5 s)
=============  ===================  =====================================================

Where it went: ``Grid.world`` used a (N,3)@(3,3) matmul (numpy's slow path: 5.7 s of the 29 s);
one classify call per slice (now per slab); all 27 sub-points for every boundary voxel (17 M points,
now 5 M at s=3, 2.2 M at s=2); float64 powers with an array exponent in the envelope; vessels tested
on the whole interior (now a box); 60 bowel capsules each scanning its z range (now a lattice with
an O(1) lookup per point, ~1.5 s of the s=2 time). Not yet "a few seconds" at s=3; s=2 is close.
``tests/phantoms/test_anatomy.py::test_speed_figures`` (slow) prints the figures.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from phantoms.arms import Arms
from phantoms.geometry import Box, Canvas
from phantoms.grid import Grid
from phantoms.labels import Fine, PhantomLabels
from phantoms.organs import Organs
from phantoms.params import SubjectParams
from phantoms.pelvis import Pelvis
from phantoms.soft_tissue import RIB_DEPTH, Trunk
from phantoms.spine import Spine

_N_LABELS = 64  # > max fine label value; bincount width for majority votes
_SLAB_POINTS = 400_000  # points per classify call for voxel centres
_CHUNK_POINTS = 600_000  # sub-points per classify call


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
        self.spine.attach_ribs(
            lambda phi, z: self.trunk.ray_point(phi, z, RIB_DEPTH * self.trunk.wall_mm), rng
        )
        self.organs = Organs(self.trunk, rng)
        self.pelvis = Pelvis(self.trunk, rng)
        self.with_table = with_table
        zs = np.linspace(self.spine.z_s1, self.spine.z_top, 40)
        back = self.trunk.y_post(zs) + self.trunk.sat_mm(np.full(zs.shape, np.pi), zs) + 2.0
        self.table_y = float(np.max(back)) + 1.0
        self._bounds = self.trunk.bounds()
        # Arms draw from their own generator, so switching them on leaves the rest of the body unchanged.
        self.arms = (
            Arms(self.trunk, np.random.default_rng([params.seed, 1]), self.table_y)
            if params.arms_in_fov
            else None
        )

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
            self.pelvis.paint_muscles(cv, interior)
            self.trunk.paint_imat(cv, interior)
            self.pelvis.paint_bone(cv, interior)
            self.spine.paint(cv, interior)
        if self.arms is not None:
            self.arms.paint(cv)
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
        per_slab = max(1, _SLAB_POINTS // (rows * cols))
        for k0 in range(0, n_k, per_slab):
            k1 = min(n_k, k0 + per_slab)
            f, v = self.classify(grid.slab_points(k0, k1))
            fine[k0:k1] = f.reshape(k1 - k0, rows, cols)
            vert[k0:k1] = v.reshape(k1 - k0, rows, cols)
        s = supersample
        empty = np.zeros((0, s**3), dtype=np.uint8)
        if s == 1:
            return Sampled(fine, vert, np.zeros(0, dtype=np.int64), empty, empty, grid)
        # Which axes each voxel differs along: bit 4 slice, 2 row, 1 column (0 = uniform voxel).
        code = np.zeros(grid.shape, dtype=np.uint8)
        for axis, bit in ((0, 4), (1, 2), (2, 1)):
            code |= (_boundary(fine, axis) | _boundary(vert, axis)).astype(np.uint8) * bit
        code_flat = code.reshape(-1)
        mixed = np.flatnonzero(code_flat)
        sub_fine = np.empty((len(mixed), s**3), dtype=np.uint8)
        sub_vert = np.empty((len(mixed), s**3), dtype=np.uint8)
        fine_flat, vert_flat = fine.reshape(-1), vert.reshape(-1)
        offsets = (np.arange(s) + 0.5) / s - 0.5
        codes = code_flat[mixed]
        for c in range(1, 8):
            rows_c = np.flatnonzero(codes == c)
            if not len(rows_c):
                continue
            per_axis = [offsets if c & bit else np.zeros(1) for bit in (4, 2, 1)]
            counts = tuple(len(o) for o in per_axis)
            ok, oj, oi = np.meshgrid(*per_axis, indexing="ij")
            sub = np.stack([ok.ravel(), oj.ravel(), oi.ravel()], axis=1)  # (n_sub, 3)
            n_sub = len(sub)
            step = max(1, _CHUNK_POINTS // n_sub)
            for start in range(0, len(rows_c), step):
                r = rows_c[start : start + step]
                chunk = mixed[r]
                kji = np.stack(np.unravel_index(chunk, grid.shape), axis=1).astype(np.float64)
                f, v = self.classify(grid.world((kji[:, None, :] + sub[None, :, :]).reshape(-1, 3)))
                f, v = f.reshape(len(chunk), n_sub), v.reshape(len(chunk), n_sub)
                # Replicate along the axes sampled once so every voxel has s^3 equally weighted sub-points.
                full = (len(chunk), s, s, s)
                sub_fine[r] = np.broadcast_to(f.reshape(len(chunk), *counts), full).reshape(len(chunk), -1)
                sub_vert[r] = np.broadcast_to(v.reshape(len(chunk), *counts), full).reshape(len(chunk), -1)
                fine_flat[chunk] = _majority(f)
                vert_flat[chunk] = _majority(v)
        return Sampled(fine, vert, mixed, sub_fine, sub_vert, grid)

    def label(self, grid: Grid, supersample: int = 1) -> PhantomLabels:
        """Fine, tissue and vertebra truth labels on ``grid`` (majority of sub-points)."""
        return self.sample(grid, supersample).labels()


def make_phantom(params: SubjectParams, *, with_table: bool = True) -> Phantom:
    """Build the analytic anatomy of ``params`` (deterministic: same params, same anatomy)."""
    return Phantom(params, with_table=with_table)


def _boundary(a: np.ndarray, axis: int) -> np.ndarray:
    """Voxels whose value differs from a face neighbour's along ``axis``."""
    out = np.zeros(a.shape, dtype=bool)
    if a.shape[axis] < 2:
        return out
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
