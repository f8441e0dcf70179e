"""Property tests of the numpy attention module (softmax, sparsemax, SDPA, multi-head attention).

Each property is one that a wrong implementation would break: normalisation, invariance to key
order and to per-row logit offsets, the two temperature limits, mask equivalences, batch
broadcasting, exact simplex projection, and agreement with explicit loops over heads (and with
PyTorch when it is installed; it is not in CI).
"""

from __future__ import annotations

import math

import hypothesis.extra.numpy as hnp
import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from scipy.optimize import brentq

from bioattn.attention import (
    attention_weights,
    multi_head_attention,
    scaled_dot_product_attention,
    softmax,
    sparsemax,
)
from bioattn.errors import BioattnError

PROPERTY = settings(max_examples=50, deadline=None)
FLOATS = st.floats(-3.0, 3.0, allow_nan=False, allow_infinity=False, width=64)
SIZES = st.integers(1, 5)
SEEDS = st.integers(0, 2**32 - 1)


def float_arrays(shape: tuple[int, ...]) -> st.SearchStrategy[np.ndarray]:
    return hnp.arrays(np.float64, shape, elements=FLOATS)


@st.composite
def qkv_and_mask(draw: st.DrawFn, batch: tuple[int, ...] = (2,)) -> tuple[np.ndarray, ...]:
    """Query (B, L, E), key (B, S, E), value (B, S, Ev) and a boolean mask (L, S)."""
    n_q, n_k, e, e_v = draw(SIZES), draw(SIZES), draw(st.integers(1, 4)), draw(st.integers(1, 4))
    query = draw(float_arrays((*batch, n_q, e)))
    key = draw(float_arrays((*batch, n_k, e)))
    value = draw(float_arrays((*batch, n_k, e_v)))
    mask = draw(hnp.arrays(np.bool_, (n_q, n_k)))
    return query, key, value, mask


def simplex_projection_by_root_finding(z: np.ndarray) -> np.ndarray:
    """Reference sparsemax: solve sum(max(z - tau, 0)) = 1 for tau with Brent's method."""

    def excess(tau: float) -> float:
        return float(np.sum(np.maximum(z - tau, 0.0)) - 1.0)

    # excess(max - 2) >= 1 and excess(max) = -1 bracket the unique root.
    tau = brentq(excess, z.max() - 2.0, z.max(), xtol=1e-15, rtol=1e-15)
    return np.maximum(z - tau, 0.0)


def reference_multi_head(x_q, x_k, x_v, num_heads, w, b, allowed):
    """Multi-head attention for one batch entry, with explicit loops over heads and rows."""
    q, k, v = (x @ w[n].T + b[n] for x, n in ((x_q, "q"), (x_k, "k"), (x_v, "v")))
    head_dim = q.shape[1] // num_heads
    heads, weights = [], []
    for h in range(num_heads):
        cols = slice(h * head_dim, (h + 1) * head_dim)
        head_weights = np.zeros((q.shape[0], k.shape[0]))
        for i in range(q.shape[0]):
            logits = [
                q[i, cols] @ k[j, cols] / math.sqrt(head_dim) if allowed[i, j] else -np.inf
                for j in range(k.shape[0])
            ]
            exps = np.exp(np.array(logits) - max(logits))
            head_weights[i] = exps / exps.sum()
        heads.append(head_weights @ v[:, cols])
        weights.append(head_weights)
    return np.concatenate(heads, axis=1) @ w["o"].T + b["o"], np.stack(weights)


def random_mha_parameters(rng: np.random.Generator, d_in: int, d_model: int):
    w = {n: rng.normal(size=(d_model, d_in)) / math.sqrt(d_in) for n in "qkv"}
    w["o"] = rng.normal(size=(d_model, d_model)) / math.sqrt(d_model)
    b = {n: rng.normal(size=d_model) for n in "qkvo"}
    return w, b


# --------------------------------------------------------------------------------------------
# softmax and scaled dot-product attention
# --------------------------------------------------------------------------------------------


