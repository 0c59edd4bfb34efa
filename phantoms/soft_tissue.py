"""Trunk outline, skin, subcutaneous fat, the muscular wall and back, psoas, quadratus lumborum and
intramuscular fat, all as functions of z built around the spine.

The trunk is described by its *fascial envelope*: the outer surface of the muscle wall, an
asymmetric superellipse per z (flatter at the back, where the patient lies on the table). SAT and
skin are measured outward from it along rays from its centre; the abdominal wall inward. Angles
``phi`` run from 0 (anterior midline) to ±pi (posterior midline), positive to the patient's left.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np

from phantoms.geometry import Box, Canvas, Profile, WaveField
from phantoms.labels import Fine
from phantoms.params import SubjectParams
from phantoms.spine import Spine

SKIN_MM = 2.0
RIB_DEPTH = 0.45  # rib centre lines run this fraction of the muscular wall's thickness inside the envelope
SEPTUM_MM = 1.2
# IMAT inclusion fraction of each muscle relative to the subject's imat_fraction (paraspinals marble most).
IMAT_GROUP_FACTOR = {
    Fine.PSOAS: 0.5,
    Fine.PARASPINAL: 1.4,
    Fine.QUADRATUS_LUMBORUM: 1.0,
    Fine.RECTUS_ABDOMINIS: 1.0,
    Fine.EXTERNAL_OBLIQUE: 0.9,
    Fine.INTERNAL_OBLIQUE: 0.9,
    Fine.TRANSVERSUS_ABDOMINIS: 0.9,
    Fine.LATISSIMUS_DORSI: 1.0,
    Fine.ILIACUS: 0.7,
    Fine.GLUTEAL: 1.2,
    Fine.ARM_MUSCLE: 0.8,
    Fine.INTERCOSTAL: 0.6,
    Fine.DIAPHRAGM: 0.3,
}


@dataclass(frozen=True)
class EnvelopePoint:
    """Where points sit relative to the envelope: signed outward distance, angle, centre offsets."""

    out_mm: np.ndarray  # > 0 outside the envelope
    phi: np.ndarray
    dx: np.ndarray
    dy: np.ndarray


class Trunk:
    """Envelope, fat and muscles of one subject's trunk."""

    def __init__(self, params: SubjectParams, spine: Spine, rng: np.random.Generator) -> None:
        self.params = params
        self.spine = spine
        s = spine.scale
        male = params.sex == "M"
        ms = np.sqrt(params.muscle_scale) * (1.0 if male else 0.82)
        self.ms = ms
        verts = spine.vertebrae
        zs = [v.z_mid for v in verts] + [spine.z_s1, spine.z_s1 - 60 * s, spine.z_s1 - 140 * s]
        names = [v.name for v in verts] + ["S1", "S2", "S4"]

        def knots(table: dict[str, float]) -> list[float]:
            return [table[n] for n in names]

        vat = params.vat_scale - 1.0
        vat_gain = knots(
            {
                "T9": 0.5,
                "T10": 0.6,
                "T11": 0.75,
                "T12": 0.9,
                "L1": 1,
                "L2": 1,
                "L3": 1,
                "L4": 1,
                "L5": 0.9,
                "S1": 0.6,
                "S2": 0.4,
                "S4": 0.3,
            }
        )
        ex = knots(
            {
                "T9": 150,
                "T10": 150,
                "T11": 148,
                "T12": 145,
                "L1": 142,
                "L2": 140,
                "L3": 140,
                "L4": 143,
                "L5": 150,
                "S1": 158,
                "S2": 162,
                "S4": 160,
            }
        )
        ap = knots(
            {
                "T9": 212,
                "T10": 206,
                "T11": 199,
                "T12": 193,
                "L1": 188,
                "L2": 185,
                "L3": 184,
                "L4": 180,
                "L5": 175,
                "S1": 170,
                "S2": 168,
                "S4": 165,
            }
        )
        if not male:
            hip = knots(
                {
                    "T9": -6,
                    "T10": -6,
                    "T11": -7,
                    "T12": -8,
                    "L1": -9,
                    "L2": -9,
                    "L3": -7,
                    "L4": -2,
                    "L5": 6,
                    "S1": 12,
                    "S2": 15,
                    "S4": 15,
                }
            )
            ex = [e + h for e, h in zip(ex, hip, strict=True)]
            ap = [0.95 * a for a in ap]
        jit = 1 + 0.03 * rng.standard_normal(2)
        ex = [s * e * jit[0] + 22 * vat * g + 10 * (ms - 1) for e, g in zip(ex, vat_gain, strict=True)]
        ap = [s * a * jit[1] + 42 * vat * g for a, g in zip(ap, vat_gain, strict=True)]
        self.ex = Profile.from_knots(zs, ex)
        self.ap = Profile.from_knots(zs, ap)
        ps_depth = knots(
            {
                "T9": 33,
                "T10": 34,
                "T11": 35,
                "T12": 36,
                "L1": 37,
                "L2": 38,
                "L3": 38,
                "L4": 37,
                "L5": 32,
                "S1": 20,
                "S2": 12,
                "S4": 6,
            }
        )
        ps_half = knots(
            {
                "T9": 24,
                "T10": 25,
                "T11": 26,
                "T12": 27,
                "L1": 27,
                "L2": 27.5,
                "L3": 27.5,
                "L4": 27,
                "L5": 26,
                "S1": 22,
                "S2": 16,
                "S4": 10,
            }
        )
        self.ps_depth = Profile.from_knots(zs, [d * s * ms for d in ps_depth])
        self.ps_half = Profile.from_knots(zs, [h * s * ms for h in ps_half])
        v_mid = [v.z_mid for v in verts]
        self.arch_y = Profile.from_knots(v_mid, [v.canal_y + v.rcy + 4 for v in verts])
        self.sp_tip = Profile.from_knots(v_mid, [v.canal_y + v.rcy + 3 + v.sp_len for v in verts])
        self.tp_reach = Profile.from_knots(v_mid, [v.tp_reach for v in verts])
        # Psoas (per-side area, mm^2) appears at L1 and grows caudally; QL spans T12-L5.
        l1 = spine.by_name["L1"]
        ps_area = [
            (l1.z_top, 0),
            (l1.z_mid, 250),
            (spine.by_name["L2"].z_mid, 620),
            (spine.by_name["L3"].z_mid, 1080),
            (spine.by_name["L4"].z_mid, 1450),
            (spine.by_name["L5"].z_mid, 1650),
            (spine.z_s1, 1700),
            (spine.z_s1 - 60 * s, 1550),
        ]
        k_area = s**2 * ms**2 * (1 + 0.06 * rng.standard_normal())
        self.psoas_area = Profile.from_knots([z for z, _ in ps_area], [a * k_area for _, a in ps_area])
        self.psoas_z = (l1.z_top, spine.z_s1 - 60 * s)
        ql_area = [
            (spine.by_name["T12"].z_mid, 0),
            (l1.z_mid, 250),
            (spine.by_name["L2"].z_mid, 450),
            (spine.by_name["L3"].z_mid, 600),
            (spine.by_name["L4"].z_mid, 580),
            (spine.by_name["L5"].z_mid, 280),
            (spine.z_s1, 0),
        ]
        self.ql_area = Profile.from_knots([z for z, _ in ql_area], [a * k_area for _, a in ql_area])
        self.ql_z = (spine.by_name["T12"].z_mid, spine.z_s1)
        # Subcutaneous fat: harmonic thickness around the trunk, sex-specific distribution along z.
        if male:
            self.sat_harm = (17.0, 2.0, 4.0)
            zf = knots(
                {
                    "T9": 0.7,
                    "T10": 0.75,
                    "T11": 0.85,
                    "T12": 0.95,
                    "L1": 1,
                    "L2": 1,
                    "L3": 1,
                    "L4": 1,
                    "L5": 0.95,
                    "S1": 0.9,
                    "S2": 0.85,
                    "S4": 0.85,
                }
            )
        else:
            self.sat_harm = (24.0, 0.0, 1.0)
            zf = knots(
                {
                    "T9": 0.55,
                    "T10": 0.6,
                    "T11": 0.7,
                    "T12": 0.8,
                    "L1": 0.85,
                    "L2": 0.92,
                    "L3": 1,
                    "L4": 1.1,
                    "L5": 1.2,
                    "S1": 1.35,
                    "S2": 1.4,
                    "S4": 1.4,
                }
            )
        self.sat_z = Profile.from_knots(zs, [f * params.sat_scale * s for f in zf])
        self.sat_wobble = (rng.uniform(0.03, 0.1, 3), rng.uniform(0, 2 * np.pi, 3))
        self.wall_mm = 15.0 * s * ms
        self.rectus_mm = 10.0 * s * ms
        # Latissimus: thickest over the lower ribs, thinning to its aponeurosis by L3.
        self.lat_z = Profile.from_knots(
            [spine.by_name["T10"].z_mid, spine.by_name["L1"].z_mid, spine.by_name["L3"].z_mid],
            [11 * s * ms, 6 * s * ms, 0],
        )
        self._rib_margin: np.ndarray | None = None
        self.imat_field = WaveField.random(rng, 24, (5.0, 16.0), (25.0, 80.0))
        self.z_range = (spine.z_s1 - 140 * s, spine.z_top + 80 * s)

    # --- envelope ---------------------------------------------------------------------------------
    def y_post(self, z: np.ndarray | float) -> np.ndarray:
        """Posterior envelope: behind the paraspinals (which lie behind the laminae) and the spinous tips."""
        _, yc = self.spine.center(z)
        return yc + np.maximum(self.arch_y(z) + self.ps_depth(z), self.sp_tip(z) + 4.0)

    def center(self, z: np.ndarray | float) -> tuple[np.ndarray, np.ndarray]:
        """Envelope centre (x, y)."""
        xc, _ = self.spine.center(z)
        return 0.3 * xc, self.y_post(z) - 0.45 * self.ap(z)

    def center_x(self, z: np.ndarray) -> np.ndarray:
        return self.center(z)[0]

    def center_y(self, z: np.ndarray) -> np.ndarray:
        return self.center(z)[1]

    def envelope(self, cv: Canvas, idx: np.ndarray) -> EnvelopePoint:
        dx = cv.x[idx] - cv.zf(self.center_x, idx)
        dy = cv.y[idx] - cv.zf(self.center_y, idx)
        ap = cv.zf(self.ap, idx)
        post = dy > 0
        half = np.where(post, 0.45 * ap, 0.55 * ap)
        # float32 powers with scalar exponents (several times faster than float64 with an array exponent);
        # the outline is then exact to ~1e-4 mm.
        u = np.abs(dx / cv.zf(self.ex, idx)).astype(np.float32)
        v = np.abs(dy / half).astype(np.float32)
        rho = np.empty(len(u), dtype=np.float64)
        for side, n in ((post, np.float32(2.9)), (~post, np.float32(2.15))):
            rho[side] = (u[side] ** n + v[side] ** n) ** (1 / n)
        r = np.hypot(dx, dy)
        out = r - r / np.maximum(rho, 1e-9)
        return EnvelopePoint(out, np.arctan2(dx, -dy), dx, dy)

    def ray_point(self, phi: float, z: float, inset_mm: float) -> tuple[float, float]:
        """Point at angle ``phi`` lying ``inset_mm`` inside the envelope at height z."""
        cx, cy = (float(v) for v in self.center(z))
        dx, dy = np.sin(phi), -np.cos(phi)
        ap = float(self.ap(z))
        half, n = (0.45 * ap, 2.9) if dy > 0 else (0.55 * ap, 2.15)
        rho = (abs(dx / float(self.ex(z))) ** n + abs(dy / half) ** n) ** (1.0 / n)
        r = 1.0 / rho - inset_mm
        return cx + r * dx, cy + r * dy

    def sat_mm(self, phi: np.ndarray, z: np.ndarray) -> np.ndarray:
        return self._sat(phi, self.sat_z(z))

    def _sat(self, phi: np.ndarray, zfac: np.ndarray) -> np.ndarray:
        a0, a1, a2 = self.sat_harm
        amp, ph = self.sat_wobble
        c1 = np.cos(phi)
        s1 = np.sin(phi)
        c2 = 2 * c1 * c1 - 1
        s2 = 2 * s1 * c1
        c3 = c1 * c2 - s1 * s2
        s3 = s1 * c2 + c1 * s2
        harm = zip(amp, (c1, c2, c3), (s1, s2, s3), ph, strict=True)
        wob = 1 + sum(a * (c * np.cos(p) - sn * np.sin(p)) for a, c, sn, p in harm)
        return np.maximum(zfac * (a0 + a1 * c1 + a2 * c2) * wob, 2.0)

    def bounds(self) -> Box:
        zs = np.linspace(*self.z_range, 60)
        cx, cy = self.center(zs)
        reach_x = float(np.max(self.ex(zs))) + 80 * self.params.sat_scale + 20
        ap = self.ap(zs)
        return Box(
            (float(np.min(cx)) - reach_x, float(np.max(cx)) + reach_x),
            (
                float(np.min(cy - 0.55 * ap)) - 120 * self.params.sat_scale - 20,
                float(np.max(cy + 0.45 * ap)) + 120,
            ),
            self.z_range,
        )

    # --- painting ---------------------------------------------------------------------------------
    def paint_outer(self, cv: Canvas, idx: np.ndarray) -> tuple[np.ndarray, EnvelopePoint]:
        """Skin, SAT and the default interior fill; returns the interior indices and their envelope data."""
        env = self.envelope(cv, idx)
        sat = self._sat(env.phi, cv.zf(self.sat_z, idx))
        outside = env.out_mm > 0
        cv.paint(idx[outside & (env.out_mm <= sat + SKIN_MM)], Fine.SKIN)
        cv.paint(idx[outside & (env.out_mm <= sat)], Fine.SAT)
        inner = ~outside
        interior = idx[inner]
        X = cv.x[interior] - cv.zf(self.spine.center_x, interior)
        Y = cv.y[interior] - cv.zf(self.spine.center_y, interior)
        back = (cv.zf(self.arch_y, interior) - 10 < Y) & (np.abs(X) < cv.zf(self.ps_half, interior) * 2 + 10)
        cv.paint(interior[~back], Fine.VAT)
        cv.paint(interior[back], Fine.IMAT_SEPTUM)
        sel = np.flatnonzero(inner)
        return interior, EnvelopePoint(env.out_mm[sel], env.phi[sel], env.dx[sel], env.dy[sel])

    def paint_muscles(self, cv: Canvas, interior: np.ndarray, env: EnvelopePoint) -> None:
        """Back muscles, psoas, QL, the layered abdominal wall and latissimus (IMAT comes later:
        :meth:`paint_imat`, once every muscle, pelvic ones included, is in place)."""
        z = cv.z[interior]
        yc = cv.zf(self.spine.center_y, interior)
        X = cv.x[interior] - cv.zf(self.spine.center_x, interior)
        Y = cv.y[interior] - yc
        ax = np.abs(X)
        arch = cv.zf(self.arch_y, interior)
        # Paraspinals, two rounded lobes either side of the spinous process, clipped by the envelope:
        # multifidus against the lamina and spinous process, the larger erector spinae lateral to it.
        half = cv.zf(self.ps_half, interior)
        y0 = arch - 14.0
        hy = 0.5 * (cv.zf(self.y_post, interior) - yc - y0) + 8.0
        erector = np.abs((ax - 4.0 - 1.12 * half) / (0.92 * half)) ** 2.4 + ((Y - y0 - hy) / hy) ** 2 < 1
        mf_x, mf_y = (ax - 4.0 - 0.5 * half) / (0.55 * half), (Y - y0 - 0.85 * hy) / (0.9 * hy)
        multifidus = mf_x * mf_x + mf_y * mf_y < 1
        para = erector | multifidus
        cv.paint(interior[para & (z < self.spine.z_top + 60)], Fine.PARASPINAL)
        # Quadratus lumborum: a flat oval in front of the transverse-process tips.
        a_ql = cv.zf(self.ql_area, interior)
        rx = np.sqrt(np.clip(a_ql, 0, None) / (np.pi * 0.5)) + 1e-6
        ql = ((ax - cv.zf(self.tp_reach, interior) + 2) / rx) ** 2 + ((Y - arch + 22) / (0.5 * rx)) ** 2 < 1
        cv.paint(interior[ql & (z < self.ql_z[0]) & (z > self.ql_z[1]) & (a_ql > 5)], Fine.QUADRATUS_LUMBORUM)
        # Psoas: in the gutter beside the vertebral body, drifting forward towards the pelvis.
        a_ps = cv.zf(self.psoas_area, interior)
        a_b, b_b = cv.zf(self.spine.body_a, interior), cv.zf(self.spine.body_b, interior)
        prx = np.sqrt(np.clip(a_ps, 0, None) / (np.pi * 1.1)) + 1e-6
        t = np.clip((self.spine.by_name["L3"].z_mid - z) / 80.0, 0, 1)
        ps_y = 0.2 * b_b - t * 1.1 * b_b
        # Below S1 the psoas runs laterally along the pelvic brim to join the iliacus (iliopsoas).
        brim = np.clip(self.spine.z_s1 - z, 0, None) * 0.4
        ps = ((ax - a_b - 0.85 * prx - 1 - brim) / prx) ** 2 + ((Y - ps_y) / (1.1 * prx)) ** 2 < 1
        cv.paint(interior[ps & (z < self.psoas_z[0]) & (z > self.psoas_z[1]) & (a_ps > 5)], Fine.PSOAS)
        self._paint_wall(cv, interior, env, cv.zf(self.lat_z, interior))

    def _paint_wall(self, cv: Canvas, interior: np.ndarray, env: EnvelopePoint, lat_t: np.ndarray) -> None:
        depth = -env.out_mm
        aphi = np.abs(env.phi)
        ax = np.abs(env.dx)
        phi_end = 0.66 * np.pi
        near = depth < max(self.wall_mm, self.rectus_mm) + 2
        # Rectus: a lens either side of the linea alba.
        w_rect = 78.0 * self.spine.scale
        lens = np.sqrt(np.clip(1 - ((ax - 4 - 0.5 * w_rect) / (0.5 * w_rect)) ** 2, 0, None))
        anterior = env.dy < 0
        rect = near & anterior & (ax >= 4) & (depth < self.rectus_mm * lens)
        cv.paint(interior[near & anterior & (ax < 4) & (depth < 0.5 * self.rectus_mm)], Fine.LINEA_ALBA)
        cv.paint(interior[rect], Fine.RECTUS_ABDOMINIS)
        # Lateral wall: three layers, tapering medially into the rectus sheath and posteriorly.
        taper = np.clip((ax - 0.55 * w_rect) / (0.45 * w_rect), 0, 1) * np.clip(
            (phi_end - aphi) / (0.12 * np.pi), 0, 1
        )
        taper = np.where(anterior, taper, np.clip((phi_end - aphi) / (0.12 * np.pi), 0, 1))
        thick = self.wall_mm * taper
        f = depth / np.maximum(thick, 1e-6)
        g = SEPTUM_MM / np.maximum(thick, 1e-6)
        lateral = near & (thick > 1.0) & (depth < thick) & ~rect
        eo = lateral & (f < 0.36)
        io = lateral & (f >= 0.36 + g) & (f < 0.70)
        ta = lateral & (f >= 0.70 + g)
        cv.paint(interior[lateral & ~(eo | io | ta)], Fine.IMAT_SEPTUM)
        cv.paint(interior[eo], Fine.EXTERNAL_OBLIQUE)
        cv.paint(interior[io], Fine.INTERNAL_OBLIQUE)
        cv.paint(interior[ta], Fine.TRANSVERSUS_ABDOMINIS)
        lat = (aphi > 0.55 * np.pi) & (aphi < 0.86 * np.pi) & (depth < lat_t) & (lat_t > 0.8)
        cv.paint(interior[lat], Fine.LATISSIMUS_DORSI)
        self._paint_chest_wall(cv, interior, env)

    def _paint_chest_wall(self, cv: Canvas, interior: np.ndarray, env: EnvelopePoint) -> None:
        """Where ribs line the wall, muscle fills the gaps between their sections and the fat between
        the wall's muscles is intermuscular, not visceral: the lower chest wall real CTs show at T10-L1
        (posterolaterally there is no abdominal-wall muscle, so without this it was all fat)."""
        depth = -env.out_mm
        in_zone = cv.z[interior] >= self.rib_margin_z(env.phi) - self.spine.rib_radius
        if not in_zone.any():
            return
        fill = np.isin(cv.fine[interior], (int(Fine.VAT), int(Fine.IMAT_SEPTUM)))
        band = np.abs(depth - RIB_DEPTH * self.wall_mm) < self.spine.rib_radius + 1.5
        cv.paint(interior[in_zone & fill & (depth < self.wall_mm)], Fine.IMAT_SEPTUM)
        cv.paint(interior[in_zone & fill & band], Fine.INTERCOSTAL)

    def rib_margin_z(self, phi: np.ndarray) -> np.ndarray:
        """Lowest z of any rib shaft at envelope angle ``phi`` (+inf where no rib passes): below it
        the wall is abdominal, above it thoracic."""
        if self._rib_margin is None:
            self._rib_margin = self._rib_margin_table()
        return self._rib_margin[_phi_bin(np.asarray(phi), len(self._rib_margin))]

    def _rib_margin_table(self, n_bins: int = 361) -> np.ndarray:
        table = np.full(n_bins, np.inf)
        for line in self.spine.ribs:
            shaft = line[2:]  # head and neck lie against the spine, not in the wall
            seg = np.linspace(0, 1, 8)[:-1]
            pts = np.concatenate([a + seg[:, None] * (b - a) for a, b in itertools.pairwise(shaft)])
            cx, cy = self.center(pts[:, 2])
            phi = np.arctan2(pts[:, 0] - cx, -(pts[:, 1] - cy))
            np.minimum.at(table, _phi_bin(phi, n_bins), pts[:, 2])
        # Close the one-bin gaps between sampled points of a shaft.
        return np.minimum(table, np.minimum(np.roll(table, 1), np.roll(table, -1)))

    def paint_imat(self, cv: Canvas, interior: np.ndarray) -> None:
        """Marbling: fat inclusions where a world-fixed random field exceeds each muscle's quantile."""
        frac = self.params.imat_fraction
        if frac <= 0:
            return
        labels = cv.fine[interior]
        muscle = np.isin(labels, [int(f) for f in IMAT_GROUP_FACTOR])
        if not muscle.any():
            return
        sel = interior[muscle]
        field = self.imat_field(cv.x[sel], cv.y[sel], cv.z[sel])
        lut = np.full(256, np.inf)
        for f, k in IMAT_GROUP_FACTOR.items():
            lut[int(f)] = NormalDist().inv_cdf(1 - min(frac * k, 0.45))
        cv.paint(sel[field > lut[cv.fine[sel]]], Fine.IMAT_INCLUSION)


def _phi_bin(phi: np.ndarray, n_bins: int) -> np.ndarray:
    """Index of envelope angle ``phi`` (-pi..pi) in a table of ``n_bins`` angles spanning the full circle."""
    return np.clip(((phi + np.pi) / (2 * np.pi) * (n_bins - 1)).round().astype(int), 0, n_bins - 1)
