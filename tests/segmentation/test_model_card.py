"""Model cards render what the spec says, and say when training facts are missing."""

from __future__ import annotations

from segmentation_models.model_card import CardFacts, render_card, write_card
from segmentation_models.networks import tissue_recipe


def test_card_reflects_spec_and_marks_missing_facts(tmp_path):
    spec = tissue_recipe()
    card = render_card(spec)
    assert "DynUNet" in card and "3 slice(s)" in card and "slice native, row 1.0, column 1.0" in card
    assert "6 subcutaneous_fat" in card and "ct_window -1000.0..1000.0" in card
    assert card.count("_not reported_") >= 5  # weights, sha256, use, data, metrics, limitations
    facts = CardFacts("L3 body composition", "phantoms v1", {"dice_muscle": 0.93456}, ("not for children",))
    path = write_card(spec, tmp_path, facts)
    text = path.read_text()
    assert "- dice_muscle: 0.9346" in text and "- not for children" in text
