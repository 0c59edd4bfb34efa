"""The batch job database: one SQLite row per analysis unit, so a batch can be stopped and resumed.

Why SQLite: it is in the standard library, one file next to the outputs, transactional, and readable
with any SQLite client when a department wants to audit what ran. WAL mode lets a reader (``sqlite3
jobs.sqlite 'select ...'``) look while the runner writes.

Life of a row::

    queued --claim--> running --> done | failed
       ^                 |
       +-- transient error with attempts left, or its process died (kill -9, power loss)

A row is ``done`` only after its files are in place (outputs are written atomically by
:mod:`imaging.outputs`), so a kill at any moment leaves either a finished unit or a unit that runs
again and overwrites the same files. ``running`` rows whose process is gone are re-queued when a
runner opens the database; a unit whose process died ``max_attempts`` times is failed instead (a
study that crashes the runner must not crash it forever). ``skipped`` rows are studies with nothing
analysable, recorded with the reason.

A unit is identified by its key (study + series UIDs); a done row is run again only when the input
files (fingerprint) or the analysis options (options hash) changed.
"""

from __future__ import annotations

import enum
import hashlib
import json
import os
import socket
import sqlite3
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SCHEMA_VERSION = 1
DEFAULT_NAME = "jobs.sqlite"
STAGES: tuple[str, ...] = ("decode", "preprocess", "inference", "measure", "write")


