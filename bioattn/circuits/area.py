"""A cortical feature ring: N_E pyramidal cells on a ring of preferred angles plus N_I interneurons.

Architecture of Compte et al. 2000 as used for both MT-like sensory cortex and PFC by Ardid, Wang
& Compte 2007: E→E AMPA and NMDA with the ring profile W(θ_i − θ_j) (J⁺, σ_EE, mean 1); E→I and
I→E, I→I unstructured (all-to-all, uniform).  Conductances are per synapse at the model file's
population size; with ``scale`` the sizes shrink and the per-synapse conductances grow by the
inverse factor so that every cell's total synaptic input stays the same.

A feature-tuned Poisson drive (a stimulus for sensory cortex, the cue for PFC) raises the
afferent rate of cell i by

    ν_drive,i(t) = c(t) · (ν_untuned + ν_max · exp(κ (cos(θ_i − θ_d(t)) − 1)))

with the schedule's gain c(t) (contrast, or 1 while a cue is on) and direction θ_d(t), both
Brian2 ``TimedArray`` s so a whole protocol runs as one compiled simulation.

Sizes, block counts and the kernels' numbers of harmonics are the structure; every conductance,
rate, kernel weight and drive constant is bound to its model parameter
(:mod:`bioattn.circuits.bindings`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from brian2 import NeuronGroup, Synapses, TimedArray

from bioattn.circuits.bindings import Bindings
from bioattn.circuits.neurons import DEFAULT_AMPA, DEFAULT_GABA, make_population
from bioattn.circuits.ring import (
    UNIFORM,
    Kernel,
    ModeBank,
    connect_readout,
    preferred_angles,
)
from bioattn.config import Model

_DRIVE = (
    "nu_drive = {gain}({at}) * (nu_untuned + nu_tuned * exp(kappa_drive * (cos(theta - "
    "{angle}({at})) - 1)))"
)
#: The drive constants every population declares (bound by :func:`add_drive`).
_DRIVE_CONSTANTS = (
    "nu_tuned : Hz (shared, constant)\nnu_untuned : Hz (shared, constant)\n"
    "kappa_drive : 1 (shared, constant)"
)
#: Each recurrent readout, its conductances and the parameters they are bound to.
_RECURRENT_CONDUCTANCES = {
    "ee": (("g_ampa", "g_ampa_ee"), ("g_nmda", "g_nmda_ee")),
    "ei": (("g_ampa", "g_ampa_ei"), ("g_nmda", "g_nmda_ei")),
    "ie": (("g_gaba", "g_gaba_ie"),),
    "ii": (("g_gaba", "g_gaba_ii"),),
}


def scaled_size(n: int, scale: float) -> int:
    """Population size at ``scale`` (at least 8 cells so the ring keeps its shape)."""
    return max(MIN_SIZE, int(round(n * scale)))


#: The smallest population :func:`scaled_size` gives.
MIN_SIZE = 8


@dataclass
class RingArea:
    """Brian2 objects of one ring area; ``objects`` is everything to add to a Network."""

    name: str
    section: str  # its model section
    n_ref_exc: int  # pyramidal cells at the model file's size (conductances are given for it)
    exc: NeuronGroup
    inh: NeuronGroup
    exc_bank: ModeBank
    inh_bank: ModeBank
    readouts: dict[str, Synapses]
    objects: list[Any]

    def cells(self, n_blocks: int = 1, shared_inh: bool = False) -> dict[str, tuple[Any, int]]:
        """Its E and I groups with their numbers of blocks, as
        :meth:`~bioattn.circuits.neuromodulators.milieu.Neuromodulation.attach` takes them
        (``shared_inh``: one interneuron pool for all blocks, as in competitive pools)."""
        return {"E": (self.exc, n_blocks), "I": (self.inh, 1 if shared_inh else n_blocks)}

    @property
    def angles_exc(self) -> np.ndarray:
        return preferred_angles(len(self.exc))

    @property
    def angles_inh(self) -> np.ndarray:
        return preferred_angles(len(self.inh))


def recurrent_kernel(section: str) -> Kernel:
    """The E→E ring profile of an area (Compte et al. 2000): width σ_EE, peak J⁺."""
    return Kernel(f"{section}.sigma_ee", f"{section}.j_plus")


def build_area(
    name: str,
    section: str,
    model: Model,
    bindings: Bindings,
    scale: float,
    extra_harmonics: int = 0,
    n_blocks: int = 1,
    ampa: tuple[str, ...] = DEFAULT_AMPA,
    gaba: tuple[str, ...] = DEFAULT_GABA,
    bank_extra: str = "",
    extra: str = "",
    nmda: tuple[str, ...] = (),
    lateral: tuple[str, ...] = (),
) -> RingArea:
    """Build one ring area of model section ``section`` (without its drive; see
    :func:`add_drive`).

    ``extra_harmonics``: Fourier modes the excitatory bank must hold for long-range readouts.
    ``n_blocks`` independent copies (cortical columns at different locations) share the groups:
    block b's cells are b·n .. (b+1)·n − 1 with ``loc`` = b; every connection stays inside its
    block.  ``ampa`` / ``nmda``: the cells' long-range input conductances, ``lateral`` those
    from the area's other blocks (columns), ``gaba`` their
    GABA_A task-signal conductances (``fixed_gaba`` of
    :func:`~bioattn.circuits.neurons.make_population`).  ``bank_extra``: further variables of
    the excitatory mode bank (see :class:`~bioattn.circuits.ring.ModeBank`); ``extra``: further
    equations of both populations.
    """
    area = model[section]
    n_e, n_i = scaled_size(area.n_exc, scale), scaled_size(area.n_inh, scale)
    # Per-synapse conductances are given at the file's sizes; keep total input per cell fixed.
    e_factor, i_factor = area.n_exc / n_e, area.n_inh / n_i
    exc, inh = _populations(name, n_e * n_blocks, n_i * n_blocks, bindings, ampa, gaba, extra,
                            model, nmda, lateral)  # fmt: skip
    for group, n in ((exc, n_e), (inh, n_i)):
        group.theta = np.tile(preferred_angles(n), n_blocks)
        group.loc = np.repeat(np.arange(n_blocks), n)
    _bind_background(bindings, exc, inh, section)

    kernel = recurrent_kernel(section)
    harmonics = max(kernel.harmonics(model), extra_harmonics)
    exc_bank = ModeBank(exc, ["s_ampa", "s_nmda"], harmonics, f"{name}_E", n_blocks, bank_extra)
    inh_bank = ModeBank(inh, ["s_gaba"], 0, f"{name}_I", n_blocks)
    readouts = _recurrent(name, exc_bank, inh_bank, exc, inh, kernel, None, None, n_blocks,
                          n_blocks, model, bindings)  # fmt: skip
    _bind_recurrent_conductances(bindings, readouts, section, e_factor, i_factor)
    objects = [exc, inh, *exc_bank.objects, *inh_bank.objects, *readouts.values()]
    return RingArea(name, section, area.n_exc, exc, inh, exc_bank, inh_bank, readouts, objects)


def build_pools(
    name: str,
    section: str,
    model: Model,
    bindings: Bindings,
    scale: float,
    n_pools: int,
    ampa: tuple[str, ...] = DEFAULT_AMPA,
    extra: str = "",
) -> RingArea:
    """A competitive pool network (Wang 2002; Wong & Wang 2006): ``n_pools`` excitatory pools
    (one per location, ``loc`` = pool) sharing one inhibitory population.

    E→E AMPA + NMDA with weight w⁺ inside a pool and w⁻ = (P − w⁺)/(P − 1) between pools, so the
    mean weight stays 1 for any pool count P; E→I, I→E, I→I all-to-all.  Competition between
    locations therefore runs through the shared inhibition, sharpened by w⁺ > 1.  Per-synapse
    conductances are given for ``n_exc`` cells per pool and ``n_pools_ref`` pools and rescaled
    to keep each cell's total input.
    """
    area = model[section]
    n_e, n_i = scaled_size(area.n_exc, scale), scaled_size(area.n_inh, scale)
    e_factor = area.n_exc * area.n_pools_ref / (n_e * n_pools)
    i_factor = area.n_inh / n_i
    exc, inh = _populations(name, n_e * n_pools, n_i, bindings, ampa, DEFAULT_GABA, extra, model)
    exc.loc = np.repeat(np.arange(n_pools), n_e)
    _bind_background(bindings, exc, inh, section)
    exc_bank = ModeBank(exc, ["s_ampa", "s_nmda"], 0, f"{name}_E", n_pools)
    inh_bank = ModeBank(inh, ["s_gaba"], 0, f"{name}_I", 1)
    pairs = [(a, b) for a in range(n_pools) for b in range(n_pools)]

    def pool_weights(model: Any, schedule: Any) -> np.ndarray:
        w_plus = model.value(f"{section}.w_plus")
        w_minus = (n_pools - w_plus) / (n_pools - 1) if n_pools > 1 else 1.0
        return np.array([w_plus if a == b else w_minus for a, b in pairs])

    readouts = _recurrent(name, exc_bank, inh_bank, exc, inh, UNIFORM, pairs, pool_weights,
                          n_pools, 1, model, bindings)  # fmt: skip
    _bind_recurrent_conductances(bindings, readouts, section, e_factor, i_factor)
    objects = [exc, inh, *exc_bank.objects, *inh_bank.objects, *readouts.values()]
    return RingArea(name, section, area.n_exc, exc, inh, exc_bank, inh_bank, readouts, objects)


def _populations(
    name: str,
    n_exc: int,
    n_inh: int,
    bindings: Bindings,
    ampa: tuple,
    gaba: tuple,
    extra: str,
    model: Model,
    nmda: tuple[str, ...] = (),
    lateral: tuple[str, ...] = (),
) -> tuple[NeuronGroup, NeuronGroup]:
    sim = model["simulation"]
    dt, method = sim.dt.to_brian2(), sim.method
    extra = f"{_DRIVE_CONSTANTS}\n{extra}"
    common = {"dt": dt, "method": method, "ampa": ampa, "fixed_gaba": gaba, "extra": extra,
              "nmda": nmda, "lateral": lateral}  # fmt: skip
    exc = make_population(n_exc, True, bindings, f"{name}_E", **common)
    inh = make_population(n_inh, False, bindings, f"{name}_I", **common)
    return exc, inh


def _bind_background(bindings: Bindings, exc: NeuronGroup, inh: NeuronGroup, section: str) -> None:
    """Background Poisson afferents: unitary conductances and rate of the area's section."""
    bindings.param(exc, "g_ext_unit", f"{section}.g_ext_e")
    bindings.param(inh, "g_ext_unit", f"{section}.g_ext_i")
    bindings.param(exc, "nu_bg", f"{section}.nu_bg")
    bindings.param(inh, "nu_bg", f"{section}.nu_bg")


