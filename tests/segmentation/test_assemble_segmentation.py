"""assemble_segmentation: head labels to the contract Segmentation, the tail every path shares."""

from __future__ import annotations

import numpy as np

from imaging.segmentation.labels import VERTEBRA_NAMES, LabelMap
from imaging.segmentation.networks import ModelRecord, assemble_segmentation
from imaging.segmentation.tissue_rules import (
    CtRule,
    MrRule,
    TissueRules,
    VatWindow,
    tissue_from_ct,
    tissue_from_mr,
)
from imaging.series_facts import Modality, SeriesFacts
from imaging.volume import Volume
from segmentation._stubs import STUB_CLASSES, make_affine, world_pattern_volume
from segmentation_models.class_schema import HeadKind
from segmentation_models.inference import HeadOutput

CT_MODEL = ModelRecord({"name": "ct-net", "version": "1", "weights_sha256": None}, "CT", ("load note",))
MR_MODEL = ModelRecord({"name": "mr-net", "version": "2", "weights_sha256": "ab"}, "MR")

NO_RULE_ACTED = {
    "limb_voxels_given_limb_compartments": 0,
    "visceral_fat_outside_rib_cage_reassigned_voxels": 0,
}


def _volume(modality: str) -> Volume:
    """HU pattern (CT) or the same numbers called MR signal: the rules must follow the modality tag."""
    vol = world_pattern_volume((3, 12, 12), make_affine((2.0, 1.0, 1.0), np.eye(3)))
    return Volume(vol.array, vol.affine, SeriesFacts(modality=Modality.of(modality)))


def _compartments(shape: tuple[int, ...], seed: int = 0) -> HeadOutput:
    labels = np.random.default_rng(seed).integers(0, len(STUB_CLASSES), shape).astype(np.uint8)
    return HeadOutput(HeadKind.COMPARTMENTS, labels, dict(STUB_CLASSES))


def _vertebrae(shape: tuple[int, ...]) -> HeadOutput:
    labels = np.zeros(shape, np.uint8)
    labels[1] = 1
    labels[2] = 2
    return HeadOutput(HeadKind.VERTEBRAE, labels, {0: "background", 1: "L2", 2: "L3"})


def test_ct_tissue_is_the_hu_windows_inside_the_first_compartment_head():
    vol = _volume("CT")
    rule = CtRule(vat=VatWindow.WIDE)
    first, second = _compartments(vol.shape, 0), _compartments(vol.shape, 1)
    seg = assemble_segmentation(
        vol,
        [first, second, _vertebrae(vol.shape)],
        [CT_MODEL],
        device="cpu",
        amp=False,
        rules=TissueRules(ct=rule),
    )
    expected = tissue_from_ct(LabelMap(first.labels, first.classes), vol.array, rule)
    np.testing.assert_array_equal(seg.tissue.array, expected.tissue.array)
    np.testing.assert_array_equal(seg.muscles.array, expected.muscles.array)
    assert seg.compartments.array is first.labels and seg.compartments.names == first.classes
    assert (
        seg.meta["tissue_rule"] == {**expected.rule, **NO_RULE_ACTED}
        and seg.meta["unlabelled_voxels"] == expected.unlabelled_voxels
    )
    assert seg.meta["models"] == [CT_MODEL.description] and seg.meta["device"] == "cpu"
    l3 = {name: value for value, name in VERTEBRA_NAMES.items()}["L3"]
    assert seg.vertebrae.names == VERTEBRA_NAMES and np.all(seg.vertebrae.array[2] == l3)
    assert seg.warnings[0] == "load note"
    assert not any("trained on" in w or "no vertebra model" in w for w in seg.warnings)


def test_mr_uses_the_fat_fraction_and_flags_a_model_of_another_modality():
    vol = _volume("MR")
    comp = _compartments(vol.shape)
    ff = np.random.default_rng(2).uniform(0, 100, vol.shape).astype(np.float32)
    rule = MrRule(imat_min_ff_pct=40.0)
    seg = assemble_segmentation(
        vol,
        [comp],
        [MR_MODEL, CT_MODEL],
        device="cuda:0",
        amp=True,
        rules=TissueRules(mr=rule),
        fat_fraction_pct=ff,
        fat_fraction_folded=True,
    )
    expected = tissue_from_mr(LabelMap(comp.labels, comp.classes), ff, rule, True)
    np.testing.assert_array_equal(seg.tissue.array, expected.tissue.array)
    assert seg.meta["tissue_rule"] == {**expected.rule, **NO_RULE_ACTED}
    assert seg.meta["amp"] is True
    assert seg.warnings[:2] == ("load note", "model 'ct-net' was trained on CT, the series is MR")
    assert seg.vertebrae is None
    assert seg.missing["vertebrae"] == "no vertebra model given: vertebral levels cannot be assigned"
    assert seg.notes[-1] == seg.missing["vertebrae"]


def test_no_compartment_head_leaves_tissue_null_with_the_reason():
    vol = _volume("CT")
    seg = assemble_segmentation(vol, [_vertebrae(vol.shape)], [CT_MODEL], device="cpu", amp=False)
    assert seg.tissue is None and seg.muscles is None and seg.compartments is None
    assert "no compartment model given: tissue areas cannot be measured" in seg.notes
    assert "tissue_rule" not in seg.meta
