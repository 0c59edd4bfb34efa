"""A batch over an MR Dixon study gives what ``bonemuscle analyze`` gives on the same study.

The MR network reads the set's in-phase image (``DecodedUnit.model_volume``), not the reference
component the outputs are written on (water here): a batch that fed the network the water image
would draw different compartments, hence different tissue labels and muscle fat fractions. The
committed sample BM002 has the smallest Dixon set (50 slices of 128x128, T12 to sacrum, 4 components).

The quick test uses a thresholding stub network on the percentile-normalised image, whose labels
are a known function of the input image, so in-phase and water give visibly different labels; the
slow one runs the registered ``bonemuscle-mr-dixon`` network.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from imaging.batch import stages
from imaging.cli import main
from imaging.ingest.dixon import DixonComponent
from imaging.pipeline.run import plan_units
from imaging.pipeline.series_job import decode_unit
from imaging.segmentation.labels import TISSUE_NAMES
from imaging.volume import from_nifti
from segmentation_models.loading import sha256_file

SAMPLES = Path(__file__).resolve().parents[2] / "sample_dicoms"
DIXON_STUDY = SAMPLES / "BM002" / "MR_20260512"


@pytest.fixture(scope="module")
def dixon_study() -> Path:
    if not DIXON_STUDY.is_dir():
        pytest.skip(f"sample Dixon study not found at {DIXON_STUDY}")
    return DIXON_STUDY


@pytest.fixture(scope="module")
def mr_stub(tmp_path_factory) -> Path:
    """The thresholding stub as an MR model (TorchScript + sidecar) on percentile-normalised input."""
    import torch
    from segmentation._stubs import STUB_CLASSES, ThresholdNet

    folder = tmp_path_factory.mktemp("mr_model")
    path = folder / "model.ts"
    torch.jit.script(ThresholdNet([0.1, 0.35, 0.7], len(STUB_CLASSES))).save(str(path))
    sidecar = {
        "name": "threshold-stub-mr",
        "version": "0",
        "modality": "MR",
        "classes": {str(k): v for k, v in STUB_CLASSES.items()},
        "spacing_mm": [3.0, 3.0, None],  # the sample's pixel size: no in-plane resampling
        "patch_size": [64, 64],
        "normalisation": {"kind": "percentile", "low": 0.5, "high": 99.5},
        "weights_sha256": sha256_file(path),
    }
    (folder / "model.ts.json").write_text(json.dumps(sidecar))
    return path


def _outputs(out: Path) -> tuple[dict, np.ndarray, np.ndarray]:
    """results.json, tissue labels and fat-fraction map of the one series under ``out``."""
    (folder,) = [p.parent for p in out.glob("*/*/*/results.json")]
    results = json.loads((folder / "results.json").read_text())
    tissue = from_nifti(folder / "tissue.nii.gz").array
    ff = from_nifti(folder / "fat_fraction.nii.gz").array
    return results, tissue, ff


def _analyze_and_batch(study: Path, model: str, tmp_path: Path) -> tuple[tuple, tuple]:
    common = ["--model", model, "--device", "cpu"]
    assert main(["analyze", str(study), "--out", str(tmp_path / "a"), *common]) == 0
    assert main(["batch", str(study), "--out", str(tmp_path / "b"), *common, "--workers", "0"]) == 0
    return _outputs(tmp_path / "a"), _outputs(tmp_path / "b")


def _assert_same(single: tuple, batch: tuple) -> None:
    (res_a, tissue_a, ff_a), (res_b, tissue_b, ff_b) = single, batch
    np.testing.assert_array_equal(tissue_b, tissue_a)
    np.testing.assert_array_equal(ff_b, ff_a)
    muscle = TISSUE_NAMES_BY_NAME["skeletal_muscle"]
    assert np.count_nonzero(tissue_a == muscle) > 0, "the comparison needs some muscle to be meaningful"
    # muscle fat fraction from the written files: independent of level finding
    muscle_ff_a = float(np.nanmean(ff_a[tissue_a == muscle]))  # NaN: voxels too dark for a fat fraction
    assert 0.0 < muscle_ff_a < 100.0
    assert float(np.nanmean(ff_b[tissue_b == muscle])) == muscle_ff_a
    assert res_b["mr"] == res_a["mr"]
    assert res_b == res_a


TISSUE_NAMES_BY_NAME = {name: value for value, name in TISSUE_NAMES.items()}


def test_prepare_feeds_the_network_the_in_phase_image(dixon_study, mr_stub):
    from segmentation_models.loading import resolve_model

    spec = resolve_model(str(mr_stub)).spec
    (choice,), _, _ = plan_units(dixon_study)
    prepared = stages.prepare("k", choice, [spec])
    assert isinstance(prepared, stages.Prepared), prepared
    decoded = decode_unit(choice)
    in_phase = decoded.model_volume
    assert decoded.volume is not in_phase
    assert (in_phase.meta.description or "").endswith("_in")  # BM002's in-phase series
    np.testing.assert_array_equal(prepared.inputs[0], spec.normalisation.apply(in_phase.array))
    assert not np.array_equal(prepared.inputs[0], spec.normalisation.apply(decoded.volume.array))
    assert decoded.dff is not None and decoded.dff.reference is DixonComponent.WATER


def test_batch_equals_analyze_on_a_dixon_study_with_a_stub_network(dixon_study, mr_stub, tmp_path):
    single, batch = _analyze_and_batch(dixon_study, str(mr_stub), tmp_path)
    _assert_same(single, batch)


@pytest.mark.slow
def test_batch_equals_analyze_on_a_dixon_study_with_the_registered_mr_model(dixon_study, tmp_path):
    single, batch = _analyze_and_batch(dixon_study, "bonemuscle-mr-dixon", tmp_path)
    _assert_same(single, batch)
    assert single[0]["model"]["name"] == "bonemuscle-mr-dixon"
