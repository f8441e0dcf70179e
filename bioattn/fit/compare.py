r"""Out-of-sample comparison of the attention models.

:func:`cross_validated_log_likelihood` gives each model's held-out log-likelihood fold by fold
(the same folds for every model with the same ``random_state``, so fold-wise differences are
paired); :func:`bits_per_spike` expresses a gain over a reference model per spike.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from bioattn.errors import BioattnError
from bioattn.fit.base import MixtureModel
from bioattn.fit.bootstrap import clone
from bioattn.fit.data import TrialSet, check_counts

__all__ = ["cross_validated_log_likelihood", "bits_per_spike", "fold_indices"]


def fold_indices(n_trials: int, n_folds: int, random_state: int | None = 0) -> list[np.ndarray]:
    """Held-out trial indices of each of ``n_folds`` random, near-equal folds."""
    if isinstance(n_folds, bool) or not isinstance(n_folds, int | np.integer) or n_folds < 2:
        raise BioattnError(f"n_folds must be an int >= 2, got {n_folds!r}")
    if n_folds > n_trials:
        raise BioattnError(f"n_folds must be <= n_trials = {n_trials}, got {n_folds}")
    order = np.random.default_rng(random_state).permutation(n_trials)
    return [np.sort(fold) for fold in np.array_split(order, n_folds)]


def cross_validated_log_likelihood(
    estimator: MixtureModel,
    X: TrialSet,
    y: ArrayLike,
    n_folds: int = 5,
    random_state: int | None = 0,
    per_trial: bool = False,
) -> np.ndarray:
    r"""Held-out log-likelihood of each fold (nats, natural log, including −log y!).

    For each fold k a clone of ``estimator`` is fitted on the other folds and scored on fold k:
    ``ll[k] = clone.fit(X[−k], y[−k]).log_likelihood(X[k], y[k])``. ``ll.sum()`` is the
    cross-validated log-likelihood of the whole data set; compare models on the same folds
    (same ``random_state``).

    Returns
    -------
    np.ndarray
        Shape (n_folds,); with ``per_trial`` shape (n_trials,), each trial's log-likelihood
        under the model fitted without its fold (for paired bootstrap intervals of model
        differences; their sum over a fold is that fold's entry).
    """
    if not isinstance(estimator, MixtureModel):
        raise BioattnError(f"estimator must be a MixtureModel, got {type(estimator).__name__}")
    counts = check_counts(X, y)
    folds = fold_indices(X.n_trials, n_folds, random_state)
    held_out = np.empty(len(folds))
    trials = np.empty(X.n_trials)
    for k, test in enumerate(folds):
        train = np.setdiff1d(np.arange(X.n_trials), test, assume_unique=True)
        model = clone(estimator).fit(X.subset(train), counts[train])
        if per_trial:
            trials[test] = model.trial_log_likelihood(X.subset(test), counts[test])
        else:
            held_out[k] = model.log_likelihood(X.subset(test), counts[test])
    return trials if per_trial else held_out


def bits_per_spike(ll_model: Any, ll_reference: Any, total_spikes: Any) -> Any:
    r"""Log-likelihood gain over a reference model, in bits per spike.

    .. math::  \frac{\mathrm{LL}_\text{model} - \mathrm{LL}_\text{reference}}{N_\text{spikes} \ln 2}

    Both log-likelihoods in nats on the same (held-out) counts, whose total is ``total_spikes``;
    e.g. the reference is :class:`~bioattn.fit.models.Uniform`. Arrays broadcast.
    """
    gain = np.asarray(ll_model, dtype=float) - np.asarray(ll_reference, dtype=float)
    spikes = np.asarray(total_spikes, dtype=float)
    if not np.all(np.isfinite(gain)):
        raise BioattnError("ll_model and ll_reference must be finite log-likelihoods (nats)")
    if not np.all(np.isfinite(spikes)) or np.any(spikes <= 0):
        raise BioattnError(f"total_spikes must be > 0, got {total_spikes!r}")
    result = gain / (spikes * np.log(2.0))
    return float(result) if result.ndim == 0 else result
