"""Path sanitising of hostile header values and atomic writes that never leave partial files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from imaging.outputs.paths import (
    MAX_PART_LEN,
    atomic_path,
    safe_part,
    series_dir,
    write_bytes_atomic,
    write_json_atomic,
)

HOSTILE = [
    "../../etc",
    "a/b",
    "a\\b",
    "",
    "   ",
    "..",
    ".",
    "x" * 500,
    "Müller^Jürgen",
    "患者",
    "a\x00b\nc",
    "CON",
]


@pytest.mark.parametrize("value", HOSTILE)
def test_safe_part_is_one_harmless_component(value: str) -> None:
    part = safe_part(value)
    assert part not in ("", ".", "..")
    assert "/" not in part and "\\" not in part
    assert all(31 < ord(ch) < 127 for ch in part)
    assert len(part) <= MAX_PART_LEN
    assert not part.startswith(".")
    assert safe_part(value) == part  # stable across calls


def test_plain_uids_are_kept_verbatim() -> None:
    uid = "1.2.826.0.1.3680043.8.498.12345678901234567890"
    assert safe_part(uid) == uid
    assert safe_part("PAT_001-a") == "PAT_001-a"


def test_values_that_clean_alike_stay_apart() -> None:
    assert safe_part("a/b") != safe_part("a_b")
    assert safe_part("a/b") != safe_part("a\\b")
    assert safe_part("x" * 500) != safe_part("x" * 501)


def test_empty_values_use_the_fallback() -> None:
    assert safe_part(None, "unknown_patient") == "unknown_patient"
    assert safe_part("", "unknown_patient") == "unknown_patient"


def test_series_dir_stays_under_root(tmp_path: Path) -> None:
    folder = series_dir(tmp_path, "../../etc", "a/b", "..")
    assert folder.resolve().is_relative_to(tmp_path.resolve())
    assert len(folder.relative_to(tmp_path).parts) == 3


def test_write_json_atomic_round_trip(tmp_path: Path) -> None:
    path = write_json_atomic(tmp_path / "sub" / "r.json", {"a": 1, "b": None, "c": "ü"})
    assert json.loads(path.read_text(encoding="utf-8")) == {"a": 1, "b": None, "c": "ü"}
    assert [p.name for p in path.parent.iterdir()] == ["r.json"]


def test_nan_is_refused_and_old_file_survives(tmp_path: Path) -> None:
    path = write_json_atomic(tmp_path / "r.json", {"v": 1})
    with pytest.raises(ValueError):
        write_json_atomic(path, {"v": float("nan")})
    assert json.loads(path.read_text()) == {"v": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["r.json"]


def test_exception_mid_write_leaves_no_partial_file(tmp_path: Path) -> None:
    target = tmp_path / "seg.dcm"
    write_bytes_atomic(target, b"old complete content")

    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_bytes(b"half of the new")
        raise RuntimeError("disk full halfway")

    assert target.read_bytes() == b"old complete content"
    assert [p.name for p in tmp_path.iterdir()] == ["seg.dcm"]


def test_exception_before_first_write_creates_nothing(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError), atomic_path(tmp_path / "new.nii.gz") as tmp:
        assert tmp.name.endswith(".nii.gz")  # writers choosing format by suffix see the right one
        raise RuntimeError("boom")
    assert list(tmp_path.iterdir()) == []
