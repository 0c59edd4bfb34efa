"""A real contrast CT (Siemens Biograph mCT, JPEG 2000, SOPClassUID emptied inside the datasets).

Data: ../shared/data/real/ct_upper_abdomen_b (read in place). TotalSegmentator's label map for the
same series is stored LAS while the DICOM is LPS: it must land on our grid through the affines alone,
and its organs must sit on plausible HU, which checks rescale and world geometry together.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from scipy import ndimage

from imaging.ingest.assemble import assemble_volume
from imaging.ingest.model import Instance, Source
from imaging.volume import Volume, from_nifti

pytestmark = pytest.mark.shared


@pytest.fixture(scope="module")
def case(shared_data: Path) -> Path:
    return shared_data / "real" / "ct_upper_abdomen_b"


@pytest.fixture(scope="module")
def ct(case: Path) -> Volume:
    files = sorted(p for p in (case / "dicom").iterdir() if p.is_file())
    return assemble_volume([Instance(Source(f), Source(f).read(stop_before_pixels=True)) for f in files])


@pytest.fixture(scope="module")
def labels_on_ct(case: Path, ct: Volume) -> tuple[np.ndarray, dict[str, int]]:
    """The label map rearranged onto the CT grid using only the two affines."""
    seg = from_nifti(case / "totalsegmentator_total.nii.gz")
    mapping = np.linalg.inv(ct.affine) @ seg.affine  # seg index -> CT index
    rounded = np.round(mapping)
    assert np.allclose(mapping, rounded, atol=1e-4), "label grid is not the CT grid up to a flip/permutation"
    idx = np.indices(seg.shape).reshape(3, -1)
    target = (rounded[:3, :3] @ idx + rounded[:3, 3:4]).astype(int)
    out = np.zeros(ct.shape, dtype=seg.array.dtype)
    out[target[0], target[1], target[2]] = seg.array.reshape(-1)
    names = {
        n: int(k) for k, n in json.loads((case / "totalsegmentator_total.labels.json").read_text()).items()
    }
    return out, names


def test_shape_spacing_and_meta(ct: Volume) -> None:
    assert ct.shape == (20, 512, 512)
    np.testing.assert_allclose(ct.spacing_xyz, [0.9765625, 0.9765625, 2.0], atol=1e-4)
    assert ct.array.dtype == np.int16  # slope 1, intercept -1024: exact integer HU
    assert ct.meta.units == "HU"
    assert ct.meta.sop_class_uid == "1.2.840.10008.5.1.4.1.1.2"  # recovered from the file meta
    assert ct.meta.contrast["ContrastBolusAgent"] == "APPLIED"
    assert ct.meta.patient_weight_kg == 79.0
    assert ct.meta.patient_size_m is None  # no height in the file: unknown, not guessed
    assert ct.meta.warnings == () and ct.meta.corrections == ()


def test_plausible_hounsfield_units(ct: Volume) -> None:
    a = ct.array
    assert abs(float(np.median(a[a < -900])) + 1000) < 30  # air
    hist, edges = np.histogram(a[(a > -250) & (a < -20)], bins=46, range=(-250, -20))
    assert -130 <= edges[hist.argmax()] <= -70  # the fat peak


def test_label_map_lands_on_plausible_tissue(
    ct: Volume, labels_on_ct: tuple[np.ndarray, dict[str, int]]
) -> None:
    """A flip of the rows (LAS vs LPS) is the only difference; organs sit on their HU after it."""
    seg, names = labels_on_ct

    def median_hu(*organs: str, erode: bool = False) -> float:
        mask = np.isin(seg, [names[o] for o in organs])
        if erode:  # keep the muscle core, away from fat at its border
            mask = ndimage.binary_erosion(mask, structure=np.ones((1, 3, 3), bool))
        return float(np.median(ct.array[mask]))

    assert 30 <= median_hu("autochthon_left", "autochthon_right", erode=True) <= 70
    assert 60 <= median_hu("liver") <= 160  # contrast-enhanced parenchyma
    assert median_hu("vertebrae_T12") > 150
    assert median_hu("aorta") > 100  # contrast in the aorta

    # a deliberately wrong placement (rows not flipped) puts much of the liver on air, fat and bone
    def soft_tissue_fraction(labels: np.ndarray) -> float:
        hu = ct.array[labels == names["liver"]]
        return float(np.mean((hu > 0) & (hu < 200)))

    assert soft_tissue_fraction(seg) > 0.9
    assert soft_tissue_fraction(seg[:, ::-1, :]) < 0.8
