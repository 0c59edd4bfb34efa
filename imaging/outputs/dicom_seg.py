"""DICOM Segmentation (SEG) of the tissue and vertebra label maps, referencing the source series.

Geometry decision (peers' SEG writers break on gantry tilt and duplicate positions): the SEG is
always written on the **pipeline's grid** -- the :class:`~imaging.volume.Volume` the labels live on --
with explicit per-frame plane positions, orientation and pixel spacing computed from its affine,
in the **source frame of reference**. For an ordinary series that grid coincides with the source
slices, and highdicom then references each frame's source instance with spatial locations
preserved. For a tilt-corrected series, each grid slice lies in the plane of its acquired slice
but is shifted in-plane; the frames still reference the coplanar source instance, marked as not
location-preserving, and a viewer places them by their own plane positions, which are exact.
Duplicate source instances at one position (dropped during assembly) are both referenced by the
frame at that position. Nothing is resampled back to the tilted stack: that would interpolate a
label map a second time.

Segments: BINARY, one segment per label *present* in the maps (tissue first, in table order, then
vertebrae cranial to caudal), numbered from 1; segments may overlap (a vertebra is also bone). Codes
are documented in :mod:`imaging.outputs.codes`. Memory: the encoder takes a boolean array of
(slices with labels) x rows x columns x segments, plus highdicom's overlap check (8 bytes/voxel).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import highdicom as hd
import numpy as np
import pydicom
from pydicom.sr.codedict import codes as dicom_codes
from pydicom.uid import generate_uid

from imaging.outputs import codes
from imaging.segmentation.labels import VERTEBRA_ORDER, LabelMap
from imaging.volume import Volume

MANUFACTURER = "bonemuscle"
SEG_SERIES_NUMBER = 9901
CONTENT_LABEL = "BODYCOMP"


@dataclass(frozen=True)
class SegmentSpec:
    """One SEG segment: where it comes from (map + label name) and how it is described."""

    number: int
    source_map: str  # "tissue" or "vertebrae"
    name: str
    description: hd.seg.SegmentDescription


def algorithm_identification(model: Mapping[str, Any]) -> hd.AlgorithmIdentificationSequence:
    """Our segmentation model as the SEG/SR algorithm: name, version, weights checksum as parameter."""
    params = {"weights_sha256": str(model["weights_sha256"])} if model.get("weights_sha256") else None
    return hd.AlgorithmIdentificationSequence(
        name=str(model.get("name") or "unknown model")[:64],
        family=dicom_codes.cid7162.ArtificialIntelligence,
        version=str(model.get("version") or "unknown")[:64],
        source=MANUFACTURER,
        parameters=params,
    )


def plan_segments(tissue: LabelMap, vertebrae: LabelMap, model: Mapping[str, Any]) -> list[SegmentSpec]:
    """Segments for the labels present in the maps, numbered 1..n (tissue first, then vertebrae)."""
    algorithm = algorithm_identification(model)
    specs: list[SegmentSpec] = []
    for name in tissue.present():
        code = codes.tissue_code(name)
        description = hd.seg.SegmentDescription(
            segment_number=len(specs) + 1,
            segment_label=code.label,
            segmented_property_category=codes.TISSUE_CATEGORY,
            segmented_property_type=code.type,
            algorithm_type=hd.seg.SegmentAlgorithmTypeValues.AUTOMATIC,
            algorithm_identification=algorithm,
            tracking_uid=generate_uid(),
            tracking_id=f"tissue {name}",
            anatomic_regions=list(code.regions) or None,
            primary_anatomic_structures=list(code.structures) or None,
        )
        specs.append(SegmentSpec(len(specs) + 1, "tissue", name, description))
    present = set(vertebrae.present())
    for name in (n for n in VERTEBRA_ORDER if n in present):
        description = hd.seg.SegmentDescription(
            segment_number=len(specs) + 1,
            segment_label=name,
            segmented_property_category=codes.ANATOMY_CATEGORY,
            segmented_property_type=codes.vertebra_code(name),
            algorithm_type=hd.seg.SegmentAlgorithmTypeValues.AUTOMATIC,
            algorithm_identification=algorithm,
            tracking_uid=generate_uid(),
            tracking_id=f"vertebra {name}",
        )
        specs.append(SegmentSpec(len(specs) + 1, "vertebrae", name, description))
    return specs


def grid_geometry(
    volume: Volume, slices: Sequence[int]
) -> tuple[list[hd.PlanePositionSequence], hd.PlaneOrientationSequence, hd.PixelMeasuresSequence]:
    """Plane positions of ``slices`` and the orientation / pixel measures of the volume grid.

    DICOM's ImageOrientationPatient lists the direction of increasing column index first, then of
    increasing row index; PixelSpacing lists the row spacing (between rows) first.
    """
    affine = volume.affine
    slice_mm, row_mm, col_mm = (float(v) for v in volume.spacing_kji)
    along_row = affine[:3, 2] / col_mm
    along_col = affine[:3, 1] / row_mm
    orientation = hd.PlaneOrientationSequence(
        coordinate_system="PATIENT", image_orientation=[*along_row.tolist(), *along_col.tolist()]
    )
    thickness = volume.meta.slice_thickness_mm
    measures = hd.PixelMeasuresSequence(
        pixel_spacing=[row_mm, col_mm],
        slice_thickness=float(thickness)
        if isinstance(thickness, int | float) and thickness > 0
        else slice_mm,
        spacing_between_slices=slice_mm,
    )
    positions = [
        hd.PlanePositionSequence(
            coordinate_system="PATIENT", image_position=(affine[:3, 3] + k * affine[:3, 0]).tolist()
        )
        for k in slices
    ]
    return positions, orientation, measures


#: Type 2 patient/study attributes highdicom copies from the source; archives often drop them.
_TYPE2_COPIED = (
    "PatientName",
    "PatientID",
    "PatientBirthDate",
    "PatientSex",
    "AccessionNumber",
    "StudyID",
    "StudyDate",
    "StudyTime",
    "ReferringPhysicianName",
)


def source_images(datasets: Sequence[pydicom.Dataset]) -> list[pydicom.Dataset]:
    """Source headers ready for highdicom: each SOP instance once, pixel data left out, absent
    Type 2 patient/study attributes present but empty (their DICOM meaning: "unknown").

    The caller's datasets are not modified (shallow copies are filled in).

    Raises:
        ValueError: when no dataset has an SOP Instance UID.
    """
    seen: set[str] = set()
    out = []
    for ds in datasets:
        uid = str(ds.get("SOPInstanceUID", ""))
        if not uid or uid in seen:
            continue
        seen.add(uid)
        copy = pydicom.Dataset()
        copy.update({tag: elem for tag, elem in ds.items() if tag != 0x7FE00010})
        for keyword in _TYPE2_COPIED:
            if keyword not in copy:
                setattr(copy, keyword, None)
        out.append(copy)
    if not out:
        raise ValueError("no source DICOM instances to reference: a SEG/SR needs the series it came from")
    return out


def _one_frame_of_reference(sources: Sequence[pydicom.Dataset]) -> None:
    """A SEG lies in its source's frame of reference, so the source must have exactly one. Real
    archives break this: anonymisers that drop FrameOfReferenceUID, or give every image its own."""
    uids = {str(ds.get("FrameOfReferenceUID", "") or "") for ds in sources}
    if uids == {""}:
        raise ValueError("the series' images carry no FrameOfReferenceUID (0020,0052), which a SEG requires")
    if len(uids) > 1:
        raise ValueError(
            f"the series' images carry {len(uids)} different FrameOfReferenceUIDs (0020,0052), as some "
            "anonymisers leave them: a SEG must lie in one frame of reference"
        )


def build_seg(
    volume: Volume,
    source_datasets: Sequence[pydicom.Dataset],
    tissue: LabelMap,
    vertebrae: LabelMap,
    model: Mapping[str, Any],
    *,
    software_version: str,
    series_uid: str | None = None,
    sop_uid: str | None = None,
) -> tuple[hd.seg.Segmentation, list[SegmentSpec]]:
    """The SEG instance and the segment plan (the SR references segments by these numbers).

    Raises:
        ValueError: when no label is present (an empty SEG is not valid DICOM), no source
            instance is given, or the sources do not share one frame of reference.
    """
    sources = source_images(source_datasets)
    _one_frame_of_reference(sources)
    specs = plan_segments(tissue, vertebrae, model)
    if not specs:
        raise ValueError("no tissue or vertebra label is present: nothing to encode in a SEG")
    maps = {"tissue": tissue, "vertebrae": vertebrae}
    any_label = (tissue.array > 0).any(axis=(1, 2)) | (vertebrae.array > 0).any(axis=(1, 2))
    slices = np.flatnonzero(any_label).tolist()
    # segment-major memory: each segment's frames are contiguous, for filling here and for
    # highdicom's per-segment frame loop; highdicom is handed the (frames, rows, cols, segments) view
    planes = np.zeros((len(specs), len(slices), *volume.shape[1:]), dtype=bool)
    arrays = {name: m.array[slices] for name, m in maps.items()}
    for spec in specs:
        value = maps[spec.source_map].value_of(spec.name)
        if value is not None:  # a name absent from its map leaves the plane empty
            np.equal(arrays[spec.source_map], value, out=planes[spec.number - 1])
    stacked = np.moveaxis(planes, 0, -1)
    positions, orientation, measures = grid_geometry(volume, slices)
    seg = hd.seg.Segmentation(
        source_images=sources,
        pixel_array=stacked,
        segmentation_type=hd.seg.SegmentationTypeValues.BINARY,
        segment_descriptions=[s.description for s in specs],
        series_instance_uid=series_uid or generate_uid(),
        series_number=SEG_SERIES_NUMBER,
        sop_instance_uid=sop_uid or generate_uid(),
        instance_number=1,
        manufacturer=MANUFACTURER,
        manufacturer_model_name=str(model.get("name") or "unknown model")[:64],
        software_versions=software_version[:64],
        device_serial_number=str(model.get("weights_sha256") or "none")[:16],
        content_label=CONTENT_LABEL,
        content_description="Body composition tissues and vertebral levels"[:64],
        series_description="bonemuscle tissue and vertebra segmentation",
        plane_positions=positions,
        plane_orientation=orientation,
        pixel_measures=measures,
        omit_empty_frames=True,
    )
    return seg, specs
