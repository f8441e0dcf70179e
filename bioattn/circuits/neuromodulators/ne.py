"""Noradrenaline from the locus coeruleus.

LC neurons fire tonically (a few Hz) or in phasic bursts that follow task events (Aston-Jones
& Cohen 2005); cortical NE follows the mean LC rate.  Its receptor classes differ in affinity
(α2A > α1 > β1, Ramos & Arnsten 2007), which gives its two classic dose–responses:

- **PFC, inverted U** (Arnsten 2011; Wang M. et al. 2007): at moderate levels postsynaptic α2A
  receptors on pyramidal spines close HCN channels and strengthen the recurrent network that
  holds delay activity; at high levels α1 (and β1) weaken it.  ``alpha2a.delay_recurrence``
  and ``alpha1.delay_recurrence`` scale the recurrent AMPA and NMDA onto PFC pyramidal cells.
- **Signal-to-noise in sensory, parietal and thalamic cells** (Foote, Freedman & Oliver 1975;
  Waterhouse and colleagues; the "gain" of Servan-Schreiber, Printz & Cohen 1990 and the
  tightened attention of Eldar, Cohen & Niv 2013): through α1 receptors NE potentiates the
  excitation of cortical pyramidal cells by glutamate (Mouradian, Sessler & Waterhouse 1991),
  through β receptors it potentiates their GABA_A inhibition (Waterhouse, Moises & Woodward
  1980), which suppresses weak and spontaneous firing more than strong responses; in the
  thalamus α1 closes a K⁺ leak and depolarises relay and reticular cells (McCormick & Prince
  1988; McCormick & Wang 1991), and NE's sharpening of thalamic responses runs through the
  reticular nucleus (Hirata, Aguilar & Castro-Alamancos 2006).  ``alpha1.excitation`` scales
  every excitatory input (stimulus drive, recurrent AMPA and NMDA, lateral and long-range) of
  the E cells of the sensory, parietal and readout areas; ``beta.inhibition`` their recurrent
  GABA_A; ``alpha1.relay_drive`` and ``alpha1.trn_drive`` the background drive of relay and of
  TRN cells (a depolarisation, as the leak's closure); ``alpha1.trn_input`` the TRN cells'
  inputs from relay, columns and PFC (a gain on what drives the TRN rather than a shift).

  In the multi-item circuit the competition between items runs through the open-loop TRN
  (:mod:`bioattn.circuits.thalamus`): a more depolarised TRN inhibits every relay channel, the
  weaker item's more in proportion, so the stronger item takes more of the readout's drive.
  A boost of every excitatory input does the opposite there (the weak item's channel climbs
  into the saturating part of the pulvinar gate), so the model file calibrates NE's
  competition on the TRN and β routes and leaves ``alpha1.excitation`` and
  ``alpha1.relay_drive`` at 0 (README).
"""

from __future__ import annotations

from dataclasses import dataclass

from bioattn.circuits.neuromodulators.base import (
    Effect,
    Modulator,
    Receptor,
    ReceptorParams,
    register,
)
from bioattn.config import param

#: Cortical areas whose pyramidal cells NE's α1 / β receptors act on.
CORTICAL_AREAS = ("sensory", "ppc", "readout")
#: Every excitatory input of a cortical pyramidal cell (long-range inputs to cortex are
#: AMPA / NMDA only; only the thalamic relay has a long-range GABA_A input, from the TRN).
EXCITATION = ("stimulus", "ampa_rec", "nmda_rec", "lateral", "long_range")
#: The PFC's recurrent excitation (what holds delay activity).
RECURRENCE = ("ampa_rec", "nmda_rec")


@dataclass(frozen=True)
class Alpha2AParams(ReceptorParams):
    delay_recurrence: float = param("float", signed=True)


@dataclass(frozen=True)
class Alpha1Params(ReceptorParams):
    delay_recurrence: float = param("float", signed=True)
    excitation: float = param("float", signed=True)
    relay_drive: float = param("float", signed=True)
    trn_drive: float = param("float", signed=True)
    trn_input: float = param("float", signed=True)


@dataclass(frozen=True)
class BetaParams(ReceptorParams):
    inhibition: float = param("float", signed=True)


NE = register(
    Modulator(
        name="ne",
        transmitter="noradrenaline",
        nucleus="locus coeruleus",
        receptors=(
            Receptor(
                "alpha2a",
                Alpha2AParams,
                (Effect("delay_recurrence", ("pfc",), ("E",), RECURRENCE),),
            ),
            Receptor(
                "alpha1",
                Alpha1Params,
                (
                    Effect("delay_recurrence", ("pfc",), ("E",), RECURRENCE),
                    Effect("excitation", CORTICAL_AREAS, ("E",), EXCITATION),
                    Effect("relay_drive", ("thalamus",), ("E",), ("background",)),
                    Effect("trn_drive", ("thalamus",), ("I",), ("background",)),
                    Effect("trn_input", ("thalamus",), ("I",), ("long_range",)),
                ),
            ),
            Receptor(
                "beta",
                BetaParams,
                (Effect("inhibition", CORTICAL_AREAS, ("E",), ("gaba_rec",)),),
            ),
        ),
    )
)
