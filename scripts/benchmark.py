"""Benchmarks that go into docs/benchmarks.md, one subcommand per pipeline stage.

    .venv/bin/python scripts/benchmark.py ingest [--slices 400] [--repeats 3] [--cache .bench]

``ingest`` writes a synthetic 512x512xN CT series twice (uncompressed explicit little endian and
JPEG 2000 lossless) into the cache folder (reused on later runs), then times, in the same run and on
the same files: our header scan + assemble_volume (1 and all decoder threads), SimpleITK's
ImageSeriesReader (GDCM), and dcm2niix when installed (it also writes a NIfTI, so it does more
work). The section between the ``bench:ingest`` markers in docs/benchmarks.md is rewritten with the
results and the machine they ran on.

    .venv/bin/python scripts/benchmark.py batch [--studies 4] [--slices 300] [--network registered|pointwise]
        [--device cpu|cuda] [--batch-size 16] [--workers N]

``batch`` writes synthetic 512x512xN CT studies into the cache, runs ``imaging.batch.run_batch`` over
them into a temporary folder and records studies/hour and seconds per stage in the section
``bench:batch-<network>-<device>``. ``registered`` is the committed default CT tissue model (what
users run), ``pointwise`` a 1x1 convolution on the same grid (everything around the network).

New stages add a function and one entry in SUBCOMMANDS; nothing else changes.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs" / "benchmarks.md"
ROWS = COLS = 512


@dataclass(frozen=True)
class Timing:
    """Best-of-N wall time of one reader on one encoding."""

    reader: str
    encoding: str
    seconds: float
    slices: int
    note: str = ""

    @property
    def slices_per_s(self) -> float:
        return self.slices / self.seconds

    @property
    def mb_per_s(self) -> float:
        return self.slices * ROWS * COLS * 2 / 1e6 / self.seconds


# --- synthetic series -------------------------------------------------------------------------------


def _phantom_slice(k: int) -> np.ndarray:
    """Stored CT values (HU + 1024) of an abdomen-like slice: air, fat ring, muscle, bone, noise."""
    rng = np.random.default_rng(k)
    y, x = np.mgrid[0:ROWS, 0:COLS]
    r = np.hypot((x - 256) / 220, (y - 256) / 160)
    hu = np.full((ROWS, COLS), -1000.0)
    hu[r < 1.0] = -100.0
    hu[r < 0.85] = 45.0
    hu[np.hypot(x - 256, y - 330) < 25 + 3 * np.sin(k / 20)] = 700.0
    hu += rng.normal(0, 12, hu.shape)
    return np.clip(np.round(hu + 1024), 0, 4095).astype(np.uint16)


@dataclass(frozen=True)
class Grid:
    """Where slice k lies: LPS origin of slice 0, step between slices, in-plane directions/spacing."""

    origin: tuple[float, float, float] = (-250.0, -250.0, -400.0)
    step: tuple[float, float, float] = (0.0, 0.0, 1.25)
    row_dir: tuple[float, float, float] = (1.0, 0.0, 0.0)
    col_dir: tuple[float, float, float] = (0.0, 1.0, 0.0)
    pixel_mm: tuple[float, float] = (0.9765625, 0.9765625)


def _write_slice(args: tuple[Path, int, str, str, bool, Path | None, Grid]) -> None:
    """One CT slice: pixels from ``_phantom_slice`` or, given a .npy of stored values, its slice k."""
    import pydicom
    from pydicom.dataset import FileMetaDataset
    from pydicom.uid import CTImageStorage, ExplicitVRLittleEndian, JPEG2000Lossless

    folder, k, series_uid, study_uid, compress, pixels, grid = args
    ds = pydicom.Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.MediaStorageSOPClassUID = CTImageStorage
    ds.SOPInstanceUID = f"{series_uid}.{k + 1}"
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.SOPClassUID, ds.Modality, ds.PatientID = CTImageStorage, "CT", "BENCH"
    ds.StudyInstanceUID, ds.SeriesInstanceUID, ds.FrameOfReferenceUID = (
        study_uid,
        series_uid,
        study_uid + ".9",
    )
    ds.SeriesDescription, ds.InstanceNumber = "benchmark", k + 1
    position = zip(grid.origin, grid.step, strict=True)
    ds.ImagePositionPatient = [round(float(o + k * d), 4) for o, d in position]
    ds.ImageOrientationPatient = [round(float(v), 6) for v in (*grid.row_dir, *grid.col_dir)]
    ds.PixelSpacing = [round(float(v), 6) for v in grid.pixel_mm]
    ds.SliceThickness = round(float(np.linalg.norm(grid.step)), 4)
    ds.Rows, ds.Columns, ds.SamplesPerPixel, ds.PhotometricInterpretation = ROWS, COLS, 1, "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 12, 11, 0
    ds.RescaleSlope, ds.RescaleIntercept = 1, -1024
    arr = _phantom_slice(k) if pixels is None else np.ascontiguousarray(np.load(pixels, mmap_mode="r")[k])
    ds.PixelData = arr.tobytes()
    if compress:
        ds.compress(JPEG2000Lossless, arr, encoding_plugin="pylibjpeg")
    pydicom.dcmwrite(folder / f"IM{k:05d}.dcm", ds, enforce_file_format=True)


def ensure_series(cache: Path, n: int, compress: bool) -> Path:
    """The cached series folder, written (in parallel) when missing or incomplete."""
    folder = cache / f"ct_{ROWS}x{COLS}x{n}_{'j2k' if compress else 'raw'}"
    done = folder / ".complete"
    if done.exists():
        return folder
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    series_uid = f"1.2.826.0.1.3680043.8.498.77{n}{int(compress)}"
    jobs = [(folder, k, series_uid, "1.2.826.0.1.3680043.8.498.77", compress, None, Grid()) for k in range(n)]
    with ProcessPoolExecutor(max_workers=_cores()) as pool:
        list(pool.map(_write_slice, jobs, chunksize=8))
    done.write_text("ok\n")
    return folder


# --- readers ---------------------------------------------------------------------------------------


def read_ours(folder: Path, workers: int) -> np.ndarray:
    from imaging.ingest.assemble import assemble_volume
    from imaging.ingest.model import Instance, Source

    files = sorted(p for p in folder.iterdir() if p.suffix == ".dcm")
    instances = [Instance(Source(f), Source(f).read(stop_before_pixels=True)) for f in files]
    return assemble_volume(instances, workers=workers).array


def read_simpleitk(folder: Path) -> np.ndarray:
    import SimpleITK as sitk

    reader = sitk.ImageSeriesReader()
    reader.SetFileNames(reader.GetGDCMSeriesFileNames(str(folder)))
    return sitk.GetArrayFromImage(reader.Execute())


def run_dcm2niix(folder: Path) -> None:
    with tempfile.TemporaryDirectory() as out:
        subprocess.run(
            ["dcm2niix", "-z", "n", "-b", "n", "-o", out, "-f", "bench", str(folder)],
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )


def best_of(fn: Callable[[], object], repeats: int) -> tuple[float, object]:
    """Best wall time of ``repeats`` runs after one warm-up (page cache warm for every reader)."""
    result = fn()
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - start)
    return best, result


def bench_ingest(args: argparse.Namespace) -> int:
    cache = Path(args.cache).resolve()
    timings: list[Timing] = []
    has_dcm2niix = shutil.which("dcm2niix") is not None
    if not has_dcm2niix:
        print(
            "dcm2niix not found on PATH: skipped (Debian/Ubuntu: apt-get install dcm2niix)", file=sys.stderr
        )
    for compress in (False, True):
        encoding = "JPEG 2000 lossless" if compress else "uncompressed"
        folder = ensure_series(cache, args.slices, compress)
        print(f"{encoding}: {folder}", file=sys.stderr)
        t_sitk, ref = best_of(lambda f=folder: read_simpleitk(f), args.repeats)
        timings.append(Timing("SimpleITK ImageSeriesReader", encoding, t_sitk, args.slices))
        for workers in sorted({1, _cores()}):
            t, ours = best_of(lambda f=folder, w=workers: read_ours(f, w), args.repeats)
            assert np.array_equal(np.asarray(ours), np.asarray(ref)), "our volume differs from SimpleITK's"
            how = "1 worker" if workers == 1 else f"{workers} workers (default)"
            timings.append(Timing(f"bonemuscle ({how})", encoding, t, args.slices))
        if has_dcm2niix:
            t, _ = best_of(lambda f=folder: run_dcm2niix(f), args.repeats)
            timings.append(Timing("dcm2niix", encoding, t, args.slices, "also writes .nii"))
    section = render_section(timings, args)
    print(section)
    write_section(DOCS, "ingest", section)
    return 0


# --- batch -----------------------------------------------------------------------------------------


SAMPLE_CT = ROOT / "sample_dicoms" / "BM001" / "CT_20260314" / "S002_Abdomen_3.0_Br40_3"


def resampled_sample(n: int):  # -> tuple[Volume, Grid]
    """The committed sample abdomen resampled linearly to 512x512xN over the same body.

    BM001's CT (91 slices of 256x256 at 1.5 x 1.5 x 3 mm, with spine, organs and fat) becomes
    0.75 mm pixels and N slices, so every stage does what it does on a real study: levels are found,
    SEG and SR are written. Returns the HU volume and the DICOM grid of its slices.
    """
    from scipy import ndimage

    from imaging.ingest.assemble import assemble_volume
    from imaging.ingest.discovery import discover
    from imaging.series_facts import Modality, SeriesFacts
    from imaging.volume import Volume

    volume = assemble_volume(discover(SAMPLE_CT).instances)
    zoom = np.array([n / volume.shape[0], ROWS / volume.shape[1], COLS / volume.shape[2]])
    hu = ndimage.zoom(volume.array.astype(np.float32), zoom, order=1, grid_mode=True, mode="nearest")
    affine = volume.affine.copy()
    affine[:3, :3] = volume.affine[:3, :3] / zoom  # columns: LPS step per new (slice, row, column) index
    affine[:, 3] = volume.affine @ np.append(0.5 / zoom - 0.5, 1.0)  # grid_mode: new k at old (k+.5)/z-.5
    axes = affine[:3, :3]
    grid = Grid(
        origin=tuple(affine[:3, 3]),
        step=tuple(axes[:, 0]),
        row_dir=tuple(axes[:, 2] / np.linalg.norm(axes[:, 2])),
        col_dir=tuple(axes[:, 1] / np.linalg.norm(axes[:, 1])),
        pixel_mm=(float(np.linalg.norm(axes[:, 1])), float(np.linalg.norm(axes[:, 2]))),
    )
    facts = SeriesFacts(modality=Modality.CT, modality_code="CT", units="HU")
    return Volume(np.round(hu).astype(np.int16), affine, facts), grid


def ensure_batch_archive(cache: Path, studies: int, n: int) -> Path:
    """``studies`` copies of :func:`resampled_sample` as uncompressed DICOM, cached like ingest's."""
    root = cache / f"batch_sample_{studies}x{ROWS}x{COLS}x{n}"
    done = root / ".complete"
    if done.exists():
        return root
    if root.exists():
        shutil.rmtree(root)
    root.mkdir(parents=True)
    volume, grid = resampled_sample(n)
    np.save(root / "volume.npy", np.clip(volume.array.astype(np.int32) + 1024, 0, 4095).astype(np.uint16))
    jobs = []
    for i in range(studies):
        folder = root / f"study{i:03d}"
        folder.mkdir()
        study_uid = f"1.2.826.0.1.3680043.8.498.79.{n}.{i + 1}"
        jobs += [(folder, k, study_uid + ".1", study_uid, False, root / "volume.npy", grid) for k in range(n)]
    with ProcessPoolExecutor(max_workers=_cores()) as pool:
        list(pool.map(_write_slice, jobs, chunksize=8))
    done.write_text("ok\n")
    return root


