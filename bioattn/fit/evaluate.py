r"""Is the readout's attention softmax attention? Comparison, recovery checks and a verdict.

Every model predicts the readout's rate as r_t = b + g Σ_i w_ti v_ti (:mod:`bioattn.fit.models`);
:class:`~bioattn.fit.models.SoftmaxAttention` is the transformer-like hypothesis, the others its
rivals and :class:`~bioattn.fit.models.Uniform` the floor. This module turns the fits into
evidence:

- :func:`compare_models` — held-out log-likelihood, bits per spike over Uniform, AIC and BIC of
  every model, labelled by model (an ``xarray.Dataset``).
- :func:`model_recovery`, :func:`recovery_accuracy` — can the comparison tell the models apart
  on *this* trial design? Counts simulated from each model are given to all of them.
- :func:`parameter_recovery` — are the fitted softmax parameters recoverable, and do their
  bootstrap intervals cover the truth?
- :func:`fit_by_level` — one softmax fit per level of a circuit manipulation: the
  "circuit parameter → attention parameter" map.
- :func:`verdict_ladder` — the claims L1 … L4 below, each a boolean with the numbers behind it,
  and the highest level reached.

Log-likelihoods are in nats (natural log, including −log y!); AIC = 2k − 2 LL and
BIC = k ln N − 2 LL with k free parameters and N trials.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import xarray as xr
from numpy.typing import ArrayLike
from scipy.optimize import minimize, minimize_scalar
from scipy.stats import spearmanr

from bioattn.errors import BioattnError
from bioattn.fit.base import MixtureModel
from bioattn.fit.bootstrap import bootstrap_ci, clone
from bioattn.fit.compare import bits_per_spike, cross_validated_log_likelihood, fold_indices
from bioattn.fit.data import TrialSet, check_counts
from bioattn.fit.models import MODELS, SoftmaxAttention, Uniform
from bioattn.fit.precision import KeyPrecisionAttention
from bioattn.fit.synthetic import simulate_counts

__all__ = [
    "compare_models",
    "model_recovery",
    "recovery_accuracy",
    "parameter_recovery",
    "fit_by_level",
    "verdict_ladder",
    "CRITERIA",
    "L2_ALPHA",
    "L4_BIC_TOLERANCE",
]

#: Model-selection criteria of :func:`model_recovery`.
CRITERIA = ("bic", "aic")
#: Significance level of the rank correlation in L2.
L2_ALPHA = 0.01
#: L4: a one-parameter-per-level model holds if its BIC exceeds the all-free one by at most this.
L4_BIC_TOLERANCE = 10.0

#: Parameters whose per-level bootstrap intervals fit_by_level reports, where fitted.
_LEVEL_INTERVALS = ("beta", "kappa")

# Keys of MODELS that the ladder reads.
_SOFTMAX, _UNIFORM = "softmax", "uniform"
_NON_COMPETITIVE = ("linear_gain", "sigmoid_gate")


def _check_trialset(X: Any) -> TrialSet:
    if not isinstance(X, TrialSet):
        raise BioattnError(f"X must be a TrialSet, got {type(X).__name__}")
    return X


def _check_rng(rng: Any) -> np.random.Generator:
    if not isinstance(rng, np.random.Generator):
        raise BioattnError(f"rng must be a numpy.random.Generator, got {type(rng).__name__}")
    return rng


def _check_int(name: str, value: Any, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < minimum:
        raise BioattnError(f"{name} must be an int >= {minimum}, got {value!r}")
    return int(value)


def _information_criteria(log_likelihood: float, n_params: int, n_trials: int) -> dict[str, float]:
    return {
        "aic": 2.0 * n_params - 2.0 * log_likelihood,
        "bic": n_params * np.log(n_trials) - 2.0 * log_likelihood,
    }


def _estimators(models: Any) -> dict[str, MixtureModel]:
    """name → unfitted estimator, from a mapping of names to estimator classes or instances."""
    if models is None:
        models = MODELS
    if not isinstance(models, Mapping) or not models:
        raise BioattnError(
            "models must be a non-empty dict of name -> MixtureModel class or instance, "
            f"got {models!r:.80}"
        )
    estimators = {}
    for name, model in models.items():
        if isinstance(model, type) and issubclass(model, MixtureModel):
            estimators[str(name)] = model()
        elif isinstance(model, MixtureModel):
            estimators[str(name)] = clone(model)
        else:
            raise BioattnError(
                f"models[{name!r}] must be a MixtureModel class or instance, "
                f"got {type(model).__name__}"
            )
    return estimators


# --------------------------------------------------------------------------------------------
# model comparison
# --------------------------------------------------------------------------------------------


def compare_models(
    X: TrialSet,
    y: ArrayLike,
    models: Mapping[str, type[MixtureModel] | MixtureModel] | None = None,
    n_folds: int = 5,
    random_state: int | None = 0,
    fitted: dict[str, MixtureModel] | None = None,
) -> xr.Dataset:
    r"""Every model's out-of-sample and in-sample fit to the same counts.

    Per model (dimension ``model``, in the order of ``models``):

    - ``cv_log_likelihood`` — Σ_k LL_k over the folds of
      :func:`~bioattn.fit.compare.cross_validated_log_likelihood` (nats; the same folds for
      every model), ``cv_fold_log_likelihood`` (model, fold) and ``cv_trial_log_likelihood``
      (model, trial: each trial scored by the fit that held it out, for paired intervals);
    - ``cv_bits_per_spike`` — (LL_model − LL_Uniform) / (N_spikes ln 2) on the held-out counts
      (every trial is held out once, so N_spikes = Σ y); Uniform scores 0 by definition;
    - ``log_likelihood``, ``n_params``, ``aic`` = 2k − 2 LL, ``bic`` = k ln N − 2 LL, from one
      fit to all N trials.

    ``attrs["best_model"]`` is the model with the highest ``cv_log_likelihood``.

    Parameters
    ----------
    X, y
        Trial set and spike counts (n_trials, n_out).
    models : dict, optional
        name → estimator class or (unfitted) instance, whose hyper-parameters are kept; default
        :data:`~bioattn.fit.models.MODELS`. If it lacks ``"uniform"``, a :class:`Uniform` is
        cross-validated as the bits-per-spike reference anyway.
    n_folds, random_state
        Folds of the cross-validation.
    fitted : dict, optional
        If given, receives name → the model fitted to all N trials (for weights, recovery).
    """
    X = _check_trialset(X)
    counts = check_counts(X, y)
    n_folds = _check_int("n_folds", n_folds, 2)
    estimators = _estimators(models)

    fold_index = fold_indices(X.n_trials, n_folds, random_state)
    trials = {
        name: cross_validated_log_likelihood(
            model, X, counts, n_folds, random_state, per_trial=True
        )
        for name, model in estimators.items()
    }
    folds = {name: np.array([ll[f].sum() for f in fold_index]) for name, ll in trials.items()}
    if _UNIFORM in folds:
        reference = folds[_UNIFORM].sum()
    else:
        reference = cross_validated_log_likelihood(
            Uniform(), X, counts, n_folds, random_state
        ).sum()
    total_spikes = float(counts.sum())
    if total_spikes <= 0:
        raise BioattnError("y must contain at least one spike to express gains per spike")

    names = list(estimators)
    cv = np.array([folds[name].sum() for name in names])
    full = [clone(estimators[name]).fit(X, counts) for name in names]
    if fitted is not None:
        fitted.update(zip(names, full, strict=True))
    log_likelihood = np.array([model.log_likelihood(X, counts) for model in full])
    n_params = np.array([model.n_params_ for model in full])
    criteria = [
        _information_criteria(ll, k, X.n_trials)
        for ll, k in zip(log_likelihood, n_params, strict=True)
    ]
    return xr.Dataset(
        {
            "cv_log_likelihood": ("model", cv, {"units": "nats"}),
            "cv_fold_log_likelihood": (
                ("model", "fold"),
                np.stack([folds[name] for name in names]),
                {"units": "nats"},
            ),
            "cv_bits_per_spike": (
                "model",
                np.atleast_1d(bits_per_spike(cv, reference, total_spikes)),
                {"units": "bits/spike", "reference": _UNIFORM},
            ),
            "cv_trial_log_likelihood": (
                ("model", "trial"),
                np.stack([trials[name] for name in names]),
                {"units": "nats"},
            ),
            "log_likelihood": ("model", log_likelihood, {"units": "nats"}),
            "n_params": ("model", n_params),
            "aic": ("model", np.array([c["aic"] for c in criteria])),
            "bic": ("model", np.array([c["bic"] for c in criteria])),
        },
        coords={"model": names, "fold": np.arange(n_folds), "trial": np.arange(X.n_trials)},
        attrs={
            "best_model": names[int(np.argmax(cv))],
            "n_trials": X.n_trials,
            "n_folds": n_folds,
            "total_spikes": total_spikes,
        },
    )


# --------------------------------------------------------------------------------------------
# model and parameter recovery
# --------------------------------------------------------------------------------------------


def model_recovery(
    X: TrialSet,
    models_with_params: Mapping[str, MixtureModel],
    rng: np.random.Generator,
    n_datasets: int = 1,
    criterion: str = "bic",
) -> xr.DataArray:
    r"""Confusion matrix of model selection on counts simulated on the design X.

    For every generating model a (with its fitted or :meth:`set_fitted` parameters) and each of
    ``n_datasets`` data sets, counts are drawn on the real trial design X
    (:func:`~bioattn.fit.synthetic.simulate_counts`), a clone of every model in
    ``models_with_params`` is fitted to them, and the one with the lowest ``criterion``
    (k ln N − 2 LL for "bic", 2k − 2 LL for "aic") is chosen: ``confusion[a, b]`` counts the
    data sets from a on which b was chosen. A diagonal matrix says the comparison can tell the
    models apart on this design and amount of data.

    Returns
    -------
    xarray.DataArray
        Integer counts, dimensions (``true``, ``chosen``), both labelled by the model names.
    """
    X = _check_trialset(X)
    rng = _check_rng(rng)
    n_datasets = _check_int("n_datasets", n_datasets, 1)
    if criterion not in CRITERIA:
        raise BioattnError(f"criterion must be one of {CRITERIA}, got {criterion!r}")
    if not isinstance(models_with_params, Mapping) or len(models_with_params) < 2:
        raise BioattnError(
            "models_with_params must be a dict of at least two name -> fitted MixtureModel, "
            f"got {models_with_params!r:.80}"
        )
    for name, model in models_with_params.items():
        if not isinstance(model, MixtureModel) or not hasattr(model, "params_"):
            raise BioattnError(
                f"models_with_params[{name!r}] must be a fitted MixtureModel (fit or "
                f"set_fitted), got {model!r:.80}"
            )
    names = list(models_with_params)
    confusion = np.zeros((len(names), len(names)), dtype=int)
    for a, name in enumerate(names):
        for _ in range(n_datasets):
            counts = simulate_counts(models_with_params[name], X, rng)
            scores = []
            for candidate in names:
                model = clone(models_with_params[candidate]).fit(X, counts)
                ll = model.log_likelihood(X, counts)
                scores.append(_information_criteria(ll, model.n_params_, X.n_trials)[criterion])
            confusion[a, int(np.argmin(scores))] += 1
    return xr.DataArray(
        confusion,
        dims=("true", "chosen"),
        coords={"true": names, "chosen": names},
        attrs={"criterion": criterion, "n_datasets": n_datasets, "n_trials": X.n_trials},
        name="confusion",
    )


def recovery_accuracy(confusion: xr.DataArray | ArrayLike) -> float:
    """Fraction of data sets whose generating model was chosen: trace / total."""
    matrix = np.asarray(confusion)
    if matrix.ndim != 2 or matrix.shape[0] != matrix.shape[1] or matrix.sum() <= 0:
        raise BioattnError(
            f"confusion must be a square, non-empty count matrix, got shape {matrix.shape}"
        )
    return float(np.trace(matrix) / matrix.sum())


def parameter_recovery(
    fitted: SoftmaxAttention,
    X: TrialSet,
    rng: np.random.Generator,
    n_boot: int = 50,
    level: float = 0.95,
) -> dict[str, Any]:
    r"""Simulate from a fitted softmax model on design X, refit, and check the truth is covered.

    Counts are drawn from ``fitted`` on X, a clone is refitted to them and percentile bootstrap
    intervals (:func:`~bioattn.fit.bootstrap.bootstrap_ci`, ``n_boot`` resamples) are computed
    for the scalar parameters β, baseline (Hz), gain, the sink logit (``sink=True``) and the
    dispersion α (``likelihood="negbin"``).

    Returns
    -------
    dict
        For each of those parameters ``{"true", "refit", "ci": (low, high), "inside": bool}``;
        ``"M_cosine"``: Σ M_true ⊙ M_refit (both unit Frobenius norm, so 1 is a perfect match);
        ``"counts"``: the simulated counts.
    """
    if not isinstance(fitted, SoftmaxAttention) or not hasattr(fitted, "params_"):
        raise BioattnError(
            f"fitted must be a fitted SoftmaxAttention (fit or set_fitted), got {fitted!r:.80}"
        )
    X = _check_trialset(X)
    rng = _check_rng(rng)
    n_boot = _check_int("n_boot", n_boot, 2)
    names = [
        name
        for name in ("beta", "baseline", "gain", "sink", "dispersion")
        if name in fitted.params_
    ]
    counts = simulate_counts(fitted, X, rng)
    refit = clone(fitted).fit(X, counts)
    intervals = bootstrap_ci(
        clone(fitted),
        X,
        counts,
        n_boot=n_boot,
        level=level,
        random_state=int(rng.integers(2**31)),
        params=[f"{name}_" for name in names],
    )
    report: dict[str, Any] = {}
    for name in names:
        true, low, high = fitted.params_[name], *intervals[f"{name}_"]
        report[name] = {
            "true": float(true),
            "refit": float(refit.params_[name]),
            "ci": (float(low), float(high)),
            "inside": bool(low <= true <= high),
        }
    report["M_cosine"] = float(np.sum(np.asarray(fitted.M_) * refit.M_))
    report["counts"] = counts
    return report


# --------------------------------------------------------------------------------------------
# circuit manipulation -> attention parameters
# --------------------------------------------------------------------------------------------


def fit_by_level(
    X: TrialSet,
    y: ArrayLike,
    levels: ArrayLike,
    estimator: MixtureModel | None = None,
    n_boot: int = 20,
    random_state: int | None = 0,
) -> xr.Dataset:
    r"""Fit the model separately at each level of a circuit manipulation.

    ``levels`` (n_trials,) labels each trial with the manipulation's setting (e.g. the top-down
    gain of the PFC→sensory projection); a clone of ``estimator`` (default
    ``SoftmaxAttention(sink=True)``) is fitted to the trials of each unique level, in sorted
    order. The result maps the circuit parameter to the attention parameters.

    Returns
    -------
    xarray.Dataset
        Dimension ``level``: every scalar fitted parameter (``beta``, ``sink``, ``baseline``
        (Hz), ``gain``, ...), ``log_likelihood`` (nats, training), ``n_trials`` and, for models
        with a β (or a key precision κ), ``beta_ci_low``/``beta_ci_high`` (``kappa_ci_*``; 95 %
        percentile bootstrap, ``n_boot`` resamples). Dimension ``trial``: ``trial_level``, the
        levels given (what :func:`verdict_ladder` needs to refit with shared parameters).
        ``attrs``: the estimator's class name and hyper-parameters and ``n_params`` per level
        fit.
    """
    X = _check_trialset(X)
    counts = check_counts(X, y)
    estimator = SoftmaxAttention(sink=True) if estimator is None else estimator
    if not isinstance(estimator, MixtureModel):
        raise BioattnError(f"estimator must be a MixtureModel, got {type(estimator).__name__}")
    n_boot = _check_int("n_boot", n_boot, 2)
    levels = np.asarray(levels)
    if levels.shape != (X.n_trials,):
        raise BioattnError(
            f"levels must have shape (n_trials,) = ({X.n_trials},), got {levels.shape}"
        )
    unique = np.unique(levels)
    if unique.size < 1:
        raise BioattnError("levels must hold at least one level")

    fits, sizes, intervals = [], [], []
    for value in unique:
        index = np.flatnonzero(levels == value)
        if index.size < 2:
            raise BioattnError(f"levels must give every level >= 2 trials, level {value!r} has 1")
        X_level, y_level = X.subset(index), counts[index]
        model = clone(estimator).fit(X_level, y_level)
        fits.append(model)
        sizes.append(index.size)
        bounded = [f"{name}_" for name in _LEVEL_INTERVALS if name in model.params_]
        if bounded:
            intervals.append(
                bootstrap_ci(
                    estimator, X_level, y_level, n_boot, random_state=random_state, params=bounded
                )
            )
    # M and the item biases are arrays: compare those on the fitted models themselves.
    scalars = [name for name, value in fits[0].params_.items() if np.ndim(value) == 0]
    data: dict[str, Any] = {
        name: ("level", np.array([model.params_[name] for model in fits])) for name in scalars
    }
    data["log_likelihood"] = ("level", np.array([model.log_likelihood_ for model in fits]))
    data["n_trials"] = ("level", np.array(sizes))
    for name in _LEVEL_INTERVALS:
        if intervals and f"{name}_" in intervals[0]:
            bounds = np.array([ci[f"{name}_"] for ci in intervals])
            data[f"{name}_ci_low"] = ("level", bounds[:, 0])
            data[f"{name}_ci_high"] = ("level", bounds[:, 1])
    data["trial_level"] = ("trial", levels)
    if "baseline" in data:
        data["baseline"] = (*data["baseline"], {"units": "Hz"})
    attrs: dict[str, Any] = {
        "estimator": type(estimator).__name__,
        "n_params": int(fits[0].n_params_),
        "n_boot": int(n_boot),
    }
    for name, value in estimator.get_params().items():
        if isinstance(value, bool | int | float | str):
            attrs[name] = int(value) if isinstance(value, bool) else value
    return xr.Dataset(data, coords={"level": unique}, attrs=attrs)


def _one_parameter_per_level(
    X: TrialSet,
    counts: np.ndarray,
    levels: np.ndarray,
    pooled: MixtureModel,
    parameter: str,
) -> tuple[float, np.ndarray]:
    """Total log-likelihood when only ``parameter`` varies across levels and the others are
    shared, and the per-level values: 1-D searches per level with the others at the pooled
    fit, then a joint refinement (:func:`_refine_shared`)."""
    shared = dict(pooled.params_)
    current = float(shared[parameter])
    mean_rate = float(counts.mean()) / X.duration
    mean_value = float(X.values[X.mask].mean())
    upper = {
        "beta": max(5.0 * current, 20.0),
        "baseline": 10.0 * max(current, mean_rate),
        "gain": 10.0 * max(current, mean_rate / max(mean_value, 1e-9)),
        "sink": 30.0,
        "kappa": max(5.0 * current, 20.0),
    }[parameter]
    lower = {"sink": -30.0, "kappa": 1e-6}.get(parameter, 0.0)
    model = clone(pooled)
    total, values = 0.0, []
    for value in np.unique(levels):
        index = np.flatnonzero(levels == value)
        data = (X.subset(index), counts[index])

        def negative_log_likelihood(x: float, X_level: TrialSet, y_level: np.ndarray) -> float:
            model.set_fitted(**{**shared, parameter: x})
            return -model.log_likelihood(X_level, y_level)

        result = minimize_scalar(
            negative_log_likelihood,
            bounds=(lower, upper),
            args=data,
            method="bounded",
            options={"xatol": 1e-4 * max(abs(current), 1.0)},
        )
        # The bounded search never tries the pooled value itself; keep it if it is better.
        best, best_nll = float(result.x), float(result.fun)
        pooled_nll = negative_log_likelihood(current, *data)
        if pooled_nll < best_nll:
            best, best_nll = current, pooled_nll
        values.append(best)
        total -= best_nll
    refined_total, refined_values = _refine_shared(
        X, counts, levels, pooled, parameter, np.array(values), (lower, upper)
    )
    if refined_total > total:
        return refined_total, refined_values
    return total, np.array(values)


def _refine_shared(
    X: TrialSet,
    counts: np.ndarray,
    levels: np.ndarray,
    pooled: MixtureModel,
    parameter: str,
    values: np.ndarray,
    bounds: tuple[float, float],
) -> tuple[float, np.ndarray]:
    """Second step of the restricted fit: the per-level values of ``parameter`` and the shared
    scalars and M jointly, by L-BFGS-B with finite-difference gradients, started from the
    1-D searches. Item biases stay at the pooled fit."""
    public = dict(pooled.params_)
    shared = [name for name, value in public.items() if np.ndim(value) == 0 and name != parameter]
    has_matrix = "M" in public
    parts = [(X.subset(levels == value), counts[levels == value]) for value in np.unique(levels)]
    n_levels = len(parts)
    x0 = np.concatenate(
        [values, [public[name] for name in shared], np.ravel(public["M"]) if has_matrix else []]
    )
    limits = [bounds] * n_levels
    limits += [(-30.0, 30.0) if name == "sink" else (1e-9, None) for name in shared]
    limits += [(None, None)] * (x0.size - len(limits))
    model = clone(pooled)
    n_trials = X.n_trials

    def negative_log_likelihood(x: np.ndarray) -> float:
        params = dict(public)
        params.update(zip(shared, x[n_levels : n_levels + len(shared)], strict=True))
        if has_matrix:
            matrix = x[n_levels + len(shared) :].reshape(np.shape(public["M"]))
            norm = float(np.linalg.norm(matrix))
            if norm == 0:
                return np.inf
            params["M"] = matrix / norm
        total = 0.0
        for value, (X_level, y_level) in zip(x[:n_levels], parts, strict=True):
            model.set_fitted(**{**params, parameter: value})
            total -= model.log_likelihood(X_level, y_level)
        return total / n_trials  # per trial, for the optimiser's tolerances

    result = minimize(
        negative_log_likelihood, x0, method="L-BFGS-B", bounds=limits, options={"maxiter": 100}
    )
    return -float(result.fun) * n_trials, result.x[:n_levels].copy()


def _level4(
    X: TrialSet, counts: np.ndarray, per_level: xr.Dataset, key_precision: bool = False
) -> dict[str, Any]:
    """L4: does one softmax parameter per level explain the manipulation as well as refitting
    everything per level (BIC)?  ``key_precision``: also κ of a pooled
    :class:`~bioattn.fit.precision.KeyPrecisionAttention` (the other parameters shared)."""
    if not isinstance(per_level, xr.Dataset) or "trial_level" not in per_level:
        raise BioattnError("per_level must be the Dataset returned by fit_by_level")
    if per_level.attrs.get("estimator") != SoftmaxAttention.__name__:
        raise BioattnError(
            "per_level must come from fit_by_level with a SoftmaxAttention estimator, got "
            f"{per_level.attrs.get('estimator')!r}"
        )
    levels = per_level["trial_level"].values
    if levels.shape != (X.n_trials,):
        raise BioattnError(
            f"per_level must be fitted to the same {X.n_trials} trials as X, "
            f"got {levels.shape[0]} trial levels"
        )
    hyper = {
        name: per_level.attrs[name]
        for name in ("sink", "item_bias", "likelihood", "n_starts", "random_state", "max_iter")
        if name in per_level.attrs
    }
    for name in ("sink", "item_bias"):
        if name in hyper:
            hyper[name] = bool(hyper[name])
    pooled = SoftmaxAttention(**hyper).fit(X, counts)
    n_levels = per_level.sizes["level"]
    n_trials = X.n_trials

    free_ll = float(per_level["log_likelihood"].sum())
    free_k = int(per_level.attrs["n_params"]) * n_levels
    free_bic = _information_criteria(free_ll, free_k, n_trials)["bic"]

    candidates = ["beta", "gain", "baseline"] + (["sink"] if "sink" in pooled.params_ else [])
    restricted = {
        parameter: _restricted_fit(X, counts, levels, pooled, parameter) for parameter in candidates
    }
    precision = None
    if key_precision:
        precision = _key_precision_per_level(X, counts, levels, hyper, restricted["beta"])
        if precision["distinct"]:
            restricted["kappa"] = precision["kappa"]
        # The all-free reference: the better family, refitted per level.
        if precision["free_bic"] < free_bic:
            free_bic, free_k = precision["free_bic"], precision["free_n_params"]
    parameter = min(restricted, key=lambda name: restricted[name]["bic"])
    excess = restricted[parameter]["bic"] - free_bic
    best = restricted[parameter]["bic"]
    return {
        "holds": bool(excess <= L4_BIC_TOLERANCE),
        "parameter": parameter,
        # Candidates the data cannot tell from the best by BIC.
        "equivalent": sorted(
            name for name, entry in restricted.items() if entry["bic"] - best <= L4_BIC_TOLERANCE
        ),
        "bic_excess": float(excess),
        "free_bic": float(free_bic),
        "free_n_params": free_k,
        "restricted": restricted,
        "key_precision": precision,
    }


def _restricted_fit(
    X: TrialSet, counts: np.ndarray, levels: np.ndarray, pooled: MixtureModel, parameter: str
) -> dict[str, Any]:
    """Only ``parameter`` varies across levels (:func:`_one_parameter_per_level`): its
    log-likelihood, parameter count (the pooled model's − 1 + one per level), BIC and values."""
    ll, values = _one_parameter_per_level(X, counts, levels, pooled, parameter)
    k = pooled.n_params_ - 1 + np.unique(levels).size
    bic = _information_criteria(ll, k, X.n_trials)["bic"]
    return {"log_likelihood": ll, "n_params": k, "bic": bic, "values": values}


def _key_precision_per_level(
    X: TrialSet,
    counts: np.ndarray,
    levels: np.ndarray,
    hyper: dict[str, Any],
    beta: dict[str, Any],
) -> dict[str, Any]:
    """κ per level of a pooled :class:`KeyPrecisionAttention` (the other parameters shared)
    against the two ways the levels could change the logits' scale instead: β per level of the
    softmax (``beta``; for small κ the von Mises match is 1 − κ(1 − cos Δ) and κ rescales
    cos Δ exactly as the softmax's β does) and β per level of the key-precision model itself
    (a sharp match whose weight changes).  κ is a distinct answer (``distinct``) only where
    its log-likelihood beats both by more than :data:`L4_BIC_TOLERANCE` / 2 nats (a ΔBIC of
    10 at equal parameter counts; the softmax has more parameters, so against it the
    comparison errs against κ).  Also the all-free key-precision fits per level
    (``free_bic``), which join the L4 reference."""
    pooled = KeyPrecisionAttention(**{k: v for k, v in hyper.items() if k != "item_bias"})
    pooled.fit(X, counts)
    unique = np.unique(levels)
    out = {p: _restricted_fit(X, counts, levels, pooled, p) for p in ("kappa", "beta")}
    free_ll = sum(
        clone(pooled).fit(X.subset(index), counts[index]).log_likelihood_
        for index in (np.flatnonzero(levels == value) for value in unique)
    )
    free_k = pooled.n_params_ * unique.size
    rival = max(float(beta["log_likelihood"]), float(out["beta"]["log_likelihood"]))
    advantage = float(out["kappa"]["log_likelihood"]) - rival
    return {
        "kappa": out["kappa"],
        "beta_key_precision": out["beta"],
        "log_likelihood_over_beta": advantage,
        "distinct": bool(advantage > L4_BIC_TOLERANCE / 2),
        "free_bic": _information_criteria(free_ll, free_k, X.n_trials)["bic"],
        "free_n_params": free_k,
    }


# --------------------------------------------------------------------------------------------
# the verdict
# --------------------------------------------------------------------------------------------


def _match_scores(X: TrialSet, matrix: np.ndarray) -> np.ndarray:
    """s_ti = q_tᵀ M k_ti, shape (n_trials, n_items)."""
    return np.einsum("ta,ab,tib->ti", X.query, matrix, X.keys)


def verdict_ladder(
    X: TrialSet,
    y: ArrayLike,
    comparison: xr.Dataset,
    softmax: SoftmaxAttention,
    ground_truth_weights: ArrayLike | None = None,
    per_level: xr.Dataset | None = None,
    level_data: tuple[TrialSet, ArrayLike] | None = None,
    key_precision: bool = False,
) -> dict[str, Any]:
    r"""How far up the ladder of claims "this circuit does softmax attention" the data reach.

    L1 — the weights compete (they share a fixed budget, Σ_i w_i ≈ 1 whatever the set size):
        the competitive softmax predicts held-out counts better than both non-competitive
        rivals, ``cv_log_likelihood[softmax] > cv_log_likelihood[linear_gain]`` and
        ``> cv_log_likelihood[sigmoid_gate]`` in ``comparison``. The fitted softmax weight sums
        per set size are reported alongside (≡ 1 without a sink).
    L2 — the weights rise with query–key similarity: Spearman ρ > 0 with p < 0.01 between the
        fitted softmax weights w_ti and the match s_ti = q_tᵀ M k_ti (fitted M) over all
        present items. With the fitted model this amounts to β clearly above 0 (w is monotone
        in s within a trial); with ``ground_truth_weights`` (n_trials, n_items), e.g. from
        single-item recordings, it is an independent test against qᵀk of the raw features
        (requires d_q = d_k).
    L3 — the softmax form beats all rivals out of sample:
        ``comparison.attrs["best_model"] == "softmax"``.
    L4 — one attention parameter per circuit manipulation explains its effect: given
        ``per_level`` (:func:`fit_by_level`, one manipulation), for each p in (β, gain,
        baseline, and the sink if fitted) a model where only p varies across levels and all
        other parameters are shared is compared with the all-free per-level fits by BIC
        (k = n_params − 1 + n_levels against n_params · n_levels). The restricted model is
        fitted in two steps: the shared parameters start at a pooled fit of all trials and
        each level's p is found by a bounded 1-D search of its log-likelihood
        (``scipy.optimize.minimize_scalar``); then the per-level p, the shared scalars and M
        are refined jointly (L-BFGS-B, finite-difference gradients; item biases stay pooled).
        L4 holds if the best such p has BIC ≤ the all-free BIC + 10
        (:data:`L4_BIC_TOLERANCE`). An incomplete restricted fit can only lower its
        likelihood, so the test errs against L4. ``None`` without ``per_level``.
        ``level_data`` = (X, y) of the trials ``per_level`` was fitted to, when they are not
        X, y (e.g. L1–L3 on the intact circuit, L4 on intact and inactivated trials).
        ``key_precision``: κ per level of a pooled
        :class:`~bioattn.fit.precision.KeyPrecisionAttention` is compared by log-likelihood
        with β per level of the softmax and of the key-precision model (``"key_precision"``
        in the result; small κ only rescales the logits, as β does); where κ beats both by
        more than half the tolerance (nats) it joins the candidates, and the all-free
        reference is the better (lower BIC) of the per-level softmax and key-precision fits
        (restricted and free fits of either family are likelihoods of the same trials).

    Returns
    -------
    dict
        ``"L1"`` … ``"L4"``: dicts with ``"holds"`` and the numbers behind it (L4 may be None);
        ``"verdict_level"``: the highest k with L1 … Lk all holding (0 if L1 fails; at most 3
        without ``per_level``).
    """
    X = _check_trialset(X)
    counts = check_counts(X, y)
    if not isinstance(comparison, xr.Dataset) or "cv_log_likelihood" not in comparison:
        raise BioattnError("comparison must be the Dataset returned by compare_models")
    needed = [_SOFTMAX, *_NON_COMPETITIVE]
    missing = [name for name in needed if name not in comparison["model"].values]
    if missing:
        raise BioattnError(f"comparison must include the models {needed}, missing {missing}")
    if not isinstance(softmax, SoftmaxAttention) or not hasattr(softmax, "params_"):
        raise BioattnError(f"softmax must be a fitted SoftmaxAttention, got {softmax!r:.80}")

    cv = comparison["cv_log_likelihood"]
    softmax_cv = float(cv.sel(model=_SOFTMAX))
    rivals_cv = {name: float(cv.sel(model=name)) for name in _NON_COMPETITIVE}
    weights = softmax.weights(X)
    set_size = X.mask.sum(axis=1)
    sums = weights.sum(axis=1)
    level1 = {
        "holds": bool(all(softmax_cv > value for value in rivals_cv.values())),
        "softmax_cv_log_likelihood": softmax_cv,
        "rival_cv_log_likelihood": rivals_cv,
        "weight_sum_by_set_size": {
            int(size): float(sums[set_size == size].mean()) for size in np.unique(set_size)
        },
    }

    if ground_truth_weights is None:
        source = "fitted"
        target = weights
        scores = _match_scores(X, np.asarray(softmax.M_))
    else:
        source = "ground_truth"
        target = np.asarray(ground_truth_weights, dtype=float)
        if target.shape != X.mask.shape:
            raise BioattnError(
                f"ground_truth_weights must have shape (n_trials, n_items) = {X.mask.shape}, "
                f"got {target.shape}"
            )
        if X.d_q != X.d_k:
            raise BioattnError(
                f"ground_truth_weights are compared with qᵀk, which needs d_q = d_k, "
                f"got d_q = {X.d_q}, d_k = {X.d_k}"
            )
        scores = np.einsum("ta,tia->ti", X.query, X.keys)
    rho, p_value = spearmanr(target[X.mask], scores[X.mask])
    rho, p_value = float(rho), float(p_value)
    level2 = {
        "holds": bool(np.isfinite(rho) and rho > 0 and p_value < L2_ALPHA),
        "spearman_rho": rho,
        "p_value": p_value,
        "weights": source,
    }

    rivals = cv.drop_sel(model=_SOFTMAX)
    best_rival = str(rivals["model"].values[int(np.argmax(rivals.values))])
    level3 = {
        "holds": comparison.attrs.get("best_model") == _SOFTMAX,
        "best_model": comparison.attrs.get("best_model"),
        "best_rival": best_rival,
        "margin": softmax_cv - float(rivals.max()),
    }

    if per_level is None:
        level4 = None
    elif level_data is None:
        level4 = _level4(X, counts, per_level, key_precision)
    else:
        level_X = _check_trialset(level_data[0])
        level_y = check_counts(level_X, level_data[1])
        level4 = _level4(level_X, level_y, per_level, key_precision)

    ladder = [level1, level2, level3] + ([level4] if level4 is not None else [])
    reached = 0
    for level in ladder:
        if not level["holds"]:
            break
        reached += 1
    return {"L1": level1, "L2": level2, "L3": level3, "L4": level4, "verdict_level": reached}
