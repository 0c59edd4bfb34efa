"""The work a batch does per unit outside the inference loop, as functions a worker process can run.

Two jobs run in the CPU worker pool:

* :func:`prepare` — decode (assemble the volume, Dixon fat fraction) and preprocess (normalise and
  resample to each in-plane model's grid), so the inference loop only moves slices to the device;
* :func:`finish` — turn the network's labels into the contract's Segmentation (HU windows / MR
  rules), measure, classify and write the files.

Both return a value instead of raising, so a failure crosses the process boundary as a reason and a
transient/deterministic flag (exception objects do not always survive pickling).
"""

from __future__ import annotations

import errno
import time
import traceback
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from imaging.ingest.model import IngestError
from imaging.ingest.selection import StudyChoice
from imaging.measurements.per_level import MeasureOptions
from imaging.pipeline.series_job import DecodedUnit, UnitOutcome, decode_unit, finish_unit
from imaging.pipeline.subject import SubjectSources
from imaging.segmentation.networks import ModelRecord, assemble_segmentation
from imaging.segmentation.result import Segmentation
from imaging.segmentation.source import describe_models, fitting_models
from imaging.segmentation.tissue_rules import TissueRules
from segmentation_models.inference import HeadOutput, model_scale, to_model_grid, unit_box
from segmentation_models.registry import ModelSpec, SpatialDims

# OS errors worth another attempt (a flaky network share, a busy file); others are the input's fault.
_TRANSIENT_ERRNOS = {errno.EIO, errno.EAGAIN, errno.EBUSY, errno.ESTALE, errno.ENOMEM, errno.EINTR}


@dataclass(frozen=True)
class Failure:
    """Why a stage failed, and whether trying again could help."""

    reason: str
    transient: bool


@dataclass(frozen=True)
class Prepared:
    """A decoded unit plus, per model, its normalised input on the model grid (None: run per unit).

    ``models`` are the indices of the run's models trained on this unit's modality (the only ones
    run on it); ``inputs`` and ``scales`` hold an entry for every model of the run.
    """

    key: str
    decoded: DecodedUnit
    inputs: tuple[np.ndarray | None, ...]
    scales: tuple[np.ndarray | None, ...]
    models: tuple[int, ...] = (0,)
    boxes: tuple[tuple[slice, slice] | None, ...] = (None,)  # per model: the unit's body box
    timings: dict[str, float] = field(default_factory=dict)

    def queued(self, model: int) -> tuple[np.ndarray, np.ndarray]:
        """Model-grid input and scale of a model whose slices join cross-study batches.

        Raises:
            ValueError: that model runs per unit (or not at all) for this unit.
        """
        x, scale = self.inputs[model], self.scales[model]
        if x is None or scale is None:
            raise ValueError(f"model {model} has no batched input for unit {self.key}")
        return x, scale


@dataclass(frozen=True)
class FinishOptions:
    """What measuring and writing needs (picklable: no networks)."""

    out_dir: Path
    levels: MeasureOptions
    subject: SubjectSources
    models: tuple[ModelRecord, ...]  # one per network of the run; a unit uses those of its modality
    rules: TissueRules = field(default_factory=TissueRules)
    device: str = "cpu"
    amp: bool = False


def classify_error(exc: BaseException) -> Failure:
    """Reason text plus transient flag: resource errors retry, input errors (IngestError...) do not."""
    if isinstance(exc, IngestError | ValueError):
        return Failure(str(exc) or type(exc).__name__, False)
    if isinstance(exc, MemoryError | TimeoutError | ConnectionError):
        return Failure(f"{type(exc).__name__}: {exc}", True)
    if isinstance(exc, OSError):
        return Failure(f"{type(exc).__name__}: {exc}", exc.errno in _TRANSIENT_ERRNOS)
    if isinstance(exc, RuntimeError):
        return Failure(str(exc) or type(exc).__name__, "out of memory" in str(exc).lower())
    where = traceback.extract_tb(exc.__traceback__)[-1] if exc.__traceback__ else None
    at = f" (at {Path(where.filename).name}:{where.lineno})" if where else ""
    return Failure(f"internal error {type(exc).__name__}: {exc}{at}", False)


def batchable(spec: ModelSpec, scale: np.ndarray) -> bool:
    """Slices of this model can join batches across studies: a 2-D/2.5-D model that keeps the slices."""
    return spec.spatial_dims is not SpatialDims.THREE_D and float(scale[0]) == 1.0


def prepare(key: str, choice: StudyChoice, specs: Sequence[ModelSpec]) -> Prepared | Failure:
    """Decode one unit and put it on each in-plane model's grid (worker process; never raises)."""
    try:
        start = time.perf_counter()
        decoded = decode_unit(choice, workers=1)  # the pool already uses the cores: no nested pool
        decoded_at = time.perf_counter()
        # What the networks read (MR Dixon: the in-phase image on the reference grid), as analyze does.
        image = decoded.model_volume
        fit = fitting_models(specs, image.meta.modality.value)
        inputs: list[np.ndarray | None] = [None] * len(specs)
        scales: list[np.ndarray | None] = [None] * len(specs)
        boxes: list[tuple[slice, slice] | None] = [None] * len(specs)
        for i in fit:
            spec = specs[i]
            scale = scales[i] = model_scale(image, spec)
            if batchable(spec, scale):
                x = inputs[i] = to_model_grid(spec.normalisation.apply(image.array), scale)
                boxes[i] = unit_box(x, spec)
        timings = {"decode": decoded_at - start, "preprocess": time.perf_counter() - decoded_at}
        return Prepared(key, decoded, tuple(inputs), tuple(scales), fit, tuple(boxes), timings)
    except Exception as exc:  # the runner records it; other units go on
        return classify_error(exc)


def segmentation_from_heads(
    decoded: DecodedUnit, heads: Sequence[HeadOutput], models: Sequence[ModelRecord], options: FinishOptions
) -> Segmentation:
    """The contract Segmentation from raw head labels: :func:`assemble_segmentation`, as ``analyze`` does.

    Only adapts the inputs: labels made on the network image (``decoded.model_volume``), the Dixon
    fat-fraction map, and records of the models that made ``heads`` in place of the networks (which
    stay in the inference process).
    """
    dff = decoded.dff
    return assemble_segmentation(
        decoded.model_volume,
        heads,
        models,
        device=options.device,
        amp=options.amp,
        rules=options.rules,
        fat_fraction_pct=None if dff is None else dff.map.percent,
        fat_fraction_folded=False if dff is None else dff.map.folded,
    )


def finish(
    decoded: DecodedUnit, heads: Sequence[HeadOutput], used: Sequence[int], options: FinishOptions
) -> tuple[UnitOutcome, dict[str, float]] | Failure:
    """Segmentation rules, measurements, classification and files of one unit (worker; never raises).

    ``used``: indices into ``options.models`` of the networks that made ``heads`` (:attr:`Prepared.models`).
    """
    try:
        clock: dict[str, float] = {}
        start = time.perf_counter()
        models = [options.models[i] for i in used]
        seg = segmentation_from_heads(decoded, heads, models, options)
        clock["measure"] = time.perf_counter() - start
        model_block = describe_models([m.description for m in models])
        outcome = finish_unit(
            decoded, seg, options.levels, options.subject, model_block, options.out_dir, clock
        )
        return outcome, clock
    except Exception as exc:
        return classify_error(exc)
