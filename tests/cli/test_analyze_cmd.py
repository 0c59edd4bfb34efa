"""``bonemuscle analyze`` end to end on synthetic DICOM with precomputed labels: layout, exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pipeline._synthetic_ct import MUSCLE_CM2, write_labels, write_series

from imaging.cli import main
from imaging.ingest.assemble import assemble_volume
from imaging.ingest.discovery import discover
from imaging.ingest.series_index import build_index
from imaging.outputs import validate_results
from imaging.outputs.cohort import read_cohort


def _labels_for(series: Path, where: Path) -> tuple[Path, Path]:
    entry = build_index(discover(series))[0]
    return write_labels(where, assemble_volume(entry.instances))


def _results(out: Path) -> list[dict]:
    return [json.loads(p.read_text()) for p in sorted(out.glob("*/*/*/results.json"))]


def test_full_output_layout_and_valid_results(tmp_path, capsys):
    series = write_series(tmp_path / "in" / "ct", attrs={"ContrastBolusAgent": "IOHEXOL"})
    tissue, vert = _labels_for(series, tmp_path / "labels")
    out = tmp_path / "out"
    code = main(
        [
            "analyze",
            str(tmp_path / "in"),
            "--out",
            str(out),
            "--segmentation",
            str(tissue),
            "--segmentation",
            str(vert),
            "--height-m",
            "1.5",
        ]
    )
    assert code == 0
    (results,) = _results(out)
    assert validate_results(results) == []
    folder = next(out.glob("*/*/*/"))
    names = {p.name for p in folder.iterdir()}
    assert {
        "results.json",
        "tissue.nii.gz",
        "tissue.labels.json",
        "vertebrae.nii.gz",
        "vertebrae.labels.json",
        "seg.dcm",
        "sr.dcm",
        "report.html",
        "qa_L3.png",
        "qa_levels.png",
    } <= names
    assert (out / "cohort.csv").is_file()
    (row,) = read_cohort(out / "cohort.csv")
    assert float(row["L3_muscle_area_cm2"]) == pytest.approx(MUSCLE_CM2)
    assert results["subject"]["height_source"] == "cli"
    # contrast from the tag: acquisition flag, per-level flag and a warning
    assert results["acquisition"]["contrast"] == "yes"
    assert results["levels"]["L3"]["contrast"] == "yes"
    assert any("contrast-enhanced" in w for w in results["warnings"])
    assert results["model"]["name"] == "precomputed"
    assert "level L3" in capsys.readouterr().out


def test_missing_height_smi_null_with_warning(tmp_path):
    series = write_series(tmp_path / "in" / "ct")
    tissue, vert = _labels_for(series, tmp_path / "labels")
    out = tmp_path / "out"
    assert (
        main(
            [
                "analyze",
                str(series),
                "--out",
                str(out),
                "--segmentation",
                str(tissue),
                "--segmentation",
                str(vert),
            ]
        )
        == 0
    )
    (results,) = _results(out)
    assert results["levels"]["L3"]["smi_cm2_m2"] is None
    assert results["subject"]["height_m"] is None
    assert any("smi_cm2_m2 is null" in w for w in results["warnings"])
    assert results["acquisition"]["contrast"] == "unknown"


def test_single_slice_with_stated_level(tmp_path):
    series = write_series(tmp_path / "in" / "l3", n_slices=1)
    tissue, _ = _labels_for(series, tmp_path / "labels")
    out = tmp_path / "out"
    assert (
        main(
            [
                "analyze",
                str(series),
                "--out",
                str(out),
                "--model",
                str(tissue),
                "--level",
                "L3",
                "--height-m",
                "1.6",
            ]
        )
        == 0
    )
    (results,) = _results(out)
    assert results["levels"]["L3"]["convention"] == "user_stated"
    assert results["levels"]["L3"]["muscle_area_cm2"] == pytest.approx(MUSCLE_CM2)
    assert validate_results(results) == []


def _stub_model(folder: Path) -> Path:
    """A TorchScript thresholding network with its sidecar (the segmentation tests' stub)."""
    import torch
    from segmentation._stubs import STUB_CLASSES, ThresholdNet, normalised_edges

    from segmentation_models.loading import sha256_file

    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "model.ts"
    torch.jit.script(ThresholdNet(normalised_edges(), 4)).save(str(path))
    sidecar = {
        "name": "threshold-stub",
        "version": "0",
        "classes": {str(k): v for k, v in STUB_CLASSES.items()},
        "spacing_mm": [1.0, 1.0, None],
        "patch_size": [16, 16],
        "normalisation": {"kind": "ct_window", "low": -1000, "high": 1000},
        "weights_sha256": sha256_file(path),
    }
    (folder / "model.ts.json").write_text(json.dumps(sidecar))
    return path


@pytest.mark.slow
def test_failing_series_among_good_ones_exits_1_with_reason(tmp_path, capsys):
    from ingest.dicom_factory import make_dataset, write

    write_series(tmp_path / "in" / "good", patient_id="GOOD", n_slices=4)
    bad = write_series(tmp_path / "in" / "bad", patient_id="BAD", n_slices=4)
    first = build_index(discover(bad))[0].instances[0].header
    clash = make_dataset(
        patient_id="BAD",
        study_uid=first.StudyInstanceUID,
        series_uid=first.SeriesInstanceUID,
        position=(0.0, 0.0, 0.0),
        pixel_spacing=(1.0, 1.0),
        slice_thickness=3.0,
        rows=48,
        columns=48,
        instance_number=99,
    )
    write(clash, bad / "IM0099.dcm")  # same position as slice 0, different pixels: assembly refuses
    out = tmp_path / "out"
    code = main(
        [
            "analyze",
            str(tmp_path / "in"),
            "--out",
            str(out),
            "--model",
            str(_stub_model(tmp_path / "m")),
            "--device",
            "cpu",
            "--height-m",
            "1.7",
        ]
    )
    assert code == 1
    captured = capsys.readouterr()
    assert "BAD" in captured.err and "FAILED" in captured.err
    (results,) = _results(out)
    assert results["series"]["patient_id"] == "GOOD"
    assert results["model"]["name"] == "threshold-stub" and results["model"]["weights_sha256"]
    assert validate_results(results) == []
    # no vertebra model: every level is missing, with the reason
    assert results["levels"] == {}
    assert any("vertebra" in w for w in results["warnings"])
    assert (out / "cohort.csv").is_file()


def test_segmentation_for_several_units_is_a_usage_error(tmp_path, capsys):
    one = write_series(tmp_path / "in" / "a", patient_id="A")
    write_series(tmp_path / "in" / "b", patient_id="B", n_slices=10)
    tissue, _ = _labels_for(one, tmp_path / "labels")
    code = main(
        ["analyze", str(tmp_path / "in"), "--out", str(tmp_path / "out"), "--segmentation", str(tissue)]
    )
    assert code == 2
    assert "one series" in capsys.readouterr().err


@pytest.mark.parametrize(
    "argv",
    [
        ["analyze", "/no/such/path", "--out", "OUT"],
        ["analyze", "IN", "--out", "OUT", "--height-m", "178"],
        ["analyze", "IN", "--out", "OUT", "--level", "L9"],
        ["analyze", "IN", "--out", "OUT", "--level-convention", "somewhere"],
        ["analyze", "IN", "--out", "OUT", "--segmentation", "/no/such/file.nii.gz"],
        ["analyze", "IN"],
    ],
)
def test_usage_errors_exit_2(tmp_path, argv, capsys):
    (tmp_path / "IN").mkdir()
    argv = [str(tmp_path / a) if a in ("IN", "OUT") else a for a in argv]
    with pytest.raises(SystemExit) as exc:
        raise SystemExit(main(argv))
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err


def test_nothing_analysable_exits_3(tmp_path, capsys):
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "notes.txt").write_text("not DICOM")
    seg = tmp_path / "seg.nii.gz"
    seg.write_bytes(b"")
    assert (
        main(["analyze", str(tmp_path / "in"), "--out", str(tmp_path / "out"), "--segmentation", str(seg)])
        == 3
    )
    assert "nothing analysable" in capsys.readouterr().err


