"""The real CT with TotalSegmentator labels as a partial-label training case (read in place)."""

from __future__ import annotations

import numpy as np
import pytest

from segmentation_models.training.case import allowed_mask, bit
from training_data import data
from training_data import targets as tg


@pytest.mark.shared
def test_real_ct_gives_partial_targets_and_keeps_held_out_slices_apart(shared_data):
    case_dir = shared_data / "real" / "ct_upper_abdomen_b"
    volume = data.read_dicom_series(case_dir / "dicom")
    case = data.labelled_case(
        "real", volume, case_dir / "totalsegmentator_total.nii.gz", 1.5, "real", exclude_slices=(18, 19)
    )
    assert case.image.shape[0] == volume.shape[0] == 20
    assert case.spacing_kji[1] == pytest.approx(1.5, rel=0.01)
    assert 18 not in case.train_slices and 19 not in case.train_slices and 0 in case.train_slices
    allowed = allowed_mask(case.target)
    paraspinal = case.target == bit(tg.CLASS_INDEX["paraspinal"])
    assert paraspinal.sum() > 1000
    # TotalSegmentator background: could be fat or unsegmented muscle, never forced to background
    unlabelled = allowed[tg.CLASS_INDEX["subcutaneous_fat"]] & allowed[0]
    assert unlabelled.any() and not np.any(allowed[tg.CLASS_INDEX["paraspinal"]][unlabelled])
