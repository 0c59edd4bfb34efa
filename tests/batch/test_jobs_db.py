"""Job database: planning, claims, bounded retries, recovery of rows whose process died."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys

import pytest

from imaging.batch.jobs_db import JobsDb, Status, UnitSpec, fingerprint_files, options_hash, pid_alive


def _unit(key: str = "study/series", fp: str = "fp", opts: str = "opts") -> UnitSpec:
    return UnitSpec(key, f"label {key}", fp, opts)


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_new_units_are_queued_once_and_wal_mode(tmp_path):
    with JobsDb(tmp_path / "jobs.sqlite") as db:
        first = db.sync([_unit("a"), _unit("b")])
        again = db.sync([_unit("a"), _unit("b")])
        assert first.new == ("a", "b") and again.new == ()
        assert db.queued_keys() == ["a", "b"]
    mode = sqlite3.connect(tmp_path / "jobs.sqlite").execute("PRAGMA journal_mode").fetchone()[0]
    assert mode == "wal"


def test_claim_done_then_sync_skips_unless_inputs_or_options_change(tmp_path):
    with JobsDb(tmp_path / "j.sqlite") as db:
        db.sync([_unit("a")])
        assert db.claim("a") and not db.claim("a")  # a running row cannot be claimed twice
        db.mark_done("a", {"decode": 1.5}, {"bonemuscle": "x"}, "/out/a")
        row = db.get("a")
        assert row.status is Status.DONE and row.attempts == 1 and row.timings == {"decode": 1.5}
        assert db.sync([_unit("a")]).already_done == ("a",)
        assert db.queued_keys() == []
        assert db.sync([_unit("a", fp="other")]).requeued_changed == ("a",)
        assert db.get("a").status is Status.QUEUED and db.get("a").attempts == 0
        db.claim("a")
        db.mark_done("a", {}, {}, None)
        assert db.sync([_unit("a", fp="other", opts="new options")]).requeued_changed == ("a",)


def test_transient_failures_retry_until_max_attempts(tmp_path):
    with JobsDb(tmp_path / "j.sqlite", max_attempts=3) as db:
        db.sync([_unit("a")])
        statuses = []
        for _ in range(3):
            assert db.claim("a")
            statuses.append(db.mark_failed("a", "EIO on share", transient=True))
        assert statuses == [Status.QUEUED, Status.QUEUED, Status.FAILED]
        row = db.get("a")
        assert row.attempts == 3 and "gave up after 3 attempts" in row.reason
        assert not db.claim("a")


def test_deterministic_failure_is_not_retried_and_failed_rows_stay_failed(tmp_path):
    with JobsDb(tmp_path / "j.sqlite") as db:
        db.sync([_unit("a")])
        db.claim("a")
        assert db.mark_failed("a", "missing slice", transient=False) is Status.FAILED
        assert db.sync([_unit("a")]).previously_failed == ("a",)
        assert db.queued_keys() == []
        assert db.sync([_unit("a")], retry_failed=True).requeued_changed == ("a",)
        assert db.queued_keys() == ["a"]


def test_running_row_of_a_dead_process_is_requeued_then_failed_after_max_attempts(tmp_path):
    path = tmp_path / "j.sqlite"
    with JobsDb(path, max_attempts=2) as db:
        db.sync([_unit("a")])
        for expected in (Status.QUEUED, Status.FAILED):
            db.claim("a")
            db._conn.execute("UPDATE jobs SET pid=? WHERE key='a'", (_dead_pid(),))
            assert db.recover() == ["a"]
            assert db.get("a").status is expected
        assert "died 2 times" in db.get("a").reason


def test_running_row_of_a_live_process_is_left_alone(tmp_path):
    with JobsDb(tmp_path / "j.sqlite") as db:
        db.sync([_unit("a")])
        db.claim("a")  # claimed by this (live) process
        assert db.recover() == []
        assert db.get("a").status is Status.RUNNING


def test_skipped_studies_are_recorded_with_reason(tmp_path):
    with JobsDb(tmp_path / "j.sqlite") as db:
        db.record_skipped("s/-", "P1 study s", "series 1 'Topogram': localizer")
        db.record_skipped("s/-", "P1 study s", "series 1 'Topogram': localizer")
        (row,) = db.rows()
        assert row.status is Status.SKIPPED and "localizer" in row.reason
        assert db.counts()[Status.SKIPPED] == 1


def test_fingerprint_follows_file_content_and_options_hash_is_canonical(tmp_path):
    f = tmp_path / "a.dcm"
    f.write_bytes(b"1234")
    before = fingerprint_files([f])
    assert fingerprint_files([f]) == before
    f.write_bytes(b"123456")
    assert fingerprint_files([f]) != before
    assert options_hash({"a": 1, "b": [1, 2]}) == options_hash({"b": [1, 2], "a": 1})
    assert options_hash({"a": 1}) != options_hash({"a": 2})


def test_pid_alive():
    assert pid_alive(os.getpid(), None)
    assert not pid_alive(_dead_pid(), None)
    assert not pid_alive(None, None)


def test_max_attempts_must_be_positive(tmp_path):
    with pytest.raises(ValueError, match="max_attempts"):
        JobsDb(tmp_path / "j.sqlite", max_attempts=0)
