"""QA overlays: right size, deterministic bytes, tissue colours where the labels are."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from imaging.outputs.qa_png import ALPHA, TISSUE_COLOURS, SliceView, level_pngs, png_size, render, slice_view
from imaging.segmentation.labels import TISSUE_NAMES
from imaging.series_facts import Modality, SeriesFacts

from ._synthetic import make_case, make_results


@pytest.fixture(scope="module")
def case_and_results(tmp_path_factory: pytest.TempPathFactory):
    case = make_case(Path(tmp_path_factory.mktemp("series")))
    return case, make_results(case)


def test_png_per_level_right_size_and_deterministic(case_and_results) -> None:
    case, results = case_and_results
    first = level_pngs(case.volume, case.tissue, results["levels"])
    second = level_pngs(case.volume, case.tissue, results["levels"])
    assert list(first) == ["L2", "L3"]
    assert first == second  # same bytes twice
    view = slice_view(case.volume, case.tissue, results["levels"]["L3"]["slice_index"])
    image = Image.open(io.BytesIO(first["L3"]))
    assert image.format == "PNG" and image.mode == "RGB"
    assert image.size == png_size(view)


def test_tissue_tints_sit_on_their_labels() -> None:
    tissue = np.zeros((64, 64), dtype=np.uint8)
    tissue[:, :32] = 1  # muscle left half
    tissue[:, 32:] = 3  # SAT right half
    view = SliceView(np.full((64, 64), 40.0), tissue, TISSUE_NAMES, 1.0, 1.0, is_ct=True)
    image = np.asarray(Image.open(io.BytesIO(render(view, "L3", {"slice_index": 0, "z_mm": 0.0}))))
    grey = 128  # 40 HU is the window centre
    for (row, col), name in (((256, 100), "skeletal_muscle"), ((256, 400), "sat")):
        expected = np.round((1 - ALPHA) * grey + ALPHA * np.asarray(TISSUE_COLOURS[name])).astype(int)
        assert np.abs(image[row, col].astype(int) - expected).max() <= 1


def test_mr_slice_and_out_of_range_index(case_and_results) -> None:
    case, _ = case_and_results
    mr = case.volume.with_array(
        case.volume.array.astype(np.float32) + 2000.0, SeriesFacts(modality=Modality.MR)
    )
    data = render(slice_view(mr, case.tissue, 0), "L1", {"slice_index": 0, "z_mm": None})
    assert data.startswith(b"\x89PNG")
    with pytest.raises(IndexError):
        slice_view(case.volume, case.tissue, 99)
