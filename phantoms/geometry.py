"""Analytic building blocks: smooth z-profiles, world-fixed noise fields, distance to segments, and
the :class:`Canvas` that structures paint labels onto.

Everything works on flat arrays of LPS points, so the same anatomy can be sampled on any grid.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from scipy.interpolate import PchipInterpolator

from phantoms.labels import Fine


@dataclass(frozen=True, eq=False)
class Profile:
    """A smooth, shape-preserving function of z defined by knots; constant beyond the end knots.

    Sampled once on a 0.5 mm table so evaluation is a cheap ``np.interp`` per point.
    """

    z: np.ndarray
    v: np.ndarray

    @classmethod
    def from_knots(
        cls, z_knots: Sequence[float] | np.ndarray, values: Sequence[float] | np.ndarray
    ) -> Profile:
        zk = np.asarray(z_knots, dtype=np.float64)
        vk = np.asarray(values, dtype=np.float64)
        order = np.argsort(zk)
        zk, vk = zk[order], vk[order]
        if len(zk) == 1:
            return cls(zk, vk)
        table_z = np.arange(zk[0], zk[-1] + 0.5, 0.5)
        return cls(table_z, PchipInterpolator(zk, vk)(table_z))

    def __call__(self, z: np.ndarray | float) -> np.ndarray:
        return np.interp(z, self.z, self.v)

    def max_over(self, z_lo: float, z_hi: float) -> float:
        zs = np.linspace(z_lo, z_hi, 41)
        return float(np.max(self(zs)))

    def min_over(self, z_lo: float, z_hi: float) -> float:
        zs = np.linspace(z_lo, z_hi, 41)
        return float(np.min(self(zs)))


@dataclass(frozen=True)
class WaveField:
    """Unit-variance random field fixed in world space: a sum of plane waves.

    Anisotropic wavelengths make streaks (long along z, like muscle fibres); being analytic, the
    field is the same wherever and however densely it is sampled.
    """

    k: np.ndarray  # (K, 3) rad/mm
    phase: np.ndarray  # (K,)

    @classmethod
    def random(
        cls,
        rng: np.random.Generator,
        n: int,
        wavelength_xy: tuple[float, float],
        wavelength_z: tuple[float, float],
    ) -> WaveField:
        ang = rng.uniform(0, 2 * np.pi, n)
        lam_xy = rng.uniform(*wavelength_xy, n)
        lam_z = rng.uniform(*wavelength_z, n) * rng.choice([-1.0, 1.0], n)
        k = np.stack(
            [np.cos(ang) * 2 * np.pi / lam_xy, np.sin(ang) * 2 * np.pi / lam_xy, 2 * np.pi / lam_z], axis=1
        )
        return cls(k, rng.uniform(0, 2 * np.pi, n))

    def __call__(self, x: np.ndarray, y: np.ndarray, z: np.ndarray) -> np.ndarray:
        # float32: phases stay below ~1e3 rad, where float32 keeps 1e-4 rad; cos is twice as fast.
        x32, y32, z32 = (np.asarray(a, dtype=np.float32) for a in (x, y, z))
        out = np.zeros(np.shape(x), dtype=np.float32)
        arg = np.empty(np.shape(x), dtype=np.float32)
        for (kx, ky, kz), ph in zip(self.k.astype(np.float32), self.phase.astype(np.float32), strict=True):
            np.multiply(x32, kx, out=arg)
            arg += ky * y32
            arg += kz * z32 + ph
            out += np.cos(arg, out=arg)
        return out * np.float32(np.sqrt(2.0 / len(self.phase)))


def superellipse_norm(u: np.ndarray, v: np.ndarray, n: float) -> np.ndarray:
    """(|u|^n + |v|^n)^(1/n): 1 on the boundary of the unit superellipse."""
    return (np.abs(u) ** n + np.abs(v) ** n) ** (1.0 / n)


def segment_distance(p: np.ndarray, a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distance of points ``p`` (N, 3) to segment a-b, and the clamped position t in [0, 1] along it."""
    ab = b - a
    denom = float(ab @ ab)
    t = np.zeros(len(p)) if denom == 0 else np.clip((p - a) @ ab / denom, 0.0, 1.0)
    d = p - (a + t[:, None] * ab)
    return np.sqrt(np.einsum("ij,ij->i", d, d)), t


