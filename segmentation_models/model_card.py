"""Model cards: the human-readable half of a registry entry, generated from its ``model.json``.

The card is written next to the weights (``weights/<name>/MODEL_CARD.md``) when a model is
registered. Facts that only training knows (data, metrics, limitations) are passed in; everything
derivable from the spec (classes, spacing, normalisation, checksum) is rendered from it, so the card
cannot disagree with the configuration the code actually uses.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from segmentation_models.registry import ModelSpec

CARD_FILENAME = "MODEL_CARD.md"


@dataclass(frozen=True)
class CardFacts:
    """What training reports about a model; empty fields are rendered as "not reported"."""

    intended_use: str = ""
    training_data: str = ""
    metrics: Mapping[str, float] = field(default_factory=dict)  # e.g. {"dice_skeletal_muscle_L3": 0.95}
    limitations: Sequence[str] = ()


def render_card(spec: ModelSpec, facts: CardFacts | None = None) -> str:
    """Markdown card for ``spec``."""
    facts = facts or CardFacts()
    missing = "_not reported_"
    sp = spec.spacing
    norm = spec.normalisation
    arch = spec.architecture or "TorchScript (self-describing)"
    kwargs = dict(spec.architecture_kwargs)
    slice_mm = sp.slice_mm if sp.slice_mm is not None else "native"
    lines = [
        f"# {spec.name} {spec.version}",
        "",
        f"Task: {spec.task}. Modality: {spec.modality}.",
        "",
        "## Network",
        f"- architecture: {arch} {kwargs or ''}".rstrip(),
        f"- input: {spec.spatial_dims.value}, {spec.context_slices} slice(s) as channels, "
        f"patch {list(spec.patch_size)}",
        f"- spacing (mm): slice {slice_mm}, row {sp.row_mm}, column {sp.column_mm}",
        f"- normalisation: {norm.kind.value} {norm.low}..{norm.high}",
        f"- weights: {spec.weights_file or missing}, sha256 {spec.weights_sha256 or missing}",
        "",
        "## Outputs",
    ]
    for head in spec.heads:
        classes = ", ".join(f"{v} {n}" for v, n in sorted(head.classes.items()))
        lines.append(f"- {head.kind.value}: {classes}")
    lines += [
        "",
        "## Intended use",
        facts.intended_use or missing,
        "",
        "## Training data",
        facts.training_data or missing,
    ]
    lines += ["", "## Metrics"]
    lines += [f"- {k}: {v:.4g}" for k, v in sorted(facts.metrics.items())] or [missing]
    lines += ["", "## Limitations"]
    lines += [f"- {item}" for item in facts.limitations] or [missing]
    return "\n".join(lines) + "\n"


def write_card(spec: ModelSpec, directory: Path, facts: CardFacts | None = None) -> Path:
    """Write the card beside the weights; returns its path (record it as ``model_card`` in model.json)."""
    path = Path(directory) / CARD_FILENAME
    path.write_text(render_card(spec, facts), encoding="utf-8")
    return path
