"""Run-time values of a built network: what lets a compiled circuit re-run with new parameters.

Brian2's ``cpp_standalone`` device compiles namespace constants into the binary, but it can
re-run a built binary with new values for the variables that appear in the equations —
``(shared, constant)`` parameters, state variables, synaptic weights — and for the values of
``TimedArray`` s (``device.run(run_args={group.var: value, timed_array: values})``, Brian2 ≥ 2.6,
"Multiple full simulation runs" in its user guide).  A circuit therefore declares every
parameter that does not change the network's structure as such a variable and *binds* it: a
:class:`Bindings` entry pairs the Brian2 variable with a function of the model and the schedule
that gives its value.  The engine (:mod:`bioattn.engine`) evaluates all bindings for each run
and hands them to the binary (or, for the runtime targets, assigns them), so a conductance, a
rate, a time constant, a kernel's weights or a stimulus value changes without a new build.

A value is a :class:`bioattn.units.Quantity`, a Brian2 quantity, a number or a numpy array
(numbers and arrays are taken in the variable's SI unit).

A *seeded* binding's value depends on the run's seed as well (``source(model, schedule,
seed)``): noise that the circuit draws in numpy rather than in the binary, so that it can be
laid out by the schedule (:mod:`bioattn.circuits.variability`).  The engine builds a network
inside :func:`seeded` (the values a runtime build is constructed with) and hands the seed to
:meth:`Bindings.run_args` at every run.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import brian2 as b2
import numpy as np
from brian2.units.fundamentalunits import fail_for_dimension_mismatch

from bioattn.units import Quantity

#: A binding's value as a function of (model, schedule).
Source = Callable[[Any, Any], Any]
#: A seeded binding's value as a function of (model, schedule, seed).
SeededSource = Callable[[Any, Any, int], Any]

#: The seed of the run whose network is being built (see :func:`seeded`).
_BUILD_SEED: contextvars.ContextVar[int] = contextvars.ContextVar("bioattn_build_seed", default=0)


@contextlib.contextmanager
def seeded(seed: int) -> Iterator[None]:
    """Networks built inside the block take their seeded values for ``seed``."""
    token = _BUILD_SEED.set(int(seed))
    try:
        yield
    finally:
        _BUILD_SEED.reset(token)


@dataclass(frozen=True)
class Binding:
    """One run-time value: ``variable`` of the Brian2 object ``owner`` (a group, synapses or a
    TimedArray, where ``variable`` is ``"values"``) and the function giving its value."""

    owner: Any
    variable: str
    source: Source | SeededSource
    seeded: bool = False

    def value(self, model: Any, schedule: Any, seed: int) -> Any:
        if self.seeded:
            return self.source(model, schedule, seed)  # type: ignore[call-arg]
        return self.source(model, schedule)  # type: ignore[call-arg]

    @property
    def key(self) -> str:
        return f"{self.owner.name}.{self.variable}"


class Bindings:
    """The run-time values of one network (see the module docstring)."""

    def __init__(self) -> None:
        self._items: dict[str, Binding] = {}

    def __len__(self) -> int:
        return len(self._items)

    def __iter__(self):
        return iter(self._items.values())

    def bind(
        self, owner: Any, variable: str, source: Source | SeededSource, seeded: bool = False
    ) -> None:
        """Bind ``owner.variable`` to ``source(model, schedule)`` — or, ``seeded``, to
        ``source(model, schedule, seed)`` (a later binding of the same variable replaces the
        earlier one)."""
        binding = Binding(owner, variable, source, seeded)
        self._items[binding.key] = binding

    def param(self, owner: Any, variable: str, name: str, factor: float = 1.0) -> None:
        """Bind ``owner.variable`` to the model parameter ``name`` (``"pfc.g_nmda_ee"``) times a
        structural ``factor`` (e.g. the rescaling of per-synapse conductances with size)."""
        self.bind(owner, variable, lambda model, schedule: model.value(name) * factor)

    def params(self, owner: Any, section: str, names: Iterable[str]) -> None:
        """Bind each variable of ``names`` to the parameter of the same name in ``section``."""
        for name in names:
            self.param(owner, name, f"{section}.{name}")

    def timed(
        self, array: b2.TimedArray, source: Source | SeededSource, seeded: bool = False
    ) -> None:
        """Bind the values of a TimedArray (same shape at every run)."""
        self.bind(array, "values", source, seeded)

    def resolve(
        self, model: Any, schedule: Any, seed: int | None = None
    ) -> list[tuple[Binding, Any]]:
        """Every binding with its value for ``model``, ``schedule`` and ``seed`` (default: the
        seed of the build, :func:`seeded`), as Brian2 values."""
        seed = _BUILD_SEED.get() if seed is None else int(seed)
        return [(b, _brian_value(b, b.value(model, schedule, seed))) for b in self._items.values()]

    def run_args(self, model: Any, schedule: Any, seed: int | None = None) -> dict:
        """``device.run(run_args=...)`` for ``model``, ``schedule`` and ``seed``."""
        out = {}
        for binding, value in self.resolve(model, schedule, seed):
            if isinstance(binding.owner, b2.TimedArray):
                out[binding.owner] = value
            else:
                out[getattr(binding.owner, binding.variable)] = value
        return out

    def assign(self, model: Any, schedule: Any) -> None:
        """Set every bound variable in place (runtime targets; TimedArrays are built with their
        values, see :func:`timed_array`)."""
        for binding, value in self.resolve(model, schedule):
            if not isinstance(binding.owner, b2.TimedArray):
                setattr(binding.owner, binding.variable, value)


def _dimensions(binding: Binding) -> Any:
    if isinstance(binding.owner, b2.TimedArray):
        return b2.get_dimensions(binding.owner.values)
    return binding.owner.variables[binding.variable].dim


def _brian_value(binding: Binding, value: Any) -> Any:
    """``value`` as a Brian2 quantity with the bound variable's dimensions (checked)."""
    dim = _dimensions(binding)
    if isinstance(value, Quantity):
        value = value.to_brian2()
    if isinstance(value, b2.Quantity):
        fail_for_dimension_mismatch(value, b2.Quantity(1, dim=dim), binding.key)
        return value
    array = np.asarray(value, dtype=float)
    return b2.Quantity(array, dim=dim) if not dim.is_dimensionless else array


def timed_array(
    bindings: Bindings,
    name: str,
    schedule: Any,
    source: Source | SeededSource,
    model: Any,
    seeded: bool = False,
) -> b2.TimedArray:
    """A dimensionless TimedArray at the schedule's resolution whose values are bound to
    ``source(model, schedule)`` — or, ``seeded``, to ``source(model, schedule, seed)`` — built
    with the current values (those of the build's seed, :func:`seeded`)."""
    binding = Binding(None, "values", source, seeded)
    array = b2.TimedArray(
        np.asarray(binding.value(model, schedule, _BUILD_SEED.get()), dtype=float),
        dt=schedule.resolution * b2.second,
        name=name,
    )
    bindings.timed(array, source, seeded)
    return array
