"""Upper arms lying beside the trunk (``SubjectParams.arms_in_fov``): skin, fat, muscle and humerus.

Why: many abdominal CTs are acquired with the arms down, and L3 body-composition protocols differ on
whether arm muscle counts. Arm muscle therefore has its own fine label, ``ARM_MUSCLE``, which the
tissue map counts as ``skeletal_muscle`` (:data:`~phantoms.labels.FINE_TO_TISSUE`);
a protocol that excludes the arms removes that fine label (or everything outside the trunk envelope).
Arm fat is ``ARM_FAT`` (tissue ``sat``); the humerus is a cortical shell (``HUMERUS``) around fatty
marrow (``HUMERUS_MARROW``), both ``bone``.

Each arm is a slightly flattened cylinder along z from above the field down to the elbow (about the
L3 level), separated from the trunk's skin by a gap of -1 to 8 mm (below zero: touching, the arm
wins). The forearms (resting on the lap or chest) are not modelled.
"""

from __future__ import annotations

import numpy as np

from phantoms.geometry import Box, Canvas, Profile
from phantoms.labels import Fine
from phantoms.soft_tissue import SKIN_MM, Trunk

HUMERUS_CORTEX_MM = 3.5


class Arms:
    """Both upper arms of one subject, placed against the trunk outline at each z."""

    def __init__(self, trunk: Trunk, rng: np.random.Generator, table_y: float) -> None:
        sp = trunk.spine
        s = sp.scale
        p = trunk.params
        self.muscle_r = 31.0 * s * trunk.ms * (1 + 0.05 * rng.standard_normal())
        self.fat_mm = max(3.0, 9.0 * p.sat_scale * (1.35 if p.sex == "F" else 1.0))
        self.radius = self.muscle_r + self.fat_mm + SKIN_MM
        self.bone_r = 11.0 * s
        self.z_elbow = sp.by_name["L3"].z_mid - 15.0 * s * rng.uniform(-1.0, 1.0)
        self.z_top = trunk.z_range[1]
        gap = rng.uniform(-1.0, 8.0, 2)
        zs = np.linspace(self.z_elbow - self.radius, self.z_top, 24)
        cx, cy = trunk.center(zs)
        # Outer x of the trunk skin at each z (the flank: phi = +-pi/2) and a centre that rests on the table.
        reach = trunk.ex(zs) + trunk.sat_mm(np.full(zs.shape, np.pi / 2), zs) + SKIN_MM
        y = np.minimum(cy + 0.12 * trunk.ap(zs), table_y - 0.9 * self.radius)
        self.cx = [
            Profile.from_knots(zs, cx + side * (reach + g + self.radius))
            for side, g in zip((-1, 1), gap, strict=True)
        ]
        self.cy = Profile.from_knots(zs, y)
        lo = float(np.min(cx - reach)) - 2 * self.radius - 10
        hi = float(np.max(cx + reach)) + 2 * self.radius + 10
        self.box = Box((lo, hi), (float(y.min()) - self.radius - 2, float(y.max()) + self.radius + 2),
                       (self.z_elbow - self.radius, self.z_top))  # fmt: skip

    def paint(self, cv: Canvas, among: np.ndarray | None = None) -> None:
        """Skin, fat, muscle and humerus of both arms (paints over the trunk where they touch)."""
        idx = cv.select(self.box, among)
        if not len(idx):
            return
        z = cv.z[idx]
        # Below the elbow the arm ends in a rounded cap (distance grows with the depth below it).
        cap = np.clip(self.z_elbow - z, 0.0, None)
        dy = (cv.y[idx] - cv.zf(self.cy, idx)) / 0.88
        for side, cx in zip((-1.0, 1.0), self.cx, strict=True):
            dx = cv.x[idx] - cv.zf(cx, idx)
            r = np.sqrt(dx * dx + dy * dy + cap * cap)
            arm = r < self.radius
            cv.paint(idx[arm], Fine.SKIN)
            cv.paint(idx[r < self.radius - SKIN_MM], Fine.ARM_FAT)
            cv.paint(idx[r < self.muscle_r], Fine.ARM_MUSCLE)
            # Humerus: slightly anterior and medial in the arm, down to the elbow joint (its rounded end
            # lies inside the cap), so no slice through the arm above the joint is a boneless disk.
            bx = dx + side * 4.0
            rb = np.sqrt(bx * bx + (dy + 4.0) ** 2 + np.clip(self.z_elbow - z, 0.0, None) ** 2)
            cv.paint(idx[rb < self.bone_r], Fine.HUMERUS)
            cv.paint(idx[rb < self.bone_r - HUMERUS_CORTEX_MM], Fine.HUMERUS_MARROW)
