"""Ring connectivity through Fourier modes: O(N·K) coupling of feature rings inside Brian2.

Feature rings (Compte et al. 2000; Ardid, Wang & Compte 2007) connect neuron j (preferred angle
θ_j) to neuron i with a weight that depends only on the angle difference, W(θ_i − θ_j).  The
synaptic input onto i from presynaptic gating variables s_j (AMPA or NMDA) is

    G_i = g · Σ_j W(θ_i − θ_j) s_j.

Dense all-to-all coupling costs N² operations per time step.  Because W is even and periodic,

    W(Δ) = ŵ_0 + Σ_{k≥1} ŵ_k cos(kΔ),     cos(k(θ_i−θ_j)) = cos kθ_i cos kθ_j + sin kθ_i sin kθ_j,

so G_i = g·[ŵ_0 C_0 + Σ_k ŵ_k (cos kθ_i C_k + sin kθ_i S_k)] with the ring's Fourier coefficients
C_k = Σ_j cos(kθ_j) s_j and S_k = Σ_j sin(kθ_j) s_j.  A :class:`ModeBank` computes these 2K+1
numbers every step through Brian2 summed variables (N·(2K+1) operations) and a
:func:`connect_readout` hands them back to any target ring (another (2K+1)·N).  The NMDA
saturation s ← s + α x (1 − s) is a per-neuron presynaptic variable, as in Brunel & Wang 2001,
so nothing is lost by the factorisation; the only approximation is truncating the series at K,
chosen so that the largest kernel error stays below a tolerance (``simulation.kernel_tolerance``).
Everything stays inside Brian2, so all code-generation targets, ``cpp_standalone`` included, work.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from brian2 import NeuronGroup, Synapses

from bioattn.circuits.bindings import Bindings

#: Scheduling order of a mode bank's group (its summed variables are updated at order − 1, before
#: the readouts onto cells, which are updated at the cells' order 0 − 1).
BANK_ORDER = -1

#: Angles per ring used to integrate the kernel's Fourier coefficients (far finer than any ring).
_QUADRATURE_POINTS = 8192


def preferred_angles(n: int) -> np.ndarray:
    """Evenly spaced preferred angles θ_j = 2πj/n (radians) of an n-neuron ring."""
    return 2.0 * np.pi * np.arange(n) / n


def wrapped_difference(delta: np.ndarray) -> np.ndarray:
    """Angle difference wrapped into [−π, π)."""
    return (np.asarray(delta) + np.pi) % (2.0 * np.pi) - np.pi


def wrapped_gaussian(delta: np.ndarray, sigma: float, images: int = 4) -> np.ndarray:
    """Gaussian of width σ wrapped onto the circle: G(Δ) = Σ_n exp(−(Δ + 2πn)²/2σ²), |n| ≤ images.

    The wrapped normal (Mardia & Jupp 2000) is the Gaussian's natural form on a ring: smooth at
    ±180°, so its Fourier series decays like exp(−k²σ²/2).  A Gaussian of the wrapped distance
    alone has a kink at ±180° when σ is broad (4.4 % of the peak there for σ = 72°) and then
    needs ~10× more modes for the same kernel accuracy.
    """
    base = wrapped_difference(delta)
    shifts = 2.0 * np.pi * np.arange(-images, images + 1)
    return np.exp(-((base[..., None] + shifts) ** 2) / (2.0 * sigma**2)).sum(axis=-1)


def ring_kernel(delta: np.ndarray, sigma: float, j_plus: float | None = None) -> np.ndarray:
    """Feature-ring connectivity profile W(Δ), normalised to a mean of 1 over the ring.

    With ``j_plus`` (Compte et al. 2000, eq. for W(θ_i − θ_j)):
        W(Δ) = J⁻ + (J⁺ − J⁻)·G(Δ),  J⁻ chosen so that (1/2π)∮W = 1.
    Without (long-range projections, Ardid et al. 2007): W(Δ) = G(Δ) / mean(G), a Gaussian whose
    ring mean is 1, so the projection's total conductance is its per-synapse g times N.
    G is the :func:`wrapped_gaussian` of width ``sigma`` (radians).
    """
    grid = preferred_angles(_QUADRATURE_POINTS)
    gauss = wrapped_gaussian(np.asarray(delta, dtype=float), sigma)
    gauss_mean = float(np.mean(wrapped_gaussian(grid, sigma)))
    if j_plus is None:
        return gauss / gauss_mean
    j_minus = (1.0 - j_plus * gauss_mean) / (1.0 - gauss_mean)
    return j_minus + (j_plus - j_minus) * gauss


@functools.lru_cache(maxsize=256)
def fourier_coefficients(sigma: float, j_plus: float | None, tolerance: float) -> np.ndarray:
    """Cosine-series coefficients ŵ_0..ŵ_K of :func:`ring_kernel`, truncated at the smallest K
    whose reconstruction error max|W − W_K| is below ``tolerance``·max|W|.

    Cached (the engine asks for the same kernels at every run); the array is read-only."""
    grid = preferred_angles(_QUADRATURE_POINTS)
    kernel = ring_kernel(grid, sigma, j_plus)
    spectrum = np.fft.rfft(kernel).real / _QUADRATURE_POINTS
    coefficients = np.concatenate(([spectrum[0]], 2.0 * spectrum[1:]))
    scale = np.max(np.abs(kernel))
    partial = np.zeros_like(kernel)
    size = coefficients.size
    for k, coefficient in enumerate(coefficients):
        partial += coefficient * np.cos(k * grid)
        if np.max(np.abs(partial - kernel)) <= tolerance * scale:
            size = k + 1
            break
    out = coefficients[:size].copy()
    out.flags.writeable = False
    return out


@dataclass(frozen=True)
class Kernel:
    """A ring kernel W(Δ) named by its model parameters: the width σ (``"pfc.sigma_ee"``) and,
    for a recurrent profile, the peak J⁺ (``"pfc.j_plus"``); no width = the uniform kernel
    W ≡ 1 (untuned, all-to-all).  Its Fourier coefficients are run-time values; their number
    (the harmonics K, set by ``simulation.kernel_tolerance``) is part of the network's
    structure."""

    sigma: str | None = None
    j_plus: str | None = None

    def coefficients(self, model: Any) -> np.ndarray:
        """ŵ_0..ŵ_K for ``model`` (:func:`fourier_coefficients`)."""
        if self.sigma is None:
            return np.ones(1)
        j_plus = None if self.j_plus is None else float(model.value(self.j_plus))
        tolerance = float(model.value("simulation.kernel_tolerance"))
        return fourier_coefficients(float(model.value(self.sigma)), j_plus, tolerance)

    def harmonics(self, model: Any) -> int:
        """K for ``model``."""
        return self.coefficients(model).size - 1


UNIFORM = Kernel()


def mode_basis(angles: np.ndarray, n_harmonics: int) -> np.ndarray:
    """Basis per neuron, shape (n_neurons, 2K+1): [1, cos θ, sin θ, cos 2θ, sin 2θ, ...]."""
    k = np.arange(1, n_harmonics + 1)
    basis = np.empty((angles.size, 2 * n_harmonics + 1))
    basis[:, 0] = 1.0
    basis[:, 1::2] = np.cos(np.outer(angles, k))
    basis[:, 2::2] = np.sin(np.outer(angles, k))
    return basis


def _all_pairs(n_pre: int, n_post: int) -> tuple[np.ndarray, np.ndarray]:
    """Index arrays of all-to-all connections, presynaptic-major."""
    return np.repeat(np.arange(n_pre), n_post), np.tile(np.arange(n_post), n_pre)


class ModeBank:
    """The Fourier coefficients of presynaptic gating variables of a ring, updated every step.

    Parameters
    ----------
    source : NeuronGroup
        The presynaptic cells: ``n_blocks`` rings of equal size laid end to end (block b holds
        cells b·n .. (b+1)·n − 1, each ring's cells at :func:`preferred_angles`).  Several
        cortical columns, or several pools, then share one group and one bank.
    variables : list of str
        Presynaptic gating variables (``"s_ampa"``, ``"s_nmda"``); the bank holds ``c_<var>``.
    n_harmonics : int
        K: the bank holds modes 0..K (2K+1 numbers per variable and block).  With K = 0 the bank
        holds only each block's sum, Σ_j s_j: the input of an untuned (pool-to-pool) projection.
    extra : str
        Further variable declarations of the bank group (e.g. a per-block gate).
    """

    def __init__(
        self,
        source: NeuronGroup,
        variables: list[str],
        n_harmonics: int,
        name: str,
        n_blocks: int = 1,
        extra: str = "",
    ):
        self.variables = list(variables)
        self.n_harmonics = int(n_harmonics)
        self.n_blocks = int(n_blocks)
        self.n_modes = 2 * self.n_harmonics + 1
        if len(source) % self.n_blocks:
            raise ValueError(f"{name}: {len(source)} cells do not split into {n_blocks} blocks")
        self.block_size = len(source) // self.n_blocks
        # order −1: Brian2 runs a summed variable's update at its target's order − 1 in the
        # 'groups' slot, so the bank (−2) is summed before any readout onto cells (−1) reads
        # it in the same step.  Otherwise ties go by name and a readout could read the modes
        # of the previous step: one step of spurious synaptic latency.
        self.group = NeuronGroup(
            self.n_blocks * self.n_modes,
            "\n".join([*(f"c_{v} : 1" for v in self.variables), extra]),
            name=f"{name}_modes",
            order=BANK_ORDER,
        )
        summed = "\n".join(f"c_{v}_post = b * {v}_pre : 1 (summed)" for v in self.variables)
        self.forward = Synapses(
            source, self.group, f"b : 1 (constant)\n{summed}", name=f"{name}_fwd"
        )
        # Explicit index arrays: their order is known before the run, also in cpp_standalone.
        cell, mode = _all_pairs(len(source), self.n_modes)
        block = cell // self.block_size
        self.forward.connect(i=cell, j=block * self.n_modes + mode)
        basis = mode_basis(preferred_angles(self.block_size), self.n_harmonics)
        self.forward.b[:] = basis[cell % self.block_size, mode]
        self.objects = [self.group, self.forward]

    def row(self, block: int, mode: int = 0) -> int:
        """Index in :attr:`group` of ``mode`` of ``block``."""
        return block * self.n_modes + mode


def connect_readout(
    bank: ModeBank,
    target: NeuronGroup,
    couplings: dict[str, tuple[str, str]],
    kernel: Kernel,
    model: Any,
    bindings: Bindings,
    name: str,
    *,
    pairs: list[tuple[int, int]] | None = None,
    pair_weights: Callable[[Any, Any], Any] | None = None,
    target_blocks: int = 1,
    factor: str | None = None,
    namespace: dict | None = None,
) -> Synapses:
    """Deliver Σ_j W(θ_i − θ_j)·s_j, scaled by a conductance, from a mode bank to a target ring.

    ``couplings`` maps a target conductance variable to (bank variable, conductance name): e.g.
    ``{"g_nmda_rec": ("s_nmda", "g_nmda")}`` adds ``g_nmda_rec = g_nmda·Σ_j W s_nmda_j``.  The
    conductances are shared constants of the returned Synapses, for the caller to bind
    (``bindings.param(syn, "g_nmda", "pfc.g_nmda_ee", factor)``).  The per-synapse weights
    ``w`` — the kernel's Fourier coefficients ŵ_k times each target cell's cos kθ_i / sin kθ_i —
    are bound to ``kernel`` here; ``model`` only fixes their number (the structure).

    Blocks: the target is ``target_blocks`` equal rings laid end to end; ``pairs`` lists
    ``(source block, target block)`` (default: block b to block b, or the single source ring to
    every target block) and ``pair_weights(model, schedule)`` one weight per pair (default 1),
    so block-structured projections (each column to its own readout, every column to one
    readout, pools with w⁺ / w⁻) are one Synapses object.  ``factor`` is an expression that
    multiplies the whole delivered conductance (e.g. a gate ``gate_pre`` held in the bank, or a
    schedule ``query_gain(t)``), with the names it uses in ``namespace``.
    """
    n_harmonics = kernel.harmonics(model)
    if n_harmonics > bank.n_harmonics:
        raise ValueError(
            f"coefficients: kernel needs {n_harmonics} harmonics, bank has {bank.n_harmonics}"
        )
    if len(target) % target_blocks:
        raise ValueError(f"{name}: {len(target)} cells do not split into {target_blocks} blocks")
    if pairs is None:
        if bank.n_blocks == 1:
            pairs = [(0, b) for b in range(target_blocks)]
        elif bank.n_blocks == target_blocks:
            pairs = [(b, b) for b in range(target_blocks)]
        else:
            raise ValueError(f"{name}: {bank.n_blocks} source blocks, {target_blocks} target")
    n_modes = 2 * n_harmonics + 1
    params = sorted({g for _, g in couplings.values()})
    scale = f" * {factor}" if factor else ""
    equations = "\n".join(
        ["w : 1 (constant)"]
        + [f"{g} : siemens (shared, constant)" for g in params]
        + [
            f"{target_var}_post = {g} * w * c_{var}_pre{scale} : siemens (summed)"
            for target_var, (var, g) in couplings.items()
        ]
    )
    syn = Synapses(bank.group, target, equations, namespace=namespace or {}, name=name)
    size = len(target) // target_blocks
    mode, cell = _all_pairs(n_modes, size)
    pre = [bank.row(source_block) + mode for source_block, _ in pairs]
    post = [target_block * size + cell for _, target_block in pairs]
    syn.connect(i=np.concatenate(pre), j=np.concatenate(post))
    basis = mode_basis(preferred_angles(size), n_harmonics)[cell, mode]

    def weights(model: Any, schedule: Any) -> np.ndarray:
        coefficients = kernel.coefficients(model)
        if coefficients.size != n_harmonics + 1:
            raise RuntimeError(f"{name}: the kernel's harmonics changed without a rebuild")
        mode_weights = np.repeat(coefficients, 2)[1:]  # ŵ_0, ŵ_1, ŵ_1, ŵ_2, ŵ_2, ...
        per_pair = basis * mode_weights[mode]
        scale_by = np.ones(len(pairs)) if pair_weights is None else pair_weights(model, schedule)
        return np.concatenate([float(k) * per_pair for k in scale_by])

    bindings.bind(syn, "w", weights)
    return syn


def untuned_projection(
    bank: ModeBank,
    target: NeuronGroup,
    variable: str,
    parameter: str,
    factor: float,
    name: str,
    model: Any,
    bindings: Bindings,
    *,
    pairs: list[tuple[int, int]] | None = None,
    target_blocks: int,
) -> Synapses:
    """Σ_j s_AMPA,j of each source block (mode 0) times ``parameter`` · ``factor`` onto
    ``variable`` of the target block."""
    syn = connect_readout(
        bank, target, {variable: ("s_ampa", "g_ampa")}, UNIFORM, model, bindings, name,
        pairs=pairs, target_blocks=target_blocks,
    )  # fmt: skip
    bindings.param(syn, "g_ampa", parameter, factor)
    return syn
