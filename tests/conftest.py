"""Shared test fixtures: where ../shared/data is, and a clear skip when it is not there; the real-data
evaluation script as a module, so tests pin the figures docs/real-data.md reports."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = PROJECT_ROOT.parent / "shared" / "data"
SAMPLE_DICOMS = PROJECT_ROOT / "sample_dicoms"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """Root of ../shared/data; tests that need real DICOM skip with the reason when it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"../shared/data not found at {SHARED_DATA}: real-data tests need ../shared beside us")
    return SHARED_DATA


@pytest.fixture(scope="session")
def evaluate_real() -> ModuleType:
    """scripts/evaluate_real.py, imported (scripts/ is not a package)."""
    path = PROJECT_ROOT / "scripts" / "evaluate_real.py"
    spec = importlib.util.spec_from_file_location("evaluate_real", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["evaluate_real"] = module  # dataclasses resolve their module by name
    spec.loader.exec_module(module)
    return module
