"""Cross-study batching: slices of several units share forward passes, labels equal per-unit inference."""

from __future__ import annotations

import numpy as np
import pytest
from segmentation._stubs import make_affine, rotation, stub_model, stub_spec, world_pattern_volume

from imaging.batch.inference_loop import CrossStudyBatcher
from imaging.batch.stages import Prepared, batchable
from imaging.pipeline.series_job import DecodedUnit
from segmentation_models.inference import InferenceOptions, model_scale, run_heads, to_model_grid, unit_box
from segmentation_models.registry import Spacing, SpatialDims


def _prepared(key: str, n_slices: int, rows: int, spacing: float, spec) -> Prepared:
    affine = make_affine((2.0, spacing, spacing), rotation([0, 0, 1], 10.0))
    volume = world_pattern_volume((n_slices, rows, rows), affine)
    scale = model_scale(volume, spec)
    x = to_model_grid(spec.normalisation.apply(volume.array), scale) if batchable(spec, scale) else None
    # the batcher reads only the volume; the series records are not needed here
    decoded = DecodedUnit(choice=None, entry=None, volume=volume)  # type: ignore[arg-type]
    box = None if x is None else unit_box(x, spec)
    return Prepared(key, decoded, (x,), (scale,), (0,), (box,))


def _run(batcher: CrossStudyBatcher, units: list[Prepared]) -> dict[str, np.ndarray]:
    for unit in units:
        batcher.add(unit)
    while batcher.step(flush=True):
        pass
    return {p.key: heads[0].labels for p, heads, _ in batcher.take_finished()}


@pytest.mark.parametrize("context", [1, 3])
def test_batches_mix_studies_and_labels_equal_per_unit_inference(context):
    dims = SpatialDims.TWO_D if context == 1 else SpatialDims.TWO_HALF_D
    spec = stub_spec(dims, Spacing(None, 1.0, 1.0), context=context, patch=(16, 16))
    model = stub_model(spec)
    options = InferenceOptions(device="cpu", batch_size=4)
    units = [
        _prepared("a", 5, 20, 0.8, spec),
        _prepared("b", 6, 20, 0.8, spec),
        _prepared("c", 3, 20, 0.8, spec),
    ]
    batcher = CrossStudyBatcher([model], options)
    labels = _run(batcher, units)
    assert set(labels) == {"a", "b", "c"} and not batcher.busy
    for unit in units:
        (expected,) = run_heads(unit.decoded.volume, model, options)
        np.testing.assert_array_equal(labels[unit.key], expected.labels)
    stats = batcher.stats
    assert max(stats.batch_sizes) <= 4 and sum(stats.batch_sizes) == 14 == stats.slices
    assert stats.batches == 4  # 14 slices in batches of 4: ceil(14 / 4)
    assert stats.mixed_batches >= 2  # batches 2 and 3 hold slices of two studies each


def test_units_of_different_plane_size_are_not_mixed():
    spec = stub_spec(SpatialDims.TWO_D, Spacing(None, 1.0, 1.0))
    batcher = CrossStudyBatcher([stub_model(spec)], InferenceOptions(device="cpu", batch_size=8))
    units = [_prepared("small", 3, 20, 1.0, spec), _prepared("large", 3, 30, 1.0, spec)]
    labels = _run(batcher, units)
    assert labels["small"].shape == (3, 20, 20) and labels["large"].shape == (3, 30, 30)
    assert batcher.stats.batch_sizes == [3, 3] and batcher.stats.mixed_batches == 0


def test_full_batch_waits_for_more_slices_unless_flushed():
    spec = stub_spec(SpatialDims.TWO_D, Spacing(None, 1.0, 1.0))
    batcher = CrossStudyBatcher([stub_model(spec)], InferenceOptions(device="cpu", batch_size=8))
    batcher.add(_prepared("a", 5, 20, 1.0, spec))
    assert not batcher.step(flush=False)  # 5 < 8 slices: wait for the next study
    batcher.add(_prepared("b", 5, 20, 1.0, spec))
    assert batcher.step(flush=False)  # 8 of 10 slices run, mixing both studies
    assert batcher.take_finished()[0][0].key == "a"
    assert batcher.step(flush=True) and batcher.take_finished()[0][0].key == "b"


def test_three_d_models_run_per_unit_on_the_loaded_network():
    spec = stub_spec(SpatialDims.THREE_D, Spacing(2.0, 1.0, 1.0), patch=(4, 16, 16))
    model = stub_model(spec)
    options = InferenceOptions(device="cpu", batch_size=2)
    unit = _prepared("a", 6, 20, 1.0, spec)
    assert unit.inputs == (None,)
    labels = _run(CrossStudyBatcher([model], options), [unit])
    (expected,) = run_heads(unit.decoded.volume, model, options)
    np.testing.assert_array_equal(labels["a"], expected.labels)
