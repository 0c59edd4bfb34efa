"""The committed sample tree: present, small, decodable, consistent with its truth and with the roster."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pydicom
import pytest

from imaging.volume import from_nifti
from phantoms.clinical_csv import COLUMNS, read_clinical_csv
from phantoms.samples import write_samples
from phantoms.study import (
    AxialGrid,
    CTPlan,
    DixonPlan,
    DosePagePlan,
    LocalizerPlan,
    roster,
    series_folder,
)

SEED = 20261122
BUDGET_BYTES = 30 * 1024 * 1024
SAMPLE_DICOMS = Path(__file__).resolve().parents[2] / "sample_dicoms"
needs_tree = pytest.mark.skipif(
    not (SAMPLE_DICOMS / "clinical.csv").is_file(),
    reason="sample_dicoms/ not generated: run scripts/make_sample_dicoms.py --out sample_dicoms",
)


def _series_numbers(plan) -> list[int]:
    if isinstance(plan, DixonPlan):
        return [number for number, *_ in plan.outputs()]
    return [plan.number]


def _planned_folders() -> list[tuple[str, Path]]:
    folders = []
    for subject in roster(SEED):
        for study in subject.studies:
            for plan in study.series:
                descriptions = (
                    [d for _, d, _, _ in plan.outputs()]
                    if isinstance(plan, DixonPlan)
                    else [plan.description]
                )
                for number, description in zip(_series_numbers(plan), descriptions, strict=True):
                    folder = (
                        SAMPLE_DICOMS / subject.patient_id / study.folder / series_folder(number, description)
                    )
                    folders.append((subject.patient_id, folder))
    return folders


def _truth_files() -> list[Path]:
    return sorted((SAMPLE_DICOMS / "truth").rglob("truth.json"))


@needs_tree
def test_tree_is_within_budget():
    total = sum(p.stat().st_size for p in SAMPLE_DICOMS.rglob("*") if p.is_file())
    assert 0 < total <= BUDGET_BYTES, f"sample_dicoms is {total / 1e6:.1f} MB"


@needs_tree
def test_every_planned_series_is_present_and_decodes():
    for patient_id, folder in _planned_folders():
        files = sorted(p for p in folder.iterdir() if p.is_file())
        assert files, f"{folder} is empty"
        headers = [pydicom.dcmread(p) for p in files]
        assert {h.PatientID for h in headers} == {patient_id}
        assert len({h.SeriesInstanceUID for h in headers}) == 1
        middle = headers[len(headers) // 2]
        assert middle.pixel_array.shape == (middle.Rows, middle.Columns)  # the installed decoders handle it


@needs_tree
def test_patient_size_only_where_the_roster_says():
    for subject in roster(SEED):
        for study in subject.studies:
            for plan in study.series:
                if not isinstance(plan, CTPlan):
                    continue
                folder = (
                    SAMPLE_DICOMS
                    / subject.patient_id
                    / study.folder
                    / series_folder(plan.number, plan.description)
                )
                ds = pydicom.dcmread(
                    next(p for p in sorted(folder.iterdir()) if p.is_file()), stop_before_pixels=True
                )
                assert ("PatientSize" in ds) == subject.height_in_dicom, folder
                assert ds.PatientAge == f"{subject.age_years:03d}Y"
                assert float(ds.PatientWeight) == subject.weight_kg


@needs_tree
def test_dxa_exports_are_present():
    assert list((SAMPLE_DICOMS / "BM001").glob("DXA_*/*/*.dcm"))
    assert list((SAMPLE_DICOMS / "BM002").glob("DXA_*/*/*.dcm"))
    assert list((SAMPLE_DICOMS / "dxa").glob("BM003*.csv"))


@needs_tree
def test_clinical_csv_matches_roster():
    path = SAMPLE_DICOMS / "clinical.csv"
    assert path.read_text().splitlines()[0] == ",".join(COLUMNS)
    rows = {r["patient_id"]: r for r in read_clinical_csv(path)}
    for subject in roster(SEED):
        row = rows[subject.patient_id]
        assert row["sex"] == subject.sex
        assert int(row["age_years"]) == subject.age_years
        assert float(row["height_cm"]) == pytest.approx(subject.height_m * 100)
        assert float(row["weight_kg"]) == subject.weight_kg
    assert float(rows["BM002"]["grip_kg"]) == 14 and float(rows["BM002"]["gait_speed_m_s"]) == 0.7
    assert float(rows["BM001"]["grip_kg"]) == 40


@needs_tree
def test_truth_exists_for_every_image_series():
    truth_uids = {s["series_uid"] for t in _truth_files() for s in json.loads(t.read_text())["series"]}
    for _, folder in _planned_folders():
        ds = pydicom.dcmread(
            next(p for p in sorted(folder.iterdir()) if p.is_file()), stop_before_pixels=True
        )
        if ds.Modality in ("CT", "MR") and "LOCALIZER" not in ds.ImageType and "ConversionType" not in ds:
            assert ds.SeriesInstanceUID in truth_uids, folder


@needs_tree
def test_truth_numbers_agree_with_truth_nifti():
    files = _truth_files()
    assert files
    for path in files:
        truth = json.loads(path.read_text())
        tissue = from_nifti(path.parent / "tissue.nii.gz")
        vertebrae = from_nifti(path.parent / "vertebrae.nii.gz")
        names = {v: int(k) for k, v in json.loads((path.parent / "tissue.labels.json").read_text()).items()}
        np.testing.assert_allclose(tissue.affine, np.array(truth["grid"]["affine_lps"]), atol=1e-4)
        assert list(tissue.shape) == truth["grid"]["shape"]
        pixel_cm2 = tissue.pixel_area_mm2 / 100.0
        assert truth["levels"], f"{path}: no level covered"
        for level, values in truth["levels"].items():
            k = values["slice_index"]
            muscle = int((tissue.array[k] == names["skeletal_muscle"]).sum())
            assert values["muscle_area_cm2"] == pytest.approx(muscle * pixel_cm2, abs=1e-3), (path, level)
            sat = int((tissue.array[k] == names["sat"]).sum())
            assert values["sat_area_cm2"] == pytest.approx(sat * pixel_cm2, abs=1e-3), (path, level)
            assert values["z_mm"] == pytest.approx(float(tissue.slice_position_mm(k)), abs=1e-3)
            level_value = {
                v: int(kk)
                for kk, v in json.loads((path.parent / "vertebrae.labels.json").read_text()).items()
            }
            assert (vertebrae.array[k] == level_value[level]).any(), (path, level)
            height = truth["subject"]["height_m"]
            assert values["smi_cm2_m2"] == pytest.approx(values["muscle_area_cm2"] / height**2, abs=1e-2)


@needs_tree
def test_muscle_groups_map_partitions_the_muscle_and_every_key_is_defined():
    from segmentation_models.class_schema import MUSCLE_GROUP_NAMES

    for path in _truth_files():
        truth = json.loads(path.read_text())
        names = json.loads((path.parent / "muscles.labels.json").read_text())
        assert {int(k): v for k, v in names.items()} == MUSCLE_GROUP_NAMES
        groups = from_nifti(path.parent / "muscles.nii.gz").array
        tissue = from_nifti(path.parent / "tissue.nii.gz").array
        muscle = json.loads((path.parent / "tissue.labels.json").read_text())
        muscle_value = next(int(k) for k, v in muscle.items() if v == "skeletal_muscle")
        assert ((groups > 0) == (tissue == muscle_value)).all(), path
        pixel_cm2 = from_nifti(path.parent / "tissue.nii.gz").pixel_area_mm2 / 100.0
        defined = " ".join(truth["definitions"])
        for level, values in truth["levels"].items():
            k = values["slice_index"]
            for name, area in values["muscle_group_area_cm2"].items():
                value = next(int(v) for v, n in names.items() if n == name)
                assert area == pytest.approx((groups[k] == value).sum() * pixel_cm2, abs=1e-3), (path, level)
            for key in values:
                # z_mm's definition covers world_z_mm; level_mid_z_mm and muscle_voxels are self-describing
                undocumented = key not in defined and not key.endswith(("_area_cm2", "_median"))
                assert not undocumented or key in ("mr", "world_z_mm", "level_mid_z_mm", "muscle_voxels"), key
            for key in values.get("mr", {}):
                assert f"mr.{key}" in defined, key
            if values.get("trabecular_hu_mean") is not None:
                assert values["trabecular_roi_voxels"] > 0
                assert values["trabecular_hu_nominal"] is not None
                assert values["trabecular_hu_noise_free"] is not None


@needs_tree
def test_l3_single_slice_subject():
    (truth,) = sorted((SAMPLE_DICOMS / "truth" / "BM004").rglob("truth.json"))
    data = json.loads(truth.read_text())
    assert data["grid"]["shape"][0] == 1
    assert "L3" in data["levels"]


def _tiny(subject):
    """A subject reduced to small, fast series (same plan structure) for the reproducibility check."""
    tiny = AxialGrid(pixel_mm=6.0, matrix=64, slice_mm=10.0, top="L2", bottom="L4")
    studies = []
    for study in subject.studies:
        series = []
        for plan in study.series:
            if isinstance(plan, CTPlan | DixonPlan):
                series.append(dataclasses.replace(plan, grid=tiny))
            elif isinstance(plan, LocalizerPlan | DosePagePlan):
                series.append(plan)
        studies.append(dataclasses.replace(study, series=tuple(series)))
    return dataclasses.replace(subject, studies=tuple(studies))


@pytest.mark.slow
def test_generation_is_byte_reproducible(tmp_path):
    subjects = [_tiny(s) for s in roster(SEED) if s.patient_id in ("BM001", "BM002")]
    for run in ("a", "b"):
        write_samples(tmp_path / run, SEED, subjects)
    files_a = sorted(p.relative_to(tmp_path / "a") for p in (tmp_path / "a").rglob("*") if p.is_file())
    files_b = sorted(p.relative_to(tmp_path / "b") for p in (tmp_path / "b").rglob("*") if p.is_file())
    assert files_a == files_b
    assert any(p.suffix == ".gz" for p in files_a) and any("DXA" in str(p) for p in files_a)
    for rel in files_a:
        assert (tmp_path / "a" / rel).read_bytes() == (tmp_path / "b" / rel).read_bytes(), rel


def test_roster_facts_are_the_shared_table():
    facts = {
        s.patient_id: (s.sex, s.age_years, s.height_m, s.weight_kg, s.height_in_dicom) for s in roster(SEED)
    }
    assert facts == {
        "BM001": ("M", 58, 1.78, 82.0, True),
        "BM002": ("F", 74, 1.58, 48.0, True),
        "BM003": ("M", 66, 1.72, 104.0, False),
        "BM004": ("F", 61, 1.65, 70.0, False),
    }


def test_uids_follow_the_seed_only():
    def uids(seed):
        return [st.study.uid for s in roster(seed) for st in s.studies]

    assert uids(SEED) == uids(SEED)
    assert set(uids(SEED)).isdisjoint(uids(SEED + 1))
    assert len(set(uids(SEED))) == len(uids(SEED))


def test_dixon_plans_name_four_outputs_with_vendor_echo_times():
    plans = [p for s in roster(SEED) for st in s.studies for p in st.series if isinstance(p, DixonPlan)]
    assert len(plans) == 2
    for plan in plans:
        outputs = plan.outputs()
        assert len({n for n, *_ in outputs}) == 4
        te = {o.value: a.echo_time_ms for _, _, a, o in outputs}
        assert te["in_phase"] == pytest.approx(2 * te["opposed_phase"])
        if plan.field_strength_t == 1.5:
            assert (te["opposed_phase"], te["in_phase"]) == (2.3, 4.6)


def test_dxa_plans_match_intended_truth():
    by_id = {s.patient_id: s for s in roster(SEED)}
    lowest_t = {
        pid: min(site.t_score for _, site in by_id[pid].dxa.sites) for pid in ("BM001", "BM002", "BM003")
    }
    assert -2.5 < lowest_t["BM001"] < -1.0
    assert lowest_t["BM002"] <= -2.5
    assert -2.5 < lowest_t["BM003"] < -1.0
    almi = {pid: by_id[pid].dxa.alm_kg / by_id[pid].height_m ** 2 for pid in ("BM001", "BM002", "BM003")}
    assert almi["BM001"] >= 7.0 and almi["BM003"] >= 7.0  # EWGSOP2 men
    assert almi["BM002"] < 5.4  # below EWGSOP2 (5.5) and AWGS (5.4) women
