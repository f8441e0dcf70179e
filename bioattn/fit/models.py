r"""Rival attention models of a readout population's trial-wise spike counts.

Every model predicts the readout's rate on trial t as a weighted mixture of the responses to
the items shown,

.. math::

    r_t = b + g \sum_i w_{ti}\, v_{ti}, \qquad \lambda_t = r_t\, T,

with baseline b ≥ 0 (Hz), gain g ≥ 0 (dimensionless), the single-item templates v_ti (Hz,
from :class:`~bioattn.fit.data.TrialSet`) and the counting window T (s). The models differ only
in how the weights w_ti arise. The query-dependent ones all read the bilinear match score

.. math::  s_{ti} = q_t^\top M\, k_{ti}, \qquad \lVert M \rVert_F = 1,

scaled by a strength (β or a) ≥ 0. Counts are Poisson (``likelihood="poisson"``) or negative
binomial with one fitted dispersion α (``"negbin"``, variance λ + αλ²).

The estimators follow scikit-learn: hyper-parameters in the constructor, ``fit(X, y)`` returns
``self``, fitted values end in ``_``, and :meth:`MixtureModel.score` is the mean held-out
log-likelihood per trial, so a model comparison is one loop over :data:`MODELS`.

Fitting minimises the negative log-likelihood with L-BFGS-B and analytic gradients: the
likelihood gives ∂NLL/∂r, the mixture gives ∂r/∂b, ∂r/∂g and ∂r/∂w = g·v, and each model supplies
the vector–Jacobian product of its weights (for softmax ∂L/∂z = w ⊙ (∂L/∂w − Σ_j w_j ∂L/∂w_j)).
Internally the optimiser works on unconstrained numbers: positive quantities through softplus or
exp, and the strength and M through their product A = β M (an unconstrained d_q × d_k matrix,
β = ‖A‖_F, M = A/β).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.special import expit

from bioattn.errors import BioattnError
from bioattn.fit.base import (
    LOG_SIGMA_BOUNDS,
    LOGIT_BOUND,
    MATRIX_BOUND,
    Design,
    MixtureModel,
    Param,
    dot,
)
from bioattn.fit.likelihood import count_log_pmf
from bioattn.fit.weighting import (
    log_softmax,
    masked_softmax,
    softmax_vjp,
    sparsemax,
    sparsemax_vjp,
)

__all__ = [
    "MixtureModel",
    "SoftmaxAttention",
    "NormalizationAttention",
    "DivisiveRatio",
    "LinearGain",
    "SigmoidGate",
    "NoisyWinnerTakeAll",
    "Sparsemax",
    "Uniform",
    "MODELS",
]


# --------------------------------------------------------------------------------------------
# shared pieces of the query-dependent models
# --------------------------------------------------------------------------------------------


def _matrix_param(d_q: int, d_k: int) -> Param:
    return Param("A", (d_q, d_k), "identity", (-MATRIX_BOUND, MATRIX_BOUND))


def _initial_matrix(design: Design, rng: np.random.Generator | None, scale: float = 1.0):
    """Deterministic start: A = scale·I ("attend to items whose key matches the query");
    random start: A ~ N(0, 1.5²) entries."""
    d_q, d_k = design.X.d_q, design.X.d_k
    if rng is None:
        return scale * np.eye(d_q, d_k)
    return rng.normal(0.0, 1.5, (d_q, d_k))


def _with_slot_bias(logits: np.ndarray, P: dict[str, Any]) -> np.ndarray:
    if "bias" in P:
        logits = logits + np.concatenate([[0.0], P["bias"]])
    return logits


def _bias_public(P: dict[str, Any]) -> dict[str, Any]:
    return {"bias": np.concatenate([[0.0], P["bias"]])} if "bias" in P else {}


def _bias_internal(public: dict[str, Any]) -> tuple[dict, float]:
    """Slot biases are defined up to a common shift (softmax and sparsemax ignore it), so the
    first slot's bias is fixed at 0; returns the free entries and the shift removed."""
    bias = np.array(public["bias"], dtype=float)
    if bias.ndim != 1 or bias.size < 1 or not np.all(np.isfinite(bias)):
        raise BioattnError(
            f"bias must be a finite 1-D array with one entry per item slot, got {bias!r:.60}"
        )
    return {"bias": bias[1:] - bias[0]}, float(bias[0])


