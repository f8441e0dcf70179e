"""Pulvinar relay channels and thalamic reticular (TRN) sectors, one of each per location, and the
two ways the relay acts on its sensory column (see :mod:`bioattn.circuits.scene`).

- **Relay** cells (pulvinar, excitatory) carry a low-pass trace of their own firing,
  dā/dt = −a/τ_gate, +1 per spike, so mean a = r·τ_gate; a muscimol-like tonic GABA_A conductance
  (``pulvinar.g_muscimol``) silences them.
- **TRN** sector a inhibits relay channel b with ``g_from_trn`` when a = b (closed loop) and
  ``g_from_trn_other`` otherwise (open loop: TRN inhibition spreads to neighbouring thalamic
  channels, Pinault 2004; Crick's 1984 'searchlight' competition between channels); the relay
  excites its TRN sector (``trn.g_from_relay``).
- **The gate**: relay channel b's filtered rate relative to ``pulvinar.gate_rate_ref``,
  ā_b = r̄_b / r_ref, is written into every mode row of column b's mode bank, where the
  feedforward readout reads the gate γ_0 + γ ā_b / (1 + ā_b).
- **The afferent gain**: the same ā_b multiplies column b's stimulus drive by 1 + κ_aff ā_b
  (Purushothaman et al. 2012).

Inputs from cortex (PPC, the columns, PFC) are projections between areas, made by the circuit.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from brian2 import NeuronGroup, Synapses

from bioattn.circuits.area import scaled_size
from bioattn.circuits.bindings import Bindings
from bioattn.circuits.neurons import make_population
from bioattn.circuits.ring import UNIFORM, ModeBank, connect_readout, untuned_projection
from bioattn.config import Model


@dataclass
class Thalamus:
    """The relay and TRN groups of ``n_loc`` channels (``n_relay`` / ``n_trn`` cells each)."""

    relay: NeuronGroup
    trn: NeuronGroup
    relay_bank: ModeBank
    trn_bank: ModeBank
    n_relay: int
    n_trn: int
    synapses: list[Synapses]  # TRN → relay, relay → TRN

    @property
    def objects(self) -> list[Any]:
        return [self.relay, self.trn, *self.relay_bank.objects, *self.trn_bank.objects]

    def cells(self, n_loc: int) -> dict[str, tuple[Any, int]]:
        """Relay (as E) and TRN (as I) with their blocks, for the neuromodulatory milieu."""
        return {"E": (self.relay, n_loc), "I": (self.trn, n_loc)}


def build_thalamus(model: Model, bindings: Bindings, scale: float, n_loc: int) -> Thalamus:
    """Relay and TRN cells of ``n_loc`` channels with their mode banks and the loop between them."""
    sim, pul, trn_p = model["simulation"], model["pulvinar"], model["trn"]
    dt = sim.dt.to_brian2()
    n_relay, n_trn = scaled_size(pul.n_relay, scale), scaled_size(trn_p.n_cells, scale)
    relay = make_population(
        n_loc * n_relay, True, bindings, "pulvinar", dt=dt, method=sim.method,
        ampa=("g_ampa_ppc", "g_ampa_ctx"), gaba=("g_gaba_trn",), fixed_gaba=("g_muscimol",),
        extra="da_gate/dt = -a_gate / tau_gate : 1\ntau_gate : second (shared, constant)",
        extra_reset="a_gate += 1",
    )  # fmt: skip
    trn = make_population(
        n_loc * n_trn, False, bindings, "trn", dt=dt, method=sim.method,
        ampa=("g_ampa_ctx", "g_ampa_pfc", "g_ampa_relay"),
    )  # fmt: skip
    relay.loc = np.repeat(np.arange(n_loc), n_relay)
    trn.loc = np.repeat(np.arange(n_loc), n_trn)
    bindings.param(relay, "tau_gate", "pulvinar.tau_gate")
    bindings.param(relay, "g_ext_unit", "pulvinar.g_ext")
    bindings.param(relay, "nu_bg", "pulvinar.nu_bg")
    bindings.param(relay, "g_muscimol", "pulvinar.g_muscimol")
    bindings.param(trn, "g_ext_unit", "trn.g_ext")
    bindings.param(trn, "nu_bg", "trn.nu_bg")
    relay_bank = ModeBank(relay, ["s_ampa", "s_nmda"], 0, "pulvinar", n_loc)
    trn_bank = ModeBank(trn, ["s_gaba"], 0, "trn", n_loc)
    synapses = [
        _trn_to_relay(trn_bank, relay, trn_p.n_cells / n_trn, n_loc, model, bindings),
        untuned_projection(
            relay_bank, trn, "g_ampa_relay", "trn.g_from_relay", pul.n_relay / n_relay,
            "relay_trn", model, bindings, pairs=[(b, b) for b in range(n_loc)],
            target_blocks=n_loc,
        ),
    ]  # fmt: skip
    return Thalamus(relay, trn, relay_bank, trn_bank, n_relay, n_trn, synapses)


def _trn_to_relay(
    trn_bank: ModeBank, relay: NeuronGroup, ratio: float, n_loc: int, model: Model,
    bindings: Bindings,
) -> Synapses:  # fmt: skip
    """TRN sector a → relay channel b: GABA_A, ``g_from_trn`` when a = b, ``g_from_trn_other``
    otherwise (module docstring)."""
    pairs = [(a, b) for a in range(n_loc) for b in range(n_loc)]

    def strengths(m: Model) -> tuple[float, float, float]:
        same = float(m.value("pulvinar.g_from_trn"))
        other = float(m.value("pulvinar.g_from_trn_other"))
        g_max = max(same, other)
        return g_max, (same / g_max if g_max else 0.0), (other / g_max if g_max else 0.0)

    def pair_weights(m: Model, schedule: Any) -> np.ndarray:
        _, same, other = strengths(m)
        return np.array([same if a == b else other for a, b in pairs])

    syn = connect_readout(
        trn_bank, relay, {"g_gaba_trn": ("s_gaba", "g_gaba")}, UNIFORM, model, bindings,
        "trn_relay", pairs=pairs, pair_weights=pair_weights, target_blocks=n_loc,
    )  # fmt: skip
    bindings.bind(syn, "g_gaba", lambda m, s: strengths(m)[0] * ratio)
    return syn


def connect_gate(
    thalamus: Thalamus, column_bank: ModeBank, columns: list[NeuronGroup], n_loc: int,
    bindings: Bindings,
) -> list[Synapses]:  # fmt: skip
    """The gate (ā_b into every mode row of column b's bank) and the afferent gain of column b's
    cells (``thalamic_gain`` = 1 + κ_aff ā_b) (module docstring)."""
    relay, n_relay = thalamus.relay, thalamus.n_relay
    gate = Synapses(
        relay,
        column_bank.group,
        "gate_unit : 1 (shared, constant)\nrelay_post = gate_unit * a_gate_pre : 1 (summed)",
        name="pulvinar_gate",
    )
    n_modes = column_bank.n_modes
    cell = np.repeat(np.arange(len(relay)), n_modes)
    gate.connect(i=cell, j=(cell // n_relay) * n_modes + np.tile(np.arange(n_modes), len(relay)))
    bindings.bind(
        gate, "gate_unit",
        lambda m, s: 1.0 / (n_relay * float(m.value("pulvinar.tau_gate")
                                             * m.value("pulvinar.gate_rate_ref"))),
    )  # fmt: skip
    synapses = [gate]
    for group in columns:
        afferent = Synapses(
            column_bank.group, group,
            "k_aff : 1 (shared, constant)\nthalamic_gain_post = 1 + k_aff * relay_pre : 1 (summed)",
            name=f"pulvinar_afferent_{group.name}",
        )  # fmt: skip
        cells = np.arange(len(group))
        afferent.connect(i=(cells // (len(group) // n_loc)) * n_modes, j=cells)
        bindings.param(afferent, "k_aff", "pulvinar.afferent_gain")
        synapses.append(afferent)
    return synapses
