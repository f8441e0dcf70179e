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

    g_i,b(t) = g_ff · (γ_0 + γ · ā_b(t)) · Σ_j W_ff(θ_i − θ_j) s_AMPA,j(t),

with ā_b = r̄_b / r_ref the rate of relay channel b (low-pass filtered with ``tau_gate``: each
relay spike adds 1 to a_gate, which decays with τ_gate, so mean a_gate = r τ_gate) relative to
``pulvinar.gate_rate_ref``, γ_0 the transmission left without pulvinar
(``pulvinar.gate_floor``) and γ ``pulvinar.gate_gain``.  This is a multiplicative gain of
feedforward synapses: the form in which pulvinar regulates the effective connectivity between
cortical areas in the pulvino-cortical model of Jaramillo, Mejias & Wang 2019 and the
transmission gain Saalmann et al. 2012 measured (pulvinar raises V4→TEO synchrony and
transmission for the attended location).
Silencing the pulvinar (``pulvinar.g_muscimol``, a tonic GABA_A conductance like muscimol)
leaves every gate at γ_0.

Ground truth of the mixture weights: per location the total feedforward conductance onto the
readout, g_ff·(γ_0 + γ·ā_b)·N_r·ŵ_0·Σ_j s_j (mode 0 of column b's bank), is recorded at
``simulation.record_dt`` with the readout's mean membrane potential, so the charge
∫ g_b (E_exc − V̄) dt each column delivers is known per trial.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from brian2 import NeuronGroup, SpikeMonitor, StateMonitor, Synapses, siemens

from bioattn.circuits.area import RingArea, add_drive, build_area, build_pools, scaled_size
from bioattn.circuits.network import feedforward_contrast_gain, spike_arrays
from bioattn.circuits.neurons import make_population
from bioattn.circuits.ring import ModeBank, connect_readout, fourier_coefficients
from bioattn.config import Model
from bioattn.errors import BioattnError
from bioattn.schedule import Schedule

#: Column cells' long-range AMPA inputs: PFC top-down, lateral (other columns).
COLUMN_AMPA = ("g_ampa_lr", "g_ampa_lat")
#: Per-location gate held in the column mode bank (one value per block, in every mode row):
#: ``relay`` = r̄_b / r_ref, the gate γ_0 + γ·relay.
_GATE = (
    "relay : 1\ngate_floor : 1 (shared, constant)\ngate_gain : 1 (shared, constant)\n"
    "gate_total = gate_floor + gate_gain * relay : 1"
)
#: Spike monitors: output name → population.
SPIKE_AREAS = ("pfc", "column", "readout", "ppc", "pulvinar", "trn")


@dataclass
class SceneCircuit:
    n_locations: int
    pfc: RingArea
    columns: RingArea
    readout: RingArea
    ppc: RingArea
    relay: NeuronGroup
    trn: NeuronGroup
    ff_unit: float  # S: g_ff per cell at this size (× gate × Σ s gives the column's conductance)
    monitors: dict[str, Any]
    objects: list[Any]

    def collect(self) -> dict[str, Any]:
        """Recorded data as arrays: spikes (t s, i) and sizes per area, and traces."""
        from brian2 import second, volt

        spikes, sizes = spike_arrays(self.monitors, SPIKE_AREAS)
        gate = self.monitors["gate"]
        vbar = self.monitors["readout_v"]
        transmission = float(self.ff_unit) * np.asarray(gate.gate_total).T  # (time, location)
        traces = {
            "ff_conductance": (
                np.asarray(gate.t / second),
                transmission * np.asarray(gate.c_s_ampa).T,
            ),
            "gate": (np.asarray(gate.t / second), np.asarray(gate.gate_total).T),
            "readout_v": (np.asarray(vbar.t / second), np.asarray(vbar.vbar[0] / volt)),
        }
        return {"spikes": spikes, "sizes": sizes, "traces": traces}


def _untuned(
    bank: ModeBank,
    target: NeuronGroup,
    variable: str,
    g: Any,
    name: str,
    *,
    pairs: list[tuple[int, int, float]] | None = None,
    target_blocks: int,
    gating: str = "s_ampa",
    conductance: str = "g_ampa",
) -> Synapses:
    """Σ_j s_j of each source block (mode 0) times ``g`` onto ``variable`` of the target block."""
    syn = connect_readout(
        bank,
        target,
        {variable: (gating, conductance)},
        np.ones(1),
        name,
        pairs=pairs,
        target_blocks=target_blocks,
    )
    setattr(syn, conductance, g)
    return syn


def _trn_to_relay(
    trn_bank: ModeBank, relay: NeuronGroup, pul: Any, ratio: float, n_loc: int
) -> Synapses:
    """TRN sector a → relay channel b: GABA_A, ``g_from_trn`` when a = b (closed loop) and
    ``g_from_trn_other`` otherwise (open loop: TRN inhibition spreads to neighbouring thalamic
    channels, Pinault 2004; Crick's 1984 'searchlight' competition between channels)."""
    g_max = max(float(pul.g_from_trn), float(pul.g_from_trn_other))
    same = float(pul.g_from_trn) / g_max if g_max else 0.0
    other = float(pul.g_from_trn_other) / g_max if g_max else 0.0
    pairs = [(a, b, same if a == b else other) for a in range(n_loc) for b in range(n_loc)]
    syn = connect_readout(
        trn_bank, relay, {"g_gaba_trn": ("s_gaba", "g_gaba")}, np.ones(1), "trn_relay",
        pairs=pairs, target_blocks=n_loc,
    )  # fmt: skip
    syn.g_gaba = g_max * ratio * siemens
    return syn


def build_scene_circuit(model: Model, schedule: Schedule, scale: float = 1.0) -> SceneCircuit:
    """Assemble the multi-item circuit driven by ``schedule`` at population ``scale``."""
    sim = model["simulation"]
    n_loc = model["scene"].n_locations
    if schedule.n_locations != n_loc:
        raise BioattnError(
            f"schedule has {schedule.n_locations} locations, scene.n_locations is {n_loc}"
        )
    tol = sim.kernel_tolerance
    td, ff, lat = model["topdown"], model["feedforward"], model["lateral"]
    pul, trn_p = model["pulvinar"], model["trn"]
    td_coef = fourier_coefficients(td.sigma, None, tol)
    ff_coef = fourier_coefficients(ff.sigma, None, tol)
    lat_coef = fourier_coefficients(lat.sigma, None, tol)
    lateral = float(lat.g_ampa_e) > 0 or float(lat.g_ampa_i) > 0

    pfc = build_area("pfc", model["pfc"], model, scale, extra_harmonics=td_coef.size - 1)
    columns = build_area(
        "column",
        model["columns"],
        model,
        scale,
        extra_harmonics=max(ff_coef.size, lat_coef.size if lateral else 1) - 1,
        n_blocks=n_loc,
        ampa=COLUMN_AMPA,
        bank_extra=_GATE,
        extra="thalamic_gain : 1",
    )
    columns.exc_bank.group.gate_floor = pul.gate_floor
    columns.exc_bank.group.gate_gain = pul.gate_gain
    readout = build_area("readout", model["readout"], model, scale)
    ppc = build_pools("ppc", model["ppc"], model, scale, n_loc)
    n_relay = scaled_size(pul.n_relay, scale)
    n_trn = scaled_size(trn_p.n_cells, scale)
    cells_e, cells_i, syn_p = (
        model["cells.excitatory"],
        model["cells.inhibitory"],
        model["synapses"],
    )
    relay = make_population(
        n_loc * n_relay, True, cells_e, syn_p, "pulvinar", sim.dt,
        ampa=("g_ampa_ppc", "g_ampa_ctx"), gaba=("g_gaba_trn", "g_muscimol"),
        extra="da_gate/dt = -a_gate / tau_gate : 1", extra_reset="a_gate += 1",
    )  # fmt: skip
    relay.namespace["tau_gate"] = pul.tau_gate
    trn = make_population(
        n_loc * n_trn, False, cells_i, syn_p, "trn", sim.dt,
        ampa=("g_ampa_ctx", "g_ampa_pfc", "g_ampa_relay"),
    )  # fmt: skip
    relay.loc = np.repeat(np.arange(n_loc), n_relay)
    trn.loc = np.repeat(np.arange(n_loc), n_trn)
    relay.g_ext_unit, relay.nu_bg = pul.g_ext, pul.nu_bg
    trn.g_ext_unit, trn.nu_bg = trn_p.g_ext, trn_p.nu_bg
    relay.g_muscimol = pul.g_muscimol
    relay_bank = ModeBank(relay, ["s_ampa", "s_nmda"], 0, "pulvinar", n_loc)
    trn_bank = ModeBank(trn, ["s_gaba"], 0, "trn", n_loc)

    # Inputs from the schedule.
    stimulus = model["stimulus"]
    inputs = schedule.timed_arrays({"scene_gain": lambda c: feedforward_contrast_gain(c, stimulus)})
    add_drive(
        columns, stimulus, inputs["scene_gain"], inputs["scene_angle"], sim.schedule_dt, True,
        modulation="thalamic_gain",
    )  # fmt: skip
    add_drive(pfc, model["cue"], inputs["cue_gain"], inputs["cue_angle"], sim.schedule_dt)
    pfc.exc.namespace.update({"erase_signal": inputs["erase"], "g_erase": model["erase"].g_inh})
    pfc.exc.run_regularly(
        "g_inh_ext = g_erase * erase_signal(t)", dt=sim.schedule_dt, name="pfc_erase"
    )
    ppc.exc.namespace.update(
        {"spatial_cue": inputs["spatial_cue"], "nu_spatial": model["spatial_cue"].nu_e}
    )
    ppc.exc.run_regularly(
        "nu_drive = nu_spatial * spatial_cue(t, loc)", dt=sim.schedule_dt, name="ppc_spatial_cue"
    )

    def per_cell(area: Any, group_size: int) -> float:
        """Conductances are per synapse at the model file's size: rescale to this size."""
        return area.n_exc / group_size

    col_ratio = per_cell(model["columns"], len(columns.exc) // n_loc)
    pfc_ratio = per_cell(model["pfc"], len(pfc.exc))
    ppc_ratio = per_cell(model["ppc"], len(ppc.exc) // n_loc)
    relay_ratio = pul.n_relay / n_relay
    same = [(b, b, 1.0) for b in range(n_loc)]
    synapses: list[Synapses] = []

    # PFC → every column (query), scaled by the query gain.
    for pop, group, g in (("e", columns.exc, td.g_ampa_e), ("i", columns.inh, td.g_ampa_i)):
        syn = connect_readout(
            pfc.exc_bank, group, {"g_ampa_lr": ("s_ampa", "g_ampa")}, td_coef, f"topdown_{pop}",
            target_blocks=n_loc, factor="query_gain(t)",
            namespace={"query_gain": inputs["query_gain"]},
        )  # fmt: skip
        syn.g_ampa = g * pfc_ratio
        synapses.append(syn)
    # Columns → readout, gated per column by its pulvinar channel.
    to_readout = [(b, 0, 1.0) for b in range(n_loc)]
    for pop, group, g in (("e", readout.exc, ff.g_ampa_e), ("i", readout.inh, ff.g_ampa_i)):
        syn = connect_readout(
            columns.exc_bank, group, {"g_ampa_lr": ("s_ampa", "g_ampa")}, ff_coef,
            f"feedforward_{pop}", pairs=to_readout, factor="gate_total_pre",
        )  # fmt: skip
        syn.g_ampa = g * col_ratio
        synapses.append(syn)
    # Lateral column ↔ column (self-attention), only when switched on.
    if lateral:
        others = [(a, b, 1.0) for a in range(n_loc) for b in range(n_loc) if a != b]
        for pop, group, g in (("e", columns.exc, lat.g_ampa_e), ("i", columns.inh, lat.g_ampa_i)):
            syn = connect_readout(
                columns.exc_bank, group, {"g_ampa_lat": ("s_ampa", "g_ampa")}, lat_coef,
                f"lateral_{pop}", pairs=others, target_blocks=n_loc,
            )  # fmt: skip
            syn.g_ampa = g * col_ratio
            synapses.append(syn)
    # Column → PPC pool of its location (E) and the shared interneurons.
    c2p = model["column_to_ppc"]
    synapses += [
        _untuned(columns.exc_bank, ppc.exc, "g_ampa_lr", c2p.g_ampa_e * col_ratio, "col_ppc_e",
                 pairs=same, target_blocks=n_loc),
        _untuned(columns.exc_bank, ppc.inh, "g_ampa_lr", c2p.g_ampa_i * col_ratio, "col_ppc_i",
                 pairs=[(b, 0, 1.0) for b in range(n_loc)], target_blocks=1),
        # Pulvinar relay: from PPC and its column, inhibited by TRN.
        _untuned(ppc.exc_bank, relay, "g_ampa_ppc", pul.g_from_ppc * ppc_ratio, "ppc_relay",
                 pairs=same, target_blocks=n_loc),
        _untuned(columns.exc_bank, relay, "g_ampa_ctx", pul.g_from_column * col_ratio,
                 "col_relay", pairs=same, target_blocks=n_loc),
        _trn_to_relay(trn_bank, relay, pul, trn_p.n_cells / n_trn, n_loc),
        # Relay → TRN.
        _untuned(relay_bank, trn, "g_ampa_relay", trn_p.g_from_relay * relay_ratio,
                 "relay_trn", pairs=same, target_blocks=n_loc),
        # TRN from its column and from PFC.
        _untuned(columns.exc_bank, trn, "g_ampa_ctx", trn_p.g_from_column * col_ratio,
                 "col_trn", pairs=same, target_blocks=n_loc),
        _untuned(pfc.exc_bank, trn, "g_ampa_pfc", trn_p.g_from_pfc * pfc_ratio, "pfc_trn",
                 target_blocks=n_loc),
    ]  # fmt: skip
    # The gate: relay channel b's filtered rate / r_ref, held in every mode row of b's bank.
    gate = Synapses(
        relay,
        columns.exc_bank.group,
        "gate_unit : 1 (shared, constant)\nrelay_post = gate_unit * a_gate_pre : 1 (summed)",
        name="pulvinar_gate",
    )
    bank = columns.exc_bank
    cell = np.repeat(np.arange(len(relay)), bank.n_modes)
    gate.connect(
        i=cell, j=(cell // n_relay) * bank.n_modes + np.tile(np.arange(bank.n_modes), len(relay))
    )
    gate.gate_unit = 1.0 / (n_relay * float(pul.tau_gate * pul.gate_rate_ref))
    synapses.append(gate)
    # ... and the same relay rate sets the gain of the stimulus drive of column b's cells.
    for group in (columns.exc, columns.inh):
        afferent = Synapses(
            bank.group, group,
            "k_aff : 1 (shared, constant)\nthalamic_gain_post = 1 + k_aff * relay_pre : 1 (summed)",
            name=f"pulvinar_afferent_{group.name}",
        )  # fmt: skip
        cells = np.arange(len(group))
        afferent.connect(i=(cells // (len(group) // n_loc)) * bank.n_modes, j=cells)
        afferent.k_aff = pul.afferent_gain
        synapses.append(afferent)

    # Readout mean membrane potential (driving force of the delivered charge).
    vbar_group = NeuronGroup(1, "vbar : volt", name="readout_vbar")
    vbar_syn = Synapses(
        readout.exc, vbar_group, "vbar_post = v_pre / n_readout : volt (summed)",
        namespace={"n_readout": len(readout.exc)}, name="readout_vbar_sum",
    )  # fmt: skip
    vbar_syn.connect()
    monitors = {
        "pfc_spikes": SpikeMonitor(pfc.exc, name="pfc_spikes"),
        "column_spikes": SpikeMonitor(columns.exc, name="column_spikes"),
        "readout_spikes": SpikeMonitor(readout.exc, name="readout_spikes"),
        "ppc_spikes": SpikeMonitor(ppc.exc, name="ppc_spikes"),
        "pulvinar_spikes": SpikeMonitor(relay, name="pulvinar_spikes"),
        "trn_spikes": SpikeMonitor(trn, name="trn_spikes"),
        "gate": StateMonitor(
            bank.group, ["gate_total", "c_s_ampa"], record=[bank.row(b) for b in range(n_loc)],
            dt=sim.record_dt, name="gate_monitor",
        ),
        "readout_v": StateMonitor(vbar_group, "vbar", record=0, dt=sim.record_dt, name="vbar_mon"),
    }  # fmt: skip
    ff_unit = float(ff.g_ampa_e * col_ratio) * len(readout.exc) * float(ff_coef[0])
    objects = [
        *pfc.objects, *columns.objects, *readout.objects, *ppc.objects,
        relay, trn, *relay_bank.objects, *trn_bank.objects,
        *synapses, vbar_group, vbar_syn, *monitors.values(),
    ]  # fmt: skip
    return SceneCircuit(n_loc, pfc, columns, readout, ppc, relay, trn, ff_unit, monitors, objects)
