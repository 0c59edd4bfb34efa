"""Vertebra labels for a unit whose segmentation did not bring its own.

Tissue networks predict compartments, not levels; levels come from the anatomy-anchored counting in
:mod:`imaging.levels` (sacrum, lowest rib-bearing vertebra), which needs nothing but HU on
CT and the network's bone mask on MR, plus the Dixon fat-fraction map when the set has one (discs and
the sacrum's marrow: :mod:`imaging.levels.marrow`); a sagittal MR series, which the axial networks
cannot read, gets its bodies from the signal alone (:mod:`imaging.levels.mr_sagittal`). A
precomputed or model-provided vertebra map is kept as given.
The report goes into results.json (``segmentation.vertebra_levels``) so a reader sees which anchor
named L3 and how confident that is, or why no level could be established.
"""

from __future__ import annotations

from dataclasses import asdict, replace
from typing import Any

import numpy as np

from imaging.levels import LevelReport, identify_levels
from imaging.segmentation.result import Segmentation
from imaging.volume import Volume


def with_vertebral_levels(
    volume: Volume, seg: Segmentation, is_ct: bool, fat_fraction_pct: np.ndarray | None = None
) -> Segmentation:
    """``seg`` with a vertebra map from anatomy when it has none (single slices are left alone:
    their level is stated by the user). ``fat_fraction_pct``: an MR Dixon set's map on the volume's
    grid (percent, NaN where not measurable)."""
    if seg.vertebrae is not None or volume.shape[0] == 1:
        return seg
    if is_ct or is_sagittal(volume):
        # CT: HU alone. Sagittal MR: the axial tissue networks cannot read it, so their bone mask is
        # no evidence; the bodies come from the signal (imaging.levels.mr_sagittal), unnamed.
        result = identify_levels(volume)
    elif seg.tissue is not None and seg.tissue.mask("bone").any():
        bone = seg.tissue.mask("bone")
        result = identify_levels(volume, bone_mask=bone, fat_fraction_pct=fat_fraction_pct)
    else:
        note = "vertebral levels not identified: no bone labels to count vertebrae on this MR series"
        return replace(seg, missing={**seg.missing, "vertebrae": note})
    report = result.report
    meta = {**seg.meta, "vertebra_levels": report_dict(report)}
    warnings = (*seg.warnings, *report.warnings)
    # The sources' note that they gave no vertebra labels is answered here: by the labels, or by why
    # the anatomy could not name them (a refusal is no labels, not labels of nothing).
    if not report.established:
        missing = {**seg.missing, "vertebrae": f"vertebral levels not established: {report.reason}"}
        return replace(seg, meta=meta, warnings=warnings, missing=missing)
    cut = frozenset(v.name for v in report.vertebrae if v.name is not None and v.cut_by_fov)
    return replace(
        seg,
        vertebrae=result.labels,
        meta=meta,
        warnings=warnings,
        missing=seg.supplied("vertebrae"),
        cut_by_scan=cut,
    )


def is_sagittal(volume: Volume) -> bool:
    """Slices cut left-right (their normal within ~45 degrees of the patient's x axis)."""
    return abs(float(volume.slice_normal[0])) > 0.7


def report_dict(report: LevelReport) -> dict[str, Any]:
    """JSON form of the level report: anchor, confidence, reason and each vertebra found."""
    return {
        "method": "anatomy-anchored counting (imaging.levels)",
        "anchor": str(report.anchor),
        "established": report.established,
        "confidence": round(float(report.confidence), 3),
        "reason": report.reason,
        "lumbar_count": report.lumbar_count,
        "iliac_crest_z_mm": None if report.iliac_crest_z_mm is None else round(report.iliac_crest_z_mm, 1),
        "vertebrae": [
            {
                **{k: v for k, v in asdict(f).items() if k not in ("anchor", "z_range_mm", "centroid_lps")},
                "anchor": str(f.anchor),
                "z_range_mm": [round(float(z), 2) for z in f.z_range_mm],
                "centroid_lps": [round(float(c), 2) for c in f.centroid_lps],
                "confidence": round(float(f.confidence), 3),
            }
            for f in report.vertebrae
        ],
    }
