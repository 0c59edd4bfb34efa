"""Real sagittal lumbar MR (``mr_lumbar_vb``): bodies found and separated from the signal, never named.

Read in place from ../shared/data/real/mr_lumbar_vb (MANIFEST.md there): 3 T water-fat MR stored as
8-bit, 1 mm, with L1-L5 body masks. The check goes through ``scripts/evaluate_real.py``'s MR case, so
the figures docs/real-data.md reports are the ones pinned here. Three volumes keep it to seconds;
the evaluation script runs all twelve.
"""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

import pytest

pytestmark = [pytest.mark.shared, pytest.mark.slow]


@pytest.mark.parametrize("case", ["13", "25", "41"])
def test_real_lumbar_bodies_are_separated_and_left_unnamed(
    shared_data: Path, evaluate_real: ModuleType, case: str, tmp_path: Path
) -> None:
    outcome = evaluate_real.mr_lumbar(shared_data / "real" / "mr_lumbar_vb" / f"{case}.mat", tmp_path)
    assert outcome.named == 0, "a name without an anchor"
    assert outcome.merged == 0, "two reference bodies share one found body"
    for body in ("L1", "L2", "L3", "L4"):
        assert outcome.dice[body] >= 0.6, f"{body}: Dice {outcome.dice[body]:.2f}"
    assert outcome.dice["L5"] > 0.4
