"""Attention models fitted to spike counts: gradients, weights, API, recovery, speed, inputs."""

from __future__ import annotations

import time

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from scipy.optimize import check_grad

from bioattn.errors import BioattnError
from bioattn.fit import (
    MODELS,
    DivisiveRatio,
    LinearGain,
    NoisyWinnerTakeAll,
    NormalizationAttention,
    SigmoidGate,
    SoftmaxAttention,
    Sparsemax,
    TrialSet,
    Uniform,
    bits_per_spike,
    bootstrap_ci,
    clone,
    cross_validated_log_likelihood,
    random_trialset,
    simulate_counts,
)
from bioattn.fit.weighting import masked_softmax, sparsemax

PHI = 0.3
#: A rotation-like, unit-norm score matrix: items whose feature is 0.3 rad from the cue match best.
M_TRUE = np.array([[np.cos(PHI), -np.sin(PHI)], [np.sin(PHI), np.cos(PHI)]]) / np.sqrt(2)

#: Generating parameters of each model for the recovery tests (rates 5–50 Hz per item).
TRUE_PARAMS = {
    "softmax": dict(beta=3.0, M=M_TRUE, baseline=5.0, gain=1.0),
    "normalization": dict(beta=2.0, M=M_TRUE, sigma=0.3, n=2.0, baseline=5.0, gain=1.5),
    "divisive_ratio": dict(a=3.0, M=M_TRUE, n=1.5, baseline=5.0, gain=1.0),
    "linear_gain": dict(a=1.5, M=M_TRUE, baseline=5.0, gain=0.4),
    "sigmoid_gate": dict(beta=5.0, M=M_TRUE, b0=-1.0, baseline=5.0, gain=0.8),
    "noisy_wta": dict(beta=3.0, M=M_TRUE, baseline=5.0, gain=1.0),
    "sparsemax": dict(beta=3.0, M=M_TRUE, baseline=5.0, gain=1.0),
    "uniform": dict(baseline=5.0, gain=1.0),
}

#: Every model, with its optional switches turned on once.
CONFIGS = [(name, {}) for name in MODELS] + [
    ("softmax", {"sink": True}),
    ("softmax", {"item_bias": True}),
    ("softmax", {"sink": True, "item_bias": True}),
    ("sparsemax", {"item_bias": True}),
]
CONFIG_IDS = [name + "".join(f"-{k}" for k in kw) for name, kw in CONFIGS]


@pytest.fixture(scope="module")
def small():
    """A small design with 1–5 of 5 slots shown, and counts from the softmax model."""
    rng = np.random.default_rng(1)
    X = random_trialset(120, 5, 6, rng)
    assert (~X.mask).any()  # some items are absent
    y = simulate_counts(SoftmaxAttention().set_fitted(**TRUE_PARAMS["softmax"]), X, rng)
    return X, y


@pytest.fixture(scope="module")
def fitted(small):
    X, y = small
    return {
        config: MODELS[name](n_starts=3, **kw).fit(X, y)
        for config, (name, kw) in zip(CONFIG_IDS, CONFIGS, strict=True)
    }


# --------------------------------------------------------------------------------------------
# gradients
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("likelihood", ["poisson", "negbin"])
@pytest.mark.parametrize(("name", "kw"), CONFIGS, ids=CONFIG_IDS)
def test_gradient_matches_finite_differences(small, name, kw, likelihood):
    X, y = small
    model = MODELS[name](likelihood=likelihood, **kw)
    design = model._design(X, y)
    layout = model._layout(X.d_q, X.d_k, X.n_items, design)
    objective = model._objective(layout, design)
    rng = np.random.default_rng(5)
    for _ in range(3):
        raw = rng.normal(0.0, 0.8, layout.size)
        value, gradient = objective(raw)
        assert np.isfinite(value) and np.all(np.isfinite(gradient))
        error = check_grad(lambda u: objective(u)[0], lambda u: objective(u)[1], raw, epsilon=1e-7)
        assert error / np.linalg.norm(gradient) < 1e-5


