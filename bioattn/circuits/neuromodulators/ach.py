"""Acetylcholine from the basal forebrain (nucleus basalis of Meynert → cortex).

Muscarinic receptors (M1-like) suppress glutamate release at intracortical, recurrent and
horizontal synapses much more than at afferent ones (Hasselmo & Giocomo 2006; Gil, Connors &
Amitai 1997 found the thalamocortical synapses suppressed too) and depolarise somatostatin and
VIP interneurons (Kawaguchi 1997).  Nicotinic receptors (α4β2) sit on thalamocortical terminals
onto excitatory, not inhibitory, cells of V1 layer 4c and raise afferent release (Gil et al.
1997; Disney, Aoki & Hawken 2007).  In the spiking model of Deco & Thiele 2011, ACh helps
feedback-mediated attentional modulation mostly by reducing intracortical (lateral)
interactions and to some extent by increasing inhibitory drive — as scopolamine lowers and low
doses of ACh raise attentional modulation in macaque V1, while mecamylamine has no systematic
effect (Herrero et al. 2008).  Here, in the sensory areas:

- muscarinic ``intracortical``: recurrent AMPA and NMDA and the lateral (column ↔ column) AMPA
  onto E and I cells;
- muscarinic ``feedback``: every long-range input (PFC top-down, PPC feedback) onto E and I
  cells — Hasselmo's framework suppresses feedback fibres too, Deco & Thiele leave them
  unscaled; a knob, 0 by default;
- muscarinic ``afferent``: the stimulus (thalamocortical) drive of E and I cells;
- muscarinic ``interneurons``: the background drive of the interneurons.  The model's
  interneurons are one (fast-spiking-like) class; the somatostatin / VIP cells that muscarinic
  receptors depolarise are not modelled apart, so this is their net effect on inhibition;
- nicotinic ``afferent``: the stimulus drive of E cells.

Not modelled: the muscarinic reduction of spike-frequency adaptation (M-current; Deco &
Thiele's first action; these cells have no adaptation current) and nicotinic desensitisation.
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
    feedback: float = param("float", signed=True)
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
                    Effect(
                        "intracortical", SENSORY, ("E", "I"), ("ampa_rec", "nmda_rec", "lateral")
                    ),  # fmt: skip
                    Effect("feedback", SENSORY, ("E", "I"), ("long_range",)),
                    Effect("afferent", SENSORY, ("E", "I"), ("stimulus",)),
                    Effect("interneurons", SENSORY, ("I",), ("background",)),
                ),
            ),
            Receptor(
                "nicotinic",
                NicotinicParams,
                (Effect("afferent", SENSORY, ("E",), ("stimulus",)),),
            ),
        ),
    )
)
