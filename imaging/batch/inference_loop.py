"""The one place networks run in a batch: slices from several studies share each forward pass.

Peers load the model per image and run one study at a time, so a GPU idles between studies and on
the last, short batch of every study. Here each network is moved to the device once; the slices of
every prepared unit wait in one queue per model, and batches of ``batch_size`` slices are cut from
that queue regardless of which study they come from (slices of equal in-plane size only; a size
change closes the batch). Host tensors are pinned and copied with ``non_blocking`` on CUDA, and the
forward pass runs under autocast (float16) there. The per-batch maths is
:class:`segmentation_models.inference.Predictor`'s, which ``run_heads`` uses too (same windows,
softmax per head, bilinear upsampling of probabilities to the input grid, argmax there), so a unit's
labels do not depend on which other units shared its batches.

Models that resample across slices (3-D, or 2.5-D with a slice spacing) cannot share batches this
way; they run per unit through ``run_heads`` on the same loaded network.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from imaging.batch.stages import Prepared
from segmentation_models.inference import (
    HeadOutput,
    InferenceOptions,
    Predictor,
    context_stack,
    crop,
    deterministic,
    labels_of,
    run_heads,
    upsample_in_plane,
)
from segmentation_models.loading import LoadedModel


@dataclass
class _Pending:
    """A unit inside the loop: its labels fill in as its slices come back."""

    prepared: Prepared
    labels: list[list[np.ndarray]]  # [model][head] -> uint8 (slices, rows, columns)
    slices_left: list[int]  # per model
    seconds: float = 0.0


@dataclass
class _Chunk:
    unit: _Pending
    model: int
    start: int
    stop: int


@dataclass
class BatchStats:
    """What the loop did: forward passes, slices, and how many batches mixed studies."""

    batches: int = 0
    slices: int = 0
    mixed_batches: int = 0
    seconds: float = 0.0
    batch_sizes: list[int] = field(default_factory=list)


class CrossStudyBatcher:
    """Holds the loaded networks on the device and runs batches of slices across units."""

    def __init__(self, models: Sequence[LoadedModel], options: InferenceOptions) -> None:
        import torch

        self.models = list(models)
        self.options = options.on_device()
        self.device = torch.device(self.options.device)
        self.amp = self.options.amp
        self.predictors = [Predictor(m, self.options) for m in self.models]
        self.stats = BatchStats()
        self._queues: list[deque[_Chunk]] = [deque() for _ in self.models]
        self._units: dict[str, _Pending] = {}
        self._done: list[tuple[Prepared, list[HeadOutput], float]] = []

    @property
    def busy(self) -> bool:
        return bool(self._units)

    def queued_slices(self) -> int:
        return sum(c.stop - c.start for q in self._queues for c in q)

    def add(self, prepared: Prepared) -> None:
        """Queue a unit's slices for the models of its modality; models that cannot share batches run
        for it now."""
        shape = prepared.decoded.model_volume.shape
        pending = _Pending(
            prepared,
            [[np.zeros(shape, np.uint8) for _ in m.spec.heads] for m in self.models],
            [0] * len(self.models),
        )
        self._units[prepared.key] = pending
        for i in prepared.models:
            model, x = self.models[i], prepared.inputs[i]
            if x is None:
                start = time.perf_counter()
                opts = replace(self.options, keep_probabilities=False)
                for h, head in enumerate(run_heads(prepared.decoded.model_volume, model, opts)):
                    pending.labels[i][h] = head.labels
                pending.seconds += time.perf_counter() - start
                continue
            pending.slices_left[i] = x.shape[0]
            self._queues[i].append(_Chunk(pending, i, 0, x.shape[0]))
        self._finish_if_complete(pending)

    def step(self, flush: bool) -> bool:
        """Run one batch when a full one is queued (or any, with ``flush``). Returns whether one ran."""
        for i, queue in enumerate(self._queues):
            if not queue:
                continue
            if flush or self._full_batch_available(queue):
                self._run_batch(i, self._cut_batch(queue))
                return True
        return False

    def take_finished(self) -> list[tuple[Prepared, list[HeadOutput], float]]:
        """Units whose every model has run: (prepared, head labels, inference seconds)."""
        done, self._done = self._done, []
        return done

    # -- internals ------------------------------------------------------------------------------------------

    def _plane(self, chunk: _Chunk) -> tuple[int, ...]:
        """The in-plane size the network sees for this chunk: its unit's body box, else the slice."""
        prepared = chunk.unit.prepared
        box = prepared.boxes[chunk.model]
        if box is None:
            return tuple(prepared.queued(chunk.model)[0].shape[1:])
        return (box[0].stop - box[0].start, box[1].stop - box[1].start)

    def _full_batch_available(self, queue: deque[_Chunk]) -> bool:
        plane, n = self._plane(queue[0]), 0
        for chunk in queue:
            if self._plane(chunk) != plane:
                return True  # the batch is closed by a size change
            n += chunk.stop - chunk.start
            if n >= self.options.batch_size:
                return True
        return False

    def _cut_batch(self, queue: deque[_Chunk]) -> list[_Chunk]:
        """Take up to batch_size slices of one in-plane size from the front of the queue."""
        plane, room, out = self._plane(queue[0]), self.options.batch_size, []
        while queue and room > 0 and self._plane(queue[0]) == plane:
            chunk = queue[0]
            take = min(room, chunk.stop - chunk.start)
            out.append(_Chunk(chunk.unit, chunk.model, chunk.start, chunk.start + take))
            room -= take
            if take == chunk.stop - chunk.start:
                queue.popleft()
            else:
                chunk.start += take
        return out

    def _batch_input(self, chunks: list[_Chunk]) -> np.ndarray:
        """(B, context, rows, columns): each slice with its neighbours from its own study (edges repeat),
        cut to its unit's body box."""
        context = self.models[chunks[0].model].spec.context_slices
        parts = []
        for c in chunks:
            x, _ = c.unit.prepared.queued(c.model)
            stack = context_stack(x, np.arange(c.start, c.stop), context)
            box = c.unit.prepared.boxes[c.model]
            parts.append(stack if box is None else crop(stack, box))
        return np.ascontiguousarray(np.concatenate(parts))

    def _run_batch(self, m: int, chunks: list[_Chunk]) -> None:
        import torch

        start = time.perf_counter()
        predictor = self.predictors[m]
        host = torch.from_numpy(self._batch_input(chunks))
        if self.device.type == "cuda":
            host = host.pin_memory()
        batch = host.to(self.device, non_blocking=True)
        with deterministic(), torch.inference_mode():
            logits = predictor.window(batch)
            offset = 0
            for c in chunks:
                n = c.stop - c.start
                prepared = c.unit.prepared
                (x, scale), box = prepared.queued(m), prepared.boxes[m]
                shape = prepared.decoded.model_volume.shape
                part = logits[offset : offset + n]
                if box is not None:
                    part = predictor.paste(part, box, x.shape[1:])
                for h, p in enumerate(predictor.head_probabilities(part)):
                    up = upsample_in_plane(p, shape[1:], scale[1:])
                    c.unit.labels[m][h][c.start : c.stop] = labels_of(up)
                offset += n
        elapsed = time.perf_counter() - start
        total = sum(c.stop - c.start for c in chunks)
        self.stats.batches += 1
        self.stats.slices += total
        self.stats.seconds += elapsed
        self.stats.batch_sizes.append(total)
        self.stats.mixed_batches += len({c.unit.prepared.key for c in chunks}) > 1
        for c in chunks:  # time is shared out by slices
            c.unit.seconds += elapsed * (c.stop - c.start) / total
            c.unit.slices_left[m] -= c.stop - c.start
        for unit in {id(c.unit): c.unit for c in chunks}.values():
            self._finish_if_complete(unit)

    def _finish_if_complete(self, unit: _Pending) -> None:
        if any(unit.slices_left):
            return
        heads = [
            HeadOutput(head.kind, unit.labels[i][h], dict(head.classes))
            for i in unit.prepared.models
            for h, head in enumerate(self.models[i].spec.heads)
        ]
        self._units.pop(unit.prepared.key, None)
        self._done.append((unit.prepared, heads, unit.seconds))
