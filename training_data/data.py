"""Training cases: procedural phantoms randomised widely, real TotalSegmentator-labelled CT, user cases.

Every source becomes a :class:`Case` on the model's in-plane grid (slice spacing kept, as the 2.5-D
network sees it): raw intensities (HU on CT), a target bit mask per voxel (:mod:`.targets`), and the
slices that may serve as training centre slices. Cases are cached as ``.npz`` files in a cache folder
*outside the repository*; generation is deterministic per seed, so a cache can be rebuilt at will and
re-running generation after the phantom improves only needs a new :data:`DATA_VERSION`.

Phantom randomisation (per seed, far wider than the committed samples): habitus and every fat/muscle
scale over the phantom's whole supported range, muscle attenuation from normal to severe myosteatosis,
IMAT fraction 0-20 %, organ and bowel layout (the anatomy seed), arms in or out, level T11-L5,
contrast phase, kVp, kernel, noise 0.4-2.5x the kernel default, slice thickness 1-5 mm, pixel size
+-10 % around the model's (scale augmentation with exact labels), body off-centre, and a cropped
reconstruction field of view in a quarter of cases (voxels outside it are background targets: the
image holds nothing there). MR cases render Dixon in-phase magnitudes (1.5 / 3 T, SNR 15-60): the one
image an MR network reads (imaging.pipeline.mr_metrics.network_image gives it the set's in-phase series).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from imaging.volume import Volume
from segmentation_models.training.case import UNKNOWN, Case, write_case
from training_data import targets as tg

# 2: humerus down to the elbow joint, ARMS_IN_FOV_SHARE 0.35 -> 0.45; 3: diaphragm, crura, intercostals
DATA_VERSION = 3
ARMS_IN_FOV_SHARE = 0.45  # arms-down scans are common in the elderly and in trauma; arm muscle must be learnt
TRAIN_LEVELS = ("T11", "T12", "L1", "L2", "L3", "L4", "L5")


@dataclass(frozen=True)
class PhantomSettings:
    """Everything that defines one rendered phantom case (drawn by :func:`sample_phantom_settings`)."""

    seed: int
    modality: str
    params: dict  # SubjectParams fields
    level: str
    z_fraction: float  # position inside the level's body, 0 = inferior endplate, 1 = superior
    pixel_mm: float
    slice_mm: float
    n_slices: int
    matrix: int
    center_offset_mm: tuple[float, float]
    contrast: str = "none"
    kernel: str = "soft"
    kvp: float = 120.0
    noise_hu: float = 12.0
    field_strength_t: float = 1.5
    snr: float = 30.0
    supersample: int = 2


def sample_phantom_settings(
    seed: int, modality: str = "CT", pixel_mm: float = 1.5, fov_mm: float = 432.0
) -> PhantomSettings:
    """Draw one case's subject and acquisition (see the module docstring for the ranges)."""
    from phantoms import sample_params

    rng = np.random.default_rng([DATA_VERSION, seed])
    params = sample_params(rng, f"train{seed}", arms_in_fov=bool(rng.random() < ARMS_IN_FOV_SHARE))
    wide = {
        "sat_scale": (0.25, 2.9),
        "vat_scale": (0.25, 2.9),
        "muscle_scale": (0.5, 1.8),
        "imat_fraction": (0.0, 0.2),
        "muscle_hu": (5.0, 65.0),
    }
    drawn: dict[str, Any] = {k: float(rng.uniform(*r)) for k, r in wide.items() if rng.random() < 0.5}
    params = replace(params, **drawn)
    px = pixel_mm * float(rng.uniform(0.9, 1.1))
    matrix = round(fov_mm / px)
    if rng.random() < 0.25:  # cropped reconstruction field of view
        matrix = round(float(rng.uniform(0.65, 0.92)) * matrix)
    kernel = str(rng.choice(["soft", "sharp"], p=[0.7, 0.3]))
    return PhantomSettings(
        seed=seed,
        modality=modality,
        params=asdict(params),
        level=str(rng.choice(TRAIN_LEVELS)),
        z_fraction=float(rng.uniform(0.0, 1.0)),
        pixel_mm=px,
        slice_mm=float(rng.uniform(1.0, 5.0)),
        n_slices=5,
        matrix=matrix,
        center_offset_mm=(float(rng.normal(0, 12)), float(rng.normal(0, 12))),
        contrast=str(rng.choice(["none", "arterial", "portal"], p=[0.4, 0.2, 0.4])),
        kernel=kernel,
        kvp=float(rng.choice([80.0, 100.0, 120.0, 140.0], p=[0.1, 0.25, 0.5, 0.15])),
        noise_hu=float((12.0 if kernel == "soft" else 30.0) * rng.uniform(0.4, 2.5)),
        field_strength_t=float(rng.choice([1.5, 3.0])),
        snr=float(rng.uniform(15.0, 60.0)),
    )


