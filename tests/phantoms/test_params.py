"""SubjectParams validation and sample_params determinism."""

from __future__ import annotations

import numpy as np
import pytest

from phantoms.params import SubjectParams, sample_params


def test_sample_params_is_reproducible_and_overridable() -> None:
    a = sample_params(np.random.default_rng(5), "S1")
    b = sample_params(np.random.default_rng(5), "S1")
    assert a == b
    c = sample_params(np.random.default_rng(5), "S1", sex="F", imat_fraction=0.2)
    assert c.sex == "F" and c.imat_fraction == 0.2


def test_sampled_population_is_plausible() -> None:
    rng = np.random.default_rng(0)
    people = [sample_params(rng, f"P{i}") for i in range(200)]
    assert {p.sex for p in people} == {"M", "F"}
    assert all(20 <= p.muscle_hu <= 60 for p in people)
    assert np.mean([p.trabecular_hu for p in people]) > 80


def test_unknown_override_is_refused() -> None:
    with pytest.raises(TypeError, match="unknown"):
        sample_params(np.random.default_rng(0), shoe_size=44)


@pytest.mark.parametrize(("field", "value"), [("sex", "X"), ("imat_fraction", 0.5), ("height_m", 3.0)])
def test_out_of_range_values_are_rejected(field: str, value: object) -> None:
    base = dict(subject_id="P", sex="M", age_years=50, height_m=1.75, weight_kg=80, seed=1)
    base[field] = value
    with pytest.raises(ValueError):
        SubjectParams(**base)