def _benchmark_model(kind: str):  # -> LoadedModel
    """``registered``: the committed default CT tissue model, as users run it; ``pointwise``: a 1x1
    convolution with the same classes and grid, to time everything around the network."""
    import torch

    from segmentation_models.loading import LoadedModel, resolve_model
    from segmentation_models.registry import DEFAULT_MODEL_NAMES

    model = resolve_model(DEFAULT_MODEL_NAMES["CT"])
    if kind == "registered":
        return model
    torch.manual_seed(0)
    network = torch.nn.Conv2d(model.spec.context_slices, model.spec.out_channels, kernel_size=1)
    return LoadedModel(model.spec, network.eval(), None, source="benchmark pointwise network (untrained)")


def bench_batch(args: argparse.Namespace) -> int:
    from imaging.batch.progress import Progress
    from imaging.batch.runner import BatchOptions, run_batch
    from imaging.pipeline.series_job import JobOptions
    from imaging.segmentation.source import SegmentationSource
    from segmentation_models.inference import InferenceOptions

    archive = ensure_batch_archive(Path(args.cache).resolve(), args.studies, args.slices)
    model = _benchmark_model(args.network)
    source = SegmentationSource(models=(model,), inference=InferenceOptions(args.device, args.batch_size))
    workers = args.workers if args.workers is not None else _cores()
    with tempfile.TemporaryDirectory(prefix="bench-batch-") as tmp:
        report = run_batch(
            archive, JobOptions(source), BatchOptions(Path(tmp), workers=workers), None, Progress()
        )
    summary = report.summary
    if summary.done_now != args.studies:
        print("\n".join(summary.lines()), file=sys.stderr)
        return 1
    command = " ".join([".venv/bin/python", "scripts/benchmark.py", *sys.argv[1:]])
    per = {k: v / summary.done_now for k, v in summary.stage_seconds.items()}
    stats = report.stats
    lines = [
        f"## Batch: {args.studies} synthetic {ROWS}x{COLS}x{args.slices} CT studies, {args.network} network, "
        f"{report.versions['device']}",
        "",
        f"Run `{command}` on {time.strftime('%Y-%m-%d')}: `run_batch` with {workers} worker processes,",
        f"batch size {args.batch_size} slices, "
        + (
            f"network {model.spec.name} {model.spec.version} (committed weights)."
            if args.network == "registered"
            else f"a 1x1 convolution on the grid of {model.spec.name} (all but the network)."
        ),
        "Stage seconds are summed per unit; stages overlap (workers decode while the main process infers),",
        "so wall time per study is below their sum. The synthetic studies are timing material only.",
        "",
        "| studies/hour | wall s | wall s/study | decode | preprocess | inference | measure | write |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|",
        f"| {summary.studies_per_hour:.0f} | {summary.wall_s:.1f} | "
        f"{summary.wall_s / summary.done_now:.1f} | "
        + " | ".join(f"{per[k]:.2f}" for k in ("decode", "preprocess", "inference", "measure", "write"))
        + " |",
        "",
        f"Forward passes: {stats.batches} batches, {stats.slices} slices, "
        f"{stats.mixed_batches} holding slices of two studies.",
        "",
    ]
    publish(f"batch-{args.network}-{args.device}", lines, args.note)
    return 0


