"""A small synthetic CT spine for fast tests: elliptic vertebral bodies (thin 900 HU cortex around
marrow) separated by 85 HU discs inside a 40 HU trunk, a contrast-filled aorta in front, and on
request thin ribs, a thick iliac-like plate beside a body, and a wide sacrum below the last disc.
"""

from __future__ import annotations

import numpy as np

from imaging.series_facts import Modality, SeriesFacts
from imaging.volume import Volume

BODY_MM, DISC_MM, SACRUM_MM = 26.0, 8.0, 40.0


def synthetic_spine(
    n_bodies: int = 4,
    marrow_hu: float = 150.0,
    *,
    flip: bool = False,
    ribs_on: frozenset[int] = frozenset(),
    plate_on: frozenset[int] = frozenset(),
    sacrum: bool = False,
) -> tuple[Volume, np.ndarray]:
    """CT volume and the index (1 = most cranial body) owning each body voxel (0 elsewhere).

    ``ribs_on``/``plate_on`` hold 1-based body indices. ``flip`` reverses every array axis (and the
    affine with it): the same anatomy on a grid running the other way.
    """
    dz, px, n = 2.0, 1.5, 200
    length = n_bodies * (BODY_MM + DISC_MM) + DISC_MM + (SACRUM_MM if sacrum else 0.0)
    shape = (int(length / dz), n, n)
    k, j, i = np.meshgrid(*(np.arange(s, dtype=float) for s in shape), indexing="ij")
    z, y, x = k * dz, (j - n / 2) * px, (i - n / 2) * px  # z superior, y posterior, x left
    hu = np.full(shape, -1000.0)
    hu[(x / 140) ** 2 + ((y + 10) / 95) ** 2 < 1] = 40.0  # trunk
    hu[(x - 15) ** 2 + (y + 20) ** 2 < 11**2] = 250.0  # contrast-filled aorta, in front and left
    owner = np.zeros(shape, dtype=np.uint8)
    body_y = 20.0
    r = (x / 22.0) ** 2 + ((y - body_y) / 16.0) ** 2
    top = z.max()
    for b in range(1, n_bodies + 1):
        top -= DISC_MM
        body = (z <= top) & (z > top - BODY_MM)
        hu[((z > top) & (z <= top + DISC_MM)) & (r < 1)] = 85.0
        hu[body & (r < 1)] = 900.0
        hu[body & (r < 0.8) & (z < top - 2) & (z > top - BODY_MM + 2)] = marrow_hu
        owner[body & (r < 1)] = b
        if b in ribs_on:  # 8 mm bars from the body's flank out to 95 mm, upper part of the body
            bar = (
                (np.abs(x) > 15)
                & (np.abs(x) < 95)
                & (np.abs(y - body_y) < 4)
                & (z < top - 4)
                & (z > top - 14)
            )
            hu[bar & (r >= 1)] = 500.0
        if b in plate_on:  # a 30 mm thick block of bone like the ilium, joined by a thin process
            plate = (np.abs(x) > 45) & (np.abs(x) < 100) & (np.abs(y - body_y) < 15) & body
            process = (
                (np.abs(x) > 15)
                & (np.abs(x) <= 45)
                & (np.abs(y - body_y - 8) < 3)
                & (np.abs(z - top + 13) < 4)
            )
            hu[plate | (process & (r >= 1))] = 400.0
        top -= BODY_MM
    if sacrum:
        top -= DISC_MM
        hu[((z > top) & (z <= top + DISC_MM)) & (r < 1)] = 85.0
        wide = ((x / 55.0) ** 2 + ((y - body_y) / 18.0) ** 2 < 1) & (z <= top)
        hu[wide] = 300.0
    affine = np.eye(4)
    affine[:3, 0] = (0, 0, dz)
    affine[:3, 1] = (0, px, 0)
    affine[:3, 2] = (px, 0, 0)
    affine[:3, 3] = (-n / 2 * px, -n / 2 * px, 0)
    if flip:
        hu, owner = hu[::-1, ::-1, ::-1].copy(), owner[::-1, ::-1, ::-1].copy()
        flipper = np.eye(4)
        flipper[:3, :3] = -np.eye(3)
        flipper[:3, 3] = np.array(shape) - 1
        affine = affine @ flipper
    return Volume(hu.astype(np.int16), affine, SeriesFacts(modality=Modality.CT)), owner
