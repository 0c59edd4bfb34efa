"""DICOM SR measurement report (TID 1500, Comprehensive 3D SR) carrying results.json's level values.

One measurement group per (level, tissue): muscle (area, mean attenuation, SMI), IMAT, SAT, VAT
(areas) and the trabecular ROI of the vertebral body (mean and median attenuation). Each group has a
tracking identifier ("L3 skeletal muscle" + a UID), the vertebra as finding site, and a reference
to what was measured: the SEG frame of that tissue's segment on the level slice when the SEG has one
(a planar ROI group, TID 1410), otherwise the source image(s) at the level slice (TID 1501).

Values are copied from the results dict unchanged: highdicom stores Python floats both as the
decimal string DICOM requires and as FloatingPointValue, so a reader gets the identical float. A
null (unmeasurable) value is left out of the SR -- TID 1500 cannot carry "unknown" as a number --
and results.json's warnings say why.
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
from imaging.outputs.dicom_seg import MANUFACTURER, SegmentSpec, source_images
from imaging.schema import Results
from imaging.segmentation.labels import MEASURED_LEVELS
from imaging.volume import Volume

SR_SERIES_NUMBER = 9902


@dataclass(frozen=True)
class MeasureSpec:
    """One results.json level key as an SR measurement."""

    key: str
    name: hd.sr.CodedConcept
    unit: hd.sr.CodedConcept


@dataclass(frozen=True)
class GroupSpec:
    """A measurement group: which tissue (segment name), how it is coded, and its measurements."""

    tissue: str  # tissue label name in the SEG, or "trabecular" (not a SEG segment)
    label: str
    finding: hd.sr.CodedConcept
    measures: tuple[MeasureSpec, ...]


GROUPS: tuple[GroupSpec, ...] = (
    GroupSpec(
        "skeletal_muscle",
        "skeletal muscle",
        codes.SKELETAL_MUSCLE,
        (
            MeasureSpec("muscle_area_cm2", codes.AREA, codes.UNIT_CM2),
            MeasureSpec("muscle_hu_mean", codes.MEAN_ATTENUATION, codes.UNIT_HU),
            MeasureSpec("smi_cm2_m2", codes.SKELETAL_MUSCLE_INDEX, codes.UNIT_CM2_PER_M2),
        ),
    ),
    GroupSpec(
        "imat", "IMAT", codes.ADIPOSE_TISSUE, (MeasureSpec("imat_area_cm2", codes.AREA, codes.UNIT_CM2),)
    ),
    GroupSpec("sat", "SAT", codes.ADIPOSE_TISSUE, (MeasureSpec("sat_area_cm2", codes.AREA, codes.UNIT_CM2),)),
    GroupSpec("vat", "VAT", codes.ADIPOSE_TISSUE, (MeasureSpec("vat_area_cm2", codes.AREA, codes.UNIT_CM2),)),
    GroupSpec(
        "trabecular",
        "trabecular bone",
        codes.TRABECULAR_BONE,
        (
            MeasureSpec("trabecular_hu_mean", codes.MEAN_ATTENUATION, codes.UNIT_HU),
            MeasureSpec("trabecular_hu_median", codes.MEDIAN_ATTENUATION, codes.UNIT_HU),
        ),
    ),
)


def seg_frame_index(seg: pydicom.Dataset, volume: Volume) -> dict[tuple[int, int], int]:
    """(segment number, volume slice index) -> 1-based SEG frame number, from the frames' positions."""
    origin = volume.affine[:3, 3]
    step = volume.affine[:3, 0]
    index: dict[tuple[int, int], int] = {}
    for number, frame in enumerate(seg.PerFrameFunctionalGroupsSequence, start=1):
        segment = int(frame.SegmentIdentificationSequence[0].ReferencedSegmentNumber)
        position = np.asarray(frame.PlanePositionSequence[0].ImagePositionPatient, dtype=float)
        k = float((position - origin) @ step / (step @ step))
        if abs(k - round(k)) < 1e-3:
            index[(segment, round(k))] = number
    return index


def sources_at_slice(datasets: Sequence[pydicom.Dataset], volume: Volume, k: int) -> list[pydicom.Dataset]:
    """Source instances lying in the plane of volume slice ``k`` (several when positions repeat)."""
    normal = volume.slice_normal
    target = float(volume.slice_position_mm(k))
    tolerance = 0.1 * float(volume.spacing_kji[0])
    out = []
    for ds in datasets:
        ipp = ds.get("ImagePositionPatient")
        if ipp is not None and abs(float(np.asarray(ipp, dtype=float) @ normal) - target) <= tolerance:
            out.append(ds)
    return out


def _measurements(
    entry: Mapping[str, Any], group: GroupSpec, site: hd.sr.FindingSite
) -> list[hd.sr.Measurement]:
    out = []
    for spec in group.measures:
        value = entry.get(spec.key)
        if value is None:
            continue
        out.append(
            hd.sr.Measurement(name=spec.name, value=float(value), unit=spec.unit, finding_sites=[site])
        )
    return out