# --------------------------------------------------------------------------------------------
# weights
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("config", CONFIG_IDS)
def test_absent_items_get_zero_weight_and_nothing_is_nan(small, fitted, config):
    X, _ = small
    model = fitted[config]
    weights = model.weights(X)
    assert weights.shape == (X.n_trials, X.n_items)
    assert np.all(np.isfinite(weights)) and np.all(weights >= 0)
    assert np.all(weights[~X.mask] == 0)
    rates = model.predict(X)
    assert rates.shape == (X.n_trials, X.n_out) and np.all(np.isfinite(rates))


@pytest.mark.parametrize(
    "config",
    [
        "softmax",
        "softmax-item_bias",
        "divisive_ratio",
        "sparsemax",
        "sparsemax-item_bias",
        "uniform",
        "noisy_wta",
    ],
)
def test_competitive_weights_sum_to_one_over_present_items(small, fitted, config):
    X, _ = small
    np.testing.assert_allclose(fitted[config].weights(X).sum(axis=1), 1.0, atol=1e-12)


@pytest.mark.parametrize("config", ["softmax-sink", "normalization"])
def test_weights_with_a_sink_sum_to_less_than_one(small, fitted, config):
    X, _ = small
    total = fitted[config].weights(X).sum(axis=1)
    assert np.all(total < 1.0) and np.all(total > 0.0)


def _one_trial(keys, query, drive):
    """Trial set of one trial with the given items (all present) and flat 10 Hz templates."""
    keys = np.asarray(keys, dtype=float)[None]
    n_items = keys.shape[1]
    return TrialSet(
        values=np.full((1, n_items, 1), 10.0),
        keys=keys,
        query=np.asarray(query, dtype=float)[None],
        drive=np.asarray(drive, dtype=float)[None],
        mask=np.ones((1, n_items), dtype=bool),
        duration=0.5,
    )


def test_weights_follow_each_models_equation():
    X = _one_trial([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0]], [2.0, 0.0], [1.0, 0.3, 0.1])
    M = np.eye(2) / np.sqrt(2)
    s = np.array([2.0, 0.0, -2.0]) / np.sqrt(2)  # qᵀ M k
    c = np.array([1.0, 0.3, 0.1])
    common = dict(M=M, baseline=1.0, gain=1.0)

    def weights(model):
        return model.weights(X)[0]

    softmax = np.exp(1.5 * s) / np.exp(1.5 * s).sum()
    np.testing.assert_allclose(weights(SoftmaxAttention().set_fitted(beta=1.5, **common)), softmax)
    sink = np.exp(1.5 * s) / (np.exp(0.7) + np.exp(1.5 * s).sum())
    np.testing.assert_allclose(
        weights(SoftmaxAttention(sink=True).set_fitted(beta=1.5, sink=0.7, **common)), sink
    )
    field = np.exp(1.5 * s) * c**2
    np.testing.assert_allclose(
        weights(NormalizationAttention().set_fitted(beta=1.5, sigma=0.4, n=2.0, **common)),
        field / (0.4**2 + field.sum()),
    )
    drive = (c * (1 + 2.0 * np.maximum(s, 0))) ** 1.5
    np.testing.assert_allclose(
        weights(DivisiveRatio().set_fitted(a=2.0, n=1.5, **common)), drive / drive.sum()
    )
    np.testing.assert_allclose(
        weights(LinearGain().set_fitted(a=1.0, **common)), np.maximum(1 + s, 0)
    )
    np.testing.assert_allclose(
        weights(SigmoidGate().set_fitted(beta=1.5, b0=-0.5, **common)),
        1 / (1 + np.exp(-(1.5 * s - 0.5))),
    )
    np.testing.assert_allclose(
        weights(NoisyWinnerTakeAll().set_fitted(beta=1.5, **common)), softmax
    )
    # logits β s = 0.5 s = [0.707, 0, −0.707]; support {1, 2}, τ = (0.707 − 1)/2 = −0.146
    np.testing.assert_allclose(
        weights(Sparsemax().set_fitted(beta=0.5, **common)), [0.8535534, 0.1464466, 0.0], atol=1e-7
    )
    np.testing.assert_allclose(weights(Uniform().set_fitted(baseline=1.0, gain=1.0)), [1 / 3] * 3)
    # The rate is the weighted mixture: 1 Hz + 1 · Σ w · 10 Hz.
    rate = SoftmaxAttention().set_fitted(beta=1.5, **common).predict(X)
    np.testing.assert_allclose(rate, [[11.0]])


