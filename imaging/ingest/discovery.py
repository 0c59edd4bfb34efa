"""Find every DICOM instance under a path: plain files, nested folders, DICOMDIR filesets, zip archives.

Discovery only reads headers. It decides, for each file, one of three outcomes:

* **an instance** (an image or any other DICOM object; the series index decides what it is good for),
* **not DICOM** (counted in ``non_dicom_skipped``; README files, NIfTI, thumbnails...),
* **a problem** (:class:`FileProblem` with the file and the fault): a file that claims to be DICOM
  (``DICM`` marker, or a ``.dcm``-like name) but cannot be read, is truncated, or duplicates
  another instance. A bad file never stops the scan.

Why "claims to be DICOM" matters: archives exported by old PACS write files without the 128-byte
preamble and ``DICM`` marker. Those are recognised by parsing them anyway and accepting the result
only when its identifying group-0008 tags look real (a valid SOP Instance UID); random bytes parse
into nonsense elements and are rejected by that check.

Headers are parsed with large values deferred (pixel data is never loaded); the pixel data element
is then dropped from the header, so :class:`Instance` headers look like ``stop_before_pixels``
reads. Whether it was present, and whether the file is long enough to hold it, is checked first:
``Discovery.without_pixels`` lists the instances that had none.
"""

from __future__ import annotations

import io
import os
import re
import warnings
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import BinaryIO

import pydicom
from pydicom.errors import InvalidDicomError

from imaging.ingest.model import FileProblem, Instance, Source

DICOMDIR_SOP_CLASS = "1.2.840.10008.1.3.10"
PIXEL_TAGS = (0x7FE00008, 0x7FE00009, 0x7FE00010)  # float, double float, integer pixel data
# Extensions under which a file that is not DICOM is a fault worth reporting rather than noise.
DICOM_LIKE_SUFFIXES = frozenset({".dcm", ".dicom", ".dic", ".ima"})
_UID = re.compile(r"^[0-9]+(\.[0-9]+)+$")
_UNDEFINED_LENGTH = 0xFFFFFFFF
_DEFER_BYTES = 4096


@dataclass
class Discovery:
    """Everything one scan found, in a stable order (sorted by path, zip members in archive order)."""

    root: Path
    instances: list[Instance] = field(default_factory=list)
    non_dicom_skipped: int = 0
    problems: list[FileProblem] = field(default_factory=list)
    files_scanned: int = 0
    dicomdirs: list[Source] = field(default_factory=list)
    without_pixels: set[Source] = field(default_factory=set)


class _NotDicom(Exception):
    """The bytes are not DICOM at all (counted, not reported)."""


class _Damaged(Exception):
    """The bytes claim to be DICOM but cannot be used; the message says why."""


def discover(path: str | Path) -> Discovery:
    """Scan ``path`` (a file, folder, DICOMDIR or zip) and return every instance, skip and problem.

    Raises:
        FileNotFoundError: ``path`` does not exist (the only error that is not collected per file).
    """
    root = Path(path)
    if not root.exists() and not root.is_symlink():
        raise FileNotFoundError(f"{root}: no such file or directory")
    found = Discovery(root=root)
    seen: dict[str, Instance] = {}
    for source, data in _iter_candidates(root, found):
        found.files_scanned += 1
        _classify(source, data, found, seen)
    return found


def _iter_candidates(root: Path, found: Discovery) -> Iterator[tuple[Source, BinaryIO | None]]:
    """Yield every file-like thing to look at; ``None`` data means "read it from source.path"."""
    files = _walk(root, found) if root.is_dir() else [root]
    listed: set[Path] = set(files)
    extra: list[Path] = []
    for file in files:
        if file.name.upper() == "DICOMDIR":
            for ref in _dicomdir_references(file, found):
                if ref not in listed:
                    listed.add(ref)
                    extra.append(ref)
    for file in [*files, *extra]:
        if _is_zip(file):
            yield from _iter_zip(file, found)
        else:
            yield Source(file), None