def _absent(design: Design, logits: np.ndarray, present: np.ndarray | None = None) -> np.ndarray:
    return np.where(design.mask if present is None else present, logits, -np.inf)


# --------------------------------------------------------------------------------------------
# the models
# --------------------------------------------------------------------------------------------


class SoftmaxAttention(MixtureModel):
    r"""Transformer attention: a softmax over the items' match scores.

    .. math::

        w_{ti} = \frac{\exp(\beta s_{ti} + b_i)}
                      {[\text{sink}]\, e^{s_0} + \sum_{j\,\text{present}} \exp(\beta s_{tj} + b_j)},
        \qquad s_{ti} = q_t^\top M k_{ti}

    Scaled dot-product attention (Vaswani et al. 2017) with queries W_Q q and keys W_K k scores
    qᵀ W_Qᵀ W_K k / √d. From responses alone only the product W_Qᵀ W_K / √d is identifiable, not
    W_Q and W_K separately (any invertible R gives W_Q → R W_Q, W_K → R⁻ᵀ W_K the same scores),
    and of that product only its direction M (‖M‖_F = 1) and its size, the inverse temperature
    β ≥ 0, which sets how sharply attention selects. Hence the fitted ``beta_`` and unit-norm
    ``M_``.

    Parameters
    ----------
    sink : bool
        Add an "attend to nothing" logit s_0 (``sink_``; Xiao et al. 2023 attention sinks), so
        the item weights may sum to less than 1.
    item_bias : bool
        One additive logit b_i per item slot (location), ``bias_`` with b_0 = 0 (only
        differences matter).
    n_starts, random_state, likelihood, max_iter
        See :class:`MixtureModel`.
    """

    _strength = "beta"

    def __init__(
        self,
        sink: bool = False,
        item_bias: bool = False,
        n_starts: int = 8,
        random_state: int | None = 0,
        likelihood: str = "poisson",
        max_iter: int = 1000,
    ):
        super().__init__(n_starts, random_state, likelihood, max_iter)
        self.sink = sink
        self.item_bias = item_bias

    def _model_params(self, d_q, d_k, n_items):
        params = [_matrix_param(d_q, d_k)]
        if self.item_bias:
            params.append(Param("bias", (n_items - 1,), "identity", (-LOGIT_BOUND, LOGIT_BOUND)))
        if self.sink:
            params.append(Param("sink", (), "identity", (-LOGIT_BOUND, LOGIT_BOUND)))
        return params

    def _initial(self, design, rng):
        P = {"A": _initial_matrix(design, rng)}
        if self.item_bias:
            n = design.n_items - 1
            P["bias"] = np.zeros(n) if rng is None else rng.normal(0.0, 0.5, n)
        if self.sink:
            P["sink"] = 0.0 if rng is None else float(rng.normal(0.0, 2.0))
        return P

    def _weights(self, P, design):
        logits = _absent(design, _with_slot_bias(design.scores(P["A"]), P))
        weights, sink_weight = masked_softmax(logits, P.get("sink"))
        return weights, (weights, sink_weight)

    def _weights_vjp(self, P, design, cache, grad_weights):
        weights, sink_weight = cache
        grad_logits, grad_sink = softmax_vjp(weights, grad_weights, sink_weight)
        grads = {"A": design.score_vjp(grad_logits, P["A"].shape)}
        if "bias" in P:
            grads["bias"] = grad_logits.sum(axis=0)[1:]
        if "sink" in P:
            grads["sink"] = grad_sink.sum()
        return grads

    def _extra_names(self):
        return (["bias"] if self.item_bias else []) + (["sink"] if self.sink else [])

    def _public_extra(self, P):
        public = _bias_public(P)
        if "sink" in P:
            public["sink"] = float(P["sink"])
        return public

    def _internal_extra(self, public):
        P, shift = _bias_internal(public) if self.item_bias else ({}, 0.0)
        if self.sink:
            P["sink"] = float(public["sink"]) - shift
        return P

    def _n_items_of(self, P):
        return P["bias"].size + 1 if "bias" in P else None


