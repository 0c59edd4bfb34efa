"""``bonemuscle batch sample_dicoms --out DIR`` exactly as the README's user types it: no model options.

Until 2026-12-07 this failed every CT study ("model(s) bonemuscle-mr-dixon not trained on CT") while
every batch test passed, because the tests named one model with ``--model``. The default models are
one per modality, and a unit runs only those of its modality, as ``analyze`` chooses them; so the two
commands, both with their defaults, must analyse the same series and give the same results.json.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

SAMPLES = Path(__file__).resolve().parents[2] / "sample_dicoms"


def _bonemuscle(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "imaging", *args], capture_output=True, text=True, timeout=900, check=False
    )


def _results(out: Path) -> dict[str, dict]:
    return {
        p.relative_to(out).parent.as_posix(): json.loads(p.read_text())
        for p in sorted(out.glob("*/*/*/results.json"))
    }


@pytest.mark.slow
def test_batch_with_its_defaults_analyses_every_series_analyze_does_with_the_same_results(tmp_path):
    if not SAMPLES.is_dir():
        pytest.skip(f"committed samples not found at {SAMPLES}")
    single = _bonemuscle("analyze", str(SAMPLES), "--out", str(tmp_path / "analyze"))
    batch = _bonemuscle("batch", str(SAMPLES), "--out", str(tmp_path / "batch"))
    assert batch.returncode == single.returncode == 0, batch.stderr + single.stderr
    expected, got = _results(tmp_path / "analyze"), _results(tmp_path / "batch")
    modalities = sorted(r["series"]["modality"] for r in expected.values())
    assert "CT" in modalities and "MR" in modalities  # both default models are exercised
    assert sorted(got) == sorted(expected)
    for folder, results in expected.items():
        assert got[folder] == results, folder
        # the model block names the network that segmented this series, not every default model
        assert (
            results["model"]["name"]
            == {"CT": "bonemuscle-ct-tissue", "MR": "bonemuscle-mr-dixon"}[results["series"]["modality"]]
        )
