"""What a neuromodulator is, declared without Brian2: its source nucleus and release, its
receptor classes, and what each receptor's occupancy does to which circuit quantity.

A modulator (one module per transmitter: :mod:`.ach`, :mod:`.ne`, :mod:`.da`) declares

- a **release** section ``[neuromod.<name>]`` (:class:`ReleaseParams`): the tonic extracellular
  level c_tonic, the level the rest of the model file was calibrated at (``baseline``), and the
  phasic release kernel (peak ``burst``, ``tau_release``, ``tau_clearance``);
- one section per **receptor** class ``[neuromod.<name>.<receptor>]`` (a subclass of
  :class:`ReceptorParams`): affinity EC50 and Hill coefficient n, a blocked fraction
  (antagonist) and a selective agonist, and one *efficacy* per effect;
- the **effects** (:class:`Effect`): which areas (by role: ``sensory``, ``pfc``, ``ppc``,
  ``readout``, ``thalamus``), which cells (``E`` / ``I``) and which of their input terms
  (:data:`TERMS`) each efficacy scales.

Occupancy of a receptor class at concentration c (Hill–Langmuir), with a fraction b of the
receptors blocked by an antagonist and an agonist acting as a concentration a of the
transmitter at this receptor class only:

    occ(c) = (1 − b) · xⁿ / (1 + xⁿ),   x = (c + a) / EC50,

where 1 − b = (1 − b_model)(1 − b_epoch): the model's ``block`` and the fraction a protocol
blocks during some epochs (``Epoch.blocks``, e.g. ``(("ach.muscarinic", 1.0),)``), so a drug
condition can be one trial type of a run.

A term's factor is the product over every receptor class r that acts on it (of any modulator)
of

    F_r = max(0, 1 + e_r · occ_r(c)) / (1 + e_r · occ_r⁰),   occ_r⁰ = occupancy at the baseline,

with e_r the efficacy of r on that term: the relative change of the term from no to full
occupancy (e = −0.7: 70 % weaker at full occupancy than with none; e ≤ −1 silences it).  So
every factor is exactly 1 at the baseline level without drugs — the circuit of the model file —
and a block removes the baseline's share of the effect (a scopolamine-like block of a muscarinic
suppression raises the suppressed synapses by 1 / (1 + e · occ⁰)).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from bioattn.config import param
from bioattn.errors import BioattnError
from bioattn.units import Quantity

#: The input terms of a cell a modulator can scale (see bioattn.circuits.neurons):
#: ``stimulus`` the feature-tuned afferent drive (rate), ``background`` the background afferent
#: rate, ``ampa_rec`` / ``nmda_rec`` / ``gaba_rec`` the area's own recurrent conductances,
#: ``lateral`` the conductances from other columns of the same area (intracortical, horizontal),
#: ``long_range`` every conductance arriving from another area (top-down, feedback,
#: feedforward, cortico-thalamic; within the thalamus, TRN ↔ relay too).
TERMS = ("stimulus", "background", "ampa_rec", "nmda_rec", "gaba_rec", "lateral", "long_range")
#: Area roles a circuit attaches its areas under.
ROLES = ("sensory", "pfc", "ppc", "readout", "thalamus")
#: Cell classes.
CELLS = ("E", "I")
#: Prefix of every neuromodulator section.
SECTION = "neuromod"


@dataclass(frozen=True)
class ReleaseParams:
    """Extracellular concentration at the targets (``[neuromod.<name>]``):

    c(t) = c_tonic(t) + Σ_k A_k · K(t − t_k),

    c_tonic = ``level`` (or a protocol's clamp), K a difference of exponentials with rise
    ``tau_release`` and decay ``tau_clearance`` normalised to a peak of 1, A_k = ``burst`` × the
    event's relative size."""

    level: Quantity = param("nM")
    baseline: Quantity = param("nM")
    burst: Quantity = param("nM")
    tau_release: Quantity = param("ms", positive=True)
    tau_clearance: Quantity = param("ms", positive=True)


@dataclass(frozen=True)
class ReceptorParams:
    """Occupancy of one receptor class (module docstring); subclasses add one efficacy field per
    effect (a signed dimensionless number: relative change from no to full occupancy)."""

    ec50: Quantity = param("nM", positive=True)
    hill: float = param("float", positive=True)
    block: float = param("float", at_most=1.0)
    agonist: Quantity = param("nM")


@dataclass(frozen=True)
class Effect:
    """Efficacy field ``parameter`` of a receptor section scales ``terms`` of the ``cells`` of
    every area with a role in ``roles``."""

    parameter: str
    roles: tuple[str, ...]
    cells: tuple[str, ...]
    terms: tuple[str, ...]

    def __post_init__(self) -> None:
        for values, allowed in ((self.roles, ROLES), (self.cells, CELLS), (self.terms, TERMS)):
            unknown = set(values) - set(allowed)
            if unknown or not values:
                raise ValueError(f"effect {self.parameter}: {sorted(unknown)} not in {allowed}")


@dataclass(frozen=True)
class Receptor:
    """A receptor class: its section type (a :class:`ReceptorParams`) and its effects."""

    name: str
    params: type
    effects: tuple[Effect, ...]

    def __post_init__(self) -> None:
        fields = set(self.params.__dataclass_fields__)
        for effect in self.effects:
            if effect.parameter not in fields:
                raise ValueError(f"receptor {self.name}: no field {effect.parameter!r}")


@dataclass(frozen=True)
class Modulator:
    """A neuromodulator: ``name`` (its section, ``ach``), the transmitter and the nucleus that
    releases it, and its receptor classes."""

    name: str
    transmitter: str
    nucleus: str
    receptors: tuple[Receptor, ...]

    @property
    def section(self) -> str:
        return f"{SECTION}.{self.name}"

    def receptor_section(self, receptor: Receptor) -> str:
        return f"{self.section}.{receptor.name}"

    @property
    def sections(self) -> dict[str, type]:
        """The model sections of this modulator, in file order."""
        out: dict[str, type] = {self.section: ReleaseParams}
        out.update({self.receptor_section(r): r.params for r in self.receptors})
        return out


#: Registered modulators, by name (filled by the modulator modules when imported).
MODULATORS: dict[str, Modulator] = {}


def register(modulator: Modulator) -> Modulator:
    MODULATORS[modulator.name] = modulator
    return modulator


def get_modulator(name: str) -> Modulator:
    if name not in MODULATORS:
        raise BioattnError(
            f"unknown neuromodulator {name!r}; expected one of {', '.join(MODULATORS)}"
        )
    return MODULATORS[name]


def sections() -> dict[str, type]:
    """Every registered modulator's sections (what a circuit with modulators adds to its own)."""
    return {name: cls for m in MODULATORS.values() for name, cls in m.sections.items()}


def occupancy(
    concentration: float, ec50: float, hill: float, block: float = 0.0, agonist: float = 0.0
) -> float:
    """occ(c) of the module docstring (concentrations in one unit, e.g. SI mol/m³)."""
    x = (float(concentration) + float(agonist)) / float(ec50)
    xn = x**hill
    return (1.0 - block) * (xn / (1.0 + xn) if math.isfinite(xn) else 1.0)


def kernel_peak(tau_release: float, tau_clearance: float) -> float:
    """Peak over t of τ_c/(τ_c − τ_r)·(e^{−t/τ_c} − e^{−t/τ_r}), the concentration after a unit
    impulse of release (module docstring of :mod:`.release`); t/τ·e^{−t/τ} → 1/e when the two
    time constants are equal."""
    r, c = float(tau_release), float(tau_clearance)
    if math.isclose(r, c, rel_tol=1e-9):
        return 1.0 / math.e
    t_peak = math.log(c / r) * r * c / (c - r)
    return c / (c - r) * (math.exp(-t_peak / c) - math.exp(-t_peak / r))