def test_cuda_requested_without_cuda_is_refused_up_front_exit_2_as_batch_does(tmp_path, capsys):
    torch = pytest.importorskip("torch")
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    series = write_series(tmp_path / "in")
    out = tmp_path / "out"
    code = main(["analyze", str(series), "--out", str(out), "--device", "cuda"])
    assert code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [
        "bonemuscle analyze: --device cuda was requested but PyTorch sees no CUDA device; "
        "use --device cpu or auto"
    ]
    assert not out.exists()  # refused before anything was read or written


@pytest.mark.parametrize("command", ["analyze", "batch"])
@pytest.mark.parametrize("where", ["below_a_file", "proc"])
def test_an_out_folder_that_cannot_be_written_is_a_usage_error_before_any_work(
    tmp_path, capsys, command, where
):
    (tmp_path / "IN").mkdir()
    (tmp_path / "a_file").write_text("x")
    out = tmp_path / "a_file" / "results" if where == "below_a_file" else Path("/proc/bonemuscle-results")
    assert main([command, str(tmp_path / "IN"), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err and "--out" in err


@pytest.mark.parametrize("kind", ["folder", "text"])
def test_a_job_database_that_is_no_database_is_a_usage_error_and_left_alone(tmp_path, capsys, kind):
    (tmp_path / "IN").mkdir()
    db = tmp_path / "jobs"
    if kind == "folder":
        db.mkdir()
    else:
        db.write_text("my notes, not a database")
    assert main(["batch", str(tmp_path / "IN"), "--out", str(tmp_path / "OUT"), "--db", str(db)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--db" in err
    assert kind == "folder" or db.read_text() == "my notes, not a database"
