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
whole circuit costs O(N·K) per step.  An LFP proxy — the sum of the absolute synaptic currents
onto the sensory pyramidal cells (Mazzoni et al. 2015) — is computed every step as a summed
variable and recorded at ``simulation.record_dt``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from brian2 import NeuronGroup, SpikeMonitor, StateMonitor, Synapses

from bioattn.circuits.area import RingArea, add_drive, build_area
from bioattn.circuits.ring import connect_readout, fourier_coefficients
from bioattn.config import Model, ProjectionParams, StimulusParams
from bioattn.schedule import Schedule

_LFP = "lfp_post = abs(I_ampa_pre) + abs(I_nmda_pre) + abs(I_gaba_pre) : amp (summed)"


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


@dataclass
class AttentionCircuit:
    sensory: RingArea
    pfc: RingArea
    topdown: dict[str, Synapses]
    bottomup: dict[str, Synapses]
    lfp_group: NeuronGroup
    monitors: dict[str, Any]
    objects: list[Any]

    def collect(self) -> dict[str, Any]:
        """Recorded data as arrays: spikes (t s, i) and sizes per area, and traces."""
        from brian2 import amp, second, siemens

        mons = self.monitors
        spikes, sizes = spike_arrays(mons, ("sensory", "pfc"))
        traces = {"lfp": (np.asarray(mons["lfp"].t / second), np.asarray(mons["lfp"].lfp[0] / amp))}
        if "topdown" in mons:
            traces["topdown"] = (
                np.asarray(mons["topdown"].t / second),
                np.asarray(mons["topdown"].g_ampa_lr / siemens).T,
            )
        return {"spikes": spikes, "sizes": sizes, "traces": traces}


def spike_arrays(monitors: dict[str, Any], areas: tuple[str, ...]) -> tuple[dict, dict]:
    """From the ``<area>_spikes`` monitors: spikes (t in s, index) and population size per area."""
    from brian2 import second

    spikes, sizes = {}, {}
    for area in areas:
        mon = monitors[f"{area}_spikes"]
        spikes[area] = (np.asarray(mon.t / second), np.asarray(mon.i[:], dtype=np.int32))
        sizes[area] = len(mon.source)
    return spikes, sizes


def _projection(
    source: RingArea, target: RingArea, params: ProjectionParams, coefficients: Any, name: str
) -> dict[str, Synapses]:
    """Long-range AMPA from ``source``'s pyramidal cells onto both populations of ``target``."""
    n_ref_ratio = source.n_ref_exc / len(source.exc)
    out = {}
    for pop, group, g in (("e", target.exc, params.g_ampa_e), ("i", target.inh, params.g_ampa_i)):
        syn = connect_readout(
            source.exc_bank,
            group,
            {"g_ampa_lr": ("s_ampa", "g_ampa")},
            coefficients,
            f"{name}_{pop}",
        )
        syn.g_ampa = g * n_ref_ratio
        out[pop] = syn
    return out


def build_circuit(
    model: Model, schedule: Schedule, scale: float = 1.0, record_topdown: bool = False
) -> AttentionCircuit:
    """Assemble the full circuit driven by ``schedule`` at population ``scale``.

    ``record_topdown`` adds a monitor of every sensory pyramidal cell's top-down conductance
    (``g_ampa_lr``) every ``schedule_dt`` — large for long protocols, meant for checks.
    """
    sim = model["simulation"]
    tol = sim.kernel_tolerance
    td, bu = model["topdown"], model["bottomup"]
    td_coef = fourier_coefficients(td.sigma, None, tol)
    bu_coef = fourier_coefficients(bu.sigma, None, tol)
    sensory = build_area(
        "sensory", model["sensory"], model, scale, extra_harmonics=bu_coef.size - 1
    )
    pfc = build_area("pfc", model["pfc"], model, scale, extra_harmonics=td_coef.size - 1)

    stimulus = model["stimulus"]
    inputs = schedule.timed_arrays({"stim_gain": lambda c: feedforward_contrast_gain(c, stimulus)})
    add_drive(
        sensory, model["stimulus"], inputs["stim_gain"], inputs["stim_angle"], sim.schedule_dt
    )
    add_drive(pfc, model["cue"], inputs["cue_gain"], inputs["cue_angle"], sim.schedule_dt)
    pfc.exc.namespace.update({"erase_signal": inputs["erase"], "g_erase": model["erase"].g_inh})
    pfc.exc.run_regularly(
        "g_inh_ext = g_erase * erase_signal(t)", dt=sim.schedule_dt, name="pfc_erase"
    )

    topdown = _projection(pfc, sensory, td, td_coef, "topdown")
    bottomup = _projection(sensory, pfc, bu, bu_coef, "bottomup")

    lfp_group = NeuronGroup(1, "lfp : amp", name="sensory_lfp")
    lfp_syn = Synapses(
        sensory.exc, lfp_group, _LFP, namespace=dict(sensory.exc.namespace), name="sensory_lfp_sum"
    )
    lfp_syn.connect()
    monitors = {
        "sensory_spikes": SpikeMonitor(sensory.exc, name="sensory_spikes"),
        "pfc_spikes": SpikeMonitor(pfc.exc, name="pfc_spikes"),
        "lfp": StateMonitor(lfp_group, "lfp", record=0, dt=sim.record_dt, name="lfp_monitor"),
    }
    if record_topdown:
        monitors["topdown"] = StateMonitor(
            sensory.exc, "g_ampa_lr", record=True, dt=sim.schedule_dt, name="topdown_monitor"
        )
    objects = [
        *sensory.objects,
        *pfc.objects,
        *topdown.values(),
        *bottomup.values(),
        lfp_group,
        lfp_syn,
        *monitors.values(),
    ]
    return AttentionCircuit(sensory, pfc, topdown, bottomup, lfp_group, monitors, objects)
