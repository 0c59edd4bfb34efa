"""Progress of a batch on stderr, and the summary at its end.

On a terminal: one line redrawn in place (bar, units done/total, failures, ETA). Elsewhere (a log
file, cron, CI): no control characters, one line per finished unit, so logs stay greppable. No
dependency: the arithmetic is a few lines.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TextIO

BAR_WIDTH = 24


def format_duration(seconds: float | None) -> str:
    """``1:02:03`` / ``2:03``; ``?`` when unknown."""
    if seconds is None or seconds != seconds or seconds < 0:
        return "?"
    s = round(seconds)
    h, rest = divmod(s, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


def eta_seconds(done: int, total: int, elapsed: float) -> float | None:
    """Remaining time at the mean rate so far; None before the first unit (no rate yet)."""
    if done <= 0 or total <= done:
        return None if done <= 0 else 0.0
    return elapsed / done * (total - done)


class Progress:
    """Counts finished units and reports them on ``stream``."""

    def __init__(
        self,
        stream: TextIO | None = None,
        tty: bool | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty() if tty is None else tty
        self.clock = clock
        self.total = 0
        self.done = 0
        self.failed = 0
        self._start = clock()
        self._drawn = False

    def start(self, total: int) -> None:
        self.total, self.done, self.failed = total, 0, 0
        self._start = self.clock()
        if self.tty and total:
            self._draw()

    def unit_finished(self, label: str, ok: bool, detail: str = "") -> None:
        self.done += 1
        self.failed += not ok
        if self.tty:
            self._draw()
            return
        text = f"[{self.done}/{self.total}] {label}: {'ok' if ok else 'FAILED'}"
        self.stream.write(text + (f": {detail}" if detail else "") + "\n")
        self.stream.flush()

    def note(self, line: str) -> None:
        """A message that must not be overwritten by the bar (retries, recovered rows)."""
        if self.tty and self._drawn:
            self.stream.write("\r\x1b[K")
        self.stream.write(line + "\n")
        if self.tty and self._drawn:
            self._draw()
        self.stream.flush()

    def close(self) -> None:
        if self.tty and self._drawn:
            self.stream.write("\n")
            self.stream.flush()
            self._drawn = False

    def line(self) -> str:
        elapsed = self.clock() - self._start
        frac = self.done / self.total if self.total else 1.0
        filled = round(frac * BAR_WIDTH)
        bar = "#" * filled + "-" * (BAR_WIDTH - filled)
        failed = f", {self.failed} failed" if self.failed else ""
        eta = format_duration(eta_seconds(self.done, self.total, elapsed))
        return (
            f"[{bar}] {self.done}/{self.total} units{failed}, elapsed {format_duration(elapsed)}, ETA {eta}"
        )

    def _draw(self) -> None:
        self.stream.write("\r\x1b[K" + self.line())
        self.stream.flush()
        self._drawn = True


@dataclass(frozen=True)
class Summary:
    """The end-of-run account: counts, failures with reasons, time and throughput."""

    done_now: int
    failed_now: int
    already_done: int
    skipped: Sequence[tuple[str, str]]
    failures: Sequence[tuple[str, str]]
    wall_s: float
    stage_seconds: Mapping[str, float] = field(default_factory=dict)
    unreadable: Sequence[tuple[str, str]] = ()

    @property
    def studies_per_hour(self) -> float | None:
        """Units finished in this run per hour of wall time; None when none finished."""
        if self.done_now == 0 or self.wall_s <= 0:
            return None
        return self.done_now / self.wall_s * 3600.0

    def lines(self) -> list[str]:
        rate = self.studies_per_hour
        out = [
            f"{self.done_now} done, {self.failed_now} failed in this run; {self.already_done} already done "
            f"earlier; {len(self.skipped)} skipped; wall {format_duration(self.wall_s)}"
            + (f", {rate:.1f} studies/hour" if rate is not None else "")
        ]
        if self.done_now and self.stage_seconds:
            per = ", ".join(f"{k} {v / self.done_now:.2f}" for k, v in self.stage_seconds.items())
            out.append(f"seconds per unit by stage: {per}")
        out += [f"  FAILED {label}: {reason}" for label, reason in self.failures]
        out += [f"  skipped {label}: {reason}" for label, reason in self.skipped]
        out += [f"  unreadable {where}: {reason}" for where, reason in self.unreadable]
        return out
