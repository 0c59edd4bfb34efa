"""Every 2-D frame an instance contributes, with its plane and rescale, whatever the storage layout.

Four layouts reach the assembler and all become a flat list of :class:`FrameRef`:

* classic single-frame images (CT/MR Image Storage): one frame, geometry at top level;
* enhanced multi-frame (Enhanced CT/MR): geometry and rescale per frame from the per-frame or
  shared functional groups (per-frame wins, as the standard says);
* classic multi-frame (NumberOfFrames > 1, one ImagePositionPatient, no functional groups): frames
  are taken as stacked along the slice normal at SpacingBetweenSlices (else SliceThickness) -- this
  assumption is recorded as a warning because the file does not state per-frame positions;
* Siemens mosaic (ImageType MOSAIC): one frame holding a grid of slices, split into tiles; tile
  positions come from the CSA header (NumberOfImagesInMosaic, SliceNormalVector).
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field

import numpy as np
import pydicom

from imaging.ingest.geometry import Plane, plane_from_values
from imaging.ingest.model import IngestError
from imaging.ingest.pixels import Rescale, ScalingError, frame_rescale


@dataclass(frozen=True)
class Tile:
    """Position of one slice inside a mosaic frame: grid block (row, column) and tile size."""

    block_row: int
    block_col: int
    rows: int
    columns: int

    def cut(self, mosaic: np.ndarray) -> np.ndarray:
        r0, c0 = self.block_row * self.rows, self.block_col * self.columns
        return mosaic[..., r0 : r0 + self.rows, c0 : c0 + self.columns]


@dataclass(frozen=True, eq=False)
class FrameRef:
    """One 2-D image of the series: which instance/frame holds it, where it is, how to rescale it.

    ``distinct`` lists attributes that tell frames at the same position apart (echo time, temporal
    position, frame type...), used only to explain a refusal to the user.
    """

    instance: int
    frame: int
    plane: Plane
    rescale: Rescale
    label: str
    tile: Tile | None = None
    distinct: tuple[tuple[str, str], ...] = field(default=())


MAX_FRAMES = 20_000  # enhanced CT/MR objects hold a few thousand frames; more is a corrupt header


def frames_of(index: int, ds: pydicom.Dataset, where: str, warn: list[str]) -> list[FrameRef]:
    """All frames of one instance (see module doc for the layouts).

    Raises:
        IngestError: when geometry attributes are missing or malformed.
    """
    try:
        if "PerFrameFunctionalGroupsSequence" in ds:
            return _enhanced(index, ds, where)
        if _is_mosaic(ds):
            return _mosaic(index, ds, where)
        n_frames = int(ds.get("NumberOfFrames", 1) or 1)
        if not 1 <= n_frames <= MAX_FRAMES:
            raise IngestError(f"{where}: NumberOfFrames {n_frames} is not plausible (1..{MAX_FRAMES})")
        if n_frames > 1:
            return _classic_multiframe(index, ds, n_frames, where, warn)
        plane = plane_from_values(ds.ImagePositionPatient, ds.ImageOrientationPatient, _pixel_spacing(ds))
        rescale = frame_rescale(ds, Rescale())
    except ScalingError as exc:
        raise IngestError(f"{where}: {exc}") from exc
    except (AttributeError, KeyError, TypeError, ValueError, IndexError) as exc:
        raise IngestError(f"{where}: no usable slice geometry ({_why(exc)})") from exc
    return [FrameRef(index, 0, plane, rescale, where, None, _distinct(ds))]


def _why(exc: Exception) -> str:
    if isinstance(exc, AttributeError | KeyError):
        return f"missing {str(exc).strip(chr(39))}"
    return str(exc)


def _pixel_spacing(ds: pydicom.Dataset) -> list[float]:
    ps = ds.get("PixelSpacing") or ds.get("ImagerPixelSpacing")
    if ps is None:
        raise ValueError("no PixelSpacing")
    return [float(v) for v in ps]


def _distinct(item: pydicom.Dataset) -> tuple[tuple[str, str], ...]:
    keys = (
        "EchoTime",
        "EchoNumbers",
        "TemporalPositionIdentifier",
        "AcquisitionNumber",
        "ImageType",
        "TriggerTime",
    )
    return tuple((k, str(item.get(k))) for k in keys if item.get(k) not in (None, ""))


def _group(
    per_frame: pydicom.Dataset, shared: pydicom.Dataset | None, keyword: str
) -> pydicom.Dataset | None:
    """First item of a functional-group macro, per-frame before shared."""
    for source in (per_frame, shared):
        if source is not None and keyword in source and len(source[keyword].value):
            return source[keyword].value[0]
    return None


def _enhanced(index: int, ds: pydicom.Dataset, where: str) -> list[FrameRef]:
    shared = ds.SharedFunctionalGroupsSequence[0] if ds.get("SharedFunctionalGroupsSequence") else None
    top_rescale = frame_rescale(ds, Rescale())
    refs = []
    for f, item in enumerate(ds.PerFrameFunctionalGroupsSequence):
        pos = _group(item, shared, "PlanePositionSequence")
        ori = _group(item, shared, "PlaneOrientationSequence")
        meas = _group(item, shared, "PixelMeasuresSequence")
        if pos is None or ori is None or meas is None:
            missing = [
                n
                for n, v in (("PlanePosition", pos), ("PlaneOrientation", ori), ("PixelMeasures", meas))
                if v is None
            ]
            raise ValueError(f"frame {f + 1} lacks {', '.join(missing)} functional group(s)")
        plane = plane_from_values(pos.ImagePositionPatient, ori.ImageOrientationPatient, meas.PixelSpacing)
        rescale = frame_rescale(_group(item, shared, "PixelValueTransformationSequence"), top_rescale)
        refs.append(
            FrameRef(index, f, plane, rescale, f"{where} frame {f + 1}", None, _frame_distinct(item, shared))
        )
    return refs


def _frame_distinct(item: pydicom.Dataset, shared: pydicom.Dataset | None) -> tuple[tuple[str, str], ...]:
    out = []
    content = _group(item, None, "FrameContentSequence")
    if content is not None:
        for key in ("StackID", "TemporalPositionIndex", "DimensionIndexValues"):
            if content.get(key) not in (None, ""):
                out.append((key, str(content.get(key))))
    echo = _group(item, shared, "MREchoSequence")
    if echo is not None and echo.get("EffectiveEchoTime") is not None:
        out.append(("EffectiveEchoTime", str(echo.EffectiveEchoTime)))
    for seq, key in (("MRImageFrameTypeSequence", "FrameType"), ("CTImageFrameTypeSequence", "FrameType")):
        ftype = _group(item, shared, seq)
        if ftype is not None and ftype.get(key):
            out.append((key, "\\".join(ftype.get(key))))
    diff = _group(item, shared, "MRDiffusionSequence")
    if diff is not None and diff.get("DiffusionBValue") is not None:
        out.append(("DiffusionBValue", str(diff.DiffusionBValue)))
    return tuple(out)


def _classic_multiframe(
    index: int, ds: pydicom.Dataset, n_frames: int, where: str, warn: list[str]
) -> list[FrameRef]:
    first = plane_from_values(ds.ImagePositionPatient, ds.ImageOrientationPatient, _pixel_spacing(ds))
    spacing, source = _frame_spacing(ds)
    if spacing is None:
        raise ValueError(
            "multi-frame image without per-frame positions, SpacingBetweenSlices or SliceThickness"
        )
    warn.append(
        f"{where}: classic multi-frame without per-frame positions; frames assumed stacked along the slice "
        f"normal every {spacing} mm ({source})"
    )
    rescale = frame_rescale(ds, Rescale())
    refs = []
    for f in range(n_frames):
        pos = first.position + f * spacing * first.normal
        plane = Plane(pos, first.row_cosine, first.col_cosine, first.spacing)
        refs.append(FrameRef(index, f, plane, rescale, f"{where} frame {f + 1}"))
    return refs


def _frame_spacing(ds: pydicom.Dataset) -> tuple[float | None, str]:
    for key in ("SpacingBetweenSlices", "SliceThickness"):
        value = ds.get(key)
        if value not in (None, "") and float(value) > 0:
            return float(value), key
    return None, ""


def _is_mosaic(ds: pydicom.Dataset) -> bool:
    image_type = [str(v).upper() for v in (ds.get("ImageType") or [])]
    return "MOSAIC" in image_type and (0x0029, 0x1010) in ds


def _mosaic(index: int, ds: pydicom.Dataset, where: str) -> list[FrameRef]:
    with warnings.catch_warnings():  # nibabel.nicom warns that its *wrappers* are experimental on import
        warnings.simplefilter("ignore")
        from nibabel.nicom import csareader

    header = csareader.get_csa_header(ds, "image")
    if header is None:
        raise ValueError("mosaic without a readable Siemens CSA image header")
    n_tiles = csareader.get_n_mosaic(header)
    if not n_tiles:
        raise ValueError("mosaic without NumberOfImagesInMosaic")
    per_side = math.ceil(math.sqrt(n_tiles))
    rows, cols = int(ds.Rows), int(ds.Columns)
    if rows % per_side or cols % per_side:
        raise ValueError(f"mosaic {rows}x{cols} does not divide into {per_side}x{per_side} tiles")
    tr, tc = rows // per_side, cols // per_side
    corner = plane_from_values(ds.ImagePositionPatient, ds.ImageOrientationPatient, _pixel_spacing(ds))
    dr, dc = corner.spacing
    # ImagePositionPatient of a mosaic is that of the whole grid treated as one tile-sized image
    # centred on the same point: move it to the first tile's first voxel.
    origin = (
        corner.position + corner.col_cosine * dr * (rows - tr) / 2 + corner.row_cosine * dc * (cols - tc) / 2
    )
    normal = csareader.get_slice_normal(header)
    normal = (
        corner.normal if normal is None else np.asarray(normal, dtype=np.float64) / np.linalg.norm(normal)
    )
    spacing, _ = _frame_spacing(ds)
    if spacing is None:
        raise ValueError("mosaic without SpacingBetweenSlices or SliceThickness")
    rescale = frame_rescale(ds, Rescale())
    refs = []
    for t in range(n_tiles):
        plane = Plane(origin + t * spacing * normal, corner.row_cosine, corner.col_cosine, corner.spacing)
        tile = Tile(t // per_side, t % per_side, tr, tc)
        refs.append(FrameRef(index, 0, plane, rescale, f"{where} mosaic tile {t + 1}", tile, _distinct(ds)))
    return refs
