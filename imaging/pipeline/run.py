"""``analyze`` over a path: every analysable unit (per study: the chosen CT, or the chosen Dixon set).

Batch semantics: a unit that fails is recorded with its reason and the run goes on; outputs are
written per file atomically into the unit's own folder, so a failure never touches other results,
and a re-run replaces the same series' files. ``cohort.csv`` is merged (not rewritten from scratch)
with the units that finished, so earlier runs' rows survive.
"""

from __future__ import annotations

import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from imaging.ingest.discovery import discover
from imaging.ingest.model import FileProblem, IngestError
from imaging.ingest.selection import NotChosen, StudyChoice, choose_series
from imaging.ingest.series_index import build_index
from imaging.measurements.per_level import level_summary
from imaging.outputs import update_cohort, write_cohort_page
from imaging.pipeline.series_job import JobOptions, UnitOutcome, analyse_unit, unit_label

# Failures we expect from bad inputs; anything else is a bug, still isolated but reported with its type.
EXPECTED_FAILURES = (IngestError, ValueError, RuntimeError, OSError)


@dataclass(frozen=True)
class RunReport:
    """Everything one run did: outcomes per unit, what was set aside and why, unreadable files."""

    outcomes: tuple[UnitOutcome, ...] = ()
    not_chosen: tuple[NotChosen, ...] = ()
    problems: tuple[FileProblem, ...] = ()
    cohort: Path | None = None
    warnings: tuple[str, ...] = field(default=())

    @property
    def n_ok(self) -> int:
        return sum(o.ok for o in self.outcomes)

    @property
    def n_failed(self) -> int:
        return sum(not o.ok for o in self.outcomes)


class PlanError(ValueError):
    """The options do not fit what is under the path (nothing was analysed or written)."""


def plan_units(path: Path) -> tuple[list[StudyChoice], list[NotChosen], list[FileProblem]]:
    """Discover, index and choose: the units to analyse, the series set aside, the unreadable files.

    Raises:
        FileNotFoundError: ``path`` does not exist.
    """
    found = discover(path)
    choice = choose_series(build_index(found))
    units = [study for study in choice.studies if study.chosen]
    set_aside = [item for study in choice.studies for item in study.not_chosen]
    return units, set_aside, list(found.problems)


def analyze_units(
    units: list[StudyChoice],
    options: JobOptions,
    out_dir: Path,
    echo: Callable[[str], None] = lambda _line: None,
) -> list[UnitOutcome]:
    """Run every unit, isolating failures; ``echo`` gets one summary line per unit as it finishes."""
    outcomes: list[UnitOutcome] = []
    for unit in units:
        label = unit_label(unit)
        try:
            outcome = analyse_unit(unit, options, out_dir)
        except EXPECTED_FAILURES as exc:
            outcome = UnitOutcome(label, False, str(exc) or type(exc).__name__)
        except Exception as exc:  # a bug must not cost the other units their results
            where = traceback.extract_tb(exc.__traceback__)[-1]
            outcome = UnitOutcome(
                label,
                False,
                f"internal error {type(exc).__name__}: {exc} (at {Path(where.filename).name}:{where.lineno})",
            )
        outcomes.append(outcome)
        echo(summary_line(outcome))
    return outcomes


def analyze_path(
    path: Path,
    out_dir: Path,
    options: JobOptions,
    echo: Callable[[str], None] = lambda _line: None,
) -> RunReport:
    """Analyse everything under ``path`` into ``out_dir``, merge ``out_dir/cohort.csv``, write cohort.html.

    Nothing analysable is not an error here: the report has no outcomes and says what was set aside
    and why (``out_dir`` is then not created). Warnings of the run (e.g. a cohort page that could not
    be written) go to ``echo`` as well as into the report.

    Raises:
        FileNotFoundError: ``path`` does not exist.
        PlanError: precomputed label files (they describe one series) with several units to analyse.
    """
    units, set_aside, problems = plan_units(path)
    if options.segmentation.files and len(units) > 1:
        raise PlanError(
            f"precomputed labels (--segmentation) describe one series but {path} holds {len(units)} units "
            "to analyse; point PATH at that series' folder"
        )
    if units:
        out_dir.mkdir(parents=True, exist_ok=True)
    outcomes = analyze_units(units, options, out_dir, echo)
    finished = [o.results for o in outcomes if o.ok and o.results is not None]
    cohort = update_cohort(out_dir / "cohort.csv", finished) if finished else None
    warnings: list[str] = []
    if cohort is not None:
        try:
            write_cohort_page(out_dir)
        except (OSError, ValueError) as exc:  # the summary page must not cost the series their results
            warnings.append(f"cohort.html not written: {exc}")
            echo(warnings[-1])
    return RunReport(tuple(outcomes), tuple(set_aside), tuple(problems), cohort, tuple(warnings))


def summary_line(outcome: UnitOutcome) -> str:
    """``<unit>: ok — levels T12-L5; L3 slice 47, SMI 50.4 cm²/m²; ... -> folder`` or the failure reason."""
    if not outcome.ok:
        return f"{outcome.label}: FAILED: {outcome.reason}"
    results = outcome.results
    n_warn = len(results["warnings"]) if results else 0
    text = f"{outcome.label}: ok: {level_summary(results['levels'] if results else {})}"
    if n_warn:
        text += f"; {n_warn} warning{'s' if n_warn != 1 else ''}"
    for problem in outcome.output_problems:
        text += f"; {problem}"
    return text + f" -> {outcome.folder}"
