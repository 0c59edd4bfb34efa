"""Evaluation results as model-card markdown and metrics, with names no reader can confuse.

Three comparisons per tissue (see :mod:`training_data.evaluate`): the headline
:data:`REFERENCE_COLUMN`, :data:`GEOMETRIC_COLUMN` beside it, and :data:`CEILING_COLUMN`; issue 3's
acceptance targets are checked under both network comparisons, so a card states which are met under
which definition.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from training_data.evaluate import HELD_OUT_SEED0, PhantomEvaluation, RealEvaluation
from training_data.reference_standard import (
    BOUNDARY_MM,
    CAUSES,
    EVAL_TISSUES,
    window_text,
)

# Issue 3's acceptance targets (project goals, not clinical numbers).
PHANTOM_TARGETS: dict[str, float] = {"skeletal_muscle": 0.95, "sat": 0.95, "vat": 0.95, "imat": 0.80}
REAL_PARASPINAL_TARGET = 0.85

REFERENCE_COLUMN = "network vs reference standard"
GEOMETRIC_COLUMN = "network vs geometric truth"
CEILING_COLUMN = "reference standard vs geometric truth (definitional ceiling)"


def _fmt(v: float | None) -> str:
    return "n/a" if v is None else f"{v:.3f}"


def _range(lo: float, hi: float) -> str:
    return f"{lo:.0f}" if round(lo) == round(hi) else f"{lo:.0f}..{hi:.0f}"


def _acquisition_text(ev: PhantomEvaluation) -> str:
    if ev.modality == "CT":
        if ev.standard:
            return (
                "with a routine acquisition (soft kernel, 12 HU noise, 120 kVp, full field of view; subject, "
                "level, contrast phase and slice thickness still randomised)"
            )
        return "with the full training randomisation (noise up to 75 HU, cropped fields of view)"
    if ev.standard:
        return (
            "with the full field of view (on MR the CT acquisition settings this evaluation fixes do not "
            "apply: field strength, SNR 15-60 and bias field stay randomised as in training)"
        )
    return (
        "with the full training randomisation (1.5 / 3 T, SNR 15-60, a quarter with a cropped field of view)"
    )


def _rule_text(modality: str) -> str:
    if modality == "CT":
        return "the Alberta HU windows"
    return (
        "the fat-fraction IMAT split (FF >= 50 %, postprocess.MrRule: the project's configurable "
        "default, not a published cut-off)"
    )


def phantom_markdown(ev: PhantomEvaluation) -> str:
    """The three Dice columns per tissue (headline first), then per case, then the ceiling's causes."""
    lines = [
        f"{ev.n_cases} held-out phantoms ({ev.n_slices} slices; seeds >= {HELD_OUT_SEED0}, never trained "
        f"on), rendered at {ev.pixel_mm[0]:.2f}-{ev.pixel_mm[1]:.2f} mm pixels {_acquisition_text(ev)}, "
        "segmented by `segment()` (current "
        "inference code); Dice of final tissue labels, pooled over all slices.",
        "",
        f"- **{REFERENCE_COLUMN}** (headline): against truth compartments + {_rule_text(ev.modality)} on the "
        "same image, i.e. a perfect manual (Slice-O-Matic-style) segmentation. 1.0 = the network's "
        "compartments are exact.",
        f"- **{GEOMETRIC_COLUMN}**: against the phantom's geometric tissue map; includes the "
        "definitional gap.",
        f"- **{CEILING_COLUMN}**: what a perfect manual segmentation itself scores against geometric truth.",
        "",
        f"| tissue | {REFERENCE_COLUMN} | {GEOMETRIC_COLUMN} | {CEILING_COLUMN} |",
        "|---|---|---|---|",
    ]
    lines += [
        f"| {t} | **{_fmt(ev.vs_reference.get(t))}** | {_fmt(ev.vs_geometric.get(t))} | "
        f"{_fmt(ev.ceiling.get(t))} |"
        for t in EVAL_TISSUES
    ]
    lines += ["", "Per case, network vs reference standard / network vs geometric truth:", ""]
    lines += ["| case | " + " | ".join(EVAL_TISSUES) + " |", "|---" * (len(EVAL_TISSUES) + 1) + "|"]
    for row in ev.per_case:
        cells = [
            f"{_fmt(row['vs_reference'].get(t))} / {_fmt(row['vs_geometric'].get(t))}" for t in EVAL_TISSUES
        ]
        lines.append(f"| {row['case']} | " + " | ".join(cells) + " |")
    if ev.ceiling_points:
        lines += ["", ceiling_markdown(ev)]
    return "\n".join(lines)


def ceiling_markdown(ev: PhantomEvaluation) -> str:
    """Dice points the definitional ceiling loses, per tissue and cause (they sum to 1 − ceiling)."""
    keys = [c for c in tuple(CAUSES) if any(ev.ceiling_points.get(t, {}).get(c, 0) for t in EVAL_TISSUES)]
    keys = keys or list(tuple(CAUSES)[:1])
    lines = [
        "Where the definitional ceiling loses (Dice points, pooled; each voxel where reference standard and "
        "geometric truth disagree is assigned to the first cause that explains it, causes not listed lose "
        f"nothing; 'boundary' = within {BOUNDARY_MM:g} mm in-plane of another tissue or another tissue in "
        "the next slice; "
        "training_data/reference_standard.py, `ceiling_causes`):",
        "",
        "| tissue | ceiling | " + " | ".join(CAUSES[c] for c in keys) + " |",
        "|---" * (len(keys) + 2) + "|",
    ]
    for t in EVAL_TISSUES:
        pts = ev.ceiling_points.get(t, {})
        lines.append(
            f"| {t} | {_fmt(ev.ceiling.get(t))} | "
            + " | ".join(f"{pts.get(c, 0.0):.3f}" for c in keys)
            + " |"
        )
    if ev.designed:
        unit = "HU" if ev.modality == "CT" else "% FF"
        parts = [
            f"{t} {_range(lo, hi)} {unit} (rule: {window_text(ev.modality, t)})"
            for t, (lo, hi) in ev.designed.items()
        ]
        lines += ["", "Designed pure-tissue values over these phantoms: " + "; ".join(parts) + "."]
    return "\n".join(lines)


