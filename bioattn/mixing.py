"""Mixing versus transformation: how much of a response is a convex mixture of its inputs.

"Attention mixes information, reasoning transforms state": an attention layer's output on a
trial is a convex combination Σ_i w_i v_i (w_i ≥ 0, Σ w_i = 1) of the values v_i of the items on
that trial; anything else — a linear recombination with negative or unnormalised weights, or a
non-linear function of the items — transforms them.  Given per-trial responses r_t (the
explainable part, e.g. condition means) and the item values V_t = [v_t1 … v_tL], this module
splits the response variance around its mean into three nested parts:

    mixing_fraction  = R²(convex):  r̂_t = argmin_{w ∈ Δ} ‖r_t − V_t w‖   (simplex Δ)
    linear_fraction  = R²(linear) − R²(convex):
                       r̂_t = argmin_{w ∈ ℝ^L, c, d ∈ ℝ} ‖r_t − V_t w − c − d r̄‖
    transform_fraction = 1 − R²(linear)

with R² = 1 − Σ_t ‖r_t − r̂_t‖² / Σ_t ‖r_t − r̄‖² and r̄ the mean response over trials.

Measured single-trial responses carry count noise, which no mixture and no linear map of the
item values can explain: uncorrected, it would be counted as "transformation".  Given each
trial's noise variance N_t = Σ_o Var(r_to) (for Poisson counts y over a window T,
Var(r_to) = λ_to/T² ≈ y_to/T²), the fractions are taken of the explainable variance instead
(the noise-ceiling correction of e.g. Schoppe et al. 2016, here with the degrees of freedom of
each fit):

    V_expl = Σ_t ‖r_t − r̄‖² − (1 − 1/n_trials) Σ_t N_t
    R²(fit) = 1 − (Σ_t ‖r_t − r̂_t‖² − Σ_t N_t (1 − p_t/n_out)) / V_expl

with p_t the fit's free numbers on trial t (convex: the number of non-zero weights − 1;
linear: the rank of [V_t, 1, r̄]); a least-squares fit with p free numbers absorbs a share
p/n_out of white noise.  ``noise_fraction`` = (1 − 1/n_trials) Σ_t N_t / Σ_t ‖r_t − r̄‖².  The
linear stage is any linear recombination of the trial's item values (negative or unnormalised
weights), plus an offset and the population's mean response pattern (so it can never do worse
than r̄ itself).  The convex fit is a subset of it, so the three parts are non-negative and sum
to one.  Per-trial fits have up to L + 2 free numbers per trial: the measure is meaningful when
the response has many more dimensions than items (n_out ≫ L + 2), as for a readout population.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import nnls

from bioattn.attention import scaled_dot_product_attention
from bioattn.errors import BioattnError


@dataclass(frozen=True)
class MixingDecomposition:
    mixing_fraction: float
    linear_fraction: float
    transform_fraction: float
    convex_weights: np.ndarray  # (n_trials, n_items), rows on the simplex over present items
    noise_fraction: float = 0.0  # share of the raw variance that is count noise

    def as_dict(self) -> dict[str, float]:
        return {
            "mixing_fraction": self.mixing_fraction,
            "linear_fraction": self.linear_fraction,
            "transform_fraction": self.transform_fraction,
            "noise_fraction": self.noise_fraction,
        }


def _check(responses: np.ndarray, values: np.ndarray, mask: np.ndarray | None):
    r = np.asarray(responses, dtype=float)
    v = np.asarray(values, dtype=float)
    if r.ndim != 2:
        raise BioattnError(f"responses: expected shape (n_trials, n_out), got {r.shape}")
    if v.ndim != 3 or v.shape[0] != r.shape[0] or v.shape[2] != r.shape[1]:
        raise BioattnError(
            f"values: expected shape (n_trials, n_items, n_out) = ({r.shape[0]}, L, {r.shape[1]}),"
            f" got {v.shape}"
        )
    if not (np.all(np.isfinite(r)) and np.all(np.isfinite(v))):
        raise BioattnError("responses / values: expected finite numbers, found NaN or inf")
    m = np.ones(v.shape[:2], dtype=bool) if mask is None else np.asarray(mask, dtype=bool)
    if m.shape != v.shape[:2]:
        raise BioattnError(f"mask: expected shape {v.shape[:2]}, got {m.shape}")
    if not np.all(m.any(axis=1)):
        raise BioattnError("mask: every trial needs at least one present item")
    return r, v, m


def convex_projection(response: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Weights w on the simplex minimising ‖response − valuesᵀ w‖ (values: (L, n_out)).

    Solved as non-negative least squares with the constraint Σ w = 1 appended as a heavily
    weighted row (Lawson & Hanson 1974, ch. 20), exact to ~1e-9 relative.
    """
    scale = max(float(np.abs(values).max()), float(np.abs(response).max()), 1.0)
    penalty = 1e4 * scale
    a = np.vstack([values.T, np.full((1, values.shape[0]), penalty)])
    b = np.concatenate([response, [penalty]])
    w, _ = nnls(a, b, maxiter=50 * values.shape[0] + 100)
    return w / w.sum() if w.sum() > 0 else np.full(values.shape[0], 1.0 / values.shape[0])


