"""A seeded hostile-input campaign over the commands, built from the committed samples.

Each input is a committed sample file broken one way -- truncated anywhere, bytes flipped in the header
or in the pixel data, runs zeroed, header bytes repeated, 'DICM' garbage, empty, or only renamed to a
hostile name -- and each command must answer as the contract says: an exit code it defines, no
traceback (an exception here fails the test), at most one line on stderr per failed input, nothing
written outside ``--out``, and for an input that is only renamed, the same numbers as the original.
The seed is fixed, so a failure names a case that can be rerun.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from imaging.cli import main

ROOT = Path(__file__).resolve().parents[2]
SLICE = ROOT / "sample_dicoms" / "BM004" / "CT_20191004" / "S002_L3_axial_FC18" / "IM0001.dcm"
APEX = ROOT / "sample_dicoms" / "dxa" / "BM003_apex.csv"
SEED = 20261207
N_HEADER_CASES = 48
CONTRACT_CODES = {0, 1, 2, 3}
HOSTILE_NAMES = ("with space.dcm", "-rf.dcm", "ünïcødé_名前.dcm", "new\nline.dcm", "x" * 200 + ".dcm")


def _mutant(data: bytes, case: int) -> bytes:
    """Case ``case`` of the campaign: the same bytes for the same case, every run."""
    rng = np.random.default_rng(SEED + case)
    arr = bytearray(data)
    kind = case % 7
    if kind == 0:  # truncated anywhere
        return bytes(arr[: int(rng.integers(0, len(arr)))])
    if kind == 1:  # bytes flipped in the header
        for pos in rng.integers(132, 3000, size=8):
            arr[pos] ^= int(rng.integers(1, 256))
        return bytes(arr)
    if kind == 2:  # bytes flipped in the pixel data
        for pos in rng.integers(len(arr) // 2, len(arr), size=64):
            arr[pos] ^= int(rng.integers(1, 256))
        return bytes(arr)
    if kind == 3:  # a run of the header zeroed
        start = int(rng.integers(132, 2500))
        arr[start : start + int(rng.integers(4, 64))] = bytes(64)[: len(arr[start : start + 64])]
        return bytes(arr)
    if kind == 4:  # a chunk of the header repeated (lengths no longer match)
        start = int(rng.integers(132, 2000))
        chunk = arr[start : start + int(rng.integers(8, 200))]
        return bytes(arr[:start] + chunk + arr[start:])
    if kind == 5:  # a DICOM marker followed by garbage
        return b"\0" * 128 + b"DICM" * int(rng.integers(1, 600))
    return b""  # empty


def _stderr_lines(text: str) -> int:
    return len([line for line in text.splitlines() if line.strip()])


def _broken_slice(tmp_path: Path, case: int, name: str = "slice.dcm") -> Path:
    """A folder holding case ``case`` of the campaign alone."""
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / name).write_bytes(_mutant(SLICE.read_bytes(), case))
    return folder


def _answered_by_the_contract(code: int, err: str) -> None:
    assert code in CONTRACT_CODES
    assert "Traceback" not in err and _stderr_lines(err) <= 1, err


@pytest.mark.parametrize("case", range(N_HEADER_CASES))
def test_index_answers_every_broken_file_by_the_contract(tmp_path: Path, case: int, capsys) -> None:
    folder = _broken_slice(tmp_path, case, f"case{case}.dcm")
    code = main(["index", str(folder)])
    _answered_by_the_contract(code, capsys.readouterr().err)


def test_a_broken_file_never_stops_the_good_one_beside_it(tmp_path: Path, capsys) -> None:
    folder = tmp_path / "in"
    (folder / "good").mkdir(parents=True)
    (folder / "good" / "IM0001.dcm").write_bytes(SLICE.read_bytes())
    for case in range(N_HEADER_CASES):
        (folder / f"case{case:02d}.dcm").write_bytes(_mutant(SLICE.read_bytes(), case))
    code = main(["index", str(folder), "--json"])
    captured = capsys.readouterr()
    report = json.loads(captured.out)
    assert code in {0, 1}  # the good slice is usable whatever its neighbours are
    assert "Traceback" not in captured.err and _stderr_lines(captured.err) <= 1
    assert json.dumps(report).count("IM0001.dcm") >= 1


@pytest.mark.slow
@pytest.mark.parametrize("case", [0, 1, 2, 3, 4, 8, 9, 15])
def test_analyze_answers_broken_slices_by_the_contract_and_writes_only_under_out(
    tmp_path: Path, case: int, capsys
) -> None:
    folder = _broken_slice(tmp_path, case)
    before = set(tmp_path.rglob("*"))
    code = main(["analyze", str(folder), "--out", str(tmp_path / "out"), "--level", "L3"])
    _answered_by_the_contract(code, capsys.readouterr().err)
    written = set(tmp_path.rglob("*")) - before
    assert all(p == tmp_path / "out" or (tmp_path / "out") in p.parents for p in written)


def _l3(out: Path) -> dict:
    (results,) = out.rglob("results.json")
    return json.loads(results.read_text())["levels"]["L3"]


@pytest.mark.slow
def test_a_hostile_name_changes_nothing_but_the_name(tmp_path: Path, capsys) -> None:
    (tmp_path / "plain").mkdir()
    (tmp_path / "plain" / "IM0001.dcm").write_bytes(SLICE.read_bytes())
    assert main(["analyze", str(tmp_path / "plain"), "--out", str(tmp_path / "o0"), "--level", "L3"]) == 0
    reference = _l3(tmp_path / "o0")
    for i, name in enumerate(HOSTILE_NAMES[:3]):
        folder = tmp_path / f"named{i}"
        folder.mkdir()
        (folder / name).write_bytes(SLICE.read_bytes())
        out = tmp_path / f"o{i + 1}"
        assert main(["analyze", str(folder), "--out", str(out), "--level", "L3"]) == 0
        assert _l3(out) == reference, name
    capsys.readouterr()


@pytest.mark.parametrize(
    ("column", "value"),
    [("NECK_BMD", "8.1200E-01"), ("NECK_BMD", "1e999"), ("NECK_BMD", "-1"), ("LARM_LEAN", "-2500"),
     ("LARM_LEAN", "abc"), ("NECK_BMD", "NaN"), ("HEIGHT_CM", "inf")],
)  # fmt: skip
def test_dxa_exports_with_hostile_numbers_give_valid_json_and_no_absurd_value(
    tmp_path: Path, column: str, value: str, capsys
) -> None:
    lines = APEX.read_text(encoding="utf-8-sig").splitlines()
    header = lines[0].split(",")
    if column not in header:
        pytest.skip(f"{column} is not a column of the committed APEX sample")
    row = lines[1].split(",")
    row[header.index(column)] = value
    path = tmp_path / "apex.csv"
    path.write_text("\n".join([lines[0], ",".join(row), *lines[2:]]) + "\n")
    code = main(["dxa", str(path), "--json"])
    captured = capsys.readouterr()
    assert code in CONTRACT_CODES and "Traceback" not in captured.err
    if code in {0, 1}:
        payload = json.loads(captured.out, parse_constant=lambda c: pytest.fail(f"{c} in dxa --json"))
        results = payload if isinstance(payload, list) else [payload]
        for result in results:
            for site in result["sites"].values():
                bmd = site["bmd_g_cm2"]
                assert bmd is None or 0.05 <= bmd <= 3.0
            for region in result["body_composition"]["regions"].values():
                assert all(v is None or v >= 0 for v in region.values())


@pytest.mark.slow
def test_library_warnings_stay_off_stderr(tmp_path: Path) -> None:
    """Case 8 garbles the header's character set, which pydicom warns about; as a user runs it (a
    process of its own), stderr holds no warning text, only what the contract allows."""
    import subprocess
    import sys

    folder = _broken_slice(tmp_path, 8)
    argv = [
        sys.executable,
        "-m",
        "imaging",
        "analyze",
        str(folder),
        "--out",
        str(tmp_path / "out"),
        "--level",
        "L3",
    ]
    done = subprocess.run(argv, capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert done.returncode in CONTRACT_CODES
    assert "Warning" not in done.stderr and _stderr_lines(done.stderr) <= 1, done.stderr


def test_a_fault_of_ours_is_one_line_not_a_traceback(monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    from imaging.cli import index_cmd

    def broken(args: object, out: object = None) -> int:
        raise RuntimeError("something\nwe did not foresee")

    monkeypatch.setattr(index_cmd, "run", broken)
    monkeypatch.delenv("BONEMUSCLE_DEBUG", raising=False)
    assert main(["index", str(ROOT)]) == 3
    err = capsys.readouterr().err
    assert _stderr_lines(err) == 1 and "internal error (RuntimeError: something we did not foresee)" in err
    monkeypatch.setenv("BONEMUSCLE_DEBUG", "1")
    with pytest.raises(RuntimeError):
        main(["index", str(ROOT)])


@pytest.mark.parametrize("case", range(0, N_HEADER_CASES, 3))
def test_export_volume_answers_broken_slices_and_never_writes_a_nan_volume(
    tmp_path: Path, case: int, capsys
) -> None:
    import nibabel as nib

    folder = _broken_slice(tmp_path, case)
    target = tmp_path / "out" / "v.nii.gz"
    code = main(["export-volume", str(folder), str(target)])
    _answered_by_the_contract(code, capsys.readouterr().err)
    if code == 0:
        data = np.asarray(nib.load(target).dataobj)
        assert data.size and np.isfinite(data).all()
    else:
        assert not target.exists()
