"""Gantry-tilt correction: move every slice of a sheared stack onto a grid stacked along the normal.

A tilted CT acquisition keeps each slice in its true plane, but consecutive slices are offset
in-plane (the stack is a parallelepiped). Slice k of the corrected, orthogonal grid lies in the same
plane as acquired slice k, so the correction is a pure in-plane translation of slice k by k times
the per-slice offset -- no interpolation across slices. This is what body-composition users want:
areas and HU stay those of the acquired slice, only its placement is fixed.

Voxels of the corrected grid that the acquired slice did not cover are filled with ``fill`` (the
caller passes the lowest value of the series, i.e. what the scanner stores outside its field of
view) and the correction is recorded in ``Volume.meta.corrections``.
"""

from __future__ import annotations

import numpy as np


def shear_correct(array: np.ndarray, shift_px_per_slice: tuple[float, float], fill: float) -> np.ndarray:
    """Return float32 ``[slice,row,column]`` with slice k translated by k x ``shift_px_per_slice``.

    ``shift_px_per_slice`` = (rows, columns) offset of the acquired slice k+1 relative to slice k on
    the orthogonal grid (see :class:`imaging.ingest.geometry.Stack`). Linear interpolation: at
    integer shifts the values are exactly the acquired ones.
    """
    from scipy import ndimage

    out = np.empty(array.shape, dtype=np.float32)
    sr, sc = shift_px_per_slice
    for k in range(array.shape[0]):
        ndimage.shift(
            array[k].astype(np.float32, copy=False),
            (k * sr, k * sc),
            output=out[k],
            order=1,
            mode="constant",
            cval=float(fill),
            prefilter=False,
        )
    return out
