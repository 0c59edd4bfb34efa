"""Evaluate vertebral level finding on every real CT and MR in ../shared/data/real; write docs/real-data.md.

    .venv/bin/python scripts/evaluate_real.py [--shared ../shared] [--qa-out real-qa]

Per case: what the level finder concluded (anchor, confidence or the refusal), each named vertebra
against the reference that exists (a reader's transverse-process positions, TotalSegmentator's or
the source's vertebra masks), the count of wrongly named vertebrae (the target is zero; refusals
are allowed), and a qa_levels.png written into ``--qa-out`` to look at. The pictures are rendered
from the data and some licences forbid derivatives (ct_abdomen_e is CC BY-NC-ND), so they are not
committed; docs/real-data.md names the command that makes them.

MR: every ``mr_lumbar_vb`` volume (sagittal lumbar MR with L1-L5 body masks) goes through the
image-only MR route (:mod:`imaging.levels.mr_sagittal`); per reference body the Dice of the found body
overlapping it most, how many reference bodies share a found body (merged), and how many bodies were
named (none may be: no anchor is recognised on MR signal).

Tissue (CT): the registered CT model's compartments on ``ct_upper_abdomen_b`` against
TotalSegmentator's ``total`` labels, for the classes those give (paraspinal = autochthon, psoas =
iliopsoas, bone), on all slices and on the slices training never saw. No real SAT, VAT or whole-muscle
reference exists in ../shared, so the issue's tissue-type target cannot be measured here: the
document says so.
"""

from __future__ import annotations

import argparse
import json
import platform
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import scipy.io

from imaging.ingest.assemble import assemble_volume
from imaging.ingest.model import Instance, Source
from imaging.levels import LevelResult, identify_levels
from imaging.levels.assign import report_dict
from imaging.outputs.qa_levels import levels_png
from imaging.segmentation.label_files.grid import labels_onto_grid
from imaging.series_facts import Modality, SeriesFacts
from imaging.volume import Volume, from_nifti

ROOT = Path(__file__).resolve().parents[1]
# ct_abdomen_e's reading (MANIFEST.md): transverse-process z of each lumbar vertebra, mm
READ_TP_Z = {"L1": 143.0, "L2": 108.0, "L3": 73.0, "L4": 45.0, "L5": 12.0}
READING_MM = 3.0


@dataclass(frozen=True)
class Outcome:
    case: str
    what: str
    expected: str
    result: str
    checks: list[tuple[str, bool]]  # (what was checked, agrees)
    wrong_names: int
    seconds: float


def _dicom(folder: Path) -> Volume:
    files = sorted(p for p in folder.iterdir() if p.is_file())
    return assemble_volume([Instance(Source(f), Source(f).read(stop_before_pixels=True)) for f in files])


def _summary(result: LevelResult) -> str:
    r = result.report
    if not r.established:
        return f"refused: {r.reason} ({len(r.vertebrae)} bodies found)"
    names = " ".join(v.name or "?" for v in r.vertebrae)
    return f"{r.anchor}, confidence {r.confidence:.2f}: {names}"


