"""Conductance-based leaky integrate-and-fire cells with AMPA, NMDA and GABA_A synapses.

Membrane (Brunel & Wang 2001; Wang 2002; Compte et al. 2000):

    C_m dV/dt = −g_L (V − E_L) − I_AMPA − I_NMDA − I_GABA
    I_AMPA = (g_ext + g_ampa_rec + Σ g_ampa,long-range)(V − E_exc)
    I_NMDA = (g_nmda_rec + Σ g_nmda,long-range)(V − E_exc) / (1 + [Mg²⁺]/3.57 mM · exp(−0.062 V/mV))
                                                                              (Jahr & Stevens)
    I_GABA = (g_gaba_rec + Σ g_gaba,extra)(V − E_inh)

Presynaptic gating variables live in the presynaptic cell (they are the same for all its
targets), incremented at each spike:

    ds_AMPA/dt = −s_AMPA/τ_AMPA                      (+1 per spike)
    dx/dt = −x/τ_NMDA,rise                           (+1 per spike)
    ds_NMDA/dt = −s_NMDA/τ_NMDA,decay + α x (1 − s_NMDA)   (saturating)
    ds_GABA/dt = −s_GABA/τ_GABA                      (+1 per spike, interneurons)

Integration (``simulation.method``, default the explicit midpoint method ``rk2``; time step
``simulation.dt``: 0.05 ms in both model files).  Measured
with ``analysis/dt_convergence.py`` on ``working-memory`` (5 seeds, mean [95 % t interval]):
forward Euler at 0.1 ms gave a delay bump of 6.46 [5.51, 7.40] Hz against 8.42 [7.89, 8.95] Hz
at 0.02 ms; with rk2 (and the mode banks summed before their readouts,
:data:`bioattn.circuits.ring.BANK_ORDER`) the bump is 9.05 [8.63, 9.46] / 8.97 [8.75, 9.19] /
8.90 [8.38, 9.42] Hz at 0.1 / 0.05 / 0.02 ms, for about 5 % more loop time than Euler (the
Fourier-mode synapses, not the cells, dominate a step).  Spikes are registered at the end of
the step in which V crossed V_th (no interpolation, which can manufacture synchrony: Hansel et
al. 1998), and a spike reaches its targets one step later; at 0.1 ms this raises the
delay-period gamma power of the LFP proxy by ≈ 20–30 % (2.20 [1.88, 2.52] × 10⁻¹⁴ against
1.72 [1.53, 1.91] and 1.72 [1.58, 1.86] at 0.05 / 0.02 ms; seeds 6–10: 2.10 [1.98, 2.21]
against 1.78 [1.53, 2.03]), hence the two-area circuit's 0.05 ms.  In the multi-item circuit
the pulvinar route's share of the attention modulation (pulvinar-inactivation) is
0.49 [0.42, 0.56] at 0.1 ms and 0.60 [0.53, 0.68] at 0.05 ms (7 seeds each), hence its
0.05 ms too (README, Numerics).

External afferents (background and feature-tuned drive) are Poisson spike trains with one unitary
conductance g_ext,unit: every step g_ext jumps by g_ext,unit · Poisson((ν_bg + ν_drive)·dt) and
decays with τ_AMPA — exact for a sum of independent Poisson inputs of equal weight.

Every cell and synapse constant is a ``(shared, constant)`` parameter of the group, bound to its
model parameter (:mod:`bioattn.circuits.bindings`), so a built network re-runs with new values.
"""

from __future__ import annotations

from typing import Any

from brian2 import NeuronGroup

from bioattn.circuits.bindings import Bindings
from bioattn.circuits.neuromodulators.milieu import factor_declarations

_MEMBRANE = """
dv/dt = (-g_L * (v - E_L) - I_ampa - I_nmda - I_gaba) / C_m : volt (unless refractory)
I_ampa = (g_ext + f_ampa_rec * g_ampa_rec + {long_ampa}) * (v - E_exc) : amp
I_nmda = ({nmda}) * (v - E_exc) / (1 + mg / mg_scale * exp(-mg_slope * v)) : amp
I_gaba = ({gaba}) * (v - E_inh) : amp
dg_ext/dt = -g_ext / tau_ampa : siemens
g_ampa_rec : siemens
g_nmda_rec : siemens
g_gaba_rec : siemens
{inputs}
nu_drive : Hz
theta : 1 (constant)
loc : integer (constant)
g_ext_unit : siemens (shared, constant)
nu_bg : Hz (shared, constant)
C_m : farad (shared, constant)
g_L : siemens (shared, constant)
E_L : volt (shared, constant)
V_th : volt (shared, constant)
V_reset : volt (shared, constant)
t_ref : second (shared, constant)
tau_ampa : second (shared, constant)
tau_nmda_rise : second (shared, constant)
tau_nmda_decay : second (shared, constant)
alpha_nmda : hertz (shared, constant)
tau_gaba : second (shared, constant)
E_exc : volt (shared, constant)
E_inh : volt (shared, constant)
mg : mmolar (shared, constant)
mg_slope : 1/volt (shared, constant)
mg_scale : mmolar (shared, constant)
"""

#: The cell constants (``[cells.excitatory]`` / ``[cells.inhibitory]``) of every group.
CELL_CONSTANTS = ("C_m", "g_L", "E_L", "V_th", "V_reset", "t_ref")
#: The synapse constants (``[synapses]``) of every group.
SYNAPSE_CONSTANTS = (
    "tau_ampa", "tau_nmda_rise", "tau_nmda_decay", "alpha_nmda", "tau_gaba",
    "E_exc", "E_inh", "mg", "mg_slope", "mg_scale",
)  # fmt: skip

