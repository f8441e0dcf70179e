r"""Normalising maps from item logits to weights, with their vector–Jacobian products.

Every function works row-wise on arrays of shape (n_trials, n_items). Absent items carry the
logit −inf and get weight exactly 0; a row whose logits are all −inf (and that has no sink)
gets all-zero weights instead of 0/0, so no NaN ever appears.

The vector–Jacobian products (VJPs) take the gradient of a scalar loss with respect to the
weights, g = ∂L/∂w, and return ∂L/∂z; the models chain them to their own parameters.
"""

from __future__ import annotations

import numpy as np

__all__ = ["masked_softmax", "softmax_vjp", "log_softmax", "sparsemax", "sparsemax_vjp"]


def masked_softmax(
    logits: np.ndarray, sink: np.ndarray | float | None = None
) -> tuple[np.ndarray, np.ndarray | None]:
    r"""Softmax over the finite logits of each row, with an optional sink.

    .. math::

        w_{ti} = \frac{e^{z_{ti}}}{[\text{sink}]\, e^{z_{t0}} + \sum_j e^{z_{tj}}}, \qquad
        w_{t0} = \frac{e^{z_{t0}}}{[\text{sink}]\, e^{z_{t0}} + \sum_j e^{z_{tj}}}

    The sink z_t0 (Xiao et al. 2023 "attention sinks") takes part in the normalisation but
    has no value, so with a sink the item weights sum to less than 1.

    Returns
    -------
    (w, w_sink)
        Item weights (n_trials, n_items) and the sink's weight (n_trials,), or None without sink.
    """
    top = logits.max(axis=1)
    if sink is not None:
        sink = np.broadcast_to(np.asarray(sink, dtype=float), top.shape)
        top = np.maximum(top, sink)
    top = np.where(np.isfinite(top), top, 0.0)
    expo = np.exp(logits - top[:, None])
    total = expo.sum(axis=1)
    sink_expo = None
    if sink is not None:
        sink_expo = np.exp(sink - top)
        total = total + sink_expo
    inv = 1.0 / np.where(total > 0, total, 1.0)
    weights = expo * inv[:, None]
    return weights, (None if sink_expo is None else sink_expo * inv)


def softmax_vjp(
    weights: np.ndarray, grad_weights: np.ndarray, sink_weight: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray | None]:
    r"""∂L/∂z of :func:`masked_softmax`: g_z = w ⊙ (g − Σ_j w_j g_j), and for the sink
    ∂L/∂z_0 = −w_0 Σ_j w_j g_j (the sink's own weight carries no loss gradient)."""
    mean = np.einsum("ti,ti->t", weights, grad_weights)
    grad_logits = weights * (grad_weights - mean[:, None])
    grad_sink = None if sink_weight is None else -sink_weight * mean
    return grad_logits, grad_sink


def log_softmax(logits: np.ndarray) -> np.ndarray:
    """log of :func:`masked_softmax` without sink: −inf where the logit is −inf. Every row needs
    at least one finite logit."""
    top = logits.max(axis=1, keepdims=True)
    return logits - (top + np.log(np.exp(logits - top).sum(axis=1, keepdims=True)))


def sparsemax(logits: np.ndarray) -> np.ndarray:
    r"""Sparsemax (Martins & Astudillo 2016): the Euclidean projection of z onto the simplex.

    .. math::

        w_{ti} = \max(z_{ti} - \tau_t, 0), \qquad \tau_t \text{ such that } \sum_i w_{ti} = 1

    τ_t = (Σ_{j≤k} z_(j) − 1)/k with the sorted logits z_(1) ≥ z_(2) ≥ … and k the largest
    index with 1 + k z_(k) > Σ_{j≤k} z_(j). Items with logit −inf (absent) get weight 0.
    """
    finite = np.isfinite(logits)
    ordered = -np.sort(-np.where(finite, logits, -np.inf), axis=1)
    ordered_finite = np.isfinite(ordered)
    ordered_safe = np.where(ordered_finite, ordered, 0.0)
    cumulative = np.cumsum(ordered_safe, axis=1)
    rank = np.arange(1, logits.shape[1] + 1)
    in_support = (1.0 + rank * ordered_safe > cumulative) & ordered_finite
    # The condition holds for a prefix of the sorted logits, so its length is the count.
    size = np.maximum(in_support.sum(axis=1), 1)
    tau = (np.take_along_axis(cumulative, size[:, None] - 1, axis=1)[:, 0] - 1.0) / size
    weights = np.where(finite, np.maximum(np.where(finite, logits, 0.0) - tau[:, None], 0.0), 0.0)
    return weights


def sparsemax_vjp(weights: np.ndarray, grad_weights: np.ndarray) -> np.ndarray:
    r"""∂L/∂z of :func:`sparsemax`: on the support S (w > 0) g_z = g − mean_S(g), else 0."""
    support = weights > 0
    size = np.maximum(support.sum(axis=1), 1)
    mean = np.where(support, grad_weights, 0.0).sum(axis=1) / size
    return np.where(support, grad_weights - mean[:, None], 0.0)
