r"""Synthetic designs and spike counts for testing the attention models.

:func:`random_trialset` builds a design like the circuit experiments: scenes of 1 … n_items
items on a feature ring, a cued feature with a random strength, random contrasts, and a readout
population with von Mises tuning. :func:`simulate_counts` draws spike counts from a fitted (or
:meth:`~bioattn.fit.models.MixtureModel.set_fitted`) model.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from bioattn.errors import BioattnError
from bioattn.fit.data import TrialSet
from bioattn.fit.models import MixtureModel, NoisyWinnerTakeAll

__all__ = ["random_trialset", "simulate_counts"]


def _check_count(name: str, value: int, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < minimum:
        raise BioattnError(f"{name} must be an int >= {minimum}, got {value!r}")
    return int(value)


def random_trialset(
    n_trials: int,
    n_items: int,
    n_out: int,
    rng: np.random.Generator,
    *,
    cue_strengths: Sequence[float] = (0.5, 1.0, 2.0),
    contrasts: Sequence[float] = (0.1, 0.3, 1.0),
    rate_range: tuple[float, float] = (5.0, 50.0),
    tuning_concentration: float = 2.0,
    duration: float = 0.5,
) -> TrialSet:
    r"""A random attention design.

    Each trial shows L_t items (L_t uniform on 1 … n_items) in L_t random slots; item i has a
    feature angle θ_ti uniform on the ring and a contrast drawn from ``contrasts``. The query is
    the cued feature θ_q (uniform) times a cue strength drawn from ``cue_strengths``:

    .. math::

        k_{ti} = [\cos\theta_{ti}, \sin\theta_{ti}], \qquad
        q_t = \text{strength}_t\,[\cos\theta_{qt}, \sin\theta_{qt}]

    The readout's template for an item alone is von Mises tuning of n_out neurons with
    preferred angles φ_o evenly spaced on the ring,

    .. math::

        v_{tio} = r_{\min} + (r_{\max} - r_{\min})\, e^{\kappa(\cos(\theta_{ti} - \phi_o) - 1)}

    (Hz; r_min, r_max = ``rate_range``, κ = ``tuning_concentration``), independent of contrast,
    so contrast acts only through the models that read it. Absent slots hold zeros.

    Parameters
    ----------
    n_trials, n_items, n_out : int
        Trials, item slots per trial, readout neurons.
    rng : np.random.Generator
    duration : float
        Counting window T in seconds.
    """
    n_trials = _check_count("n_trials", n_trials, 1)
    n_items = _check_count("n_items", n_items, 1)
    n_out = _check_count("n_out", n_out, 1)
    if not isinstance(rng, np.random.Generator):
        raise BioattnError(f"rng must be a numpy.random.Generator, got {type(rng).__name__}")
    low, high = (float(r) for r in rate_range)
    if not 0 <= low <= high:
        raise BioattnError(f"rate_range must satisfy 0 <= low <= high, got {rate_range!r}")

    set_size = rng.integers(1, n_items + 1, n_trials)
    # The first L_t slots of a random permutation of the slots are shown.
    order = np.argsort(rng.random((n_trials, n_items)), axis=1)
    mask = np.zeros((n_trials, n_items), dtype=bool)
    np.put_along_axis(mask, order, np.arange(n_items)[None, :] < set_size[:, None], axis=1)

    angle = rng.uniform(-np.pi, np.pi, (n_trials, n_items))
    keys = np.stack([np.cos(angle), np.sin(angle)], axis=2) * mask[:, :, None]
    cue_angle = rng.uniform(-np.pi, np.pi, n_trials)
    strength = rng.choice(np.asarray(cue_strengths, dtype=float), n_trials)
    query = np.stack([np.cos(cue_angle), np.sin(cue_angle)], axis=1) * strength[:, None]
    drive = rng.choice(np.asarray(contrasts, dtype=float), (n_trials, n_items)) * mask

    preferred = np.linspace(-np.pi, np.pi, n_out, endpoint=False)
    tuning = np.exp(tuning_concentration * (np.cos(angle[:, :, None] - preferred) - 1.0))
    values = (low + (high - low) * tuning) * mask[:, :, None]
    return TrialSet(values, keys, query, drive, mask, duration)


def simulate_counts(model: MixtureModel, X: TrialSet, rng: np.random.Generator) -> np.ndarray:
    """Spike counts (n_trials, n_out) drawn from a fitted model on design X.

    Poisson with mean λ = r·T, or negative binomial with the model's dispersion α
    (``likelihood="negbin"``). For :class:`NoisyWinnerTakeAll` a winner is drawn per trial
    from the winning probabilities and the rate is b + g v_t,winner.
    """
    if not isinstance(model, MixtureModel):
        raise BioattnError(f"model must be a MixtureModel, got {type(model).__name__}")
    if not isinstance(rng, np.random.Generator):
        raise BioattnError(f"rng must be a numpy.random.Generator, got {type(rng).__name__}")
    if isinstance(model, NoisyWinnerTakeAll):
        prob = model.weights(X)
        cumulative = np.cumsum(prob, axis=1)
        draw = rng.random((X.n_trials, 1)) * cumulative[:, -1:]
        winner = np.minimum((cumulative <= draw).sum(axis=1), X.n_items - 1)
        chosen = X.values[np.arange(X.n_trials), winner]
        rate = model.baseline_ + model.gain_ * chosen
    else:
        rate = model.predict(X)
    lam = rate * X.duration
    if model.likelihood == "negbin":
        size = 1.0 / model.dispersion_
        return rng.negative_binomial(size, size / (size + lam))
    return rng.poisson(lam)
