"""Validation Dice: compartments on the model grid, final tissue labels on held-out phantoms, real CT.

The headline numbers are Dice of the *final tissue labels* (after the HU windows of
:mod:`segmentation_models.postprocess`) against phantom truth on held-out phantoms rendered at a
clinical resolution (0.7-0.9 mm pixels) and run through :func:`segmentation_models.inference.segment`,
i.e. the same code path as ``bonemuscle analyze``. Held-out seeds start at :data:`HELD_OUT_SEED0`,
far from any seed training uses. Alongside, the *oracle* Dice applies the same windows to the truth
compartments: the gap between the two is the network's error, the oracle's shortfall from 1 is the
windowing rule's (noise pushes voxels across the window edges).

Real cases have TotalSegmentator labels only: Dice is reported for what they can give (paraspinal =
autochthon, psoas = iliopsoas, bone), case by case.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from imaging.labels import TISSUE_NAMES, LabelMap
from segmentation_models.training import targets as tg

HELD_OUT_SEED0 = 1_000_000
EVAL_TISSUES = ("skeletal_muscle", "imat", "sat", "vat", "bone")


def set_dice_counts(pred: np.ndarray, bits: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Per class: (2·|P∩T| / 2, |P|+|T|) over voxels whose membership in the class is certain."""
    allowed = tg.allowed_mask(bits, n)
    n_allowed = allowed.sum(axis=0)
    inter, total = np.zeros(n), np.zeros(n)
    for c in range(n):
        positive = allowed[c] & (n_allowed == 1) & (bits != 0)
        certain = positive | ~allowed[c]
        p = (pred == c) & certain
        inter[c] = np.count_nonzero(p & positive)
        total[c] = np.count_nonzero(p) + np.count_nonzero(positive)
    return inter, total


def dice(a: np.ndarray, b: np.ndarray) -> float | None:
    """Dice of two masks; None when both are empty (undefined, not 1 or 0)."""
    s = int(np.count_nonzero(a)) + int(np.count_nonzero(b))
    return None if s == 0 else 2.0 * np.count_nonzero(a & b) / s


@dataclass
class DiceTable:
    """Pooled (sum over cases) intersections and sizes per class, plus per-case Dice."""

    inter: dict[str, int] = field(default_factory=dict)
    total: dict[str, int] = field(default_factory=dict)
    per_case: list[dict[str, Any]] = field(default_factory=list)

    def add(self, case: str, pred: LabelMap, truth: LabelMap, names: Sequence[str]) -> None:
        row: dict[str, Any] = {"case": case}
        for name in names:
            a, b = pred.mask(name), truth.mask(name)
            self.inter[name] = self.inter.get(name, 0) + int(np.count_nonzero(a & b))
            self.total[name] = self.total.get(name, 0) + int(np.count_nonzero(a)) + int(np.count_nonzero(b))
            row[name] = dice(a, b)
        self.per_case.append(row)

    def pooled(self) -> dict[str, float | None]:
        return {n: (2.0 * self.inter[n] / self.total[n] if self.total[n] else None) for n in self.inter}


@dataclass(frozen=True)
class PhantomEvaluation:
    network: dict[str, float | None]
    oracle: dict[str, float | None]
    per_case: list[dict[str, Any]]
    n_cases: int
    n_slices: int
    standard: bool = False


def evaluate_phantoms(
    model: Any, seeds: Sequence[int], pixel_mm: float = 0.8, log=print, standard: bool = False
) -> PhantomEvaluation:
    """Render held-out phantoms at clinical resolution, segment them, Dice of final tissue labels.

    ``standard``: same subjects, but a routine acquisition (soft kernel at its default 12 HU noise,
    120 kVp, uncropped field of view) instead of the training randomisation, whose noise reaches 75 HU
    and pushes voxels across the HU windows whatever the compartments are (see the oracle column).
    """
    from segmentation_models.inference import InferenceOptions, segment
    from segmentation_models.postprocess import tissue_from_ct, tissue_from_mr
    from segmentation_models.training.data import render_phantom_case, sample_phantom_settings

    net, oracle = DiceTable(), DiceTable()
    slices = 0
    for seed in seeds:
        if seed < HELD_OUT_SEED0:
            raise ValueError(f"evaluation seed {seed} is below {HELD_OUT_SEED0}: it may have been trained on")
        settings = sample_phantom_settings(seed, model.spec.modality, pixel_mm=pixel_mm, fov_mm=460.0)
        if standard:
            settings = replace(
                settings, kernel="soft", noise_hu=12.0, kvp=120.0, matrix=round(460.0 / settings.pixel_mm)
            )
        case = render_phantom_case(settings)
        affine = np.diag([*case.spacing_kji, 1.0])
        from imaging.volume import Volume

        volume = Volume(case.image, affine, {"modality": case.modality})
        opts = InferenceOptions(device="cpu", batch_size=4)
        seg = segment(volume, model, opts, fat_fraction_pct=case.fat_fraction)
        truth = LabelMap(case.tissue, dict(TISSUE_NAMES))
        comp = LabelMap(
            np.log2(np.maximum(case.target, 1)).astype(np.uint8), dict(model.spec.heads[0].classes)
        )
        net.add(case.name, seg.tissue, truth, EVAL_TISSUES)
        if case.modality == "CT":
            oracle.add(case.name, tissue_from_ct(comp, case.image).tissue, truth, EVAL_TISSUES)
        else:  # MR: compartments as they are, IMAT by the fat-fraction threshold (as analyze does)
            oracle.add(case.name, tissue_from_mr(comp, case.fat_fraction).tissue, truth, EVAL_TISSUES)
        slices += case.image.shape[0]
        row = net.per_case[-1]
        log(f"{case.name}: " + ", ".join(f"{k} {v:.3f}" for k, v in row.items() if isinstance(v, float)))
    return PhantomEvaluation(net.pooled(), oracle.pooled(), net.per_case, len(seeds), slices, standard)