def phantom_metrics(ev: PhantomEvaluation, prefix: str) -> dict[str, float]:
    """Card metrics under names that say which comparison each is (None values are left out)."""
    out: dict[str, float] = {}
    for label, table in (
        ("dice_vs_reference_standard", ev.vs_reference),
        ("dice_vs_geometric_truth", ev.vs_geometric),
        ("ceiling_reference_vs_geometric", ev.ceiling),
    ):
        out.update({f"{prefix}_{label}_{t}": v for t, v in table.items() if v is not None})
    return out


def target_rows(
    evs: Mapping[str, PhantomEvaluation],
) -> list[tuple[str, str, str, float | None, float, bool | None]]:
    """(acquisition, comparison, tissue, Dice, target, met) for every issue-3 phantom target."""
    rows = []
    for acq, ev in evs.items():
        for comparison, table in ((REFERENCE_COLUMN, ev.vs_reference), (GEOMETRIC_COLUMN, ev.vs_geometric)):
            for t, goal in PHANTOM_TARGETS.items():
                v = table.get(t)
                rows.append((acq, comparison, t, v, goal, None if v is None else v >= goal))
    return rows


def _verdict(v: float | None, goal: float) -> str:
    return "n/a" if v is None else (f"{v:.3f} yes" if v >= goal else f"{v:.3f} **no**")


def targets_markdown(evs: Mapping[str, PhantomEvaluation], reals: Sequence[RealEvaluation] = ()) -> str:
    """Issue-3 targets, met or not, under each definition (and the real-CT paraspinal target)."""
    columns = [(acq, comparison) for acq in evs for comparison in (REFERENCE_COLUMN, GEOMETRIC_COLUMN)]
    lines = [
        "| tissue (target) | " + " | ".join(f"{acq}: {c}" for acq, c in columns) + " |",
        "|---" * (len(columns) + 1) + "|",
    ]
    for t, goal in PHANTOM_TARGETS.items():
        cells = []
        for acq, comparison in columns:
            table = evs[acq].vs_reference if comparison == REFERENCE_COLUMN else evs[acq].vs_geometric
            cells.append(_verdict(table.get(t), goal))
        lines.append(f"| {t} (>= {goal:g}) | " + " | ".join(cells) + " |")
    if reals:
        lines += [
            "",
            "| real CT (compartments vs TotalSegmentator) | paraspinal, all slices "
            "| paraspinal, held-out slices |",
            "|---|---|---|",
        ]
        for r in reals:
            held = r.dice_held_out_slices.get("paraspinal") if r.held_out_slices else None
            held_text = _verdict(held, REAL_PARASPINAL_TARGET) if r.held_out_slices else "none held out"
            lines.append(
                f"| {r.case} (>= {REAL_PARASPINAL_TARGET:g}) | "
                f"{_verdict(r.dice.get('paraspinal'), REAL_PARASPINAL_TARGET)} | {held_text} |"
            )
    return "\n".join(lines)


def missed_targets(evs: Mapping[str, PhantomEvaluation]) -> list[str]:
    """One line per acquisition and comparison that misses a phantom target (for Limitations)."""
    out = []
    for acq in evs:
        for comparison in (REFERENCE_COLUMN, GEOMETRIC_COLUMN):
            missed = [
                f"{t} {v:.3f} < {goal:g}"
                for a, c, t, v, goal, met in target_rows(evs)
                if a == acq and c == comparison and met is False and v is not None
            ]
            if missed:
                out.append(
                    f"Misses the issue-3 held-out phantom Dice targets ({acq}, {comparison}): "
                    + ", ".join(missed)
                    + "."
                )
    return out


def real_markdown(evs: Sequence[RealEvaluation]) -> str:
    """Per real case: Dice vs TotalSegmentator for the classes its map gives, then what zero means."""
    lines = [
        "| case | slices | class | Dice all slices | Dice held-out slices | voxels reference / predicted |",
        "|---|---|---|---|---|---|",
    ]
    notes = []
    for ev in evs:
        for k, v in ev.dice.items():
            held = _fmt(ev.dice_held_out_slices.get(k)) if ev.held_out_slices else "none held out"
            ref, pred = ev.voxels.get(k, (None, None))
            lines.append(f"| {ev.case} | {ev.n_slices} | {k} | {_fmt(v)} | {held} | {ref} / {pred} |")
            if ref == 0:
                notes.append(
                    f"{ev.case}: the reference labels no {k} in these {ev.n_slices} slices, so its Dice "
                    + (
                        f"of 0 only says the model labelled {pred} voxels {k} there."
                        if pred
                        else "is undefined."
                    )
                )
    return "\n".join(lines + (["", *notes] if notes else []))
