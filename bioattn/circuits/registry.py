"""The circuit registry: a circuit is one module that declares its model sections, its builder
and what its structure is, and registers itself here (the model parser learns its sections).

A builder returns a :class:`BuiltCircuit`: the Brian2 objects, the run-time values bound to the
model (:class:`~bioattn.circuits.bindings.Bindings`), the populations whose membrane potentials
are initialised after those values are in place, and a ``collect`` that reads the recordings
back.  The *structure* is everything a build fixes — population sizes, numbers of locations,
the kernels' numbers of Fourier harmonics, switched-on projections, time steps, the schedule's
length — as a hashable key: two models with the same key share one compiled network.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from bioattn import config
from bioattn.errors import BioattnError


@dataclass
class BuiltCircuit:
    """A circuit's Brian2 network before its first run."""

    objects: list[Any]
    bindings: Any  # bioattn.circuits.bindings.Bindings
    populations: list[Any]  # NeuronGroups to initialise (bioattn.circuits.neurons.initialize)
    collect: Callable[[], dict[str, Any]]  # {"spikes", "sizes", "traces"} after a run


@dataclass(frozen=True)
class Circuit:
    """A registered circuit.

    ``build(model, schedule, scale, record)`` assembles the network (``record``: optional
    recordings by name, from ``recordings``); ``structure(model, schedule, scale)`` gives the
    circuit's own structural quantities (kernels' harmonics, switched-on projections) that
    :func:`structure_key` adds to the structural parameters.
    """

    name: str
    description: str
    sections: Mapping[str, type]
    build: Callable[..., BuiltCircuit]
    structure: Callable[[Any, Any, float], tuple]
    #: Parameters that are population sizes (``"pfc.n_exc"``): ``--scale`` multiplies them.
    populations: tuple[str, ...] = ()
    recordings: frozenset[str] = field(default_factory=frozenset)


CIRCUITS: dict[str, Circuit] = {}


def register(circuit: Circuit) -> Circuit:
    CIRCUITS[circuit.name] = circuit
    config.register_circuit_sections(circuit.name, circuit.sections)
    return circuit


def get_circuit(name: str) -> Circuit:
    config.load_plugins()
    if name not in CIRCUITS:
        raise BioattnError(f"unknown circuit {name!r}; expected one of {', '.join(CIRCUITS)}")
    return CIRCUITS[name]


def check_settings(model: config.Model, scale: float) -> None:
    """Refuse settings the circuit cannot honour, with the usual one-line error:

    - a ``scale`` that shrinks a population below the smallest size a ring keeps its shape at
      (:data:`bioattn.circuits.area.MIN_SIZE` cells; smaller populations would silently be
      clamped and change the circuit's balance);
    - ``simulation.dt`` not smaller than the fastest synaptic time constant (an explicit
      integrator would then jump past the decay it integrates), or a schedule / recording step
      below it.
    """
    from bioattn.circuits.area import MIN_SIZE

    circuit = get_circuit(model.circuit)
    if isinstance(scale, bool) or not isinstance(scale, int | float) or not 0 < scale < math.inf:
        raise BioattnError(f"scale {scale!r}: expected a finite number > 0")
    for name in circuit.populations:
        n = model.value(name)
        if n * scale < MIN_SIZE:
            raise BioattnError(
                f"scale {scale!r}: {name} = {n} cells would become {n * scale:.3g}, below the "
                f"minimum of {MIN_SIZE}; expected a scale >= {MIN_SIZE / n:.3g}"
            )
    sim = model["simulation"]
    taus = {
        f"synapses.{f.name}": getattr(model["synapses"], f.name)
        for f in dataclasses.fields(model["synapses"])
        if f.name.startswith("tau_")
    }
    fastest = min(taus, key=lambda k: float(taus[k]))
    if not float(sim.dt) < float(taus[fastest]):
        tau = config.format_quantity(taus[fastest], "ms")
        raise BioattnError(
            f"simulation.dt = {config.format_quantity(sim.dt, 'ms')}: expected a step below the "
            f"fastest synaptic time constant {fastest} = {tau}"
        )
    for name in ("schedule_dt", "record_dt"):
        step = getattr(sim, name)
        ratio = float(step) / float(sim.dt)
        if ratio < 1 - 1e-9 or abs(ratio - round(ratio)) > 1e-6:
            raise BioattnError(
                f"simulation.{name} = {config.format_quantity(step, 'ms')}: expected a whole "
                f"multiple of simulation.dt = {config.format_quantity(sim.dt, 'ms')}"
            )


def structural_parameters(model: config.Model, protocols: bool = False) -> tuple:
    """``(name, value)`` of every structural circuit parameter (:func:`config.is_structural`);
    with ``protocols`` also those of the protocol sections (durations, counts and lists, which
    set the schedule's length)."""
    out = []
    for section, obj in model.sections.items():
        if section.startswith("protocol.") and not protocols:
            continue
        for fld in dataclasses.fields(obj):
            name = f"{section}.{fld.name}"
            if config.is_structural(model, name):
                value = getattr(obj, fld.name)
                out.append((name, value if isinstance(value, tuple | str) else float(value)))
    return tuple(out)


def structure_key(
    model: config.Model, schedule: Any, scale: float, record: Iterable[str] = ()
) -> tuple:
    """Everything a build of ``model``'s circuit fixes (see the module docstring)."""
    circuit = get_circuit(model.circuit)
    return (
        circuit.name,
        structural_parameters(model),
        circuit.structure(model, schedule, scale),
        (schedule.n_steps, schedule.n_locations, schedule.resolution),
        float(scale),
        tuple(sorted(record)),
    )
