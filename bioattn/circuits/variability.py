"""Shared trial-to-trial variability: a slow fluctuating gain of the afferent (stimulus) drive,
common to every cell of a sensory area or column.

Spike-count correlations of nearby, similarly tuned V4 / MT cells are ≈ 0.05–0.2 and come from
slow shared fluctuations (< 5 Hz, Mitchell, Sundberg & Reynolds 2009); much of that shared
variance is a multiplicative gain of the stimulus drive that wanders within and across trials
(Goris, Movshon & Simoncelli 2014; Rabinowitz et al. 2015 for V4 populations, whose shared
gain fluctuations attention reduces; Ecker et al. 2016).  Each block b (a column, or the whole
sensory ring) gets one Ornstein–Uhlenbeck process

    dξ_b/dt = −ξ_b / τ + √(2/τ) η_b(t)        (unit variance, correlation time τ)

and its cells' stimulus drive is multiplied by ``shared_gain`` = max(0, 1 + σ ξ_b) (ξ starts
at 0, its mean, and is stationary after a few τ: the first inter-trial interval).  Integrated
by Euler–Maruyama at the drive's schedule step, from the run's seeded generator.  Only the
stimulus drive fluctuates (background afferents do not), so cells driven by the same item
share the most variance: correlations fall with the difference of the pair's preferences.
Attention adds input that does not carry ξ (top-down, direct feedback) and recruits inhibition,
so the fluctuating part is a smaller share of an attended cell's input.

τ and σ (``[shared_gain]``) are run-time values; σ = 0 removes the shared part.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from brian2 import NeuronGroup, Synapses

from bioattn.circuits.bindings import Bindings

#: The per-cell variable the gain is written to (a drive ``modulation`` of ``add_drive``).
VARIABLE = "shared_gain"
#: Declaration of :data:`VARIABLE` in the target groups' equations.
DECLARATION = f"{VARIABLE} : 1"


def add_shared_gain(
    name: str, groups: list[NeuronGroup], n_blocks: int, bindings: Bindings, dt: Any
) -> list[Any]:
    """One OU process per block, written into :data:`VARIABLE` of every cell of ``groups``
    (cells of block b: ``loc`` = b, blocks of equal size); returns the Brian2 objects.
    ``dt``: the step of the process and of the write (the drive's schedule step)."""
    source = NeuronGroup(
        n_blocks,
        "dzeta/dt = -zeta / tau_shared + sqrt(2 / tau_shared) * xi : 1\n"
        "tau_shared : second (shared, constant)\n"
        "sigma_shared : 1 (shared, constant)\n"
        "gain = clip(1 + sigma_shared * zeta, 0, inf) : 1",
        method="euler",
        namespace={},
        name=f"{name}_shared_gain",
        dt=dt,
    )
    bindings.param(source, "tau_shared", "shared_gain.tau")
    bindings.param(source, "sigma_shared", "shared_gain.sigma")
    objects: list[Any] = [source]
    for group in groups:
        write = Synapses(
            source, group, f"{VARIABLE}_post = gain_pre : 1 (summed)",
            name=f"{group.name}_shared_gain", dt=dt,
        )  # fmt: skip
        cells = np.arange(len(group))
        write.connect(i=cells // (len(group) // n_blocks), j=cells)
        objects.append(write)
    return objects
