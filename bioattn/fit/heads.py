r"""Multi-head softmax attention: separate attention distributions over the same items, mixed.

A transformer layer runs H heads side by side, each with its own query/key projections and its
own softmax; their outputs are concatenated and projected (Vaswani et al. 2017). When every
head reads the same values (here: the readout's single-item templates) and the output
projection only scales them, the layer's output is a convex mixture of the heads' outputs:

.. math::

    r_t = b + g \sum_i w_{ti} v_{ti}, \qquad
    w_{ti} = \sum_h \pi_h\, \mathrm{softmax}_i\!\left(q_{t,h}^\top A_h\, k_{ti,h}\right),
    \qquad \pi = \mathrm{softmax}(0, m_1, \dots, m_{H-1})

with head h reading its own query dimensions q_{t,h} and key dimensions k_{ti,h} (e.g. head 1
the spatial cue against the items' locations, head 2 the feature cue against their features),
A_h = β_h M_h its unconstrained bilinear match matrix and π_h ≥ 0 its share of the output.

One head over all dimensions *adds* the logits (w ∝ e^{s_spatial + s_feature}, one
distribution); two heads *average* two distributions. On ``two-streams`` the out-of-sample
comparison of :class:`MultiHeadSoftmax` with :class:`~bioattn.fit.models.SoftmaxAttention` on
the same features asks which of the two the spatial and feature streams of the circuit do.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from bioattn.errors import BioattnError
from bioattn.fit.base import LOGIT_BOUND, MATRIX_BOUND, Design, MixtureModel, Param
from bioattn.fit.weighting import masked_softmax, softmax_vjp

__all__ = ["MultiHeadSoftmax"]


def _index_list(what: str, dims: Any, size: int) -> np.ndarray:
    try:
        index = np.array(dims, dtype=int).ravel()
    except (TypeError, ValueError) as error:
        raise BioattnError(f"{what} must be a list of feature indices, got {dims!r}") from error
    if index.size < 1 or index.min() < 0 or index.max() >= size:
        raise BioattnError(f"{what} must list indices in 0..{size - 1}, got {dims!r}")
    return index


class MultiHeadSoftmax(MixtureModel):
    r"""H softmax heads over the same items, mixed with learned shares π_h (module docstring).

    Parameters
    ----------
    heads : sequence of (query_dims, key_dims)
        For each head, the indices of the query features and of the key features it reads.
    n_starts, random_state, likelihood, max_iter
        See :class:`~bioattn.fit.base.MixtureModel`.

    Fitted attributes (besides ``baseline_`` and ``gain_``): ``A<h>_`` the match matrix of
    head h (its Frobenius norm is the head's β) and ``head_mix_`` the logits m (m_0 = 0 is
    fixed); :attr:`head_betas_` and :attr:`head_shares_` give β_h and π_h.
    """

    def __init__(
        self,
        heads: Sequence[tuple[Sequence[int], Sequence[int]]] = (),
        n_starts: int = 8,
        random_state: int | None = 0,
        likelihood: str = "poisson",
        max_iter: int = 1000,
    ):
        super().__init__(n_starts, random_state, likelihood, max_iter)
        self.heads = heads

    # ------------------------------------------------------------------ heads

    def _head_dims(self, d_q: int, d_k: int) -> list[tuple[np.ndarray, np.ndarray]]:
        if not isinstance(self.heads, Sequence) or len(self.heads) < 1:
            raise BioattnError(
                f"heads must be a non-empty list of (query_dims, key_dims), got {self.heads!r}"
            )
        dims = []
        for h, head in enumerate(self.heads):
            if not isinstance(head, Sequence) or len(head) != 2:
                raise BioattnError(f"heads[{h}] must be (query_dims, key_dims), got {head!r}")
            dims.append(
                (
                    _index_list(f"heads[{h}] query_dims", head[0], d_q),
                    _index_list(f"heads[{h}] key_dims", head[1], d_k),
                )
            )
        return dims

    def _model_params(self, d_q, d_k, n_items):
        params = [
            Param(f"A{h}", (q.size, k.size), "identity", (-MATRIX_BOUND, MATRIX_BOUND))
            for h, (q, k) in enumerate(self._head_dims(d_q, d_k))
        ]
        if len(params) > 1:
            params.append(
                Param("head_mix", (len(params) - 1,), "identity", (-LOGIT_BOUND, LOGIT_BOUND))
            )
        return params

    def _initial(self, design, rng):
        dims = self._head_dims(design.X.d_q, design.X.d_k)
        P: dict[str, Any] = {}
        for h, (q, k) in enumerate(dims):
            P[f"A{h}"] = (
                np.eye(q.size, k.size) if rng is None else rng.normal(0.0, 1.5, (q.size, k.size))
            )
        if len(dims) > 1:
            n = len(dims) - 1
            P["head_mix"] = np.zeros(n) if rng is None else rng.normal(0.0, 1.0, n)
        return P

    def _shares(self, P: dict[str, Any], n_heads: int) -> np.ndarray:
        if n_heads == 1:
            return np.ones(1)
        logits = np.concatenate([[0.0], np.asarray(P["head_mix"], dtype=float)])
        shares, _ = masked_softmax(logits[None, :])
        return shares[0]

    def _weights(self, P, design: Design):
        X = design.X
        dims = self._head_dims(X.d_q, X.d_k)
        shares = self._shares(P, len(dims))
        per_head = []
        for h, (q, k) in enumerate(dims):
            scores = np.einsum("ta,ab,tib->ti", X.query[:, q], P[f"A{h}"], X.keys[:, :, k])
            weights, _ = masked_softmax(np.where(design.mask, scores, -np.inf))
            per_head.append(weights)
        total = np.einsum("h,hti->ti", shares, np.stack(per_head))
        return total, (dims, shares, per_head)

    def _weights_vjp(self, P, design, cache, grad_weights):
        X = design.X
        dims, shares, per_head = cache
        grads: dict[str, Any] = {}
        grad_shares = np.array([np.einsum("ti,ti->", w, grad_weights) for w in per_head])
        for h, ((q, k), weights) in enumerate(zip(dims, per_head, strict=True)):
            grad_logits, _ = softmax_vjp(weights, shares[h] * grad_weights)
            grads[f"A{h}"] = np.einsum("ti,ta,tib->ab", grad_logits, X.query[:, q], X.keys[:, :, k])
        if len(dims) > 1:
            # π = softmax(0, m): ∂L/∂m_j = π_j (∂L/∂π_j − Σ_h π_h ∂L/∂π_h), j ≥ 1
            mean = float(shares @ grad_shares)
            grads["head_mix"] = (shares * (grad_shares - mean))[1:]
        return grads

    # ------------------------------------------------------------------ public parameters

    def _extra_names(self):
        n = len(self.heads) if isinstance(self.heads, Sequence) else 0
        return [f"A{h}" for h in range(n)] + (["head_mix"] if n > 1 else [])

    def _internal_extra(self, public):
        P = {}
        for name in self._extra_names():
            try:
                value = np.array(public[name], dtype=float)
            except (TypeError, ValueError) as error:
                raise BioattnError(f"{name} must be an array of numbers") from error
            if not np.all(np.isfinite(value)):
                raise BioattnError(f"{name} must be finite, got {value!r:.60}")
            P[name] = value
        return P

    def _set_state(self, P, n_items):
        # The base class counts parameters from one matrix "A"; the heads have several.
        self._fitted = P
        self._dims = (0, 0, None)
        self.n_params_ = (
            2 + ("dispersion" in P) + sum(np.size(P[name]) for name in self._extra_names())
        )
        self.params_ = self._to_public(P)
        for name, value in self.params_.items():
            setattr(self, f"{name}_", value)

    def _check_start_shapes(self, P, X):
        for h, (q, k) in enumerate(self._head_dims(X.d_q, X.d_k)):
            if P[f"A{h}"].shape != (q.size, k.size):
                raise BioattnError(
                    f"init A{h} must have shape {(q.size, k.size)}, got {P[f'A{h}'].shape}"
                )

    @property
    def head_betas_(self) -> np.ndarray:
        """β_h = ‖A_h‖_F of every head."""
        self._check_fitted()
        return np.array([np.linalg.norm(self.params_[f"A{h}"]) for h in range(len(self.heads))])

    @property
    def head_shares_(self) -> np.ndarray:
        """π_h, each head's share of the output (sum 1)."""
        self._check_fitted()
        return self._shares(self.params_, len(self.heads))
