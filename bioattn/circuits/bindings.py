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
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import brian2 as b2
import numpy as np
from brian2.units.fundamentalunits import fail_for_dimension_mismatch

from bioattn.units import Quantity

#: A binding's value as a function of (model, schedule).
Source = Callable[[Any, Any], Any]


@dataclass(frozen=True)
class Binding:
    """One run-time value: ``variable`` of the Brian2 object ``owner`` (a group, synapses or a
    TimedArray, where ``variable`` is ``"values"``) and the function giving its value."""

    owner: Any
    variable: str
    source: Source

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

    def bind(self, owner: Any, variable: str, source: Source) -> None:
        """Bind ``owner.variable`` to ``source(model, schedule)`` (a later binding of the same
        variable replaces the earlier one)."""
        binding = Binding(owner, variable, source)
        self._items[binding.key] = binding

    def param(self, owner: Any, variable: str, name: str, factor: float = 1.0) -> None:
        """Bind ``owner.variable`` to the model parameter ``name`` (``"pfc.g_nmda_ee"``) times a
        structural ``factor`` (e.g. the rescaling of per-synapse conductances with size)."""
        self.bind(owner, variable, lambda model, schedule: model.value(name) * factor)

    def params(self, owner: Any, section: str, names: Iterable[str]) -> None:
        """Bind each variable of ``names`` to the parameter of the same name in ``section``."""
        for name in names:
            self.param(owner, name, f"{section}.{name}")

    def timed(self, array: b2.TimedArray, source: Source) -> None:
        """Bind the values of a TimedArray (same shape at every run)."""
        self.bind(array, "values", source)

    def resolve(self, model: Any, schedule: Any) -> list[tuple[Binding, Any]]:
        """Every binding with its value for ``model`` and ``schedule``, as Brian2 values."""
        return [(b, _brian_value(b, b.source(model, schedule))) for b in self._items.values()]

    def run_args(self, model: Any, schedule: Any) -> dict:
        """``device.run(run_args=...)`` for ``model`` and ``schedule``."""
        out = {}
        for binding, value in self.resolve(model, schedule):
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
    bindings: Bindings, name: str, schedule: Any, source: Source, model: Any
) -> b2.TimedArray:
    """A dimensionless TimedArray at the schedule's resolution whose values are bound to
    ``source(model, schedule)`` (built with the current values)."""
    array = b2.TimedArray(
        np.asarray(source(model, schedule), dtype=float),
        dt=schedule.resolution * b2.second,
        name=name,
    )
    bindings.timed(array, source)
    return array
