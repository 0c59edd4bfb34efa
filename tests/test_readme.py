"""The README keeps the promises users read first: two commands, the default criteria as the code has them,
and a sample output consistent with the code's contract and with the sample truth."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from imaging.classification import DEFAULT_DESCRIPTION, ClassificationInputs, classify
from imaging.classification.result import Status
from imaging.outputs.results_json import LEVEL_METRICS, SUBJECT_KEYS

README = Path(__file__).resolve().parents[1] / "README.md"


def _first_code_block() -> list[str]:
    text = README.read_text(encoding="utf-8")
    block = text.split("```", 2)[1]
    return [line for line in block.splitlines() if line.strip()]


def test_readme_opens_with_the_run_and_test_commands() -> None:
    run, test = _first_code_block()
    assert "bonemuscle analyze sample_dicoms" in run and "torch==2.13.0" in run
    assert "pytest" in test and "torch==2.13.0" in test


def test_readme_states_the_default_criteria_set_the_code_uses() -> None:
    assert f"> {DEFAULT_DESCRIPTION}" in README.read_text(encoding="utf-8")


# --- the sample-output block: a real run's excerpt, checked against the code and the sample truth -------

SAMPLES = README.parent / "sample_dicoms"
# Network labels, not truth labels: the same tolerance as the sample Dixon test in test_mr_metrics.py.
NETWORK_FF_TOLERANCE = 2.5


def _sample_block() -> str:
    text = README.read_text(encoding="utf-8")
    start, end = "<!-- sample-output:start -->", "<!-- sample-output:end -->"
    assert start in text and end in text
    return text.split(start, 1)[1].split(end, 1)[0]


def _fenced(block: str) -> tuple[list[str], list[dict]]:
    """(console lines, parsed JSON excerpts) of the block's code fences, in order."""
    parts = block.split("```")[1::2]
    console = [line for line in parts[0].splitlines() if line.strip()]
    excerpts = [json.loads(p.removeprefix("json")) for p in parts[1:]]
    return console, excerpts


def _truth_folder(patient: str, folder_prefix: str) -> Path:
    paths = sorted((SAMPLES / "truth" / patient).glob(f"{folder_prefix}*/truth.json"))
    if not paths:
        pytest.skip(f"sample truth of {patient} {folder_prefix} absent (generate sample_dicoms/)")
    return paths[0].parent


def _truth(patient: str, folder_prefix: str) -> dict:
    return json.loads((_truth_folder(patient, folder_prefix) / "truth.json").read_text())


def _prose(block: str) -> str:
    """The text after the block's last code fence, whitespace collapsed."""
    return " ".join(block.split("```")[-1].split())


def test_sample_output_quotes_contract_keys_and_known_statuses() -> None:
    _, (ct, mr) = _fenced(_sample_block())
    assert set(ct["subject"]) == set(SUBJECT_KEYS)
    l3 = ct["levels"]["L3"]
    assert {"slice_index", "z_mm", *LEVEL_METRICS} <= set(l3)
    produced = classify(ClassificationInputs())  # every configured set, whatever the inputs
    assert set(ct["classification"]) <= set(produced)
    assert {c["status"] for c in ct["classification"].values()} <= {s.value for s in Status}
    assert set(mr["mr"]["marrow_fat_fraction_pct"]) <= {"L1", "L2", "L3", "L4"}
    assert mr["mr"]["fat_fraction_source"] == "scanner_water_fat" and mr["mr"]["folded"] is False


def test_sample_output_console_agrees_with_the_excerpt_and_the_sample_tree() -> None:
    console, (ct, _) = _fenced(_sample_block())
    units = [line.split(": ok:")[0] for line in console if ": ok:" in line]
    assert console[-1] == f"{len(units)} analysed, 0 failed; results in results"
    bm001 = next(line for line in console if line.startswith("BM001 "))
    l3 = ct["levels"]["L3"]
    assert f"L3 slice {l3['slice_index']}, SMI {l3['smi_cm2_m2']:.1f} cm²/m²" in bm001
    if not SAMPLES.is_dir():
        pytest.skip("sample_dicoms/ absent")
    from imaging.pipeline.run import plan_units
    from imaging.pipeline.series_job import unit_label

    planned, _, _ = plan_units(SAMPLES)
    assert units == [unit_label(u) for u in planned]


