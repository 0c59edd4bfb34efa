"""Progress line (terminal), one line per unit (logs), ETA arithmetic and the final summary."""

from __future__ import annotations

import io

from imaging.batch.progress import Progress, Summary, eta_seconds, format_duration


class _Clock:
    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


def test_eta_and_duration():
    assert eta_seconds(0, 10, 5.0) is None
    assert eta_seconds(2, 10, 20.0) == 80.0
    assert eta_seconds(10, 10, 20.0) == 0.0
    assert format_duration(None) == "?"
    assert format_duration(75) == "1:15"
    assert format_duration(3725) == "1:02:05"


def test_not_a_tty_writes_one_plain_line_per_unit():
    stream, clock = io.StringIO(), _Clock()
    progress = Progress(stream, tty=False, clock=clock)
    progress.start(2)
    progress.unit_finished("P1 series 2", True, "level L3")
    progress.unit_finished("P2 series 3", False, "missing slice")
    progress.close()
    assert stream.getvalue().splitlines() == [
        "[1/2] P1 series 2: ok: level L3",
        "[2/2] P2 series 3: FAILED: missing slice",
    ]
    assert "\r" not in stream.getvalue()


def test_tty_redraws_one_line_with_eta():
    stream, clock = io.StringIO(), _Clock()
    progress = Progress(stream, tty=True, clock=clock)
    progress.start(4)
    clock.t += 30.0
    progress.unit_finished("P1", True)
    assert progress.line().endswith("1/4 units, elapsed 0:30, ETA 1:30")
    progress.note("P2: EIO; will retry")
    progress.close()
    text = stream.getvalue()
    assert text.count("\r") >= 2 and "P2: EIO; will retry\n" in text and text.endswith("\n")


def test_summary_counts_failures_and_rate():
    summary = Summary(
        done_now=3,
        failed_now=1,
        already_done=2,
        skipped=[("P9 study x", "localizer only")],
        failures=[("P4 series 2", "missing slice")],
        wall_s=60.0,
        stage_seconds={"decode": 3.0, "inference": 6.0},
        unreadable=[("/a/b.dcm", "not DICOM")],
    )
    assert summary.studies_per_hour == 180.0
    lines = summary.lines()
    assert lines[0].startswith("3 done, 1 failed in this run; 2 already done earlier; 1 skipped")
    assert "180.0 studies/hour" in lines[0]
    assert lines[1] == "seconds per unit by stage: decode 1.00, inference 2.00"
    assert "  FAILED P4 series 2: missing slice" in lines
    assert "  unreadable /a/b.dcm: not DICOM" in lines
    assert Summary(0, 0, 5, [], [], 1.0).studies_per_hour is None