def _group(
    level: str,
    entry: Mapping[str, Any],
    group: GroupSpec,
    algorithm: hd.sr.AlgorithmIdentification,
    seg: pydicom.Dataset | None,
    seg_frames: Mapping[tuple[int, int], int],
    segment_numbers: Mapping[str, int],
    slice_sources: Sequence[pydicom.Dataset],
) -> Any:
    site = hd.sr.FindingSite(codes.vertebra_code(level))
    measurements = _measurements(entry, group, site)
    if not measurements:
        return None
    tracking = hd.sr.TrackingIdentifier(uid=generate_uid(), identifier=f"{level} {group.label}")
    k = int(entry["slice_index"])
    number = segment_numbers.get(group.tissue)
    frame = seg_frames.get((number, k)) if number is not None else None
    if seg is not None and number is not None and frame is not None and slice_sources:
        src = slice_sources[0]
        referenced = hd.sr.ReferencedSegmentationFrame(
            sop_class_uid=seg.SOPClassUID,
            sop_instance_uid=seg.SOPInstanceUID,
            frame_number=frame,
            segment_number=number,
            source_image=hd.sr.SourceImageForSegmentation(src.SOPClassUID, src.SOPInstanceUID),
        )
        return hd.sr.PlanarROIMeasurementsAndQualitativeEvaluations(
            tracking_identifier=tracking,
            referenced_segment=referenced,
            finding_type=group.finding,
            algorithm_id=algorithm,
            finding_sites=[site],
            measurements=measurements,
        )
    sources = [
        hd.sr.SourceImageForMeasurementGroup(ds.SOPClassUID, ds.SOPInstanceUID) for ds in slice_sources
    ]
    return hd.sr.MeasurementsAndQualitativeEvaluations(
        tracking_identifier=tracking,
        source_images=sources or None,
        finding_type=group.finding,
        algorithm_id=algorithm,
        finding_sites=[site],
        measurements=measurements,
    )


def build_sr(
    results: Results,
    volume: Volume,
    source_datasets: Sequence[pydicom.Dataset],
    seg: hd.seg.Segmentation | None,
    segments: Sequence[SegmentSpec],
    *,
    software_version: str,
    series_uid: str | None = None,
    sop_uid: str | None = None,
) -> hd.sr.Comprehensive3DSR:
    """The TID 1500 report of ``results['levels']``, referencing ``seg`` (when given) and the sources.

    Raises:
        ValueError: when no source instance is given, or no level has a measurement (TID 1500
            needs at least one measurement group).
    """
    sources = source_images(source_datasets)
    model = results.get("model") or {}
    algorithm = hd.sr.AlgorithmIdentification(
        name=str(model.get("name") or "unknown model")[:64],
        version=str(model.get("version") or "unknown")[:64],
    )
    observer = hd.sr.ObserverContext(
        observer_type=dicom_codes.DCM.Device,
        observer_identifying_attributes=hd.sr.DeviceObserverIdentifyingAttributes(
            uid=generate_uid(),
            name=str(model.get("name") or "unknown model")[:64],
            manufacturer_name=MANUFACTURER,
            model_name=software_version[:64],
        ),
    )
    seg_frames = seg_frame_index(seg, volume) if seg is not None else {}
    segment_numbers = {s.name: s.number for s in segments if s.source_map == "tissue"}
    groups = []
    levels = results.get("levels") or {}
    for level in (name for name in MEASURED_LEVELS if name in levels):
        entry = levels[level]
        slice_sources = sources_at_slice(sources, volume, int(entry["slice_index"]))
        for group in GROUPS:
            item = _group(level, entry, group, algorithm, seg, seg_frames, segment_numbers, slice_sources)
            if item is not None:
                groups.append(item)
    if not groups:
        raise ValueError("no level was measured, so there is nothing to report")
    modality = str((results.get("series") or {}).get("modality") or sources[0].get("Modality", ""))
    procedure = (
        dicom_codes.LN.MRIUnspecifiedBodyRegion
        if modality == "MR"
        else dicom_codes.LN.CTUnspecifiedBodyRegion
    )
    report = hd.sr.MeasurementReport(
        observation_context=hd.sr.ObservationContext(observer_device_context=observer),
        procedure_reported=procedure,
        imaging_measurements=groups,
    )
    evidence = [*sources, seg] if seg is not None else sources
    return hd.sr.Comprehensive3DSR(
        evidence=evidence,
        content=report[0],
        series_instance_uid=series_uid or generate_uid(),
        series_number=SR_SERIES_NUMBER,
        sop_instance_uid=sop_uid or generate_uid(),
        instance_number=1,
        manufacturer=MANUFACTURER,
        is_complete=True,
        series_description="bonemuscle body composition measurements",
    )