def _walk(root: Path, found: Discovery) -> list[Path]:
    """All regular files under ``root``, sorted; unreadable folders and broken links become problems."""

    def on_error(exc: OSError) -> None:
        found.problems.append(FileProblem(str(exc.filename or root), f"folder not readable ({exc.strerror})"))

    files: list[Path] = []
    for folder, dirs, names in os.walk(root, onerror=on_error):
        dirs.sort()
        for name in sorted(names):
            file = Path(folder, name)
            if file.is_file():
                files.append(file)
            elif file.is_symlink():
                found.problems.append(FileProblem(str(file), "broken symbolic link"))
            # sockets, FIFOs, devices: never opened (reading a FIFO would block the scan)
    return files


def _is_zip(file: Path) -> bool:
    try:
        with open(file, "rb") as fh:
            return fh.read(4) in (b"PK\x03\x04", b"PK\x05\x06")
    except OSError:
        return False  # reported when the file itself is read


def _iter_zip(archive: Path, found: Discovery) -> Iterator[tuple[Source, BinaryIO | None]]:
    try:
        zf = zipfile.ZipFile(archive)
    except (zipfile.BadZipFile, OSError) as exc:
        found.problems.append(FileProblem(str(archive), f"zip archive not readable ({exc})"))
        return
    with zf:
        for info in zf.infolist():
            if info.is_dir():
                continue
            source = Source(archive, info.filename)
            try:
                data = zf.read(info)
            except Exception as exc:  # bad CRC, unsupported compression, encryption
                found.files_scanned += 1
                found.problems.append(FileProblem(str(source), f"zip member not readable ({exc})"))
                continue
            if data[:4] in (b"PK\x03\x04", b"PK\x05\x06"):
                found.files_scanned += 1
                reason = "zip inside a zip is not read; extract it first"
                found.problems.append(FileProblem(str(source), reason))
                continue
            yield source, io.BytesIO(data)


def _dicomdir_references(dicomdir: Path, found: Discovery) -> list[Path]:
    """Files a DICOMDIR points at (resolved case-insensitively, as ISO 9660 names are upper case)."""
    try:
        ds = pydicom.dcmread(dicomdir, stop_before_pixels=True, force=True)
        records = ds.get("DirectoryRecordSequence") or []
    except Exception as exc:
        reason = f"DICOMDIR not readable ({type(exc).__name__}: {exc})"
        found.problems.append(FileProblem(str(dicomdir), reason))
        return []
    refs: list[Path] = []
    inside = dicomdir.parent.resolve()
    for record in records:
        try:
            file_id = record.get("ReferencedFileID")
        except Exception as exc:  # decoded lazily: a damaged record is the DICOMDIR's problem
            found.problems.append(FileProblem(str(dicomdir), f"DICOMDIR record not readable ({exc})"))
            continue
        if not file_id:
            continue
        parts = [str(p) for p in ([file_id] if isinstance(file_id, str) else file_id)]
        shown = "/".join(parts)
        plain = _plain_names(parts)
        target = _resolve_case_insensitive(dicomdir.parent, parts) if plain else None
        # plain names may still be symbolic links: what they resolve to must lie under the folder
        if not plain or (target is not None and not target.resolve().is_relative_to(inside)):
            reason = f"DICOMDIR lists {shown}, which leads outside its folder: not followed"
            found.problems.append(FileProblem(str(dicomdir), reason))
        elif target is None:
            found.problems.append(FileProblem(str(dicomdir), f"DICOMDIR lists {shown}, which does not exist"))
        else:
            refs.append(target)
    return refs


def _plain_names(parts: list[str]) -> bool:
    """File ID components are plain names (PS3.10: up to 8 characters, no separators); '..', '.',
    separators and drive or root prefixes would lead elsewhere."""
    return not any(p in {"", ".", ".."} or any(c in p for c in "/\\:") or p.startswith("~") for p in parts)


