"""Iliac bones, iliacus and gluteal muscles: the pelvis inlet seen at L5/S1 and below.

Why: the iliac crests (intercristal line at about L4-L5) and the sacrum are the anchors level
identification uses, and an L5 or S1 slice without iliac wings looks nothing like a CT.

Each ilium is a curved plate: in an axial slice, an arc of an ellipse around the iliac fossa, running
from the sacroiliac joint (posteromedial, against the sacral ala) round the flank to the anterior
superior iliac spine. The arc is short at the crest and lengthens caudally; the plate is thicker at
the crest. The iliacus lines the concave (medial) side of the arc; the gluteal muscles fill the
convex (lateral and posterolateral) side out to the fascial envelope. The pelvis is rigid: it is
placed relative to the spine at S1 and does not follow the lumbar curve.
"""

from __future__ import annotations

import numpy as np

from phantoms.geometry import Box, Canvas
from phantoms.labels import Fine
from phantoms.soft_tissue import Trunk

PLATE_MM = 6.0
CREST_MM = 11.0


class Pelvis:
    """Both iliac bones plus iliacus and gluteal muscles of one subject."""

    def __init__(self, trunk: Trunk, rng: np.random.Generator) -> None:
        sp = trunk.spine
        s = sp.scale
        w = s * (1.0 if trunk.params.sex == "M" else 1.04)  # the female pelvis is relatively wider
        self.s = s
        l4 = sp.by_name["L4"]
        self.z_crest = l4.z_bot + 0.25 * l4.height + 4.0 * rng.standard_normal()
        self.z_bottom = sp.z_s1 - 110.0 * s
        self.z_sij = sp.z_s1 + 8.0 * s  # from here down the plate reaches the sacral ala
        x0, y0 = sp.center(sp.z_s1)
        self.x0, self.y0 = float(x0), float(y0)
        jit = 1.0 + 0.04 * rng.standard_normal(3)
        # Fossa ellipse: lateral extreme ~130 mm from the midline, the SI joint end against the sacral
        # ala (~55 mm, level with the body), the anterior superior iliac spine ~105 mm out, ~75 mm forward.
        self.cx = 80.0 * w * jit[0]  # ellipse centre, lateral offset from the midline
        self.cy = -35.0 * s  # and antero-posterior offset (negative: anterior)
        self.ax = 50.0 * w * jit[1]
        self.ay = 46.0 * s * jit[2]
        self.tub_x = 60.0 * w  # tuberosity centre: lateral to the sacral ala, behind the joint line
        self.tub_y = 22.0 * s
        self.iliacus_mm = 18.0 * s * trunk.ms
        self.trunk = trunk
        reach = self.cx + self.ax + 60.0
        self.box = Box(
            (self.x0 - reach, self.x0 + reach),
            (self.y0 + self.cy - self.ay - 60.0, self.y0 + 120.0 * s),
            (self.z_bottom, self.z_crest + 2.0),
        )

    # --- geometry ----------------------------------------------------------------------------------
    def _arc(self, z: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Angular range (t_lo, t_hi) of the plate, its half thickness, and the axis scale at z.

        Angle t is measured round the fossa centre: 0 lateral, +pi/2 posterior, negative anterior.
        """
        below = np.clip(self.z_crest - z, 0.0, None)
        t_lo = np.radians(np.clip(10.0 - 2.5 * below, -62.0, 10.0))
        t_hi = np.radians(np.clip(40.0 + 1.8 * below, 40.0, 122.0))
        half = 0.5 * np.where(below < 12.0, CREST_MM, PLATE_MM) * self.s
        # The wing narrows towards the acetabulum below the sacroiliac joint.
        k = np.clip(1.0 - 0.004 * np.clip(self.z_sij - z, 0.0, None), 0.6, 1.0)
        return t_lo, t_hi, half, k

    def _local(self, cv: Canvas, idx: np.ndarray) -> tuple[np.ndarray, ...]:
        """Per point: side sign, normalised radius rho, angle t and the plate data at its z."""
        X = cv.x[idx] - self.x0
        Y = cv.y[idx] - self.y0
        side = np.where(X >= 0, 1.0, -1.0)
        t_lo, t_hi, half, k = self._arc(cv.z[idx])
        ax, ay = self.ax * k, self.ay * k
        u = (side * X - self.cx * k) / ax
        v = (Y - self.cy) / ay
        rho = np.hypot(u, v)
        t = np.arctan2(v, u)
        mean_axis = 0.5 * (ax + ay)
        return rho, t, t_lo, t_hi, half / mean_axis, mean_axis

    # --- painting ----------------------------------------------------------------------------------
    def paint_muscles(self, cv: Canvas, interior: np.ndarray) -> None:
        """Iliacus inside the fossa, gluteal muscles outside the wing (before bone paints over)."""
        idx = cv.select(self.box, interior)
        if not len(idx):
            return
        z = cv.z[idx]
        idx = idx[z < self.z_crest - 10.0]
        if not len(idx):
            return
        rho, t, t_lo, t_hi, half, mean_axis = self._local(cv, idx)
        in_arc = (t > t_lo + 0.1) & (t < t_hi - 0.05)
        depth = (1.0 - rho) * mean_axis
        iliacus = in_arc & (depth > half * mean_axis) & (depth < self.iliacus_mm + half * mean_axis)
        # Gluteal muscles: everything outside the plate on its lateral and posterior side.
        lateral = (t > t_lo - 0.35) & (t < t_hi + 0.25) & (rho > 1.0 + half)
        lateral &= cv.fine[idx] != int(Fine.PARASPINAL)
        cv.paint(idx[iliacus], Fine.ILIACUS)
        cv.paint(idx[lateral], Fine.GLUTEAL)

    def paint_bone(self, cv: Canvas, interior: np.ndarray) -> None:
        """The iliac plates (paint before the sacrum, which then sits against them at the joint)."""
        idx = cv.select(self.box, interior)
        if not len(idx):
            return
        idx = idx[cv.z[idx] <= self.z_crest]
        if not len(idx):
            return
        rho, t, t_lo, t_hi, half, _ = self._local(cv, idx)
        # Rounded ends: the plate tapers over the last 0.12 rad of its arc.
        end = np.minimum(t - t_lo, t_hi - t)
        taper = np.clip(end / 0.12, 0.0, 1.0) ** 0.5
        # The crest itself is rounded in the coronal plane too.
        top = np.clip((self.z_crest - cv.z[idx]) / (0.5 * CREST_MM * self.s), 0.0, 1.0) ** 0.5
        plate = (np.abs(rho - 1.0) < half * taper * top) & (end > 0)
        # Iliac tuberosity: the thick posterior part beside the sacrum, up to the posterior superior
        # iliac spine; its medial face is the sacroiliac joint.
        z = cv.z[idx]
        X = np.abs(cv.x[idx] - self.x0) - self.tub_x
        Y = cv.y[idx] - self.y0 - self.tub_y
        zt = np.clip((z - self.z_bottom) / (self.z_sij - self.z_bottom), 0.0, 1.0)
        tub = (X / (13.0 * self.s)) ** 2 + (Y / (24.0 * self.s)) ** 2 < np.sin(np.pi * zt) ** 0.5
        cv.paint(idx[plate | tub], Fine.ILIUM)
