"""MR counting with a Dixon fat-fraction map (imaging.levels.marrow), on small synthetic sets.

The synthetic spine (:mod:`._synthetic_spine`) is turned into what an MR Dixon set and a lumbar network
give: a fat-fraction map (marrow and sacrum 60 %, discs 2 %, soft tissue 10 %, cortex and air not
measurable) and a "network" bone mask that fails the way the shipped MR model does on the samples:
it bridges every disc (the column is one cylinder) and does not label the sacrum at all. Optional
fatty paraspinal muscle (45 %, marrow-like) lies behind the column on every slice.
"""

from __future__ import annotations

import numpy as np
import pytest

from imaging.levels import REFUSAL, Anchor, identify_levels
from imaging.levels.marrow import between_slices
from imaging.levels.spine import Column
from imaging.series_facts import Modality, SeriesFacts
from imaging.volume import Volume

from ._synthetic_spine import synthetic_spine


def _mr(
    n_bodies: int, sacrum: bool, fatty_paraspinal: bool = False
) -> tuple[Volume, np.ndarray, np.ndarray, np.ndarray]:
    """(MR volume, bridged bone mask without the sacrum, fat-fraction map, body owner) from the CT spine."""
    ct, owner = synthetic_spine(n_bodies, 150.0, sacrum=sacrum)
    hu = ct.array.astype(np.float32)
    ff = np.full(hu.shape, 10.0, dtype=np.float32)  # soft tissue
    ff[hu < -500] = np.nan  # air
    ff[hu == 85] = 2.0  # discs
    ff[hu == 250] = 0.0  # blood in the aorta
    ff[hu == 150] = 60.0  # vertebral marrow
    ff[hu == 300] = 60.0  # sacral marrow
    ff[hu == 900] = np.nan  # cortex: signal void
    signal = np.where(np.isnan(ff), 5.0, 1000.0).astype(np.float32)
    # The column as one cylinder through every disc, and no sacrum: as the network bridges and misses.
    section = ((owner > 0) | (hu == 85)).any(axis=0)
    ks = np.flatnonzero(owner.any(axis=(1, 2)))
    column = np.zeros(hu.shape, dtype=bool)
    column[ks[0] : ks[-1] + 1] = section
    if fatty_paraspinal:
        _, j, i = np.indices(hu.shape)
        x, y = (i - hu.shape[2] / 2) * 1.5, (j - hu.shape[1] / 2) * 1.5
        ff[(np.abs(y - 65.0) < 12.0) & (np.abs(x) > 8.0) & (np.abs(x) < 45.0)] = 45.0
    return Volume(signal, ct.affine, SeriesFacts(modality=Modality.MR)), column, ff, owner


def _majority_owner(instances: np.ndarray, owner: np.ndarray, instance: int) -> int:
    values, counts = np.unique(owner[(instances == instance) & (owner > 0)], return_counts=True)
    return int(values[np.argmax(counts)])


@pytest.mark.parametrize("fatty_paraspinal", [False, True])
def test_discs_and_the_sacrum_come_from_the_fat_fraction(fatty_paraspinal: bool) -> None:
    volume, bone, ff, owner = _mr(5, sacrum=True, fatty_paraspinal=fatty_paraspinal)
    result = identify_levels(volume, bone_mask=bone, fat_fraction_pct=ff)
    report = result.report
    assert report.established and report.anchor is Anchor.SACRUM, (report.reason, report.warnings)
    assert report.names() == ["L1", "L2", "L3", "L4", "L5", "S1"]
    assert report.vertebrae[-1].is_sacrum
    for f in report.vertebrae[:-1]:  # each lumbar name on its own body, split where the disc is
        assert _majority_owner(result.instances, owner, f.index + 1) == f.index + 1


def test_without_the_fat_fraction_the_bridged_column_is_not_counted() -> None:
    volume, bone, _, _ = _mr(5, sacrum=True)
    report = identify_levels(volume, bone_mask=bone).report
    assert not report.established and report.reason == REFUSAL


@pytest.mark.parametrize("fatty_paraspinal", [False, True])
def test_a_lumbar_field_of_view_without_the_sacrum_is_refused(fatty_paraspinal: bool) -> None:
    volume, bone, ff, _ = _mr(4, sacrum=False, fatty_paraspinal=fatty_paraspinal)
    result = identify_levels(volume, bone_mask=bone, fat_fraction_pct=ff)
    assert not result.report.established and result.report.reason == REFUSAL
    assert not result.labels.array.any()
    assert len(result.report.vertebrae) == 4  # split at every disc, only the level is unknown
    assert not any(f.is_sacrum for f in result.report.vertebrae)


def test_between_slices_are_the_water_like_ones() -> None:
    core = np.array([60.0, 62.0, 3.0, 35.0, 58.0, 61.0, 20.0])
    column = Column(np.zeros(7), np.zeros(7), np.full(7, 20.0), np.zeros((7, 2, 2), dtype=bool))
    assert between_slices(core, column, 0.5).tolist() == [False, False, True, False, False, False, True]


def test_a_fat_fraction_map_needs_an_mr_bone_mask_on_the_same_grid() -> None:
    volume, bone, ff, _ = _mr(3, sacrum=False)
    with pytest.raises(ValueError, match="bone mask"):
        identify_levels(volume, fat_fraction_pct=ff)
    with pytest.raises(ValueError, match="shape"):
        identify_levels(volume, bone_mask=bone, fat_fraction_pct=ff[1:])
