"""``qa_levels.png``: the picture a radiologist checks a level with in two seconds.

Two reformats of the column side by side, resampled on LPS-aligned planes whatever the acquisition
grid: a coronal slab (maximum intensity over +-15 mm in front of and behind the column, so ribs and
transverse processes show where they meet the spine) and a sagittal slab (maximum over +-6 mm about
the midline, so bodies and discs show). Superior is up; in the coronal view the patient's right is on
the image left (radiological convention). Each labelled vertebra is outlined in its own colour with
its name beside it; the level finder's anchor evidence is marked -- "rib" on the side a rib
articulates, "sacrum" on the sacrum, a dashed line at the iliac crests' tops -- and the banner
states the anchor and confidence, or, when levels were refused, the reason in full. A refused
series shows the bodies found, unnamed, numbered from the top, so the reader sees what the finder
saw.

The column is located from the vertebra labels, else from the bodies the level finder reported,
else from the volume's centre; nothing is drawn from a guess about names. Pillow only, deterministic.
"""

from __future__ import annotations

import io
import textwrap
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from PIL import Image, ImageDraw, ImageFont
from scipy import ndimage

from imaging.outputs.qa_png import to_grey
from imaging.segmentation.labels import LabelMap
from imaging.volume import Volume

PIXEL_MM = 1.0
CORONAL_HALF_DEPTH_MM = 15.0
SAGITTAL_HALF_WIDTH_MM = 6.0
HALF_FIELD_MM = 110.0  # in-plane half extent shown around the column
CT_WINDOW = (400.0, 1800.0)  # level, width (HU): bone
MR_PERCENTILES = (1.0, 99.5)
BANNER_PX = 78
SCALE = 2  # display pixels per sampled millimetre
_COLOURS = (
    (230, 60, 60), (60, 200, 90), (70, 130, 255), (250, 200, 40), (220, 80, 220),
    (40, 210, 220), (255, 140, 40), (160, 110, 255),
)  # fmt: skip


def levels_png(volume: Volume, vertebrae: LabelMap, level_report: Mapping[str, Any] | None) -> bytes:
    """PNG bytes of the coronal + sagittal QA view (see the module docstring)."""
    report = dict(level_report or {})
    centre = _column_centre(volume, vertebrae, report)
    z = _z_samples(volume)
    x = centre[0] + np.arange(-HALF_FIELD_MM, HALF_FIELD_MM + PIXEL_MM / 2, PIXEL_MM)
    y = centre[1] + np.arange(-HALF_FIELD_MM, HALF_FIELD_MM + PIXEL_MM / 2, PIXEL_MM)
    depth = centre[1] + np.arange(-CORONAL_HALF_DEPTH_MM, CORONAL_HALF_DEPTH_MM + 0.1, 1.5)
    width = centre[0] + np.arange(-SAGITTAL_HALF_WIDTH_MM, SAGITTAL_HALF_WIDTH_MM + 0.1, 1.5)
    low = float(np.min(volume.array)) if volume.array.size else 0.0
    coronal, cor_lab = _slab(volume, vertebrae, z, depth, x, "y", low)  # (z, x)
    sagittal, sag_lab = _slab(volume, vertebrae, z, y, width, "x", low)  # (z, y)
    window = CT_WINDOW if volume.meta.is_ct else None
    grey_c, grey_s = (to_grey(a, window, MR_PERCENTILES) for a in (coronal, sagittal))
    names = {int(v): n for v, n in vertebrae.names.items()}
    panel_c, panel_s = _outlined(grey_c, cor_lab), _outlined(grey_s, sag_lab)
    # superior up: row 0 is the highest z; then enlarged so names and marks are legible
    panel_c, panel_s, cor_lab, sag_lab = (_enlarge(a[::-1]) for a in (panel_c, panel_s, cor_lab, sag_lab))
    z_top = np.repeat(z[::-1], SCALE)
    x = np.repeat(x, SCALE)
    h = panel_c.shape[0]
    gap = 12
    canvas = Image.new("RGB", (panel_c.shape[1] + panel_s.shape[1] + gap, h + BANNER_PX), (0, 0, 0))
    canvas.paste(Image.fromarray(panel_c), (0, BANNER_PX))
    canvas.paste(Image.fromarray(panel_s), (panel_c.shape[1] + gap, BANNER_PX))
    draw = ImageDraw.Draw(canvas)
    small = ImageFont.load_default(size=14)
    _names(draw, cor_lab, names, 0, small)
    _names(draw, sag_lab, names, panel_c.shape[1] + gap, small)
    _evidence(draw, report, z_top, x, centre, bool(vertebrae.array.any()), small)
    _banner(draw, report, bool(vertebrae.array.any()), canvas.width)
    draw.text((4, BANNER_PX + 2), "coronal (R | L)", fill=(180, 180, 180), font=small)
    draw.text(
        (panel_c.shape[1] + gap + 4, BANNER_PX + 2), "sagittal (A | P)", fill=(180, 180, 180), font=small
    )
    buf = io.BytesIO()
    canvas.save(buf, format="PNG", optimize=False)
    return buf.getvalue()


