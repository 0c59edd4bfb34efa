"""Typed values of level identification: options, anchors, per-vertebra findings and the report.

The report is what a reader (and results.json's warnings) needs to judge a level: which anatomy
anchored the count, how far each vertebra is from that anchor, and what was *not* seen. A level the
field of view cannot establish has ``name=None`` and a reason; it is never filled in by a guess.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

import numpy as np

from imaging.segmentation.labels import LabelMap


class Anchor(enum.StrEnum):
    """Anatomy that fixes the count."""

    SACRUM = "sacrum"  # the vertebra directly above the sacrum is L5
    LOWEST_RIB = "lowest_rib_bearing_vertebra"  # the lowest rib-bearing vertebra is T12
    BOTH = "sacrum_and_lowest_rib"  # both seen and consistent (five lumbar-type vertebrae between)
    NONE = "none"


@dataclass(frozen=True)
class LevelOptions:
    """Thresholds of the anatomy rules (mm, HU). Defaults suit adult CT; all are documented guesses
    of anatomy sizes, not fitted values.

    ``bone_hu`` applies only when no bone mask is passed in (MR always passes one).
    """

    bone_hu: float = 180.0
    body_hu: float = -300.0
    inplane_mm: float = 1.2
    body_opening_mm: float = 5.0  # keeps vertebral bodies, drops laminae, processes and ribs
    min_body_area_mm2: float = 300.0
    cortex_gap_mm: float = 5.0  # closing radius that seals a thin, noisy cortex before hole filling
    # Holes in the bone mask are filled (trabecular interior of a thin cortex) unless their area is
    # in this range, which is the spinal canal's (filling it would merge the arch into the body).
    canal_hole_mm2: tuple[float, float] = (120.0, 420.0)
    canal_front_bone_mm: float = 12.0  # ... and only when this much bone lies in front of it (the body)
    canal_neck_mm: float = 3.5  # holes are cut where narrower than ~2x this, if that frees the canal
    max_offcentre_mm: float = 45.0  # column centre within this of the trunk's midline (x)
    soft_tissue_hu: float = 40.0  # what a CT disc line would read with no bone in it (discs.py)
    disc_drop: float = 0.5  # a disc's core falls this fraction of the way from the body to soft tissue
    min_body_height_mm: float = 8.0  # shorter fragments not at the field-of-view edge are dropped
    # CT discs from the straightened sagittal view (imaging.levels.discs): a vertebra plus its disc is
    # >= ~18 mm even at C7/T1, and a disc is a valley between its endplates at least this deep (as a
    # fraction of the endplates' height above soft tissue; real discs read 0.3-0.9, marrow texture up to
    # ~0.45 but then within min_disc_spacing_mm of a disc or between two: see discs._regularise) ...
    min_disc_spacing_mm: float = 16.0
    min_disc_depth: float = 0.3
    disc_half_thickness_mm: float = 2.0  # ... whose plane +- this is left to no body (endplate blur)
    fov_margin_mm: float = 3.0  # a body ending closer than this to the scan's end counts as cut
    rib_min_lateral_mm: float = 70.0  # a rib reaches at least this far from the column axis
    rib_max_half_thickness_mm: float = 7.0  # ribs vanish under an in-plane erosion of this radius
    # A rib head meets the column beside the body's posterior half or behind it (costovertebral and
    # costotransverse joints): its head may lie at most this fraction of the body half-width in front
    # of the body's centre ...
    rib_head_front_fraction: float = 0.25
    # ... and on CT it is cortical bone: the 90th percentile of its values reaches this (ribs read
    # 600+ HU at 1-2 mm, enhanced kidney cortex and renal vessels stay near 200-320 HU).
    rib_cortex_hu: float = 350.0
    rib_tube_margin_mm: float = 5.0  # bone beyond body half-width + this is "outside the column"
    sacrum_min_width_mm: float = 70.0
    sacrum_width_ratio: float = 1.6  # sacrum width / median vertebral body width
    # MR with a Dixon fat-fraction map (imaging.levels.marrow): marrow reads above
    # disc_drop x the column's marrow level and below adipose tissue (~90 % signal fat fraction) ...
    marrow_ff_max_pct: float = 85.0
    # ... and the sacrum is followed below the lowest body until this much z holds no marrow at the axis
    # (the lumbosacral disc is ~10-15 mm).
    sacrum_search_gap_mm: float = 20.0
    posterior_reach_mm: float = 90.0  # posterior elements searched this far behind the body centre
    lateral_reach_mm: float = 40.0  # ... and this far beyond the body's lateral edge

    def __post_init__(self) -> None:
        lo, hi = self.canal_hole_mm2
        if not 0 <= lo < hi:
            raise ValueError(
                f"canal_hole_mm2 must be (low, high) with 0 <= low < high, got {self.canal_hole_mm2}"
            )
        for name in ("inplane_mm", "body_opening_mm", "min_body_area_mm2", "rib_min_lateral_mm"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be positive, got {getattr(self, name)}")


@dataclass(frozen=True)
class VertebraFinding:
    """One vertebral body found in the field of view, cranial to caudal ``index`` (0 = most cranial).

    ``z_range_mm`` is (inferior, superior) LPS z of the body. ``ribs`` lists the sides ("left",
    "right") with a rib articulating here; ``ribs_assessable`` says whether the absence of a rib
    would have been visible (body wholly inside the field of view, flanks covered).
    """

    index: int
    name: str | None
    z_range_mm: tuple[float, float]
    centroid_lps: tuple[float, float, float]
    cut_by_fov: bool
    ribs: tuple[str, ...]
    ribs_assessable: bool
    is_sacrum: bool = False
    anchor: Anchor = Anchor.NONE
    steps_from_anchor: int | None = None
    confidence: float = 0.0
    process_span_mm: float | None = None  # left-right, tip to tip of the transverse processes


@dataclass(frozen=True)
class LevelReport:
    """Names, overall confidence and the reasoning, for results.json and the QA report."""

    anchor: Anchor
    established: bool
    confidence: float
    reason: str
    vertebrae: tuple[VertebraFinding, ...]
    lumbar_count: int | None = None  # vertebrae between the lowest rib-bearing one and the sacrum
    warnings: tuple[str, ...] = ()
    iliac_crest_z_mm: float | None = None  # the intercristal line's height, where the ilia are in view

    def names(self) -> list[str]:
        return [v.name for v in self.vertebrae if v.name is not None]


@dataclass(frozen=True)
class LevelResult:
    """Vertebra label map on the input grid (contract names; empty when not established), the unnamed
    instance map (1 = most cranial body found, for QA), and the report."""

    labels: LabelMap
    instances: np.ndarray
    report: LevelReport
    timings_s: dict[str, float] = field(default_factory=dict)
