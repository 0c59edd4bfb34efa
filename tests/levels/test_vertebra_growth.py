"""The 6-neighbour dilation behind grow_vertebrae equals scipy's grey dilation with the cross footprint."""

import numpy as np
import pytest
from scipy import ndimage

from imaging.levels.spine import _dilate_6


@pytest.mark.parametrize("shape", [(1, 1, 1), (1, 5, 4), (7, 9, 11), (20, 31, 17)])
def test_dilate_6_equals_grey_dilation(shape: tuple[int, int, int]) -> None:
    rng = np.random.default_rng(sum(shape))
    labels = (rng.integers(1, 7, shape) * (rng.random(shape) < 0.15)).astype(np.uint8)
    cross = ndimage.generate_binary_structure(3, 1)
    np.testing.assert_array_equal(_dilate_6(labels), ndimage.grey_dilation(labels, footprint=cross))
