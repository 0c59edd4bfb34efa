"""Running a loaded network on an image and returning each head's labels on the *input* grid.

Geometry is never touched: the series is resampled to the model's spacing along its own axes (no
reorientation, so oblique and flipped series stay as they are), the network runs with MONAI's
sliding-window inferer, and each head's class probabilities go back to the original grid by linear
interpolation, where the argmax is taken (sub-voxel boundaries). Both resamplings use the same
corner-aligned index mapping, so a voxel returns to exactly the world position it came from.
Output arrays have the input image's shape and share its affine. Turning heads into the contract's
Segmentation is the segmentation stage's job (:mod:`imaging.segmentation.networks`).

Determinism: deterministic algorithms are requested for the duration of the call (and the previous
setting restored), cuDNN autotuning is off, there is no random test-time augmentation. Mixed
precision is used only on CUDA. The network is passed in, so tests can run a stub.
"""

from __future__ import annotations

import contextlib
import copy
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from typing import Any, Protocol, cast

import numpy as np
from scipy import ndimage

from segmentation_models.class_schema import HeadKind
from segmentation_models.loading import LoadedModel
from segmentation_models.networks import size_divisor
from segmentation_models.registry import AxisOrder, ModelSpec, NormKind, SpatialDims

SAME_SPACING_RTOL = 1e-3  # spacings this close are not resampled at all
MAX_WINDOW = 512  # model pixels per side: slices up to 768 mm at 1.5 mm run as one window
BODY_MARGIN_PX = 32  # model pixels of air kept around the body (48 mm at 1.5 mm)
BACKGROUND_LOGIT = 30.0  # outside the body box: background with probability 1 - 1e-12


@dataclass(frozen=True)
class InferenceOptions:
    """How to run: device ("auto" picks CUDA when available), batch of slices/patches, AMP on CUDA."""

    device: str = "auto"
    batch_size: int = 8
    amp: bool = True
    overlap: float = 0.25
    keep_probabilities: bool = False

    def __post_init__(self) -> None:
        if self.device not in ("auto", "cpu", "cuda") and not self.device.startswith("cuda:"):
            raise ValueError(f"device must be auto, cpu or cuda, got {self.device!r}")
        if self.batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {self.batch_size}")
        if not 0.0 <= self.overlap < 1.0:
            raise ValueError(f"overlap must be in [0, 1), got {self.overlap}")

    def on_device(self) -> InferenceOptions:
        """These options with the device decided ("auto" becomes "cuda" or "cpu") and AMP on only where
        it runs (CUDA): the one place both are decided; already-decided options come back unchanged.

        Raises:
            RuntimeError: CUDA was asked for and PyTorch sees none.
        """
        device = str(pick_device(self.device))
        return replace(self, device=device, amp=self.amp and device.startswith("cuda"))


@dataclass(frozen=True)
class HeadOutput:
    """One head's labels on the input grid, its class table (value -> name), optional probabilities."""

    kind: HeadKind
    labels: np.ndarray
    classes: dict[int, str]
    probabilities: dict[str, np.ndarray] | None = None


class Image(Protocol):
    """What inference reads of a volume (``imaging.volume.Volume`` is one): voxels and their spacing.

    A protocol, so the networks library needs nothing from the stages that use it.
    """

    @property
    def array(self) -> np.ndarray: ...

    @property
    def spacing_kji(self) -> np.ndarray: ...


def pick_device(device: str) -> Any:
    """torch.device for "auto"/"cpu"/"cuda[:n]"; asking for CUDA without one is an error, not a fallback."""
    import torch

    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise RuntimeError(
            "--device cuda was requested but PyTorch sees no CUDA device; use --device cpu or auto"
        )
    return torch.device(device)


def model_scale(volume: Image, spec: ModelSpec) -> np.ndarray:
    """Target/source spacing ratio along (slice, row, column); 1.0 where the axis is kept."""
    src = volume.spacing_kji
    target = [spec.spacing.slice_mm, spec.spacing.row_mm, spec.spacing.column_mm]
    if spec.spatial_dims is not SpatialDims.THREE_D and spec.spatial_dims is not SpatialDims.TWO_HALF_D:
        target[0] = None  # a 2-D model never resamples across slices
    scale = np.array([1.0 if t is None else float(t) / float(s) for t, s in zip(target, src, strict=True)])
    scale[np.abs(scale - 1.0) < SAME_SPACING_RTOL] = 1.0
    return scale