def decompose(
    responses: np.ndarray,
    values: np.ndarray,
    mask: np.ndarray | None = None,
    noise_variance: np.ndarray | None = None,
) -> MixingDecomposition:
    """Split the variance of ``responses`` (n_trials, n_out) into convex mixing, extra linear and
    non-linear parts, given the item ``values`` (n_trials, n_items, n_out) and an optional
    presence ``mask`` (n_trials, n_items).  ``noise_variance`` (n_trials,), N_t = Σ_o Var(r_to):
    fractions of the explainable variance (module docstring)."""
    r, v, m = _check(responses, values, mask)
    total = float(np.sum((r - r.mean(axis=0)) ** 2))
    if total <= 0:
        raise BioattnError("responses: no variance across trials to decompose")
    if noise_variance is None:
        noise = np.zeros(r.shape[0])
    else:
        noise = np.asarray(noise_variance, dtype=float)
        if noise.shape != (r.shape[0],) or not np.all(np.isfinite(noise)) or np.any(noise < 0):
            raise BioattnError(
                f"noise_variance: expected {r.shape[0]} finite values >= 0, got shape {noise.shape}"
            )
    n_out = r.shape[1]
    noise_total = (1.0 - 1.0 / r.shape[0]) * float(noise.sum())
    explainable = total - noise_total
    if explainable <= 0:
        raise BioattnError(
            "responses: their variance across trials is no larger than the count noise; "
            "nothing to decompose"
        )
    convex_noise = linear_noise = 0.0
    n_trials, n_items, _ = v.shape
    weights = np.zeros((n_trials, n_items))
    convex_fit = np.empty_like(r)
    linear_fit = np.empty_like(r)
    mean_pattern = r.mean(axis=0)
    for t in range(n_trials):
        present = np.flatnonzero(m[t])
        vt = v[t, present]  # (L_t, n_out)
        w = convex_projection(r[t], vt)
        weights[t, present] = w
        convex_fit[t] = w @ vt
        design = np.vstack([vt, np.ones(r.shape[1]), mean_pattern]).T  # V w + c + d r̄
        coef, _, rank, _ = np.linalg.lstsq(design, r[t], rcond=None)
        linear_fit[t] = design @ coef
        convex_noise += noise[t] * (1.0 - max(np.count_nonzero(w > 1e-9) - 1, 0) / n_out)
        linear_noise += noise[t] * (1.0 - rank / n_out)
    # A convex mixture can fit worse than r̄ (R² < 0): it then explains nothing.
    sse_convex = float(np.sum((r - convex_fit) ** 2)) - convex_noise
    sse_linear = float(np.sum((r - linear_fit) ** 2)) - linear_noise
    r2_convex = min(max(1.0 - sse_convex / explainable, 0.0), 1.0)
    r2_linear = min(max(1.0 - sse_linear / explainable, r2_convex), 1.0)
    return MixingDecomposition(
        mixing_fraction=r2_convex,
        linear_fraction=r2_linear - r2_convex,
        transform_fraction=1.0 - r2_linear,
        convex_weights=weights,
        noise_fraction=noise_total / total,
    )


# --------------------------------------------------------------------------------------------
# Calibration controls (numpy): a pure attention layer and a small random MLP
# --------------------------------------------------------------------------------------------


def ring_item_values(
    rng: np.random.Generator, n_trials: int, n_items: int, n_out: int, kappa: float = 2.0
) -> tuple[np.ndarray, np.ndarray]:
    """Items with random feature angles and their population responses (von Mises tuning of
    ``n_out`` neurons with evenly spaced preferences, 5–50 Hz).  Returns (angles, values)."""
    angles = rng.uniform(0.0, 2.0 * np.pi, size=(n_trials, n_items))
    preferred = 2.0 * np.pi * np.arange(n_out) / n_out
    tuning = np.exp(kappa * (np.cos(angles[..., None] - preferred) - 1.0))
    return angles, 5.0 + 45.0 * tuning


def attention_control(
    rng: np.random.Generator,
    n_trials: int = 2000,
    n_items: int = 4,
    n_out: int = 16,
    beta: float = 3.0,
) -> tuple[np.ndarray, np.ndarray]:
    """Responses of a pure softmax attention layer: r_t = Σ_i softmax_i(β qᵀk_i) v_ti, with the
    query and keys the [cos, sin] of a random attended angle and the items' angles."""
    angles, values = ring_item_values(rng, n_trials, n_items, n_out)
    query_angle = rng.uniform(0.0, 2.0 * np.pi, size=(n_trials, 1))
    query = np.stack([np.cos(query_angle), np.sin(query_angle)], axis=-1)  # (T, 1, 2)
    keys = np.stack([np.cos(angles), np.sin(angles)], axis=-1)  # (T, L, 2)
    out = scaled_dot_product_attention(query, keys, values, scale=beta)  # (T, 1, n_out)
    return out[:, 0], values


def mlp_control(
    rng: np.random.Generator,
    n_trials: int = 2000,
    n_items: int = 4,
    n_out: int = 16,
    n_hidden: int = 32,
) -> tuple[np.ndarray, np.ndarray]:
    """Responses of a small random two-layer ReLU network of the same items (and query):
    r_t = W₂ relu(W₁ x_t + b₁) + b₂, x_t = [normalised item values, cos/sin of the query].
    Weights are Gaussian with 1/√fan-in scale (LeCun et al. 1998); outputs rescaled to the
    items' rate range so both controls are compared on equal terms."""
    angles, values = ring_item_values(rng, n_trials, n_items, n_out)
    query = rng.uniform(0.0, 2.0 * np.pi, size=(n_trials, 1))
    x = np.concatenate(
        [(values.reshape(n_trials, -1) - 27.5) / 22.5, np.cos(query), np.sin(query)], axis=1
    )
    w1 = rng.normal(0.0, 1.0 / np.sqrt(x.shape[1]), size=(x.shape[1], n_hidden))
    w2 = rng.normal(0.0, 1.0 / np.sqrt(n_hidden), size=(n_hidden, n_out))
    hidden = np.maximum(x @ w1 + rng.normal(0.0, 0.1, n_hidden), 0.0)
    out = hidden @ w2
    out = (out - out.mean()) / out.std()
    return 27.5 + 10.0 * out, values
