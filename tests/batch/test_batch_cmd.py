"""``bonemuscle batch`` end to end on small synthetic archives with the stub network (tests/segmentation)."""

from __future__ import annotations

import errno
import json
import sqlite3
from pathlib import Path

import pytest
from _archive import corrupt_studies, good_archive, stub_model_file

from imaging.batch import stages
from imaging.batch.jobs_db import JobsDb, Status
from imaging.batch.runner import _executor, _Inline
from imaging.cli import main
from imaging.outputs.cohort import read_cohort


@pytest.fixture(scope="module")
def stub(tmp_path_factory) -> Path:
    return stub_model_file(tmp_path_factory.mktemp("model"))


def _batch(src: Path, out: Path, stub: Path, *extra: str) -> int:
    return main(["batch", str(src), "--out", str(out), "--model", str(stub), "--device", "cpu", *extra])


def _results(out: Path) -> dict[str, dict]:
    found = {}
    for p in sorted(out.glob("*/*/*/results.json")):
        results = json.loads(p.read_text())
        found[results["series"]["patient_id"]] = results
    return found


@pytest.mark.slow
def test_good_studies_complete_bad_ones_listed_with_reasons_exit_1(tmp_path, stub, capsys):
    good_archive(tmp_path / "in", 2)
    corrupt_studies(tmp_path / "in")
    out = tmp_path / "out"
    assert _batch(tmp_path / "in", out, stub, "--workers", "2") == 1
    assert set(_results(out)) == {"P0", "P1"}
    assert {r["patient_id"] for r in read_cohort(out / "cohort.csv")} == {"P0", "P1"}
    with JobsDb(out / "jobs.sqlite") as db:
        rows = {r.label.split()[0]: r for r in db.rows()}
    assert {k: r.status for k, r in rows.items()} == {
        "P0": Status.DONE,
        "P1": Status.DONE,
        "BAD_TRUNC": Status.FAILED,
        "BAD_NOISE": Status.FAILED,
        "BAD_GAP": Status.FAILED,
    }
    # the truncated and the random-bytes file are refused when read, so their series have a gap
    assert all("missing slice" in rows[k].reason for k in ("BAD_TRUNC", "BAD_GAP", "BAD_NOISE"))
    assert rows["BAD_GAP"].attempts == 1  # input errors are not retried
    done = rows["P0"]
    assert set(done.timings) >= {"decode", "preprocess", "inference", "measure", "write"}
    assert done.versions["models"][0]["name"] == "threshold-stub" and done.versions["device"] == "cpu"
    captured = capsys.readouterr()
    assert "2 done, 3 failed in this run" in captured.out
    assert "FAILED BAD_TRUNC" in captured.out
    assert "IM0005.dcm: truncated file: pixel data needs" in captured.out  # listed with why
    assert "IM0007.dcm: named like DICOM but is not DICOM" in captured.out  # the random-bytes file
    assert "bonemuscle batch: BAD_GAP" in captured.err


@pytest.mark.slow
def test_second_run_over_finished_database_does_nothing_and_exits_0(tmp_path, stub, capsys):
    good_archive(tmp_path / "in", 2)
    out = tmp_path / "out"
    assert _batch(tmp_path / "in", out, stub, "--workers", "0") == 0
    stamps = {p: p.stat().st_mtime_ns for p in out.rglob("*") if p.is_file() and "jobs.sqlite" not in p.name}
    capsys.readouterr()
    assert _batch(tmp_path / "in", out, stub, "--workers", "0") == 0
    assert "0 done, 0 failed in this run; 2 already done earlier" in capsys.readouterr().out
    assert stamps == {p: p.stat().st_mtime_ns for p in stamps}
    # changed options (another VAT window) make the finished units run again
    assert _batch(tmp_path / "in", out, stub, "--workers", "0", "--vat-window", "wide") == 0
    assert "2 done" in capsys.readouterr().out