def polyline_distance(p: np.ndarray, line: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distance of points to a polyline (M, 3) and the arc-length fraction (0..1) of the nearest point."""
    best = np.full(len(p), np.inf)
    where = np.zeros(len(p))
    seg_len = np.linalg.norm(np.diff(line, axis=0), axis=1)
    cum = np.concatenate([[0.0], np.cumsum(seg_len)])
    total = max(cum[-1], 1e-9)
    for i in range(len(line) - 1):
        d, t = segment_distance(p, line[i], line[i + 1])
        closer = d < best
        best[closer] = d[closer]
        where[closer] = (cum[i] + t[closer] * seg_len[i]) / total
    return best, where


@dataclass(frozen=True)
class Box:
    """Conservative bounding box of a structure (mm), used to skip points cheaply."""

    x: tuple[float, float]
    y: tuple[float, float]
    z: tuple[float, float]

    def padded(self, mm: float) -> Box:
        return Box(
            (self.x[0] - mm, self.x[1] + mm),
            (self.y[0] - mm, self.y[1] + mm),
            (self.z[0] - mm, self.z[1] + mm),
        )


class Canvas:
    """Points being labelled, with their fine label and vertebra value, painted in priority order.

    Structures paint in sequence; a later structure overwrites an earlier one, which is how
    bone sits inside muscle and organs sit inside visceral fat without explicit subtraction.
    """

    def __init__(self, points: np.ndarray) -> None:
        self.points = np.ascontiguousarray(points, dtype=np.float64)
        self.x = self.points[:, 0]
        self.y = self.points[:, 1]
        self.z = self.points[:, 2]
        self.fine = np.zeros(len(points), dtype=np.uint8)
        self.vert = np.zeros(len(points), dtype=np.uint8)
        self.z_lo = float(self.z.min()) if len(points) else 0.0
        self.z_hi = float(self.z.max()) if len(points) else 0.0
        # Axial grids sample few distinct z values: evaluate z-profiles once per value, then gather.
        zq = np.round(self.z, 4)
        zu, zinv = np.unique(zq, return_inverse=True)
        self._zu = zu if len(zu) * 8 < max(len(points), 1) else None
        self._zinv = zinv.reshape(-1)
        self._zcache: dict[object, np.ndarray] = {}
        self._sorted: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}

    def zf(self, fn: Callable[[np.ndarray], np.ndarray], idx: np.ndarray) -> np.ndarray:
        """``fn(z)`` for points ``idx``, computed once per distinct z when that is cheaper."""
        if self._zu is None:
            return np.asarray(fn(self.z[idx]))
        table = self._zcache.get(fn)
        if table is None:
            table = np.asarray(fn(self._zu), dtype=np.float64)
            self._zcache[fn] = table
        return table[self._zinv[idx]]

    def select(self, box: Box, among: np.ndarray | None = None) -> np.ndarray:
        """Indices (into the canvas) of points inside ``box``, searched among ``among`` (all if None)."""
        if box.z[1] < self.z_lo or box.z[0] > self.z_hi:
            return np.zeros(0, dtype=np.int64)
        if among is None:
            among = self._all()
        key = id(among)
        entry = self._sorted.get(key)
        if entry is None or entry[0] is not among:
            order = among[np.argsort(self.z[among], kind="stable")]
            entry = (among, order, self.z[order])
            self._sorted[key] = entry
        _, order, zs = entry
        lo, hi = np.searchsorted(zs, box.z[0], "left"), np.searchsorted(zs, box.z[1], "right")
        cand = order[lo:hi]
        x, y = self.x[cand], self.y[cand]
        m = (x >= box.x[0]) & (x <= box.x[1]) & (y >= box.y[0]) & (y <= box.y[1])
        return cand[m]

    def _all(self) -> np.ndarray:
        entry = self._sorted.get(-1)
        if entry is None:
            allidx = np.arange(len(self.points))
            self._sorted[-1] = (allidx, allidx, allidx)
            return allidx
        return entry[0]

    def paint(self, idx: np.ndarray, label: Fine, vert: int | None = None) -> None:
        self.fine[idx] = int(label)
        if vert is not None:
            self.vert[idx] = vert


Painter = Callable[[Canvas, np.ndarray], None]
