"""Model registry: what a network expects and produces, as reviewable JSON beside its weights.

Each registered model is a folder ``segmentation_models/weights/<name>/`` holding ``model.json``
(parsed into :class:`ModelSpec`), the weights file it names with its sha256, and a model card. The
JSON is the single description of the model: architecture and its arguments, input spacing, patch
size, intensity normalisation and the class table of every output head. Spacing is stored with named
axes (``{"slice": .., "row": .., "column": ..}``) so no reader has to guess an axis order.

Nothing here touches torch: reading the registry is cheap and importing it does nothing.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from segmentation_models.class_schema import HeadKind, guess_head_kind, validate_classes

SPEC_FILENAME = "model.json"


class SpecError(ValueError):
    """A model description that cannot be used; the message names the file or key and the fix."""


class SpatialDims(enum.Enum):
    """How the network sees the series: single slices, a slab of adjacent slices as channels, or 3-D."""

    TWO_D = "2d"
    TWO_HALF_D = "2.5d"
    THREE_D = "3d"


class AxisOrder(enum.Enum):
    """Order of the spatial axes the network was trained on.

    Our own models use the project order (slice, row, column). MONAI bundles trained on images read by
    MONAI's loaders see (x, y, z) = (column, row, slice); inference transposes for them.
    """

    SLICE_ROW_COLUMN = "slice_row_column"
    COLUMN_ROW_SLICE = "column_row_slice"


class NormKind(enum.Enum):
    CT_WINDOW = "ct_window"  # clip HU to [low, high], scale to [0, 1]
    PERCENTILE = "percentile"  # per-volume: clip to the [low, high] percentiles, scale to [0, 1]
    ZSCORE = "zscore"  # per-volume mean 0, SD 1
    NONE = "none"


@dataclass(frozen=True)
class Normalisation:
    """Intensity normalisation applied before the network; a pure function of the volume."""

    kind: NormKind
    low: float | None = None
    high: float | None = None

    def __post_init__(self) -> None:
        if self.kind in (NormKind.CT_WINDOW, NormKind.PERCENTILE):
            if self.low is None or self.high is None or not self.low < self.high:
                raise SpecError(
                    f"normalisation {self.kind.value} needs low < high, got {self.low}, {self.high}"
                )
            if self.kind is NormKind.PERCENTILE and not (self.low >= 0 and self.high <= 100):
                raise SpecError(f"percentiles must lie in 0..100, got {self.low}, {self.high}")

    def apply(self, array: np.ndarray) -> np.ndarray:
        """Return a float32 copy normalised as the network was trained.

        Works in place on its one copy: a 512x512x300 CT is 300 MB as float32, and each temporary
        would cost as much again.
        """
        x = np.array(array, dtype=np.float32)  # always a copy: the caller's array is never touched
        if self.kind is NormKind.NONE:
            return x
        if self.kind is NormKind.ZSCORE:
            sd = float(x.std())
            return (x - float(x.mean())) / (sd if sd > 0 else 1.0)
        if self.kind is NormKind.CT_WINDOW:
            lo, hi = float(self.low), float(self.high)  # type: ignore[arg-type]
        else:
            lo, hi = (float(v) for v in np.percentile(x, [self.low, self.high]))
            if hi <= lo:  # a constant volume: nothing to scale
                return np.zeros_like(x)
        np.clip(x, lo, hi, out=x)
        x -= lo
        x /= hi - lo
        return x

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind.value, "low": self.low, "high": self.high}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Normalisation:
        try:
            kind = NormKind(d["kind"])
        except (KeyError, ValueError):
            raise SpecError(
                f"normalisation needs 'kind' in {[k.value for k in NormKind]}, got {d.get('kind')!r}"
            ) from None
        return cls(kind, _opt_float(d.get("low")), _opt_float(d.get("high")))


@dataclass(frozen=True)
class Spacing:
    """Input voxel spacing in mm along the series' own axes; ``slice_mm`` None = keep the series'."""

    slice_mm: float | None
    row_mm: float
    column_mm: float

    def __post_init__(self) -> None:
        for v in (self.slice_mm, self.row_mm, self.column_mm):
            if v is not None and not v > 0:
                raise SpecError(f"spacing must be positive, got {self}")

    def to_dict(self) -> dict[str, float | None]:
        return {"slice": self.slice_mm, "row": self.row_mm, "column": self.column_mm}

    @classmethod
    def from_any(cls, value: Any) -> Spacing:
        """Named axes ``{"slice","row","column"}``, or ``[x, y, z]`` (column, row, slice) as results.json."""
        if isinstance(value, Mapping):
            try:
                return cls(_opt_float(value.get("slice")), float(value["row"]), float(value["column"]))
            except KeyError as exc:
                raise SpecError(f"spacing_mm needs 'row' and 'column' (mm), missing {exc}") from None
        if isinstance(value, Sequence) and len(value) == 3:
            x, y, z = value
            return cls(_opt_float(z), float(y), float(x))
        raise SpecError(f"spacing_mm must be {{'slice','row','column'}} or [x, y, z], got {value!r}")


@dataclass(frozen=True)
class Head:
    """A contiguous group of output channels with its own softmax and class table."""

    kind: HeadKind
    classes: Mapping[int, str]

    def __post_init__(self) -> None:
        object.__setattr__(self, "classes", validate_classes(self.kind, self.classes))

    @property
    def n_channels(self) -> int:
        return len(self.classes)


@dataclass(frozen=True)
class ModelSpec:
    """Everything needed to run a network and name its outputs.

    ``architecture`` is a MONAI network name (see :mod:`segmentation_models.networks`) or None for a
    self-describing TorchScript file. ``context_slices`` is the number of adjacent slices fed as
    channels (1 for 2-D and 3-D). ``patch_size`` is in network axis order: (row, column) for 2-D,
    (slice, row, column) for 3-D. ``base_dir`` is where relative file names resolve.
    """

    name: str
    version: str
    task: str
    heads: tuple[Head, ...]
    spatial_dims: SpatialDims
    spacing: Spacing
    patch_size: tuple[int, ...]
    normalisation: Normalisation
    modality: str = "CT"
    architecture: str | None = None
    architecture_kwargs: Mapping[str, Any] = field(default_factory=dict)
    context_slices: int = 1
    axis_order: AxisOrder = AxisOrder.SLICE_ROW_COLUMN
    weights_file: str | None = None
    weights_sha256: str | None = None
    model_card: str | None = None
    base_dir: Path | None = None

    def __post_init__(self) -> None:
        if not self.heads:
            raise SpecError(f"model {self.name!r} declares no output heads")
        kinds = [h.kind for h in self.heads]
        if len(kinds) != len(set(kinds)):
            raise SpecError(f"model {self.name!r} has two heads of the same kind: {[k.value for k in kinds]}")
        want = 3 if self.spatial_dims is SpatialDims.THREE_D else 2
        if len(self.patch_size) != want or min(self.patch_size) < 1:
            raise SpecError(
                f"model {self.name!r}: {self.spatial_dims.value} needs {want} positive patch_size values, "
                f"got {list(self.patch_size)}"
            )
        if self.context_slices < 1 or self.context_slices % 2 == 0:
            raise SpecError(
                f"model {self.name!r}: context_slices must be odd and >= 1, got {self.context_slices}"
            )
        if self.context_slices > 1 and self.spatial_dims is not SpatialDims.TWO_HALF_D:
            raise SpecError(f"model {self.name!r}: context_slices > 1 only makes sense for 2.5d")
        if self.spatial_dims is SpatialDims.THREE_D and self.spacing.slice_mm is None:
            raise SpecError(f"model {self.name!r}: a 3d model needs spacing_mm.slice")
        if self.modality not in ("CT", "MR"):
            raise SpecError(f"model {self.name!r}: modality must be 'CT' or 'MR', got {self.modality!r}")
        if self.weights_sha256 is not None and len(self.weights_sha256) != 64:
            raise SpecError(f"model {self.name!r}: weights_sha256 must be 64 hex digits")

    @property
    def in_channels(self) -> int:
        return self.context_slices

    @property
    def out_channels(self) -> int:
        return sum(h.n_channels for h in self.heads)

    def head(self, kind: HeadKind) -> Head | None:
        return next((h for h in self.heads if h.kind is kind), None)

    @property
    def weights_path(self) -> Path | None:
        if self.weights_file is None:
            return None
        return (self.base_dir or Path(".")) / self.weights_file

    def to_dict(self) -> dict[str, Any]:
        """The ``model.json`` content (``base_dir`` is where the file lives, not part of it)."""
        return {
            "name": self.name,
            "version": self.version,
            "task": self.task,
            "modality": self.modality,
            "architecture": self.architecture,
            "architecture_kwargs": dict(self.architecture_kwargs),
            "spatial_dims": self.spatial_dims.value,
            "context_slices": self.context_slices,
            "axis_order": self.axis_order.value,
            "spacing_mm": self.spacing.to_dict(),
            "patch_size": list(self.patch_size),
            "normalisation": self.normalisation.to_dict(),
            "heads": [
                {"kind": h.kind.value, "classes": {str(k): v for k, v in sorted(h.classes.items())}}
                for h in self.heads
            ],
            "weights_file": self.weights_file,
            "weights_sha256": self.weights_sha256,
            "model_card": self.model_card,
        }

    @classmethod
    def from_dict(
        cls, d: Mapping[str, Any], base_dir: Path | None = None, where: str = "model spec"
    ) -> ModelSpec:
        """Parse a ``model.json`` / sidecar dict.

        A single ``"classes"`` table may replace ``"heads"``; its kind is then inferred (vertebrae when
        every name is a level).

        Raises:
            SpecError: a missing or malformed key, naming ``where``.
        """
        try:
            if "heads" in d:
                heads = tuple(Head(HeadKind(h["kind"]), h["classes"]) for h in d["heads"])
            elif "classes" in d:
                heads = (Head(guess_head_kind(d["classes"]), d["classes"]),)
            else:
                raise SpecError(f"{where}: needs 'heads' or 'classes'")
            dims = SpatialDims(str(d.get("spatial_dims", "2d")))
            return cls(
                name=str(d.get("name") or (base_dir.name if base_dir else "unnamed")),
                version=str(d.get("version", "unversioned")),
                task=str(d.get("task", "body composition segmentation")),
                heads=heads,
                spatial_dims=dims,
                spacing=Spacing.from_any(d["spacing_mm"]),
                patch_size=tuple(int(n) for n in d["patch_size"]),
                normalisation=Normalisation.from_dict(d["normalisation"]),
                modality=str(d.get("modality", "CT")),
                architecture=d.get("architecture"),
                architecture_kwargs=dict(d.get("architecture_kwargs") or {}),
                context_slices=int(d.get("context_slices", 1)),
                axis_order=AxisOrder(str(d.get("axis_order", AxisOrder.SLICE_ROW_COLUMN.value))),
                weights_file=d.get("weights_file"),
                weights_sha256=(str(d["weights_sha256"]).lower() if d.get("weights_sha256") else None),
                model_card=d.get("model_card"),
                base_dir=base_dir,
            )
        except SpecError as exc:
            raise SpecError(f"{where}: {exc}") from None
        except KeyError as exc:
            raise SpecError(f"{where}: missing required key {exc}") from None
        except (TypeError, ValueError) as exc:
            raise SpecError(f"{where}: {exc}") from None


def registry_root() -> Path:
    """The folder of registered models shipped inside the package."""
    return Path(__file__).resolve().parent / "weights"


def read_spec(path: Path) -> ModelSpec:
    """Parse one ``model.json`` (relative file names resolve against its folder)."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise SpecError(f"{path}: cannot read model description ({exc})") from None
    if not isinstance(data, Mapping):
        raise SpecError(f"{path}: expected a JSON object")
    return ModelSpec.from_dict(data, base_dir=path.parent, where=str(path))


