"""A modulator's source nucleus: the extracellular concentration it sets at its targets.

The tonic part follows the nucleus's tonic firing (LC-NE: cortical NE levels proportional to
the mean LC rate, Berridge & Abercrombie 1999, as cited by Eckhoff et al. 2009); here it is
the model's ``level``, or a protocol's clamp of it for some epochs (pharmacology, or a dose
that changes trial by trial inside one run).  Phasic release (LC bursts, Aston-Jones & Cohen
2005; VTA bursts, Schultz 1998; cholinergic transients, Parikh et al. 2007) follows task
events: an event of relative size s at t_k releases a quantity that reaches the receptors
with ``tau_release`` and is cleared (reuptake, diffusion, hydrolysis) with ``tau_clearance``,

    dr/dt = Σ_k A_k δ(t − t_k) − r / τ_r,        dc_p/dt = r / τ_r − c_p / τ_c,

so c_p(t) = A τ_c / (τ_c − τ_r) · (e^{−t/τ_c} − e^{−t/τ_r}) after one event, with
A_k = s_k · ``burst`` / peak so that ``burst`` is the peak rise (:func:`.base.kernel_peak`).
The nucleus is one Brian2 cell integrated at the schedule's step by exponential Euler; the
impulses arrive as a TimedArray holding A_k / Δ during the event's step (exponential Euler
advances c_p with the r of the step's start, so c_p follows the kernel one step late: 1 ms
against time constants of ≥ 50 ms).  Concentration,
level, burst and both time constants are run-time values, so a built network re-runs with a
new dose or a new burst without a rebuild.

The tonic level is a TimedArray too (``<name>_tonic``, SI units, mol/m³), read by every area's
milieu (:mod:`.milieu`) beside the phasic c_p, so c(t) = c_tonic(t) + c_p(t).

**Tagged release.**  A release can be tagged to one location's item (``Epoch.tagged_release``):
the areas laid out by location (columns, PPC pools, thalamic channels) then see, at that
location only, a second phasic concentration with the same kernel.  It stands for a burst that
acts on the synapses the item's representation has made eligible — a reward-paired item's
(three-factor learning; Noudoost & Moore 2011 for D1 raising attention at one location) — not
for a spatially targeted release, which VTA projections do not make.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from brian2 import NeuronGroup, TimedArray, second

from bioattn.circuits.bindings import Bindings, timed_array
from bioattn.circuits.neuromodulators.base import Modulator, kernel_peak

_NUCLEUS = """
dr/dt = release(t, i) * mmolar / second - r / tau_release : mmolar
dc_phasic/dt = r / tau_release - c_phasic / tau_clearance : mmolar
c = tonic(t) * mmolar + c_phasic : mmolar
tau_release : second (shared, constant)
tau_clearance : second (shared, constant)
"""


def tonic_values(model: Any, schedule: Any, name: str) -> np.ndarray:
    """c_tonic per schedule step in mol/m³: the protocol's clamps, the model's level elsewhere."""
    clamps = schedule.modulator_arrays(name)[0]
    level = float(model[f"neuromod.{name}"].level)
    return np.where(np.isnan(clamps), level, clamps * float(_NANOMOLAR))


def release_values(model: Any, schedule: Any, name: str) -> np.ndarray:
    """Release impulses per schedule step (mol/m³/s): A_k / Δ at each event's first step;
    (time, 1 + n_locations): the global release, then the releases tagged to each location."""
    sizes = schedule.modulator_arrays(name)[1]
    params = model[f"neuromod.{name}"]
    peak = kernel_peak(float(params.tau_release), float(params.tau_clearance))
    return sizes * float(params.burst) / peak / schedule.resolution


#: 1 nM in SI units (mol/m³); schedules give clamps in nM.
_NANOMOLAR = 1e-6


def add_nucleus(
    modulator: Modulator, model: Any, schedule: Any, bindings: Bindings
) -> tuple[NeuronGroup, TimedArray]:
    """The nucleus of ``modulator`` and the TimedArray of its tonic level.  Cell 0 holds the
    global phasic release (``c`` its concentration at every target); cell 1 + b the release
    tagged to location b's item, which only the areas laid out by location add (module
    docstring)."""
    name = modulator.name
    tonic = timed_array(
        bindings, f"{name}_tonic", schedule, lambda m, s: tonic_values(m, s, name), model
    )
    release = timed_array(
        bindings, f"{name}_release", schedule, lambda m, s: release_values(m, s, name), model
    )
    nucleus = NeuronGroup(
        1 + schedule.n_locations,
        _NUCLEUS,
        method="exponential_euler",
        namespace={"tonic": tonic, "release": release},
        dt=schedule.resolution * second,
        name=f"{name}_nucleus",
    )
    bindings.params(nucleus, modulator.section, ("tau_release", "tau_clearance"))
    return nucleus, tonic
