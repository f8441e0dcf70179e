"""The PPC / LIP priority map and its direct feedback onto the sensory columns.

- **Pools** (Wang 2002 architecture; Bisley & Goldberg 2010 for LIP as a priority map): one
  excitatory pool per location with shared inhibition
  (:func:`~bioattn.circuits.area.build_pools`).  Pool b sums its column's activity (a
  projection made by the circuit) and, when the location is cued, a spatial signal (FEF /
  dlPFC): an extra Poisson rate ``spatial_cue.nu_e`` × cue(t, b) onto its pyramidal cells,
  scaled like the cells' long-range inputs (``f_long_range``, the neuromodulatory milieu).
- **Direct feedback** (``[feedback]``): pool b onto column b, AMPA and NMDA onto its pyramidal
  cells, AMPA onto its interneurons — the route by which frontal and parietal areas reach V4
  beside the pulvinar (FEF → V4: Moore & Armstrong 2003, Anderson et al. 2011; LIP → V4:
  Ninomiya et al. 2012), NMDA-rich like cortical feedback (Self et al. 2012).
"""

from __future__ import annotations

from typing import Any

from brian2 import Synapses, TimedArray

from bioattn.circuits.area import RingArea, build_pools
from bioattn.circuits.bindings import Bindings
from bioattn.circuits.ring import UNIFORM, ModeBank, connect_readout
from bioattn.config import Model


def build_ppc(
    model: Model, bindings: Bindings, scale: float, n_loc: int, spatial_cue: TimedArray,
    schedule_dt: Any,
) -> RingArea:  # fmt: skip
    """The priority map of ``n_loc`` pools, driven at the cued location by ``spatial_cue``."""
    ppc = build_pools("ppc", "ppc", model, bindings, scale, n_loc,
                      extra="nu_spatial : Hz (shared, constant)")  # fmt: skip
    ppc.exc.namespace["spatial_cue"] = spatial_cue
    bindings.param(ppc.exc, "nu_spatial", "spatial_cue.nu_e")
    ppc.exc.run_regularly(  # a top-down signal: scaled like the long-range inputs
        "nu_drive = nu_spatial * spatial_cue(t, loc) * f_long_range", dt=schedule_dt,
        name="ppc_spatial_cue",
    )  # fmt: skip
    return ppc


def connect_feedback(
    ppc_bank: ModeBank, columns: RingArea, ratio: float, n_loc: int, model: Model,
    bindings: Bindings,
) -> list[Synapses]:  # fmt: skip
    """PPC pool b → column b (module docstring): Σ_j s_j of the pool (untuned) times the
    per-synapse conductances, AMPA + NMDA onto E, AMPA onto I."""
    same = [(b, b) for b in range(n_loc)]
    couplings = {
        "e": {"g_ampa_fb": ("s_ampa", "g_ampa"), "g_nmda_fb": ("s_nmda", "g_nmda")},
        "i": {"g_ampa_fb": ("s_ampa", "g_ampa")},
    }
    synapses = []
    for pop, group in (("e", columns.exc), ("i", columns.inh)):
        syn = connect_readout(
            ppc_bank, group, couplings[pop], UNIFORM, model, bindings, f"feedback_{pop}",
            pairs=same, target_blocks=n_loc,
        )  # fmt: skip
        for _, conductance in couplings[pop].values():
            receptor = conductance.removeprefix("g_")
            bindings.param(syn, conductance, f"feedback.g_{receptor}_{pop}", ratio)
        synapses.append(syn)
    return synapses
