"""Dopamine from the ventral tegmental area.

DA neurons fire tonically (1–6 Hz) and in phasic bursts (~20 Hz) at salient, reward-predicting
events (Seamans & Durstewitz 2008; Schultz 1998).  In PFC, D1 receptors raise NMDA and GABA_A
conductances and slightly lower AMPA (Durstewitz, Seamans & Sejnowski 2000; Seamans et al.
2001).  In a network this raises persistent activity relative to spontaneous activity and the
resistance of working memory to distractors, with an inverted U as the modulation grows
(Brunel & Wang 2001); in monkey PFC low D1 stimulation sharpens delay tuning and high D1
stimulation suppresses delay firing for all directions (Vijayraghavan et al. 2007).

- ``d1.nmda``: recurrent NMDA onto PFC pyramidal cells and interneurons;
- ``d1.ampa``: recurrent AMPA onto the same;
- ``d1.gaba``: recurrent GABA_A onto PFC pyramidal cells;
- ``d1.afferent``: the feature-tuned afferent drive of PFC E and I cells (the cue, and the
  distractor of ``da-dose``).  D1 lowers non-NMDA EPSPs in PFC (Law-Tho, Hirsch & Crepel 1994;
  Seamans et al. 2001), which in the models of Durstewitz, Kelc & Güntürkün 1999 and
  Durstewitz, Seamans & Sejnowski 2000 diminishes the impact of intervening stimuli and
  stabilises the active representation (the D1 state of high barriers, Durstewitz & Seamans
  2008);
- ``d1.salience``: the inputs of the PPC / LIP pools' pyramidal cells (from their column and
  the spatial cue): a pool whose item comes with phasic DA — a release tagged to its
  location, :mod:`.release` — gains priority.  Noudoost & Moore 2011: D1 manipulation in FEF
  at a location raises attention-like modulation of V4 responses there and target selection
  of that location; DA signals reward-associated salience (Schultz 1998), and reward-paired
  items capture attention (value-driven capture, Anderson, Laurent & Yantis 2011);
- ``d1_low.recurrence``: the recurrent AMPA and NMDA onto PFC pyramidal cells, through the D1
  receptors' low-affinity state (Richfield, Penney & Young 1989: high- and low-affinity D1
  sites).  High D1 stimulation raises cAMP, which opens HCN channels on the spines of PFC
  pyramidal cells and disconnects the recurrent network: the suppression of delay firing at
  high D1 agonist doses in Vijayraghavan et al. 2007 is reversed by the cAMP antagonist
  Rp-cAMPS (Arnsten 2011).  ``d1_low`` is 0 in the model file: a screen moved the cliff
  without a rising limb (README).  In the model file the inverted U of ``da-dose`` comes from
  ``d1.afferent`` (rising limb: the distractor's drive falls with D1 occupancy, while the bump
  is unchanged) and from the recurrent ``d1`` efficacies (falling limb: above ~20 nM the ring
  no longer holds a bump).  A D1 antagonist blocks both: set
  ``d1.block`` and ``d1_low.block`` together (each ``block`` acts on its own class only).
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

PFC = ("pfc",)


@dataclass(frozen=True)
class D1Params(ReceptorParams):
    nmda: float = param("float", signed=True)
    ampa: float = param("float", signed=True)
    gaba: float = param("float", signed=True)
    afferent: float = param("float", signed=True)
    salience: float = param("float", signed=True)


@dataclass(frozen=True)
class D1LowParams(ReceptorParams):
    recurrence: float = param("float", signed=True)


DA = register(
    Modulator(
        name="da",
        transmitter="dopamine",
        nucleus="ventral tegmental area",
        receptors=(
            Receptor(
                "d1",
                D1Params,
                (
                    Effect("nmda", PFC, ("E", "I"), ("nmda_rec",)),
                    Effect("ampa", PFC, ("E", "I"), ("ampa_rec",)),
                    Effect("gaba", PFC, ("E",), ("gaba_rec",)),
                    Effect("afferent", PFC, ("E", "I"), ("stimulus",)),
                    Effect("salience", ("ppc",), ("E",), ("long_range",)),
                ),
            ),
            Receptor(
                "d1_low",
                D1LowParams,
                (Effect("recurrence", PFC, ("E",), ("ampa_rec", "nmda_rec")),),
            ),
        ),
    )
)
