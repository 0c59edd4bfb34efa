"""``bonemuscle export-volume`` end to end through the CLI dispatcher (exit codes, files, messages)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from ingest._series_builder import axial_series

from imaging.cli import main
from imaging.ingest.assemble import assemble_volume
from imaging.volume import from_nifti


def stored(n: int) -> np.ndarray:
    return (1000 + np.arange(n * 4 * 5).reshape(n, 4, 5)).astype(np.int16)


def test_exports_the_assembled_volume_with_geometry(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    instances = axial_series(tmp_path / "in", stored(4), [3.0, 0.0, 6.0, 9.0])
    out = tmp_path / "ct.nii.gz"
    assert main(["export-volume", str(tmp_path / "in"), str(out)]) == 0
    written = from_nifti(out)
    expected = assemble_volume(instances)
    np.testing.assert_array_equal(written.array, expected.array)
    np.testing.assert_allclose(written.affine, expected.affine, atol=1e-5)
    assert written.array.dtype == np.int16 and written.array.min() == 1000 - 1024  # HU, not stored values
    line = capsys.readouterr().out
    assert f"wrote {out}" in line and "HU" in line
    assert not list(tmp_path.glob(".*tmp*"))  # no temporary file left behind


def test_several_series_are_listed_and_one_can_be_picked(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    first = axial_series(tmp_path / "in" / "a", stored(3), [0.0, 1.0, 2.0])
    axial_series(tmp_path / "in" / "b", stored(2), [0.0, 2.0])
    out = tmp_path / "x.nii.gz"
    assert main(["export-volume", str(tmp_path / "in"), str(out)]) == 2
    err = capsys.readouterr().err
    assert "holds 2 series; pick one with --series" in err and first[0].header.SeriesInstanceUID in err
    assert len(err.strip().splitlines()) == 1 and not out.exists()
    uid = first[0].header.SeriesInstanceUID
    assert main(["export-volume", str(tmp_path / "in"), str(out), "--series", uid]) == 0
    assert from_nifti(out).shape == (3, 4, 5)


def test_refused_series_exits_3_with_one_line_and_no_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    axial_series(tmp_path / "in", stored(4), [0.0, 1.0, 2.0, 5.0])
    out = tmp_path / "gap.nii.gz"
    assert main(["export-volume", str(tmp_path / "in"), str(out)]) == 3
    err = capsys.readouterr().err.strip()
    assert "missing slice" in err and len(err.splitlines()) == 1
    assert not out.exists()


@pytest.mark.parametrize("bad", ["missing_dir", "out.txt"])
def test_usage_errors(tmp_path: Path, bad: str, capsys: pytest.CaptureFixture[str]) -> None:
    axial_series(tmp_path / "in", stored(2), [0.0, 1.0])
    source = tmp_path / ("nope" if bad == "missing_dir" else "in")
    out = tmp_path / ("x.nii.gz" if bad == "missing_dir" else "out.txt")
    assert main(["export-volume", str(source), str(out)]) == 2
    assert capsys.readouterr().err.startswith("bonemuscle export-volume: ")


def test_never_overwrites_an_input_file(tmp_path: Path) -> None:
    instances = axial_series(tmp_path / "in", stored(2), [0.0, 1.0])
    # the output name must end in .nii: point it at a real input through a symlink
    link = tmp_path / "in.nii"
    link.symlink_to(instances[0].source.path)
    before = instances[0].source.path.read_bytes()
    assert main(["export-volume", str(instances[0].source.path), str(link)]) == 2
    assert instances[0].source.path.read_bytes() == before