def render_phantom_case(s: PhantomSettings) -> Case:
    """Render the case ``s`` describes: image, compartment targets and truth tissue labels."""
    from imaging.measurements.dixon import background_noise_sd, fat_fraction
    from phantoms import SubjectParams, axial_grid, make_phantom, render_ct, render_dixon

    phantom = make_phantom(SubjectParams(**s.params))
    top, bottom = phantom.level_z_range(s.level)
    zc = bottom + s.z_fraction * (top - bottom)
    half = 0.5 * (s.n_slices - 1) * s.slice_mm
    cx, cy = phantom.body_center_xy(zc)
    grid = axial_grid(
        phantom,
        pixel_mm=s.pixel_mm,
        slice_mm=s.slice_mm,
        z_range_mm=(zc - half, zc + half),
        matrix=(s.matrix, s.matrix),
        center_xy=(cx + s.center_offset_mm[0], cy + s.center_offset_mm[1]),
    )
    rng = np.random.default_rng([DATA_VERSION, s.seed, 1])
    ff = None
    if s.modality == "CT":
        outside = -2048
        hu, labels = render_ct(
            phantom,
            grid,
            contrast=s.contrast,
            kvp=s.kvp,
            kernel=s.kernel,
            noise_hu=s.noise_hu,
            rng=rng,
            supersample=s.supersample,
            outside_fov_hu=outside,
        )
        image = hu.astype(np.float32)
        in_fov = hu != outside
    else:
        dixon = render_dixon(
            phantom, grid, field_strength_t=s.field_strength_t, snr=s.snr, rng=rng, supersample=s.supersample
        )
        labels, image = dixon.labels, dixon.in_phase.astype(np.float32)
        in_fov = np.ones(image.shape, dtype=bool)
        ff = fat_fraction(
            dixon.water,
            dixon.fat,
            background_noise_sd(dixon.in_phase),
            source="scanner_water_fat",
            folded=False,
        ).percent
    comp = tg.phantom_compartments(labels.fine)
    comp[~in_fov] = tg.CLASS_INDEX["background"]
    tissue = labels.tissue.copy()
    tissue[~in_fov] = 0
    return Case(
        name=f"{s.modality.lower()}-phantom-{s.seed:06d}",
        image=image,
        target=tg.single_class_bits(comp),
        spacing_kji=tuple(float(v) for v in grid.spacing_kji),  # type: ignore[arg-type]
        modality=s.modality,
        source="phantom",
        train_slices=tuple(range(s.n_slices)),
        tissue=tissue,
        fat_fraction=ff,
    )


def phantom_case_path(cache_dir: Path, seed: int, modality: str) -> Path:
    return Path(cache_dir) / f"{modality.lower()}-phantom-v{DATA_VERSION}-{seed:06d}.npz"


def ensure_phantom_cases(
    cache_dir: Path,
    seeds: list[int],
    modality: str = "CT",
    pixel_mm: float = 1.5,
    log: Callable[[str], None] | None = print,
) -> list[Path]:
    """Render (or reuse from the cache) one case per seed; returns the case files in seed order."""
    cache_dir = Path(cache_dir)
    cache_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for i, seed in enumerate(seeds):
        path = phantom_case_path(cache_dir, seed, modality)
        if not path.is_file():
            write_case(render_phantom_case(sample_phantom_settings(seed, modality, pixel_mm)), path)
            if log and (i + 1) % 10 == 0:
                log(f"phantom cases: {i + 1}/{len(seeds)}")
        paths.append(path)
    return paths


