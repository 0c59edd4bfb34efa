"""Segmentations that come from files instead of a network: NIfTI, DICOM SEG, Slice-O-Matic .tag,
and TotalSegmentator maps (mapped to our classes, with what they cannot give)."""

from imaging.segmentation.label_files.precomputed import PrecomputedOptions, load_precomputed

__all__ = ["PrecomputedOptions", "load_precomputed"]
