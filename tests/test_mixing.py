"""The mixing / transformation decomposition and its calibration on numpy controls."""

from __future__ import annotations

import numpy as np
import pytest

from bioattn.errors import BioattnError
from bioattn.mixing import attention_control, convex_projection, decompose, mlp_control


def test_softmax_attention_control_is_almost_all_mixing():
    responses, values = attention_control(np.random.default_rng(0))
    parts = decompose(responses, values)
    assert parts.mixing_fraction >= 0.9
    assert parts.mixing_fraction + parts.linear_fraction + parts.transform_fraction == (
        pytest.approx(1.0)
    )


def test_random_mlp_control_is_mostly_transformation():
    responses, values = mlp_control(np.random.default_rng(1))
    parts = decompose(responses, values)
    assert parts.mixing_fraction <= 0.5
    assert parts.transform_fraction >= 0.4


def test_linear_but_not_convex_mixtures_land_in_the_linear_part():
    rng = np.random.default_rng(2)
    _, values = attention_control(rng, n_trials=500)
    # difference of two items: linear (weights +1, -1), never convex
    responses = values[:, 0] - values[:, 1] + 30.0
    parts = decompose(responses, values)
    # the convex hull still catches part of it (measured: mixing 0.36, linear 0.64)
    assert parts.linear_fraction > parts.mixing_fraction
    assert parts.transform_fraction < 1e-6


def test_convex_projection_recovers_simplex_weights():
    rng = np.random.default_rng(3)
    values = rng.uniform(0, 50, size=(4, 16))
    w = np.array([0.5, 0.3, 0.2, 0.0])
    recovered = convex_projection(w @ values, values)
    np.testing.assert_allclose(recovered, w, atol=1e-6)
    outside = convex_projection(values[0] * 3.0, values)
    assert outside.min() >= 0 and outside.sum() == pytest.approx(1.0)


def test_absent_items_get_no_weight():
    responses, values = attention_control(np.random.default_rng(4), n_trials=200)
    mask = np.ones(values.shape[:2], dtype=bool)
    mask[:, 3] = False
    parts = decompose(responses, values, mask)
    assert np.all(parts.convex_weights[:, 3] == 0)


@pytest.mark.parametrize(
    ("responses", "values", "message"),
    [
        (np.zeros((5, 3)), np.zeros((5, 2, 4)), "values"),
        (np.zeros(5), np.zeros((5, 2, 3)), "responses"),
        (np.full((5, 3), np.nan), np.zeros((5, 2, 3)), "NaN"),
        (np.ones((5, 3)), np.ones((5, 2, 3)), "variance"),
    ],
)
def test_bad_inputs(responses, values, message):
    with pytest.raises(BioattnError, match=message):
        decompose(responses, values)
