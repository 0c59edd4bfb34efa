"""qa_levels.png: a coronal + sagittal spine view with names and anchor evidence, or the refusal."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

from imaging.levels import identify_levels
from imaging.levels.assign import report_dict
from imaging.outputs.qa_levels import BANNER_PX, levels_png
from imaging.segmentation.labels import VERTEBRA_NAMES, LabelMap
from tests.levels._synthetic_spine import synthetic_spine


def _png(data: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))


def test_named_spine_shows_coloured_outlines_and_the_established_banner() -> None:
    volume, _ = synthetic_spine(5, ribs_on=frozenset({1}), sacrum=True)
    result = identify_levels(volume)
    assert result.report.established
    image = _png(levels_png(volume, result.labels, report_dict(result.report)))
    body = image[BANNER_PX:]
    coloured = (np.abs(body[..., 0].astype(int) - body[..., 1]) > 60).sum()
    assert coloured > 200  # outlines of the named bodies
    assert image.shape[0] > BANNER_PX + 100 and image.shape[1] > 300


def test_refusal_is_drawn_with_its_reason_and_no_outline() -> None:
    volume, _ = synthetic_spine(4)  # no rib, no sacrum: refused
    result = identify_levels(volume)
    assert not result.report.established
    empty = LabelMap(np.zeros(volume.shape, dtype=np.uint8), dict(VERTEBRA_NAMES))
    refused = _png(levels_png(volume, empty, report_dict(result.report)))
    plain = _png(levels_png(volume, empty, None))
    assert refused.shape == plain.shape
    # the banner carries the reason text: more lit pixels than the banner without a report
    assert (refused[:BANNER_PX] > 100).sum() > (plain[:BANNER_PX] > 100).sum()
    # no coloured vertebra outlines below the banner, only grey image and yellow/grey marks
    body = refused[BANNER_PX:].astype(int)
    assert not ((np.abs(body[..., 0] - body[..., 2]) > 100) & (body[..., 1] < 100)).any()


def test_same_inputs_give_the_same_bytes() -> None:
    volume, _ = synthetic_spine(4, ribs_on=frozenset({1}))
    result = identify_levels(volume)
    args = (volume, result.labels, report_dict(result.report))
    assert levels_png(*args) == levels_png(*args)