#: Long-range AMPA conductance of the two-area circuit's cells.
DEFAULT_AMPA = ("g_ampa_lr",)
#: GABA_A conductance of a task signal (the PFC's erase input), not a synapse: no modulator
#: scales it.
DEFAULT_GABA = ("g_inh_ext",)

_EXCITATORY_GATING = """
ds_ampa/dt = -s_ampa / tau_ampa : 1
ds_nmda/dt = -s_nmda / tau_nmda_decay + alpha_nmda * x * (1 - s_nmda) : 1
dx/dt = -x / tau_nmda_rise : 1
"""

_INHIBITORY_GATING = """
ds_gaba/dt = -s_gaba / tau_gaba : 1
"""

#: Every step: Poisson afferent spikes at the background plus drive rate (see module docstring);
#: the drive rate carries its own factor (``f_stimulus``, bioattn.circuits.area.add_drive).
EXTERNAL_INPUT = "g_ext += g_ext_unit * poisson((f_background * nu_bg + nu_drive) * dt)"


def make_population(
    n: int,
    excitatory: bool,
    bindings: Bindings,
    name: str,
    *,
    dt: Any,
    method: str,
    ampa: tuple[str, ...] = DEFAULT_AMPA,
    gaba: tuple[str, ...] = (),
    fixed_gaba: tuple[str, ...] = DEFAULT_GABA,
    extra: str = "",
    extra_reset: str = "",
    nmda: tuple[str, ...] = (),
    lateral: tuple[str, ...] = (),
) -> NeuronGroup:
    """``n`` conductance-based LIF cells (pyramidal if ``excitatory``, else interneurons).

    Spikes increment the cell's own presynaptic gating variables in the reset, so no identity
    synapses are needed.  The cell constants are bound to ``[cells.excitatory]`` or
    ``[cells.inhibitory]`` and the synapse constants to ``[synapses]``.  Initial voltages are
    drawn by :func:`initialize` once the run-time values are in place.

    ``ampa``, ``gaba`` and ``nmda`` name the cell's long-range input conductances (each written
    by one projection: Brian2 lets one summed variable target a state variable); they add to
    I_AMPA, I_GABA and (under the same Mg²⁺ block) I_NMDA.  ``fixed_gaba``: GABA_A conductances
    that are not synapses (a task signal, a drug) and that no modulator scales.  ``lateral``: AMPA
    conductances from other columns of the same area (horizontal, intracortical).

    Neuromodulation: every input term is multiplied by a factor linked to the area's milieu
    (bioattn.circuits.neuromodulators.milieu; exactly 1 at the modulators' baseline levels):
    ``f_ampa_rec``, ``f_nmda_rec``, ``f_gaba_rec`` (the area's recurrent conductances),
    ``f_lateral`` (from the area's other columns), ``f_long_range`` (every conductance from
    another area; the thalamus's TRN ↔ relay loop counts as such), ``f_background`` (the
    background afferent
    rate) and ``f_stimulus`` (the drive rate, applied where the drive is set).  The caller links
    them (``Neuromodulation.attach``) before the network runs.  ``loc`` is the cell's block
    (location / channel) in block-structured groups.  ``extra`` / ``extra_reset``: further
    equations and spike-triggered statements.  ``method``: the Brian2 state updater
    (``simulation.method``; see the module docstring).
    """
    long_gaba = [f"f_long_range * ({' + '.join(gaba)})"] if gaba else []
    long_nmda = [f"f_long_range * ({' + '.join(nmda)})"] if nmda else []
    equations = _MEMBRANE.format(
        long_ampa=" + ".join(
            [
                *([f"f_lateral * ({' + '.join(lateral)})"] if lateral else []),
                f"f_long_range * ({' + '.join(ampa) or '0 * siemens'})",
            ]
        ),
        gaba=" + ".join(["f_gaba_rec * g_gaba_rec", *long_gaba, *fixed_gaba]),
        nmda=" + ".join(["f_nmda_rec * g_nmda_rec", *long_nmda]),
        inputs="\n".join(f"{g} : siemens" for g in (*ampa, *lateral, *gaba, *fixed_gaba, *nmda)),
    )
    equations += factor_declarations() + "\n"
    gating = _EXCITATORY_GATING if excitatory else _INHIBITORY_GATING
    on_spike = "s_ampa += 1\nx += 1" if excitatory else "s_gaba += 1"
    group = NeuronGroup(
        n,
        equations + gating + extra,
        threshold="v > V_th",
        reset=f"v = V_reset\n{on_spike}\n{extra_reset}",
        refractory="t_ref",
        method=method,
        namespace={},
        name=name,
        dt=dt,
    )
    bindings.params(group, "cells.excitatory" if excitatory else "cells.inhibitory", CELL_CONSTANTS)
    bindings.params(group, "synapses", SYNAPSE_CONSTANTS)
    group.run_regularly(EXTERNAL_INPUT, dt=dt, name=f"{name}_afferents")
    return group


def initialize(group: NeuronGroup) -> None:
    """Initial membrane potentials uniform between E_L and V_th, from the seeded generator.

    Called after the run-time values are applied (in cpp_standalone: after Brian2's
    ``set_from_command_line``), so E_L and V_th are the run's values."""
    group.v = "E_L + rand() * (V_th - E_L)"
