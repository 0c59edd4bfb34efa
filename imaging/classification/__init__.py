"""Osteosarcopenia classification: criteria sets as data, a pure engine, JSON-ready results.

Public entry points: :func:`classify` with :class:`ClassificationInputs`, and :data:`DEFAULT_CONFIG`.
"""

from imaging.classification.engine import DEFAULT_CONFIG, DEFAULT_DESCRIPTION, EngineConfig, classify
from imaging.classification.inputs import (
    ClassificationInputs,
    Contrast,
    CtInputs,
    DxaInputs,
    DxaSite,
    FunctionInputs,
    Sex,
    Subject,
)

__all__ = [
    "DEFAULT_CONFIG",
    "DEFAULT_DESCRIPTION",
    "ClassificationInputs",
    "Contrast",
    "CtInputs",
    "DxaInputs",
    "DxaSite",
    "EngineConfig",
    "FunctionInputs",
    "Sex",
    "Subject",
    "classify",
]
