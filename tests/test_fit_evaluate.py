"""bioattn.fit.evaluate: model comparison, recovery checks, per-level fits, verdict ladder."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from bioattn.errors import BioattnError
from bioattn.fit import (
    MODELS,
    LinearGain,
    SigmoidGate,
    SoftmaxAttention,
    Uniform,
    compare_models,
    fit_by_level,
    model_recovery,
    parameter_recovery,
    random_trialset,
    recovery_accuracy,
    simulate_counts,
    verdict_ladder,
)

PHI = 0.3
#: Unit-norm score matrix: items whose feature is 0.3 rad from the cue match best.
M_TRUE = np.array([[np.cos(PHI), -np.sin(PHI)], [np.sin(PHI), np.cos(PHI)]]) / np.sqrt(2)
SOFTMAX = dict(beta=3.0, M=M_TRUE, baseline=5.0, gain=1.0)
LINEAR_GAIN = dict(a=1.5, M=M_TRUE, baseline=5.0, gain=0.4)
SIGMOID_GATE = dict(beta=5.0, M=M_TRUE, b0=-1.0, baseline=5.0, gain=0.8)


def _design_and_counts(model, n_trials=800, seed=0):
    rng = np.random.default_rng(seed)
    X = random_trialset(n_trials, 6, 8, rng)
    return X, simulate_counts(model, X, rng)


@pytest.fixture(scope="module")
def softmax_data():
    X, y = _design_and_counts(SoftmaxAttention().set_fitted(**SOFTMAX))
    return X, y, compare_models(X, y, n_folds=3)


@pytest.fixture(scope="module")
def linear_gain_data():
    X, y = _design_and_counts(LinearGain().set_fitted(**LINEAR_GAIN), seed=1)
    return X, y, compare_models(X, y, n_folds=3)


def _levelled(changes: dict[str, tuple[float, ...]], n_per_level: int = 1500, seed: int = 3):
    """One design; the trials of level j simulated with each parameter p = changes[p][j]."""
    rng = np.random.default_rng(seed)
    n_levels = len(next(iter(changes.values())))
    X = random_trialset(n_per_level * n_levels, 6, 8, rng)
    levels = np.repeat(np.arange(n_levels, dtype=float), n_per_level)
    y = np.zeros((X.n_trials, X.n_out), dtype=int)
    for j in range(n_levels):
        index = np.flatnonzero(levels == j)
        level_params = {name: values[j] for name, values in changes.items()}
        model = SoftmaxAttention().set_fitted(**{**SOFTMAX, **level_params})
        y[index] = simulate_counts(model, X.subset(index), rng)
    return X, y, levels


# --------------------------------------------------------------------------------------------
# compare_models
# --------------------------------------------------------------------------------------------


def test_compare_models_picks_softmax_on_softmax_data(softmax_data):
    X, y, comparison = softmax_data
    assert isinstance(comparison, xr.Dataset)
    assert list(comparison["model"].values) == list(MODELS)
    assert comparison.attrs["best_model"] == "softmax"
    assert float(comparison["cv_bits_per_spike"].sel(model="uniform")) == 0.0
    assert float(comparison["cv_bits_per_spike"].sel(model="softmax")) > 0.0
    folds = comparison["cv_fold_log_likelihood"]
    assert folds.sizes["fold"] == 3
    np.testing.assert_allclose(folds.sum("fold"), comparison["cv_log_likelihood"])
    k, ll = comparison["n_params"], comparison["log_likelihood"]
    np.testing.assert_allclose(comparison["aic"], 2 * k - 2 * ll)
    np.testing.assert_allclose(comparison["bic"], k * np.log(X.n_trials) - 2 * ll)
    assert int(comparison["n_params"].sel(model="uniform")) == 2
    assert comparison["bic"].idxmin().item() == "softmax"
    per_trial = comparison["cv_trial_log_likelihood"]
    np.testing.assert_allclose(per_trial.sum("trial"), comparison["cv_log_likelihood"])


@pytest.mark.parametrize("name", list(MODELS))
def test_trial_log_likelihoods_sum_to_the_total(name, softmax_data):
    X, y, _ = softmax_data
    model = MODELS[name](n_starts=2).fit(X.subset(np.arange(200)), y[:200])
    per_trial = model.trial_log_likelihood(X, y)
    assert per_trial.shape == (X.n_trials,)
    assert per_trial.sum() == pytest.approx(model.log_likelihood(X, y), rel=1e-10)


def test_compare_models_takes_a_subset_and_instances(softmax_data):
    X, y, full = softmax_data
    subset = compare_models(
        X, y, models={"softmax": SoftmaxAttention(), "gate": SigmoidGate}, n_folds=3
    )
    assert list(subset["model"].values) == ["softmax", "gate"]
    # Uniform is still the bits-per-spike reference, with the same folds.
    np.testing.assert_allclose(
        subset["cv_bits_per_spike"].sel(model="softmax"),
        full["cv_bits_per_spike"].sel(model="softmax"),
    )


# --------------------------------------------------------------------------------------------
# recovery
# --------------------------------------------------------------------------------------------


def test_model_recovery_on_a_four_model_subset():
    rng = np.random.default_rng(10)
    X = random_trialset(1000, 8, 16, rng)
    models = {
        "softmax": SoftmaxAttention().set_fitted(**SOFTMAX),
        "linear_gain": LinearGain().set_fitted(**LINEAR_GAIN),
        "sigmoid_gate": SigmoidGate().set_fitted(**SIGMOID_GATE),
        "uniform": Uniform().set_fitted(baseline=5.0, gain=1.0),
    }
    confusion = model_recovery(X, models, rng, n_datasets=2)
    assert confusion.dims == ("true", "chosen")
    assert list(confusion["true"].values) == list(models)
    assert int(confusion.sum()) == 8
    assert recovery_accuracy(confusion) >= 0.9


def test_recovery_accuracy_is_the_trace_fraction():
    assert recovery_accuracy(np.array([[3, 1], [0, 4]])) == pytest.approx(7 / 8)


def test_parameter_recovery_covers_the_true_beta():
    rng = np.random.default_rng(5)
    X = random_trialset(3000, 8, 16, rng)
    true = SoftmaxAttention(sink=True).set_fitted(**SOFTMAX, sink=-1.0)
    report = parameter_recovery(true, X, rng, n_boot=50)
    assert set(report) >= {"beta", "baseline", "gain", "sink", "M_cosine"}
    beta = report["beta"]
    assert beta["true"] == pytest.approx(3.0)
    assert beta["ci"][0] < beta["refit"] < beta["ci"][1]
    assert beta["inside"]
    assert report["M_cosine"] > 0.99


# --------------------------------------------------------------------------------------------
# fit_by_level
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def beta_levels():
    X, y, levels = _levelled({"beta": (1.0, 3.0, 6.0)})
    return X, y, levels, fit_by_level(X, y, levels, n_boot=10)


def test_fit_by_level_recovers_an_increasing_beta(beta_levels):
    _, _, _, per_level = beta_levels
    assert list(per_level["level"].values) == [0.0, 1.0, 2.0]
    beta = per_level["beta"].values
    assert np.all(np.diff(beta) > 0)
    np.testing.assert_allclose(beta, [1.0, 3.0, 6.0], rtol=0.25)
    assert {"sink", "baseline", "gain", "log_likelihood", "n_trials"} <= set(per_level)
    assert np.all(per_level["beta_ci_low"] <= per_level["beta"])
    assert np.all(per_level["beta"] <= per_level["beta_ci_high"])
    assert list(per_level["n_trials"].values) == [1500, 1500, 1500]


def test_fit_by_level_rejects_levels_of_the_wrong_length(beta_levels):
    X, y, levels, _ = beta_levels
    with pytest.raises(BioattnError, match="levels"):
        fit_by_level(X, y, levels[:-1])


# --------------------------------------------------------------------------------------------
# verdict ladder
# --------------------------------------------------------------------------------------------


def test_verdict_reaches_level_3_on_softmax_data(softmax_data):
    X, y, comparison = softmax_data
    verdict = verdict_ladder(X, y, comparison, SoftmaxAttention().fit(X, y))
    assert verdict["L1"]["holds"] and verdict["L2"]["holds"] and verdict["L3"]["holds"]
    assert verdict["L4"] is None
    assert verdict["verdict_level"] == 3
    assert verdict["L2"]["spearman_rho"] > 0
    assert verdict["L3"]["margin"] > 0


def test_verdict_fails_l3_on_linear_gain_data(linear_gain_data):
    X, y, comparison = linear_gain_data
    verdict = verdict_ladder(X, y, comparison, SoftmaxAttention().fit(X, y))
    assert not verdict["L3"]["holds"]
    assert verdict["L3"]["best_model"] == "linear_gain"
    assert not verdict["L1"]["holds"]
    assert verdict["verdict_level"] == 0


def test_l2_with_ground_truth_weights(softmax_data):
    X, y, comparison = softmax_data
    softmax = SoftmaxAttention().fit(X, y)
    truth = SoftmaxAttention().set_fitted(beta=3.0, M=np.eye(2) / np.sqrt(2), baseline=5.0, gain=1)
    verdict = verdict_ladder(X, y, comparison, softmax, ground_truth_weights=truth.weights(X))
    assert verdict["L2"]["weights"] == "ground_truth"
    assert verdict["L2"]["holds"]
    rng = np.random.default_rng(0)
    shuffled = verdict_ladder(
        X, y, comparison, softmax, ground_truth_weights=rng.random(X.mask.shape) * X.mask
    )
    assert not shuffled["L2"]["holds"]
    assert shuffled["verdict_level"] == 1


def test_l4_names_beta_when_only_beta_changes_with_level(beta_levels):
    X, y, _, per_level = beta_levels
    comparison = compare_models(
        X,
        y,
        models={name: MODELS[name] for name in ("softmax", "linear_gain", "sigmoid_gate")},
        n_folds=3,
    )
    verdict = verdict_ladder(X, y, comparison, SoftmaxAttention().fit(X, y), per_level=per_level)
    level4 = verdict["L4"]
    assert level4["holds"]
    assert level4["parameter"] == "beta"
    np.testing.assert_allclose(level4["restricted"]["beta"]["values"], [1.0, 3.0, 6.0], rtol=0.25)
    assert verdict["verdict_level"] == 4


def _level4(changes: dict[str, tuple[float, ...]], seed: int) -> dict:
    X, y, levels = _levelled(changes, n_per_level=800, seed=seed)
    per_level = fit_by_level(X, y, levels, estimator=SoftmaxAttention(), n_boot=2)
    comparison = compare_models(
        X,
        y,
        models={name: MODELS[name] for name in ("softmax", "linear_gain", "sigmoid_gate")},
        n_folds=3,
    )
    verdict = verdict_ladder(X, y, comparison, SoftmaxAttention().fit(X, y), per_level=per_level)
    return verdict["L4"]


def test_l4_names_gain_when_only_gain_changes_with_level():
    level4 = _level4({"gain": (0.5, 1.0, 2.0)}, seed=4)
    assert level4["holds"]
    assert level4["parameter"] == "gain"


def test_l4_fails_when_beta_and_gain_both_change_with_level():
    level4 = _level4({"beta": (1.0, 3.0, 6.0), "gain": (0.5, 1.0, 2.0)}, seed=5)
    assert not level4["holds"]
    assert level4["bic_excess"] > 10.0


# --------------------------------------------------------------------------------------------
# inputs
# --------------------------------------------------------------------------------------------


def test_bad_inputs_raise_naming_the_argument(softmax_data):
    X, y, comparison = softmax_data
    rng = np.random.default_rng(0)
    softmax = SoftmaxAttention().set_fitted(**SOFTMAX)
    with pytest.raises(BioattnError, match="models"):
        compare_models(X, y, models={"x": 3})
    with pytest.raises(BioattnError, match="n_folds"):
        compare_models(X, y, n_folds=1)
    with pytest.raises(BioattnError, match="criterion"):
        model_recovery(X, {"a": softmax, "b": softmax}, rng, criterion="cv")
    with pytest.raises(BioattnError, match="models_with_params"):
        model_recovery(X, {"a": softmax, "b": SoftmaxAttention()}, rng)
    with pytest.raises(BioattnError, match="fitted"):
        parameter_recovery(LinearGain().set_fitted(**LINEAR_GAIN), X, rng)
    with pytest.raises(BioattnError, match="comparison"):
        verdict_ladder(X, y, comparison.sel(model=["softmax", "uniform"]), softmax)
    with pytest.raises(BioattnError, match="ground_truth_weights"):
        verdict_ladder(X, y, comparison, softmax, ground_truth_weights=np.ones(3))
    with pytest.raises(BioattnError, match="per_level"):
        verdict_ladder(X, y, comparison, softmax, per_level=xr.Dataset())
    with pytest.raises(BioattnError, match="confusion"):
        recovery_accuracy(np.ones(3))
