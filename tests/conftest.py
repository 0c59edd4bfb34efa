"""Shared test fixtures: where ../shared/data is, and a clear skip when it is not there."""

from __future__ import annotations

from pathlib import Path

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
