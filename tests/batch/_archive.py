"""Test helpers: a stub TorchScript model on disk and small synthetic archives with injected faults.

Series come from tests/pipeline/_synthetic_ct (48x48 pixels, 16 slices, generated here, no real data).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from pipeline._synthetic_ct import write_series

from segmentation_models.loading import sha256_file


def stub_model_file(folder: Path, patch: int = 64) -> Path:
    """The segmentation tests' thresholding network as TorchScript + sidecar (resolve_model loads it)."""
    import torch
    from segmentation._stubs import STUB_CLASSES, ThresholdNet, normalised_edges

    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "model.ts"
    torch.jit.script(ThresholdNet(normalised_edges(), 4)).save(str(path))
    sidecar = {
        "name": "threshold-stub",
        "version": "0",
        "classes": {str(k): v for k, v in STUB_CLASSES.items()},
        "spacing_mm": [1.0, 1.0, None],
        "patch_size": [patch, patch],
        "normalisation": {"kind": "ct_window", "low": -1000, "high": 1000},
        "weights_sha256": sha256_file(path),
    }
    (folder / "model.ts.json").write_text(json.dumps(sidecar))
    return path


def good_archive(root: Path, n: int, n_slices: int = 16) -> list[Path]:
    """``n`` studies of one CT series each, patients P0..P<n-1>."""
    return [write_series(root / f"P{i}" / "ct", patient_id=f"P{i}", n_slices=n_slices) for i in range(n)]


def corrupt_studies(root: Path) -> dict[str, Path]:
    """Three broken studies: a truncated slice, a slice overwritten with random bytes, a missing slice."""
    truncated = write_series(root / "BAD_TRUNC" / "ct", patient_id="BAD_TRUNC")
    f = truncated / "IM0005.dcm"
    f.write_bytes(f.read_bytes()[: f.stat().st_size - 2000])
    noise = write_series(root / "BAD_NOISE" / "ct", patient_id="BAD_NOISE")
    (noise / "IM0007.dcm").write_bytes(np.random.default_rng(0).bytes(6000))
    missing = write_series(root / "BAD_GAP" / "ct", patient_id="BAD_GAP")
    (missing / "IM0008.dcm").unlink()
    return {"truncated": truncated, "noise": noise, "missing": missing}
