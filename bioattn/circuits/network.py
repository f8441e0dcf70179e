"""The two-area attention circuit of Ardid, Wang & Compte 2007: sensory ring (value) and PFC ring
(query) coupled by feature-tuned long-range projections.

- Sensory area (MT-like): ring with weak recurrence, driven by the stimulus.
- PFC: ring attractor with strong recurrent NMDA; a cue leaves a bump that persists (working
  memory, Compte et al. 2000) and is the attended feature.
- Top-down PFC → sensory E and I cells, AMPA, Gaussian over the feature difference (σ ≈ 72°,
  Ardid 2007): cells tuned near the attended feature get excitation, and through the excited
  interneurons (which inhibit the whole ring) dissimilar cells are suppressed —
  feature-similarity gain (Treue & Martínez-Trujillo 1999).
- Bottom-up sensory → PFC E cells, AMPA, σ ≈ 36°.

Long-range projections reuse the source ring's Fourier mode bank (bioattn.circuits.ring), so the
whole circuit costs O(N·K) per step.

LFP proxy (Mazzoni et al. 2015, the reference weighted sum of *local* currents onto the sensory
pyramidal cells, ``[lfp]``):

    LFP(t) = Σ_i |I_AMPA,i(t − τ)| − α Σ_i |I_GABA,i(t)|,   τ = 6 ms, α = 1.65,

with I_AMPA the afferent (background and stimulus) plus recurrent AMPA current and I_GABA the
recurrent GABA_A current; the long-range top-down AMPA current is left out, so a rhythm
imported from PFC cannot pass for local gamma.  The two sums are summed variables computed
every step and recorded at ``simulation.record_dt``; the delay and weight are applied when the
recording is read (``traces["lfp"]``; the sums are ``lfp_ampa`` and ``lfp_gaba``).

This module is the ``two_area`` circuit (``[meta] circuit = "two_area"``, models/ardid2007.toml):
it declares its sections, its builder and its structure and registers them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from brian2 import NeuronGroup, SpikeMonitor, StateMonitor, Synapses

from bioattn import config
from bioattn.circuits.area import RingArea, add_drive, build_area, recurrent_kernel
from bioattn.circuits.bindings import Bindings, timed_array
from bioattn.circuits.neuromodulators import sections as neuromodulator_sections
from bioattn.circuits.neuromodulators.milieu import Neuromodulation
from bioattn.circuits.registry import BuiltCircuit, Circuit, register
from bioattn.circuits.ring import Kernel, connect_readout
from bioattn.circuits.variability import DECLARATION as SHARED_GAIN
from bioattn.circuits.variability import VARIABLE as SHARED_GAIN_VARIABLE
from bioattn.circuits.variability import add_shared_gain
from bioattn.config import Model, StimulusParams
from bioattn.schedule import Schedule

#: The local currents of the LFP proxy, summed over the sensory pyramidal cells.
_LFP = (
    "lfp_ampa_post = abs((g_ext_pre + g_ampa_rec_pre) * (v_pre - E_exc_pre)) : amp (summed)\n"
    "lfp_gaba_post = abs(g_gaba_rec_pre * (v_pre - E_inh_pre)) : amp (summed)"
)

#: The sections every circuit with the PFC query shares (written once, in models/ardid2007.toml).
PFC_SECTIONS: dict[str, type] = {
    "simulation": config.SimulationParams,
    "cells.excitatory": config.CellParams,
    "cells.inhibitory": config.CellParams,
    "synapses": config.SynapseParams,
    "pfc": config.AreaParams,
    "topdown": config.ProjectionParams,
    "shared_gain": config.SharedGainParams,
    "stimulus": config.StimulusParams,
    "cue": config.DriveParams,
    "erase": config.EraseParams,
    **neuromodulator_sections(),
}
#: The sections of a two-area model file, in file order.
SECTIONS: dict[str, type] = {
    **PFC_SECTIONS,
    "sensory": config.AreaParams,
    "bottomup": config.ProjectionParams,
    "lfp": config.LFPParams,
}
#: PFC pyramidal cells' erase conductance (bound to ``erase.g_inh``).
ERASE_CONSTANT = "g_erase : siemens (shared, constant)"


def feedforward_contrast_gain(contrast: np.ndarray, stimulus: StimulusParams) -> np.ndarray:
    """Gain of the stimulus drive at ``contrast``: the afferent (LGN/V1) contrast response

        g(c) = cⁿ (1 + c50ⁿ) / (cⁿ + c50ⁿ),   g(0) = 0, g(1) = 1,

    a Naka–Rushton function (Albrecht & Hamilton 1982) normalised so ``nu_max`` is the rate at
    full contrast.  Without it the afferent rate, and so the sensory response, would grow
    linearly with contrast and never saturate.
    """
    n, c50 = stimulus.contrast_exponent, stimulus.contrast_c50
    c = np.clip(np.asarray(contrast, dtype=float), 0.0, None) ** n
    return c * (1.0 + c50**n) / (c + c50**n)


def schedule_inputs(
    bindings: Bindings, model: Model, schedule: Schedule, names: tuple[str, ...], contrast: str
) -> dict[str, Any]:
    """The schedule's arrays ``names`` as bound TimedArrays (``schedule_<name>``); the array
    ``contrast`` passes through the afferent contrast response of ``[stimulus]``."""

    def source(name: str) -> Any:
        if name == contrast:
            return lambda m, s: feedforward_contrast_gain(s.arrays()[name], m["stimulus"])
        return lambda m, s: s.arrays()[name]

    return {
        name: timed_array(bindings, f"schedule_{name}", schedule, source(name), model)
        for name in names
    }


def add_erase(pfc: RingArea, erase: Any, bindings: Bindings, schedule_dt: Any) -> None:
    """The erase signal: ``erase.g_inh`` onto the PFC pyramidal cells while it is on."""
    pfc.exc.namespace["erase_signal"] = erase
    bindings.param(pfc.exc, "g_erase", "erase.g_inh")
    pfc.exc.run_regularly("g_inh_ext = g_erase * erase_signal(t)", dt=schedule_dt, name="pfc_erase")


def build_pfc(
    model: Model, bindings: Bindings, scale: float, inputs: dict[str, Any], schedule_dt: Any,
    extra_harmonics: int,
) -> RingArea:  # fmt: skip
    """The PFC ring attractor holding the query (Compte et al. 2000; Ardid et al. 2007), driven
    by the schedule's cue and erase signals (``inputs``), its bank holding ``extra_harmonics``
    for the top-down readouts."""
    pfc = build_area(
        "pfc", "pfc", model, bindings, scale, extra_harmonics=extra_harmonics, extra=ERASE_CONSTANT
    )
    add_drive(pfc, "cue", inputs["cue_gain"], inputs["cue_angle"], bindings, schedule_dt)
    add_erase(pfc, inputs["erase"], bindings, schedule_dt)
    return pfc


@dataclass
class AttentionCircuit:
    sensory: RingArea
    pfc: RingArea
    topdown: dict[str, Synapses]
    bottomup: dict[str, Synapses]
    lfp_group: NeuronGroup
    monitors: dict[str, Any]
    objects: list[Any]

    def collect(self, model: Model) -> dict[str, Any]:
        """Recorded data as arrays: spikes (t s, i) and sizes per area, and traces."""
        from brian2 import amp, second, siemens

        mons = self.monitors
        spikes, sizes = spike_arrays(mons, ("sensory", "pfc"))
        t = np.asarray(mons["lfp"].t / second)
        ampa = np.asarray(mons["lfp"].lfp_ampa[0] / amp)
        gaba = np.asarray(mons["lfp"].lfp_gaba[0] / amp)
        traces = {
            "lfp": (t, lfp_proxy(t, ampa, gaba, model)),
            "lfp_ampa": (t, ampa),
            "lfp_gaba": (t, gaba),
        }
        if "topdown" in mons:
            traces["topdown"] = (
                np.asarray(mons["topdown"].t / second),
                np.asarray(mons["topdown"].g_ampa_lr / siemens).T,
            )
        return {"spikes": spikes, "sizes": sizes, "traces": traces}


def lfp_proxy(t: np.ndarray, ampa: np.ndarray, gaba: np.ndarray, model: Model) -> np.ndarray:
    """Mazzoni et al. 2015's RWS from the two recorded sums (module docstring): the AMPA sum
    τ earlier (the first τ of the recording repeat its first sample) minus α × the GABA sum."""
    p = model["lfp"]
    if t.size < 2:
        return ampa - p.gaba_weight * gaba
    lag = min(int(round(float(p.ampa_delay) / float(t[1] - t[0]))), ampa.size)
    delayed = np.concatenate([np.repeat(ampa[:1], lag), ampa[: ampa.size - lag]])
    return delayed - p.gaba_weight * gaba


def spike_arrays(monitors: dict[str, Any], areas: tuple[str, ...]) -> tuple[dict, dict]:
    """From the ``<area>_spikes`` monitors: spikes (t in s, index) and population size per area."""
    from brian2 import second

    spikes, sizes = {}, {}
    for area in areas:
        mon = monitors[f"{area}_spikes"]
        spikes[area] = (np.asarray(mon.t / second), np.asarray(mon.i[:], dtype=np.int32))
        sizes[area] = len(mon.source)
    return spikes, sizes


def projection_kernel(section: str) -> Kernel:
    """A long-range projection's Gaussian over the feature difference (width ``sigma``)."""
    return Kernel(f"{section}.sigma")