def test_slot_bias_shifts_weight_towards_a_location():
    X = _one_trial([[1.0, 0.0], [1.0, 0.0]], [1.0, 0.0], [1.0, 1.0])
    model = SoftmaxAttention(item_bias=True).set_fitted(
        beta=1.0, M=np.eye(2) / np.sqrt(2), bias=[0.0, np.log(3.0)], baseline=0.0, gain=1.0
    )
    np.testing.assert_allclose(model.weights(X)[0], [0.25, 0.75])


@settings(max_examples=60, deadline=None)
@given(
    hnp.arrays(float, (3, 6), elements=st.floats(-20, 20)),
    hnp.arrays(bool, (3, 6)),
)
def test_normalising_maps_are_distributions_over_present_items(logits, present):
    present[:, 0] = True
    z = np.where(present, logits, -np.inf)
    for weights in (masked_softmax(z)[0], sparsemax(z)):
        assert np.all(weights >= 0) and np.all(weights[~present] == 0)
        np.testing.assert_allclose(weights.sum(axis=1), 1.0, atol=1e-9)
    # sparsemax is the Euclidean projection onto the simplex: w = max(z − τ, 0) for one τ.
    w = sparsemax(z)
    for row in range(z.shape[0]):
        support = w[row] > 0
        tau = z[row, support] - w[row, support]
        np.testing.assert_allclose(tau, tau[0], atol=1e-9)
        assert np.all(z[row, present[row] & ~support] <= tau[0] + 1e-9)


def test_a_trial_whose_items_all_have_zero_drive_gets_zero_weights_not_nan():
    X = _one_trial([[1.0, 0.0], [0.0, 1.0]], [1.0, 0.0], [0.0, 0.0])
    model = DivisiveRatio().set_fitted(
        a=1.0, n=1.0, M=np.eye(2) / np.sqrt(2), baseline=2.0, gain=1.0
    )
    np.testing.assert_array_equal(model.weights(X), [[0.0, 0.0]])
    np.testing.assert_allclose(model.predict(X), [[2.0]])


def test_noisy_wta_has_the_softmax_mean_but_a_mixture_distribution(small):
    X, y = small
    params = TRUE_PARAMS["softmax"]
    wta = NoisyWinnerTakeAll().set_fitted(**params)
    soft = SoftmaxAttention().set_fitted(**params)
    np.testing.assert_allclose(wta.predict(X), soft.predict(X))
    # Counts drawn with a winner per trial have the predicted mean ...
    rng = np.random.default_rng(3)
    big = random_trialset(4000, 4, 3, rng)
    counts = simulate_counts(wta, big, rng)
    expected = wta.predict(big) * big.duration
    assert abs(counts.mean() - expected.mean()) < 0.02 * expected.mean()
    # ... and are explained better by the mixture than by the softmax mean.
    assert wta.log_likelihood(big, counts) > soft.log_likelihood(big, counts) + 100


