"""One analysis unit (a CT series, or an MR Dixon set) from DICOM to the files of the output contract.

Stages, each a function of the package that owns it, passing typed values:
assemble volume(s) → Dixon fat fraction (MR) → labels (network or precomputed) → subject match →
per-level measurements → MR block → classification → results.json dict → files.

:func:`build_results` is pure (values in, the results.json dict out); :func:`analyse_unit` does the
reading and writing around it. Every null value in the results has a warning saying why.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import numpy as np

from imaging import notices as N
from imaging.classification.engine import DEFAULT_DESCRIPTION, classify, config_summary
from imaging.classification.inputs import CtInputs
from imaging.ingest.assemble import assemble_volume
from imaging.ingest.dixon import DixonComponent
from imaging.ingest.selection import AnalysisUnit, StudyChoice
from imaging.ingest.series_index import SeriesEntry
from imaging.levels.assign import with_vertebral_levels
from imaging.matching import Match
from imaging.measurements.per_level import SMI_NOTE, LevelsResult, MeasureOptions, measure_levels
from imaging.notices import Notice, messages, unique
from imaging.outputs import write_series_outputs
from imaging.pipeline.mr_metrics import DixonFatFraction, dixon_fat_fraction, mr_block, network_image
from imaging.pipeline.subject import SubjectSources, subject_for
from imaging.schema import SCHEMA_VERSION, LevelEntry, ModelBlock, Results
from imaging.segmentation.labels import TISSUE_NAMES, VERTEBRA_NAMES, LabelMap
from imaging.segmentation.result import Segmentation
from imaging.segmentation.source import SegmentationSource, run_segmentation
from imaging.volume import Volume


@dataclass(frozen=True)
class JobOptions:
    """Everything a unit needs besides its DICOM: label source, level rules, subject records."""

    segmentation: SegmentationSource
    levels: MeasureOptions = field(default_factory=MeasureOptions)
    subject: SubjectSources = field(default_factory=SubjectSources)
    workers: int | None = None


@dataclass(frozen=True)
class UnitOutcome:
    """What happened to one unit: its results (ok) or the reason it failed."""

    label: str
    ok: bool
    reason: str | None = None
    results: Results | None = None
    folder: Path | None = None
    output_problems: tuple[str, ...] = ()


def unit_label(choice: StudyChoice) -> str:
    entry = choice.chosen[0]
    what = "Dixon set " + "+".join(e.label for e in choice.chosen) if len(choice.chosen) > 1 else entry.label
    return f"{choice.patient_id or '?'} {what}"


@dataclass(frozen=True)
class DecodedUnit:
    """A unit after decoding: the volume labels are made on, its series entry, and (MR) the Dixon map.

    The batch runner decodes in worker processes and segments elsewhere, so this value is what
    crosses the process boundary between those stages (it pickles: arrays, headers, small records).
    """

    choice: StudyChoice
    entry: SeriesEntry
    volume: Volume
    dff: DixonFatFraction | None = None
    series_list: tuple[dict[str, Any], ...] = ()
    network_image: Volume | None = None  # MR: the in-phase image the network reads (same grid as volume)

    @property
    def model_volume(self) -> Volume:
        """What a network segments: the MR network image when there is one, else the volume itself."""
        return self.network_image if self.network_image is not None else self.volume


def decode_unit(choice: StudyChoice, workers: int | None = None) -> DecodedUnit:
    """Assemble the unit's volume (MR Dixon: all components, then the fat-fraction map).

    Raises:
        IngestError, ValueError (incl. DixonSetError): the reason the unit cannot be decoded.
    """
    if choice.unit is AnalysisUnit.MR_DIXON:
        volumes = {
            comp: assemble_volume(entry.instances, workers=workers)
            for comp, entry in zip(choice.dixon_components, choice.chosen, strict=True)
        }
        dff = dixon_fat_fraction(volumes)
        entry = dict(zip(choice.dixon_components, choice.chosen, strict=True))[dff.reference]
        series_list = tuple(
            _series_ref(e, c) for c, e in zip(choice.dixon_components, choice.chosen, strict=True)
        )
        image = network_image(volumes)
        return DecodedUnit(choice, entry, volumes[dff.reference], dff, series_list, image)
    entry = choice.chosen[0]
    return DecodedUnit(choice, entry, assemble_volume(entry.instances, workers=workers))


def segment_decoded(decoded: DecodedUnit, source: SegmentationSource) -> Segmentation:
    """Labels for a decoded unit from the networks or files (Dixon: with its fat-fraction map)."""
    if decoded.dff is not None:
        volume = decoded.model_volume  # on the reference grid (checked), so labels land there too
        return run_segmentation(source, volume, decoded.dff.map.percent, decoded.dff.map.folded)
    return run_segmentation(source, decoded.volume)


def finish_unit(
    decoded: DecodedUnit,
    seg: Segmentation,
    levels_options: MeasureOptions,
    subject: SubjectSources,
    model_block: ModelBlock,
    out_dir: Path,
    clock: dict[str, float] | None = None,
) -> UnitOutcome:
    """Measure, classify and write one segmented unit (the stages after inference).

    ``clock``, when given, receives the seconds spent measuring (``measure``) and writing (``write``):
    the batch runner reports time per stage.

    Raises:
        ValueError, RuntimeError: with the reason the unit failed.
    """
    volume, entry, dff = decoded.volume, decoded.entry, decoded.dff
    started = time.perf_counter()
    ff_map = dff.map.percent if dff is not None else None  # MR: discs and sacrum from marrow fat
    seg = with_vertebral_levels(volume, seg, is_ct=dff is None, fat_fraction_pct=ff_map)
    matched, dxa_json, subject_warnings = subject_for(volume.meta, subject)
    levels = measure_levels(volume, seg, levels_options, matched.subject.height_m, entry.contrast)
    results = build_results(entry, volume, seg, levels, matched, dxa_json, subject_warnings, model_block, dff)
    if decoded.series_list:
        results["mr"]["dixon_series"] = list(decoded.series_list)
    tissue = seg.tissue or LabelMap(np.zeros(volume.shape, np.uint8), dict(TISSUE_NAMES))
    vertebrae = seg.vertebrae or LabelMap(np.zeros(volume.shape, np.uint8), dict(VERTEBRA_NAMES))
    measured = time.perf_counter()
    written = write_series_outputs(
        out_dir,
        volume,
        [inst.header for inst in entry.instances],
        tissue,
        vertebrae,
        results,
        fat_fraction_pct=None if dff is None else dff.map.percent,
    )
    if clock is not None:
        clock["measure"] = clock.get("measure", 0.0) + measured - started
        clock["write"] = clock.get("write", 0.0) + time.perf_counter() - measured
    return UnitOutcome(unit_label(decoded.choice), True, None, results, written.folder, written.problems)


def analyse_unit(choice: StudyChoice, options: JobOptions, out_dir: Path) -> UnitOutcome:
    """Analyse one chosen unit and write its outputs: decode → segment → measure and write.

    Raises:
        IngestError, ValueError (incl. DixonSetError), RuntimeError: with the reason the unit failed;
            the caller records it and goes on with the other units.
    """
    decoded = decode_unit(choice, workers=options.workers)
    seg = segment_decoded(decoded, options.segmentation)
    model_block = options.segmentation.model_block(decoded.model_volume.meta.modality.value)
    return finish_unit(decoded, seg, options.levels, options.subject, model_block, out_dir)


def build_results(
    entry: SeriesEntry,
    volume: Volume,
    seg: Segmentation,
    levels: LevelsResult,
    matched: Match,
    dxa_json: Mapping[str, Any] | None,
    subject_warnings: Sequence[str],
    model: ModelBlock,
    dff: DixonFatFraction | None = None,
) -> Results:
    """The results.json record of one unit (pure; its type is :class:`imaging.schema.Results`)."""
    meta = volume.meta
    is_ct = meta.is_ct
    notices: list[Notice] = [
        *(Notice(N.INGEST, w) for w in meta.warnings),
        *(Notice(N.SEGMENTATION, w) for w in seg.warnings),
        *(Notice(f"segmentation.no_{name}", why) for name, why in seg.missing.items()),
    ]
    level_entries = {name: dict(values) for name, values in levels.levels.items()}
    mr: dict[str, Any] | None = None
    if dff is not None:
        mr, per_level, mr_warnings = mr_block(dff, seg, volume, levels.slices)
        for name, extra in per_level.items():
            level_entries[name].update(extra)
        notices += [Notice(N.MR, w) for w in mr_warnings]
    notices += levels.notices
    notices += [Notice(N.ACQUISITION, w) for w in _contrast_warnings(entry, is_ct)]
    notices += [Notice(N.SUBJECT, w) for w in subject_warnings]
    subject = matched.subject_dict()
    if subject["bmi_kg_m2"] is None:
        notices.append(Notice(N.SUBJECT, "BMI null: weight or height unknown"))
    ct_inputs = CtInputs.from_levels(level_entries, entry.contrast) if is_ct else None
    classification = classify(matched.classification_inputs(ct_inputs))
    results: Results = {
        "schema_version": SCHEMA_VERSION,
        "series": {
            "patient_id": meta.patient_id or entry.patient_id or None,
            "study_uid": entry.study_uid or entry.study_key,
            "series_uid": entry.series_uid or entry.series_key,
            "modality": meta.modality_code or entry.modality,
            "description": meta.description or entry.description or None,
            "n_slices": int(volume.shape[0]),
            "spacing_mm": [round(v, 6) for v in volume.spacing_xyz],
            "series_number": entry.series_number,
        },
        "subject": subject,
        "acquisition": {
            "contrast": entry.contrast,
            "contrast_evidence": entry.contrast_evidence,
            "kvp": meta.kvp if is_ct else None,
            "kernel": meta.kernel,
            "manufacturer": meta.manufacturer,
            "slice_thickness_mm": meta.slice_thickness_mm,
            "corrections": list(meta.corrections),
        },
        # entries are assembled by the measurement functions; check_results validates them on writing
        "levels": cast(dict[str, LevelEntry], level_entries),
        "levels_not_measured": levels.not_measured,
        "levels_cut_by_scan_range": levels.cut_levels,
        "volumes_ml": levels.volumes,
        "classification": classification,
        "classification_config": {**config_summary(), "description": DEFAULT_DESCRIPTION},
        "model": model,
        "segmentation": {
            k: v
            for k, v in seg.meta.items()
            if k in ("source", "sources", "partial", "tissue_rule", "vertebra_levels")
        },
        "notes": [SMI_NOTE],
        "warnings": messages(notices),
        "notices": [{"code": n.code, "level": n.level, "message": n.message} for n in unique(notices)],
    }
    if mr is not None:
        results["mr"] = mr
    if matched.conflicts:
        results["subject"]["conflicts"] = [c.to_dict() for c in matched.conflicts]
    if dxa_json is not None:
        results["dxa"] = dict(dxa_json)
    return results


def _contrast_warnings(entry: SeriesEntry, is_ct: bool) -> list[str]:
    if not is_ct:
        return []
    if entry.contrast == "yes":
        return [
            f"contrast-enhanced CT ({entry.contrast_evidence}): contrast raises muscle and trabecular HU; "
            "HU cut-offs were derived mostly on specific phases, so HU-based values and screens are flagged "
            "(contrast='yes' at every level)"
        ]
    if entry.contrast == "unknown":
        return [
            "contrast status unknown: no DICOM tag or description says whether contrast was given; "
            "HU values are flagged contrast='unknown'"
        ]
    return []


def _series_ref(entry: SeriesEntry, component: DixonComponent) -> dict[str, Any]:
    return {
        "component": component.value,
        "series_uid": entry.series_uid or entry.series_key,
        "series_number": entry.series_number,
        "description": entry.description,
    }
