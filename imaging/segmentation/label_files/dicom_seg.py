"""DICOM Segmentation objects (read with highdicom) as a named label grid.

Each segment becomes one label value, named from its Segment Label (falling back to the segmented
property type's code meaning). Fractional segments are binarised at 50 %. Where segments overlap,
the later segment wins and the overlap is reported, because one voxel carries one tissue here.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from imaging.segmentation.label_files.names import canonical_name
from imaging.segmentation.label_files.nifti import LabelGrid


def read_dicom_seg(path: Path) -> LabelGrid:
    """Read a SEG into a label grid with our names (unrecognised segments are reported and skipped).

    Raises:
        ValueError: not a SEG, or no segment with a recognisable name.
    """
    import highdicom as hd

    try:
        seg = hd.seg.segread(str(path))
    except Exception as exc:  # pydicom/highdicom raise many types for non-SEG input
        raise ValueError(
            f"{path}: not readable as a DICOM Segmentation ({type(exc).__name__}: {exc})"
        ) from exc
    volume = seg.get_volume(combine_segments=False)  # (slice, row, column, segment), index -> LPS affine
    stack = volume.array
    numbers = list(seg.get_segment_numbers())
    out = np.zeros(stack.shape[:3], dtype=np.uint8)
    names: dict[int, str] = {}
    warnings: list[str] = []
    for channel, number in enumerate(numbers):
        desc = seg.get_segment_description(number)
        name = canonical_name(str(desc.segment_label)) or canonical_name(desc.segmented_property_type.meaning)
        if name is None:
            warnings.append(
                f"{Path(path).name}: segment {number} ({desc.segment_label!r}, "
                f"{desc.segmented_property_type.meaning!r}) has no bonemuscle meaning and is skipped"
            )
            continue
        mask = stack[..., channel] > (0.5 if np.issubdtype(stack.dtype, np.floating) else 0)
        value = next((v for v, n in names.items() if n == name), len(names) + 1)
        overlap = int(np.count_nonzero(mask & (out != 0) & (out != value)))
        if overlap:
            warnings.append(
                f"{Path(path).name}: segment {number} ({name}) overlaps earlier segments in {overlap} voxels"
            )
        out[mask] = value
        names[value] = name
    if not names:
        raise ValueError(f"{path}: no segment has a recognisable name (tissue, compartment or vertebra)")
    return LabelGrid(out, np.asarray(volume.affine, dtype=np.float64), names, warnings)
