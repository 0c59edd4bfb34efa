"""fill_bone on drawn slices: the marrow is filled, the spinal canal is not, even when a break in the
posterior cortex (the basivertebral vein's entry) joins the two into one hole."""

from __future__ import annotations

import numpy as np
import pytest

from imaging.levels.model import LevelOptions
from imaging.levels.spine import fill_bone
from imaging.levels.workgrid import WorkGrid

PX = 1.5  # mm, the working grid's in-plane spacing


def _grid() -> WorkGrid:
    affine = np.eye(4)
    affine[:3, 0], affine[:3, 1], affine[:3, 2] = (0, 0, 3.0), (0, PX, 0), (PX, 0, 0)
    return WorkGrid((1, 80, 80), affine)


def _ellipse(shape: tuple[int, int], cy: float, cx: float, ry: float, rx: float) -> np.ndarray:
    y, x = np.ogrid[: shape[0], : shape[1]]
    return ((y - cy) / ry) ** 2 + ((x - cx) / rx) ** 2 <= 1.0


def _vertebra_slice(break_px: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Bone of one slice (body cortex, arch around the canal), marrow and canal masks; rows run
    anterior to posterior. ``break_px`` pixels of the posterior cortex are missing at the midline."""
    shape = (80, 80)
    body = _ellipse(shape, 24, 40, 15, 19)
    marrow = _ellipse(shape, 24, 40, 13, 17)
    canal = _ellipse(shape, 46, 40, 6, 7) & ~body
    arch = _ellipse(shape, 46, 40, 9, 10) & ~canal & ~marrow
    bone = (body & ~marrow) | arch
    if break_px:
        half = break_px // 2
        gap = np.zeros(shape, bool)
        gap[34:42, 40 - half : 40 - half + break_px] = True
        bone &= ~gap
        marrow |= gap & body  # the vein's channel through the cortex belongs to the body
    return bone, marrow, canal


@pytest.mark.parametrize("break_px", [0, 2, 3])
def test_marrow_filled_and_canal_left_open(break_px: int) -> None:
    bone, marrow, canal = _vertebra_slice(break_px)
    filled = fill_bone(bone[None], _grid(), LevelOptions())[0]
    assert filled[marrow & ~canal].mean() > 0.97  # the body is solid (the break may stay open)
    assert not filled[canal].any()