def test_sample_output_values_match_the_sample_truth() -> None:
    block = _sample_block()
    _, (ct, mr) = _fenced(block)
    ct_truth = _truth("BM001", "CT_20260314_S002_")
    mr_truth = _truth("BM002", "MR_20260512_")
    subject = ct_truth["subject"]
    assert [ct["subject"][k] for k in ("sex", "age_years", "height_m", "weight_kg")] == [
        subject[k] for k in ("sex", "age_years", "height_m", "weight_kg")
    ]
    assert ct["subject"]["bmi_kg_m2"] == pytest.approx(
        subject["weight_kg"] / subject["height_m"] ** 2, abs=0.01
    )
    assert ct["levels"]["L3"]["slice_index"] == ct_truth["levels"]["L3"]["slice_index"]
    truth_l3 = mr_truth["levels"]["L3"]["mr"]
    for level, value in mr["mr"]["marrow_fat_fraction_pct"].items():
        expected = mr_truth["levels"][level]["mr"]["marrow_ff_pct"]
        assert value == pytest.approx(expected, abs=NETWORK_FF_TOLERANCE), level
    psoas = mr["mr"]["muscle_fat_fraction_pct"]["psoas"]
    assert psoas == pytest.approx(truth_l3["muscle_group_ff_pct"]["psoas"], abs=NETWORK_FF_TOLERANCE)
    # The prose beside the excerpt quotes the truth and the excerpt's own numbers.
    prose = _prose(block)
    groups = truth_l3["muscle_group_ff_pct"]
    l3, l3_truth = ct["levels"]["L3"], ct_truth["levels"]["L3"]
    paraspinal = mr["mr"]["muscle_fat_fraction_pct"]["paraspinal"]
    for quoted in (
        f"L3 truth says muscle {l3_truth['muscle_area_cm2']:.1f} cm² "
        f"and IMAT {l3_truth['imat_area_cm2']:.1f} cm²",
        f"network's compartments give {l3['muscle_area_cm2']:.1f} and {l3['imat_area_cm2']:.1f}",
        f"paraspinal {paraspinal:.1f} % here against {groups['paraspinal']:.1f} % muscle-only in truth",
        f"{mr['mr']['muscle_fat_fraction_pct']['psoas']:.1f} % against {groups['psoas']:.1f} %",
        f"L1 marrow {mr['mr']['marrow_fat_fraction_pct']['L1']:.1f} % "
        f"against {mr_truth['levels']['L1']['mr']['marrow_ff_pct']:.1f} %",
    ):
        assert quoted in prose, quoted


def test_sample_output_reference_standard_figures_are_recomputed() -> None:
    """The prose's "windows inside the true compartments" areas: the pipeline's own CT rule applied to the
    written BM001 image inside the truth's muscle + IMAT voxels, at the truth L3 slice."""
    from imaging.measurements.tissue import slice_tissue
    from imaging.segmentation.label_files.grid import labels_onto_grid
    from imaging.segmentation.label_files.nifti import read_nifti_labels
    from imaging.segmentation.labels import LabelMap
    from imaging.segmentation.tissue_rules import tissue_from_ct
    from segmentation_models.networks import COMPARTMENT_CLASSES
    from training_data.data import read_dicom_series

    folder = _truth_folder("BM001", "CT_20260314_S002_")
    truth = json.loads((folder / "truth.json").read_text())["levels"]["L3"]
    series = SAMPLES / "BM001" / "CT_20260314" / "S002_Abdomen_3.0_Br40_3"
    if not series.is_dir():
        pytest.skip(f"sample series {series} absent (generate sample_dicoms/)")
    volume = read_dicom_series(series)
    k = truth["slice_index"]
    labels = read_nifti_labels(folder / "tissue.nii.gz")
    tissue = LabelMap(labels_onto_grid(labels.array, labels.affine, volume).array[k], labels.names)
    # the truth map lands on the series grid voxel for voxel
    assert slice_tissue(tissue, volume.pixel_area_mm2).muscle_area_cm2 == pytest.approx(
        truth["muscle_area_cm2"], rel=1e-3
    )
    # one muscle compartment (any muscle group: the windows are the same) around truth muscle + IMAT
    muscle = {name: value for value, name in COMPARTMENT_CLASSES.items()}["other_muscle"]
    compartments = LabelMap(
        np.where(tissue.mask_any(["skeletal_muscle", "imat"]), muscle, 0).astype(np.uint8),
        dict(COMPARTMENT_CLASSES),
    )
    reference = tissue_from_ct(compartments, volume.array[k]).tissue
    areas = slice_tissue(reference, volume.pixel_area_mm2)
    prose = _prose(_sample_block())
    assert f"true* compartments give {areas.muscle_area_cm2:.1f} and {areas.imat_area_cm2:.1f}" in prose
