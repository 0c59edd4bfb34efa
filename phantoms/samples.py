"""Writing the sample tree: render each planned series, then store DICOM, DXA exports and truth.

:mod:`phantoms.study` says *what* the sample tree holds; this module turns those
plans into files. It renders each series with the phantom API (:func:`render_ct`, :func:`render_dixon`),
packages pixels as DICOM through :mod:`dicom_series`, writes the DXA exports through :mod:`dxa_exports`,
the clinical table through :mod:`clinical_csv`, and the truth through :mod:`sample_truth`.

Every random draw comes from a generator fixed by seed, subject and series number, so the same seed
gives byte-identical files whatever subset or order is written.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
from pydicom.uid import RLELossless

from phantoms.clinical_csv import records_for, write_clinical_csv
from phantoms.dicom_series import (
    ScreenCapture,
    write_ct_localizer,
    write_ct_series,
    write_mr_series,
    write_secondary_capture,
)
from phantoms.sample_truth import write_truth
from phantoms.study import (
    PHENOTYPES,
    AxialGrid,
    CTPlan,
    DixonOutput,
    DixonPlan,
    DosePagePlan,
    DxaFormat,
    LocalizerPlan,
    StudyPlan,
    Subject,
    roster,
    series_folder,
    series_meta,
)
from phantoms.truth import CtRender

RENDER_SUPERSAMPLE = 2  # partial-volume sub-points per axis: 2 keeps generation to minutes on 2 cores
DIXON_MAX_STORED = 2000  # the four Dixon images share one scale so F / (F + W) survives integer storage


def series_rng(seed: int, subject: Subject, number: int) -> np.random.Generator:
    """Noise generator of one series: fixed by seed, subject and series number, independent of write order."""
    return np.random.default_rng([seed, int(subject.patient_id[2:]), number])


def make_subject_phantom(subject: Subject, seed: int) -> Any:
    """The subject's analytic phantom: roster facts plus the phenotype, other shape details from the seed."""
    from phantoms.anatomy import make_phantom
    from phantoms.params import sample_params

    rng = np.random.default_rng([seed, int(subject.patient_id[2:]), 0])
    params = sample_params(
        rng,
        subject.patient_id,
        sex=subject.sex,
        age_years=float(subject.age_years),
        height_m=subject.height_m,
        weight_kg=subject.weight_kg,
        **PHENOTYPES[subject.patient_id],
    )
    return make_phantom(params)


def grid_for(phantom: Any, spec: AxialGrid) -> Any:
    """The sampling grid of a plan: the vertebral range, or one slice at the middle of ``single_level``."""
    from phantoms.grid import axial_grid

    matrix = (spec.matrix, spec.matrix)
    if spec.single_level is not None:
        lo, hi = phantom.level_z_range(spec.single_level)
        mid = round(0.5 * (lo + hi), 1)
        return axial_grid(phantom, spec.pixel_mm, spec.slice_mm, z_range_mm=(mid, mid), matrix=matrix)
    return axial_grid(phantom, spec.pixel_mm, spec.slice_mm, levels=(spec.top, spec.bottom), matrix=matrix)


@dataclass(frozen=True)
class WrittenSeries:
    """What was written for one plan: DICOM folder(s), truth folder, and the facts truth.json records."""

    folders: tuple[Path, ...]
    series_uids: tuple[str, ...]
    truth_folder: Path | None = None


def write_subject(subject: Subject, out: Path, seed: int) -> list[WrittenSeries]:
    """Render and write every study of ``subject`` under ``out/<PatientID>/``, truth under ``out/truth``."""
    phantom = make_subject_phantom(subject, seed) if subject.studies else None
    written: list[WrittenSeries] = []
    for plan in subject.studies:
        study_dir = out / subject.patient_id / plan.folder
        rendered: dict[int, tuple[np.ndarray, Any]] = {}
        for series in plan.series:
            if isinstance(series, CTPlan):
                written.append(_write_ct(subject, plan, series, phantom, study_dir, out, seed, rendered))
            elif isinstance(series, LocalizerPlan):
                written.append(_write_localizer(subject, plan, series, phantom, study_dir, seed))
            elif isinstance(series, DosePagePlan):
                written.append(_write_dose_page(subject, plan, series, study_dir, seed, rendered))
            else:
                written.append(_write_dixon(subject, plan, series, phantom, study_dir, out, seed))
    if subject.dxa is not None:
        written.append(write_dxa(subject, out, seed))
    return written