@PROPERTY
@given(qkv_and_mask())
def test_weight_rows_sum_to_one_and_fully_masked_rows_are_zero(data):
    query, key, value, mask = data
    output, weights = scaled_dot_product_attention(
        query, key, value, attn_mask=mask, return_weights=True
    )
    live = mask.any(axis=-1)
    np.testing.assert_allclose(weights.sum(axis=-1)[:, live], 1.0, rtol=0, atol=1e-12)
    assert np.all(weights[:, live] >= 0)
    assert np.all(weights[:, ~mask & live[:, None]] == 0.0)
    assert np.all(weights[:, ~live] == 0.0) and np.all(output[:, ~live] == 0.0)
    assert np.all(np.isfinite(output[:, live]))


@PROPERTY
@given(qkv_and_mask(), st.data())
def test_permuting_keys_with_values_leaves_output_unchanged(data, draw):
    query, key, value, mask = data
    order = np.array(draw.draw(st.permutations(range(key.shape[-2]))))
    expected = scaled_dot_product_attention(query, key, value, attn_mask=mask)
    permuted = scaled_dot_product_attention(
        query, key[:, order], value[:, order], attn_mask=mask[:, order]
    )
    np.testing.assert_allclose(permuted, expected, rtol=1e-12, atol=1e-12)


@PROPERTY
@given(qkv_and_mask(), st.data())
def test_adding_a_constant_to_a_row_of_logits_changes_nothing(data, draw):
    query, key, value, _ = data
    offsets = draw.draw(
        hnp.arrays(np.float64, (*query.shape[:-1], 1), elements=st.floats(-100, 100))
    )
    expected = scaled_dot_product_attention(query, key, value)
    shifted = scaled_dot_product_attention(query, key, value, attn_mask=offsets)
    np.testing.assert_allclose(shifted, expected, rtol=1e-10, atol=1e-10)


@PROPERTY
@given(SEEDS, SIZES, st.integers(2, 6), st.integers(1, 4))
def test_infinite_scale_selects_the_value_of_the_argmax_key(seed, n_q, n_k, e):
    rng = np.random.default_rng(seed)
    query, key, value = (
        rng.normal(size=(n_q, e)),
        rng.normal(size=(n_k, e)),
        rng.normal(size=(n_k, 3)),
    )
    logits = query @ key.T
    top_two = np.sort(logits, axis=-1)[:, -2:]
    # 1e6 * 1e-4 = 100: the runner-up gets a weight below e^-100.
    assume(np.all(top_two[:, 1] - top_two[:, 0] > 1e-4))
    output = scaled_dot_product_attention(query, key, value, scale=1e6)
    np.testing.assert_allclose(output, value[np.argmax(logits, axis=-1)], rtol=0, atol=1e-12)


@PROPERTY
@given(qkv_and_mask())
def test_zero_scale_gives_the_uniform_mean_of_the_values(data):
    query, key, value, _ = data
    mean = np.broadcast_to(value.mean(axis=-2, keepdims=True), (*query.shape[:-1], value.shape[-1]))
    np.testing.assert_allclose(
        scaled_dot_product_attention(query, key, value, scale=0.0), mean, rtol=0, atol=1e-12
    )
    np.testing.assert_allclose(
        scaled_dot_product_attention(query, key, value, scale=1e-12), mean, rtol=0, atol=1e-9
    )


@PROPERTY
@given(qkv_and_mask())
def test_causal_flag_equals_explicit_lower_triangular_masks(data):
    query, key, value, _ = data
    n_q, n_k = query.shape[-2], key.shape[-2]
    causal = scaled_dot_product_attention(query, key, value, is_causal=True, return_weights=True)
    tril = np.tril(np.ones((n_q, n_k), dtype=bool))
    explicit = scaled_dot_product_attention(query, key, value, attn_mask=tril, return_weights=True)
    additive = np.where(tril, 0.0, -np.inf)
    as_float = scaled_dot_product_attention(query, key, value, attn_mask=additive)
    np.testing.assert_array_equal(causal[0], explicit[0])
    np.testing.assert_array_equal(causal[1], explicit[1])
    np.testing.assert_array_equal(causal[0], as_float)
    assert np.all(causal[1][:, ~tril] == 0.0)