class NormalizationAttention(MixtureModel):
    r"""The normalisation model of attention (Reynolds & Heeger 2009, Neuron 61:168).

    .. math::

        w_{ti} = \frac{A_{ti}\, c_{ti}^{\,n}}
                      {\sigma^n + \sum_{j\,\text{present}} A_{tj}\, c_{tj}^{\,n}},
        \qquad A_{ti} = \exp(\beta s_{ti})

    The attention field A multiplies each item's stimulus drive (contrast c) before divisive
    normalisation with semi-saturation σ > 0 and exponent n ≥ 1. Written in logs this is a
    softmax over the logits β s_ti + n log c_ti with a sink logit n log σ (Carandini & Heeger
    2012): normalisation is attention with contrast-dependent logits and a sink. Items with
    zero drive get weight 0. Fitted: ``beta_``, ``M_``, ``sigma_``, ``n_``.
    """

    _strength = "beta"

    def _model_params(self, d_q, d_k, n_items):
        return [
            _matrix_param(d_q, d_k),
            Param("sigma", (), "exp", LOG_SIGMA_BOUNDS),
            Param("n", (), "softplus1", (-30.0, 30.0)),
        ]

    def _initial(self, design, rng):
        typical = float(np.median(design.X.drive[design.driven])) if design.driven.any() else 1.0
        if rng is None:
            return {"A": _initial_matrix(design, None), "sigma": typical, "n": 2.0}
        return {
            "A": _initial_matrix(design, rng),
            "sigma": typical * float(np.exp(rng.normal(0.0, 1.0))),
            "n": 1.0 + float(np.exp(rng.normal(0.0, 0.7))),
        }

    def _weights(self, P, design):
        logits = _absent(design, design.scores(P["A"]) + P["n"] * design.log_drive, design.driven)
        weights, sink_weight = masked_softmax(logits, P["n"] * np.log(P["sigma"]))
        return weights, (weights, sink_weight)

    def _weights_vjp(self, P, design, cache, grad_weights):
        weights, sink_weight = cache
        grad_logits, grad_sink = softmax_vjp(weights, grad_weights, sink_weight)
        total_sink = grad_sink.sum()
        return {
            "A": design.score_vjp(grad_logits, P["A"].shape),
            "n": dot(grad_logits, design.log_drive) + total_sink * np.log(P["sigma"]),
            "sigma": total_sink * P["n"] / P["sigma"],
        }

    def _extra_names(self):
        return ["sigma", "n"]

    def _internal_extra(self, public):
        sigma, n = float(public["sigma"]), float(public["n"])
        if not np.isfinite(sigma) or sigma <= 0:
            raise BioattnError(f"sigma must be a finite number > 0, got {sigma!r}")
        if not np.isfinite(n) or n < 1:
            raise BioattnError(f"n must be a finite number >= 1, got {n!r}")
        return {"sigma": sigma, "n": n}


