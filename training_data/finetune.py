"""One-command fine-tuning on a department's own labelled cases.

Folder layout (one sub-folder per case)::

    CASES/
      case01/            DICOM files of one series, and its labels: either
        IM0001.dcm ...   - one NIfTI (``*.nii.gz``/``*.nii``, with ``*.labels.json`` or contract names),
        labels.nii.gz    - one DICOM SEG (a DICOM file whose Modality is SEG), or
        IM0042.dcm.tag   - Slice-O-Matic ``.tag`` files beside the slices they annotate
      case02/ ...

Labels are read by :mod:`imaging.segmentation.label_files` (placed by world coordinates) and turned
into allowed-class targets (:mod:`.targets`): compartment names train their class, windowed tissue
labels (the usual manual L3 .tag) train "some muscle group" / SAT / VAT, unlabelled slices train
nothing. Training starts from a registered model, mixes in cached phantom slices
(``phantom_share``) so the classes a site does not label are not forgotten, and registers the result
(weights, model.json, card) in the output folder.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from segmentation_models.registry import ModelSpec
from segmentation_models.training.case import Case, read_case
from training_data import data


@dataclass(frozen=True)
class UserCase:
    name: str
    series_dir: Path
    labels: tuple[Path, ...]


@dataclass(frozen=True)
class FinetuneOptions:
    base: str = "bonemuscle-ct-tissue"
    name: str | None = None
    iterations: int = 200
    batch_size: int = 8
    lr: float = 5e-4
    crop: int = 192
    device: str = "auto"
    threads: int | None = None
    max_minutes: float | None = None
    seed: int = 0
    phantom_share: float = 0.3
    phantom_cache: Path | None = None
    resume: bool = False
    registry_root: Path | None = None

    def __post_init__(self) -> None:
        if not 0.0 <= self.phantom_share < 1.0:
            raise ValueError(f"phantom_share must be in [0, 1), got {self.phantom_share}")


def find_user_cases(folder: Path) -> list[UserCase]:
    """Every sub-folder with a label file; one case per sub-folder.

    Raises:
        ValueError: no case found, or a case with several non-.tag label files (ambiguous).
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise ValueError(f"{folder}: not a folder of cases")
    cases = []
    for sub in sorted(p for p in folder.iterdir() if p.is_dir()):
        tags = sorted(sub.rglob("*.tag"))
        others = sorted(p for p in sub.rglob("*.nii*") if not p.name.endswith(".json")) + _seg_files(sub)
        if len(others) > 1:
            raise ValueError(f"{sub}: several label files {[p.name for p in others]}; keep one per case")
        labels = tuple(others) + tuple(tags)
        if labels:
            cases.append(UserCase(sub.name, sub, labels))
    if not cases:
        raise ValueError(
            f"{folder}: no case sub-folder holds a label file "
            "(.nii/.nii.gz, DICOM SEG or .tag beside its slice)"
        )
    return cases


def user_case(case: UserCase, pixel_mm: float) -> Case:
    """Read one user case onto the model grid; several .tag files are merged slice by slice."""
    volume = data.read_dicom_series(case.series_dir)
    parts = [data.labelled_case(case.name, volume, p, pixel_mm, "user") for p in case.labels]
    target = parts[0].target.copy()
    for part in parts[1:]:
        known = part.target != 0
        target[known] = part.target[known]
    slices = tuple(sorted({k for p in parts for k in p.train_slices}))
    return replace(parts[0], target=target, train_slices=slices)


def finetune(cases_dir: Path, out_dir: Path, options: FinetuneOptions, command: str = "") -> ModelSpec:
    """Fine-tune ``options.base`` on the cases in ``cases_dir`` and register it in ``out_dir``.

    Raises:
        ValueError: no usable case (the message says what is missing).
    """
    from segmentation_models.loading import load_registered
    from segmentation_models.registry import get_spec
    from segmentation_models.training import register
    from segmentation_models.training.loop import TrainConfig, train
    from segmentation_models.training.transforms import AugmentConfig

    base = load_registered(get_spec(options.base, options.registry_root))
    spec = base.spec
    found = find_user_cases(cases_dir)
    cases = [user_case(c, spec.spacing.row_mm) for c in found]
    if not any(c.train_slices for c in cases):
        raise ValueError(f"{cases_dir}: the label files label no slice of their series")
    weights = [1.0] * len(cases)
    phantoms = _cached_phantoms(options.phantom_cache, spec) if options.phantom_share > 0 else []
    if phantoms:
        share = options.phantom_share
        weights += [share * len(cases) / ((1 - share) * len(phantoms))] * len(phantoms)
    config = TrainConfig(
        iterations=options.iterations,
        batch_size=options.batch_size,
        lr=options.lr,
        warmup=min(20, options.iterations),
        seed=options.seed,
        device=options.device,
        threads=options.threads,
        max_minutes=options.max_minutes,
        augment=AugmentConfig(crop=options.crop),
    )
    out_dir = Path(out_dir)
    result = train(
        spec,
        cases + phantoms,
        config,
        out_dir / "checkpoints",
        case_weights=weights,
        initial_state=base.network.state_dict(),
        resume=options.resume,
    )
    name = options.name or out_dir.name
    new_spec = replace(spec, name=name, version=f"{spec.version}+finetuned", weights_file="model.pt")
    slices = sum(len(c.train_slices) for c in cases)
    facts = register.RunFacts(
        command=command or "finetune()",
        hardware=register.hardware_description(result.device),
        wall_s=result.wall_s,
        iterations=result.iterations_done,
        stopped_early=result.stopped_early,
        data=(
            f"fine-tuned from {spec.name} {spec.version} (sha256 {base.weights_sha256}) on {len(cases)} "
            f"user case(s) from {cases_dir} ({slices} labelled slices: "
            + ", ".join(f"{c.name} [{len(c.train_slices)}]" for c in cases)
            + f"), plus {len(phantoms)} cached phantom cases at {options.phantom_share:.0%} of samples."
        ),
        intended_use=f"Site-specific fine-tune of {spec.name}.",
        limitations=(
            "No held-out evaluation was run by the fine-tune itself: measure it on cases kept apart.",
        ),
    )
    return register.register(result.network, new_spec, out_dir, facts)


def _cached_phantoms(cache: Path | None, spec: ModelSpec) -> list[Case]:
    if cache is None:
        return []
    folder = Path(cache) / f"{spec.modality.lower()}-{spec.spacing.row_mm:g}mm"
    return [read_case(p) for p in sorted(folder.glob(f"*-phantom-v{data.DATA_VERSION}-0*.npz"))[:64]]


def _seg_files(folder: Path) -> list[Path]:
    import pydicom

    out = []
    for p in sorted(folder.rglob("*")):
        if not p.is_file() or p.suffix.lower() in (".tag", ".json", ".gz", ".nii"):
            continue
        try:
            ds = pydicom.dcmread(p, stop_before_pixels=True, specific_tags=["Modality"])
        except Exception:  # not DICOM
            continue
        if getattr(ds, "Modality", None) == "SEG":
            out.append(p)
    return out


__all__ = ["FinetuneOptions", "UserCase", "find_user_cases", "finetune", "user_case"]