def to_model_grid(array: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """Linear resampling along the array's own axes; model index t samples source index (t+½)·scale−½."""
    if np.all(scale == 1.0):
        return array.astype(np.float32, copy=False)
    shape = tuple(max(1, round(n / s)) for n, s in zip(array.shape, scale, strict=True))
    return ndimage.affine_transform(
        array.astype(np.float32, copy=False),
        scale,
        offset=0.5 * scale - 0.5,
        output_shape=shape,
        order=1,
        mode="nearest",
    )


def labels_to_input_grid(labels: np.ndarray, shape: tuple[int, ...], scale: np.ndarray) -> np.ndarray:
    """Nearest-neighbour inverse of :func:`to_model_grid`: input s takes model index round((s+½)/scale−½)."""
    index = [
        np.clip(np.floor((np.arange(n) + 0.5) / s).astype(np.intp), 0, m - 1)
        for n, s, m in zip(shape, scale, labels.shape, strict=True)
    ]
    return labels[np.ix_(*index)]


def probabilities_to_input_grid(prob: np.ndarray, shape: tuple[int, ...], scale: np.ndarray) -> np.ndarray:
    """Linear inverse mapping for a probability channel (float16 result)."""
    if np.all(scale == 1.0):
        return prob.astype(np.float16)
    inv = 1.0 / scale
    out = ndimage.affine_transform(
        prob.astype(np.float32), inv, offset=0.5 * inv - 0.5, output_shape=shape, order=1, mode="nearest"
    )
    return out.astype(np.float16)


@contextlib.contextmanager
def deterministic() -> Iterator[None]:
    """Request deterministic kernels for the duration of a call, then restore the caller's settings."""
    import torch

    was_det = torch.are_deterministic_algorithms_enabled()
    was_warn = torch.is_deterministic_algorithms_warn_only_enabled()
    was_bench = torch.backends.cudnn.benchmark
    torch.use_deterministic_algorithms(True, warn_only=True)
    torch.backends.cudnn.benchmark = False
    try:
        yield
    finally:
        torch.use_deterministic_algorithms(was_det, warn_only=was_warn)
        torch.backends.cudnn.benchmark = was_bench


class Predictor:
    """One network made ready to run on one device; the per-batch maths shared by every caller.

    The network is copied (the loaded model is left as it is), put in eval mode, batch norm is folded
    into the preceding convolutions where the architecture is known, and 2-D networks run on
    channels-last tensors (oneDNN and cuDNN convolutions are about twice as fast on NHWC). Both
    change nothing but rounding. :func:`run_heads` and the batch runner's cross-study loop use the
    same instance methods, so a slice's labels do not depend on which path produced them.
    """

    def __init__(self, model: LoadedModel, options: InferenceOptions) -> None:
        import torch

        self.spec = model.spec
        self.options = options.on_device()
        self.device = torch.device(self.options.device)
        self.amp = self.options.amp
        network = fold_batch_norm(copy.deepcopy(model.network).eval(), self.spec).to(self.device)
        if self.spec.spatial_dims is not SpatialDims.THREE_D:
            network = network.to(memory_format=torch.channels_last)
        self.network = network
        self._call = _axis_adapter(network, self.spec)
        # each head's channel 0 is its background: outside the body box it holds BACKGROUND_LOGIT
        self._background = np.cumsum([0] + [h.n_channels for h in self.spec.heads])[:-1]

    def logits(self, batch: Any, box: tuple[slice, slice] | None = None) -> Any:
        """Logits for (B, channels, ...) on the model grid: windows per :func:`window_size`.

        ``box`` is the unit's body box (:func:`unit_box`): the network runs on it only, and outside it
        every head says background with certainty. The box belongs to the unit, not to the batch, so
        a slice's labels do not depend on which slices share its batch.
        """
        if box is None:
            return self.window(batch)
        return self.paste(self.window(crop(batch, box)), box, batch.shape[2:])

    def paste(self, logits: Any, box: tuple[slice, slice], plane: Sequence[int]) -> Any:
        """Logits of a box put back on the full (rows, columns) plane; background outside."""
        import torch

        out = torch.zeros((logits.shape[0], self.spec.out_channels, *plane), device=logits.device)
        out[:, self._background] = BACKGROUND_LOGIT
        if box[0].stop > box[0].start and box[1].stop > box[1].start:
            out[(slice(None), slice(None), *box)] = logits.float()
        return out

    def window(self, batch: Any) -> Any:
        """The network over the whole (B, channels, ...) batch in sliding windows (no body box)."""
        import torch
        from monai.inferers import sliding_window_inference

        autocast = torch.autocast("cuda", dtype=torch.float16) if self.amp else contextlib.nullcontext()
        with autocast:
            out = cast(  # one tensor in, one tensor out
                torch.Tensor,
                sliding_window_inference(
                    batch,
                    list(window_size(self.spec, batch.shape[2:])),
                    self.options.batch_size,
                    self._call,
                    overlap=self.options.overlap,
                    mode="gaussian",
                ),
            )
        if out.shape[1] != self.spec.out_channels:
            raise RuntimeError(
                f"model {self.spec.name!r} produced {out.shape[1]} channels; "
                f"its spec declares {self.spec.out_channels}"
            )
        return out

    def head_probabilities(self, logits: Any) -> list[Any]:
        """Softmax per head: a list of (B, classes, ...) float32 tensors on the model grid."""
        import torch

        edges = np.cumsum([0] + [h.n_channels for h in self.spec.heads])
        return [
            torch.softmax(logits[:, edges[i] : edges[i + 1]].float(), dim=1)
            for i in range(len(self.spec.heads))
        ]


def labels_of(probabilities: Any) -> np.ndarray:
    """uint8 class index per voxel of (B, C, ...) probabilities.

    ``max().indices`` rather than ``argmax()``: the same first-maximum rule, several times faster on
    CPU for channel-first tensors.
    """
    return _to_numpy(probabilities.max(dim=1).indices).astype(np.uint8)


def fold_batch_norm(network: Any, spec: ModelSpec) -> Any:
    """Fold eval-mode batch norm into the convolution before it, in place, for DynUNet blocks.

    In every DynUNet block ``normN`` is applied directly to ``convN``'s output (MONAI's
    UnetBasicBlock/UnetResBlock), so the pair is one affine convolution at inference: a fifth of the
    CPU time saved. Other architectures are returned unchanged.
    """
    import torch
    from torch.nn.utils.fusion import fuse_conv_bn_eval

    if spec.architecture != "DynUNet":
        return network
    norms = (torch.nn.BatchNorm2d, torch.nn.BatchNorm3d)
    convs = (torch.nn.Conv2d, torch.nn.Conv3d)
    for block in network.modules():
        for k in (1, 2, 3):
            wrapper, norm = getattr(block, f"conv{k}", None), getattr(block, f"norm{k}", None)
            conv = getattr(wrapper, "conv", None)
            if (
                wrapper is not None
                and isinstance(norm, norms)
                and isinstance(conv, convs)
                and not norm.training
            ):
                wrapper.conv = fuse_conv_bn_eval(conv, norm)
                setattr(block, f"norm{k}", torch.nn.Identity())
    return network


def run_heads(volume: Image, model: LoadedModel, options: InferenceOptions) -> list[HeadOutput]:
    """Normalise, resample, infer every head of one model; labels and probabilities on the input grid.

    Class probabilities (not labels) go back to the input grid with linear interpolation and the
    argmax is taken there, so boundaries fall between model voxels where the probabilities cross
    (sub-voxel accurate areas) instead of on the model grid's coarser steps. Models that keep the
    slice axis (2-D/2.5-D) are mapped back batch by batch in-plane; others through a float16
    probability volume on the model grid.
    """
    import torch

    spec = model.spec
    shape = volume.array.shape
    predictor = Predictor(model, options)
    scale = model_scale(volume, spec)
    x = to_model_grid(spec.normalisation.apply(volume.array), scale)
    heads = spec.heads
    in_plane = scale[0] == 1.0
    labels = [np.zeros(shape, dtype=np.uint8) for _ in heads]
    probs: list[np.ndarray | None] = [
        np.zeros((h.n_channels, *shape), dtype=np.float16) if options.keep_probabilities else None
        for h in heads
    ]
    on_model: list[np.ndarray | None] = [
        None if in_plane else np.zeros((h.n_channels, *x.shape), dtype=np.float16) for h in heads
    ]
    with deterministic(), torch.inference_mode():
        for region, logits in _infer(x, predictor):
            for i, p in enumerate(predictor.head_probabilities(logits)):
                grid, kept = on_model[i], probs[i]
                if grid is not None:  # resampled across slices: back to the input grid below
                    grid[(slice(None), *region)] = np.moveaxis(_to_numpy(p), 1, 0).astype(np.float16)
                    continue
                up = upsample_in_plane(p, shape[1:], scale[1:])
                labels[i][region] = labels_of(up)
                if kept is not None:
                    kept[(slice(None), *region)] = np.moveaxis(_to_numpy(up), 1, 0).astype(np.float16)
    out = []
    for i, head in enumerate(heads):
        grid = on_model[i]
        if grid is not None:
            back = np.stack([probabilities_to_input_grid(c, shape, scale) for c in grid])
            labels[i] = np.argmax(back, axis=0).astype(np.uint8)
            if probs[i] is not None:
                probs[i] = back
        kept = probs[i]
        named = None if kept is None else {name: kept[c] for c, name in head.classes.items()}
        out.append(HeadOutput(head.kind, labels[i], dict(head.classes), named))
    return out


def upsample_in_plane(prob: Any, shape: Sequence[int], scale: np.ndarray) -> Any:
    """Bilinear (B, C, h, w) -> (B, C, rows, cols) with the corner-aligned mapping of
    :func:`to_model_grid` inverted: input pixel s samples model coordinate (s+½)/scale−½, edges clamped."""
    import torch.nn.functional as F

    rows, cols = (int(n) for n in shape)
    if np.all(scale == 1.0) and tuple(prob.shape[-2:]) == (rows, cols):
        return prob
    up = F.interpolate(
        prob,
        scale_factor=(float(scale[0]), float(scale[1])),
        mode="bilinear",
        align_corners=False,
        recompute_scale_factor=False,
    )
    dr, dc = rows - up.shape[-2], cols - up.shape[-1]
    if dr > 0 or dc > 0:  # floor() of the output size fell one short: repeat the edge
        up = F.pad(up, (0, max(dc, 0), 0, max(dr, 0)), mode="replicate")
    return up[..., :rows, :cols]


def _infer(x: np.ndarray, predictor: Predictor) -> Iterator[tuple[tuple[slice, ...], Any]]:
    """Yield (model-grid region, logits) for batches of slices (2-D/2.5-D) or the whole volume (3-D)."""
    import torch

    spec, device, batch_size = predictor.spec, predictor.device, predictor.options.batch_size
    if spec.spatial_dims is SpatialDims.THREE_D:
        logits = predictor.logits(torch.from_numpy(np.ascontiguousarray(x))[None, None].to(device))
        yield (slice(None),), logits[0].transpose(0, 1)  # (D, C, H, W): the volume as a batch of slices
        return
    box = unit_box(x, spec)
    for start in range(0, x.shape[0], batch_size):
        ks = np.arange(start, min(x.shape[0], start + batch_size))
        batch = torch.from_numpy(context_stack(x, ks, spec.context_slices)).to(device)
        yield (slice(int(ks[0]), int(ks[-1]) + 1),), predictor.logits(batch, box)


def context_stack(x: np.ndarray, ks: np.ndarray, context_slices: int) -> np.ndarray:
    """(len(ks), context, rows, columns) float32: each slice with its neighbours, edge slices repeated."""
    half = context_slices // 2
    neighbours = np.clip(ks[:, None] + np.arange(-half, half + 1)[None, :], 0, x.shape[0] - 1)
    return np.ascontiguousarray(x[neighbours].astype(np.float32, copy=False))


def window_size(spec: ModelSpec, model_shape: Sequence[int]) -> tuple[int, ...]:
    """Sliding-window size for a volume of ``model_shape`` on the model grid.

    2-D/2.5-D networks of known architecture see the whole (body box of the) slice as one window,
    up to :data:`MAX_WINDOW`: tiling a 512-pixel CT slice into 288-pixel patches with overlap costs
    four forward passes instead of one, and patch borders are where a network sees least context.
    Sides are rounded up to what the network's down-sampling needs; the trained patch size is no
    bound (the networks are fully convolutional and were trained on smaller crops).
    """
    divisor = size_divisor(spec)
    if spec.spatial_dims is SpatialDims.THREE_D or divisor is None:
        return tuple(spec.patch_size)
    plane = model_shape[-2:] if spec.axis_order is AxisOrder.SLICE_ROW_COLUMN else model_shape[-2:][::-1]
    return tuple(min(-(-int(n) // divisor) * divisor, MAX_WINDOW // divisor * divisor) for n in plane)


def unit_box(x: np.ndarray, spec: ModelSpec) -> tuple[slice, slice] | None:
    """Rows and columns of a unit's (slices, rows, columns) model-grid input that hold anything but air.

    Normalisations that clip at a floor map air (and anything at or below the floor) to exactly 0,
    so the network is run only on the box where some slice of the unit is above 0, grown by
    :data:`BODY_MARGIN_PX` on every side (context for the network, well beyond the skin) and to a
    multiple of the network's down-sampling. A third to a half of a typical CT slice is air around
    the body. One box per unit: a network's output near a crop edge depends on the crop, so a box
    per batch would make labels depend on which slices (or studies) share a batch. Returns None
    (run on everything) for 3-D networks, other normalisations, or when the box would be the whole
    plane, and an empty box for a unit of air.
    """
    divisor = size_divisor(spec)
    if (
        divisor is None
        or spec.spatial_dims is SpatialDims.THREE_D
        or spec.normalisation.kind not in (NormKind.CT_WINDOW, NormKind.PERCENTILE)
    ):
        return None
    n_rows, n_cols = int(x.shape[1]), int(x.shape[2])
    occupied = np.zeros((n_rows, n_cols), dtype=bool)
    for plane in x:  # slice by slice: no full-volume boolean copy
        occupied |= plane > 0
    rows, cols = np.flatnonzero(occupied.any(axis=1)), np.flatnonzero(occupied.any(axis=0))
    if rows.size == 0:
        return slice(0, 0), slice(0, 0)
    box: list[slice] = []
    for found, n in ((rows, n_rows), (cols, n_cols)):
        first, last = int(found[0]) - BODY_MARGIN_PX, int(found[-1]) + 1 + BODY_MARGIN_PX
        size = min(n, -(-(last - first) // divisor) * divisor)
        start = min(max(0, first - (size - (last - first)) // 2), n - size)
        box.append(slice(max(0, start), max(0, start) + size))
    if box[0] == slice(0, n_rows) and box[1] == slice(0, n_cols):
        return None
    return box[0], box[1]


def crop(batch: Any, box: tuple[slice, slice]) -> Any:
    """The (B, channels, rows, columns) batch or array inside ``box``."""
    return batch[(slice(None), slice(None), *box)]


def _axis_adapter(network: Any, spec: ModelSpec) -> Any:
    """Present patches to a network trained in (column, row, slice) order, and transpose its output back."""
    if spec.axis_order is AxisOrder.SLICE_ROW_COLUMN:
        return network
    if spec.spatial_dims is SpatialDims.THREE_D:
        return lambda t: network(t.permute(0, 1, 4, 3, 2)).permute(0, 1, 4, 3, 2)
    return lambda t: network(t.transpose(-1, -2)).transpose(-1, -2)


def _to_numpy(t: Any) -> np.ndarray:
    return t.detach().to("cpu").numpy()
