"""kill -9 mid-batch, run again: every unit done exactly once, nothing partial, same results."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from _archive import good_archive, stub_model_file

from imaging.outputs.cohort import read_cohort

N_UNITS = 5


def _command(src: Path, out: Path, model: Path) -> list[str]:
    code = "import sys; from imaging.cli import main; sys.exit(main(sys.argv[1:]))"
    return [
        sys.executable,
        "-c",
        code,
        "batch",
        str(src),
        "--out",
        str(out),
        "--model",
        str(model),
        "--device",
        "cpu",
        "--workers",
        "1",
        "--batch-size",
        "4",
    ]


def _done_count(db: Path) -> int:
    if not db.exists():
        return 0
    try:
        return (
            sqlite3.connect(db, timeout=5)
            .execute("select count(*) from jobs where status='done'")
            .fetchone()[0]
        )
    except sqlite3.OperationalError:  # table not created yet
        return 0


def _results(out: Path) -> dict[str, dict]:
    return {p.parent.name: json.loads(p.read_text()) for p in sorted(out.glob("*/*/*/results.json"))}


@pytest.mark.slow
def test_kill_9_after_first_unit_then_resume(tmp_path):
    src, out, ref = tmp_path / "in", tmp_path / "out", tmp_path / "ref"
    good_archive(src, N_UNITS, n_slices=24)
    model = stub_model_file(tmp_path / "model")
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    # start_new_session: the runner and its worker processes form one group we can kill together
    proc = subprocess.Popen(
        _command(src, out, model),
        env=env,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    # Kill as soon as the first unit's results.json exists: its files are written but (cohort rows are
    # flushed in groups) it is not yet marked done -- the hardest moment to be interrupted.
    deadline = time.monotonic() + 120
    while not list(out.glob("*/*/*/results.json")) and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    assert proc.poll() is None, "the batch finished before it could be killed"
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    done_at_kill = _done_count(out / "jobs.sqlite")
    assert done_at_kill < N_UNITS

    resumed = subprocess.run(_command(src, out, model), env=env, capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    assert (
        f"{N_UNITS - done_at_kill} done, 0 failed in this run; {done_at_kill} already done" in resumed.stdout
    )

    rows = sqlite3.connect(out / "jobs.sqlite").execute("select status, attempts from jobs").fetchall()
    assert len(rows) == N_UNITS and all(status == "done" for status, _ in rows)
    cohort = read_cohort(out / "cohort.csv")
    assert len(cohort) == N_UNITS and len({r["series_uid"] for r in cohort}) == N_UNITS
    assert not [p for p in out.rglob("*") if ".tmp" in p.name]  # no temporary leftovers

    fresh = subprocess.run(_command(src, ref, model), env=env, capture_output=True, text=True, timeout=300)
    assert fresh.returncode == 0, fresh.stderr
    assert _results(out) == _results(ref)  # identical to an uninterrupted run