@PROPERTY
@given(qkv_and_mask())
def test_boolean_mask_equals_float_mask_of_zero_and_minus_inf(data):
    query, key, value, mask = data
    as_bool = scaled_dot_product_attention(query, key, value, attn_mask=mask)
    as_float = scaled_dot_product_attention(
        query, key, value, attn_mask=np.where(mask, 0.0, -np.inf)
    )
    np.testing.assert_array_equal(as_bool, as_float)  # fully masked rows: 0 in both


@PROPERTY
@given(qkv_and_mask(), st.floats(0.01, 3.0))
def test_output_is_weights_times_values(data, scale):
    query, key, value, mask = data
    mask[:, 0] = True
    output, weights = scaled_dot_product_attention(
        query, key, value, attn_mask=mask, scale=scale, return_weights=True
    )
    np.testing.assert_allclose(output, weights @ value, rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(
        weights, attention_weights(query, key, attn_mask=mask, scale=scale)
    )


@PROPERTY
@given(SIZES, SIZES, st.integers(1, 4), st.data())
def test_batch_dimensions_broadcast_like_a_loop(n_q, n_k, e, draw):
    query = draw.draw(float_arrays((2, 1, n_q, e)))
    key = draw.draw(float_arrays((1, 3, n_k, e)))
    value = draw.draw(float_arrays((1, 3, n_k, 2)))
    output = scaled_dot_product_attention(query, key, value, is_causal=True)
    assert output.shape == (2, 3, n_q, 2)
    for i in range(2):
        for j in range(3):
            np.testing.assert_allclose(
                output[i, j],
                scaled_dot_product_attention(query[i, 0], key[0, j], value[0, j], is_causal=True),
                rtol=1e-13,
                atol=1e-13,
            )


def test_default_scale_is_one_over_sqrt_embedding_size():
    rng = np.random.default_rng(1)
    query, key, value = rng.normal(size=(3, 9)), rng.normal(size=(4, 9)), rng.normal(size=(4, 2))
    np.testing.assert_array_equal(
        scaled_dot_product_attention(query, key, value),
        scaled_dot_product_attention(query, key, value, scale=1 / 3),
    )


@PROPERTY
@given(float_arrays((3, 4)), st.floats(-700, 700))
def test_softmax_is_shift_invariant_and_never_overflows(x, shift):
    expected = np.exp(x) / np.exp(x).sum(axis=-1, keepdims=True)
    np.testing.assert_allclose(softmax(x + shift), expected, rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(softmax(x.T + shift, axis=0), expected.T, rtol=1e-10, atol=1e-14)


def test_softmax_handles_minus_infinity():
    out = softmax(np.array([[0.0, -np.inf, 0.0], [-np.inf] * 3, [1e308, 1e308, -np.inf]]))
    np.testing.assert_array_equal(out[0], [0.5, 0.0, 0.5])
    assert np.all(np.isnan(out[1]))
    np.testing.assert_array_equal(out[2], [0.5, 0.5, 0.0])


# --------------------------------------------------------------------------------------------
# sparsemax
# --------------------------------------------------------------------------------------------


@PROPERTY
@given(
    hnp.arrays(np.float64, hnp.array_shapes(min_dims=1, max_dims=3, max_side=6), elements=FLOATS)
)
def test_sparsemax_lies_on_the_simplex_and_zeroes_scores_far_below_the_max(x):
    p = sparsemax(x)
    assert p.shape == x.shape
    assert np.all(p >= 0)
    np.testing.assert_allclose(p.sum(axis=-1), 1.0, rtol=0, atol=1e-12)
    # tau >= max - 1, so any score at least 1 below the maximum gets exactly zero.
    assert np.all(p[x <= x.max(axis=-1, keepdims=True) - 1.0] == 0.0)


@PROPERTY
@given(float_arrays((6,)), st.integers(0, 5))
def test_sparsemax_is_one_hot_for_a_widely_separated_maximum(x, winner):
    x = x.copy()
    x[winner] = x.max() + 1.0 + 1e-9
    expected = np.zeros(6)
    expected[winner] = 1.0
    np.testing.assert_array_equal(sparsemax(x), expected)
    np.testing.assert_array_equal(sparsemax(x * 100), np.round(softmax(x * 100), 12))


@PROPERTY
@given(SEEDS, st.integers(1, 12), st.floats(0.1, 10.0))
def test_sparsemax_matches_root_finding_projection(seed, n, spread):
    z = np.random.default_rng(seed).normal(scale=spread, size=(4, n))
    p = sparsemax(z)
    for row, z_row in zip(p, z, strict=True):
        np.testing.assert_allclose(row, simplex_projection_by_root_finding(z_row), atol=1e-10)
    np.testing.assert_array_equal(sparsemax(z.T, axis=0), p.T)


def test_sparsemax_known_values_and_minus_infinity():
    np.testing.assert_allclose(sparsemax([0.5, 0.0, -np.inf]), [0.75, 0.25, 0.0])
    np.testing.assert_array_equal(sparsemax([[2.0, 0.0], [1.0, 1.0]]), [[1.0, 0.0], [0.5, 0.5]])
    assert np.all(np.isnan(sparsemax([-np.inf, -np.inf])))


# --------------------------------------------------------------------------------------------
# multi-head attention
# --------------------------------------------------------------------------------------------


@PROPERTY
@given(qkv_and_mask())
def test_one_head_with_identity_projections_is_scaled_dot_product_attention(data):
    query, key, _, mask = data
    value = key[..., ::-1] * 2.0  # value must have key's width E for identity projections
    eye = np.eye(query.shape[-1])
    expected = scaled_dot_product_attention(query, key, value, attn_mask=mask, return_weights=True)
    output, weights = multi_head_attention(
        query, key, value, 1, eye, eye, eye, eye, attn_mask=mask, return_weights=True
    )
    np.testing.assert_allclose(output, expected[0], rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(weights[:, 0], expected[1], rtol=1e-12, atol=1e-12)


@PROPERTY
@given(SEEDS, SIZES, SIZES, st.sampled_from([(1, 4), (2, 4), (3, 6), (4, 8)]), st.booleans())
def test_multi_head_attention_matches_explicit_loops_over_heads(seed, n_q, n_k, heads_dm, causal):
    num_heads, d_model = heads_dm
    rng = np.random.default_rng(seed)
    d_in = 5
    x_q, x_k, x_v = (rng.normal(size=(2, n, d_in)) for n in (n_q, n_k, n_k))
    w, b = random_mha_parameters(rng, d_in, d_model)
    allowed = np.tril(np.ones((n_q, n_k), dtype=bool)) if causal else rng.random((n_q, n_k)) < 0.7
    allowed[:, 0] = True
    output, weights = multi_head_attention(
        x_q,
        x_k,
        x_v,
        num_heads,
        w["q"],
        w["k"],
        w["v"],
        w["o"],
        b["q"],
        b["k"],
        b["v"],
        b["o"],
        attn_mask=None if causal else allowed,
        is_causal=causal,
        return_weights=True,
    )
    assert output.shape == (2, n_q, d_model) and weights.shape == (2, num_heads, n_q, n_k)
    np.testing.assert_allclose(weights.sum(axis=-1), 1.0, rtol=0, atol=1e-12)
    for i in range(2):
        ref_out, ref_w = reference_multi_head(x_q[i], x_k[i], x_v[i], num_heads, w, b, allowed)
        np.testing.assert_allclose(output[i], ref_out, rtol=0, atol=1e-10)
        np.testing.assert_allclose(weights[i], ref_w, rtol=0, atol=1e-10)


def test_multi_head_attention_per_batch_mask_needs_a_head_axis():
    rng = np.random.default_rng(2)
    x = rng.normal(size=(3, 4, 6))
    w, b = random_mha_parameters(rng, 6, 6)
    mask = rng.random((3, 1, 4, 4)) < 0.6
    mask[..., 0] = True
    output = multi_head_attention(x, x, x, 2, w["q"], w["k"], w["v"], w["o"], attn_mask=mask)
    for i in range(3):
        single = multi_head_attention(
            x[i], x[i], x[i], 2, w["q"], w["k"], w["v"], w["o"], attn_mask=mask[i, 0]
        )
        np.testing.assert_allclose(output[i], single, rtol=1e-13, atol=1e-13)


# --------------------------------------------------------------------------------------------
# agreement with PyTorch (skipped where torch is not installed, as in CI)
# --------------------------------------------------------------------------------------------


@PROPERTY
@given(SEEDS, SIZES, SIZES, st.integers(1, 6), st.sampled_from(["none", "bool", "float", "causal"]))
def test_matches_torch_scaled_dot_product_attention(seed, n_q, n_k, e, mask_kind):
    torch = pytest.importorskip("torch")
    functional = torch.nn.functional
    rng = np.random.default_rng(seed)
    query, key, value = (
        rng.normal(size=s) for s in ((2, 3, n_q, e), (1, 3, n_k, e), (2, 3, n_k, 4))
    )
    mask = None
    if mask_kind == "bool":
        mask = rng.random((2, 1, n_q, n_k)) < 0.6
        mask[..., 0] = True
    elif mask_kind == "float":
        mask = rng.normal(size=(n_q, n_k))
    scale = None if seed % 2 else float(rng.uniform(0.1, 2.0))
    expected = functional.scaled_dot_product_attention(
        *(torch.from_numpy(a) for a in (query, key, value)),
        attn_mask=None if mask is None else torch.from_numpy(mask),
        is_causal=mask_kind == "causal",
        scale=scale,
    ).numpy()
    output = scaled_dot_product_attention(
        query, key, value, attn_mask=mask, is_causal=mask_kind == "causal", scale=scale
    )
    np.testing.assert_allclose(output, expected, rtol=1e-10, atol=1e-10)


def test_fully_masked_rows_differ_from_torch_only_as_documented():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(3)
    query, key, value = rng.normal(size=(3, 4)), rng.normal(size=(5, 4)), rng.normal(size=(5, 2))
    mask = np.ones((3, 5), dtype=bool)
    mask[1] = False
    expected = torch.nn.functional.scaled_dot_product_attention(
        *(torch.from_numpy(a) for a in (query, key, value)), attn_mask=torch.from_numpy(mask)
    ).numpy()
    output = scaled_dot_product_attention(query, key, value, attn_mask=mask)
    np.testing.assert_allclose(output[[0, 2]], expected[[0, 2]], rtol=1e-12, atol=1e-12)
    assert np.all(output[1] == 0.0)
    np.testing.assert_array_equal(expected[1], 0.0)  # torch >= 2.5


@PROPERTY
@given(SEEDS, SIZES, SIZES, st.sampled_from([(1, 4), (2, 4), (3, 6), (4, 8)]), st.booleans())
def test_matches_torch_multihead_attention(seed, n_q, n_k, heads_dm, boolean_mask):
    torch = pytest.importorskip("torch")
    num_heads, d_model = heads_dm
    rng = np.random.default_rng(seed)
    x_q, x_k, x_v = (rng.normal(size=(2, n, d_model)) for n in (n_q, n_k, n_k))
    w, b = random_mha_parameters(rng, d_model, d_model)
    if boolean_mask:
        mask = rng.random((n_q, n_k)) < 0.6
        mask[:, 0] = True
        torch_mask = torch.from_numpy(~mask)  # nn.MultiheadAttention: True = masked out
    else:
        mask = rng.normal(size=(n_q, n_k))
        torch_mask = torch.from_numpy(mask)
    module = torch.nn.MultiheadAttention(
        d_model, num_heads, bias=True, batch_first=True, dtype=torch.float64
    )
    with torch.no_grad():
        module.in_proj_weight.copy_(torch.from_numpy(np.concatenate([w["q"], w["k"], w["v"]])))
        module.in_proj_bias.copy_(torch.from_numpy(np.concatenate([b["q"], b["k"], b["v"]])))
        module.out_proj.weight.copy_(torch.from_numpy(w["o"]))
        module.out_proj.bias.copy_(torch.from_numpy(b["o"]))
        expected, expected_weights = module(
            *(torch.from_numpy(x) for x in (x_q, x_k, x_v)),
            attn_mask=torch_mask,
            need_weights=True,
            average_attn_weights=False,
        )
    output, weights = multi_head_attention(
        x_q,
        x_k,
        x_v,
        num_heads,
        w["q"],
        w["k"],
        w["v"],
        w["o"],
        b["q"],
        b["k"],
        b["v"],
        b["o"],
        attn_mask=mask,
        return_weights=True,
    )
    np.testing.assert_allclose(output, expected.numpy(), rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(weights, expected_weights.numpy(), rtol=1e-10, atol=1e-10)


# --------------------------------------------------------------------------------------------
# bad inputs
# --------------------------------------------------------------------------------------------

_RNG = np.random.default_rng(4)
_Q, _K, _V = _RNG.normal(size=(2, 3, 4)), _RNG.normal(size=(2, 5, 4)), _RNG.normal(size=(2, 5, 6))
_W = np.eye(6)


@pytest.mark.parametrize(
    ("call", "argument"),
    [
        (lambda: scaled_dot_product_attention(_Q, _K[..., :3], _V), "key"),
        (lambda: scaled_dot_product_attention(_Q, _K, _V[:, :4]), "value"),
        (
            lambda: scaled_dot_product_attention(_Q, _K, _V, attn_mask=np.ones((3, 4), bool)),
            "attn_mask",
        ),
        (
            lambda: scaled_dot_product_attention(_Q, _K, _V, attn_mask=np.ones((4, 3, 5), bool)),
            "attn_mask",
        ),
        (
            lambda: scaled_dot_product_attention(_Q, _K, _V, attn_mask=np.ones((3, 5), int)),
            "attn_mask",
        ),
        (
            lambda: scaled_dot_product_attention(_Q, _K, _V, attn_mask=np.full((3, 5), np.nan)),
            "attn_mask",
        ),
        (
            lambda: scaled_dot_product_attention(
                _Q, _K, _V, attn_mask=np.ones((3, 5), bool), is_causal=True
            ),
            "attn_mask",
        ),
        (
            lambda: scaled_dot_product_attention(_Q, _K[:1].repeat(3, 0), _V[:1].repeat(3, 0)),
            "batch",
        ),
        (lambda: scaled_dot_product_attention(_Q[0, 0], _K, _V), "query"),
        (lambda: scaled_dot_product_attention(_Q * np.nan, _K, _V), "query"),
        (lambda: scaled_dot_product_attention(_Q, _K, _V, scale=float("inf")), "scale"),
        (lambda: scaled_dot_product_attention(_Q, _K, _V, is_causal="yes"), "is_causal"),
        (lambda: attention_weights(_Q, _K[..., :2]), "key"),
        (lambda: softmax([0.0, np.nan]), "x"),
        (lambda: sparsemax([0.0, np.inf]), "x"),
        (lambda: sparsemax(np.zeros((2, 3)), axis=2), "axis"),
        (lambda: multi_head_attention(_V, _V, _V, 4, _W, _W, _W, _W), "num_heads"),
        (lambda: multi_head_attention(_V, _V, _V, 0, _W, _W, _W, _W), "num_heads"),
        (lambda: multi_head_attention(_V, _V, _V, 2, _W, _W, _W, _W[:4]), "w_o"),
        (lambda: multi_head_attention(_V, _V, _V, 2, _W[:, :5], _W, _W, _W), "w_q"),
        (lambda: multi_head_attention(_V, _V, _V, 2, _W, _W, _W, _W, b_q=np.ones(5)), "b_q"),
        (lambda: multi_head_attention(_V, _V, _V[:, :4], 2, _W, _W, _W, _W), "value"),
    ],
)
def test_bad_inputs_raise_a_one_line_error_naming_the_argument(call, argument):
    with pytest.raises(BioattnError, match=argument) as caught:
        call()
    assert isinstance(caught.value, ValueError)
    assert "\n" not in str(caught.value)


def test_error_messages_give_the_offending_shapes():
    with pytest.raises(BioattnError, match=r"key shape \(2, 5, 3\).*query shape \(2, 3, 4\)"):
        scaled_dot_product_attention(_Q, _K[..., :3], _V)
    with pytest.raises(BioattnError, match=r"D_model = 6, got 4"):
        multi_head_attention(_V, _V, _V, 4, _W, _W, _W, _W)
