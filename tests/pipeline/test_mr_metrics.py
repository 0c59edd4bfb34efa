"""Dixon fat fraction from synthetic water/fat and in/opposed-phase images of known composition,
and per-level MR values on the sample Dixon sets with the shipped networks (slow)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from pipeline._synthetic_ct import label_arrays

from imaging.cli import main
from imaging.ingest.dixon import DixonComponent as C
from imaging.measurements.per_level import MeasureOptions, measure_levels
from imaging.outputs import validate_results
from imaging.pipeline.mr_metrics import DixonSetError, dixon_fat_fraction, mr_block
from imaging.segmentation.labels import TISSUE_NAMES, VERTEBRA_NAMES, LabelMap
from imaging.segmentation.result import Segmentation
from imaging.series_facts import Modality, SeriesFacts
from imaging.volume import Volume
from segmentation_models.class_schema import MUSCLE_GROUP_NAMES

_T = {n: v for v, n in TISSUE_NAMES.items()}
# fat fraction per tissue (percent); signal 1000 everywhere inside the body, noise-free air is 0
FF = {"skeletal_muscle": 10.0, "imat": 80.0, "sat": 90.0, "vat": 85.0, "bone": 60.0}


def _images(rng_sd: float = 5.0) -> tuple[dict[C, Volume], Segmentation]:
    tissue, vert = label_arrays()
    ff = np.zeros(tissue.shape)
    for name, value in FF.items():
        ff[tissue == _T[name]] = value / 100.0
    body = tissue > 0
    rng = np.random.default_rng(0)
    noise = lambda: np.abs(rng.normal(0, rng_sd, tissue.shape))  # noqa: E731 - Rayleigh-like air noise
    water = np.where(body, 1000.0 * (1 - ff), 0) + noise()
    fat = np.where(body, 1000.0 * ff, 0) + noise()
    affine = np.eye(4)
    affine[:3, 0] = [0, 0, 3.0]
    affine[:3, 1] = [0, 1.0, 0]
    affine[:3, 2] = [1.0, 0, 0]
    vols = {
        C.WATER: Volume(water, affine, SeriesFacts(modality=Modality.MR)),
        C.FAT: Volume(fat, affine, SeriesFacts(modality=Modality.MR)),
        C.IN_PHASE: Volume(water + fat, affine, SeriesFacts(modality=Modality.MR)),
        C.OPPOSED_PHASE: Volume(np.abs(water - fat), affine, SeriesFacts(modality=Modality.MR)),
    }
    groups = np.zeros_like(tissue)
    groups[:, 10:20, 10:20] = 1  # psoas: left half of the muscle block
    groups[:, 10:20, 20:30] = 2  # paraspinal: right half
    seg = Segmentation(
        LabelMap(tissue, dict(TISSUE_NAMES)),
        LabelMap(vert, dict(VERTEBRA_NAMES)),
        LabelMap(groups, dict(MUSCLE_GROUP_NAMES)),
    )
    return vols, seg


def _run(vols: dict[C, Volume], seg: Segmentation):
    dff = dixon_fat_fraction(vols)
    volume = vols[dff.reference]
    levels = measure_levels(volume, seg, MeasureOptions(), 1.6, "unknown")
    return dff, mr_block(dff, seg, volume, levels.slices)


def test_water_fat_images_give_the_true_fractions():
    vols, seg = _images()
    dff, (block, per_level, warnings) = _run(vols, seg)
    assert dff.reference is C.WATER and not dff.map.folded
    assert block["fat_fraction_source"] == "scanner_water_fat"
    assert per_level["L3"]["muscle_fat_fraction_pct"] == pytest.approx(10.0, abs=0.5)
    assert per_level["L3"]["marrow_fat_fraction_pct"] == pytest.approx(60.0, abs=0.5)
    assert block["marrow_fat_fraction_pct"] == {"L3": per_level["L3"]["marrow_fat_fraction_pct"]}
    assert block["muscle_fat_fraction_level"] == "L3"
    # psoas holds the IMAT strip (rows 10-11 of cols 10-19): 20 % of its voxels at 80 %
    assert block["muscle_fat_fraction_pct"]["psoas"] == pytest.approx(0.8 * 10 + 0.2 * 80, abs=0.5)
    assert block["muscle_fat_fraction_pct"]["paraspinal"] == pytest.approx(10.0, abs=0.5)
    assert any("L1" in w for w in warnings)  # marrow levels not in the scan are named


def test_in_opposed_phase_only_is_folded_and_warned():
    vols, seg = _images()
    dff, (block, per_level, warnings) = _run(
        {C.IN_PHASE: vols[C.IN_PHASE], C.OPPOSED_PHASE: vols[C.OPPOSED_PHASE]}, seg
    )
    assert dff.map.folded and block["folded"] is True
    assert per_level["L3"]["muscle_fat_fraction_pct"] == pytest.approx(10.0, abs=0.5)
    assert per_level["L3"]["marrow_fat_fraction_pct"] == pytest.approx(40.0, abs=0.5)  # 60 % folds to 40 %
    assert any("folded" in w for w in warnings)


def test_swapped_water_and_fat_is_flagged():
    vols, seg = _images()
    swapped = {C.WATER: vols[C.FAT], C.FAT: vols[C.WATER]}
    _, (_, _, warnings) = _run(swapped, seg)
    assert any("swap" in w for w in warnings)


def test_images_on_different_grids_are_refused():
    vols, _ = _images()
    moved = vols[C.FAT].affine.copy()
    moved[:3, 3] += [0, 0, 1.5]
    with pytest.raises(DixonSetError, match="different grids"):
        dixon_fat_fraction({C.WATER: vols[C.WATER], C.FAT: Volume(vols[C.FAT].array, moved)})
    small = Volume(vols[C.FAT].array[:, :40], vols[C.FAT].affine)
    with pytest.raises(DixonSetError, match="shape"):
        dixon_fat_fraction({C.WATER: vols[C.WATER], C.FAT: small})


def test_a_set_without_a_usable_pair_is_refused():
    vols, _ = _images()
    with pytest.raises(DixonSetError, match="water\\+fat or in\\+opposed"):
        dixon_fat_fraction({C.WATER: vols[C.WATER], C.IN_PHASE: vols[C.IN_PHASE]})


def test_without_muscle_groups_group_values_are_null_with_reason():
    vols, seg = _images()
    seg = Segmentation(seg.tissue, seg.vertebrae, None)
    _, (block, per_level, warnings) = _run(vols, seg)
    assert block["muscle_fat_fraction_pct"] == {"psoas": None, "paraspinal": None}
    assert per_level["L3"]["muscle_fat_fraction_pct"] == pytest.approx(10.0, abs=0.5)
    assert any("no muscle groups" in w for w in warnings)


SAMPLES = Path(__file__).resolve().parents[2] / "sample_dicoms"
# The default networks' labels, not the truth's: the MR model is below its accuracy targets (see its
# model card), so values are held to 2.5 points here; test_phantom_truth holds truth labels to 1 point.
NETWORK_FF_TOLERANCE = 2.5


@pytest.mark.slow
@pytest.mark.parametrize("study", ["BM002/MR_20260512", "BM003/MR_20260709"], ids=lambda s: s[:5])
def test_sample_dixon_gets_per_level_fat_fractions_with_the_default_models(
    study: str, tmp_path: Path
) -> None:
    folder = SAMPLES / study
    truths = sorted((SAMPLES / "truth" / study.split("/")[0]).glob(f"{folder.name}_*/truth.json"))
    if not folder.is_dir() or not truths:
        pytest.skip(f"{folder} or its truth is absent (generate with scripts/make_sample_dicoms.py)")
    argv = ["analyze", str(folder), "--out", str(tmp_path), "--clinical", str(SAMPLES / "clinical.csv")]
    assert main(argv) == 0
    [path] = tmp_path.glob("*/*/*/results.json")
    results = json.loads(path.read_text())
    truth = json.loads(truths[0].read_text())["levels"]
    assert validate_results(results) == []
    levels = results["segmentation"]["vertebra_levels"]
    assert levels["established"] and levels["anchor"] == "sacrum_and_lowest_rib", levels["reason"]
    marrow = results["mr"]["marrow_fat_fraction_pct"]
    assert set(marrow) == {"L1", "L2", "L3", "L4"}
    for level, value in marrow.items():
        assert value == pytest.approx(truth[level]["mr"]["marrow_ff_pct"], abs=NETWORK_FF_TOLERANCE), level
        assert results["levels"][level]["marrow_fat_fraction_pct"] == value
    assert results["mr"]["muscle_fat_fraction_level"] == "L3"
    l3 = results["levels"]["L3"]
    assert l3["muscle_fat_fraction_pct"] == pytest.approx(
        truth["L3"]["mr"]["muscle_ff_pct"], abs=NETWORK_FF_TOLERANCE
    )
    psoas = truth["L3"]["mr"]["muscle_group_ff_pct"]["psoas"]
    assert results["mr"]["muscle_fat_fraction_pct"]["psoas"] == pytest.approx(psoas, abs=NETWORK_FF_TOLERANCE)
    assert not any("no vertebra model given" in w or "not established" in w for w in results["warnings"])
