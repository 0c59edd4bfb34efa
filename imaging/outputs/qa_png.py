"""QA overlay images ``qa_<level>.png``: the level slice as a radiologist would check it.

The slice is shown in a soft-tissue window (CT: W 400 / L 40 HU; MR: 1st-99th percentile of the
slice), displayed with square millimetres and the array's own row/column order (for an axial series
in standard orientation this is the radiological view: patient's right on the image left). Tissues
are tinted semi-transparently -- muscle red, IMAT yellow, SAT cyan, VAT green -- and bone is drawn as
a white outline so the vertebral body's trabecular region stays visible. A side panel names the
level, slice index and position and the key numbers of that level, with a colour legend.

Rendering uses Pillow only (no fonts from the system, no timestamps), so the same inputs give the
same PNG bytes.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from PIL import Image, ImageDraw, ImageFont
from scipy import ndimage

from imaging.segmentation.labels import LabelMap
from imaging.volume import Volume

IMAGE_HEIGHT_PX = 512
PANEL_WIDTH_PX = 340
MIN_WIDTH_PX, MAX_WIDTH_PX = 256, 1024
ALPHA = 0.38
CT_WINDOW = (40.0, 400.0)  # level, width (HU): soft tissue

TISSUE_COLOURS: dict[str, tuple[int, int, int]] = {
    "skeletal_muscle": (230, 40, 40),
    "imat": (255, 220, 0),
    "sat": (0, 200, 255),
    "vat": (60, 200, 60),
}
BONE_OUTLINE = (255, 255, 255)
LEGEND: tuple[tuple[str, str], ...] = (
    ("skeletal_muscle", "Skeletal muscle"),
    ("imat", "IMAT (intermuscular fat)"),
    ("sat", "SAT (subcutaneous fat)"),
    ("vat", "VAT (visceral fat)"),
    ("bone", "Bone (outline)"),
)
_NUMBERS: tuple[tuple[str, str, str], ...] = (
    ("muscle_area_cm2", "Muscle area", "cm2"),
    ("muscle_hu_mean", "Muscle mean", "HU"),
    ("smi_cm2_m2", "SMI", "cm2/m2"),
    ("imat_area_cm2", "IMAT area", "cm2"),
    ("sat_area_cm2", "SAT area", "cm2"),
    ("vat_area_cm2", "VAT area", "cm2"),
    ("trabecular_hu_mean", "Trabecular mean", "HU"),
    ("trabecular_hu_median", "Trabecular median", "HU"),
)


@dataclass(frozen=True)
class SliceView:
    """Everything one overlay needs, already cut from the volume (pure input for :func:`render`)."""

    image: np.ndarray  # [row, column] intensities (HU for CT)
    tissue: np.ndarray  # [row, column] labels
    tissue_names: Mapping[int, str]
    row_mm: float
    col_mm: float
    is_ct: bool


def display_size(rows: int, cols: int, row_mm: float, col_mm: float) -> tuple[int, int]:
    """(width, height) of the image part: fixed height, width from the physical aspect ratio."""
    aspect = (cols * col_mm) / (rows * row_mm)
    width = round(IMAGE_HEIGHT_PX * aspect)
    return min(max(width, MIN_WIDTH_PX), MAX_WIDTH_PX), IMAGE_HEIGHT_PX


def png_size(view: SliceView) -> tuple[int, int]:
    """(width, height) of the whole PNG for ``view``."""
    width, height = display_size(view.image.shape[0], view.image.shape[1], view.row_mm, view.col_mm)
    return width + PANEL_WIDTH_PX, height


def to_grey(
    image: np.ndarray, ct_window: tuple[float, float] | None, percentiles: tuple[float, float] = (1.0, 99.0)
) -> np.ndarray:
    """uint8 display levels: CT in the ``ct_window`` (level, width, HU); MR (``None``) between the
    given percentiles of its finite values, since MR signal has no fixed scale. NaN shows as black."""
    image = np.asarray(image, dtype=np.float64)
    if ct_window is not None:
        level, width = ct_window
        lo, hi = level - width / 2, level + width / 2
    else:
        finite = image[np.isfinite(image)]
        lo, hi = np.percentile(finite, percentiles) if finite.size else (0.0, 1.0)
        hi = hi if hi > lo else lo + 1.0
    scaled = np.clip((np.nan_to_num(image, nan=lo) - lo) / (hi - lo), 0.0, 1.0)
    return np.round(scaled * 255.0).astype(np.uint8)


def _grey(view: SliceView) -> np.ndarray:
    return to_grey(view.image, CT_WINDOW if view.is_ct else None)


def _overlay(view: SliceView) -> np.ndarray:
    """RGB uint8 [row, column, 3] of the windowed slice with tissue tints and the bone outline."""
    grey = _grey(view).astype(np.float64)
    rgb = np.repeat(grey[..., None], 3, axis=2)
    lookup = {name: value for value, name in view.tissue_names.items()}
    for name, colour in TISSUE_COLOURS.items():
        if name in lookup:
            mask = view.tissue == lookup[name]
            rgb[mask] = (1.0 - ALPHA) * rgb[mask] + ALPHA * np.asarray(colour, dtype=np.float64)
    if "bone" in lookup:
        bone = view.tissue == lookup["bone"]
        outline = bone & ~ndimage.binary_erosion(bone)
        rgb[outline] = BONE_OUTLINE
    return np.round(rgb).astype(np.uint8)


def _fmt(value: Any, unit: str) -> str:
    if value is None:
        return "not measured"
    return f"{float(value):.1f} {unit}"


def render(view: SliceView, level: str, entry: Mapping[str, Any]) -> bytes:
    """PNG bytes of the overlay plus the side panel for ``level`` (``entry`` is its results.json dict)."""
    width, height = display_size(view.image.shape[0], view.image.shape[1], view.row_mm, view.col_mm)
    picture = Image.fromarray(_overlay(view), mode="RGB").resize((width, height), Image.Resampling.NEAREST)
    canvas = Image.new("RGB", (width + PANEL_WIDTH_PX, height), (16, 16, 16))
    canvas.paste(picture, (0, 0))
    draw = ImageDraw.Draw(canvas)
    title = ImageFont.load_default(size=22)
    text = ImageFont.load_default(size=15)
    x = width + 16
    y = 14
    draw.text((x, y), f"Level {level}", fill=(255, 255, 255), font=title)
    y += 32
    z = entry.get("z_mm")
    z_text = f"{float(z):.1f} mm" if z is not None else "unknown"
    draw.text(
        (x, y), f"slice index {entry.get('slice_index')}   z = {z_text}", fill=(200, 200, 200), font=text
    )
    y += 30
    for key, label, unit in _NUMBERS:
        draw.text((x, y), f"{label}:", fill=(220, 220, 220), font=text)
        draw.text((x + 150, y), _fmt(entry.get(key), unit), fill=(255, 255, 255), font=text)
        y += 21
    y += 16
    for key, label in LEGEND:
        if key == "bone":
            draw.rectangle((x, y + 2, x + 16, y + 16), outline=BONE_OUTLINE, width=2)
        else:
            draw.rectangle((x, y + 2, x + 16, y + 16), fill=TISSUE_COLOURS[key])
        draw.text((x + 26, y), label, fill=(220, 220, 220), font=text)
        y += 22
    mode = "CT W400/L40" if view.is_ct else "MR 1-99th percentile window"
    draw.text((x, height - 26), mode, fill=(150, 150, 150), font=text)
    out = io.BytesIO()
    canvas.save(out, format="PNG", optimize=False)
    return out.getvalue()


def slice_view(volume: Volume, tissue: LabelMap, slice_index: int) -> SliceView:
    """Cut slice ``slice_index`` of the volume and the tissue map.

    Raises:
        IndexError: when the slice is outside the volume.
    """
    if not 0 <= slice_index < volume.shape[0]:
        raise IndexError(f"slice index {slice_index} outside the volume (0..{volume.shape[0] - 1})")
    _, row_mm, col_mm = (float(v) for v in volume.spacing_kji)
    return SliceView(
        image=np.asarray(volume.array[slice_index]),
        tissue=np.asarray(tissue.array[slice_index]),
        tissue_names=dict(tissue.names),
        row_mm=row_mm,
        col_mm=col_mm,
        is_ct=volume.meta.is_ct,
    )


def level_pngs(volume: Volume, tissue: LabelMap, levels: Mapping[str, Mapping[str, Any]]) -> dict[str, bytes]:
    """``{level: png bytes}`` for every level entry of results.json (in the given order)."""
    return {
        level: render(slice_view(volume, tissue, int(entry["slice_index"])), level, entry)
        for level, entry in levels.items()
    }
