"""Where a series' outputs go, and how files get there without ever being half-written.

The contract layout is ``DIR/<patient>/<StudyInstanceUID>/<SeriesInstanceUID>/``. Patient IDs and
UIDs come from DICOM headers, i.e. from whoever made the files: a PatientID of ``../../etc`` or
``a/b`` must not choose where we write. :func:`safe_part` maps any string to one harmless path
component, deterministically (the same input always gives the same folder, so re-runs and the batch
runner find earlier results), and distinct inputs that sanitise alike are kept apart by a short hash.

Writes go to a temporary file in the destination folder and are moved into place with
:func:`os.replace`, which is atomic within one file system: a reader (or a crash) sees the old file
or the new one, never a truncated mix.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
import unicodedata
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

#: Longest path component we create; well under the 255-byte limit of common file systems.
MAX_PART_LEN = 64
_HASH_LEN = 8
_ALLOWED = re.compile(r"[^A-Za-z0-9._-]+")
_WINDOWS_RESERVED = {
    "CON",
    "PRN",
    "AUX",
    "NUL",
    *(f"COM{i}" for i in range(1, 10)),
    *(f"LPT{i}" for i in range(1, 10)),
}


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:_HASH_LEN]


def safe_part(value: object, fallback: str = "unknown") -> str:
    """One safe, stable path component for ``value`` (a patient ID, a UID...).

    Kept as-is when it is already plain ASCII letters, digits, ``.``, ``_`` or ``-`` (every valid
    DICOM UID is), not ``.``/``..``, not hidden and short enough. Anything else is transliterated to
    ASCII, reduced to the allowed characters and suffixed with a hash of the original text, so that
    ``a/b`` and ``a_b`` never share a folder. Empty or None gives ``fallback``.
    """
    text = "" if value is None else str(value)
    text = text.strip()
    if text == "":
        return fallback
    if (
        not _ALLOWED.search(text)
        and len(text) <= MAX_PART_LEN
        and not text.startswith(".")
        and text.upper().split(".")[0] not in _WINDOWS_RESERVED
    ):
        return text
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    cleaned = _ALLOWED.sub("_", ascii_text).strip("._-")
    cleaned = cleaned[: MAX_PART_LEN - _HASH_LEN - 1].rstrip("._-")
    return f"{cleaned or fallback}_{_digest(text)}"


def series_dir(root: str | Path, patient_id: object, study_uid: object, series_uid: object) -> Path:
    """``root/<patient>/<study>/<series>`` with every part passed through :func:`safe_part`."""
    return (
        Path(root)
        / safe_part(patient_id, "unknown_patient")
        / safe_part(study_uid, "unknown_study")
        / safe_part(series_uid, "unknown_series")
    )


@contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on normal exit move it onto ``path``, else delete it.

    For writers that insist on a file name (nibabel, pydicom): they write the temporary file, and
    only a complete one is renamed into place. The temporary name keeps the final suffixes, so
    libraries that choose the format by extension (``.nii.gz``) behave the same.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    suffix = "".join(path.suffixes)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=f".tmp{suffix}", dir=path.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_with(path: str | Path, writer: Callable[[Path], Any]) -> Path:
    """Run ``writer(tmp_path)`` and atomically move the result onto ``path``."""
    with atomic_path(path) as tmp:
        writer(tmp)
    return Path(path)


def write_bytes_atomic(path: str | Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically (flushed and fsynced before the rename)."""

    def _write(tmp: Path) -> None:
        with open(tmp, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())

    return write_with(path, _write)


def write_text_atomic(path: str | Path, text: str) -> Path:
    """UTF-8 text, atomically."""
    return write_bytes_atomic(path, text.encode("utf-8"))


def write_json_atomic(path: str | Path, obj: Any) -> Path:
    """JSON (UTF-8, indented, keys in insertion order), atomically.

    NaN and infinity are refused (``allow_nan=False``): they are not JSON and a value that could not
    be computed must be None.
    """
    text = json.dumps(obj, indent=2, ensure_ascii=False, allow_nan=False) + "\n"
    return write_text_atomic(path, text)
