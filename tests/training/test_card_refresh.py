"""Refreshing a model card's evaluation keeps the run's facts and the weights; committed cards say
which comparison every phantom number is."""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path

import pytest

from segmentation_models.loading import sha256_file
from segmentation_models.model_card import replace_items, replace_section
from segmentation_models.registry import get_spec, registry_root
from training_data.evaluation_report import CEILING_COLUMN, GEOMETRIC_COLUMN, REFERENCE_COLUMN

CARD = """# m 1

## Metrics
- phantom_dice_imat: 0.7
- old: 1

## Limitations
- Trained on phantoms.
- Misses the issue-3 targets (old): imat 0.7 < 0.8.
- Small recipe.

## Training run
- command: `train`

## Real data, case by case
old real text
"""


def test_replace_section_swaps_only_that_body_and_inserts_missing_ones():
    out = replace_section(CARD, "Metrics", "- new: 2")
    assert "- new: 2\n\n## Limitations" in out and "phantom_dice_imat" not in out
    assert "- command: `train`" in out
    out = replace_section(out, "Issue-3 targets", "table", before="Real data, case by case")
    assert out.index("## Issue-3 targets") < out.index("## Real data, case by case")
    out = replace_section(out, "Real data, case by case", "new real text")
    assert out.endswith("## Real data, case by case\nnew real text\n") and "old real text" not in out
    assert replace_section(out, "Issue-3 targets", "table") == out  # idempotent


def test_replace_items_keeps_hand_written_limitations_in_place():
    out = replace_items(
        CARD, "Limitations", "Misses the issue-3", ["Misses the issue-3 A.", "Misses the issue-3 B."]
    )
    body = out.split("## Limitations\n")[1].split("\n\n")[0].splitlines()
    assert body == [
        "- Trained on phantoms.",
        "- Misses the issue-3 A.",
        "- Misses the issue-3 B.",
        "- Small recipe.",
    ]
    none = replace_items(out, "Limitations", "Misses the issue-3", [])
    assert "Misses" not in none and "- Small recipe." in none


@pytest.mark.parametrize("name", ["bonemuscle-ct-tissue", "bonemuscle-mr-dixon"])
def test_committed_cards_name_each_comparison_and_match_their_weights(name):
    spec = get_spec(name)
    folder = registry_root() / name
    assert sha256_file(folder / spec.weights_file) == spec.weights_sha256
    card = (folder / "MODEL_CARD.md").read_text(encoding="utf-8")
    for column in (REFERENCE_COLUMN, GEOMETRIC_COLUMN, CEILING_COLUMN):
        assert card.count(f"| {column}") >= 2, column  # routine and randomised tables
    assert "## Issue-3 targets" in card and "Where the definitional ceiling loses" in card
    metrics = dict(re.findall(r"^- (phantom_\w+): ([0-9.]+)$", card, flags=re.M))
    for acq in ("routine", "randomised"):
        for kind in (
            "dice_vs_reference_standard",
            "dice_vs_geometric_truth",
            "ceiling_reference_vs_geometric",
        ):
            assert f"phantom_{acq}_{kind}_skeletal_muscle" in metrics
    assert not any(k.startswith("phantom_dice_") for k in metrics)  # the old, ambiguous names are gone
    # the headline table shows the metric that carries its name (3 decimals vs 4 significant digits)
    routine = card.split("## Held-out phantom validation, routine acquisition")[1]
    cell = re.search(r"^\| skeletal_muscle \| \*\*([0-9.]+)\*\*", routine, flags=re.M).group(1)
    assert float(cell) == pytest.approx(
        float(metrics["phantom_routine_dice_vs_reference_standard_skeletal_muscle"]), abs=1e-3
    )


def _script():
    path = Path(__file__).resolve().parents[2] / "scripts" / "train_segmentation.py"
    spec = importlib.util.spec_from_file_location("train_segmentation_script", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up while being defined
    spec.loader.exec_module(module)
    return module


def test_write_card_refreshes_numbers_and_keeps_the_run(tmp_path):
    from training_data.evaluate import render_eval_case, score_phantom_cases
    from training_data.reference_standard import reference_tissue

    from .test_evaluate import _tiny_settings

    script = _script()
    cases = [render_eval_case(_tiny_settings(1_000_003))]
    ev = score_phantom_cases(cases, reference_tissue, log=lambda _: None)
    measured = script.Measured({script.ROUTINE: ev, script.RANDOMISED: ev}, [])
    path = tmp_path / "MODEL_CARD.md"
    path.write_text(CARD, encoding="utf-8")
    sections = script._evaluation_sections(measured, "measured in a test")
    script._write_card(path, measured, sections)
    card = path.read_text(encoding="utf-8")
    assert "- command: `train`" in card and "- Trained on phantoms." in card
    assert "phantom_dice_imat" not in card and "Misses the issue-3 targets (old)" not in card
    assert "- phantom_routine_dice_vs_reference_standard_skeletal_muscle: 1\n" in card
    assert card.index("## Issue-3 targets") < card.index("## Real data, case by case")
    assert "measured in a test" in card
    script._write_card(path, measured, sections)
    assert path.read_text(encoding="utf-8") == card  # refreshing twice changes nothing
