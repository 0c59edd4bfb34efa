"""Loading a network, checksum first: registry entries, TorchScript + JSON sidecar, MONAI bundles.

Weights are verified against their recorded sha256 *before* they are deserialised, and state dicts
are read with ``torch.load(weights_only=True)`` so a weights file can never run code. Nothing is
downloaded: every file must already be on disk.

``resolve_model(text)`` is what ``bonemuscle analyze --model NAME_OR_PATH`` calls:

* a registered name (``segmentation_models/weights/<name>/model.json``);
* a MONAI bundle folder (``configs/metadata.json`` + ``models/model.ts`` or ``models/model.pt``);
* a TorchScript file with a JSON sidecar next to it (``model.ts.json`` or ``model.json``) holding at
  least ``classes``, ``spacing_mm``, ``patch_size`` and ``normalisation`` (the ``model.json`` keys).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from segmentation_models.registry import (
    AxisOrder,
    ModelSpec,
    SpecError,
    get_spec,
    read_spec,
    write_spec,
)

if TYPE_CHECKING:
    import torch


class ModelLoadError(Exception):
    """A model that cannot be loaded; the message names the file and what to do."""


class ChecksumError(ModelLoadError):
    """Weights whose sha256 differs from the one recorded for them."""

    def __init__(self, path: Path, expected: str, actual: str) -> None:
        super().__init__(
            f"{path}: sha256 mismatch: expected {expected}, file has {actual}; "
            "the weights file is corrupt or not the one this model description was written for"
        )
        self.path, self.expected, self.actual = path, expected, actual


@dataclass(frozen=True)
class LoadedModel:
    """A network ready for inference (eval mode, CPU) with the spec that names its outputs."""

    spec: ModelSpec
    network: torch.nn.Module
    weights_sha256: str | None
    source: str
    warnings: tuple[str, ...] = ()

    def describe(self) -> dict[str, Any]:
        """The results.json ``model`` block."""
        return {"name": self.spec.name, "version": self.spec.version, "weights_sha256": self.weights_sha256}


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file, streamed (weights can be hundreds of MB)."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def verify_sha256(path: Path, expected: str) -> str:
    """Return the file's sha256 if it equals ``expected``.

    Raises:
        ModelLoadError: the file is missing.
        ChecksumError: the hashes differ (both are named).
    """
    path = Path(path)
    if not path.is_file():
        raise ModelLoadError(f"{path}: weights file not found")
    actual = sha256_file(path)
    if actual != expected.lower():
        raise ChecksumError(path, expected.lower(), actual)
    return actual


def load_registered(spec: ModelSpec) -> LoadedModel:
    """Build the spec's MONAI network and load its checksummed state dict (or TorchScript file).

    Raises:
        ModelLoadError: no weights file or no sha256 recorded, or the state dict does not fit.
        ChecksumError: the weights differ from the recorded hash.
    """
    import torch

    path = spec.weights_path
    if path is None or spec.weights_sha256 is None:
        raise ModelLoadError(
            f"model {spec.name!r}: model.json must name weights_file and weights_sha256 (got "
            f"{spec.weights_file!r}, {spec.weights_sha256!r})"
        )
    digest = verify_sha256(path, spec.weights_sha256)
    if spec.architecture is None:  # a registered TorchScript export
        network = _load_torchscript_module(path)
    else:
        from segmentation_models.networks import build_network

        network = build_network(spec)
        try:
            state = torch.load(path, map_location="cpu", weights_only=True)
            if isinstance(state, Mapping) and "state_dict" in state:
                state = state["state_dict"]
            network.load_state_dict(state, strict=True)
        except Exception as exc:  # pickle errors, missing/unexpected keys, shape mismatches
            raise ModelLoadError(f"{path}: cannot load weights into {spec.architecture}: {exc}") from exc
    network.eval()
    return LoadedModel(spec, network, digest, source=str(path))


def save_registered(network: torch.nn.Module, spec: ModelSpec, directory: Path) -> ModelSpec:
    """Write ``network``'s state dict and a ``model.json`` recording its sha256 (training's last step).

    Returns the spec as written (weights file name, hash and ``base_dir`` filled in).
    """
    import torch

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    weights = directory / (spec.weights_file or "model.pt")
    torch.save(network.state_dict(), weights)
    written = replace(
        spec, weights_file=weights.name, weights_sha256=sha256_file(weights), base_dir=directory
    )
    write_spec(written, directory)
    return written


def load_torchscript(path: Path, sidecar: Path | None = None) -> LoadedModel:
    """A TorchScript file plus its JSON sidecar; the sidecar's ``weights_sha256`` is checked when given.

    Raises:
        ModelLoadError: no sidecar, unreadable file.
        SpecError: an incomplete sidecar.
        ChecksumError: the file differs from the sidecar's hash.
    """
    path = Path(path)
    sidecar = sidecar or _find_sidecar(path)
    try:
        data = json.loads(sidecar.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ModelLoadError(f"{sidecar}: cannot read the TorchScript sidecar ({exc})") from None
    data = {**data, "weights_file": path.name, "architecture": None}
    data.setdefault("name", path.stem)
    spec = ModelSpec.from_dict(data, base_dir=path.parent, where=str(sidecar))
    digest = verify_sha256(path, spec.weights_sha256) if spec.weights_sha256 else sha256_file(path)
    network = _load_torchscript_module(path)
    network.eval()
    warnings = (
        () if spec.weights_sha256 else (f"{sidecar} records no weights_sha256: {path.name} not verified",)
    )
    return LoadedModel(spec, network, digest, source=str(path), warnings=warnings)


def load_bundle(directory: Path) -> LoadedModel:
    """A MONAI bundle: classes from ``network_data_format``, spacing and scaling from its transforms.

    ``metadata.json`` may carry a ``"bonemuscle"`` object with any ``model.json`` key to override or
    complete what cannot be read from the bundle (e.g. a normalisation it does by code).
    MONAI loaders order axes (x, y, z) = (column, row, slice), so bundle networks get that order.

    Raises:
        ModelLoadError: missing metadata or model file.
        SpecError: classes, spacing or normalisation cannot be determined.
    """
    directory = Path(directory)
    meta_path = directory / "configs" / "metadata.json"
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ModelLoadError(f"{meta_path}: not a readable MONAI bundle metadata file ({exc})") from None
    fmt = meta.get("network_data_format") or {}
    image = (fmt.get("inputs") or {}).get("image") or {}
    pred: dict[str, Any] = next(iter((fmt.get("outputs") or {}).values()), {})
    shape = list(image.get("spatial_shape") or [])
    data: dict[str, Any] = {
        "name": meta.get("name") or directory.name,
        "version": str(meta.get("version", "unversioned")),
        "task": meta.get("task") or meta.get("description") or "MONAI bundle",
        "modality": str(image.get("modality", "CT")).upper(),
        "classes": pred.get("channel_def"),
        "spatial_dims": "3d" if len(shape) == 3 else "2d",
        "patch_size": [int(n) for n in reversed(shape) if str(n).isdigit()],
        "axis_order": AxisOrder.COLUMN_ROW_SLICE.value,
    }
    warnings: list[str] = []
    data.update(_bundle_transforms(directory, warnings))
    data.update(meta.get("bonemuscle") or {})
    if not data.get("classes"):
        raise SpecError(f"{meta_path}: network_data_format.outputs has no channel_def naming the classes")
    model_file = next(
        (directory / "models" / n for n in ("model.ts", "model.pt") if (directory / "models" / n).is_file()),
        None,
    )
    if model_file is None:
        raise ModelLoadError(f"{directory}: no models/model.ts or models/model.pt in the bundle")
    data["weights_file"] = str(model_file.relative_to(directory))
    spec = ModelSpec.from_dict(data, base_dir=directory, where=str(meta_path))
    digest = (
        verify_sha256(model_file, spec.weights_sha256) if spec.weights_sha256 else sha256_file(model_file)
    )
    if not spec.weights_sha256:
        warnings.append(f"{meta_path} records no weights_sha256: {model_file.name} not verified")
    if model_file.suffix == ".ts":
        network = _load_torchscript_module(model_file)
    else:
        network = _bundle_network(directory, model_file)
    network.eval()
    return LoadedModel(spec, network, digest, source=str(directory), warnings=tuple(warnings))


def resolve_model(text: str, registry: Path | None = None) -> LoadedModel:
    """Load what ``--model`` names: an existing path (bundle folder or TorchScript file) or a registry name.

    Raises:
        ModelLoadError, SpecError, ChecksumError: with a message fit for one stderr line.
    """
    path = Path(text).expanduser()
    if path.is_dir():
        if (path / "configs" / "metadata.json").is_file():
            return load_bundle(path)
        if (path / "model.json").is_file():
            return load_registered(read_spec(path / "model.json"))
        raise ModelLoadError(
            f"{path}: a folder but neither a MONAI bundle (configs/metadata.json) nor a model.json"
        )
    if path.is_file():
        if path.suffix == ".json":
            return load_registered(read_spec(path))
        return load_torchscript(path)
    return load_registered(get_spec(text, registry))


def _find_sidecar(path: Path) -> Path:
    for candidate in (
        path.with_name(path.name + ".json"),
        path.with_suffix(".json"),
        path.parent / "model.json",
    ):
        if candidate.is_file() and candidate != path:
            return candidate
    raise ModelLoadError(
        f"{path}: a TorchScript model needs a JSON sidecar ({path.name}.json) with classes, spacing_mm, "
        "patch_size and normalisation"
    )


def _load_torchscript_module(path: Path) -> torch.nn.Module:
    import torch

    try:
        return torch.jit.load(str(path), map_location="cpu")
    except Exception as exc:  # torch raises RuntimeError/ValueError for non-TorchScript files
        raise ModelLoadError(f"{path}: not a loadable TorchScript file ({exc})") from exc


def _bundle_transforms(directory: Path, warnings: list[str]) -> dict[str, Any]:
    """Spacing and intensity scaling read from the bundle's inference preprocessing, when plain."""
    path = directory / "configs" / "inference.json"
    if not path.is_file():
        return {}
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ModelLoadError(f"{path}: not valid JSON ({exc})") from None
    found: dict[str, Any] = {}
    for item in _walk(config):
        target = str(item.get("_target_", "")).rsplit(".", 1)[-1]
        if target in ("Spacingd", "Spacing") and isinstance(item.get("pixdim"), list):
            found["spacing_mm"] = [float(v) for v in item["pixdim"]] + (
                [None] if len(item["pixdim"]) == 2 else []
            )
        elif target in ("ScaleIntensityRanged", "ScaleIntensityRange"):
            if float(item.get("b_min", 0.0)) == 0.0 and float(item.get("b_max", 1.0)) == 1.0:
                found["normalisation"] = {"kind": "ct_window", "low": item["a_min"], "high": item["a_max"]}
        elif target in ("NormalizeIntensityd", "NormalizeIntensity"):
            found["normalisation"] = {"kind": "zscore"}
        elif target in ("Orientationd", "Orientation"):
            warnings.append(
                f"{path}: the bundle reorients to {item.get('axcodes')!r}; bonemuscle runs it in the "
                "series' own orientation, so results on differently oriented series need checking"
            )
    return found


def _walk(node: Any) -> Iterator[Mapping[str, Any]]:
    if isinstance(node, Mapping):
        yield node
        for value in node.values():
            yield from _walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from _walk(value)


def _bundle_network(directory: Path, weights: Path) -> torch.nn.Module:
    """Instantiate ``network_def`` from the bundle config with MONAI's parser, then load the state dict."""
    import torch
    from monai.bundle import ConfigParser

    config = directory / "configs" / "inference.json"
    if not config.is_file():
        raise ModelLoadError(f"{directory}: models/model.pt needs configs/inference.json with a network_def")
    parser = ConfigParser()
    parser.read_config(str(config))
    try:
        network = parser.get_parsed_content("network_def")
    except Exception as exc:  # MONAI raises KeyError/ImportError/ValueError for bad configs
        raise ModelLoadError(f"{config}: cannot build network_def ({exc})") from exc
    try:
        state = torch.load(weights, map_location="cpu", weights_only=True)
        network.load_state_dict(state, strict=True)
    except Exception as exc:
        raise ModelLoadError(f"{weights}: cannot load into the bundle's network_def: {exc}") from exc
    return network
