"""Neuromodulators as components of a circuit: source nuclei, concentrations, receptors and the
circuit quantities their occupancies scale.

- :mod:`.base` — what a modulator declares (release and receptor sections, effects); no Brian2.
- :mod:`.release` — a nucleus: tonic level and phasic release kernels as a Brian2 group.
- :mod:`.milieu` — how the modulators reach an area: receptor occupancies and the factors the
  cells' input terms are multiplied by.
- One module per modulator: :mod:`.ach` (basal forebrain), :mod:`.ne` (locus coeruleus),
  :mod:`.da` (ventral tegmental area).  A new modulator is one new module that registers
  itself (and one import line here).

A circuit adds :func:`sections` to its own, creates one :class:`Neuromodulation` per build and
attaches each area under its role (``sensory``, ``pfc``, ``ppc``, ``readout``, ``thalamus``).
"""

from bioattn.circuits.neuromodulators import ach, da, ne  # noqa: F401  (they register)
from bioattn.circuits.neuromodulators.base import MODULATORS, get_modulator, sections

__all__ = ["MODULATORS", "get_modulator", "sections"]
