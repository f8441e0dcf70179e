"""Noradrenaline from the locus coeruleus.

LC neurons fire tonically (a few Hz) or in phasic bursts that follow task events (Aston-Jones
& Cohen 2005); cortical NE follows the mean LC rate.  Its receptor classes differ in affinity
(α2A > α1 > β1, Ramos & Arnsten 2007), which gives its two classic dose–responses:

- **PFC, inverted U** (Arnsten 2011; Wang M. et al. 2007): at moderate levels postsynaptic α2A
  receptors on pyramidal spines close HCN channels and strengthen the recurrent network that
  holds delay activity; at high levels α1 (and β1) weaken it.  ``alpha2a.delay_recurrence``
  and ``alpha1.delay_recurrence`` scale the recurrent AMPA and NMDA onto PFC pyramidal cells.
- **Gain** (Servan-Schreiber, Printz & Cohen 1990): NE raises the slope of input–output
  functions.  In the spiking model of Eckhoff, Wong-Lin & Holmes 2009 it scales the synaptic
  conductances onto pyramidal cells (γ_E) and interneurons (γ_I), the interneurons more
  strongly.  ``beta.gain_e`` / ``beta.gain_i`` scale every input term of the E / I cells of
  the sensory, parietal, readout and thalamic areas.
"""

from __future__ import annotations

from dataclasses import dataclass

from bioattn.circuits.neuromodulators.base import (
    TERMS,
    Effect,
    Modulator,
    Receptor,
    ReceptorParams,
    register,
)
from bioattn.config import param

#: Areas whose cells NE's gain acts on.
GAIN_AREAS = ("sensory", "ppc", "readout", "thalamus")
#: The PFC's recurrent excitation (what holds delay activity).
RECURRENCE = ("ampa_rec", "nmda_rec")


@dataclass(frozen=True)
class Alpha2AParams(ReceptorParams):
    delay_recurrence: float = param("float", signed=True)


@dataclass(frozen=True)
class Alpha1Params(ReceptorParams):
    delay_recurrence: float = param("float", signed=True)


@dataclass(frozen=True)
class BetaParams(ReceptorParams):
    gain_e: float = param("float", signed=True)
    gain_i: float = param("float", signed=True)


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
                (Effect("delay_recurrence", ("pfc",), ("E",), RECURRENCE),),
            ),
            Receptor(
                "beta",
                BetaParams,
                (
                    Effect("gain_e", GAIN_AREAS, ("E",), TERMS),
                    Effect("gain_i", GAIN_AREAS, ("I",), TERMS),
                ),
            ),
        ),
    )
)