# --------------------------------------------------------------------------------------------
# scikit-learn interface
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "kw"), CONFIGS, ids=CONFIG_IDS)
def test_sklearn_interface(small, name, kw):
    X, y = small
    model = MODELS[name](n_starts=2, random_state=4, **kw)
    params = model.get_params()
    assert params["n_starts"] == 2 and params["random_state"] == 4
    for key, value in kw.items():
        assert params[key] == value
    assert model.fit(X, y) is model
    copy = clone(model)
    assert type(copy) is type(model) and copy.get_params() == params
    assert not hasattr(copy, "params_")
    assert copy.set_params(n_starts=3) is copy and copy.get_params()["n_starts"] == 3
    assert type(model)(**model.get_params()).get_params() == params
    learned = [k for k in vars(model) if not k.startswith("_") and k not in params]
    assert learned and all(k.endswith("_") for k in learned)
    for key in model.params_:
        assert hasattr(model, f"{key}_")
    assert np.isfinite(model.score(X, y))
    assert model.score(X, y) == pytest.approx(model.log_likelihood(X, y) / X.n_trials)
    assert model.log_likelihood_ == pytest.approx(model.log_likelihood(X, y), rel=1e-9)
    # set_fitted(**params_) reproduces the fitted model.
    again = clone(model).set_fitted(**model.params_)
    np.testing.assert_allclose(again.predict(X), model.predict(X), rtol=1e-10)


def test_refit_on_a_new_design_and_warm_start(small):
    X, y = small
    model = SoftmaxAttention(item_bias=True, n_starts=2).fit(X, y)
    rng = np.random.default_rng(2)
    other = random_trialset(150, 3, 4, rng)
    counts = simulate_counts(Uniform().set_fitted(baseline=3.0, gain=1.0), other, rng)
    assert model.fit(other, counts).bias_.shape == (3,)  # refitting forgets the old shapes
    warm = SoftmaxAttention(item_bias=True, n_starts=1).fit(other, counts, init=model.params_)
    assert warm.log_likelihood_ == pytest.approx(model.log_likelihood_, abs=1e-3)
    with pytest.raises(BioattnError, match="init bias"):
        SoftmaxAttention(item_bias=True).fit(X, y, init=model.params_)


def test_parameter_counts():
    X = random_trialset(200, 4, 3, np.random.default_rng(0))
    y = np.random.default_rng(1).poisson(5, (200, 3))
    counts = {name: MODELS[name](n_starts=1).fit(X, y).n_params_ for name in MODELS}
    # baseline + gain + the d_q·d_k = 4 entries of βM (+ model extras)
    assert counts == {
        "softmax": 6,
        "normalization": 8,
        "divisive_ratio": 7,
        "linear_gain": 6,
        "sigmoid_gate": 7,
        "noisy_wta": 6,
        "sparsemax": 6,
        "uniform": 2,
    }
    both = SoftmaxAttention(sink=True, item_bias=True, likelihood="negbin", n_starts=1).fit(X, y)
    assert both.n_params_ == 6 + 3 + 1 + 1  # slot biases (first fixed), sink, dispersion


def test_log_likelihood_includes_log_factorial():
    X = _one_trial([[1.0, 0.0]], [1.0, 0.0], [1.0])
    model = Uniform().set_fitted(baseline=0.0, gain=1.0)  # λ = 10 Hz · 0.5 s = 5
    assert model.log_likelihood(X, [[3]]) == pytest.approx(3 * np.log(5) - 5 - np.log(6))


def test_fitted_m_has_unit_norm_and_beta_carries_the_scale(fitted):
    for model in fitted.values():
        if hasattr(model, "M_"):
            assert np.linalg.norm(model.M_) == pytest.approx(1.0)


# --------------------------------------------------------------------------------------------
# recovery
# --------------------------------------------------------------------------------------------


