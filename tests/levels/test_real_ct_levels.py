"""The real upper-abdomen CT (20 slices of 2 mm, T11-T12): two vertebrae, no anchor in 40 mm.

Data: ../shared/data/real/ct_upper_abdomen_b, read in place. What the slab can establish: the lower
body (T12) is cut by the scan's lower end and its floating 12th rib leaves the slab before it could be
told from a transverse process; T11 is cut at the top. No vertebra is shown rib-free and the sacrum is
far below, so the honest answer is "level cannot be established" -- while the two bodies found must
still be the two that TotalSegmentator calls vertebrae_T11 and vertebrae_T12, compared in world
coordinates (its label map is stored LAS, the DICOM grid LPS).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from imaging.ingest.assemble import assemble_volume
from imaging.ingest.model import Instance, Source
from imaging.levels import REFUSAL, LevelResult, identify_levels
from imaging.levels.slices import vertebral_body_mask
from imaging.volume import Volume, from_nifti

pytestmark = pytest.mark.shared


@pytest.fixture(scope="module")
def case(shared_data: Path) -> Path:
    return shared_data / "real" / "ct_upper_abdomen_b"


@pytest.fixture(scope="module")
def ct(case: Path) -> Volume:
    files = sorted(p for p in (case / "dicom").iterdir() if p.is_file())
    return assemble_volume([Instance(Source(f), Source(f).read(stop_before_pixels=True)) for f in files])


@pytest.fixture(scope="module")
def result(ct: Volume) -> LevelResult:
    return identify_levels(ct)


def _ts_label_at(seg: Volume, names: dict[str, int], world: np.ndarray) -> str | None:
    """TotalSegmentator label name at LPS points (nearest voxel), by majority."""
    kji = (np.linalg.inv(seg.affine) @ np.c_[world, np.ones(len(world))].T)[:3].T
    kji = np.rint(kji).astype(int)
    inside = np.all((kji >= 0) & (kji < np.array(seg.shape)), axis=1)
    values = seg.array[tuple(kji[inside].T)]
    values = values[values > 0]
    if values.size == 0:
        return None
    by_value = {v: k for k, v in names.items()}
    uniq, counts = np.unique(values, return_counts=True)
    return by_value.get(int(uniq[np.argmax(counts)]))


def test_level_is_honestly_not_established(result: LevelResult) -> None:
    report = result.report
    assert not report.established
    assert report.reason == REFUSAL
    assert not result.labels.array.any()
    assert all(v.name is None for v in report.vertebrae)


def test_both_vertebrae_are_cut_by_the_slab_and_their_ribs_not_assessable(result: LevelResult) -> None:
    found = [v for v in result.report.vertebrae if not v.is_sacrum]
    assert len(found) == 2
    assert all(v.cut_by_fov for v in found)
    assert not any(v.ribs_assessable for v in found)


def test_bodies_found_are_totalsegmentators_t11_and_t12(case: Path, ct: Volume, result: LevelResult) -> None:
    seg = from_nifti(case / "totalsegmentator_total.nii.gz")
    names = {
        n: int(k) for k, n in json.loads((case / "totalsegmentator_total.labels.json").read_text()).items()
    }
    upper, lower = sorted(result.report.vertebrae, key=lambda v: -v.z_range_mm[1])
    for finding, expected in ((upper, "vertebrae_T11"), (lower, "vertebrae_T12")):
        body = vertebral_body_mask(result.instances == finding.index + 1, ct)
        assert body.any()
        world = ct.world(np.argwhere(body))
        assert _ts_label_at(seg, names, world) == expected