class DivisiveRatio(MixtureModel):
    r"""A TVA-like ratio rule (Bundesen 1990, Psychol Rev 97:523): each item's share of the
    total attentionally weighted drive.

    .. math::

        w_{ti} = \frac{d_{ti}^{\,n}}{\sum_{j\,\text{present}} d_{tj}^{\,n}}, \qquad
        d_{ti} = c_{ti}\,\bigl(1 + a \max(s_{ti}, 0)\bigr)

    with a ≥ 0 and n > 0: the match to the query boosts an item's drive (contrast c) linearly
    above 0 and leaves mismatching items at their bottom-up drive. The weights sum to 1. Fitted:
    ``a_``, ``M_``, ``n_``.
    """

    _strength = "a"

    def _model_params(self, d_q, d_k, n_items):
        return [_matrix_param(d_q, d_k), Param("n", (), "softplus", (-30.0, 30.0))]

    def _initial(self, design, rng):
        if rng is None:
            return {"A": _initial_matrix(design, None), "n": 1.0}
        return {"A": _initial_matrix(design, rng), "n": float(np.exp(rng.normal(0.0, 0.7)))}

    def _weights(self, P, design):
        scores = design.scores(P["A"])
        boost = np.log1p(np.maximum(scores, 0.0))
        log_drive = design.log_drive + boost
        logits = _absent(design, P["n"] * log_drive, design.driven)
        weights, _ = masked_softmax(logits)
        return weights, (weights, scores, log_drive)

    def _weights_vjp(self, P, design, cache, grad_weights):
        weights, scores, log_drive = cache
        grad_logits, _ = softmax_vjp(weights, grad_weights)
        positive = scores > 0
        grad_scores = np.zeros_like(scores)
        grad_scores[positive] = grad_logits[positive] * P["n"] / (1.0 + scores[positive])
        return {
            "A": design.score_vjp(grad_scores, P["A"].shape),
            "n": dot(grad_logits, log_drive),
        }

    def _extra_names(self):
        return ["n"]

    def _internal_extra(self, public):
        n = float(public["n"])
        if not np.isfinite(n) or n <= 0:
            raise BioattnError(f"n must be a finite number > 0, got {n!r}")
        return {"n": n}


class LinearGain(MixtureModel):
    r"""Multiplicative gain without competition (McAdams & Maunsell 1999, J Neurosci 19:431).

    .. math::  w_{ti} = \max(1 + a\, s_{ti},\, 0)

    Each present item's response is scaled by its own match to the query; nothing normalises,
    so the weights do not sum to 1 and more items mean more response. Fitted: ``a_``, ``M_``.
    """

    _strength = "a"

    def _model_params(self, d_q, d_k, n_items):
        return [_matrix_param(d_q, d_k)]

    def _initial(self, design, rng):
        if rng is None:
            return {"A": _initial_matrix(design, None, 0.5)}
        return {"A": 0.5 * _initial_matrix(design, rng)}

    def _weights(self, P, design):
        gain = 1.0 + design.scores(P["A"])
        active = design.mask & (gain > 0)
        return np.where(active, gain, 0.0), active

    def _weights_vjp(self, P, design, cache, grad_weights):
        return {"A": design.score_vjp(np.where(cache, grad_weights, 0.0), P["A"].shape)}


class SigmoidGate(MixtureModel):
    r"""Independent sigmoid gates, no competition.

    .. math::

        w_{ti} = \operatorname{expit}(\beta s_{ti} + b_0)
               = \frac{1}{1 + e^{-(\beta s_{ti} + b_0)}}

    Each item passes through its own gate, opened by its match to the query (a saturating
    version of :class:`LinearGain`; the gating units of gated recurrent networks). Fitted:
    ``beta_``, ``M_``, ``b0_``.
    """

    _strength = "beta"

    def _model_params(self, d_q, d_k, n_items):
        return [
            _matrix_param(d_q, d_k),
            Param("b0", (), "identity", (-LOGIT_BOUND, LOGIT_BOUND)),
        ]

    def _initial(self, design, rng):
        if rng is None:
            return {"A": _initial_matrix(design, None), "b0": 0.0}
        return {"A": _initial_matrix(design, rng), "b0": float(rng.normal(0.0, 1.5))}

    def _weights(self, P, design):
        gate = expit(design.scores(P["A"]) + P["b0"])
        return np.where(design.mask, gate, 0.0), gate

    def _weights_vjp(self, P, design, cache, grad_weights):
        grad_logits = np.where(design.mask, grad_weights * cache * (1.0 - cache), 0.0)
        return {"A": design.score_vjp(grad_logits, P["A"].shape), "b0": grad_logits.sum()}

    def _extra_names(self):
        return ["b0"]

    def _internal_extra(self, public):
        b0 = float(public["b0"])
        if not np.isfinite(b0):
            raise BioattnError(f"b0 must be a finite number, got {b0!r}")
        return {"b0": b0}