def _resolve_case_insensitive(base: Path, parts: list[str]) -> Path | None:
    current = base
    for part in parts:
        exact = current / part
        if exact.exists():
            current = exact
            continue
        try:
            matches = [p for p in current.iterdir() if p.name.upper() == part.upper()]
        except OSError:
            return None
        if not matches:
            return None
        current = matches[0]
    return current if current.is_file() else None


def _classify(source: Source, data: BinaryIO | None, found: Discovery, seen: dict[str, Instance]) -> None:
    """Read one candidate and record it as instance, skip or problem."""
    name = source.member or source.path.name
    try:
        if data is None:
            with open(source.path, "rb") as fh:
                ds, has_pixels = _read_header(fh)
        else:
            ds, has_pixels = _read_header(data)
    except _NotDicom as exc:
        if PurePosixPath(name).suffix.lower() in DICOM_LIKE_SUFFIXES:
            found.problems.append(FileProblem(str(source), f"named like DICOM but is not DICOM ({exc})"))
        else:
            found.non_dicom_skipped += 1
        return
    except _Damaged as exc:
        found.problems.append(FileProblem(str(source), str(exc)))
        return
    except OSError as exc:
        found.problems.append(FileProblem(str(source), f"not readable ({exc.strerror or exc})"))
        return

    if _sop_class(ds) == DICOMDIR_SOP_CLASS:
        found.dicomdirs.append(source)
        return
    instance = Instance(source, ds)
    uid = _sop_instance_uid(ds)
    if uid is not None and uid in seen:  # files without a UID are not copies of one another
        first = seen[uid]
        same = _same_bytes(first.source, source)
        how = "identical copy" if same else "bytes differ (another encoding or an edited copy)"
        reason = f"duplicate SOPInstanceUID {uid} of {first.source}: {how}; kept {first.source}"
        found.problems.append(FileProblem(str(source), reason))
        return
    if uid is not None:
        seen[uid] = instance
    found.instances.append(instance)
    if not has_pixels:
        found.without_pixels.add(source)


