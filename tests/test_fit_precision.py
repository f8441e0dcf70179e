"""KeyPrecisionAttention: von Mises matches separate key precision κ from selectivity β."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import approx_fprime

from bioattn.errors import BioattnError
from bioattn.fit import (
    SoftmaxAttention,
    TrialSet,
    compare_models,
    fit_by_level,
    random_trialset,
    simulate_counts,
)
from bioattn.fit.base import Design
from bioattn.fit.precision import KeyPrecisionAttention

TRUE = dict(baseline=3.0, gain=1.0, beta=4.0, kappa=3.0, sink=0.5)


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    X = random_trialset(1500, 4, 16, rng)
    y = simulate_counts(KeyPrecisionAttention(sink=True).set_fitted(**TRUE), X, rng)
    return X, y


def test_gradient_matches_finite_differences(data):
    X, y = data
    model = KeyPrecisionAttention(sink=True)
    design = Design(X.subset(np.arange(200)), y[:200].astype(float))
    layout = model._layout(X.d_q, X.d_k, X.n_items, design)
    objective = model._objective(layout, design)
    x0 = np.random.default_rng(1).normal(0.0, 0.5, layout.size)
    numeric = approx_fprime(x0, lambda x: objective(x)[0], 1e-6)
    np.testing.assert_allclose(objective(x0)[1], numeric, atol=1e-4 * np.abs(numeric).max())


def test_beta_and_key_precision_are_recovered_and_beat_the_bilinear_match(data):
    X, y = data
    fitted = KeyPrecisionAttention(sink=True).fit(X, y)
    assert fitted.n_params_ == 5
    assert fitted.beta_ == pytest.approx(TRUE["beta"], rel=0.1)
    assert fitted.kappa_ == pytest.approx(TRUE["kappa"], rel=0.1)
    comparison = compare_models(
        X, y, {"softmax": SoftmaxAttention(sink=True), "key": KeyPrecisionAttention(sink=True)}
    )
    assert comparison.attrs["best_model"] == "key"


def test_fit_by_level_reports_key_precision_with_intervals():
    rng = np.random.default_rng(2)
    parts, levels = [], []
    for kappa in (0.5, 4.0):
        X = random_trialset(800, 4, 16, rng)
        truth = KeyPrecisionAttention().set_fitted(baseline=3.0, gain=1.0, beta=5.0, kappa=kappa)
        parts.append((X, simulate_counts(truth, X, rng)))
        levels.append(np.full(800, kappa))
    X = TrialSet(*(np.concatenate([getattr(p[0], n) for p in parts]) for n in
                   ("values", "keys", "query", "drive", "mask")), parts[0][0].duration)  # fmt: skip
    y = np.concatenate([p[1] for p in parts])
    per_level = fit_by_level(X, y, np.concatenate(levels), KeyPrecisionAttention(), n_boot=10)
    kappa = per_level["kappa"].values
    assert kappa[0] < 1.5 and kappa[1] > 2.5
    assert np.all(per_level["kappa_ci_low"].values <= kappa)
    assert np.all(kappa <= per_level["kappa_ci_high"].values)


def test_needs_matching_query_and_key_dimensions(data):
    X, y = data
    wide = TrialSet(X.values, X.keys, np.hstack([X.query, X.query]), X.drive, X.mask, X.duration)
    with pytest.raises(BioattnError, match="d_q = d_k"):
        KeyPrecisionAttention().fit(wide, y)
    with pytest.raises(BioattnError, match="kappa must be a finite number > 0"):
        KeyPrecisionAttention().set_fitted(baseline=1.0, gain=1.0, beta=1.0, kappa=-1.0)


def _l4(truths: list[dict], seed: int) -> dict:
    """L4 with key precision on data whose level j is simulated from ``truths[j]``
    (KeyPrecisionAttention parameters), 600 trials per level."""
    from bioattn.fit import verdict_ladder
    from bioattn.fit.models import MODELS

    rng = np.random.default_rng(seed)
    X = random_trialset(600 * len(truths), 4, 16, rng)
    levels = np.repeat(np.arange(len(truths), dtype=float), 600)
    y = np.zeros((X.n_trials, X.n_out), dtype=int)
    for j, truth in enumerate(truths):
        index = np.flatnonzero(levels == j)
        model = KeyPrecisionAttention().set_fitted(baseline=3.0, gain=1.0, **truth)
        y[index] = simulate_counts(model, X.subset(index), rng)
    per_level = fit_by_level(X, y, levels, SoftmaxAttention(), n_boot=2)
    comparison = compare_models(
        X, y, {name: MODELS[name] for name in ("softmax", "linear_gain", "sigmoid_gate")}, 3
    )
    softmax = SoftmaxAttention().fit(X, y)
    with_kappa = verdict_ladder(X, y, comparison, softmax, per_level=per_level, key_precision=True)
    without = verdict_ladder(X, y, comparison, softmax, per_level=per_level)
    return with_kappa["L4"], without["L4"]


def test_l4_names_key_precision_when_only_kappa_changes_with_level():
    """Levels that differ in κ alone: κ per level beats β per level (of the softmax and of the
    key-precision model) and is named, with its per-level values recovered."""
    kappas = (0.5, 2.0, 6.0)
    level4, without = _l4([{"beta": 5.0, "kappa": k} for k in kappas], seed=5)
    assert level4["key_precision"]["distinct"]
    assert level4["parameter"] == "kappa" and level4["holds"]
    np.testing.assert_allclose(level4["restricted"]["kappa"]["values"], kappas, rtol=0.3)
    assert "kappa" not in without["restricted"] and without["key_precision"] is None


def test_l4_does_not_name_key_precision_when_a_sharp_match_changes_its_beta():
    """Levels that differ in β of a sharp von Mises match (κ = 4 fixed): the softmax's bilinear
    match fits every level worse than the key-precision model, but κ per level is not better
    than β per level of that model, so κ is not distinct."""
    level4, _ = _l4([{"beta": b, "kappa": 4.0} for b in (1.0, 3.0, 8.0)], seed=6)
    assert not level4["key_precision"]["distinct"]
    assert level4["key_precision"]["log_likelihood_over_beta"] < 5.0
    assert "kappa" not in level4["restricted"]
    # The all-free reference is the better family: the key-precision fits per level.
    assert level4["free_bic"] == pytest.approx(level4["key_precision"]["free_bic"])
