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
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from brian2 import NeuronGroup, Synapses, TimedArray

from bioattn.circuits.neurons import DEFAULT_AMPA, DEFAULT_GABA, make_population
from bioattn.circuits.ring import ModeBank, connect_readout, fourier_coefficients, preferred_angles
from bioattn.config import AreaParams, Model, PoolParams

_DRIVE = (
    "nu_drive = {gain}({at}) * (nu_untuned + nu_tuned * exp(kappa * (cos(theta - {angle}({at}))"
    " - 1)))"
)


def scaled_size(n: int, scale: float) -> int:
    """Population size at ``scale`` (at least 8 cells so the ring keeps its shape)."""
    return max(8, int(round(n * scale)))


@dataclass
class RingArea:
    """Brian2 objects of one ring area; ``objects`` is everything to add to a Network."""

    name: str
    n_ref_exc: int  # pyramidal cells at the model file's size (conductances are given for it)
    exc: NeuronGroup
    inh: NeuronGroup
    exc_bank: ModeBank
    inh_bank: ModeBank
    readouts: dict[str, Synapses]
    objects: list[Any]

    @property
    def angles_exc(self) -> np.ndarray:
        return preferred_angles(len(self.exc))

    @property
    def angles_inh(self) -> np.ndarray:
        return preferred_angles(len(self.inh))


def build_area(
    name: str,
    area: AreaParams,
    model: Model,
    scale: float,
    extra_harmonics: int = 0,
    n_blocks: int = 1,
    ampa: tuple[str, ...] = DEFAULT_AMPA,
    gaba: tuple[str, ...] = DEFAULT_GABA,
    bank_extra: str = "",
    extra: str = "",
) -> RingArea:
    """Build one ring area (without its drive; see :func:`add_drive`).

    ``extra_harmonics``: Fourier modes the excitatory bank must hold for long-range readouts.
    ``n_blocks`` independent copies (cortical columns at different locations) share the groups:
    block b's cells are b·n .. (b+1)·n − 1 with ``loc`` = b; every connection stays inside its
    block.  ``ampa`` / ``gaba``: the cells' long-range input conductances (see
    :func:`~bioattn.circuits.neurons.make_population`).  ``bank_extra``: further variables of
    the excitatory mode bank (see :class:`~bioattn.circuits.ring.ModeBank`); ``extra``: further
    equations of both populations.
    """
    sim = model["simulation"]
    n_e, n_i = scaled_size(area.n_exc, scale), scaled_size(area.n_inh, scale)
    # Per-synapse conductances are given at the file's sizes; keep total input per cell fixed.
    e_factor, i_factor = area.n_exc / n_e, area.n_inh / n_i
    exc, inh = _populations(name, n_e * n_blocks, n_i * n_blocks, model, ampa, gaba, extra)
    for group, n in ((exc, n_e), (inh, n_i)):
        group.theta = np.tile(preferred_angles(n), n_blocks)
        group.loc = np.repeat(np.arange(n_blocks), n)
    exc.g_ext_unit, inh.g_ext_unit = area.g_ext_e, area.g_ext_i
    exc.nu_bg = inh.nu_bg = area.nu_bg

    recurrent = fourier_coefficients(area.sigma_ee, area.j_plus, sim.kernel_tolerance)
    harmonics = max(recurrent.size - 1, extra_harmonics)
    exc_bank = ModeBank(exc, ["s_ampa", "s_nmda"], harmonics, f"{name}_E", n_blocks, bank_extra)
    inh_bank = ModeBank(inh, ["s_gaba"], 0, f"{name}_I", n_blocks)
    readouts = _recurrent(name, exc_bank, inh_bank, exc, inh, recurrent, None, n_blocks, n_blocks)
    _set_recurrent_conductances(readouts, area, e_factor, i_factor)
    objects = [exc, inh, *exc_bank.objects, *inh_bank.objects, *readouts.values()]
    return RingArea(name, area.n_exc, exc, inh, exc_bank, inh_bank, readouts, objects)


def build_pools(
    name: str,
    area: PoolParams,
    model: Model,
    scale: float,
    n_pools: int,
    ampa: tuple[str, ...] = DEFAULT_AMPA,
) -> RingArea:
    """A competitive pool network (Wang 2002; Wong & Wang 2006): ``n_pools`` excitatory pools
    (one per location, ``loc`` = pool) sharing one inhibitory population.

    E→E AMPA + NMDA with weight w⁺ inside a pool and w⁻ = (P − w⁺)/(P − 1) between pools, so the
    mean weight stays 1 for any pool count P; E→I, I→E, I→I all-to-all.  Competition between
    locations therefore runs through the shared inhibition, sharpened by w⁺ > 1.  Per-synapse
    conductances are given for ``area.n_exc`` cells per pool and ``area.n_pools_ref`` pools and
    rescaled to keep each cell's total input.
    """
    n_e, n_i = scaled_size(area.n_exc, scale), scaled_size(area.n_inh, scale)
    e_factor = area.n_exc * area.n_pools_ref / (n_e * n_pools)
    i_factor = area.n_inh / n_i
    exc, inh = _populations(name, n_e * n_pools, n_i, model, ampa, DEFAULT_GABA)
    exc.loc = np.repeat(np.arange(n_pools), n_e)
    exc.g_ext_unit, inh.g_ext_unit = area.g_ext_e, area.g_ext_i
    exc.nu_bg = inh.nu_bg = area.nu_bg
    exc_bank = ModeBank(exc, ["s_ampa", "s_nmda"], 0, f"{name}_E", n_pools)
    inh_bank = ModeBank(inh, ["s_gaba"], 0, f"{name}_I", 1)
    w_minus = (n_pools - area.w_plus) / (n_pools - 1) if n_pools > 1 else 1.0
    pairs = [
        (a, b, area.w_plus if a == b else w_minus) for a in range(n_pools) for b in range(n_pools)
    ]
    readouts = _recurrent(name, exc_bank, inh_bank, exc, inh, np.ones(1), pairs, n_pools, 1)
    _set_recurrent_conductances(readouts, area, e_factor, i_factor)
    objects = [exc, inh, *exc_bank.objects, *inh_bank.objects, *readouts.values()]
    return RingArea(name, area.n_exc, exc, inh, exc_bank, inh_bank, readouts, objects)