def _read_header(fh: BinaryIO) -> tuple[pydicom.Dataset, bool]:
    """Parse and check a header (pixel data skipped); return it and whether pixel data was present."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # damaged files make pydicom warn; the verdict is reported instead
        return _parse_and_check(fh)


def _parse_and_check(fh: BinaryIO) -> tuple[pydicom.Dataset, bool]:
    fh.seek(0, os.SEEK_END)
    size = fh.tell()
    fh.seek(0)
    head = fh.read(132)
    fh.seek(0)
    has_marker = head[128:132] == b"DICM"
    if not has_marker and head[:2] not in (b"\x08\x00", b"\x02\x00", b"\x00\x08", b"\x00\x02"):
        raise _NotDicom("no DICM marker and no DICOM element at the start")
    try:
        ds = pydicom.dcmread(fh, defer_size=_DEFER_BYTES, force=not has_marker)
    except InvalidDicomError as exc:
        raise _NotDicom(str(exc)) from exc
    except Exception as exc:  # pydicom raises many types for damaged files
        if has_marker:
            raise _Damaged(f"damaged DICOM header ({type(exc).__name__}: {exc})") from exc
        raise _NotDicom(f"{type(exc).__name__}: {exc}") from exc
    # pydicom decodes values when first touched: every check below may meet a value it cannot decode
    # (an unknown VR, a bad length), and that is this file's problem, never the command's.
    try:
        return _checked(ds, size, has_marker)
    except (_Damaged, _NotDicom):
        raise
    except Exception as exc:
        if has_marker:
            raise _Damaged(f"damaged DICOM header ({type(exc).__name__}: {exc})") from exc
        raise _NotDicom(f"{type(exc).__name__}: {exc}") from exc


def _checked(ds: pydicom.Dataset, size: int, has_marker: bool) -> tuple[pydicom.Dataset, bool]:
    # Lengths first, on the raw elements: decoding the deferred pixel data would lose its offset.
    _check_not_truncated(ds, size)
    has_pixels = _check_pixel_data(ds, size)
    for tag in PIXEL_TAGS:
        if tag in ds:
            del ds[tag]
    _decode_all(ds)
    uid = _sop_instance_uid(ds)
    if not has_marker and not (uid and _UID.match(uid)):
        raise _NotDicom("parsed without a DICM marker but has no valid SOP Instance UID")
    if _sop_class(ds) == DICOMDIR_SOP_CLASS:
        return ds, False
    if not uid or not _UID.match(uid):
        raise _Damaged("DICOM marker present but the header is unreadable or truncated (no SOP Instance UID)")
    return ds, has_pixels


def _decode_all(ds: pydicom.Dataset) -> None:
    """Decode every value now, sequences included, while the file is still open (zip members cannot be
    re-opened) and while a failure is still this file's: later stages read headers without guards.

    An undecodable private value is dropped (vendor blocks are not ours to read); an undecodable
    standard one means the header is damaged.
    """
    for tag in list(ds.keys()):
        try:
            elem = ds[tag]
        except Exception as exc:
            if tag.is_private:
                del ds[tag]
                continue
            raise _Damaged(f"damaged DICOM header: element {tag} cannot be decoded ({exc})") from exc
        if elem.VR == "SQ":
            for item in elem.value or ():
                _decode_all(item)


def _check_not_truncated(ds: pydicom.Dataset, size: int) -> None:
    """A value that runs past the end of the file means the header was cut off. Raw elements only:
    nothing is decoded here, so a deferred value keeps its file offset."""
    for tag in list(ds.keys()):
        elem = ds.get_item(tag, keep_deferred=True)
        length = getattr(elem, "length", None)
        tell = getattr(elem, "value_tell", None)
        if length is None or tell is None or length == _UNDEFINED_LENGTH or tag in PIXEL_TAGS:
            continue
        value = getattr(elem, "value", None)
        short_value = isinstance(value, bytes) and len(value) < length
        if short_value or (value is None and tell + length > size):
            raise _Damaged(f"truncated file: element {tag} needs {length} bytes, the file ends first")


def _check_pixel_data(ds: pydicom.Dataset, size: int) -> bool:
    """True when pixel data is present; raises _Damaged when the file ends inside it."""
    for tag in PIXEL_TAGS:
        elem = ds.get_item(tag, keep_deferred=True)
        if elem is None:
            continue
        length = getattr(elem, "length", None)
        tell = getattr(elem, "value_tell", None)
        if length is not None and tell is not None and length != _UNDEFINED_LENGTH and tell + length > size:
            have = max(size - tell, 0)
            raise _Damaged(f"truncated file: pixel data needs {length} bytes, only {have} present")
        return True
    return False


def _sop_instance_uid(ds: pydicom.Dataset) -> str | None:
    return _text(ds, "SOPInstanceUID") or _meta_text(ds, "MediaStorageSOPInstanceUID")


def _sop_class(ds: pydicom.Dataset) -> str | None:
    return sop_class_uid(ds)


def sop_class_uid(ds: pydicom.Dataset) -> str | None:
    """SOPClassUID, falling back to the file meta's MediaStorageSOPClassUID when the dataset's is empty.

    Some exporters (seen on a Siemens PET/CT) leave (0008,0016) empty and only fill the meta header.
    """
    return _text(ds, "SOPClassUID") or _meta_text(ds, "MediaStorageSOPClassUID")


def _meta_text(ds: pydicom.Dataset, keyword: str) -> str | None:
    meta = getattr(ds, "file_meta", None)
    return _text(meta, keyword) if meta is not None else None


def _text(ds: pydicom.Dataset, keyword: str) -> str | None:
    try:
        value = ds.get(keyword)
    except Exception:  # a damaged element that cannot be decoded counts as absent
        return None
    if value is None:
        return None
    text = str(value).strip().strip("\x00").strip()
    return text or None


def _same_bytes(a: Source, b: Source) -> bool:
    try:
        with a.open() as fa, b.open() as fb:
            return fa.read() == fb.read()
    except OSError:
        return False
