"""Slice-O-Matic ``.tag`` files: the usual format of manual L3 research segmentations.

Format (TomoVision sliceOmatic; checked against its "TAG" help pages and public readers): an ASCII
header terminated by a form feed (0x0C), then one byte per pixel holding the tag index, rows top to
bottom, pixels left to right within a row, same size as the DICOM slice it annotates. sliceOmatic
can also read headerless "user" TAG files (just the bytes); both are accepted here. The header
holds ``key: value`` fields (image size as ``x:``/``y:``, tag names and colours); fields other than
the size are kept as text, not interpreted.

Tag numbers are a site convention, not part of the format. The common L3 protocol (Alberta) uses
1 = skeletal muscle, 2 = IMAT, 5 = VAT, 7 = SAT; this is the default of :class:`TagMapping` but
groups differ (some put IMAT on 3, or omit it), so the mapping is a parameter and an unmapped
non-zero tag is reported, never dropped silently. Uncertain: whether every sliceOmatic version
writes ``x:``/``y:`` in the header; when absent, the size comes from the DICOM slice.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

FORM_FEED = b"\x0c"
_FIELD = re.compile(rb"([A-Za-z_][A-Za-z0-9_]*)\s*:\s*([^\s]+)")


class TagFormatError(ValueError):
    """A file that is not a usable .tag; the message names the file and the size mismatch."""


@dataclass(frozen=True)
class TagMapping:
    """Tag index -> our tissue name (default: Alberta L3 convention)."""

    values: Mapping[int, str] = field(
        default_factory=lambda: {1: "skeletal_muscle", 2: "imat", 5: "vat", 7: "sat"}
    )


@dataclass(frozen=True)
class TagImage:
    array: np.ndarray  # uint8 (rows, columns) of tag indices
    header: dict[str, str]


def read_tag(path: Path, shape: tuple[int, int] | None = None) -> TagImage:
    """Read a .tag file; ``shape`` (rows, columns) is the DICOM slice size when known.

    Raises:
        TagFormatError: the pixel count fits neither the header size nor ``shape``.
    """
    path = Path(path)
    data = path.read_bytes()
    cut = data.find(FORM_FEED)
    head, body = (data[:cut], data[cut + 1 :]) if cut >= 0 else (b"", data)
    header = {k.decode("ascii", "replace"): v.decode("ascii", "replace") for k, v in _FIELD.findall(head)}
    from_header = None
    if "x" in header and "y" in header and header["x"].isdigit() and header["y"].isdigit():
        from_header = (int(header["y"]), int(header["x"]))
    rows_cols = from_header or shape
    if rows_cols is None:
        raise TagFormatError(
            f"{path}: no image size in the header; give the size of the DICOM slice it belongs to"
        )
    if shape is not None and from_header is not None and tuple(shape) != from_header:
        raise TagFormatError(
            f"{path}: header says {from_header[0]}x{from_header[1]}, the slice is {shape[0]}x{shape[1]}"
        )
    n = rows_cols[0] * rows_cols[1]
    if len(body) != n:
        raise TagFormatError(
            f"{path}: {len(body)} pixel bytes after the header, "
            f"expected {n} for {rows_cols[0]}x{rows_cols[1]}"
        )
    return TagImage(np.frombuffer(body, dtype=np.uint8).reshape(rows_cols).copy(), header)


def write_tag(path: Path, array: np.ndarray, names: Mapping[int, str] | None = None) -> Path:
    """Write a .tag (our header layout: size and tag names, then 0x0C and the pixel bytes)."""
    arr = np.asarray(array)
    if arr.ndim != 2 or arr.min(initial=0) < 0 or arr.max(initial=0) > 255:
        raise ValueError("a .tag holds one 2-D slice of tag indices 0..255")
    rows, cols = arr.shape
    lines = [f"x: {cols} y: {rows} z: 1"]
    lines += [f"tag{value}: {name}" for value, name in sorted((names or {}).items())]
    path = Path(path)
    path.write_bytes(("\n".join(lines) + "\n").encode("ascii") + FORM_FEED + arr.astype(np.uint8).tobytes())
    return path


def tag_to_names(
    tag: TagImage, mapping: TagMapping | None = None
) -> tuple[np.ndarray, dict[int, str], list[str]]:
    """Labels with our names: (array, value -> name, warnings about unmapped tags)."""
    mapping = mapping or TagMapping()
    present = sorted(int(v) for v in np.unique(tag.array) if v != 0)
    unmapped = [v for v in present if v not in mapping.values]
    warnings = []
    if unmapped:
        counts = {v: int(np.count_nonzero(tag.array == v)) for v in unmapped}
        warnings.append(f"tags {unmapped} have no name in the tag mapping and are ignored (pixels: {counts})")
    out = np.where(np.isin(tag.array, list(mapping.values)), tag.array, 0).astype(np.uint8)
    return out, dict(mapping.values), warnings
