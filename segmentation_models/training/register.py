"""Registering a trained network: weights + model.json (checksummed) + a model card with the run's facts.

The card's spec-derived half comes from :func:`segmentation_models.model_card.render_card`; this module
adds what only the run knows: the exact command, the hardware (from /proc/cpuinfo and torch), wall
time, the data, and the measured Dice, rendered as given -- a None metric is shown as "not measured"
with its reason, never as a number.
"""

from __future__ import annotations

import platform
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from segmentation_models.model_card import CARD_FILENAME, CardFacts, render_card
from segmentation_models.registry import ModelSpec, write_spec


@dataclass(frozen=True)
class RunFacts:
    """Facts of one training run for the card (free text where the content is prose)."""

    command: str
    hardware: str
    wall_s: float
    iterations: int
    stopped_early: bool
    data: str
    intended_use: str
    sections: dict[str, str] = field(default_factory=dict)  # extra "## title" -> markdown body
    metrics: dict[str, float] = field(default_factory=dict)
    limitations: tuple[str, ...] = ()


def hardware_description(device: str) -> str:
    """CPU model and core count from /proc/cpuinfo (when readable), torch threads, and the GPU if used."""
    import torch

    cpu = platform.processor() or platform.machine()
    try:
        text = Path("/proc/cpuinfo").read_text()
        names = [line.split(":", 1)[1].strip() for line in text.splitlines() if line.startswith("model name")]
        if names:
            cpu = f"{names[0]} ({len(names)} logical CPUs visible)"
    except OSError:
        pass
    out = f"{cpu}; torch {torch.__version__}, {torch.get_num_threads()} threads"
    if device.startswith("cuda") and torch.cuda.is_available():
        out += f"; GPU {torch.cuda.get_device_name(0)}"
    return out


def register(network: Any, spec: ModelSpec, directory: Path, facts: RunFacts) -> ModelSpec:
    """Write weights, ``model.json`` (sha256) and ``MODEL_CARD.md`` into ``directory``."""
    from dataclasses import replace

    from segmentation_models.loading import save_registered

    spec = replace(spec, model_card=CARD_FILENAME)
    written = save_registered(network, spec, directory)
    write_spec(written, directory)
    card = render_card(
        written,
        CardFacts(
            intended_use=facts.intended_use,
            training_data=facts.data,
            metrics=facts.metrics,
            limitations=facts.limitations,
        ),
    )
    run = [
        "",
        "## Training run",
        f"- command: `{facts.command}`",
        f"- hardware: {facts.hardware}",
        f"- wall time: {facts.wall_s / 60:.1f} min for {facts.iterations} iterations"
        + (" (stopped by the time budget before the planned schedule ended)" if facts.stopped_early else ""),
    ]
    for title, body in facts.sections.items():
        run += ["", f"## {title}", body.rstrip()]
    (Path(directory) / CARD_FILENAME).write_text(card + "\n".join(run) + "\n", encoding="utf-8")
    return written
