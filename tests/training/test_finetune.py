"""One-command fine-tuning on a user folder: a synthetic CT series with a Slice-O-Matic .tag on one slice."""

from __future__ import annotations

import numpy as np
from ingest.dicom_factory import make_dataset, write
from pydicom.uid import generate_uid

from imaging.segmentation.label_files.slice_o_matic_tag import write_tag
from segmentation_models.loading import load_registered, save_registered
from segmentation_models.networks import build_network
from segmentation_models.registry import read_spec
from segmentation_models.training.case import UNKNOWN, allowed_mask
from training_data import targets as tg
from training_data.finetune import FinetuneOptions, find_user_cases, finetune, user_case

from .conftest import tiny_case, tiny_spec

ALBERTA_TAG = {1: 1, 2: 2, 3: 7, 4: 5}  # TISSUE_NAMES value -> Alberta tag (muscle, IMAT, SAT, VAT)


def _user_folder(root):
    """case01/: three 8 mm CT slices of a phantom, a .tag of its truth tissue on the middle slice."""
    case = tiny_case(7)
    folder = root / "cases" / "case01"
    study, series = generate_uid(), generate_uid()
    paths = []
    for k in range(case.image.shape[0]):
        hu = np.clip(case.image[k], -1024, 3000).astype(np.int16)
        ds = make_dataset(
            study_uid=study,
            series_uid=series,
            position=(0.0, 0.0, 5.0 * k),
            pixel_spacing=(8.0, 8.0),
            slice_thickness=5.0,
            rows=hu.shape[0],
            columns=hu.shape[1],
            instance_number=k + 1,
            attrs={"PixelData": hu.tobytes()},
        )
        paths.append(write(ds, folder / f"IM{k:04d}.dcm"))
    tag = np.zeros(case.tissue.shape[1:], dtype=np.uint8)
    for value, tag_value in ALBERTA_TAG.items():
        tag[case.tissue[1] == value] = tag_value
    write_tag(paths[1].with_name(paths[1].name + ".tag"), tag)
    return root / "cases", case


def test_user_tag_case_becomes_a_one_slice_partial_target(tmp_path):
    cases_dir, truth = _user_folder(tmp_path)
    found = find_user_cases(cases_dir)
    assert [c.name for c in found] == ["case01"] and found[0].labels[0].suffix == ".tag"
    case = user_case(found[0], pixel_mm=8.0)
    assert case.train_slices == (1,)
    assert np.all(case.target[[0, 2]] == UNKNOWN)
    allowed = allowed_mask(case.target[1])
    sat = truth.tissue[1] == 3
    assert sat.any() and np.all(allowed[tg.CLASS_INDEX["subcutaneous_fat"]][sat])
    assert not np.any(allowed[tg.CLASS_INDEX["visceral_fat"]][sat])


def test_finetune_one_command_registers_a_loadable_model(tmp_path):
    cases_dir, _ = _user_folder(tmp_path)
    root = tmp_path / "registry"
    spec = tiny_spec()
    save_registered(build_network(spec), spec, root / "tiny")
    options = FinetuneOptions(
        base="tiny",
        iterations=2,
        batch_size=2,
        crop=32,
        device="cpu",
        threads=1,
        phantom_share=0.0,
        registry_root=root,
    )
    written = finetune(cases_dir, tmp_path / "site-model", options, command="test")
    again = read_spec(tmp_path / "site-model" / "model.json")
    loaded = load_registered(again)  # checksum verified
    assert loaded.weights_sha256 == written.weights_sha256
    card = (tmp_path / "site-model" / "MODEL_CARD.md").read_text()
    assert "case01 [1]" in card and "Training run" in card