def _recurrent(
    name: str,
    exc_bank: ModeBank,
    inh_bank: ModeBank,
    exc: NeuronGroup,
    inh: NeuronGroup,
    kernel: Kernel,
    ee_pairs: list | None,
    ee_weights: Any,
    exc_blocks: int,
    inh_blocks: int,
    model: Model,
    bindings: Bindings,
) -> dict[str, Synapses]:
    """E→E (ring kernel or pool weights), E→I, I→E, I→I readouts of an area's banks."""
    excitatory = {"g_ampa_rec": ("s_ampa", "g_ampa"), "g_nmda_rec": ("s_nmda", "g_nmda")}
    inhibitory = {"g_gaba_rec": ("s_gaba", "g_gaba")}
    to_inh = None if exc_blocks == inh_blocks else [(b, 0) for b in range(exc_blocks)]
    common = {"model": model, "bindings": bindings}
    return {
        "ee": connect_readout(
            exc_bank, exc, excitatory, kernel, name=f"{name}_EE", pairs=ee_pairs,
            pair_weights=ee_weights, target_blocks=exc_blocks, **common,
        ),
        "ei": connect_readout(
            exc_bank, inh, excitatory, UNIFORM, name=f"{name}_EI", pairs=to_inh,
            target_blocks=inh_blocks, **common,
        ),
        "ie": connect_readout(
            inh_bank, exc, inhibitory, UNIFORM, name=f"{name}_IE", target_blocks=exc_blocks,
            **common,
        ),
        "ii": connect_readout(
            inh_bank, inh, inhibitory, UNIFORM, name=f"{name}_II", target_blocks=inh_blocks,
            **common,
        ),
    }  # fmt: skip


