"""Weights load only when they match their checksum; registry, TorchScript+JSON and MONAI bundle forms."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest
import torch

from imaging.segmentation.networks import segment
from segmentation_models.inference import InferenceOptions
from segmentation_models.loading import (
    ChecksumError,
    ModelLoadError,
    load_registered,
    resolve_model,
    save_registered,
    sha256_file,
)
from segmentation_models.networks import build_network, tissue_recipe, vertebra_recipe
from segmentation_models.registry import (
    AxisOrder,
    SpatialDims,
    SpecError,
    get_spec,
    read_spec,
    registered_names,
)

from ._stubs import (
    STUB_CLASSES,
    ThresholdNet,
    expected_stub_labels,
    make_affine,
    normalised_edges,
    rotation,
    stub_spec,
    world_pattern_volume,
)


def tiny_unet_spec():
    return replace(
        stub_spec(patch=(16, 16)),
        name="tiny-unet",
        architecture="UNet",
        architecture_kwargs={"channels": [4, 8], "strides": [2], "num_res_units": 0},
    )


def _register_tiny(root):
    torch.manual_seed(0)
    net = build_network(tiny_unet_spec())
    written = save_registered(net, tiny_unet_spec(), root / "tiny-unet")
    return net, written


def test_registered_model_round_trip(tmp_path):
    net, written = _register_tiny(tmp_path)
    assert registered_names(tmp_path) == ["tiny-unet"]
    assert written.weights_sha256 == sha256_file(tmp_path / "tiny-unet" / "model.pt")
    loaded = resolve_model("tiny-unet", registry=tmp_path)
    assert loaded.weights_sha256 == written.weights_sha256
    assert loaded.describe() == {
        "name": "tiny-unet",
        "version": "0",
        "weights_sha256": written.weights_sha256,
    }
    x = torch.randn(2, 1, 16, 16)
    with torch.no_grad():
        torch.testing.assert_close(loaded.network(x), net.eval()(x))
    # the JSON is the reviewable description: parse it back unchanged
    assert read_spec(tmp_path / "tiny-unet" / "model.json").to_dict() == written.to_dict()


def test_tampered_weights_are_refused_naming_file_and_both_hashes(tmp_path):
    _, written = _register_tiny(tmp_path)
    weights = tmp_path / "tiny-unet" / "model.pt"
    data = bytearray(weights.read_bytes())
    data[-10] ^= 0xFF
    weights.write_bytes(bytes(data))
    with pytest.raises(ChecksumError) as err:
        resolve_model("tiny-unet", registry=tmp_path)
    msg = str(err.value)
    assert str(weights) in msg and written.weights_sha256 in msg and sha256_file(weights) in msg


def test_missing_weights_and_unknown_names_are_clear_errors(tmp_path):
    _register_tiny(tmp_path)
    (tmp_path / "tiny-unet" / "model.pt").unlink()
    with pytest.raises(ModelLoadError, match="not found"):
        resolve_model("tiny-unet", registry=tmp_path)
    with pytest.raises(SpecError, match="registered: tiny-unet"):
        get_spec("nope", tmp_path)
    with pytest.raises(ModelLoadError, match="weights_sha256"):
        load_registered(tiny_unet_spec())


def test_state_dict_of_another_architecture_is_refused(tmp_path):
    _, written = _register_tiny(tmp_path)
    other = replace(written, architecture_kwargs={"channels": [8, 16], "strides": [2], "num_res_units": 0})
    with pytest.raises(ModelLoadError, match="cannot load weights"):
        load_registered(other)


def test_torchscript_with_sidecar(tmp_path):
    net = torch.jit.script(ThresholdNet(normalised_edges(), 4))
    path = tmp_path / "model.ts"
    net.save(str(path))
    sidecar = {
        "name": "threshold",
        "version": "1.2",
        "classes": {str(k): v for k, v in STUB_CLASSES.items()},
        "spacing_mm": [1.0, 1.0, None],
        "patch_size": [16, 16],
        "normalisation": {"kind": "ct_window", "low": -1000, "high": 1000},
        "weights_sha256": sha256_file(path),
    }
    (tmp_path / "model.ts.json").write_text(json.dumps(sidecar))
    loaded = resolve_model(str(path))
    assert loaded.spec.name == "threshold" and loaded.spec.spacing.row_mm == 1.0
    vol = world_pattern_volume((3, 11, 17), make_affine((2.0, 1.0, 1.0), rotation([0, 0, 1], 15.0)))
    seg = segment(vol, loaded, InferenceOptions(device="cpu"))
    np.testing.assert_array_equal(seg.compartments.array, expected_stub_labels(vol.array))
    assert seg.meta["models"][0]["weights_sha256"] == sidecar["weights_sha256"]
    sidecar["weights_sha256"] = "0" * 64
    (tmp_path / "model.ts.json").write_text(json.dumps(sidecar))
    with pytest.raises(ChecksumError):
        resolve_model(str(path))


def test_torchscript_without_sidecar_is_refused(tmp_path):
    path = tmp_path / "net.ts"
    torch.jit.script(ThresholdNet(normalised_edges(), 4)).save(str(path))
    with pytest.raises(ModelLoadError, match="sidecar"):
        resolve_model(str(path))


def _write_bundle(root, with_ts: bool):
    (root / "configs").mkdir(parents=True)
    (root / "models").mkdir()
    meta = {
        "name": "tiny bundle",
        "version": "0.3.0",
        "network_data_format": {
            "inputs": {
                "image": {"type": "image", "modality": "CT", "num_channels": 1, "spatial_shape": [16, 16]}
            },
            "outputs": {"pred": {"type": "image", "num_channels": 4, "channel_def": STUB_CLASSES}},
        },
    }
    (root / "configs" / "metadata.json").write_text(json.dumps(meta))
    inference = {
        "network_def": {
            "_target_": "monai.networks.nets.UNet",
            "spatial_dims": 2,
            "in_channels": 1,
            "out_channels": 4,
            "channels": [4, 8],
            "strides": [2],
            "num_res_units": 0,
        },
        "preprocessing": {
            "_target_": "Compose",
            "transforms": [
                {"_target_": "Spacingd", "keys": "image", "pixdim": [0.8, 0.9]},
                {
                    "_target_": "ScaleIntensityRanged",
                    "keys": "image",
                    "a_min": -200,
                    "a_max": 300,
                    "b_min": 0.0,
                    "b_max": 1.0,
                    "clip": True,
                },
            ],
        },
    }
    (root / "configs" / "inference.json").write_text(json.dumps(inference))
    torch.manual_seed(1)
    from monai.networks.nets import UNet

    net = UNet(
        spatial_dims=2, in_channels=1, out_channels=4, channels=[4, 8], strides=[2], num_res_units=0
    ).eval()
    if with_ts:
        torch.jit.script(ThresholdNet(normalised_edges(-200, 300), 4)).save(str(root / "models" / "model.ts"))
    else:
        torch.save(net.state_dict(), root / "models" / "model.pt")
    return net


def test_monai_bundle_with_state_dict(tmp_path):
    net = _write_bundle(tmp_path / "bundle", with_ts=False)
    loaded = resolve_model(str(tmp_path / "bundle"))
    spec = loaded.spec
    assert spec.version == "0.3.0" and dict(spec.heads[0].classes) == STUB_CLASSES
    assert (spec.spacing.column_mm, spec.spacing.row_mm, spec.spacing.slice_mm) == (0.8, 0.9, None)
    assert spec.normalisation.low == -200 and spec.normalisation.high == 300
    assert spec.axis_order is AxisOrder.COLUMN_ROW_SLICE and spec.spatial_dims is SpatialDims.TWO_D
    assert any("weights_sha256" in w for w in loaded.warnings)
    x = torch.randn(1, 1, 16, 16)
    with torch.no_grad():
        torch.testing.assert_close(loaded.network(x), net(x))


def test_monai_bundle_with_torchscript_runs_and_verifies_recorded_hash(tmp_path):
    root = tmp_path / "bundle"
    _write_bundle(root, with_ts=True)
    meta = json.loads((root / "configs" / "metadata.json").read_text())
    meta["bonemuscle"] = {"weights_sha256": sha256_file(root / "models" / "model.ts")}
    (root / "configs" / "metadata.json").write_text(json.dumps(meta))
    loaded = resolve_model(str(root))
    assert not loaded.warnings
    aff = make_affine((2.0, 0.9, 0.8), rotation([1, 0, 0], 10.0))  # already at the bundle's spacing
    vol = world_pattern_volume((2, 13, 19), aff)
    seg = segment(vol, loaded, InferenceOptions(device="cpu"))
    # CT window -200..300 of the bundle: air and fat (-1000, -100) fall below -50 HU edge as before
    np.testing.assert_array_equal(seg.compartments.array, expected_stub_labels(np.clip(vol.array, -200, 300)))
    meta["bonemuscle"]["weights_sha256"] = "f" * 64
    (root / "configs" / "metadata.json").write_text(json.dumps(meta))
    with pytest.raises(ChecksumError):
        resolve_model(str(root))


def test_recipes_build_monai_networks_with_matching_channels():
    tissue = tissue_recipe()
    assert tissue.in_channels == 3 and tissue.out_channels == 10
    net = build_network(tissue)
    with torch.no_grad():
        out = net.eval()(torch.zeros(1, 3, 64, 64))
    assert out.shape == (1, 10, 64, 64)
    assert vertebra_recipe().spatial_dims is SpatialDims.THREE_D


def test_spec_validation_messages():
    with pytest.raises(SpecError, match="architecture"):
        build_network(replace(tiny_unet_spec(), architecture="os.system"))
    with pytest.raises(SpecError, match="patch_size"):
        replace(stub_spec(), patch_size=(16, 16, 16))
    with pytest.raises(ValueError, match="unknown compartments class"):
        stub_spec(classes={0: "background", 1: "muscel"})
