"""Recognise which Dixon component an MR image is: in-phase, opposed-phase, water or fat.

Vendors label Dixon images differently, and often put all four components in one series (sometimes
under one SeriesInstanceUID), so the label must come from each image's own header. Evidence is used
in order of reliability:

1. **ImageType values** — Siemens ``...\\DIXON\\WATER`` / ``\\W\\`` / ``\\F\\`` / ``\\IN_PHASE`` /
   ``\\OPP_PHASE``; Philips ``\\W\\``, ``\\F\\``, ``\\IP\\``, ``\\OP\\``; GE ``WATER``/``FAT``/
   ``IN PHASE``/``OUT PHASE``.
2. **Descriptions** (series description, protocol name) — the words WATER and FAT (but not "fat sat"
   or "fat suppressed", which name a fat-suppressed non-Dixon image), and, only when the series is
   evidently Dixon (DIXON, mDIXON, IDEAL, FLEX in the text), the short suffixes ``_W``, ``_F``,
   ``_IP``, ``_OP``, ``_in``, ``_opp``, ``InPhase``, ``OutPhase``.
3. **Echo time** for a Dixon or multi-echo series that names no component: the water and fat
   signals are opposed at TE ≈ 2.3 ms and back in phase at ≈ 4.6 ms at 1.5 T, and at half those
   times at 3 T (fat–water shift ≈ 3.4 ppm). A TE that fits both field strengths is left unlabelled.
"""

from __future__ import annotations

import itertools
import re
from enum import Enum

import pydicom


class DixonComponent(Enum):
    IN_PHASE = "in_phase"
    OPPOSED_PHASE = "opposed_phase"
    WATER = "water"
    FAT = "fat"


# ImageType values (after upper-casing) that name a component unambiguously.
IMAGE_TYPE_TOKENS: dict[str, DixonComponent] = {
    "W": DixonComponent.WATER,
    "WATER": DixonComponent.WATER,
    "F": DixonComponent.FAT,
    "FAT": DixonComponent.FAT,
    "IN_PHASE": DixonComponent.IN_PHASE,
    "IN PHASE": DixonComponent.IN_PHASE,
    "INPHASE": DixonComponent.IN_PHASE,
    "IP": DixonComponent.IN_PHASE,
    "OPP_PHASE": DixonComponent.OPPOSED_PHASE,
    "OPPOSED_PHASE": DixonComponent.OPPOSED_PHASE,
    "OUT_PHASE": DixonComponent.OPPOSED_PHASE,
    "OUT PHASE": DixonComponent.OPPOSED_PHASE,
    "OUTPHASE": DixonComponent.OPPOSED_PHASE,
    "OP": DixonComponent.OPPOSED_PHASE,
}

# Description words trusted on their own, and the short suffixes trusted only in a Dixon context.
DESCRIPTION_WORDS: dict[str, DixonComponent] = {
    "WATER": DixonComponent.WATER,
    "FAT": DixonComponent.FAT,
    "INPHASE": DixonComponent.IN_PHASE,
    "OUTPHASE": DixonComponent.OPPOSED_PHASE,
    "OPPPHASE": DixonComponent.OPPOSED_PHASE,
    "OPPOSEDPHASE": DixonComponent.OPPOSED_PHASE,
}
DESCRIPTION_SUFFIXES: dict[str, DixonComponent] = {
    "W": DixonComponent.WATER,
    "F": DixonComponent.FAT,
    "IP": DixonComponent.IN_PHASE,
    "IN": DixonComponent.IN_PHASE,
    "OP": DixonComponent.OPPOSED_PHASE,
    "OPP": DixonComponent.OPPOSED_PHASE,
    "OUT": DixonComponent.OPPOSED_PHASE,
}
DIXON_CONTEXT = re.compile(r"DIXON|IDEAL|FLEX|\bDIX\b|2PT|TWO.?POINT", re.IGNORECASE)
FAT_SUPPRESSION = re.compile(r"FAT[\s_-]*(SAT|SUP|SUPP|SUPPRESS\w*)|\bFS\b|SPAIR|STIR", re.IGNORECASE)

