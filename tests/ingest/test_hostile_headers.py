"""Header values that drive scaling, geometry or allocation must be finite, in range and consistent,
or the series is refused naming the tag -- never a volume of NaN, zeros or a 488 GiB allocation."""

from __future__ import annotations

import warnings
from pathlib import Path

import pydicom
import pytest

from imaging.ingest.assemble import assemble_volume
from imaging.ingest.discovery import discover
from imaging.ingest.model import IngestError

from .dicom_factory import write_series


def _assemble(folder: Path):
    found = discover(folder)
    assert found.instances, found.problems
    return assemble_volume(found.instances)


def _edit_all(files: list[Path], **values: object) -> None:
    """Set raw header values (as a broken exporter writes them) on every file."""
    for f in files:
        ds = pydicom.dcmread(f)
        for keyword, value in values.items():
            tag = pydicom.datadict.tag_for_keyword(keyword)
            vr = pydicom.datadict.dictionary_VR(tag)
            ds[tag] = pydicom.DataElement(tag, vr, value)
        ds.save_as(f)


@pytest.mark.parametrize(
    ("values", "named"),
    [
        ({"RescaleSlope": "0"}, "RescaleSlope is 0"),
        ({"RescaleSlope": "NaN"}, "RescaleSlope"),
        ({"RescaleSlope": "1e38"}, "RescaleSlope"),
        ({"RescaleIntercept": "NaN"}, "RescaleIntercept"),
        ({"PixelSpacing": ["NaN", "0.7"]}, "PixelSpacing"),
        ({"ImageOrientationPatient": ["1", "0", "0", "0", "NaN", "0"]}, "ImageOrientationPatient"),
        ({"ImagePositionPatient": ["0", "0", "NaN"]}, "ImagePositionPatient"),
        ({"NumberOfFrames": "1000000"}, "NumberOfFrames"),
    ],
)
def test_absurd_scaling_geometry_and_frame_counts_refuse_the_series_naming_the_tag(
    tmp_path: Path, values: dict[str, object], named: str
) -> None:
    files = write_series(tmp_path / "s", 3)
    with warnings.catch_warnings():  # pydicom warns about some invalid values it is asked to write
        warnings.simplefilter("ignore")
        _edit_all(files, **values)
    with pytest.raises(IngestError, match=named):
        _assemble(tmp_path / "s")


def test_zero_rows_is_not_an_image(tmp_path: Path) -> None:
    files = write_series(tmp_path / "s", 3)
    _edit_all(files, Rows=0)
    with pytest.raises(IngestError, match="Rows"):
        _assemble(tmp_path / "s")


def test_text_in_rescale_slope_refuses_the_series(tmp_path: Path) -> None:
    """pydicom will not write text into a DS, but broken exporters do: edit the bytes."""
    files = write_series(tmp_path / "s", 3)
    _edit_all(files, RescaleSlope="777.777")
    for f in files:
        data = f.read_bytes()
        assert b"777.777 " in data
        f.write_bytes(data.replace(b"777.777 ", b"abc     "))
    with pytest.raises(IngestError, match="RescaleSlope 'abc' is not a number"):
        _assemble(tmp_path / "s")


def test_slices_35_mm_apart_are_not_a_volume(tmp_path: Path) -> None:
    """A sparse stack (e.g. split off a mixed series) has no levels to find and no slab to measure."""
    write_series(tmp_path / "s", 8, spacing=35.0)
    with pytest.raises(IngestError, match=r"35\.0 mm apart .*too sparse"):
        _assemble(tmp_path / "s")


def test_ten_mm_slices_of_an_old_archive_are_still_a_volume(tmp_path: Path) -> None:
    write_series(tmp_path / "s", 8, spacing=10.0)
    assert _assemble(tmp_path / "s").shape[0] == 8
