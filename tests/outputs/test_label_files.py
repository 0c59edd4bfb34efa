"""Label NIfTI files and their tables: round trip on the series grid, refusals that name the fix."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from imaging.outputs.label_files import write_label_files
from imaging.segmentation.labels import LabelMap
from imaging.volume import from_nifti

from ._synthetic import make_case


def test_round_trip_on_the_series_grid(tmp_path: Path) -> None:
    case = make_case(tmp_path / "src")
    ff = np.full(case.volume.shape, 12.5, dtype=np.float32)
    written = write_label_files(tmp_path / "out", case.volume, case.tissue, case.vertebrae, ff)
    assert sorted(p.name for p in written) == sorted(
        [
            "tissue.nii.gz",
            "tissue.labels.json",
            "vertebrae.nii.gz",
            "vertebrae.labels.json",
            "fat_fraction.nii.gz",
        ]
    )
    tissue = from_nifti(tmp_path / "out" / "tissue.nii.gz")
    assert np.array_equal(tissue.array, case.tissue.array)
    assert np.allclose(tissue.affine, case.volume.affine)
    table = json.loads((tmp_path / "out" / "tissue.labels.json").read_text())
    assert table["1"] == "skeletal_muscle" and table["5"] == "bone"
    vert = json.loads((tmp_path / "out" / "vertebrae.labels.json").read_text())
    assert vert["22"] == "L3"
    fat = from_nifti(tmp_path / "out" / "fat_fraction.nii.gz")
    assert fat.array.dtype == np.float32 and np.allclose(fat.array, 12.5)


def test_refusals(tmp_path: Path) -> None:
    case = make_case(tmp_path / "src")
    with pytest.raises(ValueError, match="resample"):
        write_label_files(
            tmp_path, case.volume, LabelMap(case.tissue.array[:2], case.tissue.names), case.vertebrae
        )
    with pytest.raises(ValueError, match="lacks the contract names"):
        write_label_files(
            tmp_path,
            case.volume,
            LabelMap(case.tissue.array, {**case.tissue.names, 1: "muscle"}),
            case.vertebrae,
        )
    with pytest.raises(ValueError, match="percent"):
        write_label_files(
            tmp_path, case.volume, case.tissue, case.vertebrae, np.full(case.volume.shape, 0.5e3, np.float32)
        )
