"""Acetylcholine from the basal forebrain (nucleus basalis of Meynert → cortex).

Muscarinic receptors (M1-like) suppress glutamate release at intracortical, recurrent
synapses much more than at afferent ones (Hasselmo & Giocomo 2006; Gil, Connors & Amitai 1997
found the thalamocortical synapses suppressed too, less) and depolarise the somatostatin and
VIP interneurons (Kawaguchi 1997).  Nicotinic receptors (α4β2) on thalamocortical terminals
raise afferent release (Gil et al. 1997; Disney, Aoki & Hawken 2007).  In the spiking attention
model of Deco & Thiele 2011 these actions — less lateral (intracortical) interaction, more
thalamocortical efficacy, more inhibitory drive — are what let ACh raise feedback-mediated
attentional modulation, as scopolamine lowers and ACh raises it in macaque V1 (Herrero et al.
2008).  Here, in the sensory areas:

- muscarinic ``intracortical``: recurrent AMPA and NMDA onto E and I cells;
- muscarinic ``afferent``: the stimulus drive (thalamocortical) of E and I cells;
- muscarinic ``interneurons``: the background drive of the interneurons (their depolarisation
  as extra excitatory drive);
- nicotinic ``afferent``: the stimulus drive of E and I cells.
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

#: The sensory-like areas (the two-area circuit's MT ring, the multi-item circuit's columns).
SENSORY = ("sensory",)


@dataclass(frozen=True)
class MuscarinicParams(ReceptorParams):
    intracortical: float = param("float", signed=True)
    afferent: float = param("float", signed=True)
    interneurons: float = param("float", signed=True)


@dataclass(frozen=True)
class NicotinicParams(ReceptorParams):
    afferent: float = param("float", signed=True)


ACH = register(
    Modulator(
        name="ach",
        transmitter="acetylcholine",
        nucleus="basal forebrain",
        receptors=(
            Receptor(
                "muscarinic",
                MuscarinicParams,
                (
                    Effect("intracortical", SENSORY, ("E", "I"), ("ampa_rec", "nmda_rec")),
                    Effect("afferent", SENSORY, ("E", "I"), ("stimulus",)),
                    Effect("interneurons", SENSORY, ("I",), ("background",)),
                ),
            ),
            Receptor(
                "nicotinic",
                NicotinicParams,
                (Effect("afferent", SENSORY, ("E", "I"), ("stimulus",)),),
            ),
        ),
    )
)
