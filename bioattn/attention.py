r"""Softmax (and sparsemax) Q/K/V attention in plain numpy: the transformer side of the comparison.

Scaled dot-product attention (Vaswani et al. 2017, "Attention is all you need", NeurIPS 30,
eq. 1), written with an additive bias :math:`B` that carries the mask:

.. math::

    \mathrm{Attention}(Q, K, V) = \mathrm{softmax}\!\left(Q K^\top s + B\right) V,
    \qquad s = 1/\sqrt{E} \text{ by default.}

Shapes, broadcasting and mask conventions follow PyTorch's
``torch.nn.functional.scaled_dot_product_attention`` (math backend, no dropout, no GQA), so
weights and results can be moved between the two, including a query row with no allowed key,
whose weights and output are 0 as in PyTorch >= 2.5 (see :func:`scaled_dot_product_attention`).
Everything is dimensionless (attention has no units).

Contents
--------
Normalisations
    :func:`softmax`, :func:`sparsemax`
Attention
    :func:`attention_weights`, :func:`scaled_dot_product_attention`,
    :func:`multi_head_attention`

Every bad input raises :class:`bioattn.errors.BioattnError` (a :class:`ValueError`) whose message
names the argument, the offending value or shape and what was expected.
"""

from __future__ import annotations

import math
from typing import Literal, overload

import numpy as np
from numpy.typing import ArrayLike

from bioattn.errors import BioattnError

__all__ = [
    "softmax",
    "sparsemax",
    "attention_weights",
    "scaled_dot_product_attention",
    "multi_head_attention",
]


# --------------------------------------------------------------------------------------------
# input checks
# --------------------------------------------------------------------------------------------


def _as_real_array(name: str, values: ArrayLike, min_ndim: int = 0) -> np.ndarray:
    """Return ``values`` as a floating array (integers become float64); reject other dtypes."""
    array = np.asarray(values)
    if array.dtype.kind in "iu":
        array = array.astype(np.float64)
    elif array.dtype.kind != "f":
        raise BioattnError(
            f"{name} must be a real floating or integer array, got dtype {array.dtype}"
        )
    if array.ndim < min_ndim:
        raise BioattnError(
            f"{name} must have at least {min_ndim} dimensions, got shape {array.shape}"
        )
    return array


def _check_finite(name: str, array: np.ndarray) -> None:
    if not np.all(np.isfinite(array)):
        raise BioattnError(f"{name} must contain only finite values, got NaN or inf")


def _check_no_nan_or_positive_inf(name: str, array: np.ndarray) -> None:
    # -inf is a legitimate "masked out" score; NaN and +inf have no probability interpretation.
    if np.any(np.isnan(array)) or np.any(array == np.inf):
        raise BioattnError(f"{name} must not contain NaN or +inf (-inf marks masked entries)")


def _check_axis(name: str, axis: int, ndim: int) -> int:
    if isinstance(axis, bool) or not isinstance(axis, int | np.integer):
        raise BioattnError(f"{name} must be an int, got {axis!r}")
    if not -max(ndim, 1) <= axis < max(ndim, 1):
        raise BioattnError(f"{name} must lie in [-{max(ndim, 1)}, {max(ndim, 1)}), got {axis}")
    return int(axis)


def _batch_shape(**arrays: np.ndarray) -> tuple[int, ...]:
    """Broadcast the leading (batch) dimensions of arrays whose last two axes are matrices."""
    try:
        return np.broadcast_shapes(*(a.shape[:-2] for a in arrays.values()))
    except ValueError:
        described = ", ".join(f"{n} {a.shape}" for n, a in arrays.items())
        raise BioattnError(
            f"batch dimensions (all but the last two) of {' and '.join(arrays)} must broadcast "
            f"against each other, got shapes {described}"
        ) from None


def _check_scale(scale: float | None, embed_dim: int) -> float:
    if scale is None:
        return 1.0 / math.sqrt(embed_dim)
    if isinstance(scale, bool) or not isinstance(scale, int | float | np.integer | np.floating):
        raise BioattnError(f"scale must be a real number or None, got {scale!r}")
    if not math.isfinite(float(scale)):
        raise BioattnError(f"scale must be finite, got {scale!r}")
    return float(scale)


