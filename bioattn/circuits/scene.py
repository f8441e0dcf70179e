"""The multi-item attention circuit: sensory columns (values), a PPC priority map (keys matched
to the query), pulvinar + TRN (the gate) and a readout area (the attention output).

Areas (all conductance-based LIF, :mod:`bioattn.circuits.neurons`):

- **PFC** — the Ardid, Wang & Compte 2007 / Compte et al. 2000 ring attractor; a cue leaves a
  bump at the attended feature θ_q: the *query*.
- **Sensory columns** — one MT/V4-like feature ring per location b (block b of one group), each
  driven by its own item (direction θ_b, contrast c_b).  The PFC bump reaches every column
  through the 72° top-down kernel: feature attention is spatially global (Treue &
  Martínez-Trujillo 1999), so a column whose item matches θ_q responds more and one whose item
  is far from it less (feature-similarity gain).  The top-down conductance is multiplied by the
  schedule's query gain q(t) (the strength of the PFC goal signal, 0 = no top-down).  Optional
  lateral feature-tuned AMPA between columns (self-attention).
- **PPC / LIP priority map** — one excitatory pool per location with shared inhibition (Wang
  2002 architecture; Bisley & Goldberg 2010 for LIP as a priority map).  Pool b sums its column's
  activity (untuned: salience and the feature match the column already carries) and, when the
  location is cued, a spatial signal (FEF / dlPFC).  The pools compete through the shared
  interneurons, so the map encodes *relative* priority.
- **Direct cortical feedback** — pool b projects straight back onto column b (AMPA and NMDA onto
  its pyramidal cells, AMPA onto its interneurons; ``[feedback]``), the route by which frontal
  and parietal areas reach V4 beside the pulvinar (FEF → V4: Moore & Armstrong 2003, Anderson
  et al. 2011; LIP → V4: Ninomiya et al. 2012).  Feedback is NMDA-rich (Self et al. 2012).
  A cued pool fires more, so its column is excited more: a location-specific attention signal
  that survives pulvinar inactivation (Zhou, Schafer & Desimone 2016 found V4 attention effects
  reduced, not abolished).
- **Pulvinar + TRN** — one relay channel and one TRN sector per location.  Relay b is driven by
  PPC pool b and column b (Shipp 2003; Saalmann & Kastner 2011) and inhibited by TRN b, which
  is driven by column b, the relay's collaterals and PFC (Zikopoulos & Barbas 2006: PFC → TRN).
  The relay also sets the gain of column b's afferent (stimulus) drive,
  ν_stim × (1 + κ_aff · r̄_b / r_ref): pulvinar → V1/V4 input amplifies visual responses rather
  than creating them (Purushothaman et al. 2012: inactivation lowers, excitation raises V1
  responses; Zhou, Schafer & Desimone 2016 lose V4 evoked responses and attention effects).
- **Readout** — one feature ring (IT / downstream cortex) that receives every column through a
  feature-preserving kernel.  Its population activity is the attention output.

**The gate.**  Pulvinar sets the effective transmission from column b to the readout:
feedforward conductance onto readout cell i from column b is

    g_i,b(t) = g_ff · (γ_0 + γ · ā_b(t) / (1 + ā_b(t))) · Σ_j W_ff(θ_i − θ_j) s_AMPA,j(t),

with ā_b = r̄_b / r_ref the rate of relay channel b (low-pass filtered with ``tau_gate``: each
relay spike adds 1 to a_gate, which decays with τ_gate, so mean a_gate = r τ_gate) relative to
``pulvinar.gate_rate_ref``, γ_0 the transmission left without pulvinar
(``pulvinar.gate_floor``) and γ ``pulvinar.gate_gain``.  The gain saturates (half of γ at
r_ref): a channel already driven by its item gains little more from attention alone, while
between two items the attended channel takes the TRN competition and the other loses — the
normalisation of Reynolds & Heeger 2009, in which attention changes a single high-contrast
response little and biases a pair strongly (Reynolds, Chelazzi & Desimone 1999); thalamic relay
transfer saturates (sigmoidal relay populations of Jaramillo, Mejias & Wang 2019).  This is a
multiplicative gain of feedforward synapses: the form in which pulvinar regulates the effective
connectivity between cortical areas in the pulvino-cortical model of Jaramillo, Mejias & Wang
2019 and the transmission gain Saalmann et al. 2012 measured (pulvinar raises V4→TEO synchrony
and transmission for the attended location).
Silencing the pulvinar (``pulvinar.g_muscimol``, a tonic GABA_A conductance like muscimol)
leaves every gate at γ_0.

Ground truth of the mixture weights: per location the total feedforward conductance onto the
readout, g_ff·(γ_0 + γ·ā_b/(1 + ā_b))·N_r·ŵ_0·Σ_j s_j (mode 0 of column b's bank), is recorded at
``simulation.record_dt`` with the readout's mean membrane potential, so the charge
∫ g_b (E_exc − V̄) dt each column delivers is known per trial.

This module is the ``multi_item`` circuit (``[meta] circuit = "multi_item"``,
models/multi_item.toml): it declares its sections, builder and structure and registers them.
Every conductance, rate and gate constant is a run-time value bound to its model parameter
(:mod:`bioattn.circuits.bindings`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from brian2 import NeuronGroup, SpikeMonitor, StateMonitor, Synapses

from bioattn import config
from bioattn.circuits.area import RingArea, add_drive, build_area, recurrent_kernel
from bioattn.circuits.bindings import Bindings
from bioattn.circuits.network import (
    PFC_SECTIONS,
    build_pfc,
    projection_kernel,
    schedule_inputs,
    spike_arrays,
)
from bioattn.circuits.neuromodulators.milieu import Neuromodulation
from bioattn.circuits.parietal import build_ppc, connect_feedback
from bioattn.circuits.registry import BuiltCircuit, Circuit, register
from bioattn.circuits.ring import connect_readout, untuned_projection
from bioattn.circuits.thalamus import build_thalamus, connect_gate
from bioattn.circuits.variability import DECLARATION as SHARED_GAIN
from bioattn.circuits.variability import VARIABLE as SHARED_GAIN_VARIABLE
from bioattn.circuits.variability import add_shared_gain
from bioattn.config import Model
from bioattn.errors import BioattnError
from bioattn.schedule import Schedule

#: The sections of a multi-item model file, in file order.
SECTIONS: dict[str, type] = {
    **PFC_SECTIONS,
    "scene": config.SceneParams,
    "columns": config.AreaParams,
    "readout": config.AreaParams,
    "feedforward": config.ProjectionParams,
    "lateral": config.ProjectionParams,
    "ppc": config.PoolParams,
    "column_to_ppc": config.PoolInputParams,
    "feedback": config.FeedbackParams,
    "spatial_cue": config.SpatialCueParams,
    "pulvinar": config.PulvinarParams,
    "trn": config.TRNParams,
}
#: Column cells' long-range AMPA inputs: PFC top-down, PPC feedback.
COLUMN_AMPA = ("g_ampa_lr", "g_ampa_fb")
#: Column cells' lateral AMPA input: the other columns (self-attention, ``[lateral]``).
COLUMN_LATERAL = ("g_ampa_lat",)
#: Column pyramidal cells' long-range NMDA input: PPC feedback.
COLUMN_NMDA = ("g_nmda_fb",)
#: Per-location gate held in the column mode bank (one value per block, in every mode row):
#: ``relay`` = r̄_b / r_ref, the gate γ_0 + γ·relay/(1 + relay).
_GATE = (
    "relay : 1\ngate_floor : 1 (shared, constant)\ngate_gain : 1 (shared, constant)\n"
    "gate_total = gate_floor + gate_gain * relay / (1 + relay) : 1"
)
#: Spike monitors: output name → population.
SPIKE_AREAS = ("pfc", "column", "readout", "ppc", "pulvinar", "trn")
#: The schedule's arrays the circuit reads.
INPUTS = ("scene_gain", "scene_angle", "cue_gain", "cue_angle", "erase", "spatial_cue",
          "query_gain")  # fmt: skip


@dataclass
class SceneCircuit:
    n_locations: int
    pfc: RingArea
    columns: RingArea
    readout: RingArea
    ppc: RingArea
    relay: NeuronGroup
    trn: NeuronGroup
    ff_unit_per_siemens: float  # g_ff per cell = this × feedforward.g_ampa_e × ŵ_0 (in S)
    monitors: dict[str, Any]
    objects: list[Any]

    def ff_unit(self, model: Model) -> float:
        """S: g_ff per cell at this size (× gate × Σ s gives the column's conductance)."""
        w0 = float(projection_kernel("feedforward").coefficients(model)[0])
        return self.ff_unit_per_siemens * float(model.value("feedforward.g_ampa_e")) * w0

    def collect(self, model: Model) -> dict[str, Any]:
        """Recorded data as arrays: spikes (t s, i) and sizes per area, and traces."""
        from brian2 import second, volt

        spikes, sizes = spike_arrays(self.monitors, SPIKE_AREAS)
        gate = self.monitors["gate"]
        vbar = self.monitors["readout_v"]
        transmission = self.ff_unit(model) * np.asarray(gate.gate_total).T  # (time, location)
        traces = {
            "ff_conductance": (
                np.asarray(gate.t / second),
                transmission * np.asarray(gate.c_s_ampa).T,
            ),
            "gate": (np.asarray(gate.t / second), np.asarray(gate.gate_total).T),
            "readout_v": (np.asarray(vbar.t / second), np.asarray(vbar.vbar[0] / volt)),
        }
        return {"spikes": spikes, "sizes": sizes, "traces": traces}


def build_columns(
    model: Model, bindings: Bindings, scale: float, n_loc: int, kernels: dict, lateral: bool
) -> RingArea:
    """The ``n_loc`` sensory columns (MT / V4-like rings, one block each) whose excitatory mode
    bank also holds the pulvinar gate of each column (:data:`_GATE`); its bank keeps the
    harmonics the feedforward (and lateral) readouts need."""
    harmonics = max(kernels["feedforward"].harmonics(model),
                    kernels["lateral"].harmonics(model) if lateral else 0)  # fmt: skip
    columns = build_area(
        "column", "columns", model, bindings, scale, extra_harmonics=harmonics, n_blocks=n_loc,
        ampa=COLUMN_AMPA, bank_extra=_GATE, extra=f"thalamic_gain : 1\n{SHARED_GAIN}",
        nmda=COLUMN_NMDA, lateral=COLUMN_LATERAL,
    )  # fmt: skip
    bindings.param(columns.exc_bank.group, "gate_floor", "pulvinar.gate_floor")
    bindings.param(columns.exc_bank.group, "gate_gain", "pulvinar.gate_gain")
    return columns


def lateral_on(model: Model) -> bool:
    """Whether the lateral column ↔ column projection exists (a conductance above zero)."""
    return float(model.value("lateral.g_ampa_e")) > 0 or float(model.value("lateral.g_ampa_i")) > 0


def build_scene_circuit(
    model: Model, schedule: Schedule, scale: float = 1.0, record: frozenset[str] = frozenset()
) -> BuiltCircuit:
    """Assemble the multi-item circuit driven by ``schedule`` at population ``scale``."""
    sim = model["simulation"]
    n_loc = model["scene"].n_locations
    if schedule.n_locations != n_loc:
        raise BioattnError(
            f"schedule has {schedule.n_locations} locations, scene.n_locations is {n_loc}"
        )
    schedule_dt = sim.schedule_dt.to_brian2()
    bindings = Bindings()
    kernels = {name: projection_kernel(name) for name in ("topdown", "feedforward", "lateral")}
    lateral = lateral_on(model)
    inputs = schedule_inputs(bindings, model, schedule, INPUTS, contrast="scene_gain")

    # Areas.
    td_harmonics = kernels["topdown"].harmonics(model)
    pfc = build_pfc(model, bindings, scale, inputs, schedule_dt, td_harmonics)
    columns = build_columns(model, bindings, scale, n_loc, kernels, lateral)
    add_drive(
        columns, "stimulus", inputs["scene_gain"], inputs["scene_angle"], bindings, schedule_dt,
        True, modulation=f"thalamic_gain * {SHARED_GAIN_VARIABLE}",
    )  # fmt: skip
    shared = add_shared_gain(
        "column", [columns.exc, columns.inh], n_loc, bindings, model, schedule,
        attention=(inputs["spatial_cue"], "spatial_cue.stabilization"),
    )  # fmt: skip
    readout = build_area("readout", "readout", model, bindings, scale)
    ppc = build_ppc(model, bindings, scale, n_loc, inputs["spatial_cue"], schedule_dt)
    thalamus = build_thalamus(model, bindings, scale, n_loc)
    neuromodulation = Neuromodulation(model, schedule, bindings)
    neuromodulation.attach("pfc", "pfc", pfc.cells())
    neuromodulation.attach("column", "sensory", columns.cells(n_loc), n_loc)
    neuromodulation.attach("readout", "readout", readout.cells())
    neuromodulation.attach("ppc", "ppc", ppc.cells(n_loc, shared_inh=True), n_loc)
    neuromodulation.attach("thalamus", "thalamus", thalamus.cells(n_loc), n_loc)

    # Projections.  Conductances are per synapse at the model file's size: rescale to this size.
    bank = columns.exc_bank
    col_ratio = model["columns"].n_exc / (len(columns.exc) // n_loc)
    pfc_ratio = model["pfc"].n_exc / len(pfc.exc)
    ppc_ratio = model["ppc"].n_exc / (len(ppc.exc) // n_loc)
    same = [(b, b) for b in range(n_loc)]
    synapses: list[Synapses] = []

    # PFC → every column (query), scaled by the query gain.
    for pop, group in (("e", columns.exc), ("i", columns.inh)):
        syn = connect_readout(
            pfc.exc_bank, group, {"g_ampa_lr": ("s_ampa", "g_ampa")}, kernels["topdown"], model,
            bindings, f"topdown_{pop}", target_blocks=n_loc, factor="query_gain(t)",
            namespace={"query_gain": inputs["query_gain"]},
        )  # fmt: skip
        bindings.param(syn, "g_ampa", f"topdown.g_ampa_{pop}", pfc_ratio)
        synapses.append(syn)
    # Columns → readout, gated per column by its pulvinar channel.
    to_readout = [(b, 0) for b in range(n_loc)]
    for pop, group in (("e", readout.exc), ("i", readout.inh)):
        syn = connect_readout(
            bank, group, {"g_ampa_lr": ("s_ampa", "g_ampa")}, kernels["feedforward"], model,
            bindings, f"feedforward_{pop}", pairs=to_readout, factor="gate_total_pre",
        )  # fmt: skip
        bindings.param(syn, "g_ampa", f"feedforward.g_ampa_{pop}", col_ratio)
        synapses.append(syn)
    # Lateral column ↔ column (self-attention), only when switched on.
    if lateral:
        others = [(a, b) for a in range(n_loc) for b in range(n_loc) if a != b]
        for pop, group in (("e", columns.exc), ("i", columns.inh)):
            syn = connect_readout(
                bank, group, {"g_ampa_lat": ("s_ampa", "g_ampa")}, kernels["lateral"], model,
                bindings, f"lateral_{pop}", pairs=others, target_blocks=n_loc,
            )  # fmt: skip
            bindings.param(syn, "g_ampa", f"lateral.g_ampa_{pop}", col_ratio)
            synapses.append(syn)
    synapses += connect_feedback(ppc.exc_bank, columns, ppc_ratio, n_loc, model, bindings)
    relay, trn = thalamus.relay, thalamus.trn
    common = {"model": model, "bindings": bindings}
    synapses += [
        # Column → PPC pool of its location (E) and the shared interneurons.
        untuned_projection(bank, ppc.exc, "g_ampa_lr", "column_to_ppc.g_ampa_e", col_ratio,
                           "col_ppc_e", pairs=same, target_blocks=n_loc, **common),
        untuned_projection(bank, ppc.inh, "g_ampa_lr", "column_to_ppc.g_ampa_i", col_ratio,
                           "col_ppc_i", pairs=[(b, 0) for b in range(n_loc)], target_blocks=1,
                           **common),
        # Pulvinar relay: from PPC and its column (TRN → relay is the thalamus's own loop).
        untuned_projection(ppc.exc_bank, relay, "g_ampa_ppc", "pulvinar.g_from_ppc", ppc_ratio,
                           "ppc_relay", pairs=same, target_blocks=n_loc, **common),
        untuned_projection(bank, relay, "g_ampa_ctx", "pulvinar.g_from_column", col_ratio,
                           "col_relay", pairs=same, target_blocks=n_loc, **common),
        # TRN from its column and from PFC.
        untuned_projection(bank, trn, "g_ampa_ctx", "trn.g_from_column", col_ratio, "col_trn",
                           pairs=same, target_blocks=n_loc, **common),
        untuned_projection(pfc.exc_bank, trn, "g_ampa_pfc", "trn.g_from_pfc", pfc_ratio,
                           "pfc_trn", target_blocks=n_loc, **common),
        *thalamus.synapses,
        # The gate on column → readout and the afferent gain of each column.
        *connect_gate(thalamus, bank, [columns.exc, columns.inh], n_loc, bindings),
    ]  # fmt: skip

    # Readout mean membrane potential (driving force of the delivered charge).
    vbar_group = NeuronGroup(1, "vbar : volt", name="readout_vbar")
    vbar_syn = Synapses(
        readout.exc, vbar_group, "vbar_post = v_pre / n_readout : volt (summed)",
        namespace={"n_readout": len(readout.exc)}, name="readout_vbar_sum",
    )  # fmt: skip
    vbar_syn.connect()
    record_dt = sim.record_dt.to_brian2()
    monitors = {
        "pfc_spikes": SpikeMonitor(pfc.exc, name="pfc_spikes"),
        "column_spikes": SpikeMonitor(columns.exc, name="column_spikes"),
        "readout_spikes": SpikeMonitor(readout.exc, name="readout_spikes"),
        "ppc_spikes": SpikeMonitor(ppc.exc, name="ppc_spikes"),
        "pulvinar_spikes": SpikeMonitor(relay, name="pulvinar_spikes"),
        "trn_spikes": SpikeMonitor(trn, name="trn_spikes"),
        "gate": StateMonitor(
            bank.group, ["gate_total", "c_s_ampa"], record=[bank.row(b) for b in range(n_loc)],
            dt=record_dt, name="gate_monitor",
        ),
        "readout_v": StateMonitor(vbar_group, "vbar", record=0, dt=record_dt, name="vbar_mon"),
    }  # fmt: skip
    objects = [
        *pfc.objects, *columns.objects, *readout.objects, *ppc.objects, *thalamus.objects,
        *synapses, *shared, *neuromodulation.objects, vbar_group, vbar_syn, *monitors.values(),
    ]  # fmt: skip
    circuit = SceneCircuit(n_loc, pfc, columns, readout, ppc, relay, trn,
                           col_ratio * len(readout.exc), monitors, objects)  # fmt: skip
    populations = [pfc.exc, pfc.inh, columns.exc, columns.inh, readout.exc, readout.inh,
                   ppc.exc, ppc.inh, relay, trn]  # fmt: skip
    return BuiltCircuit(objects, bindings, populations, circuit.collect)


def structure(model: Model, schedule: Schedule, scale: float) -> tuple:
    """The kernels' numbers of harmonics and whether the lateral projection exists."""
    lateral = lateral_on(model)
    kernels = [recurrent_kernel(s) for s in ("pfc", "columns", "readout")]
    kernels += [projection_kernel("topdown"), projection_kernel("feedforward")]
    if lateral:
        kernels.append(projection_kernel("lateral"))
    return (lateral, *(kernel.harmonics(model) for kernel in kernels))


register(
    Circuit(
        name="multi_item",
        description="L sensory columns + PPC priority map + pulvinar/TRN gate + readout, "
        "queried by a PFC ring attractor",
        sections=SECTIONS,
        build=build_scene_circuit,
        structure=structure,
        populations=(
            "pfc.n_exc",
            "pfc.n_inh",
            "columns.n_exc",
            "columns.n_inh",
            "readout.n_exc",
            "readout.n_inh",
            "ppc.n_exc",
            "ppc.n_inh",
            "pulvinar.n_relay",
            "trn.n_cells",
        ),
    )
)
