"""bonemuscle imaging: DICOM ingestion, measurement, DXA, classification, batch running and outputs."""

__version__ = "0.1.0"