def test_softmax_parameter_recovery_with_bootstrap_ci():
    rng = np.random.default_rng(7)
    X = random_trialset(4000, 8, 16, rng)
    y = simulate_counts(SoftmaxAttention().set_fitted(**TRUE_PARAMS["softmax"]), X, rng)
    model = SoftmaxAttention().fit(X, y)
    cosine = float(np.sum(model.M_ * M_TRUE))
    assert cosine > 0.95
    assert model.beta_ == pytest.approx(3.0, rel=0.05)
    assert model.baseline_ == pytest.approx(5.0, rel=0.05)
    intervals = bootstrap_ci(
        SoftmaxAttention(), X, y, n_boot=50, params=("beta_", "baseline_", "gain_")
    )
    low, high = intervals["beta_"]
    assert low < 3.0 < high
    assert intervals["baseline_"][0] < 5.0 < intervals["baseline_"][1]
    assert intervals["gain_"][0] < 1.0 < intervals["gain_"][1]
    print(f"beta_ {model.beta_:.3f} CI [{low:.3f}, {high:.3f}]; cos(M_, M) {cosine:.5f}")


def test_negative_binomial_recovers_overdispersion():
    rng = np.random.default_rng(8)
    X = random_trialset(2000, 6, 8, rng)
    true = SoftmaxAttention(likelihood="negbin").set_fitted(
        **TRUE_PARAMS["softmax"], dispersion=0.2
    )
    y = simulate_counts(true, X, rng)
    negbin = SoftmaxAttention(likelihood="negbin", n_starts=2).fit(X, y)
    poisson = SoftmaxAttention(n_starts=2).fit(X, y)
    assert negbin.dispersion_ == pytest.approx(0.2, rel=0.15)
    assert negbin.beta_ == pytest.approx(3.0, rel=0.15)
    assert negbin.log_likelihood(X, y) > poisson.log_likelihood(X, y) + 100


def _recovery_confusion(
    n_reps: int, n_trials: int = 2000, n_out: int = 16, seed: int = 0
) -> tuple[np.ndarray, dict[str, list[tuple[str, float]]]]:
    """confusion[a, b]: data simulated from model a (8 item slots), model b had the lowest BIC
    (n_params · ln n_trials − 2 LL); and for each generating model its closest rival and that
    rival's BIC minus the true model's."""
    names = list(MODELS)
    confusion = np.zeros((len(names), len(names)), dtype=int)
    rivals: dict[str, list[tuple[str, float]]] = {name: [] for name in names}
    for rep in range(n_reps):
        for a, name in enumerate(names):
            rng = np.random.default_rng(seed + 1000 * rep + a)
            X = random_trialset(n_trials, 8, n_out, rng)
            y = simulate_counts(MODELS[name]().set_fitted(**TRUE_PARAMS[name]), X, rng)
            bic = np.empty(len(names))
            for b, other in enumerate(names):
                model = MODELS[other]().fit(X, y)
                bic[b] = model.n_params_ * np.log(n_trials) - 2 * model.log_likelihood(X, y)
            confusion[a, int(np.argmin(bic))] += 1
            excess = bic - bic[a]
            excess[a] = np.inf
            rivals[name].append((names[int(np.argmin(excess))], round(float(excess.min()), 1)))
    print("\n" + "\n".join(f"{n:>15s} {row}" for n, row in zip(names, confusion, strict=True)))
    for name, rival in rivals.items():
        print(f"{name:>15s} closest rival (BIC excess): {rival}")
    return confusion, rivals


# Pairs that are hard or impossible to separate, and how the design separates them:
# - Uniform is nested in SoftmaxAttention and Sparsemax (β = 0) and in DivisiveRatio (n → 0):
#   on Uniform data these fit equally well and only BIC's complexity penalty (4 ln 2000 ≈ 30)
#   picks Uniform; a held-out likelihood would be a near coin flip. Measured BIC excess of the
#   closest rival (Softmax): ≈ 25 at 2000 trials.
# - LinearGain and SigmoidGate coincide for small gains (expit is linear near 0): the
#   generating parameters make the sigmoid saturate (β = 5) and the linear gain clip (a = 1.5).
# - SoftmaxAttention and NoisyWinnerTakeAll have the same mean rate; only the mixture's
#   shared, correlated variability across the readout neurons separates them.
# - Contrast: only NormalizationAttention and DivisiveRatio read it, so the design varies it.
# At 2000 trials × 16 neurons every pair is separated by ≥ 400 BIC except Uniform (above).
# With little data (100 trials, 1 neuron, 5 data sets per model; slow test below) the close
# pairs are, measured: DivisiveRatio → Normalization (2 of 5 misassigned, BIC excess −2.8 …
# 11), Sparsemax → Softmax (1 of 5, −1.0 … 4.6), LinearGain vs SigmoidGate (3 … 30); 92.5 %
# on the diagonal.
def test_model_recovery_full_matrix_one_dataset_per_model():
    confusion, _ = _recovery_confusion(n_reps=1)
    assert np.trace(confusion) / confusion.sum() >= 0.9


