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

from bioattn.circuits.neurons import make_population
from bioattn.circuits.ring import ModeBank, connect_readout, fourier_coefficients, preferred_angles
from bioattn.config import AreaParams, Model

_DRIVE = (
    "nu_drive = {gain}(t) * (nu_untuned + nu_tuned * exp(kappa * (cos(theta - {angle}(t)) - 1)))"
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
) -> RingArea:
    """Build one ring area (without its drive; see :func:`add_drive`).

    ``extra_harmonics``: Fourier modes the excitatory bank must hold for long-range readouts.
    """
    sim, syn = model["simulation"], model["synapses"]
    n_e, n_i = scaled_size(area.n_exc, scale), scaled_size(area.n_inh, scale)
    # Per-synapse conductances are given at the file's sizes; keep total input per cell fixed.
    e_factor, i_factor = area.n_exc / n_e, area.n_inh / n_i
    exc = make_population(n_e, True, model["cells.excitatory"], syn, f"{name}_E", sim.dt)
    inh = make_population(n_i, False, model["cells.inhibitory"], syn, f"{name}_I", sim.dt)
    for group, angles in ((exc, preferred_angles(n_e)), (inh, preferred_angles(n_i))):
        group.theta = angles
    exc.g_ext_unit, inh.g_ext_unit = area.g_ext_e, area.g_ext_i
    exc.nu_bg = inh.nu_bg = area.nu_bg

    recurrent = fourier_coefficients(area.sigma_ee, area.j_plus, sim.kernel_tolerance)
    harmonics = max(recurrent.size - 1, extra_harmonics)
    exc_bank = ModeBank(exc, ["s_ampa", "s_nmda"], harmonics, f"{name}_E")
    inh_bank = ModeBank(inh, ["s_gaba"], 0, f"{name}_I")
    uniform = np.ones(1)
    readouts = {
        "ee": connect_readout(
            exc_bank,
            exc,
            {"g_ampa_rec": ("s_ampa", "g_ampa"), "g_nmda_rec": ("s_nmda", "g_nmda")},
            recurrent,
            f"{name}_EE",
        ),
        "ei": connect_readout(
            exc_bank,
            inh,
            {"g_ampa_rec": ("s_ampa", "g_ampa"), "g_nmda_rec": ("s_nmda", "g_nmda")},
            uniform,
            f"{name}_EI",
        ),
        "ie": connect_readout(
            inh_bank, exc, {"g_gaba_rec": ("s_gaba", "g_gaba")}, uniform, f"{name}_IE"
        ),
        "ii": connect_readout(
            inh_bank, inh, {"g_gaba_rec": ("s_gaba", "g_gaba")}, uniform, f"{name}_II"
        ),
    }
    readouts["ee"].g_ampa, readouts["ee"].g_nmda = (
        area.g_ampa_ee * e_factor,
        area.g_nmda_ee * e_factor,
    )
    readouts["ei"].g_ampa, readouts["ei"].g_nmda = (
        area.g_ampa_ei * e_factor,
        area.g_nmda_ei * e_factor,
    )
    readouts["ie"].g_gaba = area.g_gaba_ie * i_factor
    readouts["ii"].g_gaba = area.g_gaba_ii * i_factor
    objects = [exc, inh, *exc_bank.objects, *inh_bank.objects, *readouts.values()]
    return RingArea(name, area.n_exc, exc, inh, exc_bank, inh_bank, readouts, objects)


def add_drive(
    area: RingArea,
    drive: Any,
    gain: TimedArray,
    angle: TimedArray,
    schedule_dt: Any,
) -> None:
    """Add a feature-tuned Poisson drive to both populations of ``area`` (see module docstring).

    ``drive`` is a :class:`~bioattn.config.DriveParams` (stimulus or cue).
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
        group.run_regularly(
            _DRIVE.format(gain=gain_name, angle=angle_name),
            dt=schedule_dt,
            name=f"{group.name}_drive",
        )
