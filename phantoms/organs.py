"""Abdominal organs, vessels, bowel and lung bases, placed relative to the trunk and spine.

Solid organs are z-stacks of ellipses whose centre and radii are fractions of the trunk envelope
at that z (so they follow habitus); kidneys are rotated ellipsoids; vessels are tubes along the
spine; bowel loops are capsules (small bowel) and polylines (colon) with walls, fluid and gas.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from phantoms.bowel import SmallBowel
from phantoms.geometry import (
    Box,
    Canvas,
    Profile,
    WaveField,
    polyline_distance,
)
from phantoms.labels import Fine
from phantoms.soft_tissue import Trunk

BOWEL_WALL_MM = 2.0
COLON_WALL_MM = 2.5
STOMACH_WALL_MM = 4.0


@dataclass(frozen=True)
class Section:
    """An organ as ellipses stacked in z; centre and radii are fractions of the envelope
    (x of half-width, y of the antero-posterior depth) measured from the envelope centre."""

    label: Fine
    z: tuple[float, float]
    cx: Profile
    cy: Profile
    rx: Profile
    ry: Profile
    angle: float = 0.0

    def mask(self, trunk: Trunk, cv: Canvas, idx: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Inside mask and the rotated normalised coordinates (u, v) of points ``idx``."""
        z = cv.z[idx]
        ox, oy = cv.zf(trunk.center_x, idx), cv.zf(trunk.center_y, idx)
        ex, ap = cv.zf(trunk.ex, idx), cv.zf(trunk.ap, idx)
        rx = np.maximum(cv.zf(self.rx, idx) * ex, 1e-6)
        ry = np.maximum(cv.zf(self.ry, idx) * 0.5 * ap, 1e-6)
        dx = cv.x[idx] - (ox + cv.zf(self.cx, idx) * ex)
        dy = cv.y[idx] - (oy + cv.zf(self.cy, idx) * 0.5 * ap)
        c, s = np.cos(self.angle), np.sin(self.angle)
        u = (c * dx + s * dy) / rx
        v = (-s * dx + c * dy) / ry
        return (u * u + v * v < 1) & (z >= self.z[1]) & (z <= self.z[0]), u, v


def _section(
    label: Fine, rows: list[tuple[float, float, float, float, float]], angle: float = 0.0
) -> Section:
    """rows: (z, cx, cy, rx, ry), cranial to caudal."""
    zs = [r[0] for r in rows]
    cx, cy, rx, ry = (Profile.from_knots(zs, c) for c in zip(*[r[1:] for r in rows], strict=True))
    return Section(label, (max(zs), min(zs)), cx, cy, rx, ry, angle=angle)


