"""Shared trial-to-trial variability: a slow fluctuating gain of the afferent (stimulus) drive,
common to every cell of a sensory area or column.

Spike-count correlations of nearby, similarly tuned V4 / MT cells are ≈ 0.05–0.2 and come from
slow shared fluctuations (< 5 Hz, Mitchell, Sundberg & Reynolds 2009); much of that shared
variance is a multiplicative gain of the stimulus drive that wanders within and across trials
(Goris, Movshon & Simoncelli 2014; Rabinowitz et al. 2015 for V4 populations, whose shared
gain fluctuations attention reduces; Ecker et al. 2016).  Each block b (a column, or the whole
sensory ring) gets an Ornstein–Uhlenbeck path of unit variance and correlation time τ,

    ξ_b(t + Δ) = a ξ_b(t) + √(1 − a²) z,   a = exp(−Δ/τ),  z ~ N(0, 1)

(the exact discretisation at the schedule step Δ; each trial starts from the stationary
distribution, ξ_b ~ N(0, 1)), and its cells' stimulus drive is multiplied by ``shared_gain`` =
max(0, 1 + σ ξ_b).  Only the stimulus drive fluctuates (background afferents do not), so cells
driven by the same item share the most variance: correlations fall with the difference of the
pair's preferences.

**Attention stabilises the shared gain** (multi-item circuit).  Rabinowitz, Goris, Cohen &
Simoncelli 2015 fitted V4 populations with shared multiplicative modulators and found that in
attention-directed conditions the modulator of the attended neurons has a lower variance —
which accounts for attention's lower Fano factors and noise correlations (Cohen & Maunsell
2009; Mitchell, Sundberg & Reynolds 2009); Ecker et al. 2016 trace such modulators to a
fluctuating attentional state.  Here the spatial attention signal A(t, b) ∈ [0, 1] of the
schedule (the FEF / dlPFC location signal that also drives PPC pool b) scales block b's
standard deviation,

    σ_b(t) = σ · (1 − s · A(t, b)),     s = ``spatial_cue.stabilization``,

so r ≈ σ_b² R² / (σ_b² R² + R) falls at the cued location.  Without it (s = 0) attention's extra
input, which does not carry ξ (top-down, direct feedback), and its higher rates, which the
gain multiplies, cancel: similar pairs 0.152 [0.116, 0.187] attend out vs 0.162 [0.119, 0.205]
attend in (``pulvinar-inactivation``, 5 seeds × 20 trials, forward Euler numerics).  With
s = 0.35 (a size chosen here; the papers give the direction): 0.108 [0.079, 0.138] attend in vs
0.159 [0.121, 0.197] attend out, 32 [23, 41] % lower (5 seeds × 12 trials) — less than the
roughly halved correlations of Cohen & Maunsell 2009.  The decorrelation is put in by this
mechanism, not emergent from the circuit, and it follows the task's attentional state, not the
routes that carry attention to the column: silencing the pulvinar and the feedback leaves it.
The two-area circuit has no spatial attention signal and keeps σ.

**Common random numbers.**  The paths are drawn in numpy from the run's seed and laid out by
the schedule: trials that repeat one another — the same ``repeat`` label, one repeat of every
condition of a protocol — share one path, trials without the label each get their own.  So
the conditions of one repeat (attend in / out, pair / single) see the same fluctuation and
their differences (modulation indices, shifts, gains) lose the shared gain's variance, while
a condition's trials, whose covariation is the noise correlation, still differ from each other
by independent paths.  Expectations are unchanged; only the estimators' variance falls (the
classic variance reduction of simulation experiments; an animal's conditions are not paired).
Intervals over seeds, each seed its own set of paths, stay valid.

τ, σ (``[shared_gain]``) and s are run-time values; σ = 0 removes the shared part.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from brian2 import NeuronGroup, Synapses, TimedArray, second
from scipy.signal import lfilter

from bioattn.circuits.bindings import Bindings, timed_array

#: The per-cell variable the gain is written to (a drive ``modulation`` of ``add_drive``).
VARIABLE = "shared_gain"
#: Declaration of :data:`VARIABLE` in the target groups' equations.
DECLARATION = f"{VARIABLE} : 1"


#: Label of a trial's repeat (trials of one repeat share their path).
REPEAT_LABEL = "repeat"


def fluctuation_paths(schedule: Any, seed: int, tau: float, n_blocks: int) -> np.ndarray:
    """The unit-variance OU paths ξ (step, block) of ``schedule`` for ``seed`` (module
    docstring): one path per repeat (or per unlabelled trial), from its own generator
    ``default_rng((seed, kind, key))``, so a path does not depend on the other trials."""
    dt = schedule.resolution
    decay = float(np.exp(-dt / tau))
    spans, longest = [], {}
    for trial in schedule.trials:
        if not trial.epochs:
            continue
        start = int(round(trial.epochs[0].start / dt))
        stop = int(round(trial.epochs[-1].stop / dt))
        repeat = trial.condition.get(REPEAT_LABEL)
        key = (1, int(repeat)) if repeat is not None else (0, trial.index)
        spans.append((key, start, stop))
        longest[key] = max(longest.get(key, 0), stop - start)
    drawn = {}
    for key, steps in longest.items():
        z = np.random.default_rng((int(seed), *key)).standard_normal((steps, n_blocks))
        # ξ[0] = z[0], ξ[k] = a ξ[k-1] + √(1 − a²) z[k]: an AR(1) filter over the steps.
        rest = lfilter([np.sqrt(1.0 - decay**2)], [1.0, -decay], z[1:], axis=0, zi=decay * z[:1])
        drawn[key] = np.concatenate([z[:1], rest[0]])
    paths = np.zeros((schedule.n_steps, n_blocks))
    for key, start, stop in spans:
        paths[start:stop] = drawn[key][: stop - start]
    return paths


def add_shared_gain(
    name: str,
    groups: list[NeuronGroup],
    n_blocks: int,
    bindings: Bindings,
    model: Any,
    schedule: Any,
    attention: tuple[TimedArray, str] | None = None,
) -> list[Any]:
    """The shared gain of ``n_blocks`` blocks, written into :data:`VARIABLE` of every cell of
    ``groups`` (cells of block b: ``loc`` = b, blocks of equal size) at the schedule's step;
    returns the Brian2 objects.  The paths are a seeded run-time value (a TimedArray).

    ``attention``: ``(A, parameter)``, the spatial attention signal A(t, b) ∈ [0, 1] of each
    block and the model parameter s that scales the stabilisation, σ_b(t) = σ (1 − s A(t, b))
    (module docstring); without it σ is the same for every block."""
    dt = schedule.resolution * second

    def paths(model: Any, schedule: Any, seed: int) -> np.ndarray:
        return fluctuation_paths(schedule, seed, float(model.value("shared_gain.tau")), n_blocks)

    xi = timed_array(bindings, f"{name}_shared_xi", schedule, paths, model, seeded=True)
    namespace: dict[str, Any] = {"shared_xi": xi}
    constants = {"sigma_shared": "shared_gain.sigma"}
    sigma = "sigma_shared"
    if attention is not None:
        namespace["attention"], constants["stabilization"] = attention
        sigma += " * (1 - stabilization * attention(t, i))"
    source = NeuronGroup(
        n_blocks,
        "".join(f"{c} : 1 (shared, constant)\n" for c in constants)
        + f"gain = clip(1 + {sigma} * shared_xi(t, i), 0, inf) : 1",
        namespace=namespace,
        name=f"{name}_shared_gain",
        dt=dt,
    )
    for constant, parameter in constants.items():
        bindings.param(source, constant, parameter)
    objects: list[Any] = [source]
    for group in groups:
        write = Synapses(
            source, group, f"{VARIABLE}_post = gain_pre : 1 (summed)",
            namespace=namespace, name=f"{group.name}_shared_gain", dt=dt,
        )  # fmt: skip
        cells = np.arange(len(group))
        write.connect(i=cells // (len(group) // n_blocks), j=cells)
        objects.append(write)
    return objects