def _write_ct(
    subject: Subject,
    plan: StudyPlan,
    series: CTPlan,
    phantom: Any,
    study_dir: Path,
    out: Path,
    seed: int,
    rendered: dict[int, tuple[np.ndarray, Any]],
) -> WrittenSeries:
    from phantoms.ct import Contrast, CTSettings, Kernel, ct_from_sampled

    grid = grid_for(phantom, series.grid)
    padding = series.acquisition.pixel_padding_hu
    settings = CTSettings(
        contrast=Contrast(series.render_contrast),
        kvp=series.acquisition.kvp,
        kernel=Kernel(series.render_kernel),
        supersample=RENDER_SUPERSAMPLE,
        outside_fov_hu=-1024 if padding is None else padding,
    )
    # What render_ct does, split so the truth also gets the noise-free image: the same generator seed
    # draws the same texture (drawn before the noise), and noise 0 skips the noise draw.
    sampled = phantom.sample(grid, settings.supersample)
    hu = ct_from_sampled(phantom, sampled, settings, series_rng(seed, subject, series.number))
    noise_free = ct_from_sampled(
        phantom, sampled, replace(settings, noise_hu=0.0), series_rng(seed, subject, series.number)
    )
    labels = sampled.labels()
    rendered[series.number] = (hu, grid)
    meta = series_meta(
        subject,
        plan,
        series.number,
        series.description,
        seed,
        file_naming=series.file_naming,
        instance_order=series.instance_order,
    )
    folder = study_dir / series_folder(series.number, series.description)
    write_ct_series(
        hu,
        grid.affine,
        folder,
        meta=meta,
        acquisition=series.acquisition,
        transfer_syntax=series.transfer_syntax,
        encoding=series.encoding,
    )
    truth_dir = (
        out
        / "truth"
        / subject.patient_id
        / f"{plan.folder}_{series_folder(series.number, series.description)}"
    )
    facts = {
        "modality": "CT",
        "kernel": series.acquisition.kernel,
        "contrast": series.render_contrast,
        "kvp": series.acquisition.kvp,
    }
    render = CtRender(series.render_contrast, series.acquisition.kvp, noise_free)
    write_truth(
        truth_dir, subject, plan, [meta], phantom, grid, labels, hu=hu, ct=render, facts=facts, seed=seed
    )
    return WrittenSeries((folder,), (meta.series_uid,), truth_dir)


def _write_localizer(
    subject: Subject, plan: StudyPlan, series: LocalizerPlan, phantom: Any, study_dir: Path, seed: int
) -> WrittenSeries:
    """A coarse CT of the planned range (4 mm pixels and slices) projected to a coronal scout."""
    from phantoms.ct import render_ct

    source = next(s for s in plan.series if isinstance(s, CTPlan) and s.number == series.of_series)
    coarse = AxialGrid(
        pixel_mm=4.0 * source.grid.pixel_mm / 1.5,
        matrix=96,
        slice_mm=4.0,
        top=source.grid.top,
        bottom=source.grid.bottom,
    )
    grid = grid_for(phantom, coarse)
    hu, _ = render_ct(
        phantom,
        grid,
        contrast="none",
        kernel="soft",
        rng=series_rng(seed, subject, series.number),
        supersample=1,
    )
    meta = series_meta(subject, plan, series.number, series.description, seed)
    folder = study_dir / series_folder(series.number, series.description)
    write_ct_localizer(hu, grid.affine, folder, meta=meta, transfer_syntax=RLELossless)
    return WrittenSeries((folder,), (meta.series_uid,))


def dose_lines(plan: StudyPlan, rendered: dict[int, tuple[np.ndarray, Any]]) -> tuple[str, ...]:
    """Text of a scanner dose summary page: CTDIvol and DLP (CTDIvol x scanned length) per series."""
    lines = [
        f"{plan.equipment.manufacturer} {plan.equipment.model}",
        "Dose Report",
        "",
        "Series  Type     Scan range (mm)    CTDIvol (mGy)  DLP (mGy*cm)  Phantom",
    ]
    total = 0.0
    for s in plan.series:
        if isinstance(s, CTPlan) and s.number in rendered:
            hu, grid = rendered[s.number]
            length_cm = hu.shape[0] * s.grid.slice_mm / 10.0
            dlp = s.acquisition.ctdi_vol_mgy * length_cm
            total += dlp
            lo = float(grid.affine[2, 3])
            hi = lo + (hu.shape[0] - 1) * float(grid.affine[2, 0])
            lines.append(
                f"{s.number:<7d} Helical  {lo:7.1f}-{hi:7.1f}   {s.acquisition.ctdi_vol_mgy:13.2f}  "
                f"{dlp:12.2f}  Body 32"
            )
    lines += ["", f"Total Exam DLP: {total:.2f} mGy*cm"]
    return tuple(lines)


