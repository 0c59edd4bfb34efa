"""HU windows inside compartments at every window boundary; MR fat-fraction rule."""

from __future__ import annotations

import numpy as np
import pytest

from imaging.segmentation.labels import LabelMap
from imaging.segmentation.tissue_rules import CtRule, MrRule, VatWindow, tissue_from_ct, tissue_from_mr

COMP = {
    0: "background",
    1: "paraspinal",
    2: "subcutaneous_fat",
    3: "visceral_fat",
    4: "bone",
    5: "other_soft_tissue",
    6: "psoas",
    7: "imat",
}


def _ct(value: int, hu: list[float], rule: CtRule | None = None):
    comp = LabelMap(np.full((1, 1, len(hu)), value, dtype=np.uint8), COMP)
    res = tissue_from_ct(comp, np.array(hu, dtype=np.float32).reshape(1, 1, -1), rule)
    names = [res.tissue.names.get(int(v), None) for v in res.tissue.array.ravel()]
    return names, res


@pytest.mark.parametrize("value", [1, 6, 7])
def test_muscle_compartment_windows(value):
    names, res = _ct(value, [-191, -190, -30, -29.5, -29, 150, 151])
    assert names == [None, "imat", "imat", None, "skeletal_muscle", "skeletal_muscle", None]
    assert res.unlabelled_voxels["muscle_compartment"] == 3


def test_sat_window():
    names, res = _ct(2, [-191, -190, -30, -29, 40])
    assert names == [None, "sat", "sat", None, None]
    assert res.unlabelled_voxels["subcutaneous_compartment"] == 3


def test_vat_window_default_and_wide_choice_is_recorded():
    names, res = _ct(3, [-191, -190, -151, -150, -50, -49, -30, -29])
    assert names == [None, None, None, "vat", "vat", None, None, None]
    assert res.rule["vat"]["choice"] == "alberta_-150_-50"
    names, res = _ct(3, [-191, -190, -151, -150, -50, -49, -30, -29], CtRule(vat=VatWindow.WIDE))
    assert names == [None, "vat", "vat", "vat", "vat", "vat", "vat", None]
    assert res.rule["vat"]["low_hu"] == -190 and res.rule["vat"]["choice"] == "wide_-190_-30"


def test_bone_and_other_are_not_windowed_and_background_stays_empty():
    assert _ct(4, [-500, 100, 1200])[0] == ["bone"] * 3
    assert _ct(5, [-500, 100])[0] == ["other_soft_tissue"] * 2
    assert _ct(0, [-100, 60])[0] == [None, None]


def test_muscle_groups_kept_unwindowed():
    comp = LabelMap(np.array([[[1, 6, 6, 2]]], dtype=np.uint8), COMP)
    res = tissue_from_ct(comp, np.array([[[40, -100, 40, -100]]], dtype=np.float32))
    assert [res.muscles.names.get(int(v)) for v in res.muscles.array.ravel()] == [
        "paraspinal",
        "psoas",
        "psoas",
        None,
    ]


def test_unknown_compartment_values_are_refused():
    comp = LabelMap(np.array([[[9]]], dtype=np.uint8), COMP)
    with pytest.raises(ValueError, match="missing from its table"):
        tissue_from_ct(comp, np.zeros((1, 1, 1), dtype=np.float32))


def test_mr_direct_mapping_and_fat_fraction_rule():
    comp = LabelMap(np.array([[[1, 1, 1, 1, 2, 3]]], dtype=np.uint8), COMP)
    ff = np.array([[[10.0, 49.9, 50.0, np.nan, 90.0, 90.0]]], dtype=np.float32)
    res = tissue_from_mr(comp, ff)
    names = [res.tissue.names.get(int(v)) for v in res.tissue.array.ravel()]
    assert names == ["skeletal_muscle", "skeletal_muscle", "imat", "skeletal_muscle", "sat", "vat"]
    assert res.unlabelled_voxels["muscle_without_fat_fraction"] == 1
    assert res.rule["imat_min_ff_pct"] == 50.0
    res = tissue_from_mr(comp, ff, MrRule(imat_min_ff_pct=40.0), fat_fraction_folded=False)
    assert res.tissue.names[int(res.tissue.array[0, 0, 1])] == "imat"
    folded = tissue_from_mr(comp, np.clip(ff, 0, 50), fat_fraction_folded=True)
    assert any("folded" in w for w in folded.warnings)
    assert any("not separated" in w for w in tissue_from_mr(comp).warnings)