def test_batch_results_equal_analyze_results(tmp_path, stub):
    series = good_archive(tmp_path / "in", 1)[0]
    assert (
        main(["analyze", str(series), "--out", str(tmp_path / "a"), "--model", str(stub), "--device", "cpu"])
        == 0
    )
    assert _batch(series, tmp_path / "b", stub, "--workers", "0", "--batch-size", "5") == 0
    assert _results(tmp_path / "a") == _results(tmp_path / "b")


def test_cuda_requested_without_cuda_is_refused_exit_2(tmp_path, stub, capsys):
    torch = pytest.importorskip("torch")
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    good_archive(tmp_path / "in", 1)
    code = main(
        [
            "batch",
            str(tmp_path / "in"),
            "--out",
            str(tmp_path / "out"),
            "--model",
            str(stub),
            "--device",
            "cuda",
        ]
    )
    assert code == 2
    assert "--device cuda was requested" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("flag", [("--batch-size", "0"), ("--workers", "-1"), ("--max-attempts", "0")])
def test_bad_numbers_are_usage_errors(tmp_path, stub, flag):
    good_archive(tmp_path / "in", 1)
    assert _batch(tmp_path / "in", tmp_path / "out", stub, *flag) == 2


def test_transient_errors_retry_and_are_bounded(tmp_path, stub, monkeypatch, capsys):
    good_archive(tmp_path / "in", 2)
    real = stages.decode_unit
    calls: dict[str, int] = {}

    def flaky(choice, workers=None):
        calls[choice.patient_id] = calls.get(choice.patient_id, 0) + 1
        if choice.patient_id == "P1" or calls[choice.patient_id] < 3:  # P0 recovers on try 3; P1 never
            raise OSError(errno.EIO, "I/O error on the archive share")
        return real(choice, workers)

    monkeypatch.setattr(stages, "decode_unit", flaky)
    out = tmp_path / "out"
    assert _batch(tmp_path / "in", out, stub, "--workers", "0", "--max-attempts", "3") == 1
    assert calls == {"P0": 3, "P1": 3}
    with JobsDb(out / "jobs.sqlite") as db:
        rows = {r.label.split()[0]: r for r in db.rows()}
    assert rows["P0"].status is Status.DONE and rows["P0"].attempts == 3
    assert rows["P1"].status is Status.FAILED and "gave up after 3 attempts" in rows["P1"].reason
    assert "will retry" in capsys.readouterr().err


def test_batch_size_bounds_every_forward_pass_and_workers_size_the_pool(tmp_path, stub):
    from imaging.batch.runner import BatchOptions, run_batch
    from imaging.pipeline.series_job import JobOptions
    from imaging.segmentation.source import SegmentationSource
    from segmentation_models.inference import InferenceOptions
    from segmentation_models.loading import resolve_model

    good_archive(tmp_path / "in", 3, n_slices=7)
    source = SegmentationSource(models=(resolve_model(str(stub)),), inference=InferenceOptions("cpu", 5))
    report = run_batch(tmp_path / "in", JobOptions(source), BatchOptions(tmp_path / "out", workers=0))
    assert report.summary.done_now == 3
    assert max(report.stats.batch_sizes) == 5 and sum(report.stats.batch_sizes) == 21
    assert report.stats.mixed_batches >= 1
    pool = _executor(3)
    try:
        assert pool._max_workers == 3
    finally:
        pool.shutdown()
    assert isinstance(_executor(0), _Inline)


def test_custom_db_path(tmp_path, stub):
    good_archive(tmp_path / "in", 1)
    db = tmp_path / "elsewhere" / "my.sqlite"
    assert _batch(tmp_path / "in", tmp_path / "out", stub, "--workers", "0", "--db", str(db)) == 0
    assert sqlite3.connect(db).execute("select status from jobs").fetchall() == [("done",)]
    assert not (tmp_path / "out" / "jobs.sqlite").exists()