def _write_dose_page(
    subject: Subject,
    plan: StudyPlan,
    series: DosePagePlan,
    study_dir: Path,
    seed: int,
    rendered: dict[int, tuple[np.ndarray, Any]],
) -> WrittenSeries:
    meta = series_meta(subject, plan, series.number, series.description, seed)
    folder = study_dir / series_folder(series.number, series.description)
    capture = ScreenCapture(lines=dose_lines(plan, rendered))
    write_secondary_capture(capture, folder, meta=meta, transfer_syntax=RLELossless)
    return WrittenSeries((folder,), (meta.series_uid,))


def dixon_scale(images: Sequence[np.ndarray]) -> float:
    """One factor for all four Dixon images (max -> DIXON_MAX_STORED), as scanners scale a Dixon set."""
    peak = max(float(np.max(img)) for img in images)
    return DIXON_MAX_STORED / peak if peak > 0 else 1.0


def _write_dixon(
    subject: Subject, plan: StudyPlan, series: DixonPlan, phantom: Any, study_dir: Path, out: Path, seed: int
) -> WrittenSeries:
    from phantoms.mr import render_dixon

    grid = grid_for(phantom, series.grid)
    dixon = render_dixon(
        phantom,
        grid,
        field_strength_t=series.field_strength_t,
        rng=series_rng(seed, subject, series.first_number),
    )
    images = {
        DixonOutput.IN_PHASE: dixon.in_phase,
        DixonOutput.OPPOSED_PHASE: dixon.opposed_phase,
        DixonOutput.WATER: dixon.water,
        DixonOutput.FAT: dixon.fat,
    }
    scale = dixon_scale([np.clip(v, 0, None) for v in images.values()])
    folders, metas = [], []
    for number, description, acquisition, output in series.outputs():
        meta = series_meta(subject, plan, number, description, seed)
        folder = study_dir / series_folder(number, description)
        stored = np.rint(np.clip(images[output], 0, None) * scale)
        write_mr_series(
            stored,
            grid.affine,
            folder,
            meta=meta,
            acquisition=acquisition,
            transfer_syntax=series.transfer_syntax,
        )
        folders.append(folder)
        metas.append(meta)
    name = f"{plan.folder}_S{series.first_number:03d}-{series.first_number + 3:03d}_Dixon"
    truth_dir = out / "truth" / subject.patient_id / name
    facts = {
        "modality": "MR",
        "dixon_style": series.style.value,
        "field_strength_t": series.field_strength_t,
        "dixon_storage_scale": scale,
    }
    write_truth(
        truth_dir,
        subject,
        plan,
        metas,
        phantom,
        grid,
        dixon.labels,
        dixon=dixon,
        facts=facts,
        seed=seed,
    )
    return WrittenSeries(tuple(folders), tuple(m.series_uid for m in metas), truth_dir)


def write_dxa(subject: Subject, out: Path, seed: int) -> WrittenSeries:
    """The subject's DXA export via :mod:`dxa_exports`: DICOM under the patient, CSV under ``dxa/``."""
    from phantoms import dxa_exports

    assert subject.dxa is not None
    exam = subject.dxa.exam(subject, seed)
    folder = out / subject.patient_id / f"DXA_{subject.dxa.date}"
    if subject.dxa.format is DxaFormat.GE_ENHANCED_SR:
        path = dxa_exports.write_ge_enhanced_sr(exam, folder / "S001_DXA_Report" / "IM0001.dcm")
        paths = [path]
    elif subject.dxa.format is DxaFormat.HOLOGIC_SC:
        paths = dxa_exports.write_hologic_reports(exam, folder / "S001_Hologic_reports")
    else:
        paths = [
            dxa_exports.write_apex_csv(
                [exam], out / "dxa" / f"{subject.patient_id}_apex.csv", score_columns=True
            )
        ]
    return WrittenSeries(tuple(sorted({p.parent for p in paths})), ())


def write_samples(
    out: str | Path, seed: int, subjects: Sequence[Subject] | None = None
) -> list[WrittenSeries]:
    """Write the sample tree (or only ``subjects``): DICOM, DXA exports, clinical.csv and truth.

    The tree's README.md is maintained by hand next to the files (it documents this function's output)."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    chosen = roster(seed) if subjects is None else tuple(subjects)
    written = [w for subject in chosen for w in write_subject(subject, out, seed)]
    write_clinical_csv(records_for(chosen), out / "clinical.csv")
    return written