def to_model_grid_case(
    name: str,
    volume: Volume,
    bits: np.ndarray,
    pixel_mm: float,
    source: str,
    exclude_slices: tuple[int, ...] = (),
) -> Case:
    """Resample a series and its target bits in-plane to the model spacing (linear / nearest).

    The image uses the very resampling inference uses; targets take the nearest source voxel.
    Training centre slices are those with any known target, minus ``exclude_slices`` (held out).
    """
    from segmentation_models.inference import to_model_grid

    sk, sj, si = (float(v) for v in volume.spacing_kji)
    scale = np.array([1.0, pixel_mm / sj, pixel_mm / si])
    image = to_model_grid(volume.array.astype(np.float32), scale)
    index = [
        np.clip(np.floor((np.arange(m) + 0.5) * s).astype(np.intp), 0, n - 1)
        for m, s, n in zip(image.shape, scale, bits.shape, strict=True)
    ]
    target = bits[np.ix_(*index)]
    labelled = [k for k in range(target.shape[0]) if np.any(target[k] != UNKNOWN)]
    return Case(
        name=name,
        image=image,
        target=target,
        spacing_kji=(sk, sj * scale[1], si * scale[2]),
        modality=volume.meta.modality.value,
        source=source,
        train_slices=tuple(k for k in labelled if k not in exclude_slices),
    )


def read_dicom_series(folder: Path) -> Volume:
    """The one DICOM series in ``folder`` (every file in it, recursively) as a Volume."""
    from imaging.ingest.assemble import assemble_volume
    from imaging.ingest.model import Instance, Source

    label_suffixes = (".tag", ".nii", ".gz", ".json")  # label files that may sit beside the slices
    files = sorted(
        p
        for p in Path(folder).rglob("*")
        if p.is_file() and not p.name.startswith(".") and not p.name.lower().endswith(label_suffixes)
    )
    instances = []
    for f in files:
        src = Source(f)
        try:
            header = src.read(stop_before_pixels=True)
        except Exception:  # not DICOM (a label file beside the series): not part of it
            continue
        if getattr(header, "Modality", None) != "SEG":  # a DICOM SEG beside the series is a label file
            instances.append(Instance(src, header))
    if not instances:
        raise ValueError(f"{folder}: no DICOM files found")
    return assemble_volume(instances)


def labelled_case(
    name: str,
    volume: Volume,
    label_path: Path,
    pixel_mm: float,
    source: str,
    exclude_slices: Sequence[int] = (),
) -> Case:
    """A series plus a label file (NIfTI, DICOM SEG, .tag; TotalSegmentator maps too) as a Case.

    Compartment-named labels give their class; an unlabelled voxel in a labelled slice excludes the
    classes the file labels anywhere (it may hold unlabelled tissue of other classes). Contract tissue
    names (manual windowed labels) go through :func:`targets.tissue_label_bits`. Slices without any
    label are unknown.
    """
    from imaging.segmentation.label_files.precomputed import PrecomputedOptions, load_precomputed

    seg = load_precomputed(label_path, volume, PrecomputedOptions())
    if seg.compartments is not None:
        raw = seg.compartments.array
        bits = tg.compartment_label_bits(raw, seg.compartments.names)
    elif seg.tissue is not None and volume.meta.is_ct:
        raw = seg.tissue.array
        bits = tg.tissue_label_bits(raw, seg.tissue.names, volume.array.astype(np.float32))
    else:
        raise ValueError(f"{label_path}: no compartment or CT tissue labels to train on")
    for k in range(raw.shape[0]):
        if not np.any(raw[k]):
            bits[k] = UNKNOWN
    return to_model_grid_case(name, volume, bits, pixel_mm, source, tuple(exclude_slices))
