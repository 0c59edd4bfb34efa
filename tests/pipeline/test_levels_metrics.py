"""Per-level assembly on the synthetic CT (known areas/HU) built directly as a Volume: no I/O."""

from __future__ import annotations

import numpy as np
import pytest
from pipeline._synthetic_ct import (
    IMAT_CM2,
    MUSCLE_CM2,
    SAT_CM2,
    SLICE_MM,
    VAT_CM2,
    hu_plane,
    label_arrays,
)

from imaging.measurements.per_level import MeasureOptions, measure_levels
from imaging.segmentation.labels import TISSUE_NAMES, VERTEBRA_NAMES, LabelMap
from imaging.segmentation.result import Segmentation
from imaging.series_facts import Modality, SeriesFacts
from imaging.volume import Volume


def _case(
    n_slices: int = 16, modality: str = "CT", slice_mm: float = SLICE_MM
) -> tuple[Volume, Segmentation]:
    affine = np.eye(4)
    affine[:3, 0] = [0, 0, slice_mm]  # slice index -> z
    affine[:3, 1] = [0, 1.0, 0]  # row -> y
    affine[:3, 2] = [1.0, 0, 0]  # column -> x
    array = np.repeat(hu_plane()[None], n_slices, axis=0)
    volume = Volume(array, affine, SeriesFacts(modality=Modality.of(modality)))
    tissue, vert = label_arrays(n_slices)
    return volume, Segmentation(LabelMap(tissue, dict(TISSUE_NAMES)), LabelMap(vert, dict(VERTEBRA_NAMES)))


def test_areas_hu_smi_and_trabecular_at_the_mid_vertebral_slice():
    volume, seg = _case()
    result = measure_levels(volume, seg, MeasureOptions(), height_m=1.5, contrast="no")
    l3 = result.levels["L3"]
    assert l3["slice_index"] == 7  # body on slices 2..11: centre between 6 and 7, the cranial one taken
    assert l3["z_mm"] == pytest.approx(l3["slice_index"] * SLICE_MM)
    assert l3["muscle_area_cm2"] == pytest.approx(MUSCLE_CM2)
    assert l3["imat_area_cm2"] == pytest.approx(IMAT_CM2)
    assert l3["sat_area_cm2"] == pytest.approx(SAT_CM2)
    assert l3["vat_area_cm2"] == pytest.approx(VAT_CM2)
    assert l3["muscle_hu_mean"] == pytest.approx(50.0)
    assert l3["smi_cm2_m2"] == pytest.approx(MUSCLE_CM2 / 1.5**2, abs=1e-3)
    assert l3["trabecular_hu_mean"] == pytest.approx(200.0)
    assert l3["contrast"] == "no"
    # volumes over the vertebra's 10 slices of 3 mm: area x 3 cm
    assert l3["skeletal_muscle_volume_ml"] == pytest.approx(MUSCLE_CM2 * 3.0)
    assert l3["volume_complete"] is True
    # slab: ±5 mm at 3 mm spacing holds 3 slices
    assert l3["muscle_area_cm2_slab"] == pytest.approx(MUSCLE_CM2)
    assert l3["slab_slices"] == [l3["slice_index"] - 1, l3["slice_index"] + 1]


def test_missing_height_gives_null_smi_with_warning():
    volume, seg = _case()
    result = measure_levels(volume, seg, MeasureOptions(), height_m=None, contrast="unknown")
    assert result.levels["L3"]["smi_cm2_m2"] is None
    assert result.levels["L3"]["muscle_area_cm2"] == pytest.approx(MUSCLE_CM2)
    assert any("height unknown" in w and "smi_cm2_m2" in w for w in result.warnings)


def test_levels_cut_or_absent_are_reported_not_guessed():
    volume, seg = _case()
    result = measure_levels(volume, seg, MeasureOptions(), height_m=1.5, contrast="no")
    assert set(result.levels) == {"L3"}
    assert "cut by the edge" in result.not_measured["L2"]
    assert "not in the scanned range" in result.not_measured["L1"]
    assert any("L2" in w and "cut" in w for w in result.warnings)
    assert any("not in the scanned range" in w and "L1" in w for w in result.warnings)


def test_without_vertebra_labels_every_level_is_missing_with_a_reason():
    volume, seg = _case()
    seg = Segmentation(seg.tissue, None)
    result = measure_levels(volume, seg, MeasureOptions(), height_m=1.5, contrast="no")
    assert result.levels == {}
    assert all("no vertebra labels" in r for r in result.not_measured.values())
    assert result.warnings