# --- segment ---------------------------------------------------------------------------------------


def bench_segment(args: argparse.Namespace) -> int:
    """``segment()`` with the committed CT model: one 512x512 slice and a 512x512xN volume, then (CUDA)
    slices/s and peak GPU memory of the forward pass at several batch sizes."""
    import torch

    from imaging.segmentation.networks import segment
    from segmentation_models.inference import InferenceOptions, Predictor

    model = _benchmark_model("registered")
    volume, _ = resampled_sample(args.slices)
    middle = volume.shape[0] // 2
    one = type(volume)(volume.array[middle : middle + 1], volume.affine, volume.meta)
    device = args.device
    rows = []
    for label, vol in (("1 slice 512x512", one), (f"{args.slices} slices 512x512", volume)):
        seconds, _ = best_of(
            lambda v=vol: segment(v, model, InferenceOptions(device, args.batch_size)), args.repeats
        )
        rows.append(
            f"| {label} | {seconds:.2f} | {seconds / vol.shape[0]:.3f} | {vol.shape[0] / seconds:.1f} |"
        )
    lines = [
        f"## Segmentation: committed CT tissue model, {device}",
        "",
        f"Run `{' '.join(['.venv/bin/python', 'scripts/benchmark.py', *sys.argv[1:]])}` on "
        f"{time.strftime('%Y-%m-%d')}: `segment()` (normalise, resample to 1.5 mm, network on the body box,",
        "probabilities back to the series grid, HU windows) on the committed sample abdomen resampled to",
        f"512x512 (0.75 mm pixels); best of {args.repeats}; batch size {args.batch_size}.",
        "",
        "| input | seconds | seconds/slice | slices/s |",
        "|---|---:|---:|---:|",
        *rows,
        "",
    ]
    if device == "cuda":
        predictor = Predictor(model, InferenceOptions("cuda", 1))
        lines += ["| batch size | slices/s (forward, AMP) | peak GPU memory (GiB) |", "|---:|---:|---:|"]
        for size in (8, 16, 32, 64, 128):
            batch = torch.rand((size, model.spec.context_slices, 256, 256), device="cuda")
            torch.cuda.reset_peak_memory_stats()
            with torch.inference_mode():
                predictor.logits(batch)
                torch.cuda.synchronize()
                start = time.perf_counter()
                for _ in range(args.repeats):
                    predictor.logits(batch)
                torch.cuda.synchronize()
            rate = size * args.repeats / (time.perf_counter() - start)
            peak = torch.cuda.max_memory_allocated() / 2**30
            lines.append(f"| {size} | {rate:.0f} | {peak:.2f} |")
        lines.append("")
    publish(f"segment-{device}", lines, args.note)
    return 0