def _bind_recurrent_conductances(
    bindings: Bindings, readouts: dict[str, Synapses], section: str, e_factor: float,
    i_factor: float,
) -> None:  # fmt: skip
    for readout, conductances in _RECURRENT_CONDUCTANCES.items():
        factor = i_factor if readout in ("ie", "ii") else e_factor
        for variable, parameter in conductances:
            bindings.param(readouts[readout], variable, f"{section}.{parameter}", factor)


def add_drive(
    area: RingArea,
    drive: str,
    gain: TimedArray,
    angle: TimedArray,
    bindings: Bindings,
    schedule_dt: Any,
    per_location: bool = False,
    modulation: str | None = None,
) -> None:
    """Add a feature-tuned Poisson drive to both populations of ``area`` (see module docstring).

    ``drive`` names a :class:`~bioattn.config.DriveParams` section (``"stimulus"``, ``"cue"``),
    whose rates and concentration κ are bound to the populations' drive constants.  With
    ``per_location`` the TimedArrays are two-dimensional (time × location) and block b of the
    area (its cells with ``loc`` = b) sees location b's item.  ``modulation``: a per-cell
    variable that multiplies the drive (the pulvinar's gain on afferent input to a column).
    The cells' neuromodulatory factor ``f_stimulus`` multiplies it too
    (:mod:`bioattn.circuits.neuromodulators`).
    """
    gain_name, angle_name = f"{area.name}_drive_gain", f"{area.name}_drive_angle"
    for group, suffix in ((area.exc, "e"), (area.inh, "i")):
        group.namespace.update({gain_name: gain, angle_name: angle})
        bindings.param(group, "nu_tuned", f"{drive}.nu_max_{suffix}")
        bindings.param(group, "nu_untuned", f"{drive}.nu_untuned_{suffix}")
        bindings.param(group, "kappa_drive", f"{drive}.kappa")
        code = _DRIVE.format(gain=gain_name, angle=angle_name, at="t, loc" if per_location else "t")
        group.run_regularly(
            code + " * f_stimulus" + (f" * {modulation}" if modulation else ""),
            dt=schedule_dt,
            name=f"{group.name}_drive",
        )
