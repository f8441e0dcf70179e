r"""Softmax attention with a key precision: how sharply the match falls off with feature distance.

In :class:`~bioattn.fit.models.SoftmaxAttention` the match of unit feature vectors is bilinear,
s = qᵀMk ∝ cos Δ (Δ the angle between the queried and the item's feature), so a sharper key
code cannot be told from a larger β: both only scale the logits. Here the match is a von Mises
tuning curve of the feature distance, as population codes of orientation or direction are
(e.g. Swindale 1998; Ma, Beck, Latham & Pouget 2006, for precision as the concentration of the
likelihood):

.. math::

    \cos\Delta_{ti} = \frac{q_t^\top k_{ti}}{\lVert q_t\rVert\,\lVert k_{ti}\rVert}, \qquad
    s_{ti} = \exp\bigl(\kappa(\cos\Delta_{ti} - 1)\bigr), \qquad
    w_{ti} = \frac{\exp(\beta s_{ti})}{[\text{sink}]\,e^{s_0} + \sum_j \exp(\beta s_{tj})}

β ≥ 0 (inverse temperature: how strongly the best match wins) and κ > 0 (key precision: how
narrowly "matching" is defined; κ → 0 gives s ≈ 1 − κ(1 − cos Δ), the bilinear case) are
separately identifiable when the items take more than two feature distances from the query.
A zero query (no cue) or zero key gives cos Δ = 0 for every item. Used by ``bioattn fit`` to
report key precision per level of a manipulation (the expected target of acetylcholine).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from bioattn.errors import BioattnError
from bioattn.fit.base import LOGIT_BOUND, Design, MixtureModel, Param
from bioattn.fit.weighting import masked_softmax, softmax_vjp

__all__ = ["KeyPrecisionAttention"]

# log β and log κ: wide enough for any sensible fit, narrow enough that exp cannot overflow.
_LOG_BOUNDS = (-12.0, 6.0)


def _cosines(X) -> np.ndarray:
    """cos Δ_ti between each query and each key, 0 where either is the zero vector."""
    if X.d_q != X.d_k:
        raise BioattnError(
            f"KeyPrecisionAttention compares query and keys directly, which needs d_q = d_k, "
            f"got d_q = {X.d_q}, d_k = {X.d_k}"
        )
    dots = np.einsum("ta,tia->ti", X.query, X.keys)
    norms = np.linalg.norm(X.query, axis=1)[:, None] * np.linalg.norm(X.keys, axis=2)
    return np.divide(dots, norms, out=np.zeros_like(dots), where=norms > 0)


class KeyPrecisionAttention(MixtureModel):
    r"""Softmax over von Mises matches: β (selectivity) and κ (key precision); see module.

    Parameters
    ----------
    sink : bool
        Add an "attend to nothing" logit (``sink_``), as in SoftmaxAttention.
    n_starts, random_state, likelihood, max_iter
        See :class:`~bioattn.fit.base.MixtureModel`.

    Fitted: ``beta_``, ``kappa_`` (and ``sink_``).
    """

    def __init__(
        self,
        sink: bool = False,
        n_starts: int = 8,
        random_state: int | None = 0,
        likelihood: str = "poisson",
        max_iter: int = 1000,
    ):
        super().__init__(n_starts, random_state, likelihood, max_iter)
        self.sink = sink

    def _model_params(self, d_q, d_k, n_items):
        params = [Param("beta", (), "exp", _LOG_BOUNDS), Param("kappa", (), "exp", _LOG_BOUNDS)]
        if self.sink:
            params.append(Param("sink", (), "identity", (-LOGIT_BOUND, LOGIT_BOUND)))
        return params

    def _initial(self, design: Design, rng):
        if rng is None:
            P: dict[str, Any] = {"beta": 2.0, "kappa": 1.0}
        else:
            P = {
                "beta": float(np.exp(rng.normal(0.5, 1.0))),
                "kappa": float(np.exp(rng.normal(0.0, 1.0))),
            }
        if self.sink:
            P["sink"] = 0.0 if rng is None else float(rng.normal(0.0, 2.0))
        return P

    def _weights(self, P, design: Design):
        cosines = _cosines(design.X)
        match = np.exp(P["kappa"] * (cosines - 1.0))
        logits = np.where(design.mask, P["beta"] * match, -np.inf)
        weights, sink_weight = masked_softmax(logits, P.get("sink"))
        return weights, (weights, sink_weight, cosines, match)

    def _weights_vjp(self, P, design, cache, grad_weights):
        weights, sink_weight, cosines, match = cache
        grad_logits, grad_sink = softmax_vjp(weights, grad_weights, sink_weight)
        grad_logits = np.where(design.mask, grad_logits, 0.0)
        grads = {
            "beta": float(np.sum(grad_logits * match)),
            "kappa": float(np.sum(grad_logits * P["beta"] * match * (cosines - 1.0))),
        }
        if "sink" in P:
            grads["sink"] = float(grad_sink.sum())
        return grads

    def _extra_names(self):
        return ["beta", "kappa"] + (["sink"] if self.sink else [])

    def _public_extra(self, P):
        return {name: float(P[name]) for name in self._extra_names()}

    def _internal_extra(self, public):
        P = {}
        for name in self._extra_names():
            try:
                value = float(public[name])
            except (TypeError, ValueError) as error:
                raise BioattnError(f"{name} must be a number, got {public[name]!r}") from error
            if not np.isfinite(value) or (name != "sink" and value <= 0):
                raise BioattnError(
                    f"{name} must be a finite number{'' if name == 'sink' else ' > 0'}, "
                    f"got {value!r}"
                )
            P[name] = value
        return P