# --- report ----------------------------------------------------------------------------------------


def render_section(timings: list[Timing], args: argparse.Namespace) -> str:
    command = " ".join([".venv/bin/python", "scripts/benchmark.py", *sys.argv[1:]])
    lines = [
        f"## Ingest: {ROWS}x{COLS}x{args.slices} CT series (best of {args.repeats}, warm page cache)",
        "",
        f"Run `{command}` on {time.strftime('%Y-%m-%d')}.",
        "Ours = header scan + `assemble_volume` (sorting, checks, decoding, rescale to HU); with several",
        "workers uncompressed series are still read serially and compressed ones in a process pool.",
        "Ratio = SimpleITK time / reader time on the same encoding (above 1 = faster than SimpleITK).",
        "",
        "| encoding | reader | seconds | slices/s | MB/s | vs SimpleITK | note |",
        "|---|---|---:|---:|---:|---:|---|",
    ]
    for t in timings:
        ref = next(x for x in timings if x.encoding == t.encoding and x.reader.startswith("SimpleITK"))
        lines.append(
            f"| {t.encoding} | {t.reader} | {t.seconds:.2f} | {t.slices_per_s:.0f} | {t.mb_per_s:.0f} | "
            f"{ref.seconds / t.seconds:.2f} | {t.note} |"
        )
    lines += ["", "Machine: " + machine_summary(), ""]
    return "\n".join(lines)