@pytest.mark.slow
def test_model_recovery_three_datasets_per_model():
    confusion, _ = _recovery_confusion(n_reps=3, seed=100)
    assert np.trace(confusion) / confusion.sum() >= 0.9


@pytest.mark.slow
def test_model_recovery_with_little_data_shows_the_close_pairs():
    confusion, rivals = _recovery_confusion(n_reps=5, n_trials=100, n_out=1, seed=7000)
    assert np.trace(confusion) / confusion.sum() >= 0.85
    assert {rival for rival, _ in rivals["sparsemax"]} <= {"softmax", "uniform"}


@pytest.mark.slow
def test_full_comparison_takes_at_most_60_s():
    rng = np.random.default_rng(11)
    X = random_trialset(10_000, 8, 16, rng)
    y = simulate_counts(SoftmaxAttention().set_fitted(**TRUE_PARAMS["softmax"]), X, rng)
    start = time.perf_counter()
    held_out = {
        name: cross_validated_log_likelihood(model(), X, y) for name, model in MODELS.items()
    }
    elapsed = time.perf_counter() - start
    total = {name: ll.sum() for name, ll in held_out.items()}
    print(f"\nfull comparison (8 models x 5 folds, 10^4 trials): {elapsed:.1f} s")
    assert max(total, key=total.get) == "softmax"
    assert elapsed <= 60.0


# --------------------------------------------------------------------------------------------
# comparison helpers
# --------------------------------------------------------------------------------------------


def test_cross_validation_and_bits_per_spike(small):
    X, y = small
    softmax = cross_validated_log_likelihood(SoftmaxAttention(n_starts=2), X, y, n_folds=3)
    uniform = cross_validated_log_likelihood(Uniform(n_starts=2), X, y, n_folds=3)
    assert softmax.shape == (3,) and np.all(np.isfinite(softmax))
    assert softmax.sum() > uniform.sum()
    gain = bits_per_spike(softmax.sum(), uniform.sum(), y.sum())
    assert gain == pytest.approx((softmax.sum() - uniform.sum()) / (y.sum() * np.log(2)))
    assert bits_per_spike(10.0, 10.0 - np.log(2), 1) == pytest.approx(1.0)


def test_subset_picks_trials(small):
    X, y = small
    part = X.subset(np.array([3, 3, 7]))
    assert part.n_trials == 3
    np.testing.assert_array_equal(part.values[1], X.values[3])
    assert X.subset(X.mask[:, 0]).n_trials == int(X.mask[:, 0].sum())
    assert X.subset(slice(0, 10)).n_trials == 10
    with pytest.raises(ValueError):
        part.values[0, 0, 0] = 1.0  # read-only


# --------------------------------------------------------------------------------------------
# bad inputs
# --------------------------------------------------------------------------------------------


def _parts(X):
    return dict(
        values=X.values, keys=X.keys, query=X.query, drive=X.drive, mask=X.mask, duration=X.duration
    )