def _populations(
    name: str, n_exc: int, n_inh: int, model: Model, ampa: tuple, gaba: tuple, extra: str = ""
) -> tuple[NeuronGroup, NeuronGroup]:
    sim, syn = model["simulation"], model["synapses"]
    exc = make_population(
        n_exc, True, model["cells.excitatory"], syn, f"{name}_E", sim.dt, ampa, gaba, extra
    )
    inh = make_population(
        n_inh, False, model["cells.inhibitory"], syn, f"{name}_I", sim.dt, ampa, gaba, extra
    )
    return exc, inh


def _recurrent(
    name: str,
    exc_bank: ModeBank,
    inh_bank: ModeBank,
    exc: NeuronGroup,
    inh: NeuronGroup,
    recurrent: np.ndarray,
    ee_pairs: list | None,
    exc_blocks: int,
    inh_blocks: int,
) -> dict[str, Synapses]:
    """E→E (ring kernel or pool weights), E→I, I→E, I→I readouts of an area's banks."""
    uniform = np.ones(1)
    excitatory = {"g_ampa_rec": ("s_ampa", "g_ampa"), "g_nmda_rec": ("s_nmda", "g_nmda")}
    inhibitory = {"g_gaba_rec": ("s_gaba", "g_gaba")}
    to_inh = None if exc_blocks == inh_blocks else [(b, 0, 1.0) for b in range(exc_blocks)]
    return {
        "ee": connect_readout(
            exc_bank, exc, excitatory, recurrent, f"{name}_EE",
            pairs=ee_pairs, target_blocks=exc_blocks,
        ),
        "ei": connect_readout(
            exc_bank, inh, excitatory, uniform, f"{name}_EI",
            pairs=to_inh, target_blocks=inh_blocks,
        ),
        "ie": connect_readout(
            inh_bank, exc, inhibitory, uniform, f"{name}_IE", target_blocks=exc_blocks
        ),
        "ii": connect_readout(
            inh_bank, inh, inhibitory, uniform, f"{name}_II", target_blocks=inh_blocks
        ),
    }  # fmt: skip


def _set_recurrent_conductances(
    readouts: dict[str, Synapses], area: Any, e_factor: float, i_factor: float
) -> None:
    readouts["ee"].g_ampa = area.g_ampa_ee * e_factor
    readouts["ee"].g_nmda = area.g_nmda_ee * e_factor
    readouts["ei"].g_ampa = area.g_ampa_ei * e_factor
    readouts["ei"].g_nmda = area.g_nmda_ei * e_factor
    readouts["ie"].g_gaba = area.g_gaba_ie * i_factor
    readouts["ii"].g_gaba = area.g_gaba_ii * i_factor


def add_drive(
    area: RingArea,
    drive: Any,
    gain: TimedArray,
    angle: TimedArray,
    schedule_dt: Any,
    per_location: bool = False,
    modulation: str | None = None,
) -> None:
    """Add a feature-tuned Poisson drive to both populations of ``area`` (see module docstring).

    ``drive`` is a :class:`~bioattn.config.DriveParams` (stimulus or cue).  With
    ``per_location`` the TimedArrays are two-dimensional (time × location) and block b of the
    area (its cells with ``loc`` = b) sees location b's item.  ``modulation``: a per-cell
    variable that multiplies the drive (the pulvinar's gain on afferent input to a column).
    """
    gain_name, angle_name = f"{area.name}_drive_gain", f"{area.name}_drive_angle"
    for group, nu_tuned, nu_untuned in (
        (area.exc, drive.nu_max_e, drive.nu_untuned_e),
        (area.inh, drive.nu_max_i, drive.nu_untuned_i),
    ):
        group.namespace.update(
            {
                gain_name: gain,
                angle_name: angle,
                "nu_tuned": nu_tuned,
                "nu_untuned": nu_untuned,
                "kappa": drive.kappa,
            }
        )
        code = _DRIVE.format(gain=gain_name, angle=angle_name, at="t, loc" if per_location else "t")
        group.run_regularly(
            code + (f" * {modulation}" if modulation else ""),
            dt=schedule_dt,
            name=f"{group.name}_drive",
        )