def _mask_bias(
    attn_mask: ArrayLike | None,
    is_causal: bool,
    logits_shape: tuple[int, ...],
) -> np.ndarray | None:
    """Turn ``attn_mask`` / ``is_causal`` into an additive bias (0 or -inf for boolean masks)."""
    if not isinstance(is_causal, bool | np.bool_):
        raise BioattnError(f"is_causal must be a bool, got {is_causal!r}")
    n_queries, n_keys = logits_shape[-2:]
    if is_causal:
        if attn_mask is not None:
            raise BioattnError(
                "attn_mask must be None when is_causal=True (the causal mask replaces it), "
                f"got an attn_mask of shape {np.shape(attn_mask)}"
            )
        # Top-left aligned like PyTorch: query i may attend to keys 0..i.
        allowed = np.tril(np.ones((n_queries, n_keys), dtype=bool))
        return np.where(allowed, 0.0, -np.inf)
    if attn_mask is None:
        return None

    mask = np.asarray(attn_mask)
    try:
        fits = np.broadcast_shapes(mask.shape, logits_shape) == logits_shape
    except ValueError:
        fits = False
    if not fits:
        raise BioattnError(
            f"attn_mask must broadcast to the logits shape (..., L, S) = {logits_shape} "
            f"without enlarging it, got shape {mask.shape}"
        )
    if mask.dtype == bool:
        return np.where(mask, 0.0, -np.inf)
    if mask.dtype.kind != "f":
        # An integer 0/1 mask is ambiguous (keep-flags or additive bias?), so it is refused.
        raise BioattnError(
            "attn_mask must be boolean (True = may take part in attention) or floating "
            f"(added to the logits), got dtype {mask.dtype}"
        )
    _check_no_nan_or_positive_inf("attn_mask", mask)
    return mask


# --------------------------------------------------------------------------------------------
# normalisations
# --------------------------------------------------------------------------------------------


def softmax(x: ArrayLike, axis: int = -1) -> np.ndarray:
    r"""Numerically stable softmax along one axis.

    .. math::

        \mathrm{softmax}(x)_i = \frac{e^{x_i - m}}{\sum_j e^{x_j - m}}, \qquad m = \max_j x_j

    Subtracting the maximum :math:`m` leaves the result unchanged and keeps every exponent
    :math:`\le 0`, so nothing overflows. Entries equal to :math:`-\infty` get probability exactly
    0 (this is how masks act); a slice whose entries are *all* :math:`-\infty` has no defined
    distribution and comes back as NaN.

    Parameters
    ----------
    x : array_like
        Real scores (logits), any shape; may contain -inf, not NaN or +inf.
    axis : int
        Axis to normalise along (default the last).

    Returns
    -------
    np.ndarray
        Probabilities, same shape as ``x``, non-negative and summing to 1 along ``axis``
        (NaN along fully -inf slices).

    Raises
    ------
    BioattnError
        (a ``ValueError``) if ``x`` is not real, contains NaN or +inf, or ``axis`` is out of
        range.
    """
    scores = _as_real_array("x", x)
    axis = _check_axis("axis", axis, scores.ndim)
    _check_no_nan_or_positive_inf("x", scores)
    if scores.ndim == 0:
        scores = scores.reshape(1)
        return softmax(scores, axis=0).reshape(())
    row_max = np.max(scores, axis=axis, keepdims=True) if scores.size else scores
    # Fully -inf slices: shift by 0 instead of -inf to avoid inf - inf; they are set to NaN below.
    shift = np.where(np.isfinite(row_max), row_max, 0.0)
    exponentials = np.exp(scores - shift)
    total = np.sum(exponentials, axis=axis, keepdims=True)
    empty = total == 0.0
    probabilities = exponentials / np.where(empty, 1.0, total)
    return np.where(empty, np.nan, probabilities)


