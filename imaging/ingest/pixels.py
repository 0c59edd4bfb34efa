"""Pixel decoding: stored values of one instance's frames, and their rescale to real-world values.

Uncompressed data is viewed with ``numpy.frombuffer`` (no decoder, no copy until the caller writes
it into the pre-allocated volume); compressed transfer syntaxes go through pydicom's pixel backends
(pylibjpeg openjpeg/libjpeg/rle, pyjpegls) with GDCM as the fallback decoder. Garbage above
BitsStored is masked and signed values are sign-extended here, once, for every path.

RGB, YBR and palette-colour images are refused: they are screenshots or fused overlays, not
measurable intensities.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pydicom
from pydicom.uid import UID

from imaging.ingest.model import IngestError

_UNCOMPRESSED = {
    "1.2.840.10008.1.2",  # implicit VR little endian
    "1.2.840.10008.1.2.1",  # explicit VR little endian
    "1.2.840.10008.1.2.1.99",  # deflated explicit VR little endian (pydicom inflates on read)
    "1.2.840.10008.1.2.2",  # explicit VR big endian
}


@dataclass(frozen=True)
class PixelFormat:
    """How stored pixel values are laid out; must be identical for every frame of a volume."""

    rows: int
    columns: int
    bits_allocated: int
    bits_stored: int
    signed: bool

    @property
    def stored_range(self) -> tuple[int, int]:
        """Smallest and largest value BitsStored can hold (used to pick the output dtype up front)."""
        if self.signed:
            return -(1 << (self.bits_stored - 1)), (1 << (self.bits_stored - 1)) - 1
        return 0, (1 << self.bits_stored) - 1


@dataclass(frozen=True)
class Rescale:
    """Modality LUT as a linear map: real = stored x slope + intercept."""

    slope: float = 1.0
    intercept: float = 0.0

    @property
    def integral(self) -> bool:
        """True when integer stored values map to integers, so an integer output type is exact."""
        return float(self.slope).is_integer() and float(self.intercept).is_integer()


def pixel_format(ds: pydicom.Dataset, where: str) -> PixelFormat:
    """Validate the image pixel module for measurement use.

    Raises:
        IngestError: for colour images, missing attributes, or bit depths we cannot represent.
    """
    photometric = str(ds.get("PhotometricInterpretation", "")).strip().upper()
    samples = int(ds.get("SamplesPerPixel", 1) or 1)
    if photometric not in ("MONOCHROME1", "MONOCHROME2") or samples != 1:
        raise IngestError(
            f"{where}: colour image ({photometric or 'no PhotometricInterpretation'}, {samples} samples per "
            "pixel): RGB/YBR/palette images are screenshots or overlays, not measurable intensities"
        )
    try:
        fmt = PixelFormat(
            rows=int(ds.Rows),
            columns=int(ds.Columns),
            bits_allocated=int(ds.BitsAllocated),
            bits_stored=int(ds.get("BitsStored") or ds.BitsAllocated),
            signed=int(ds.get("PixelRepresentation", 0) or 0) == 1,
        )
    except (AttributeError, TypeError, ValueError) as exc:
        raise IngestError(f"{where}: image pixel module incomplete ({exc})") from exc
    if not (1 <= fmt.rows <= 65535 and 1 <= fmt.columns <= 65535):  # US values; 0 is no image
        raise IngestError(f"{where}: Rows x Columns {fmt.rows} x {fmt.columns} is not an image")
    if fmt.bits_allocated not in (8, 16, 32) or not 1 <= fmt.bits_stored <= fmt.bits_allocated:
        raise IngestError(
            f"{where}: unsupported pixel depth (BitsAllocated {fmt.bits_allocated}, BitsStored "
            f"{fmt.bits_stored}); a 1-bit image is a mask, not an image to measure"
        )
    return fmt


def storage_dtype(fmt: PixelFormat) -> np.dtype:
    """Native-endian numpy dtype of one stored sample."""
    return np.dtype(f"{'i' if fmt.signed else 'u'}{fmt.bits_allocated // 8}")


class ScalingError(ValueError):
    """A rescale value that would turn every pixel into nonsense (0, NaN, text, astronomically large)."""


# A modality LUT maps 16-bit stored values to real units: no scanner writes a slope or an intercept
# anywhere near these bounds, and a zero slope makes every voxel the intercept (muscle 0 cm2, not null).
MAX_ABS_SLOPE = 1e4
MAX_ABS_INTERCEPT = 1e6


def frame_rescale(item: pydicom.Dataset | None, fallback: Rescale) -> Rescale:
    """Rescale from a dataset or functional-group item, or ``fallback`` when it carries none.

    Raises:
        ScalingError: a slope that is zero, not finite, not a number or absurdly large, or such an
            intercept (named, with its value).
    """
    if item is None or ("RescaleSlope" not in item and "RescaleIntercept" not in item):
        return fallback
    slope = _scaling_value(item, "RescaleSlope", 1.0, MAX_ABS_SLOPE)
    if slope == 0.0:
        raise ScalingError("RescaleSlope is 0: every pixel would read the intercept")
    return Rescale(slope, _scaling_value(item, "RescaleIntercept", 0.0, MAX_ABS_INTERCEPT))


def _scaling_value(item: pydicom.Dataset, keyword: str, default: float, bound: float) -> float:
    raw = item.get(keyword)
    if raw in (None, ""):
        return default
    try:
        value = float(raw)
    except (TypeError, ValueError):
        raise ScalingError(f"{keyword} {str(raw)[:40]!r} is not a number") from None
    if not math.isfinite(value) or abs(value) > bound:
        raise ScalingError(f"{keyword} {value:g} is not a plausible scaling value (|value| <= {bound:g})")
    return value


def read_frames(ds: pydicom.Dataset, fmt: PixelFormat, frames: list[int], where: str) -> np.ndarray:
    """Stored values of the requested 0-based ``frames``, shape (len(frames), rows, columns).

    Raises:
        IngestError: when the pixel data is truncated or no decoder can read it.
    """
    if "PixelData" not in ds:
        raise IngestError(f"{where}: no PixelData (float or double pixel data is not supported)")
    n_frames = int(ds.get("NumberOfFrames", 1) or 1)
    if any(f < 0 or f >= n_frames for f in frames):
        raise IngestError(f"{where}: frame index out of range (NumberOfFrames {n_frames})")
    tsyntax = UID(str(ds.file_meta.get("TransferSyntaxUID", "1.2.840.10008.1.2.1")))
    if tsyntax in _UNCOMPRESSED:
        arr = _native_frames(ds, fmt, n_frames, tsyntax, where)[frames]
    else:
        arr = np.stack([_decoded_frame(ds, f, n_frames, where) for f in frames])
        if arr.shape[1:] != (fmt.rows, fmt.columns):
            raise IngestError(f"{where}: decoded frame shape {arr.shape[1:]} is not Rows x Columns")
    return mask_high_bits(arr, fmt)


def _native_frames(
    ds: pydicom.Dataset, fmt: PixelFormat, n_frames: int, tsyntax: UID, where: str
) -> np.ndarray:
    data = ds.PixelData
    dtype = storage_dtype(fmt).newbyteorder(">" if tsyntax == "1.2.840.10008.1.2.2" else "<")
    count = n_frames * fmt.rows * fmt.columns
    if len(data) < count * dtype.itemsize:
        raise IngestError(
            f"{where}: PixelData is truncated ({len(data)} bytes, {count * dtype.itemsize} expected for "
            f"{n_frames} frame(s) of {fmt.rows}x{fmt.columns})"
        )
    arr = np.frombuffer(data, dtype=dtype, count=count).reshape(n_frames, fmt.rows, fmt.columns)
    return arr if dtype.isnative else arr.astype(dtype.newbyteorder("="))


def _decoded_frame(ds: pydicom.Dataset, frame: int, n_frames: int, where: str) -> np.ndarray:
    from pydicom.pixels import pixel_array

    index = frame if n_frames > 1 else None
    errors = []
    for plugin in ("", "gdcm"):
        try:
            arr = pixel_array(ds, index=index, decoding_plugin=plugin)
            return arr if arr.ndim == 2 else arr.reshape(arr.shape[-2:])
        except Exception as exc:  # each backend raises its own types
            errors.append(f"{plugin or 'default'}: {type(exc).__name__}: {exc}")
    raise IngestError(
        f"{where}: cannot decode pixel data ({ds.file_meta.TransferSyntaxUID.name}): {'; '.join(errors)}"
    )


def mask_high_bits(arr: np.ndarray, fmt: PixelFormat) -> np.ndarray:
    """Clear bits above BitsStored and sign-extend: scanners may leave overlay or garbage bits there."""
    if fmt.bits_stored >= fmt.bits_allocated:
        return arr
    arr = arr.astype(storage_dtype(fmt), copy=False)
    shift = fmt.bits_allocated - fmt.bits_stored
    if fmt.signed:
        return (arr << shift) >> shift  # arithmetic shift restores the sign of BitsStored
    return arr & np.array((1 << fmt.bits_stored) - 1, dtype=arr.dtype)


def output_dtype(fmt: PixelFormat, rescales: list[Rescale]) -> np.dtype:
    """int16 when every frame maps exactly to integers that fit, int32 when exact but possibly wider,
    else float32. The int32 case is narrowed to int16 after decoding if the actual values fit."""
    if not all(r.integral for r in rescales):
        return np.dtype(np.float32)
    lo, hi = fmt.stored_range
    bounds = [v for r in rescales for v in (lo * r.slope + r.intercept, hi * r.slope + r.intercept)]
    if min(bounds) >= np.iinfo(np.int16).min and max(bounds) <= np.iinfo(np.int16).max:
        return np.dtype(np.int16)
    return np.dtype(np.int32) if max(abs(b) for b in bounds) < 2**31 else np.dtype(np.float32)


def rescale_into(stored: np.ndarray, rescale: Rescale, out: np.ndarray) -> None:
    """Write ``stored * slope + intercept`` into ``out`` (one frame), exact for integer outputs."""
    if np.issubdtype(out.dtype, np.integer):
        tmp = stored.astype(np.int64 if out.dtype == np.int32 else np.int32)
        if rescale.slope != 1:
            np.multiply(tmp, int(rescale.slope), out=tmp)
        if rescale.intercept:
            np.add(tmp, int(rescale.intercept), out=tmp)
        out[...] = tmp
    else:
        out[...] = stored.astype(np.float64) * rescale.slope + rescale.intercept


def narrow_integers(array: np.ndarray) -> np.ndarray:
    """int32 volume -> int16 when all values fit (the common CT case with BitsStored 16), else float32
    (exact for the |value| < 2**24 that DICOM integer data with integral rescale produces in practice)."""
    if array.dtype != np.int32 or array.size == 0:
        return array
    info = np.iinfo(np.int16)
    if array.min() >= info.min and array.max() <= info.max:
        return array.astype(np.int16)
    return array.astype(np.float32)