class NoisyWinnerTakeAll(MixtureModel):
    r"""Stochastic selection: on each trial one present item wins outright.

    .. math::

        p_{ti} = \frac{\exp(\beta s_{ti})}{\sum_{j\,\text{present}} \exp(\beta s_{tj})}, \qquad
        P(y_t) = \sum_i p_{ti} \prod_o \mathrm{Poisson}\bigl(y_{to} \mid (b + g\, v_{tio})\,T\bigr)

    The winner (e.g. the item a winner-take-all attractor settles on) is drawn per trial; the
    readout then responds as to that item alone. The expected rate equals that of
    :class:`SoftmaxAttention` without biases, but the trial-to-trial distribution is a mixture,
    with correlated excess variance across the readout neurons: that is what tells the two
    apart. ``weights`` returns the winning probabilities p and ``predict`` the expected rate.
    Fitted: ``beta_``, ``M_``.
    """

    _strength = "beta"

    def _model_params(self, d_q, d_k, n_items):
        return [_matrix_param(d_q, d_k)]

    def _initial(self, design, rng):
        return {"A": _initial_matrix(design, rng)}

    def _logits(self, P, design):
        return _absent(design, design.scores(P["A"]))

    def _weights(self, P, design):
        weights, _ = masked_softmax(self._logits(P, design))
        return weights, None

    def _component_log_likelihood(self, P, design, need_grad):
        """ℓ_ti = Σ_o log P(y_to | (b + g v_tio) T) and ∂ℓ_ti/∂(b, g, α) (per trial and item)."""
        b, g, T = P["baseline"], P["gain"], design.duration
        y = design.y
        rate = design.values * g
        rate += b
        if "dispersion" not in P:
            # Poisson, summed over the readout neurons o (Y_t = Σ_o y_to, r_tio = b + g v_tio):
            # ℓ_ti = Σ_o y log r_tio + Y_t log T − T Σ_o r_tio − Σ_o log y!
            n_out = rate.shape[2]
            counts = y.sum(axis=1)
            ell = np.einsum("tio,to->ti", np.log(rate), y)
            ell += (counts * np.log(T) - design.log_y_factorial.sum(axis=1))[:, None]
            ell -= T * (n_out * b + g * design.value_sums)
            if not need_grad:
                return ell, None
            inverse = np.reciprocal(rate, out=rate)
            y_over_rate = np.einsum("tio,to->ti", inverse, y)
            d_b = y_over_rate - T * n_out
            if g * design.values.mean() > 1e-6 * b:
                # Σ_o y v / r = (Y − b Σ_o y / r) / g saves a pass over (t, i, o); its rounding
                # error, ~1e-16·Y·b / (g v), is negligible unless g v ≪ b.
                y_value_over_rate = (counts[:, None] - b * y_over_rate) / g
            else:
                y_value_over_rate = np.einsum("tio,tio,to->ti", inverse, design.values, y)
            d_g = y_value_over_rate - T * design.value_sums
            return ell, {"baseline": d_b, "gain": d_g}
        log_p, d_lam, d_log_dispersion = count_log_pmf(
            y[:, None, :],
            rate * T,
            design.log_y_factorial[:, None, :],
            np.log(P["dispersion"]),
            need_grad,
        )
        ell = log_p.sum(axis=2)
        if not need_grad:
            return ell, None
        return ell, {
            "baseline": T * d_lam.sum(axis=2),
            "gain": T * np.einsum("tio,tio->ti", d_lam, design.values),
            "dispersion": d_log_dispersion.sum(axis=2) / P["dispersion"],
        }

    def _trial_log_likelihood(self, P, design):
        joint = (
            log_softmax(self._logits(P, design))
            + self._component_log_likelihood(P, design, need_grad=False)[0]
        )
        top = joint.max(axis=1)
        return top + np.log(np.exp(joint - top[:, None]).sum(axis=1))

    def _nll(self, P, design, need_grad=True):
        log_prior = log_softmax(self._logits(P, design))
        ell, d_ell = self._component_log_likelihood(P, design, need_grad)
        joint = log_prior + ell
        top = joint.max(axis=1, keepdims=True)
        expo = np.exp(joint - top)
        total = expo.sum(axis=1)
        nll = -float(np.sum(top[:, 0] + np.log(total)))
        if not need_grad:
            return nll, None
        responsibility = expo / total[:, None]
        # d log Σ_i p_i e^{ℓ_i} / dz = responsibility − p; / dθ_ℓ = Σ_i responsibility_i ∂ℓ_i/∂θ
        grad_logits = np.exp(log_prior) - responsibility
        grads = {name: -dot(responsibility, d) for name, d in d_ell.items()}
        grads["A"] = design.score_vjp(grad_logits, P["A"].shape)
        return nll, grads