@pytest.mark.parametrize(
    ("change", "argument"),
    [
        (lambda p: {**p, "values": p["values"][..., 0]}, "values"),
        (lambda p: {**p, "values": np.where(p["mask"][..., None], p["values"], np.nan)}, "values"),
        (lambda p: {**p, "values": -p["values"]}, "values"),
        (lambda p: {**p, "keys": p["keys"][:, :-1]}, "keys"),
        (lambda p: {**p, "query": p["query"][:-1]}, "query"),
        (lambda p: {**p, "drive": -1.0 - p["drive"]}, "drive"),
        (lambda p: {**p, "drive": p["drive"][:, :2]}, "drive"),
        (lambda p: {**p, "mask": p["mask"] * 2}, "mask"),
        (lambda p: {**p, "mask": np.zeros_like(p["mask"])}, "mask"),
        (lambda p: {**p, "duration": 0.0}, "duration"),
        (lambda p: {**p, "duration": "long"}, "duration"),
    ],
)
def test_bad_trialset_raises_naming_the_argument(small, change, argument):
    X, _ = small
    with pytest.raises(BioattnError, match=argument):
        TrialSet(**change(_parts(X)))


@pytest.mark.parametrize(
    ("bad_y", "message"),
    [
        (lambda y: y[:-1], r"y must have shape \(n_trials, n_out\)"),
        (lambda y: y[:, :-1], r"y must have shape"),
        (lambda y: -y, "y must be spike counts >= 0"),
        (lambda y: y + 0.5, "y must be whole"),
        (lambda y: np.where(y > 3, np.nan, y), "y must contain only finite"),
    ],
)
def test_bad_counts_raise_naming_y(small, bad_y, message):
    X, y = small
    model = SoftmaxAttention(n_starts=1)
    with pytest.raises(BioattnError, match=message):
        model.fit(X, bad_y(y))
    model.fit(X, y)
    with pytest.raises(BioattnError, match=message):
        model.log_likelihood(X, bad_y(y))


def test_other_bad_inputs_raise_bioattn_errors(small):
    X, y = small
    with pytest.raises(BioattnError, match="X must be a TrialSet"):
        SoftmaxAttention().fit(X.values, y)
    with pytest.raises(BioattnError, match="likelihood"):
        SoftmaxAttention(likelihood="gauss").fit(X, y)
    with pytest.raises(BioattnError, match="n_starts"):
        SoftmaxAttention(n_starts=0).fit(X, y)
    with pytest.raises(BioattnError, match="'beta' is not a parameter"):
        SoftmaxAttention().set_params(beta=3)
    with pytest.raises(BioattnError, match="not fitted"):
        SoftmaxAttention().predict(X)
    with pytest.raises(BioattnError, match="unit Frobenius norm"):
        SoftmaxAttention().set_fitted(beta=1.0, M=np.eye(2), baseline=1.0, gain=1.0)
    with pytest.raises(BioattnError, match="missing"):
        SoftmaxAttention().set_fitted(beta=1.0, baseline=1.0, gain=1.0)
    with pytest.raises(BioattnError, match="sigma must be"):
        NormalizationAttention().set_fitted(
            beta=1.0, M=M_TRUE, sigma=-1.0, n=2.0, baseline=1.0, gain=1.0
        )
    wide = SoftmaxAttention().set_fitted(
        beta=1.0, M=np.ones((3, 2)) / np.sqrt(6), baseline=1.0, gain=1.0
    )
    with pytest.raises(BioattnError, match=r"\(d_q, d_k\) = \(3, 2\)"):
        wide.predict(X)
    with pytest.raises(BioattnError, match="params must name"):
        bootstrap_ci(SoftmaxAttention(n_starts=1), X, y, n_boot=2, params=("sigma_",))
    with pytest.raises(BioattnError, match="n_folds"):
        cross_validated_log_likelihood(Uniform(), X, y, n_folds=1)
    with pytest.raises(BioattnError, match="total_spikes"):
        bits_per_spike(1.0, 0.0, 0)
    with pytest.raises(BioattnError, match="index"):
        X.subset(np.array([0, X.n_trials]))
