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
    lines += metrics_lines(facts.metrics) or [missing]
    lines += ["", "## Limitations"]
    lines += [f"- {item}" for item in facts.limitations] or [missing]
    return "\n".join(lines) + "\n"


def write_card(spec: ModelSpec, directory: Path, facts: CardFacts | None = None) -> Path:
    """Write the card beside the weights; returns its path (record it as ``model_card`` in model.json)."""
    path = Path(directory) / CARD_FILENAME
    path.write_text(render_card(spec, facts), encoding="utf-8")
    return path


def metrics_lines(metrics: Mapping[str, float]) -> list[str]:
    """The Metrics section's bullet lines, sorted by name (shared by rendering and re-evaluation)."""
    return [f"- {k}: {v:.4g}" for k, v in sorted(metrics.items())]


def _section_span(card: str, title: str) -> tuple[int, int] | None:
    """(start of the body, end of the section) of ``## title`` in ``card``; None when absent."""
    lines = card.splitlines(keepends=True)
    pos, start = 0, None
    for line in lines:
        if start is not None and line.startswith("## "):
            return start, pos
        pos += len(line)
        if start is None and line.rstrip("\n") == f"## {title}":
            start = pos
    return None if start is None else (start, len(card))


def replace_section(card: str, title: str, body: str, before: str | None = None) -> str:
    """``card`` with the body of ``## title`` replaced (up to the next ``## `` heading).

    Re-measuring a model must refresh its numbers without touching what only its training run
    knew (command, hardware, notes), so sections are swapped one by one instead of re-rendering the
    card. An absent section is inserted before ``## before`` (when present) or appended.
    """
    text = body.rstrip("\n") + "\n"
    span = _section_span(card, title)
    if span is not None:
        start, end = span
        tail = card[end:]
        return card[:start] + text + ("\n" if tail else "") + tail
    block = f"## {title}\n{text}"
    anchor = _section_span(card, before) if before else None
    if anchor is not None:
        head_start = anchor[0] - len(f"## {before}\n")
        return card[:head_start] + block + "\n" + card[head_start:]
    return card.rstrip("\n") + "\n\n" + block


def replace_items(card: str, title: str, prefix: str, items: Sequence[str]) -> str:
    """``card`` with the bullets of ``## title`` that start with ``prefix`` replaced by ``items``.

    The new bullets take the place of the first one removed (else they go last); other bullets of
    the section (hand-written limitations, say) stay as they are.
    """
    span = _section_span(card, title)
    if span is None:
        return replace_section(card, title, "\n".join(f"- {i}" for i in items))
    start, end = span
    body = card[start:end].rstrip("\n").split("\n")
    kept: list[str] = []
    at = None
    for line in body:
        if line.startswith(f"- {prefix}"):
            at = len(kept) if at is None else at
            continue
        kept.append(line)
    new = [f"- {i}" for i in items]
    if at is None:
        at = len(kept)
        while at and not kept[at - 1].strip():
            at -= 1
    kept[at:at] = new
    return replace_section(card, title, "\n".join(kept))