def test_single_slice_with_stated_level_is_measured_the_same_way():
    volume, seg = _case()
    one = Volume(volume.array[6:7], volume.affine, volume.meta)
    tissue = LabelMap(seg.tissue.array[6:7], seg.tissue.names)
    # no vertebra labels at all: the stated level alone places the slice
    result = measure_levels(one, Segmentation(tissue, None), MeasureOptions(stated_level="L3"), 1.5, "no")
    l3 = result.levels["L3"]
    assert l3["slice_index"] == 0 and l3["convention"] == "user_stated"
    assert l3["muscle_area_cm2"] == pytest.approx(MUSCLE_CM2)
    assert l3["trabecular_hu_mean"] is None
    assert any("trabecular" in w for w in result.warnings)
    assert any("slab" in w for w in result.warnings)  # one slice cannot make a slab
    # with the vertebra label on the slice, trabecular HU is measured too
    vert = LabelMap(seg.vertebrae.array[6:7], seg.vertebrae.names)
    result = measure_levels(one, Segmentation(tissue, vert), MeasureOptions(stated_level="L3"), 1.5, "no")
    assert result.levels["L3"]["trabecular_hu_mean"] == pytest.approx(200.0)


def test_stated_level_is_ignored_for_a_stack_with_a_warning():
    volume, seg = _case()
    stated = measure_levels(volume, seg, MeasureOptions(stated_level="L1"), 1.5, "no")
    plain = measure_levels(volume, seg, MeasureOptions(), 1.5, "no")
    assert stated.levels == plain.levels  # levels still come from the vertebra labels
    assert any("applies to single-slice series" in w for w in stated.warnings)


def test_mr_has_no_hu_values_and_says_so():
    volume, seg = _case(modality="MR")
    result = measure_levels(volume, seg, MeasureOptions(), height_m=1.5, contrast="unknown")
    l3 = result.levels["L3"]
    assert l3["muscle_hu_mean"] is None and l3["trabecular_hu_mean"] is None
    assert l3["muscle_area_cm2"] == pytest.approx(MUSCLE_CM2)
    assert "contrast" not in l3
    assert any("MR series" in w for w in result.warnings)


def test_thick_slices_give_no_slab_and_a_warning():
    volume, seg = _case(slice_mm=10.0)
    result = measure_levels(volume, seg, MeasureOptions(slab_mm=5.0), height_m=1.5, contrast="no")
    assert "muscle_area_cm2_slab" not in result.levels["L3"]
    assert any("slab means" in w for w in result.warnings)


def test_body_cut_by_the_scan_range_keeps_trabecular_and_muscle_hu_only():
    volume, seg = _case()  # L2's body runs off the last slice
    result = measure_levels(volume, seg, MeasureOptions(), height_m=1.5, contrast="yes")
    assert "L2" not in result.levels  # no integer slice_index: not a contract level entry
    cut = result.cut_levels["L2"]
    assert cut["trabecular_hu_mean"] == pytest.approx(200.0)
    assert cut["trabecular_hu_median"] == pytest.approx(200.0)
    assert cut["muscle_hu_mean"] == pytest.approx(50.0)
    assert cut["contrast"] == "yes"
    assert cut["visible_body_slices"] == [12, 15]
    for key in ("slice_index", "z_mm", "muscle_area_cm2", "sat_area_cm2", "smi_cm2_m2"):
        assert cut[key] is None, key
    assert "mid-vertebral slice not established" in cut["reason"]
    assert any(w.startswith("L2: body cut") and "partially covered" in w for w in result.warnings)
    assert set(result.cut_levels) == {"L2"}  # L3 is complete, L1 absent


def test_cut_body_too_small_for_an_roi_gives_null_with_the_reason():
    volume, seg = _case()
    vert = seg.vertebrae.array.copy()
    # L2 only 14 mm wide: survives the 6 mm body opening, but its ROI (5 mm inside, anterior half) is
    # about 4 x 6 mm, under the 40 mm² minimum
    vert[12:, :, 22:] = 0
    seg = Segmentation(seg.tissue, LabelMap(vert, dict(VERTEBRA_NAMES)))
    result = measure_levels(volume, seg, MeasureOptions(), height_m=1.5, contrast="no")
    cut = result.cut_levels["L2"]
    assert cut["trabecular_hu_mean"] is None and cut["trabecular_hu_median"] is None
    assert cut["muscle_hu_mean"] == pytest.approx(50.0)
    assert any(w.startswith("L2: body cut") and "trabecular HU null" in w for w in result.warnings)


def test_mr_gives_no_cut_level_values():
    volume, seg = _case(modality="MR")
    assert measure_levels(volume, seg, MeasureOptions(), height_m=1.5, contrast="unknown").cut_levels == {}


def test_notices_carry_a_code_and_the_level_they_are_about():
    """Warnings are values (code, level, message); the sentences are rendered from them last."""
    from imaging import notices as N

    volume, seg = _case()
    result = measure_levels(volume, seg, MeasureOptions(), height_m=None, contrast="no")
    by_code = {(n.code, n.level) for n in result.notices}
    assert (N.HEIGHT_UNKNOWN, None) in by_code
    assert (N.LEVEL_SLICE, "L2") in by_code  # L2's body is cut by the scan range
    assert (N.LEVELS_ABSENT, None) in by_code
    assert result.warnings == [n.message for n in result.notices]
