"""The batch runner's Segmentation equals ``segment()``'s for the same unit and networks, field by field."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
from segmentation._stubs import make_affine, rotation, stub_model, stub_spec, world_pattern_volume

from imaging.batch.stages import FinishOptions, segmentation_from_heads
from imaging.measurements.per_level import MeasureOptions
from imaging.pipeline.series_job import DecodedUnit
from imaging.pipeline.subject import SubjectSources
from imaging.segmentation.networks import ModelRecord, segment
from imaging.segmentation.tissue_rules import CtRule, TissueRules, VatWindow
from segmentation_models.class_schema import HeadKind
from segmentation_models.inference import InferenceOptions, run_heads

VERTEBRA_CLASSES = {0: "background", 1: "L1", 2: "L2", 3: "L3"}


def test_batch_segmentation_from_heads_equals_segment(tmp_path: Path):
    volume = world_pattern_volume((4, 20, 24), make_affine((2.5, 1.0, 1.0), rotation([0, 0, 1], 12.0)))
    compartments = replace(stub_model(stub_spec()), warnings=("compartment load note",))
    vertebrae_spec = replace(stub_spec(kind=HeadKind.VERTEBRAE, classes=VERTEBRA_CLASSES), name="vert")
    vertebrae = replace(stub_model(vertebrae_spec), warnings=("vertebra load note",))
    models = [compartments, vertebrae]
    rule = CtRule(vat=VatWindow.WIDE)
    options = InferenceOptions(device="cpu")

    expected = segment(volume, models, options, TissueRules(ct=rule))

    heads = [h for m in models for h in run_heads(volume, m, options)]
    finish = FinishOptions(
        out_dir=tmp_path,
        levels=MeasureOptions(),
        subject=SubjectSources(),
        models=tuple(ModelRecord.of(m) for m in models),
        rules=TissueRules(ct=rule),
        device="cpu",
        amp=False,
    )
    decoded = DecodedUnit(choice=None, entry=None, volume=volume)  # type: ignore[arg-type]
    got = segmentation_from_heads(decoded, heads, finish.models, finish)

    for name in ("tissue", "vertebrae", "muscles", "compartments"):
        a, b = getattr(got, name), getattr(expected, name)
        assert a is not None and b is not None, name
        np.testing.assert_array_equal(a.array, b.array, err_msg=name)
        assert a.names == b.names, name
    assert np.count_nonzero(expected.vertebrae.array) > 0
    assert got.meta == expected.meta
    assert got.warnings == expected.warnings
    assert expected.warnings[:2] == ("compartment load note", "vertebra load note")
    assert got.probabilities is None
