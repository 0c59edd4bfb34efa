"""DICOM ingestion: find files, group them into series, assemble volumes with exact geometry."""