# (opposed-phase, in-phase) echo-time windows in ms, by nominal field strength in tesla.
ECHO_WINDOWS_MS: dict[float, tuple[tuple[float, float], tuple[float, float]]] = {
    1.5: ((2.0, 2.6), (4.2, 5.0)),
    3.0: ((1.0, 1.4), (2.1, 2.6)),
}


def dixon_component(header: pydicom.Dataset, *, multi_echo: bool = False) -> DixonComponent | None:
    """The Dixon component this MR image is, or None when the header does not say.

    ``multi_echo`` tells that the image's series holds several echo times, which makes an echo-time
    label safe even without Dixon words in the description.
    """
    from_type = _from_image_type(header)
    if from_type is not None:
        return from_type
    text = " ".join(str(header.get(k) or "") for k in ("SeriesDescription", "ProtocolName", "SequenceName"))
    context = bool(DIXON_CONTEXT.search(text)) or "DIXON" in _image_type(header)
    from_text = _from_description(text, dixon_context=context)
    if from_text is not None:
        return from_text
    if context or multi_echo:
        return _from_echo_time(header)
    return None


def is_dixon_context(header: pydicom.Dataset) -> bool:
    """True when the description or ImageType says this acquisition is a Dixon one."""
    text = " ".join(str(header.get(k) or "") for k in ("SeriesDescription", "ProtocolName"))
    return bool(DIXON_CONTEXT.search(text)) or "DIXON" in _image_type(header)


def _image_type(header: pydicom.Dataset) -> list[str]:
    value = header.get("ImageType") or []
    values = [value] if isinstance(value, str) else list(value)
    return [str(v).strip().upper() for v in values]


def _from_image_type(header: pydicom.Dataset) -> DixonComponent | None:
    # The first two values are ORIGINAL/DERIVED and PRIMARY/SECONDARY: never component names.
    found = {IMAGE_TYPE_TOKENS[t] for t in _image_type(header)[2:] if t in IMAGE_TYPE_TOKENS}
    return found.pop() if len(found) == 1 else None


def _from_description(text: str, *, dixon_context: bool) -> DixonComponent | None:
    cleaned = FAT_SUPPRESSION.sub(" ", text)
    words = re.findall(r"[A-Za-z0-9]+", cleaned.replace("_", " "))
    joined = [w.upper() for w in words]
    # "In phase" / "Opp phase" / "Out phase" written as two words
    pairs = {a + b for a, b in itertools.pairwise(joined)}
    found = {DESCRIPTION_WORDS[w] for w in (*joined, *pairs) if w in DESCRIPTION_WORDS}
    if not found and dixon_context:
        found = {DESCRIPTION_SUFFIXES[w] for w in joined if w in DESCRIPTION_SUFFIXES}
    return found.pop() if len(found) == 1 else None


def _from_echo_time(header: pydicom.Dataset) -> DixonComponent | None:
    try:
        te = float(header.get("EchoTime"))
    except (TypeError, ValueError):
        return None
    try:
        field = float(header.get("MagneticFieldStrength"))
        fields = [min(ECHO_WINDOWS_MS, key=lambda f: abs(f - field))]
    except (TypeError, ValueError):
        fields = list(ECHO_WINDOWS_MS)
    labels = set()
    for f in fields:
        (opp_lo, opp_hi), (in_lo, in_hi) = ECHO_WINDOWS_MS[f]
        if opp_lo <= te <= opp_hi:
            labels.add(DixonComponent.OPPOSED_PHASE)
        if in_lo <= te <= in_hi:
            labels.add(DixonComponent.IN_PHASE)
    return labels.pop() if len(labels) == 1 else None