@dataclass(frozen=True)
class RealEvaluation:
    case: str
    dice: dict[str, float | None]
    dice_held_out_slices: dict[str, float | None]
    held_out_slices: tuple[int, ...]
    n_slices: int
    voxels: dict[str, tuple[int, int]] = field(default_factory=dict)  # class -> (reference, predicted)


def evaluate_real_ct(
    model: Any, dicom_dir: Path, ts_labels: Path, held_out: Sequence[int] = ()
) -> RealEvaluation:
    """Dice of predicted compartments against a TotalSegmentator map, for the classes it can give."""
    from segmentation_models.inference import InferenceOptions, segment
    from segmentation_models.label_sources.precomputed import load_precomputed
    from segmentation_models.training.data import read_dicom_series

    volume = read_dicom_series(Path(dicom_dir))
    ref = load_precomputed(Path(ts_labels), volume)
    seg = segment(volume, model, InferenceOptions(device="cpu", batch_size=4))
    pred_c, ref_c = seg.compartments, ref.compartments
    names = {"paraspinal": "paraspinal", "psoas": "psoas", "bone": "bone"}
    held = np.zeros(volume.shape[0], dtype=bool)
    held[list(held_out)] = True

    def scores(sel: np.ndarray) -> dict[str, float | None]:
        return {k: dice(pred_c.mask(v)[sel], ref_c.mask(v)[sel]) for k, v in names.items()}

    return RealEvaluation(
        Path(dicom_dir).parent.name,
        scores(np.ones(volume.shape[0], dtype=bool)),
        scores(held) if held.any() else {},
        tuple(int(k) for k in held_out),
        volume.shape[0],
        {k: (int(ref_c.mask(v).sum()), int(pred_c.mask(v).sum())) for k, v in names.items()},
    )


def _fmt(v: float | None) -> str:
    return "n/a" if v is None else f"{v:.3f}"


def phantom_markdown(ev: PhantomEvaluation) -> str:
    """Pooled network and oracle Dice per tissue, then the per-case table."""
    lines = [
        f"{ev.n_cases} held-out phantoms ({ev.n_slices} slices; seeds >= {HELD_OUT_SEED0}, "
        "never trained on), "
        "rendered at 0.72-0.88 mm pixels "
        + (
            "with a routine acquisition (soft kernel, 12 HU noise, 120 kVp, full field of view; subject, "
            "level, contrast phase and slice thickness still randomised)"
            if ev.standard
            else "with the full training randomisation (noise up to 75 HU, cropped fields of view)"
        )
        + ", segmented by `segment()`; "
        "Dice of final tissue labels vs phantom truth, pooled over all slices.",
        "",
        "| tissue | network | oracle (truth compartments + same HU windows) |",
        "|---|---|---|",
    ]
    lines += [f"| {t} | {_fmt(ev.network.get(t))} | {_fmt(ev.oracle.get(t))} |" for t in EVAL_TISSUES]
    lines += ["", "Per case (network):", "", "| case | " + " | ".join(EVAL_TISSUES) + " |"]
    lines.append("|---" * (len(EVAL_TISSUES) + 1) + "|")
    for row in ev.per_case:
        lines.append(f"| {row['case']} | " + " | ".join(_fmt(row.get(t)) for t in EVAL_TISSUES) + " |")
    return "\n".join(lines)


def real_markdown(evs: Sequence[RealEvaluation]) -> str:
    """Per real case: Dice vs TotalSegmentator for the classes its map gives."""
    lines = [
        "| case | slices | class | Dice all slices | Dice held-out slices | voxels reference / predicted |",
        "|---|---|---|---|---|---|",
    ]
    for ev in evs:
        for k, v in ev.dice.items():
            held = _fmt(ev.dice_held_out_slices.get(k)) if ev.held_out_slices else "none held out"
            ref, pred = ev.voxels.get(k, (None, None))
            lines.append(f"| {ev.case} | {ev.n_slices} | {k} | {_fmt(v)} | {held} | {ref} / {pred} |")
    return "\n".join(lines)
