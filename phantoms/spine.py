"""The spine: vertebral bodies (cortex, trabecular core, basivertebral vein), discs, posterior elements,
ribs, sacrum and spinal canal, laid out from S1 upward with per-subject variation.

Coordinates are LPS mm (+x patient left, +y posterior, +z superior). Each vertebra is described in
local coordinates X = x - xc(z), Y = y - yc(z) around the spinal curve (xc, yc), which carries the
lumbar lordosis; endplates stay horizontal.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from phantoms.geometry import Box, Canvas, Profile, polyline_distance, superellipse_norm
from phantoms.labels import Fine, vertebra_value
from phantoms.params import SubjectParams

LEVELS: tuple[str, ...] = ("T9", "T10", "T11", "T12", "L1", "L2", "L3", "L4", "L5")
RIB_LEVELS: tuple[str, ...] = ("T9", "T10", "T11", "T12")

# Per-level base dimensions (mm, average 1.75 m man): body height, disc below, body half-width and
# half-depth, transverse-process reach from the midline (L3 the longest lumbar), spinous length.
_HEIGHT = {
    "T9": 23,
    "T10": 24,
    "T11": 25,
    "T12": 26.5,
    "L1": 27.5,
    "L2": 28.5,
    "L3": 29.5,
    "L4": 29.5,
    "L5": 29,
}
_DISC_BELOW = {"T9": 7.5, "T10": 8, "T11": 8.5, "T12": 9, "L1": 9.5, "L2": 10, "L3": 10.5, "L4": 11, "L5": 10}
_HALF_W = {"T9": 18, "T10": 19, "T11": 20, "T12": 21, "L1": 22, "L2": 23.5, "L3": 25, "L4": 26, "L5": 26.5}
_HALF_D = {
    "T9": 13.5,
    "T10": 14,
    "T11": 14.5,
    "T12": 15,
    "L1": 15.5,
    "L2": 16,
    "L3": 16.5,
    "L4": 17,
    "L5": 17,
}
_TP_REACH = {"T9": 44, "T10": 42, "T11": 36, "T12": 28, "L1": 40, "L2": 46, "L3": 53, "L4": 48, "L5": 45}
_SP_LEN = {"T9": 30, "T10": 30, "T11": 30, "T12": 30, "L1": 30, "L2": 31, "L3": 31, "L4": 29, "L5": 25}
_SP_SLOPE = {
    "T9": 0.6,
    "T10": 0.55,
    "T11": 0.45,
    "T12": 0.3,
    "L1": 0.15,
    "L2": 0.12,
    "L3": 0.1,
    "L4": 0.08,
    "L5": 0.05,
}
_LORDOSIS = {"T9": 16, "T10": 13, "T11": 9, "T12": 5, "L1": 0, "L2": -4, "L3": -7, "L4": -7.5, "L5": -4}
# Unenhanced trabecular HU relative to L1 and marrow fat fraction relative to L1 (fraction points).
TRABECULAR_OFFSET = {"T9": 12, "T10": 10, "T11": 7, "T12": 4, "L1": 0, "L2": -3, "L3": -6, "L4": -6, "L5": -2}
MARROW_FF_OFFSET = {
    "T9": -0.05,
    "T10": -0.04,
    "T11": -0.03,
    "T12": -0.015,
    "L1": 0.0,
    "L2": 0.01,
    "L3": 0.02,
    "L4": 0.03,
    "L5": 0.04,
}
CORTEX_MM = 1.2
ENDPLATE_MM = 1.0
SACRUM_LENGTH_MM = 105.0
# (angle from the anterior midline, z) -> (x, y) of the rib path inside the trunk wall.
RayPoint = Callable[[float, float], tuple[float, float]]


@dataclass(frozen=True)
class Vertebra:
    """One vertebra's geometry (mm). ``z_top``/``z_bot`` bound the body (endplate to endplate)."""

    name: str
    value: int
    z_top: float
    z_bot: float
    a: float  # body half-width
    b: float  # body half-depth
    rcx: float  # canal half-width
    rcy: float  # canal half-depth
    tp_reach: float
    sp_len: float
    sp_slope: float
    trabecular_offset_hu: float
    marrow_ff_offset: float

    @property
    def height(self) -> float:
        return self.z_top - self.z_bot

    @property
    def z_mid(self) -> float:
        return 0.5 * (self.z_top + self.z_bot)

    @property
    def canal_y(self) -> float:
        """Canal centre, posterior to the body centre (local Y)."""
        return self.b + self.rcy + 2.0