def sparsemax(x: ArrayLike, axis: int = -1) -> np.ndarray:
    r"""Sparsemax: the Euclidean projection of ``x`` onto the probability simplex.

    Martins & Astudillo 2016, "From softmax to sparsemax: a sparse model of attention and
    multi-label classification", ICML, eqs. 2-4 and Algorithm 1:

    .. math::

        \mathrm{sparsemax}(z) = \operatorname*{argmin}_{p \in \Delta^{K-1}} \lVert p - z
        \rVert^2 = \left[z - \tau(z)\right]_+, \qquad
        \tau(z) = \frac{\sum_{j \le k(z)} z_{(j)} - 1}{k(z)},

    where :math:`z_{(1)} \ge \dots \ge z_{(K)}` are the sorted entries and
    :math:`k(z) = \max\{k : 1 + k z_{(k)} > \sum_{j \le k} z_{(j)}\}` is the support size. The
    computation is exact (one sort and one cumulative sum per slice, vectorised over all
    slices). Unlike softmax it returns exact zeros for low scores. Entries equal to -inf get 0;
    a slice whose entries are all -inf comes back as NaN.

    Parameters
    ----------
    x : array_like
        Real scores, any shape; may contain -inf, not NaN or +inf.
    axis : int
        Axis to project along (default the last).

    Returns
    -------
    np.ndarray
        Probabilities, same shape as ``x``, non-negative and summing to 1 along ``axis``.

    Raises
    ------
    BioattnError
        (a ``ValueError``) if ``x`` is not real, contains NaN or +inf, or ``axis`` is out of
        range.
    """
    scores = _as_real_array("x", x)
    axis = _check_axis("axis", axis, scores.ndim)
    _check_no_nan_or_positive_inf("x", scores)
    if scores.ndim == 0:
        return sparsemax(scores.reshape(1), axis=0).reshape(())
    z = np.moveaxis(scores, axis, -1)
    n = z.shape[-1]
    if z.size == 0:
        return np.moveaxis(np.zeros_like(z), -1, axis)
    # sparsemax(z) = sparsemax(z - c); measuring from the maximum keeps the cumulative sums small
    # and makes a clear winner exactly 1 (tau = -1 exactly, instead of max - 1 rounded).
    row_max = np.max(z, axis=-1, keepdims=True)
    z = z - np.where(np.isfinite(row_max), row_max, 0.0)
    z_sorted = -np.sort(-z, axis=-1)
    cumulative = np.cumsum(z_sorted, axis=-1)
    k = np.arange(1, n + 1, dtype=z.dtype)
    # The support condition holds for a prefix of the sorted entries, so its count is k(z);
    # -inf entries (sorted last) give -inf > -inf, i.e. outside the support.
    in_support = 1.0 + k * z_sorted > cumulative
    support_size = np.sum(in_support, axis=-1, keepdims=True)
    has_support = support_size > 0
    index = np.maximum(support_size - 1, 0)
    tau = (np.take_along_axis(cumulative, index, axis=-1) - 1.0) / np.maximum(support_size, 1)
    tau = np.where(has_support, tau, 0.0)
    projected = np.where(has_support, np.maximum(z - tau, 0.0), np.nan)
    return np.moveaxis(projected, -1, axis)


# --------------------------------------------------------------------------------------------
# attention
# --------------------------------------------------------------------------------------------


