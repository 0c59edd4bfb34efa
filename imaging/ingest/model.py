"""Values passed between the ingestion stages (discovery -> series index -> volume assembly)."""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

import pydicom
import pydicom.errors


class IngestError(Exception):
    """A problem with one input, phrased for the user: it always names the file or series and the fault."""


@dataclass(frozen=True)
class Source:
    """Where one DICOM instance's bytes live: a plain file, or a member of a zip archive."""

    path: Path
    member: str | None = None

    def __str__(self) -> str:
        return f"{self.path}!{self.member}" if self.member else str(self.path)

    def open(self) -> BinaryIO:
        if self.member is None:
            return open(self.path, "rb")
        with zipfile.ZipFile(self.path) as zf:
            return io.BytesIO(zf.read(self.member))

    def read(self, stop_before_pixels: bool = False) -> pydicom.Dataset:
        """Parse the instance; raises IngestError naming this source when it is not readable DICOM."""
        try:
            with self.open() as fh:
                try:
                    return pydicom.dcmread(fh, stop_before_pixels=stop_before_pixels)
                except pydicom.errors.InvalidDicomError:
                    # Old archives omit the 128-byte preamble; discovery already vetted such files.
                    fh.seek(0)
                    return pydicom.dcmread(fh, stop_before_pixels=stop_before_pixels, force=True)
        except Exception as exc:  # pydicom raises many types for damaged files
            raise IngestError(f"{self}: not readable as DICOM ({type(exc).__name__}: {exc})") from exc


@dataclass(frozen=True)
class Instance:
    """One DICOM instance found on disk, with its header (pixel data not loaded)."""

    source: Source
    header: pydicom.Dataset = field(compare=False, repr=False)


@dataclass(frozen=True)
class FileProblem:
    """A file that could not be used, and why (shown to the user; never aborts a scan)."""

    source: str
    reason: str