def _majority(seg: Volume, names: dict[int, str], mask: np.ndarray, volume: Volume) -> str | None:
    """The reference label most of ``mask`` (on ``volume``'s grid) falls in, by world position."""
    kji = np.argwhere(mask)
    if kji.size == 0:
        return None
    world = volume.world(kji[:: max(1, len(kji) // 5000)].astype(float))
    idx = np.rint((np.linalg.inv(seg.affine) @ np.c_[world, np.ones(len(world))].T)[:3].T).astype(int)
    inside = np.all((idx >= 0) & (idx < np.array(seg.shape)), axis=1)
    values = seg.array[tuple(idx[inside].T)]
    values = values[values > 0]
    if values.size == 0:
        return None
    uniq, counts = np.unique(values, return_counts=True)
    return names.get(int(uniq[np.argmax(counts)]))


def thicker(volume: Volume, n: int) -> Volume:
    """The series as if reconstructed with ``n`` times the slice spacing: each n consecutive slices
    averaged (in memory only: nothing derived from the data is written but the QA picture)."""
    k = (volume.shape[0] // n) * n
    array = volume.array[:k].astype(np.float32).reshape(k // n, n, *volume.shape[1:]).mean(axis=1)
    affine = volume.affine.copy()
    affine[:3, 0] *= n
    affine[:3, 3] = volume.affine[:3, 3] + volume.affine[:3, 0] * (n - 1) / 2
    return Volume(array, affine, volume.meta)


def coarser(volume: Volume, n: int) -> Volume:
    """The series on a matrix ``n`` times coarser (n x n pixel blocks averaged): 512 -> 256."""
    rows, cols = (volume.shape[1] // n) * n, (volume.shape[2] // n) * n
    array = volume.array[:, :rows, :cols].astype(np.float32)
    array = array.reshape(volume.shape[0], rows // n, n, cols // n, n).mean(axis=(2, 4))
    affine = volume.affine.copy()
    affine[:3, 1:3] *= n
    affine[:3, 3] = volume.affine[:3, 3] + (volume.affine[:3, 1] + volume.affine[:3, 2]) * (n - 1) / 2
    return Volume(array, affine, volume.meta)


# ct_abdomen_e as other acquisitions of the same patient would give it: (label, transform)
ABDOMEN_E_ACQUISITIONS: tuple[tuple[str, Callable[[Volume], Volume]], ...] = (
    ("3.2 mm slices", lambda v: thicker(v, 2)),
    ("4.8 mm slices", lambda v: thicker(v, 3)),
    ("256 matrix", lambda v: coarser(v, 2)),
    ("256 matrix, 3.2 mm slices", lambda v: thicker(coarser(v, 2), 2)),
)


def abdomen_e(real: Path, qa: Path) -> list[Outcome]:
    """The series as acquired, then as the other acquisitions (one read of the files for all)."""
    volume = _dicom(real / "ct_abdomen_e" / "dicom")
    return [
        _abdomen_e_as(volume, qa, ""),
        *(_abdomen_e_as(make(volume), qa, label) for label, make in ABDOMEN_E_ACQUISITIONS),
    ]


def _abdomen_e_as(volume: Volume, qa: Path, label: str) -> Outcome:
    name = "ct_abdomen_e" + (f" ({label})" if label else "")
    result, seconds = _identify(volume, qa, re.sub(r"[^0-9a-z.]+", "_", name.lower()).strip("_"))
    named = {v.name: v for v in result.report.vertebrae if v.name}
    checks = []
    wrong = 0
    for level, z in READ_TP_Z.items():
        body = named.get(level)
        ok = body is not None and body.z_range_mm[0] - READING_MM <= z <= body.z_range_mm[1] + READING_MM
        checks.append((f"{level} body holds the read transverse process (z {z:.0f} mm)", ok))
        wrong += int(body is not None and not ok)
    crest = result.report.iliac_crest_z_mm
    agrees = crest is not None and not any("iliac" in w for w in result.report.warnings)
    where = "not found" if crest is None else f"found at z {crest:.0f} mm"
    checks.append((f"iliac crests {where}, where the count expects them", agrees))
    what = f"the same CT averaged to {label}" if label else "contrast CT T11-L5, 1.6 mm, no sacrum"
    expected = "L1-L5 as read, or refused" if label else "T12 from the 12th rib; L1-L5 as read"
    if label and not result.report.established:
        checks = [("refused (allowed)", True)]
    return Outcome(name, what, expected, _summary(result), checks, wrong, seconds)


def chest_f(real: Path, qa: Path) -> Outcome:
    volume = _dicom(real / "ct_chest_f" / "dicom")
    result, seconds = _identify(volume, qa, "ct_chest_f")
    named = [v for v in result.report.vertebrae if v.name]
    return Outcome(
        "ct_chest_f", "lower chest T7-T11, 1 mm", "refusal (no anchor in view)", _summary(result),
        [("refused", not result.report.established)], len(named), seconds,
    )  # fmt: skip


def upper_abdomen_b(real: Path, qa: Path) -> Outcome:
    case = real / "ct_upper_abdomen_b"
    volume = _dicom(case / "dicom")
    result, seconds = _identify(volume, qa, "ct_upper_abdomen_b")
    seg = from_nifti(case / "totalsegmentator_total.nii.gz")
    names = {
        int(k): n for k, n in json.loads((case / "totalsegmentator_total.labels.json").read_text()).items()
    }
    checks = [("refused or named right", True)]
    wrong = 0
    for v in result.report.vertebrae:
        ref = _majority(seg, names, result.instances == v.index + 1, volume)
        ok = v.name is None or ref == f"vertebrae_{v.name}"
        wrong += int(not ok)
        checks.append(
            (f"body {v.index + 1}: TotalSegmentator says {ref}, finder says {v.name or 'unnamed'}", ok)
        )
    return Outcome(
        "ct_upper_abdomen_b", "20-slice contrast CT at T11-T12, 2 mm", "T11/T12 right or refused",
        _summary(result), checks, wrong, seconds,
    )  # fmt: skip


def spine_crop_g(real: Path, qa: Path) -> Outcome:
    case = real / "ct_spine_crop_g"
    volume = from_nifti(case / "sub-ct_label-22_ct.nii.gz", SeriesFacts(modality=Modality.CT))
    masks = from_nifti(case / "sub-ct_seg-vert_label-22_msk.nii.gz")
    result, seconds = _identify(volume, qa, "ct_spine_crop_g")
    source = {21: "L2", 22: "L3", 23: "L4"}
    on_grid = labels_onto_grid(masks.array, masks.affine, volume).array
    checks = []
    wrong = 0
    for v in result.report.vertebrae:
        ref = _majority(masks, source, result.instances == v.index + 1, volume)
        ok = v.name is None or v.name == ref
        wrong += int(not ok)
        inst = result.instances == v.index + 1
        truth = on_grid == next((k for k, n in source.items() if n == ref), -1)
        dice = 2 * float((inst & truth).sum()) / max(1, int(inst.sum() + truth.sum()))
        checks.append((f"body {v.index + 1} is the source's {ref}; whole-vertebra Dice {dice:.2f}", ok))
    return Outcome(
        "ct_spine_crop_g", "real L2-L4 crop, 1.5 mm, vertebra masks", "refusal (no anchor); bodies separated",
        _summary(result), checks, wrong, seconds,
    )  # fmt: skip


@dataclass(frozen=True)
class MrOutcome:
    case: str
    bodies_found: int
    dice: dict[str, float]  # reference body -> Dice of the found body overlapping it most (0: none)
    merged: int  # reference bodies whose best found body is also another's
    named: int  # found bodies given a name (no anchor is recognised on MR signal: must be 0)
    seconds: float


MR_BODIES = {1: "L1", 2: "L2", 3: "L3", 4: "L4", 5: "L5"}


def mr_lumbar_volume(path: Path) -> tuple[Volume, np.ndarray]:
    """One ``mr_lumbar_vb`` case as the sagittal series it was acquired as, and its body masks.

    The .mat arrays are (superior->inferior, anterior->posterior, left-right slices), 1 mm; the
    volume is (slice, row, column) = (x, rows inferior-going, columns posterior-going), so the finder
    sees what a sagittal DICOM series gives it. Which way the slices step in x is not recorded; it
    does not change a sagittal analysis.
    """
    mat = scipy.io.loadmat(path)
    image = np.ascontiguousarray(mat["I"].transpose(2, 0, 1), dtype=np.float32)
    masks = np.ascontiguousarray(mat["GT"].transpose(2, 0, 1))
    affine = np.eye(4)
    affine[:3, 0] = (1.0, 0.0, 0.0)
    affine[:3, 1] = (0.0, 0.0, -1.0)
    affine[:3, 2] = (0.0, 1.0, 0.0)
    return Volume(image, affine, SeriesFacts(modality=Modality.MR)), masks


def mr_lumbar(path: Path, qa: Path) -> MrOutcome:
    volume, masks = mr_lumbar_volume(path)
    name = f"mr_lumbar_vb_{path.stem}"
    result, seconds = _identify(volume, qa, name)
    inst = result.instances
    dice: dict[str, float] = {}
    best_of: dict[str, int] = {}
    for value, body in MR_BODIES.items():
        truth = masks == value
        found, counts = np.unique(inst[truth], return_counts=True)
        counts = np.where(found > 0, counts, 0)
        if counts.max(initial=0) == 0:
            dice[body] = 0.0
            continue
        best = int(found[np.argmax(counts)])
        mine = inst == best
        dice[body] = 2.0 * float((mine & truth).sum()) / float(mine.sum() + truth.sum())
        best_of[body] = best
    shared = [b for b in best_of if list(best_of.values()).count(best_of[b]) > 1]
    named = sum(v.name is not None for v in result.report.vertebrae)
    return MrOutcome(name, len(result.report.vertebrae), dice, len(shared), named, seconds)


def _identify(volume: Volume, qa: Path, name: str) -> tuple[LevelResult, float]:
    """The level finder's result and seconds; its QA picture goes to ``qa/<name>_qa_levels.png``."""
    t0 = time.perf_counter()
    result = identify_levels(volume)
    seconds = time.perf_counter() - t0
    qa.mkdir(parents=True, exist_ok=True)
    png = levels_png(volume, result.labels, report_dict(result.report))
    (qa / f"{name}_qa_levels.png").write_bytes(png)
    return result, seconds


CASES: tuple[Callable[[Path, Path], Outcome], ...] = (chest_f, upper_abdomen_b, spine_crop_g)


@dataclass(frozen=True)
class TissueOutcome:
    case: str
    model: str
    dice: dict[str, float | None]
    dice_held_out: dict[str, float | None]
    held_out: tuple[int, ...]
    n_slices: int
    organ_leak: tuple[float | None, float | None]


def tissue_upper_abdomen_b(real: Path) -> TissueOutcome:
    from segmentation_models.loading import load_registered
    from segmentation_models.registry import get_spec
    from training_data.evaluate import REAL_HELD_OUT, evaluate_real_ct

    spec = get_spec("bonemuscle-ct-tissue")
    case = real / "ct_upper_abdomen_b"
    ev = evaluate_real_ct(
        load_registered(spec), case / "dicom", case / "totalsegmentator_total.nii.gz", REAL_HELD_OUT
    )
    return TissueOutcome(
        ev.case,
        f"{spec.name} {spec.version}",
        ev.dice,
        ev.dice_held_out_slices,
        ev.held_out_slices,
        ev.n_slices,
        ev.organ_as_muscle_or_fat,
    )


@dataclass(frozen=True)
class RuleOutcome:
    """What the anatomical rules on the network's compartments changed on one real CT."""

    case: str
    slices: int
    limb_voxels: int
    outside_cage_voxels: int
    vat_voxels_after: int
    seconds: float


RULE_CASES = ("ct_upper_abdomen_b", "ct_abdomen_e", "ct_chest_f")


def rules_on_real(real: Path) -> list[RuleOutcome]:
    from imaging.segmentation.networks import segment
    from segmentation_models.inference import InferenceOptions
    from segmentation_models.loading import load_registered
    from segmentation_models.registry import get_spec

    model = load_registered(get_spec("bonemuscle-ct-tissue"))
    out = []
    for name in RULE_CASES:
        volume = _dicom(real / name / "dicom")
        t0 = time.perf_counter()
        seg = segment(volume, model, InferenceOptions(device="cpu"))
        rule = seg.meta["tissue_rule"]
        out.append(
            RuleOutcome(
                name,
                volume.shape[0],
                rule["limb_voxels_given_limb_compartments"],
                rule["visceral_fat_outside_rib_cage_reassigned_voxels"],
                int(seg.compartments.mask("visceral_fat").sum()),
                time.perf_counter() - t0,
            )
        )
    return out


def _render_rules(rules: list[RuleOutcome]) -> list[str]:
    lines = [
        "## Anatomical rules on the network's compartments (CT)",
        "",
        "Voxels each rule changed (`segmentation.tissue_rule` in results.json; README, Segmentation): "
        "visceral fat or a trunk muscle group in an arm lying apart from the trunk, and visceral fat outside "
        "the rib cage behind and beside the spine (made subcutaneous). No reference says how right each "
        "change is; the share shows how much of the network's visceral fat the rules overrode. The seconds "
        "are the whole segmentation.",
        "",
        "| case | slices | arm voxels changed | VAT outside the cage made SAT | share of the network's VAT "
        "| s |",
        "|---|---|---|---|---|---|",
    ]
    for r in rules:
        share = r.outside_cage_voxels / max(1, r.outside_cage_voxels + r.vat_voxels_after)
        cells = f"{r.limb_voxels} | {r.outside_cage_voxels} | {share:.1%} | {r.seconds:.1f}"
        lines.append(f"| {r.case} | {r.slices} | {cells} |")
    return lines


def render(
    outcomes: list[Outcome],
    mr: list[MrOutcome],
    tissue: TissueOutcome | None = None,
    rules: list[RuleOutcome] | None = None,
) -> str:
    named_wrong = sum(o.wrong_names for o in outcomes)
    lines = [
        "# Real data: how the product does on real patients",
        "",
        "Written by `scripts/evaluate_real.py` (do not edit by hand) on "
        f"{platform.processor() or platform.machine()}, Python {platform.python_version()}.",
        "Data: `../shared/data/real` (MANIFEST.md there), read in place; nothing from it is committed.",
        "QA pictures: `.venv/bin/python scripts/evaluate_real.py --qa-out real-qa` writes",
        "`real-qa/<case>_qa_levels.png` (not committed: some licences forbid derivatives).",
        "",
        "## Vertebral levels (CT)",
        "",
        f"**Wrongly named vertebrae: {named_wrong}** over {len(outcomes)} real CT series "
        "(the target is zero; a refusal is allowed): the 4 real cases, and ct_abdomen_e again as other "
        "acquisitions would give it (slices averaged to 3.2 and 4.8 mm, pixels to a 256 matrix; made in "
        "memory).",
        "",
        "| case | what | expected | result | checks | s |",
        "|---|---|---|---|---|---|",
    ]
    for o in outcomes:
        checks = "<br>".join(f"{'yes' if ok else '**no**'}: {what}" for what, ok in o.checks)
        lines.append(f"| {o.case} | {o.what} | {o.expected} | {o.result} | {checks} | {o.seconds:.1f} |")
    lines += ["", *_render_mr(mr)] if mr else []
    lines += ["", *_render_tissue(tissue)] if tissue else []
    lines += ["", *_render_rules(rules)] if rules else []
    lines += [
        "",
        "## Not measurable here (issue 13)",
        "",
        "- Skeletal muscle and SAT Dice against TotalSegmentator's tissue types on real CT (the issue's "
        "target, at least 0.90 each): ../shared holds no real CT with tissue-type labels. The kept-back "
        "real CTs the team measures on are where that figure comes from.",
        "",
    ]
    return "\n".join(lines)


def _render_tissue(t: TissueOutcome) -> list[str]:
    def cell(v: float | None) -> str:
        return "n/a" if v is None else f"{v:.3f}"

    held = f"slices {t.held_out[0]}-{t.held_out[-1]}" if t.held_out else "none"
    lines = [
        "## Tissue compartments (CT)",
        "",
        f"`{t.case}` ({t.n_slices} slices, T11-T12) through `{t.model}` against TotalSegmentator's `total` "
        "labels, for the classes they give. The model was trained on part of this case; the held-out "
        f"columns are the slices it never saw ({held}). One case at T11-T12: a sanity check, not a "
        "validation at L3.",
        "",
        "| class | Dice, all slices | Dice, held-out slices |",
        "|---|---|---|",
    ]
    for name in t.dice:
        lines.append(f"| {name} | {cell(t.dice[name])} | {cell(t.dice_held_out.get(name))} |")
    lines.append(
        f"| organs, vessels and lung taken for muscle or fat (share of their voxels; lower is better) | "
        f"{cell(t.organ_leak[0])} | {cell(t.organ_leak[1])} |"
    )
    return lines


def _render_mr(mr: list[MrOutcome]) -> list[str]:
    all_dice = np.array([[o.dice[b] for b in MR_BODIES.values()] for o in mr])
    per_body = ", ".join(f"{b} {np.median(all_dice[:, i]):.2f}" for i, b in enumerate(MR_BODIES.values()))
    lines = [
        "## Vertebral bodies (MR, sagittal, no bone mask)",
        "",
        f"`mr_lumbar_vb`: {len(mr)} real sagittal lumbar MR volumes (3 T water-fat MRI, 8-bit, 1 mm) with "
        "L1-L5 body masks, through the image-only MR route (`imaging/levels/mr_sagittal.py`).",
        "",
        f"- **Names given: {sum(o.named for o in mr)}** (no anchor is recognised on MR signal, so every "
        "body must stay unnamed).",
        f"- Body Dice, median over the volumes: {per_body}; over all {all_dice.size} bodies: median "
        f"{np.median(all_dice):.2f}, mean {all_dice.mean():.2f}, at least 0.7 in "
        f"{int((all_dice >= 0.7).sum())}, under 0.5 in {int((all_dice < 0.5).sum())}.",
        f"- Reference bodies sharing a found body with a neighbour (merged): {sum(o.merged for o in mr)}.",
        "",
        "| volume | bodies found | L1 | L2 | L3 | L4 | L5 | merged | named | s |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for o in mr:
        cells = " | ".join(f"{o.dice[b]:.2f}" for b in MR_BODIES.values())
        lines.append(f"| {o.case} | {o.bodies_found} | {cells} | {o.merged} | {o.named} | {o.seconds:.1f} |")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=ROOT.parent / "shared")
    parser.add_argument("--qa-out", type=Path, default=ROOT / "real-qa")
    parser.add_argument("--doc", type=Path, default=ROOT / "docs" / "real-data.md")
    args = parser.parse_args()
    real = args.shared / "data" / "real"
    if not real.is_dir():
        raise SystemExit(f"{real}: not found; the real cases live in ../shared/data/real")
    outcomes = [*abdomen_e(real, args.qa_out), *(case(real, args.qa_out) for case in CASES)]
    mr = [mr_lumbar(p, args.qa_out) for p in sorted((real / "mr_lumbar_vb").glob("*.mat"))]
    tissue = tissue_upper_abdomen_b(real)
    rules = rules_on_real(real)
    args.doc.write_text(render(outcomes, mr, tissue, rules))
    for o in outcomes:
        print(f"{o.case}: {o.result}; wrong names {o.wrong_names}")
    for m in mr:
        dice = [round(d, 2) for d in m.dice.values()]
        print(f"{m.case}: {m.bodies_found} bodies, Dice {dice}, named {m.named}")
    print(f"wrote {args.doc} and QA pictures in {args.qa_out}")


if __name__ == "__main__":
    main()