def write_spec(spec: ModelSpec, directory: Path) -> Path:
    """Write ``model.json`` into ``directory`` (used when registering trained weights)."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / SPEC_FILENAME
    path.write_text(json.dumps(spec.to_dict(), indent=2) + "\n", encoding="utf-8")
    return path


# The models `analyze`/`batch` use when none is named: one per modality; a series whose modality has
# no registered default fails with that reason (others go on).
DEFAULT_MODEL_NAMES: dict[str, str] = {"CT": "bonemuscle-ct-tissue", "MR": "bonemuscle-mr-dixon"}


def registered_names(root: Path | None = None) -> list[str]:
    """Names of the models registered under ``root`` (default: the package's weights folder)."""
    root = root or registry_root()
    if not root.is_dir():
        return []
    return sorted(p.parent.name for p in root.glob(f"*/{SPEC_FILENAME}"))


def get_spec(name: str, root: Path | None = None) -> ModelSpec:
    """The registered model ``name``.

    Raises:
        SpecError: no such model (the message lists those that exist).
    """
    root = root or registry_root()
    path = root / name / SPEC_FILENAME
    if not path.is_file():
        known = registered_names(root)
        raise SpecError(
            f"no registered model named {name!r} in {root} (registered: {', '.join(known) or 'none yet'}); "
            "give a MONAI bundle folder or a TorchScript file with its JSON sidecar instead"
        )
    return read_spec(path)


def _opt_float(v: Any) -> float | None:
    return None if v is None else float(v)