class Spine:
    """Vertebral column T9-L5, sacrum and ribs of one subject."""

    def __init__(self, params: SubjectParams, rng: np.random.Generator, z_s1: float = -250.0) -> None:
        s = params.height_m / 1.75
        w = s * (1.0 if params.sex == "M" else 0.93)
        self.scale = s
        self.z_s1 = z_s1
        verts: list[Vertebra] = []
        z = z_s1
        for name in reversed(LEVELS):
            jit = 1.0 + 0.03 * rng.standard_normal(3)
            z_bot = z + _DISC_BELOW[name] * s * jit[0]
            z_top = z_bot + _HEIGHT[name] * s * jit[1]
            thoracic = name.startswith("T")
            verts.append(
                Vertebra(
                    name=name,
                    value=vertebra_value(name),
                    z_top=z_top,
                    z_bot=z_bot,
                    a=_HALF_W[name] * w * jit[2],
                    b=_HALF_D[name] * w * jit[2],
                    rcx=(8.5 if thoracic else 11.0) * s,
                    rcy=(7.5 if thoracic else 8.0) * s,
                    tp_reach=_TP_REACH[name] * w * (1 + 0.04 * rng.standard_normal()),
                    sp_len=_SP_LEN[name] * w,
                    sp_slope=_SP_SLOPE[name],
                    trabecular_offset_hu=TRABECULAR_OFFSET[name] + 3.0 * rng.standard_normal(),
                    marrow_ff_offset=MARROW_FF_OFFSET[name],
                )
            )
            z = z_top
        self.vertebrae: tuple[Vertebra, ...] = tuple(reversed(verts))  # cranial to caudal
        self.by_name = {v.name: v for v in self.vertebrae}
        self.z_top = self.vertebrae[0].z_top + 7.0 * s  # the disc above T9 closes the column
        lord = rng.uniform(0.6, 1.4)
        zk = [v.z_mid for v in self.vertebrae] + [z_s1]
        yk = [_LORDOSIS[v.name] * lord for v in self.vertebrae] + [5.0 * lord]
        self.yc = Profile.from_knots(zk, yk)
        scol = rng.normal(0, 1.5)
        zz = np.linspace(z_s1 - 120, self.z_top + 60, 12)
        self.xc = Profile.from_knots(zz, scol * np.sin(2 * np.pi * (zz - z_s1) / 320.0))
        self.sacrum = _SacrumShape(z_s1, float(self.yc(z_s1)), self.by_name["L5"], s, w)
        self.ribs: tuple[np.ndarray, ...] = ()
        self.rib_radius = 4.5 * s

    def attach_ribs(self, cage: RayPoint, rng: np.random.Generator) -> None:
        """Build the rib centre lines once the trunk outline (``cage``) is known."""
        self.ribs = tuple(
            _rib_polyline(self, self.by_name[n], side, cage, rng) for n in RIB_LEVELS for side in (-1, 1)
        )

    # --- geometry queries -------------------------------------------------------------------------
    def center(self, z: np.ndarray | float) -> tuple[np.ndarray, np.ndarray]:
        """Spinal curve (x, y) at z (below S1 this is the sacral curve)."""
        y = np.where(np.asarray(z) < self.z_s1, self.sacrum.yc(z), self.yc(z))
        return self.xc(z), y

    def center_x(self, z: np.ndarray) -> np.ndarray:
        return self.center(z)[0]

    def center_y(self, z: np.ndarray) -> np.ndarray:
        return self.center(z)[1]

    def body_a(self, z: np.ndarray) -> np.ndarray:
        return self.body_size(z)[0]

    def body_b(self, z: np.ndarray) -> np.ndarray:
        return self.body_size(z)[1]

    def vertebra_at(self, z: float) -> Vertebra | None:
        for v in self.vertebrae:
            if v.z_bot <= z <= v.z_top:
                return v
        return None

    def body_size(self, z: np.ndarray | float) -> tuple[Any, Any]:  # arrays for arrays, floats for floats
        """Body (or disc) half-width and half-depth at z, interpolated between levels."""
        zk = [v.z_mid for v in self.vertebrae]
        a = np.interp(z, zk[::-1], [v.a for v in self.vertebrae][::-1])
        b = np.interp(z, zk[::-1], [v.b for v in self.vertebrae][::-1])
        return a, b

    # --- painting ---------------------------------------------------------------------------------
    def paint(self, cv: Canvas, among: np.ndarray) -> None:
        """Paint canal, discs, bodies, posterior elements, sacrum and ribs (in that order)."""
        self._paint_canal(cv, among)
        self._paint_discs(cv, among)
        for v in self.vertebrae:
            self._paint_posterior(cv, among, v)
            self._paint_body(cv, among, v)
        self.sacrum.paint(cv, among)
        self._paint_ribs(cv, among)

    def _box(self, z_lo: float, z_hi: float, half_x: float, y_lo: float, y_hi: float) -> Box:
        zs = np.linspace(z_lo, z_hi, 9)
        xs, ys = self.center(zs)
        return Box(
            (float(xs.min()) - half_x, float(xs.max()) + half_x),
            (float(ys.min()) + y_lo, float(ys.max()) + y_hi),
            (z_lo, z_hi),
        ).padded(1.0)

    def _local(self, cv: Canvas, idx: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return cv.x[idx] - cv.zf(self.center_x, idx), cv.y[idx] - cv.zf(self.center_y, idx), cv.z[idx]

    def _paint_canal(self, cv: Canvas, among: np.ndarray) -> None:
        v0 = self.vertebrae[-1]
        idx = cv.select(self._box(self.z_s1, self.z_top + 200, 14, 10, 45), among)
        if not len(idx):
            return
        X, Y, z = self._local(cv, idx)
        b = cv.zf(self.body_b, idx)
        rcx = np.where(z > self.vertebrae[3].z_top, 8.5, 11.0) * self.scale
        yc = b + v0.rcy + 2.0
        inside = (X / rcx) ** 2 + ((Y - yc) / v0.rcy) ** 2 < 1
        cv.paint(idx[inside], Fine.SPINAL_CANAL)

    def _paint_discs(self, cv: Canvas, among: np.ndarray) -> None:
        tops = [v.z_bot for v in self.vertebrae] + [self.z_top]
        bots = [self.z_s1] + [v.z_top for v in self.vertebrae]
        tops = sorted(tops)
        bots = sorted(bots)
        for z_lo, z_hi in zip(bots, tops, strict=True):
            idx = cv.select(self._box(z_lo, z_hi, 30 * self.scale, -22, 22), among)
            if not len(idx):
                continue
            X, Y, z = self._local(cv, idx)
            a, b = cv.zf(self.body_a, idx), cv.zf(self.body_b, idx)
            t = np.clip((z - z_lo) / max(z_hi - z_lo, 1e-6), 0, 1)
            bulge = 1.0 + 0.06 * np.sin(np.pi * t)
            n = superellipse_norm(X / (a * bulge), Y / (b * bulge), 2.3)
            canal = (X / (9.0 * self.scale)) ** 2 + ((Y - b - 8 * self.scale) / (8 * self.scale)) ** 2 < 1
            cv.paint(idx[(n < 1) & ~canal], Fine.DISC)

    def _paint_body(self, cv: Canvas, among: np.ndarray, v: Vertebra) -> None:
        idx = cv.select(self._box(v.z_bot, v.z_top, v.a + 2, -v.b - 2, v.b + 2), among)
        if not len(idx):
            return
        X, Y, z = self._local(cv, idx)
        t = (z - v.z_bot) / v.height
        waist = 1.0 - 0.06 * np.sin(np.pi * t)
        a, b = v.a * waist, v.b * waist
        canal = (X / (v.rcx + 1.0)) ** 2 + ((Y - v.canal_y) / (v.rcy + 1.0)) ** 2 < 1
        body = (superellipse_norm(X / a, Y / b, 2.4) < 1) & ~canal
        core = (
            (superellipse_norm(X / (a - CORTEX_MM), Y / (b - CORTEX_MM), 2.4) < 1)
            & ((X / (v.rcx + 1.0 + CORTEX_MM)) ** 2 + ((Y - v.canal_y) / (v.rcy + 1.0 + CORTEX_MM)) ** 2 >= 1)
            & (z > v.z_bot + ENDPLATE_MM)
            & (z < v.z_top - ENDPLATE_MM)
        )
        cv.paint(idx[body], Fine.VERTEBRAL_CORTEX, v.value)
        cv.paint(idx[body & core], Fine.VERTEBRAL_TRABECULAR, v.value)
        # Basivertebral vein: a midline channel from the central venous lake to the posterior cortex.
        dz = z - v.z_mid
        channel = (np.abs(X) < 2.0) & (0.3 * b < Y) & (b + 0.5 > Y) & (np.abs(dz) < 2.5)
        lake = (X / 4.0) ** 2 + ((Y - 0.3 * b) / 3.0) ** 2 + (dz / 3.5) ** 2 < 1
        cv.paint(idx[body & (channel | lake)], Fine.BASIVERTEBRAL_VEIN, v.value)

    def _paint_posterior(self, cv: Canvas, among: np.ndarray, v: Vertebra) -> None:
        h = v.height
        reach_y = v.canal_y + v.rcy + 4 + v.sp_len + 3
        idx = cv.select(
            self._box(
                v.z_bot - 0.3 * h - v.sp_slope * v.sp_len - 6, v.z_top + 4, v.tp_reach + 6, v.b - 6, reach_y
            ),
            among,
        )
        if not len(idx):
            return
        X, Y, z = self._local(cv, idx)
        ax = np.abs(X)
        yc = v.canal_y
        canal = (X / v.rcx) ** 2 + ((Y - yc) / v.rcy) ** 2 < 1
        # Pedicles: short bars from the posterolateral body to the arch, upper half of the body.
        ped = (ax > v.rcx - 1) & (ax < v.rcx + 6.5) & (v.b - 4 < Y) & (yc + 1 > Y) & (z > v.z_mid - 0.2 * h)
        ped &= z < v.z_top - 0.08 * h
        # Laminae: the posterior arch around the canal.
        ring = ((X / (v.rcx + 6)) ** 2 + ((Y - yc) / (v.rcy + 5.5)) ** 2 < 1) & (yc - 1 < Y)
        lam = ring & (z > v.z_bot - 0.2 * h) & (z < v.z_top - 0.1 * h)
        # Articular processes: paired columns spanning into the level below and above (facet joints).
        art = ((ax - v.rcx - 5) / 5.0) ** 2 + ((Y - yc - 1) / 6.0) ** 2 < 1
        art &= (z > v.z_bot - 0.3 * h) & (z < v.z_top + 0.05 * h)
        # Spinous process: a midline plate; its vertical band slides down with depth (thoracic slope).
        y0 = yc + v.rcy + 3
        depth = Y - y0
        sp_half = (2.5 if v.name.startswith("T") else 3.5) * self.scale + 1.0 * (depth > v.sp_len - 8)
        z_shift = v.sp_slope * np.clip(depth, 0, None)
        band = 0.5 if v.name.startswith("T") else 0.7
        # Sagittally a rounded blade (superellipse), not a parallelogram: tapered root, bulbous tip.
        zc = v.z_top - 0.2 * h - 0.5 * band * h - z_shift
        dc, dr = 0.5 * (v.sp_len - 4), 0.5 * (v.sp_len + 4)
        zr = 0.5 * band * h * (0.8 + 0.3 * np.clip(depth / v.sp_len, 0, 1))
        sp = (ax < sp_half) & (np.abs((depth - dc) / dr) ** 3 + np.abs((z - zc) / zr) ** 2.2 < 1)
        # Transverse processes: lateral bars with rounded tips at pedicle level.
        x_in = v.rcx + 3
        xm, hx = 0.5 * (x_in + v.tp_reach), 0.5 * (v.tp_reach - x_in)
        ytp = yc + (4.0 if v.name.startswith("T") else -1.0)
        ztp = v.z_mid + 0.1 * h
        tp = ((ax - xm) / hx) ** 4 + ((Y - ytp) / 4.5) ** 2 + ((z - ztp) / (5.5 * self.scale)) ** 2 < 1
        cv.paint(idx[(ped | lam | art | sp | tp) & ~canal], Fine.POSTERIOR_ELEMENTS, v.value)

    def _paint_ribs(self, cv: Canvas, among: np.ndarray) -> None:
        r = self.rib_radius
        for line in self.ribs:
            lo, hi = line.min(axis=0) - r - 1, line.max(axis=0) + r + 1
            idx = cv.select(Box((lo[0], hi[0]), (lo[1], hi[1]), (lo[2], hi[2])), among)
            if not len(idx):
                continue
            d, _ = polyline_distance(cv.points[idx], line)
            cv.paint(idx[d < r], Fine.RIB)


class _SacrumShape:
    """Sacrum (S1 and the fused segments below): wide alae at the top, tapering and curving back."""

    def __init__(self, z_s1: float, y_s1: float, l5: Vertebra, s: float, w: float) -> None:
        self.z_s1 = z_s1
        self.length = SACRUM_LENGTH_MM * s
        self.s, self.w = s, w
        self.y_s1 = y_s1
        self.l5 = l5
        self.value = vertebra_value("S1")

    def yc(self, z: np.ndarray | float) -> np.ndarray:
        t = np.clip((self.z_s1 - np.asarray(z, dtype=np.float64)) / self.length, 0, 1.2)
        return self.y_s1 + 55.0 * self.s * np.sin(t * np.pi / 2)

    def half_width(self, z: np.ndarray | float) -> np.ndarray:
        t = np.clip((self.z_s1 - np.asarray(z, dtype=np.float64)) / self.length, 0, 1)
        return 52.0 * self.w * (1 - 0.72 * t)

    def paint(self, cv: Canvas, among: np.ndarray) -> None:
        z_lo = self.z_s1 - self.length
        box = Box(
            (-60 * self.w, 60 * self.w), (self.y_s1 - 25, self.y_s1 + 60 * self.s + 45), (z_lo, self.z_s1)
        )
        idx = cv.select(box, among)
        if not len(idx):
            return
        z = cv.z[idx]
        t = np.clip((self.z_s1 - z) / self.length, 0, 1)
        X = cv.x[idx]
        Y = cv.y[idx] - self.yc(z)
        a = self.l5.a * (1 - 0.55 * t)
        b = self.l5.b * (1 - 0.5 * t)
        body = superellipse_norm(X / a, Y / b, 2.4) < 1
        ala = superellipse_norm(X / self.half_width(z), (Y - 3) / (12 * self.w * (1 - 0.4 * t)), 4.0) < 1
        cy = b + 4 * self.s
        crx, cry = 11 * self.s * (1 - 0.5 * t), 5 * self.s * (1 - 0.4 * t)
        back = (np.abs(X) < 22 * self.w * (1 - 0.5 * t)) & (Y > 0) & (cy + cry + 6 * self.s > Y)
        canal = (X / crx) ** 2 + ((Y - cy) / cry) ** 2 < 1
        inside = (body | ala | back) & ~canal
        cv.paint(idx[inside], Fine.SACRUM, self.value)
        cv.paint(idx[canal], Fine.SPINAL_CANAL)


def _rib_polyline(
    spine: Spine, v: Vertebra, side: int, cage: RayPoint, rng: np.random.Generator
) -> np.ndarray:
    """Centre line of one rib: head at the body, neck past the transverse process, then around the
    flank inside the muscular wall, descending 0.25 mm per mm. T12's rib is short and floating;
    higher ribs reach further forward."""
    z0 = v.z_top - 0.2 * v.height
    centre = spine.center(z0)
    xc, yc = float(centre[0]), float(centre[1])
    pts = [
        (xc + side * (v.a + 3), yc + 0.2 * v.b, z0),
        (xc + side * (v.tp_reach + 2), yc + v.canal_y + 6, z0 - 3),
    ]
    end_angle = {"T9": 0.22, "T10": 0.28, "T11": 0.45, "T12": 0.68}[v.name] * np.pi
    end_angle *= 1 + 0.05 * rng.standard_normal()
    angles = np.linspace(side * 0.83 * np.pi, side * end_angle, 40)
    last = np.array(pts[-1])
    for ang in angles:
        px, py = cage(float(ang), float(last[2]))
        p = np.array([px, py, 0.0])
        step = np.linalg.norm(p[:2] - last[:2])
        p[2] = last[2] - 0.25 * step
        pts.append(tuple(p))
        last = p
    return np.asarray(pts)