def _column_centre(volume: Volume, vertebrae: LabelMap, report: Mapping[str, Any]) -> np.ndarray:
    """(x, y) LPS mm of the column: labelled bodies, else the reported bodies, else the volume centre."""
    if vertebrae.array.any():
        kji = np.argwhere(vertebrae.array > 0)
        step = max(1, len(kji) // 20000)
        return np.median(volume.world(kji[::step].astype(float)), axis=0)[:2]
    found = [v.get("centroid_lps") for v in report.get("vertebrae") or [] if v.get("centroid_lps")]
    if found:
        return np.median(np.asarray(found, dtype=float), axis=0)[:2]
    mid = (np.asarray(volume.shape, dtype=float) - 1) / 2
    return volume.world(mid[None])[0][:2]


def _z_samples(volume: Volume) -> np.ndarray:
    lo, hi = volume.world_bounds()
    return np.arange(lo[2], hi[2] + PIXEL_MM / 2, PIXEL_MM)


def _slab(
    volume: Volume, labels: LabelMap, z: np.ndarray, a: np.ndarray, b: np.ndarray, axis: str, low: float
) -> tuple[np.ndarray, np.ndarray]:
    """Maximum over the slab's thin axis of the image (``low`` outside the volume), and per pixel the
    label of the plane nearest the slab's middle that has one.

    ``axis="y"``: ``a`` are y samples (collapsed), ``b`` x samples -> (z, x); ``axis="x"``: ``a`` are
    y samples kept, ``b`` x samples collapsed -> (z, y).
    """
    zz, aa, bb = np.meshgrid(z, a, b, indexing="ij")
    pts = np.stack([bb, aa, zz], axis=-1)  # (z, y, x) samples as LPS points
    collapse = 1 if axis == "y" else 2
    inv = np.linalg.inv(volume.affine)
    kji = inv[:3, :3] @ pts.reshape(-1, 3).T + inv[:3, 3:4]
    inside = np.all((kji > -0.5) & (kji < np.asarray(volume.shape)[:, None] - 0.5), axis=0)
    # Interpolate on the sampled box only: a float copy of a whole 512x512x300 CT is ~300 MB.
    start = np.clip(np.floor(kji.min(axis=1)).astype(int) - 1, 0, None)
    stop = np.maximum(np.ceil(kji.max(axis=1)).astype(int) + 2, start + 1)
    box = tuple(slice(int(s0), int(s1)) for s0, s1 in zip(start, stop, strict=True))
    local = kji - start[:, None]
    sub = np.asarray(volume.array[box], dtype=np.float32)
    img = ndimage.map_coordinates(sub, local, order=1, cval=low) if sub.size else np.full(kji.shape[1], low)
    img = np.where(inside, img, low).reshape(zz.shape)
    lab = ndimage.map_coordinates(np.asarray(labels.array), kji, order=0, cval=0).reshape(zz.shape)
    # planes in order of distance from the middle; per pixel the first with a label
    n = lab.shape[collapse]
    order = np.argsort(np.abs(np.arange(n) - n // 2), kind="stable")
    planes = np.take(lab, order, axis=collapse)
    first = np.argmax(planes > 0, axis=collapse)
    label = np.take_along_axis(planes, np.expand_dims(first, collapse), axis=collapse).squeeze(collapse)
    return img.max(axis=collapse), label.astype(np.int32)


def _enlarge(a: np.ndarray) -> np.ndarray:
    return np.repeat(np.repeat(a, SCALE, axis=0), SCALE, axis=1)


def _outlined(grey: np.ndarray, labels: np.ndarray) -> np.ndarray:
    rgb = np.repeat(grey[:, :, None], 3, axis=2)
    for v in np.unique(labels[labels > 0]):
        m = labels == v
        edge = m & ~ndimage.binary_erosion(m)
        rgb[edge] = _COLOURS[int(v) % len(_COLOURS)]
    return rgb


def _names(
    draw: ImageDraw.ImageDraw, labels: np.ndarray, names: Mapping[int, str], x0: int, font: Any
) -> None:
    for v in np.unique(labels[labels > 0]):
        rows, cols = np.nonzero(labels == v)
        r = int(np.median(rows))
        c = int(cols.max()) + 4
        draw.text(
            (x0 + c, BANNER_PX + r - 7),
            names.get(int(v), str(v)),
            fill=_COLOURS[int(v) % len(_COLOURS)],
            font=font,
        )


def _evidence(
    draw: ImageDraw.ImageDraw,
    report: Mapping[str, Any],
    z_top: np.ndarray,
    x: np.ndarray,
    centre: np.ndarray,
    named: bool,
    font: Any,
) -> None:
    """Rib and sacrum marks, the iliac crests' line, and (when nothing is named) the bodies found
    numbered from the top."""
    for f in report.get("vertebrae") or []:
        lo, hi = (float(v) for v in f.get("z_range_mm") or (np.nan, np.nan))
        if not np.isfinite(lo):
            continue
        row = BANNER_PX + int(np.argmin(np.abs(z_top - 0.5 * (lo + hi))))
        top = BANNER_PX + int(np.argmin(np.abs(z_top - hi)))
        bottom = BANNER_PX + int(np.argmin(np.abs(z_top - lo)))
        if not named:
            c = int(np.argmin(np.abs(x - centre[0])))
            draw.line([(c - 50, top), (c + 50, top)], fill=(120, 120, 120))
            draw.line([(c - 50, bottom), (c + 50, bottom)], fill=(120, 120, 120))
            draw.text((c + 54, row - 7), f"#{int(f.get('index', 0)) + 1}", fill=(200, 200, 200), font=font)
        for side in f.get("ribs") or ():
            # patient right is image left (x increases to the patient's left)
            c = int(np.argmin(np.abs(x - (centre[0] + (-60.0 if side == "right" else 60.0)))))
            draw.text((c - 12, row - 7), "rib", fill=(255, 255, 0), font=font)
        if f.get("is_sacrum"):
            c = int(np.argmin(np.abs(x - centre[0])))
            draw.text((c - 22, row - 7), "sacrum", fill=(255, 255, 0), font=font)
    crest = report.get("iliac_crest_z_mm")
    if crest is not None and z_top.min() <= float(crest) <= z_top.max():
        # the intercristal line across the coronal panel, dashed, named at its right end
        row = BANNER_PX + int(np.argmin(np.abs(z_top - float(crest))))
        for start in range(0, len(x) - 8, 16):
            draw.line([(start, row), (start + 8, row)], fill=(255, 160, 0))
        draw.text((4, row - 16), "iliac crests", fill=(255, 160, 0), font=font)


def _banner(draw: ImageDraw.ImageDraw, report: Mapping[str, Any], named: bool, width: int) -> None:
    title = ImageFont.load_default(size=18)
    text = ImageFont.load_default(size=14)
    if not report:
        head = "Vertebral levels: from the supplied labels" if named else "Vertebral levels: none"
        lines: Sequence[str] = ()
    elif report.get("established"):
        head = f"Levels established: anchor {report.get('anchor')}, confidence {report.get('confidence')}"
        lines = textwrap.wrap(str(report.get("reason") or ""), max(20, width // 8))
    else:
        head = "Levels REFUSED (no vertebra is named)"
        lines = textwrap.wrap(str(report.get("reason") or ""), max(20, width // 8))
    draw.text((6, 6), head, fill=(255, 255, 255), font=title)
    for i, line in enumerate(list(lines)[:3]):
        draw.text((6, 30 + 15 * i), line, fill=(230, 200, 120), font=text)