def _projection(
    source: RingArea, target: RingArea, section: str, model: Model, bindings: Bindings
) -> dict[str, Synapses]:
    """Long-range AMPA from ``source``'s pyramidal cells onto both populations of ``target``."""
    n_ref_ratio = source.n_ref_exc / len(source.exc)
    out = {}
    for pop, group in (("e", target.exc), ("i", target.inh)):
        syn = connect_readout(
            source.exc_bank, group, {"g_ampa_lr": ("s_ampa", "g_ampa")},
            projection_kernel(section), model, bindings, f"{section}_{pop}",
        )  # fmt: skip
        bindings.param(syn, "g_ampa", f"{section}.g_ampa_{pop}", n_ref_ratio)
        out[pop] = syn
    return out


def build_circuit(
    model: Model, schedule: Schedule, scale: float = 1.0, record: frozenset[str] = frozenset()
) -> BuiltCircuit:
    """Assemble the full circuit driven by ``schedule`` at population ``scale``.

    ``record``: ``{"topdown"}`` adds a monitor of every sensory pyramidal cell's top-down
    conductance (``g_ampa_lr``) every ``schedule_dt`` — large for long protocols, meant for
    checks.
    """
    sim = model["simulation"]
    schedule_dt = sim.schedule_dt.to_brian2()
    bindings = Bindings()
    td_harmonics = projection_kernel("topdown").harmonics(model)
    bu_harmonics = projection_kernel("bottomup").harmonics(model)
    inputs = schedule_inputs(
        bindings, model, schedule,
        ("stim_gain", "stim_angle", "cue_gain", "cue_angle", "erase"), contrast="stim_gain",
    )  # fmt: skip
    sensory = build_area(
        "sensory", "sensory", model, bindings, scale, extra_harmonics=bu_harmonics,
        extra=SHARED_GAIN,
    )  # fmt: skip
    add_drive(sensory, "stimulus", inputs["stim_gain"], inputs["stim_angle"], bindings,
              schedule_dt, modulation=SHARED_GAIN_VARIABLE)  # fmt: skip
    shared = add_shared_gain("sensory", [sensory.exc, sensory.inh], 1, bindings, model, schedule)
    pfc = build_pfc(model, bindings, scale, inputs, schedule_dt, td_harmonics)
    neuromodulation = Neuromodulation(model, schedule, bindings)
    for area in (sensory, pfc):
        neuromodulation.attach(area.name, area.name, area.cells())

    topdown = _projection(pfc, sensory, "topdown", model, bindings)
    bottomup = _projection(sensory, pfc, "bottomup", model, bindings)

    lfp_group = NeuronGroup(1, "lfp_ampa : amp\nlfp_gaba : amp", name="sensory_lfp")
    lfp_syn = Synapses(sensory.exc, lfp_group, _LFP, name="sensory_lfp_sum")
    lfp_syn.connect()
    record_dt = sim.record_dt.to_brian2()
    monitors = {
        "sensory_spikes": SpikeMonitor(sensory.exc, name="sensory_spikes"),
        "pfc_spikes": SpikeMonitor(pfc.exc, name="pfc_spikes"),
        "lfp": StateMonitor(
            lfp_group, ["lfp_ampa", "lfp_gaba"], record=0, dt=record_dt, name="lfp_monitor"
        ),
    }
    if "topdown" in record:
        monitors["topdown"] = StateMonitor(
            sensory.exc, "g_ampa_lr", record=True, dt=schedule_dt, name="topdown_monitor"
        )
    objects = [
        *sensory.objects,
        *pfc.objects,
        *topdown.values(),
        *bottomup.values(),
        *shared,
        *neuromodulation.objects,
        lfp_group,
        lfp_syn,
        *monitors.values(),
    ]
    circuit = AttentionCircuit(sensory, pfc, topdown, bottomup, lfp_group, monitors, objects)
    populations = [sensory.exc, sensory.inh, pfc.exc, pfc.inh]
    return BuiltCircuit(objects, bindings, populations, circuit.collect)


def structure(model: Model, schedule: Schedule, scale: float) -> tuple:
    """The kernels' numbers of harmonics (the rest of the structure is generic)."""
    kernels = (recurrent_kernel("sensory"), recurrent_kernel("pfc"),
               projection_kernel("topdown"), projection_kernel("bottomup"))  # fmt: skip
    return tuple(kernel.harmonics(model) for kernel in kernels)


register(
    Circuit(
        name="two_area",
        description="sensory ring + PFC ring attractor (Ardid, Wang & Compte 2007)",
        sections=SECTIONS,
        build=build_circuit,
        structure=structure,
        populations=("sensory.n_exc", "sensory.n_inh", "pfc.n_exc", "pfc.n_inh"),
        recordings=frozenset({"topdown"}),
    )
)
