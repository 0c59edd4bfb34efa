"""TotalSegmentator mapping, on the real label files in ../shared/data (read in place)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from imaging.ingest.assemble import assemble_volume
from imaging.ingest.model import Instance, Source
from imaging.segmentation.label_files import load_precomputed
from imaging.segmentation.label_files import totalsegmentator as ts
from imaging.volume import from_nifti

DOC = Path(ts.__file__).with_name("TOTALSEGMENTATOR.md")


def test_mapping_rules_by_name():
    assert ts.map_class("vertebrae_T12") == ts.MappedClass("bone", "T12")
    assert ts.map_class("vertebrae_S1") == ts.MappedClass("bone", "S1")
    assert ts.map_class("vertebrae") == ts.MappedClass("bone")  # total_mr: no level
    assert ts.map_class("autochthon_left").compartment == "paraspinal"
    assert ts.map_class("iliopsoas_right").compartment == "psoas"
    assert ts.map_class("gluteus_medius_left").compartment == "other_muscle"
    assert ts.map_class("rib_left_11").compartment == "bone"
    assert ts.map_class("sacrum").compartment == "bone"
    assert ts.map_class("liver").compartment == "other_soft_tissue"
    assert ts.map_class("intervertebral_discs").compartment == "other_soft_tissue"
    assert any(item.startswith("sat") for item in ts.CANNOT_DERIVE)


@pytest.mark.shared
def test_generated_mapping_document_is_current(shared_data):
    assert DOC.read_text(encoding="utf-8") == ts.mapping_markdown(
        ts.names_from_label_files((shared_data / "real").glob("*/totalsegmentator_total*.labels.json"))
    ), "regenerate TOTALSEGMENTATOR.md with mapping_markdown() over the shared label tables"


@pytest.mark.shared
def test_real_ct_labels_map_onto_the_dicom_grid(shared_data):
    case = shared_data / "real" / "ct_upper_abdomen_b"
    files = sorted(p for p in (case / "dicom").iterdir() if p.is_file())
    ct = assemble_volume([Instance(Source(f), Source(f).read(stop_before_pixels=True)) for f in files])
    seg = load_precomputed(case / "totalsegmentator_total.nii.gz", ct)
    # independent placement: the stored grid is the CT grid up to a flip (LAS vs LPS)
    raw = from_nifti(case / "totalsegmentator_total.nii.gz")
    mapping = np.round(np.linalg.inv(ct.affine) @ raw.affine)
    idx = np.indices(raw.shape).reshape(3, -1)
    target = (mapping[:3, :3] @ idx + mapping[:3, 3:4]).astype(int)
    on_ct = np.zeros(ct.shape, dtype=raw.array.dtype)
    on_ct[target[0], target[1], target[2]] = raw.array.reshape(-1)
    value = {
        n: int(k) for k, n in json.loads((case / "totalsegmentator_total.labels.json").read_text()).items()
    }

    autochthon = np.isin(on_ct, [value["autochthon_left"], value["autochthon_right"]])
    assert autochthon.any()
    assert np.array_equal(seg.muscles.mask("paraspinal"), autochthon)
    assert np.array_equal(seg.vertebrae.mask("T12"), on_ct == value["vertebrae_T12"])
    assert seg.vertebrae.mask("T12").any()
    # HU windows inside the paraspinal mask: most of it is muscle, and only muscle/IMAT/unlabelled
    tissue_in = seg.tissue.array[autochthon]
    names = {seg.tissue.names[int(v)] for v in np.unique(tissue_in) if v}
    assert names <= {"skeletal_muscle", "imat"}
    assert np.mean(seg.tissue.mask("skeletal_muscle")[autochthon]) > 0.7
    assert not seg.tissue.mask("sat").any() and not seg.tissue.mask("vat").any()
    assert "partial" in seg.meta and any("TotalSegmentator" in w for w in seg.warnings)
