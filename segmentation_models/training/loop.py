"""The training loop: seeded sampling, MONAI augmentation, set-label Dice+CE, AMP on CUDA, checkpoints.

Determinism: iteration ``i`` draws its cases, slices and augmentation from generators seeded with
``(seed, i)``, so a run resumed from a checkpoint replays the same batches as an uninterrupted run
(bit-identical on CPU up to PyTorch kernel non-determinism). Checkpoints hold network, optimiser,
scheduler and AMP scaler state and the iteration count; ``resume=True`` continues from the newest.

The loop stops at ``iterations`` (or ``stop_after``, to split a run over sessions) or when
``max_minutes`` of wall time have passed (the schedule is
then cut short, which the result records), whichever comes first.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from segmentation_models.registry import ModelSpec
from segmentation_models.training.case import Case
from segmentation_models.training.losses import SetDiceCELoss
from segmentation_models.training.transforms import (
    AugmentConfig,
    pad_to_multiple,
    slab,
    training_transform,
)

CHECKPOINT = "checkpoint.pt"


@dataclass(frozen=True)
class TrainConfig:
    """Optimisation settings; ``device`` "auto" uses CUDA (with AMP when ``amp``) when available."""

    iterations: int = 2000
    batch_size: int = 8
    lr: float = 2e-3
    weight_decay: float = 1e-4
    warmup: int = 50
    seed: int = 0
    device: str = "auto"
    amp: bool = True
    threads: int | None = None
    checkpoint_every: int = 100
    validate_every: int = 0  # 0: only at the end
    max_minutes: float | None = None
    stop_after: int | None = None  # stop (with a checkpoint) here; the schedule still plans `iterations`
    lambda_dice: float = 1.0
    lambda_ce: float = 1.0
    augment: AugmentConfig = field(default_factory=AugmentConfig)

    def __post_init__(self) -> None:
        if self.iterations < 1 or self.batch_size < 1:
            raise ValueError(
                f"iterations and batch_size must be >= 1, got {self.iterations}, {self.batch_size}"
            )


@dataclass(frozen=True)
class TrainResult:
    """What a run did: the trained network (CPU, eval mode) and the facts a model card needs."""

    network: Any
    iterations_done: int
    stopped_early: bool
    wall_s: float
    device: str
    losses: list[float]
    validation: dict[str, float]
    resumed_from: int | None


class SliceSampler:
    """Draws (case, centre slice) pairs, weighting sources as asked (e.g. user cases vs phantoms)."""

    def __init__(self, cases: Sequence[Case], weights: Sequence[float] | None = None) -> None:
        usable = [i for i, c in enumerate(cases) if c.train_slices]
        if not usable:
            raise ValueError("no case has a labelled slice to train on")
        w = np.array([1.0 if weights is None else float(weights[i]) for i in usable])
        self.cases, self.usable, self.p = cases, usable, w / w.sum()

    def draw(self, rng: np.random.Generator, n: int) -> list[tuple[int, int]]:
        picks = rng.choice(self.usable, size=n, p=self.p)
        return [(int(i), int(rng.choice(self.cases[i].train_slices))) for i in picks]


def train(
    spec: ModelSpec,
    cases: Sequence[Case],
    config: TrainConfig,
    work_dir: Path,
    *,
    val_cases: Sequence[Case] = (),
    case_weights: Sequence[float] | None = None,
    initial_state: dict | None = None,
    resume: bool = False,
    log: Callable[[str], None] = print,
) -> TrainResult:
    """Train ``spec``'s network on ``cases``; checkpoints go to ``work_dir``.

    ``initial_state`` is a state dict to start from (fine-tuning). Raises ValueError on unusable data.
    """
    import torch

    from segmentation_models.inference import pick_device
    from segmentation_models.networks import build_network

    if config.threads:
        torch.set_num_threads(config.threads)
    device = pick_device(config.device)
    use_amp = config.amp and device.type == "cuda"
    torch.manual_seed(config.seed)
    network = build_network(spec)
    if initial_state is not None:
        network.load_state_dict({k: v.float() for k, v in initial_state.items()})
    network.to(device)
    opt = torch.optim.AdamW(network.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, _schedule(config))
    scaler = torch.amp.GradScaler("cuda", enabled=use_amp)
    loss_fn = SetDiceCELoss(spec.out_channels, config.lambda_dice, config.lambda_ce)
    images = [spec.normalisation.apply(c.image) for c in cases]
    sampler = SliceSampler(cases, case_weights)
    transform = training_transform(config.augment)
    work_dir = Path(work_dir)
    work_dir.mkdir(parents=True, exist_ok=True)
    start, resumed_from = 0, None
    if resume and (work_dir / CHECKPOINT).is_file():
        ck = torch.load(work_dir / CHECKPOINT, map_location=device, weights_only=True)
        network.load_state_dict(ck["network"])
        opt.load_state_dict(ck["optimizer"])
        sched.load_state_dict(ck["scheduler"])
        scaler.load_state_dict(ck["scaler"])
        start = resumed_from = int(ck["iteration"])
        log(f"resumed from iteration {start}")
    t0 = time.monotonic()
    losses: list[float] = []
    validation: dict[str, float] = {}
    autocast = (lambda: torch.autocast("cuda", dtype=torch.float16)) if use_amp else contextlib.nullcontext
    it = start
    stopped = False
    end = config.iterations if config.stop_after is None else min(config.iterations, config.stop_after)
    while it < end:
        if config.max_minutes is not None and time.monotonic() - t0 > 60.0 * config.max_minutes:
            stopped = True
            log(f"time budget of {config.max_minutes} min reached at iteration {it}")
            break
        network.train()
        x, y = _batch(it, config, spec, cases, images, sampler, transform)
        x, y = x.to(device), y.to(device)
        opt.zero_grad(set_to_none=True)
        with autocast():
            logits = network(x)
            if isinstance(logits, list | tuple):  # DynUNet deep supervision off: plain tensor
                logits = logits[0]
        loss = loss_fn(logits, y)
        scaler.scale(loss).backward()
        scaler.step(opt)
        scaler.update()
        sched.step()
        losses.append(float(loss.detach()))
        it += 1
        if it % 10 == 0:
            log(
                f"iter {it}/{config.iterations} loss {np.mean(losses[-10:]):.4f} "
                f"lr {sched.get_last_lr()[0]:.2e}"
            )
        if config.checkpoint_every and it % config.checkpoint_every == 0:
            _save(work_dir, network, opt, sched, scaler, it, config)
        if config.validate_every and it % config.validate_every == 0 and val_cases:
            validation = validate(network, spec, val_cases, device)
            log(f"validation at {it}: " + ", ".join(f"{k} {v:.3f}" for k, v in validation.items()))
    _save(work_dir, network, opt, sched, scaler, it, config)
    if val_cases:
        validation = validate(network, spec, val_cases, device)
        log("final validation: " + ", ".join(f"{k} {v:.3f}" for k, v in validation.items()))
    network.to("cpu").eval()
    return TrainResult(
        network, it, stopped, time.monotonic() - t0, str(device), losses, validation, resumed_from
    )


def validate(network: Any, spec: ModelSpec, cases: Sequence[Case], device: Any) -> dict[str, float]:
    """Pooled compartment Dice per class over every slice of ``cases`` (certain voxels only)."""
    import torch

    from segmentation_models.training.case import set_dice_counts

    n = spec.out_channels
    inter, total = np.zeros(n), np.zeros(n)
    network.eval()
    with torch.inference_mode():
        for case in cases:
            image = spec.normalisation.apply(case.image)
            for k in range(case.image.shape[0]):
                x, y = slab(image, case.target, k, spec.context_slices)
                xp, (rows, cols) = pad_to_multiple(x, 16)
                logits = network(torch.from_numpy(xp)[None].to(device))
                pred = logits[0].argmax(0).cpu().numpy()[:rows, :cols]
                i, t = set_dice_counts(pred, y[0], n)
                inter += i
                total += t
    names = dict(spec.heads[0].classes)
    return {f"dice_{names[c]}": float(2 * inter[c] / total[c]) for c in range(1, n) if total[c] > 0}


def _batch(
    it: int,
    config: TrainConfig,
    spec: ModelSpec,
    cases: Sequence[Case],
    images: Sequence[np.ndarray],
    sampler: SliceSampler,
    transform: Any,
) -> tuple[Any, Any]:
    import torch

    rng = np.random.default_rng([config.seed, it])
    transform.set_random_state(seed=int(rng.integers(0, 2**31 - 1)))
    xs, ys = [], []
    for ci, k in sampler.draw(rng, config.batch_size):
        x, y = slab(images[ci], cases[ci].target, k, spec.context_slices)
        out = transform({"image": x, "label": y.astype(np.float32)})
        xs.append(torch.as_tensor(np.asarray(out["image"]), dtype=torch.float32))
        ys.append(torch.as_tensor(np.rint(np.asarray(out["label"])), dtype=torch.int64))
    return torch.stack(xs), torch.stack(ys)


def _schedule(config: TrainConfig) -> Callable[[int], float]:
    """Linear warm-up, then cosine decay to 2 % of the base rate at ``iterations``."""

    def factor(step: int) -> float:
        if step < config.warmup:
            return (step + 1) / config.warmup
        frac = min(1.0, (step - config.warmup) / max(1, config.iterations - config.warmup))
        return float(0.02 + 0.98 * 0.5 * (1.0 + np.cos(np.pi * frac)))

    return factor


def _save(
    work_dir: Path, network: Any, opt: Any, sched: Any, scaler: Any, it: int, config: TrainConfig
) -> None:
    import torch

    tmp = work_dir / (CHECKPOINT + ".tmp")
    torch.save(
        {
            "network": network.state_dict(),
            "optimizer": opt.state_dict(),
            "scheduler": sched.state_dict(),
            "scaler": scaler.state_dict(),
            "iteration": it,
            "config": {k: v for k, v in asdict(config).items() if k != "augment"},
        },
        tmp,
    )
    tmp.replace(work_dir / CHECKPOINT)