class Sparsemax(MixtureModel):
    r"""Sparse attention (Martins & Astudillo 2016, ICML): the Euclidean projection of the
    logits onto the simplex.

    .. math::

        w_t = \operatorname{sparsemax}(\beta s_t + b), \qquad
        w_{ti} = \max(\beta s_{ti} + b_i - \tau_t, 0),\ \textstyle\sum_i w_{ti} = 1

    Like softmax the weights sum to 1, but items far enough below the best get exactly 0.
    Fitted: ``beta_``, ``M_`` and, with ``item_bias``, one bias per item slot ``bias_``
    (b_0 = 0; sparsemax ignores a common shift).
    """

    _strength = "beta"

    def __init__(
        self,
        item_bias: bool = False,
        n_starts: int = 8,
        random_state: int | None = 0,
        likelihood: str = "poisson",
        max_iter: int = 1000,
    ):
        super().__init__(n_starts, random_state, likelihood, max_iter)
        self.item_bias = item_bias

    def _model_params(self, d_q, d_k, n_items):
        params = [_matrix_param(d_q, d_k)]
        if self.item_bias:
            params.append(Param("bias", (n_items - 1,), "identity", (-LOGIT_BOUND, LOGIT_BOUND)))
        return params

    def _initial(self, design, rng):
        P = {"A": _initial_matrix(design, rng)}
        if self.item_bias:
            n = design.n_items - 1
            P["bias"] = np.zeros(n) if rng is None else rng.normal(0.0, 0.3, n)
        return P

    def _weights(self, P, design):
        weights = sparsemax(_absent(design, _with_slot_bias(design.scores(P["A"]), P)))
        return weights, weights

    def _weights_vjp(self, P, design, cache, grad_weights):
        grad_logits = sparsemax_vjp(cache, grad_weights)
        grads = {"A": design.score_vjp(grad_logits, P["A"].shape)}
        if "bias" in P:
            grads["bias"] = grad_logits.sum(axis=0)[1:]
        return grads

    def _extra_names(self):
        return ["bias"] if self.item_bias else []

    def _public_extra(self, P):
        return _bias_public(P)

    def _internal_extra(self, public):
        return _bias_internal(public)[0] if self.item_bias else {}

    def _n_items_of(self, P):
        return P["bias"].size + 1 if "bias" in P else None


class Uniform(MixtureModel):
    r"""No attention: every present item gets the same weight.

    .. math::  w_{ti} = 1 / L_t \quad (L_t \text{ items present})

    The floor model of the comparison (only baseline and gain are fitted): the response to a
    scene is the average of the responses to its items.
    """

    def _weights(self, P, design):
        return design.mask / design.set_size[:, None], None


#: The rival models, in the order of the comparison.
MODELS: dict[str, type[MixtureModel]] = {
    "softmax": SoftmaxAttention,
    "normalization": NormalizationAttention,
    "divisive_ratio": DivisiveRatio,
    "linear_gain": LinearGain,
    "sigmoid_gate": SigmoidGate,
    "noisy_wta": NoisyWinnerTakeAll,
    "sparsemax": Sparsemax,
    "uniform": Uniform,
}