def _checked_qk(query: ArrayLike, key: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    q = _as_real_array("query", query, min_ndim=2)
    k = _as_real_array("key", key, min_ndim=2)
    _check_finite("query", q)
    _check_finite("key", k)
    if q.shape[-1] == 0:
        raise BioattnError(f"query must have an embedding size E >= 1, got shape {q.shape}")
    if k.shape[-1] != q.shape[-1]:
        raise BioattnError(
            f"key must have the same last dimension E as query, got key shape {k.shape} and "
            f"query shape {q.shape} (expected (..., S, {q.shape[-1]}))"
        )
    if k.shape[-2] == 0:
        raise BioattnError(f"key must hold at least one key (S >= 1), got shape {k.shape}")
    return q, k


def _weights(
    q: np.ndarray,
    k: np.ndarray,
    attn_mask: ArrayLike | None,
    is_causal: bool,
    scale: float | None,
) -> np.ndarray:
    s = _check_scale(scale, q.shape[-1])
    logits_shape = (*_batch_shape(query=q, key=k), q.shape[-2], k.shape[-2])
    bias = _mask_bias(attn_mask, is_causal, logits_shape)
    logits = np.matmul(q, np.swapaxes(k, -1, -2)) * s
    if bias is not None:
        logits = logits + bias
    # softmax gives NaN only for fully masked rows (inputs are checked finite): zero them,
    # as PyTorch >= 2.5 does.
    return np.nan_to_num(softmax(logits, axis=-1), nan=0.0)


def attention_weights(
    query: ArrayLike,
    key: ArrayLike,
    attn_mask: ArrayLike | None = None,
    is_causal: bool = False,
    scale: float | None = None,
) -> np.ndarray:
    r"""Attention probabilities :math:`A = \mathrm{softmax}(Q K^\top s + B)` (Vaswani et al. 2017).

    The part of :func:`scaled_dot_product_attention` before the values are mixed; see there for
    the parameters, the mask conventions and the NaN rows.

    Returns
    -------
    np.ndarray
        Weights of shape (..., L, S): row ``l`` is the distribution of query ``l`` over the S keys.
    """
    q, k = _checked_qk(query, key)
    return _weights(q, k, attn_mask, is_causal, scale)


@overload
def scaled_dot_product_attention(
    query: ArrayLike,
    key: ArrayLike,
    value: ArrayLike,
    attn_mask: ArrayLike | None = ...,
    is_causal: bool = ...,
    scale: float | None = ...,
    *,
    return_weights: Literal[False] = ...,
) -> np.ndarray: ...


@overload
def scaled_dot_product_attention(
    query: ArrayLike,
    key: ArrayLike,
    value: ArrayLike,
    attn_mask: ArrayLike | None = ...,
    is_causal: bool = ...,
    scale: float | None = ...,
    *,
    return_weights: Literal[True],
) -> tuple[np.ndarray, np.ndarray]: ...


def scaled_dot_product_attention(
    query: ArrayLike,
    key: ArrayLike,
    value: ArrayLike,
    attn_mask: ArrayLike | None = None,
    is_causal: bool = False,
    scale: float | None = None,
    *,
    return_weights: bool = False,
) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
    r"""Scaled dot-product attention, the numpy twin of PyTorch's function of the same name.

    Vaswani et al. 2017, "Attention is all you need", NeurIPS 30, eq. 1:

    .. math::

        \mathrm{Attention}(Q, K, V) = \mathrm{softmax}\!\left(Q K^\top s + B\right) V,
        \qquad s = 1/\sqrt{E} \text{ unless } \texttt{scale} \text{ is given,}

    with the softmax taken over the S keys. The bias :math:`B` comes from the mask, with the
    conventions of ``torch.nn.functional.scaled_dot_product_attention``:

    - boolean ``attn_mask``: True = the key may take part in attention (:math:`B = 0`),
      False = it may not (:math:`B = -\infty`);
    - floating ``attn_mask``: added to the logits as it is (:math:`B` = mask; -inf allowed);
    - ``is_causal=True``: the boolean mask ``tril(ones(L, S))``, top-left aligned like PyTorch
      (query :math:`l` sees keys :math:`0..l`); giving ``attn_mask`` as well is an error.

    Leading (batch) dimensions of query, key and value broadcast against each other, e.g.
    query (2, 1, L, E) with key/value (1, 3, S, ·) gives output (2, 3, L, Ev).

    **Fully masked rows.** A query whose every key is masked out attends to nothing: its weights
    and its output row are 0, as in PyTorch >= 2.5 (earlier versions gave NaN).  The plain
    :func:`softmax` of an all -inf slice stays NaN.

    Parameters
    ----------
    query : array_like
        Queries, shape (..., L, E).
    key : array_like
        Keys, shape (..., S, E), S >= 1.
    value : array_like
        Values, shape (..., S, Ev).
    attn_mask : array_like or None
        Boolean or floating mask broadcastable to the logits shape (..., L, S) (it may not add
        batch dimensions of its own).
    is_causal : bool
        Apply the causal mask ``tril(ones(L, S))``.
    scale : float or None
        Factor :math:`s` on the logits; default :math:`1/\sqrt{E}`.
    return_weights : bool
        Also return the attention probabilities.

    Returns
    -------
    np.ndarray or tuple of np.ndarray
        Output, shape (..., L, Ev); with ``return_weights=True`` the pair
        ``(output, weights)`` with weights of shape (..., L, S), ``output = weights @ value``.

    Raises
    ------
    BioattnError
        (a ``ValueError``) if E differs between query and key, S between key and value, batch
        dimensions do not broadcast, the mask has the wrong shape or dtype, both ``attn_mask``
        and ``is_causal`` are given, an input is not finite, or ``scale`` is not a finite number.
    """
    q, k = _checked_qk(query, key)
    v = _as_real_array("value", value, min_ndim=2)
    _check_finite("value", v)
    if v.shape[-2] != k.shape[-2]:
        raise BioattnError(
            f"value must hold as many rows S as key, got value shape {v.shape} and key shape "
            f"{k.shape} (expected (..., {k.shape[-2]}, Ev))"
        )
    _batch_shape(query=q, key=k, value=v)
    weights = _weights(q, k, attn_mask, is_causal, scale)
    output = np.matmul(weights, v)
    if return_weights:
        return output, weights
    return output


def _projection(name: str, weight: ArrayLike, d_model: int | None, d_in: int) -> np.ndarray:
    w = _as_real_array(name, weight)
    _check_finite(name, w)
    rows = "D_model" if d_model is None else d_model
    if w.ndim != 2 or w.shape[1] != d_in or (d_model is not None and w.shape[0] != d_model):
        raise BioattnError(f"{name} must have shape ({rows}, {d_in}), got shape {w.shape}")
    return w


def _bias(name: str, bias: ArrayLike | None, d_model: int) -> np.ndarray | None:
    if bias is None:
        return None
    b = _as_real_array(name, bias)
    _check_finite(name, b)
    if b.shape != (d_model,):
        raise BioattnError(f"{name} must have shape ({d_model},) or be None, got shape {b.shape}")
    return b


def _linear(x: np.ndarray, w: np.ndarray, b: np.ndarray | None) -> np.ndarray:
    y = x @ w.T
    return y if b is None else y + b


@overload
def multi_head_attention(
    query: ArrayLike,
    key: ArrayLike,
    value: ArrayLike,
    num_heads: int,
    w_q: ArrayLike,
    w_k: ArrayLike,
    w_v: ArrayLike,
    w_o: ArrayLike,
    b_q: ArrayLike | None = ...,
    b_k: ArrayLike | None = ...,
    b_v: ArrayLike | None = ...,
    b_o: ArrayLike | None = ...,
    attn_mask: ArrayLike | None = ...,
    is_causal: bool = ...,
    *,
    return_weights: Literal[False] = ...,
) -> np.ndarray: ...


@overload
def multi_head_attention(
    query: ArrayLike,
    key: ArrayLike,
    value: ArrayLike,
    num_heads: int,
    w_q: ArrayLike,
    w_k: ArrayLike,
    w_v: ArrayLike,
    w_o: ArrayLike,
    b_q: ArrayLike | None = ...,
    b_k: ArrayLike | None = ...,
    b_v: ArrayLike | None = ...,
    b_o: ArrayLike | None = ...,
    attn_mask: ArrayLike | None = ...,
    is_causal: bool = ...,
    *,
    return_weights: Literal[True],
) -> tuple[np.ndarray, np.ndarray]: ...


def multi_head_attention(
    query: ArrayLike,
    key: ArrayLike,
    value: ArrayLike,
    num_heads: int,
    w_q: ArrayLike,
    w_k: ArrayLike,
    w_v: ArrayLike,
    w_o: ArrayLike,
    b_q: ArrayLike | None = None,
    b_k: ArrayLike | None = None,
    b_v: ArrayLike | None = None,
    b_o: ArrayLike | None = None,
    attn_mask: ArrayLike | None = None,
    is_causal: bool = False,
    *,
    return_weights: bool = False,
) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
    r"""Multi-head attention with learned projections (Vaswani et al. 2017, sec. 3.2.2).

    .. math::

        \mathrm{MultiHead}(Q, K, V) = \mathrm{Concat}(\mathrm{head}_1, \dots, \mathrm{head}_h)
        W_O^\top + b_O, \qquad
        \mathrm{head}_i = \mathrm{softmax}\!\left(Q_i K_i^\top / \sqrt{d_h} + B\right) V_i,

    where :math:`Q_i, K_i, V_i` are columns :math:`i d_h .. (i+1) d_h - 1` of
    :math:`Q W_Q^\top + b_Q`, :math:`K W_K^\top + b_K`, :math:`V W_V^\top + b_V` and
    :math:`d_h = D_\mathrm{model} / h`. The weights are laid out like PyTorch ``nn.Linear``
    weights (``y = x @ w.T + b``), so ``nn.MultiheadAttention``'s ``in_proj_weight`` split in
    three rows-blocks gives ``w_q, w_k, w_v`` and ``out_proj.weight`` gives ``w_o``. Each head
    is computed by :func:`scaled_dot_product_attention`.

    Mask convention: that of :func:`scaled_dot_product_attention` (boolean True = may attend),
    which is the *opposite* of ``nn.MultiheadAttention``'s boolean ``attn_mask`` (True = masked
    out). The mask must broadcast to (..., num_heads, L, S): an (L, S) mask applies to every
    head and batch entry; a per-batch mask needs a singleton head axis, (B, 1, L, S). Fully
    masked query rows give 0, as in :func:`scaled_dot_product_attention`.

    Parameters
    ----------
    query : array_like
        Queries, shape (..., L, D_q).
    key : array_like
        Keys, shape (..., S, D_k).
    value : array_like
        Values, shape (..., S, D_v) (usually D_q = D_k = D_v = D).
    num_heads : int
        Number of heads h; must divide D_model.
    w_q, w_k, w_v : array_like
        Input projections, shapes (D_model, D_q), (D_model, D_k), (D_model, D_v).
    w_o : array_like
        Output projection, shape (D_model, D_model).
    b_q, b_k, b_v, b_o : array_like or None
        Biases, shape (D_model,), or None for none.
    attn_mask : array_like or None
        Boolean or floating mask broadcastable to (..., num_heads, L, S).
    is_causal : bool
        Apply the causal mask ``tril(ones(L, S))`` in every head.
    return_weights : bool
        Also return the per-head attention probabilities.

    Returns
    -------
    np.ndarray or tuple of np.ndarray
        Output, shape (..., L, D_model); with ``return_weights=True`` the pair
        ``(output, weights)``, weights of shape (..., num_heads, L, S) (not averaged over heads).

    Raises
    ------
    BioattnError
        (a ``ValueError``) if a projection or bias has the wrong shape, ``num_heads`` is not a
        positive divisor of D_model, key and value hold different numbers of rows, or any
        check of :func:`scaled_dot_product_attention` fails.
    """
    q_in = _as_real_array("query", query, min_ndim=2)
    k_in = _as_real_array("key", key, min_ndim=2)
    v_in = _as_real_array("value", value, min_ndim=2)
    if v_in.shape[-2] != k_in.shape[-2]:
        raise BioattnError(
            f"value must hold as many rows S as key, got value shape {v_in.shape} and key shape "
            f"{k_in.shape}"
        )
    _batch_shape(query=q_in, key=k_in, value=v_in)
    wq = _projection("w_q", w_q, None, q_in.shape[-1])
    d_model = wq.shape[0]
    wk = _projection("w_k", w_k, d_model, k_in.shape[-1])
    wv = _projection("w_v", w_v, d_model, v_in.shape[-1])
    wo = _projection("w_o", w_o, d_model, d_model)
    bq, bk, bv, bo = (
        _bias(name, b, d_model)
        for name, b in (("b_q", b_q), ("b_k", b_k), ("b_v", b_v), ("b_o", b_o))
    )
    if isinstance(num_heads, bool) or not isinstance(num_heads, int | np.integer):
        raise BioattnError(f"num_heads must be an int, got {num_heads!r}")
    if num_heads < 1 or d_model % num_heads:
        raise BioattnError(
            f"num_heads must be a positive divisor of D_model = {d_model}, got {num_heads}"
        )
    head_dim = d_model // int(num_heads)

    def split_heads(x: np.ndarray) -> np.ndarray:
        # (..., T, D_model) -> (..., h, T, d_h)
        return np.swapaxes(x.reshape(*x.shape[:-1], int(num_heads), head_dim), -2, -3)

    q_heads = split_heads(_linear(q_in, wq, bq))
    k_heads = split_heads(_linear(k_in, wk, bk))
    v_heads = split_heads(_linear(v_in, wv, bv))
    heads, weights = scaled_dot_product_attention(
        q_heads, k_heads, v_heads, attn_mask=attn_mask, is_causal=is_causal, return_weights=True
    )
    concatenated = np.swapaxes(heads, -2, -3)
    concatenated = concatenated.reshape(*concatenated.shape[:-2], d_model)
    output = _linear(concatenated, wo, bo)
    if return_weights:
        return output, weights
    return output