class Status(enum.Enum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    SKIPPED = "skipped"


@dataclass(frozen=True)
class UnitSpec:
    """What the planner knows about a unit before running it."""

    key: str
    label: str
    fingerprint: str
    options_hash: str


@dataclass(frozen=True)
class JobRow:
    """One row as stored."""

    key: str
    label: str
    status: Status
    attempts: int
    reason: str | None
    fingerprint: str
    options_hash: str
    timings: dict[str, float]
    versions: dict[str, Any]
    folder: str | None
    pid: int | None


@dataclass(frozen=True)
class SyncReport:
    """What :meth:`JobsDb.sync` did with the planned units."""

    new: tuple[str, ...]
    requeued_changed: tuple[str, ...]
    already_done: tuple[str, ...]
    previously_failed: tuple[str, ...]


def fingerprint_files(paths: Iterable[str | Path]) -> str:
    """sha256 over (path, size, mtime) of the unit's files: cheap, and changes when any file is replaced."""
    digest = hashlib.sha256()
    for path in sorted(str(p) for p in paths):
        try:
            st = os.stat(path)
            digest.update(f"{path}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
        except OSError:
            digest.update(f"{path}\0missing\n".encode())
    return digest.hexdigest()


def options_hash(options: Mapping[str, Any]) -> str:
    """sha256 of the options as canonical JSON (sorted keys), so equal options hash equally."""
    text = json.dumps(options, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def pid_alive(pid: int | None, host: str | None) -> bool:
    """Whether a process that claimed a row may still be running (other hosts: assume it may)."""
    if pid is None:
        return False
    if host is not None and host != socket.gethostname():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return _not_zombie(pid)


def _not_zombie(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True  # no /proc: trust kill(0)
    return stat.rsplit(")", 1)[-1].split()[0] != "Z"


_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS jobs (
    key TEXT PRIMARY KEY,
    label TEXT NOT NULL,
    status TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    reason TEXT,
    fingerprint TEXT NOT NULL,
    options_hash TEXT NOT NULL,
    timings TEXT NOT NULL DEFAULT '{}',
    versions TEXT NOT NULL DEFAULT '{}',
    folder TEXT,
    pid INTEGER,
    host TEXT,
    queued_at REAL,
    started_at REAL,
    finished_at REAL
);
CREATE INDEX IF NOT EXISTS jobs_status ON jobs (status);
"""


class JobsDb:
    """The job table of one batch output folder. Every change is one transaction."""

    def __init__(self, path: str | Path, max_attempts: int = 3) -> None:
        if max_attempts < 1:
            raise ValueError(f"max_attempts must be >= 1, got {max_attempts}")
        self.path = Path(path)
        self.max_attempts = max_attempts
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._conn = sqlite3.connect(self.path, timeout=30.0, isolation_level=None)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=NORMAL")
        self._conn.executescript(_SCHEMA)
        with self._tx() as cur:
            cur.execute(
                "INSERT OR IGNORE INTO meta (name, value) VALUES ('schema_version', ?)",
                (str(SCHEMA_VERSION),),
            )
            (version,) = cur.execute("SELECT value FROM meta WHERE name='schema_version'").fetchone()
        if int(version) != SCHEMA_VERSION:
            raise ValueError(
                f"{self.path}: job database schema {version}, this bonemuscle writes {SCHEMA_VERSION}; "
                "use a new --db path"
            )

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> JobsDb:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Cursor]:
        cur = self._conn.cursor()
        cur.execute("BEGIN IMMEDIATE")
        try:
            yield cur
        except BaseException:
            cur.execute("ROLLBACK")
            raise
        cur.execute("COMMIT")

    # -- planning -----------------------------------------------------------------------------------------

    def recover(self) -> list[str]:
        """Re-queue ``running`` rows whose process is gone; fail those that died ``max_attempts`` times.

        Returns the keys re-queued or failed, for the log.
        """
        touched: list[str] = []
        with self._tx() as cur:
            rows = cur.execute("SELECT key, attempts, pid, host FROM jobs WHERE status='running'").fetchall()
            for key, attempts, pid, host in rows:
                if pid_alive(pid, host):
                    continue
                if attempts >= self.max_attempts:
                    reason = f"the process running it died {attempts} times (killed or crashed); not retried"
                    cur.execute(
                        "UPDATE jobs SET status='failed', reason=?, pid=NULL, finished_at=? WHERE key=?",
                        (reason, time.time(), key),
                    )
                else:
                    cur.execute("UPDATE jobs SET status='queued', pid=NULL, host=NULL WHERE key=?", (key,))
                touched.append(key)
        return touched

    def sync(self, units: Sequence[UnitSpec], retry_failed: bool = False) -> SyncReport:
        """Insert new units; re-queue done/failed ones whose inputs or options changed.

        ``retry_failed`` re-queues failed rows with unchanged inputs too (attempts reset).
        """
        new, changed, done, failed = [], [], [], []
        now = time.time()
        with self._tx() as cur:
            for unit in units:
                row = cur.execute(
                    "SELECT status, fingerprint, options_hash FROM jobs WHERE key=?", (unit.key,)
                ).fetchone()
                if row is None:
                    cur.execute(
                        "INSERT INTO jobs (key, label, status, fingerprint, options_hash, queued_at) "
                        "VALUES (?, ?, 'queued', ?, ?, ?)",
                        (unit.key, unit.label, unit.fingerprint, unit.options_hash, now),
                    )
                    new.append(unit.key)
                    continue
                status, fingerprint, opts = row
                same = fingerprint == unit.fingerprint and opts == unit.options_hash
                if status in ("done", "failed", "skipped") and (
                    not same or (status == "failed" and retry_failed)
                ):
                    cur.execute(
                        "UPDATE jobs SET status='queued', attempts=0, reason=NULL, label=?, fingerprint=?, "
                        "options_hash=?, queued_at=? WHERE key=?",
                        (unit.label, unit.fingerprint, unit.options_hash, now, unit.key),
                    )
                    changed.append(unit.key)
                elif status == "done":
                    done.append(unit.key)
                elif status == "failed":
                    failed.append(unit.key)
        return SyncReport(tuple(new), tuple(changed), tuple(done), tuple(failed))

    def record_skipped(self, key: str, label: str, reason: str) -> None:
        """A study with nothing analysable: recorded (not run), with why."""
        with self._tx() as cur:
            cur.execute(
                "INSERT INTO jobs (key, label, status, reason, fingerprint, options_hash, finished_at) "
                "VALUES (?, ?, 'skipped', ?, '', '', ?) ON CONFLICT(key) DO UPDATE SET "
                "status=CASE WHEN status IN ('done','failed') THEN status ELSE 'skipped' END, "
                "reason=excluded.reason",
                (key, label, reason, time.time()),
            )

    # -- running ------------------------------------------------------------------------------------------

    def claim(self, key: str) -> bool:
        """Mark a queued unit running by this process (attempts + 1). False if it is not queued."""
        with self._tx() as cur:
            cur.execute(
                "UPDATE jobs SET status='running', attempts=attempts+1, pid=?, host=?, started_at=? "
                "WHERE key=? AND status='queued'",
                (os.getpid(), socket.gethostname(), time.time(), key),
            )
            return cur.rowcount == 1

    def queued_keys(self) -> list[str]:
        rows = self._conn.execute("SELECT key FROM jobs WHERE status='queued' ORDER BY rowid").fetchall()
        return [key for (key,) in rows]

    def mark_done(
        self, key: str, timings: Mapping[str, float], versions: Mapping[str, Any], folder: str | None
    ) -> None:
        """Call only once the unit's files (and its cohort row) are in place."""
        with self._tx() as cur:
            cur.execute(
                "UPDATE jobs SET status='done', reason=NULL, timings=?, versions=?, folder=?, pid=NULL, "
                "finished_at=? WHERE key=?",
                (json.dumps(dict(timings)), json.dumps(dict(versions)), folder, time.time(), key),
            )

    def mark_failed(
        self, key: str, reason: str, transient: bool, timings: Mapping[str, float] | None = None
    ) -> Status:
        """Record a failure; a transient one with attempts left goes back to the queue. Returns the status."""
        with self._tx() as cur:
            row = cur.execute("SELECT attempts FROM jobs WHERE key=?", (key,)).fetchone()
            attempts = row[0] if row else self.max_attempts
            retry = transient and attempts < self.max_attempts
            status = Status.QUEUED if retry else Status.FAILED
            if transient and not retry:
                reason = f"{reason} (gave up after {attempts} attempts)"
            cur.execute(
                "UPDATE jobs SET status=?, reason=?, timings=?, pid=NULL, finished_at=? WHERE key=?",
                (status.value, reason, json.dumps(dict(timings or {})), time.time(), key),
            )
        return status

    # -- reading ------------------------------------------------------------------------------------------

    def rows(self, status: Status | None = None) -> list[JobRow]:
        """Rows in insertion order, optionally only those with ``status``."""
        where, args = ("WHERE status=?", (status.value,)) if status is not None else ("", ())
        return [_row(r) for r in self._conn.execute(f"{_SELECT} {where} ORDER BY rowid", args).fetchall()]

    def get(self, key: str) -> JobRow | None:
        found = self._conn.execute(f"{_SELECT} WHERE key=?", (key,)).fetchone()
        return None if found is None else _row(found)

    def counts(self) -> dict[Status, int]:
        found = dict(self._conn.execute("SELECT status, count(*) FROM jobs GROUP BY status").fetchall())
        return {s: int(found.get(s.value, 0)) for s in Status}


_SELECT = (
    "SELECT key, label, status, attempts, reason, fingerprint, options_hash, timings, versions, folder, pid "
    "FROM jobs"
)


def _row(r: Sequence[Any]) -> JobRow:
    return JobRow(
        r[0], r[1], Status(r[2]), r[3], r[4], r[5], r[6], json.loads(r[7]), json.loads(r[8]), r[9], r[10]
    )