def machine_summary() -> str:
    cpu = "unknown CPU"
    for line in Path("/proc/cpuinfo").read_text().splitlines() if Path("/proc/cpuinfo").exists() else []:
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    ram = "?"
    if Path("/proc/meminfo").exists():
        kb = int(Path("/proc/meminfo").read_text().split()[1])
        ram = f"{kb / 1024**2:.0f} GiB"
    versions = ", ".join(
        f"{p} {_version(p)}" for p in ("numpy", "pydicom", "pylibjpeg-openjpeg", "SimpleITK")
    )
    d2n = "absent"
    if shutil.which("dcm2niix"):
        proc = subprocess.run(["dcm2niix", "-v"], capture_output=True, text=True)
        d2n = next((ln for ln in (proc.stdout + proc.stderr).splitlines() if "v1." in ln), "present").strip()
    return (
        f"{cpu}; {_cores()} usable cores; {ram} RAM; Python {platform.python_version()}; {versions}; "
        f"dcm2niix {d2n}"
    )


def publish(name: str, lines: list[str], note: str = "") -> None:
    """End a section with the machine (and the run's note), print it and rewrite it in the docs."""
    lines = [*lines, "Machine: " + machine_summary(), ""] + ([note, ""] if note else [])
    section = "\n".join(lines)
    print(section)
    write_section(DOCS, name, section)


def write_section(doc: Path, name: str, section: str) -> None:
    """Replace the marked section of ``doc`` (or append it), leaving other sections alone."""
    start, end = f"<!-- bench:{name}:start -->", f"<!-- bench:{name}:end -->"
    block = f"{start}\n{section}\n{end}"
    text = doc.read_text() if doc.exists() else "# Benchmarks\n\nWritten by `scripts/benchmark.py`.\n"
    if start in text and end in text:
        text = text[: text.index(start)] + block + text[text.index(end) + len(end) :]
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    doc.parent.mkdir(parents=True, exist_ok=True)
    doc.write_text(text)


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "absent"


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover
        return os.cpu_count() or 1


SUBCOMMANDS: dict[str, tuple[Callable[[argparse.Namespace], int], str]] = {
    "ingest": (bench_ingest, "DICOM series -> volume: ours vs SimpleITK vs dcm2niix"),
    "batch": (bench_batch, "bonemuscle batch: studies/hour and seconds per stage on synthetic CT"),
    "segment": (bench_segment, "segment(): seconds per 512x512 slice and per volume; GPU slices/s"),
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    for name, (_, help_text) in SUBCOMMANDS.items():
        p = sub.add_parser(name, help=help_text)
        p.add_argument("--cache", default=str(ROOT / ".bench"), help="where synthetic data is kept")
        p.add_argument("--repeats", type=int, default=3)
        if name == "ingest":
            p.add_argument("--slices", type=int, default=400)
        if name == "segment":
            p.add_argument("--slices", type=int, default=100)
            p.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
            p.add_argument("--batch-size", type=int, default=16)
            p.add_argument("--note", default="", help="a sentence added under the table (e.g. load)")
        if name == "batch":
            p.add_argument("--slices", type=int, default=300)
            p.add_argument("--studies", type=int, default=4)
            p.add_argument("--network", choices=("registered", "pointwise"), default="registered")
            p.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
            p.add_argument("--batch-size", type=int, default=16)
            p.add_argument("--workers", type=int, default=None)
            p.add_argument("--note", default="", help="a sentence added under the table (e.g. load)")
    args = parser.parse_args(argv)
    return SUBCOMMANDS[args.command][0](args)


if __name__ == "__main__":
    sys.exit(main())
