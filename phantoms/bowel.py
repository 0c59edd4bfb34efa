"""Small-bowel loops packed densely through the peritoneal cavity, with mesenteric fat between them.

Why a lattice: a real abdomen is mostly bowel, with visceral fat in the mesentery between loops; sixty
free capsules left too much of the cavity empty (L3 VAT ~200 cm² in a BMI-26 man), and looking each
point up against hundreds of capsules is slow. Here every site of a jittered 3-D lattice carries one
loop segment (a capsule) whose reach is shorter than the lattice step, so a point can only lie in the
loops of the 8 sites at the corners of its lattice cell: the cost per point is constant, however
many loops there are. Where two loops overlap, a wall runs along the bisector (two walls, touching).

The lattice step follows the size of the cavity while loop calibre does not, so a subject with more
visceral fat (a wider envelope) gets the same bowel in a larger cavity: more fat between the loops.
"""

from __future__ import annotations

import numpy as np

from phantoms.geometry import Box, Canvas
from phantoms.labels import Fine
from phantoms.soft_tissue import Trunk

WALL_MM = 2.0
_FAR = 1e9  # "no loop here": a finite sentinel keeps the arithmetic free of inf - inf
_CORNERS = np.array([(a, b, c) for a in (0, 1) for b in (0, 1) for c in (0, 1)])


class SmallBowel:
    """Capsules on a jittered lattice filling the cavity between ``z_lo`` and ``z_hi``."""

    def __init__(self, trunk: Trunk, rng: np.random.Generator, z_lo: float, z_hi: float) -> None:
        s = trunk.spine.scale
        z_ref = 0.5 * (z_lo + z_hi)
        ex, ap = float(trunk.ex(z_ref)), float(trunk.ap(z_ref))
        ox, oy = (float(v) for v in trunk.center(z_ref))
        self.step = np.array([0.17 * ex, 0.13 * ap, 23.0 * s])
        self.origin = np.array([ox, oy, z_lo - 0.5 * self.step[2]])
        n = np.ceil(np.array([2 * ex, ap, z_hi - z_lo + self.step[2]]) / self.step).astype(int) + 2
        self.origin[:2] -= 0.5 * (n[:2] - 1) * self.step[:2]
        self.shape = tuple(int(v) for v in n)
        ii, jj, kk = np.meshgrid(*(np.arange(v) for v in n), indexing="ij")
        base = self.origin + np.stack([ii.ravel(), jj.ravel(), kk.ravel()], axis=1) * self.step
        shift = rng.uniform(-0.1, 0.1, base.shape) * self.step
        sites = base + shift
        jitter = np.linalg.norm(shift, axis=1)
        direction = rng.normal(size=sites.shape) * np.array([1.0, 1.0, 0.7])
        direction /= np.linalg.norm(direction, axis=1, keepdims=True)
        radius = rng.uniform(10.5, 14.5, len(sites)) * s
        reach_limit = 0.98 * float(self.step.min()) - radius - jitter
        half = np.clip(rng.uniform(3.0, 16.0, len(sites)) * s, 0.0, np.maximum(reach_limit, 0.0))
        radius = np.minimum(radius, 0.98 * float(self.step.min()) - jitter - half)
        # Keep sites whose centre lies in the cavity (envelope-normalised ellipse) and z range.
        zc = sites[:, 2]
        cx, cy = trunk.center(zc)
        u = (sites[:, 0] - cx) / trunk.ex(zc)
        v = (sites[:, 1] - cy) / (0.5 * trunk.ap(zc))
        inside = ((u / 0.7) ** 2 + ((v + 0.15) / 0.68) ** 2 < 1) & (zc >= z_lo) & (zc <= z_hi)
        self.center = sites
        self.direction = direction
        self.half = half
        self.radius = np.where(inside & (radius > 4.0 * s), radius, -_FAR)
        self.gas = rng.random(len(sites)) < 0.18
        # One float32 row per site, so the per-point lookup is a single gather.
        self._table = np.concatenate(
            [sites - self.origin, direction, half[:, None], self.radius[:, None]], axis=1
        ).astype(np.float32)
        live = sites[inside]
        pad = 35.0 * s
        self.box = (
            Box(
                (float(live[:, 0].min()) - pad, float(live[:, 0].max()) + pad),
                (float(live[:, 1].min()) - pad, float(live[:, 1].max()) + pad),
                (float(live[:, 2].min()) - pad, float(live[:, 2].max()) + pad),
            )
            if len(live)
            else None
        )

    def paint(self, cv: Canvas, among: np.ndarray) -> None:
        """Wall, fluid content and gas of the loops, into points ``among`` (the trunk interior)."""
        if self.box is None:
            return
        idx = cv.select(self.box, among)
        if not len(idx):
            return
        p = cv.points[idx]
        rel = (p - self.origin).astype(np.float32)
        _, ny, nz = self.shape
        cell = np.floor(rel / self.step.astype(np.float32)).astype(np.int64)
        for axis, n in enumerate(self.shape):
            np.clip(cell[:, axis], 0, n - 2, out=cell[:, axis])
        base = (cell[:, 0] * ny + cell[:, 1]) * nz + cell[:, 2]
        px, py, pz = rel[:, 0], rel[:, 1], rel[:, 2]
        best = np.full(len(idx), _FAR, dtype=np.float32)
        second = np.full(len(idx), _FAR, dtype=np.float32)
        owner = np.zeros(len(idx), dtype=np.int64)
        for a, b, c in _CORNERS:
            site = base + (a * ny + b) * nz + c
            t = self._table[site]  # (N, 8): centre (origin-relative), direction, half length, radius
            d0, d1, d2 = px - t[:, 0], py - t[:, 1], pz - t[:, 2]
            proj = np.clip(d0 * t[:, 3] + d1 * t[:, 4] + d2 * t[:, 5], -t[:, 6], t[:, 6])
            d0 -= proj * t[:, 3]
            d1 -= proj * t[:, 4]
            d2 -= proj * t[:, 5]
            sd = np.sqrt(d0 * d0 + d1 * d1 + d2 * d2) - t[:, 7]
            closer = sd < best
            np.minimum(second, np.where(closer, best, sd), out=second)
            owner[closer] = site[closer]
            best[closer] = sd[closer]
        bowel = best < 0
        wall = bowel & ((best > -WALL_MM) | (second - best < 2 * WALL_MM))
        lumen = bowel & ~wall
        # Gas rises: it fills the anterior (non-dependent) part of a gas-containing loop.
        gas = lumen & self.gas[owner] & (p[:, 1] < self.center[owner, 1] - 0.25 * self.radius[owner])
        cv.paint(idx[wall], Fine.SMALL_BOWEL_WALL)
        cv.paint(idx[lumen & ~gas], Fine.SMALL_BOWEL_CONTENT)
        cv.paint(idx[gas], Fine.BOWEL_GAS)