class Organs:
    """Liver, spleen, stomach, kidneys, aorta/IVC with iliac branches, bowel and lung bases."""

    def __init__(self, trunk: Trunk, rng: np.random.Generator) -> None:
        self.trunk = trunk
        sp = trunk.spine
        v = sp.by_name
        s = sp.scale
        j = lambda: 1 + 0.06 * rng.standard_normal()  # noqa: E731
        dome = v["T9"].z_top + 25 * s
        self.liver = _section(
            Fine.LIVER,
            [
                (dome, -0.3, -0.05, 0.25, 0.25),
                (v["T9"].z_mid, -0.28, -0.02, 0.62 * j(), 0.78),
                (v["T10"].z_mid, -0.3, 0.0, 0.62, 0.78),
                (v["T11"].z_mid, -0.38, 0.02, 0.54, 0.72),
                (v["T12"].z_mid, -0.47, 0.05, 0.44 * j(), 0.6),
                (v["L1"].z_mid, -0.56, 0.05, 0.33, 0.45),
                (v["L2"].z_mid, -0.62, 0.08, 0.2 * j(), 0.28),
                (v["L2"].z_bot - 5, -0.64, 0.1, 0.02, 0.02),
            ],
        )
        self.spleen = _section(
            Fine.SPLEEN,
            [
                (v["T10"].z_top, 0.6, 0.3, 0.03, 0.03),
                (v["T10"].z_bot, 0.58, 0.3, 0.2 * j(), 0.32),
                (v["T11"].z_mid, 0.58, 0.28, 0.21, 0.34),
                (v["T12"].z_top, 0.6, 0.25, 0.18, 0.28),
                (v["T12"].z_bot, 0.62, 0.22, 0.03, 0.03),
            ],
            angle=0.6,
        )
        self.stomach = _section(
            Fine.STOMACH_CONTENT,
            [
                (v["T9"].z_top + 10, 0.28, -0.2, 0.05, 0.05),
                (v["T9"].z_mid, 0.3, -0.22, 0.3 * j(), 0.32),
                (v["T11"].z_mid, 0.3, -0.28, 0.3, 0.3),
                (v["T12"].z_mid, 0.22, -0.42, 0.26, 0.2),
                (v["L1"].z_mid, 0.1, -0.5, 0.16, 0.12),
                (v["L1"].z_bot, 0.05, -0.5, 0.02, 0.02),
            ],
            angle=-0.3,
        )
        # Kidneys: (centre, semi-axes, in-plane rotation) in world mm; right kidney lower.
        self.kidneys = []
        for side, z_c in ((-1, v["L2"].z_top - 2), (1, v["L1"].z_bot + 6)):
            xc, yc = sp.center(z_c)
            a, _ = sp.body_size(z_c)
            c = np.array(
                [float(xc) + side * (float(a) + 46 * s), float(yc) + 20 * s, z_c + 8 * rng.standard_normal()]
            )
            semi = np.array([30, 19, 54]) * s * np.array([j(), j(), j()])
            self.kidneys.append((c, semi, side * 0.65))
        self.kidney_box = [
            Box((c[0] - 60, c[0] + 60), (c[1] - 60, c[1] + 60), (c[2] - 70, c[2] + 70))
            for c, _, _ in self.kidneys
        ]
        age = trunk.params.age_years
        self.aorta_r = 11.0 * s * (1 + 0.004 * max(age - 40, 0))
        self.z_bif = v["L4"].z_mid
        self.z_conf = v["L5"].z_mid
        self.gas_field = WaveField.random(rng, 12, (15.0, 40.0), (15.0, 40.0))
        zs = np.linspace(trunk.z_range[0], trunk.z_range[1], 60)
        sx, sy = sp.center(zs)
        front = sy - sp.body_size(zs)[1]
        # Aorta/IVC and the iliac vessels stay within ~90 mm of the midline, in front of the spine.
        self.vessel_box = Box(
            (float(sx.min()) - 100 * s, float(sx.max()) + 100 * s),
            (float(front.min()) - 45 * s, float(front.max()) + 30 * s),
            trunk.z_range,
        )
        self._make_bowel(rng)
        self.lung_top = sp.z_top + 150

    # --- bowel layout -------------------------------------------------------------------------------
    def _make_bowel(self, rng: np.random.Generator) -> None:
        tr, sp = self.trunk, self.trunk.spine
        v = sp.by_name
        s = sp.scale

        def at(fx: float, fy: float, z: float) -> tuple[float, float, float]:
            ox, oy = tr.center(z)
            return (float(ox + fx * tr.ex(z)), float(oy + fy * 0.5 * tr.ap(z)), z)

        top = v["L1"].z_bot - 5
        zs = np.linspace(sp.z_s1 - 30 * s, top, 10)
        asc = [at(-0.68, 0.05, z) for z in zs]
        desc = [at(0.7, 0.1, z) for z in np.linspace(v["T12"].z_mid, sp.z_s1, 10)]
        xs = np.linspace(-0.62, 0.64, 12)
        trans = [at(x, -0.55 + 0.1 * x * x, top - 12 - 20 * s * (1 - x * x)) for x in xs]
        sig = [
            at(0.7 - 0.7 * t, 0.1 - 0.4 * np.sin(np.pi * t), sp.z_s1 - 60 * s * t)
            for t in np.linspace(0, 1, 8)
        ]
        self.colon = [np.array(p) for p in (asc, trans, desc, sig)]
        self.colon_r = 22.0 * s
        self.diaphragm_mm = 4.5 * s * tr.ms
        self.crus_mm = 5.0 * s * tr.ms
        self.small_bowel = SmallBowel(tr, rng, sp.z_s1 - 50 * s, v["L2"].z_top)

    # --- painting ------------------------------------------------------------------------------------
    def paint(self, cv: Canvas, interior: np.ndarray) -> None:
        """Paint into the trunk interior (before muscles and bone, which overwrite)."""
        self._paint_bowel(cv, interior)
        for sec in (self.liver, self.spleen):
            idx = self._candidates(cv, interior, sec)
            if len(idx):
                inside, _, _ = sec.mask(self.trunk, cv, idx)
                cv.paint(idx[inside], sec.label)
        self._paint_stomach(cv, interior)
        self._paint_kidneys(cv, interior)
        self._paint_vessels(cv, interior)
        self._paint_lungs(cv, interior)

    def _candidates(self, cv: Canvas, interior: np.ndarray, sec: Section) -> np.ndarray:
        if sec.z[1] > cv.z_hi or sec.z[0] < cv.z_lo:
            return np.zeros(0, dtype=np.int64)
        z = cv.z[interior]
        return interior[(z >= sec.z[1]) & (z <= sec.z[0])]

    def _paint_stomach(self, cv: Canvas, interior: np.ndarray) -> None:
        idx = self._candidates(cv, interior, self.stomach)
        if not len(idx):
            return
        inside, u, v = self.stomach.mask(self.trunk, cv, idx)
        r = np.sqrt(u * u + v * v)
        cv.paint(idx[inside], Fine.STOMACH_WALL)
        lumen = inside & (r < 1 - STOMACH_WALL_MM / (0.25 * self.trunk.ex(cv.z[idx])))
        cv.paint(idx[lumen], Fine.STOMACH_CONTENT)
        _, oy = self.trunk.center(cv.z[idx])
        cy = oy + self.stomach.cy(cv.z[idx]) * 0.5 * self.trunk.ap(cv.z[idx])
        gas = lumen & (cv.y[idx] < cy - 0.3 * self.stomach.ry(cv.z[idx]) * 0.5 * self.trunk.ap(cv.z[idx]))
        cv.paint(idx[gas], Fine.BOWEL_GAS)

    def _paint_kidneys(self, cv: Canvas, interior: np.ndarray) -> None:
        for (c, semi, ang), box in zip(self.kidneys, self.kidney_box, strict=True):
            idx = cv.select(box, interior)
            if not len(idx):
                continue
            d = cv.points[idx] - c
            co, si = np.cos(ang), np.sin(ang)
            u = (co * d[:, 0] + si * d[:, 1]) / semi[0]
            w = (-si * d[:, 0] + co * d[:, 1]) / semi[1]
            t = d[:, 2] / semi[2]
            kid = u * u + w * w + t * t < 1
            cv.paint(idx[kid], Fine.KIDNEY)
            # Renal sinus fat opens to the hilum, which faces antero-medially.
            hil = -np.sign(c[0])
            sinus = ((u - 0.45 * hil) / 0.5) ** 2 + (w / 0.45) ** 2 + (t / 0.55) ** 2 < 1
            cv.paint(idx[kid & sinus], Fine.RENAL_SINUS_FAT)

    def _paint_vessels(self, cv: Canvas, interior: np.ndarray) -> None:
        sp = self.trunk.spine
        s = sp.scale
        idx = cv.select(self.vessel_box, interior)
        if not len(idx):
            return
        z = cv.z[idx]
        xc, yc = cv.zf(sp.center_x, idx), cv.zf(sp.center_y, idx)
        front = yc - cv.zf(sp.body_b, idx)
        # Aorta above the bifurcation, common iliac arteries below it.
        ra = self.aorta_r
        ax, ay = xc + 14 * s, front - ra - 3 * s
        above = z >= self.z_bif
        d_ao = np.hypot(cv.x[idx] - ax, cv.y[idx] - ay)
        spread = np.clip(self.z_bif - z, 0, None) * 0.55
        d_il = np.minimum(
            np.hypot(cv.x[idx] - (ax - 8 * s + spread), cv.y[idx] - ay + 0.2 * spread),
            np.hypot(cv.x[idx] - (ax - 8 * s - spread), cv.y[idx] - ay + 0.2 * spread),
        )
        art = np.where(above, d_ao < ra, d_il < 6.5 * s)
        # IVC (flattened oval) above the confluence, common iliac veins below.
        vx, vy = xc - 21 * s, front - 9 * s
        above_v = z >= self.z_conf
        d_ivc = ((cv.x[idx] - vx) / (12 * s)) ** 2 + ((cv.y[idx] - vy) / (8.5 * s)) ** 2
        spread_v = np.clip(self.z_conf - z, 0, None) * 0.5
        d_iv = np.minimum(
            np.hypot(cv.x[idx] - (xc + spread_v), cv.y[idx] - vy - 4),
            np.hypot(cv.x[idx] - (xc - spread_v), cv.y[idx] - vy - 4),
        )
        ven = np.where(above_v, d_ivc < 1, d_iv < 7.0 * s)
        cv.paint(idx[ven], Fine.IVC)
        cv.paint(idx[art], Fine.AORTA)

    def _paint_lungs(self, cv: Canvas, interior: np.ndarray) -> None:
        """Lung bases above a domed diaphragm that dips into the posterior costophrenic recesses; the
        diaphragm itself: a muscle sheet under each dome, its costal part lining the wall down to its
        attachments, and the crura beside the upper lumbar bodies."""
        sp = self.trunk.spine
        z_front = sp.by_name["T9"].z_mid + 10 * sp.scale
        z_back = sp.by_name["T11"].z_bot
        self._paint_crura(cv, interior)
        z_low = float(self._attachment_z(np.pi))  # the lowest origin: behind, at L1
        if cv.z_hi < z_low:
            return
        idx = interior[cv.z[interior] > z_low]
        if not len(idx):
            return
        z = cv.z[idx]
        env = self.trunk.envelope(cv, idx)
        # Each hemidiaphragm is a dome centred in its half of the chest: the lung base sits on it, so
        # below the dome top the lung is a crescent in the recesses, deepest posteriorly.
        ex, half_ap = cv.zf(self.trunk.ex, idx), 0.5 * cv.zf(self.trunk.ap, idx)
        u = (np.abs(env.dx) - 0.45 * ex) / (0.6 * ex)
        v = env.dy / half_ap
        r2 = np.clip(u * u + v * v, 0, 1.5)
        drop = (z_front - z_back) * r2 * (0.7 + 0.3 * np.clip(v / 0.6, 0, 1))
        z_dia = z_front + 25 * sp.scale - drop
        xc, a = cv.zf(sp.center_x, idx), cv.zf(sp.body_a, idx)
        lateral = np.abs(cv.x[idx] - xc) > a + 12 * sp.scale
        depth = -env.out_mm
        wall = self.trunk.wall_mm
        deep = depth > wall + 6
        t = self.diaphragm_mm
        below = (z <= z_dia) & (z >= self._attachment_z(env.phi))
        sheet = below & lateral & (depth > wall + 1) & ((z > z_dia - t) | (depth < wall + 1 + t))
        keep = np.isin(cv.fine[idx], (int(Fine.AORTA), int(Fine.IVC), int(Fine.KIDNEY)))
        cv.paint(idx[sheet & ~keep], Fine.DIAPHRAGM)
        cv.paint(idx[(z > z_dia) & lateral & deep], Fine.LUNG)

    def _attachment_z(self, phi: np.ndarray | float) -> np.ndarray:
        """Lowest z of the diaphragm's costal origin around the wall: the xiphoid and costal margin in
        front (T10), the lower ribs at the flanks (T12), the arcuate ligaments behind (L1)."""
        v = self.trunk.spine.by_name
        return np.interp(
            np.abs(phi), [0.0, 0.5 * np.pi, np.pi], [v["T10"].z_mid, v["T12"].z_mid, v["L1"].z_top]
        )

    def _paint_crura(self, cv: Canvas, interior: np.ndarray) -> None:
        """Two muscular bands on the front of the upper lumbar bodies, the right one longer, rising into
        the domes; painted over fat only, so the aorta between them stays."""
        sp = self.trunk.spine
        top = sp.by_name["T11"].z_bot
        for side, bottom in ((-1, sp.by_name["L3"].z_top), (1, sp.by_name["L2"].z_mid)):
            if cv.z_hi < bottom or cv.z_lo > top:
                continue
            idx = interior[(cv.z[interior] >= bottom) & (cv.z[interior] <= top)]
            if not len(idx):
                continue
            xc, yc = (cv.zf(f, idx) for f in (sp.center_x, sp.center_y))
            a, b = cv.zf(sp.body_a, idx), cv.zf(sp.body_b, idx)
            grow = 0.6 + 0.6 * (cv.z[idx] - bottom) / (top - bottom)
            rx, ry = self.crus_mm * grow, 2.0 * self.crus_mm * grow
            u = (cv.x[idx] - (xc + side * 0.7 * a)) / rx
            w = (cv.y[idx] - (yc - b + 0.5 * ry)) / ry
            fat = np.isin(cv.fine[idx], (int(Fine.VAT), int(Fine.IMAT_SEPTUM)))
            cv.paint(idx[(u * u + w * w < 1) & fat], Fine.DIAPHRAGM)

    def _paint_bowel(self, cv: Canvas, interior: np.ndarray) -> None:
        self.small_bowel.paint(cv, interior)
        r = self.colon_r
        for line in self.colon:
            lo, hi = line.min(axis=0) - r, line.max(axis=0) + r
            idx = cv.select(Box((lo[0], hi[0]), (lo[1], hi[1]), (lo[2], hi[2])), interior)
            if not len(idx):
                continue
            d, _ = polyline_distance(cv.points[idx], line)
            cv.paint(idx[d < r], Fine.COLON_WALL)
            lumen = idx[d < r - COLON_WALL_MM]
            cv.paint(lumen, Fine.COLON_CONTENT)
            g = self.gas_field(cv.x[lumen], cv.y[lumen], cv.z[lumen])
            cv.paint(lumen[g > 0.5], Fine.BOWEL_GAS)
