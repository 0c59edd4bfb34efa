"""A network only runs on the modality it was trained on; defaults are one model per modality."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from imaging.segmentation.source import models_for
from imaging.series_facts import Modality, SeriesFacts
from imaging.volume import Volume
from segmentation_models.registry import DEFAULT_MODEL_NAMES


def _model(name: str, modality: str) -> SimpleNamespace:
    return SimpleNamespace(spec=SimpleNamespace(name=name, modality=modality))


def _volume(modality: str) -> Volume:
    return Volume(np.zeros((2, 4, 4), np.float32), np.eye(4), SeriesFacts(modality=Modality.of(modality)))


def test_only_models_of_the_series_modality_run() -> None:
    ct, mr = _model("ct-net", "CT"), _model("mr-net", "MR")
    assert models_for([ct, mr], _volume("MR")) == (mr,)
    assert models_for([ct, mr], _volume("CT")) == (ct,)


def test_no_fitting_model_is_a_clear_refusal() -> None:
    with pytest.raises(ValueError, match=r"no segmentation model for MR series: given ct-net \(CT\)"):
        models_for([_model("ct-net", "CT")], _volume("MR"))


def test_the_default_ct_model_is_registered() -> None:
    from segmentation_models.registry import registered_names

    assert DEFAULT_MODEL_NAMES["CT"] in registered_names()
