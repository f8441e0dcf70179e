"""How the modulators reach an area: its neuromodulatory milieu.

Every cell (:func:`bioattn.circuits.neurons.make_population`) multiplies its input terms
(:data:`.base.TERMS`) by factors ``f_<term>`` that are *linked* to its area's milieu: a small
Brian2 group with one entry per block (column / location) of the area.  The milieu reads each
modulator's concentration c = c_tonic(t) + c_p(t) (:mod:`.release`; areas laid out by
location add at block b the release tagged to location b), computes the occupancy of
every receptor class that acts on the area and, every schedule step, each factor

    f_<cell>_<term> = Π_r max(0, 1 + e_r · occ_r(c_m)) / (1 + e_r · occ_r⁰)

(computed as 1 + e_r (occ_r − occ_r⁰) / (1 + e_r occ_r⁰), the same number, so that it is exactly 1
when the occupancy is the baseline's, whatever order the code generator evaluates it in)

(:mod:`.base`).  A factor no effect names stays 1.  At the baseline level without drugs every
occupancy equals its baseline value (the same expression on the same numbers), so every factor
is exactly 1 and the circuit is the model file's.

The occupancies are computed once per block and schedule step, not per cell and time step, so
the cells pay one indexed read per factor.  Which terms are scaled, by which receptor, in which
areas, is the structure (fixed by the registered modulators); every affinity, Hill coefficient,
efficacy, block, agonist and level is a run-time value.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from brian2 import NeuronGroup, linked_var, second

from bioattn.circuits.bindings import Bindings, timed_array
from bioattn.circuits.neuromodulators.base import (
    CELLS,
    MODULATORS,
    ROLES,
    TERMS,
    Effect,
    Modulator,
    Receptor,
)
from bioattn.circuits.neuromodulators.release import add_nucleus
from bioattn.errors import BioattnError

#: The receptor constants of the milieu, per receptor (bound to its section's fields).
_RECEPTOR_CONSTANTS = {"ec50": "mmolar", "hill": "1", "block": "1", "agonist": "mmolar"}


def factor_declarations() -> str:
    """The factor variables every cell declares (linked to its area's milieu)."""
    return "\n".join(f"f_{term} : 1 (linked)" for term in TERMS)


def _tag(modulator: Modulator, receptor: Receptor) -> str:
    return f"{modulator.name}_{receptor.name}"


def _effects(role: str) -> list[tuple[Modulator, Receptor, Effect]]:
    return [
        (m, r, e)
        for m in MODULATORS.values()
        for r in m.receptors
        for e in r.effects
        if role in e.roles
    ]


@dataclass
class Neuromodulation:
    """The modulators of one network: their nuclei (built on creation) and the milieus of the
    areas attached with :meth:`attach`; ``objects`` is everything to add to the network."""

    model: Any
    schedule: Any
    bindings: Bindings
    nuclei: dict[str, NeuronGroup] = field(default_factory=dict)
    tonic: dict[str, Any] = field(default_factory=dict)
    blocks: dict[str, Any] = field(default_factory=dict)
    milieus: dict[str, NeuronGroup] = field(default_factory=dict)
    objects: list[Any] = field(default_factory=list)

    def __post_init__(self) -> None:
        modulators, receptors = self.schedule.neuromodulation_names()
        for name in sorted(modulators - set(MODULATORS)):
            raise BioattnError(
                f"schedule: unknown neuromodulator {name!r}; expected one of "
                f"{', '.join(MODULATORS)}"
            )
        known = {f"{m.name}.{r.name}" for m in MODULATORS.values() for r in m.receptors}
        for name in sorted(receptors - known):
            raise BioattnError(
                f"schedule: unknown receptor {name!r} blocked; expected one of "
                f"{', '.join(sorted(known))}"
            )
        for modulator in MODULATORS.values():
            nucleus, tonic = add_nucleus(modulator, self.model, self.schedule, self.bindings)
            self.nuclei[modulator.name], self.tonic[modulator.name] = nucleus, tonic
            self.objects.append(nucleus)

    def _block(self, modulator: Modulator, receptor: Receptor) -> Any:
        """The schedule's blocked fraction of ``receptor`` per step (a TimedArray shared by every
        milieu; pharmacology that a protocol applies to some epochs)."""
        tag = _tag(modulator, receptor)
        if tag not in self.blocks:
            name = f"{modulator.name}.{receptor.name}"
            self.blocks[tag] = timed_array(
                self.bindings, f"{tag}_block", self.schedule,
                lambda m, s: s.receptor_block(name), self.model,
            )  # fmt: skip
        return self.blocks[tag]

    def attach(
        self, area: str, role: str, cells: Mapping[str, tuple[Any, int]], n_blocks: int = 1
    ) -> None:
        """Attach the cell groups of ``area`` to a new milieu of ``n_blocks`` blocks with the
        effects of every modulator on ``role``.  ``cells``: ``{"E": (group, blocks), ...}``, each
        group laid out in ``blocks`` equal blocks (``n_blocks``, or 1: every cell reads the
        milieu's first block, e.g. the interneurons a competitive map's pools share)."""
        if role not in ROLES:
            raise ValueError(f"area {area}: role {role!r} not in {ROLES}")
        effects = _effects(role)
        modulators = {m.name: m for m, _, _ in effects}
        receptors = {_tag(m, r): (m, r) for m, r, _ in effects}
        lines = [f"f_{cell}_{term} : 1" for cell in CELLS for term in TERMS]
        # Areas laid out by location add the release tagged to each location's item.
        tagged = n_blocks > 1 and n_blocks == self.schedule.n_locations
        for name in modulators:
            local = f" + c_tagged_{name}" if tagged else ""
            lines += [
                f"c_phasic_{name} : mmolar (linked)",
                *([f"c_tagged_{name} : mmolar (linked)"] if tagged else []),
                f"c_{name} = {name}_tonic(t) * mmolar + c_phasic_{name}{local} : mmolar",
                f"baseline_{name} : mmolar (shared, constant)",
            ]
        for tag, (m, _) in receptors.items():
            lines += [f"{k}_{tag} : {u} (shared, constant)" for k, u in _RECEPTOR_CONSTANTS.items()]
            x, x0 = f"x_{tag}", f"(baseline_{m.name} / ec50_{tag})"
            n = f"hill_{tag}"
            lines += [
                f"{x} = (c_{m.name} + agonist_{tag}) / ec50_{tag} : 1",
                f"occ_{tag} = (1 - block_{tag}) * (1 - {tag}_block(t)) * {x}**{n} / (1 + {x}**{n})"
                " : 1",
                f"occ0_{tag} = {x0}**{n} / (1 + {x0}**{n}) : 1 (shared)",
            ]
        for m, r, e in effects:
            lines.append(f"e_{_tag(m, r)}_{e.parameter} : 1 (shared, constant)")
        milieu = NeuronGroup(
            n_blocks,
            "\n".join(dict.fromkeys(lines)),
            namespace={
                **{f"{name}_tonic": self.tonic[name] for name in modulators},
                **{f"{tag}_block": self._block(m, r) for tag, (m, r) in receptors.items()},
            },
            dt=self.schedule.resolution * second,
            name=f"{area}_milieu",
        )
        for cell in CELLS:
            for term in TERMS:
                setattr(milieu, f"f_{cell}_{term}", 1.0)
        first = np.zeros(n_blocks, dtype=int)
        for name in modulators:
            phasic = linked_var(self.nuclei[name], "c_phasic", index=first)
            setattr(milieu, f"c_phasic_{name}", phasic)
            if tagged:
                local = linked_var(self.nuclei[name], "c_phasic", index=1 + np.arange(n_blocks))
                setattr(milieu, f"c_tagged_{name}", local)
            self.bindings.param(milieu, f"baseline_{name}", f"neuromod.{name}.baseline")
        for tag, (m, r) in receptors.items():
            for key in _RECEPTOR_CONSTANTS:
                self.bindings.param(milieu, f"{key}_{tag}", f"{m.receptor_section(r)}.{key}")
        for m, r, e in effects:
            self.bindings.param(
                milieu, f"e_{_tag(m, r)}_{e.parameter}", f"{m.receptor_section(r)}.{e.parameter}"
            )
        code = _factor_code(effects)
        if code:
            # Before anything else of the step (the drives read f_stimulus at "start" too).
            milieu.run_regularly(code, dt=self.schedule.resolution * second, when="start",
                                 order=-1, name=f"{area}_milieu_factors")  # fmt: skip
        for cell, (group, group_blocks) in cells.items():
            n = len(group)
            if group_blocks not in (1, n_blocks) or n % group_blocks:
                raise ValueError(f"{group.name}: {n} cells in {group_blocks} blocks of {n_blocks}")
            blocks = np.arange(n) // (n // group_blocks) if group_blocks > 1 else np.zeros(n, int)
            for term in TERMS:
                setattr(group, f"f_{term}", linked_var(milieu, f"f_{cell}_{term}", index=blocks))
        self.milieus[area] = milieu
        self.objects.append(milieu)


def _factor_code(effects: list[tuple[Modulator, Receptor, Effect]]) -> str:
    """The statements that set every factor some effect names (module docstring)."""
    terms: dict[tuple[str, str], list[str]] = {}
    for m, r, e in effects:
        tag, efficacy = _tag(m, r), f"e_{_tag(m, r)}_{e.parameter}"
        # (1 + e occ) / (1 + e occ⁰) written as 1 + e (occ − occ⁰) / (1 + e occ⁰): the same
        # number, but exactly 1 when occ = occ⁰ however the code generator rearranges it.
        ratio = (
            f"clip(1 + {efficacy} * (occ_{tag} - occ0_{tag}) / (1 + {efficacy} * occ0_{tag}), "
            "0, inf)"
        )
        for cell in e.cells:
            for term in e.terms:
                terms.setdefault((cell, term), []).append(ratio)
    return "\n".join(
        f"f_{cell}_{term} = {' * '.join(ratios)}" for (cell, term), ratios in terms.items()
    )
