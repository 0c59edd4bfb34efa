"""The segmentation stage's value: one grid for every map, and missing maps as reasons, not text."""

from __future__ import annotations

import numpy as np
import pytest

from imaging.segmentation.labels import TISSUE_NAMES, VERTEBRA_NAMES, LabelMap
from imaging.segmentation.result import GridMismatchError, Segmentation


def _map(shape, names=TISSUE_NAMES) -> LabelMap:
    return LabelMap(np.zeros(shape, np.uint8), dict(names))


def test_maps_on_different_grids_are_refused_when_built():
    with pytest.raises(GridMismatchError, match=r"tissue .*vertebrae"):
        Segmentation(_map((2, 4, 4)), _map((2, 4, 5), VERTEBRA_NAMES))
    with pytest.raises(GridMismatchError, match="probabilities"):
        Segmentation(_map((2, 4, 4)), None, probabilities={"bone": np.zeros((2, 3, 4), np.float16)})
    assert Segmentation(_map((2, 4, 4)), _map((2, 4, 4), VERTEBRA_NAMES)).shape == (2, 4, 4)


def test_a_missing_map_is_a_reason_keyed_by_map_dropped_when_the_map_is_supplied():
    seg = Segmentation(
        _map((1, 3, 3)), None, warnings=("load note",), missing={"vertebrae": "no vertebra model"}
    )
    assert seg.notes == ("load note", "no vertebra model")
    assert seg.supplied("vertebrae") == {}
    with pytest.raises(ValueError, match="has vertebrae labels"):
        Segmentation(_map((1, 3, 3)), _map((1, 3, 3), VERTEBRA_NAMES), missing={"vertebrae": "stale"})
    with pytest.raises(ValueError, match="not one of"):
        Segmentation(_map((1, 3, 3)), None, missing={"muscles": "why"})
