"""Decode every frame of an ordered stack exactly once, straight into a pre-allocated volume.

Why no single pool: uncompressed frames are a ``frombuffer`` view plus one copy, dominated by
pydicom's header parsing, which holds the GIL -- scripts/benchmark.py measured two threads 1.9x
*slower* than one on 400 uncompressed slices, so they are read serially. JPEG 2000 / JPEG-LS / JPEG
decoders also hold the GIL (two threads no faster than one), so compressed series of
``PROCESS_POOL_MIN_INSTANCES`` or more instances are decoded in worker processes, which return
stored frames; the rescale into the output stays in this process. Small compressed series use
threads (a process pool's start-up would cost more than it saves).
"""

from __future__ import annotations

import os
from collections import defaultdict
from collections.abc import Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from typing import Any

import numpy as np
import pydicom

from imaging.ingest.frames import FrameRef
from imaging.ingest.model import Instance, Source
from imaging.ingest.pixels import PixelFormat, output_dtype, pixel_format, read_frames, rescale_into

PROCESS_POOL_MIN_INSTANCES = 16
_UNCOMPRESSED = {"1.2.840.10008.1.2", "1.2.840.10008.1.2.1", "1.2.840.10008.1.2.1.99", "1.2.840.10008.1.2.2"}


def default_workers() -> int:
    """One worker per available core, at most 8 (decoding does not scale further)."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not on Linux
        cores = os.cpu_count() or 1
    return max(1, min(cores, 8))


def decode_stack(
    ordered: Sequence[FrameRef], instances: Sequence[Instance], fmt: PixelFormat, where: str, workers: int
) -> tuple[np.ndarray, dict[str, Any] | None]:
    """Volume ``[slice,row,column]`` of real-world values, plus padding facts (None without padding).

    Raises:
        IngestError: from any instance that cannot be read or decoded, naming it.
    """
    out = np.empty(
        (len(ordered), fmt.rows, fmt.columns), dtype=output_dtype(fmt, [r.rescale for r in ordered])
    )
    by_instance: dict[int, list[tuple[int, FrameRef]]] = defaultdict(list)
    for slot, ref in enumerate(ordered):
        by_instance[ref.instance].append((slot, ref))
    jobs = [
        (instances[i].source, sorted({ref.frame for _, ref in slots}), f"{where}: {instances[i].source}")
        for i, slots in by_instance.items()
    ]
    padded = 0
    for slots, (frame_ids, frames, pad) in zip(
        by_instance.values(), _run(jobs, instances, workers), strict=True
    ):
        for slot, ref in slots:
            stored = frames[frame_ids.index(ref.frame)]
            if ref.tile:
                stored = ref.tile.cut(stored)
            if pad is not None:
                padded += int(np.count_nonzero(stored == pad))
            rescale_into(stored, ref.rescale, out[slot])
    pad = padding_value(instances[0].header, fmt)
    return out, (None if pad is None else {"stored_value": pad, "voxels": padded})


def _run(
    jobs: list[tuple[Source, list[int], str]], instances: Sequence[Instance], workers: int
) -> Iterable[tuple[list[int], np.ndarray, int | None]]:
    if workers <= 1 or len(jobs) <= 1:
        return (_stored_frames(*job) for job in jobs)
    if not any(_compressed(inst.header) for inst in instances):
        return (_stored_frames(*job) for job in jobs)  # threads measured slower here (GIL in parsing)
    if len(jobs) >= PROCESS_POOL_MIN_INSTANCES:
        return _in_processes(jobs, workers)
    return _in_threads(jobs, workers)


def _in_threads(jobs: list[tuple[Source, list[int], str]], workers: int) -> list[Any]:
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(lambda job: _stored_frames(*job), jobs))


def _in_processes(jobs: list[tuple[Source, list[int], str]], workers: int) -> list[Any]:
    chunk = max(1, len(jobs) // (workers * 4))
    with ProcessPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(_stored_frames_job, jobs, chunksize=chunk))


def _stored_frames_job(job: tuple[Source, list[int], str]) -> tuple[list[int], np.ndarray, int | None]:
    return _stored_frames(*job)


def _stored_frames(
    source: Source, frame_ids: list[int], label: str
) -> tuple[list[int], np.ndarray, int | None]:
    """Read one instance with pixels and return its requested frames' stored values."""
    ds = source.read()
    own = pixel_format(ds, label)
    frames = read_frames(ds, own, frame_ids, label)
    return frame_ids, frames, padding_value(ds, own)


def _compressed(ds: pydicom.Dataset) -> bool:
    meta = getattr(ds, "file_meta", None)
    syntax = str(meta.get("TransferSyntaxUID", "")) if meta is not None else ""
    return bool(syntax) and syntax not in _UNCOMPRESSED


def padding_value(ds: pydicom.Dataset, fmt: PixelFormat) -> int | None:
    """PixelPaddingValue in the stored representation (some files write a signed value as US)."""
    value = ds.get("PixelPaddingValue")
    if value is None or value == "":
        return None
    value = int(value)
    if fmt.signed and value >= 1 << (fmt.bits_stored - 1):
        value -= 1 << fmt.bits_stored
    return value
