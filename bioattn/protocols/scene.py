"""Machinery of the multi-item protocols (circuit ``multi_item``, bioattn.circuits.scene).

A scene trial: erase (ends the previous PFC bump) → inter-trial interval → cue (a feature cue to
PFC: the query; and/or a spatial cue to one PPC pool) → delay → stimulus (one item or none per
location).  The spatial cue and the query gain hold from the cue to the end of the stimulus.

Per trial and seed, in the stimulus window (from ``analysis_offset``):

- spike counts of every column cell (location × cell) and every readout cell;
- rates of each location's PPC pool, pulvinar channel and TRN sector;
- the PFC bump's population-vector angle (the query actually held) and amplitude;
- per location the feedforward drive onto the readout: mean gate, conductance integral
  ∫ g_b dt (S·s) and charge ∫ g_b (E_exc − V̄) dt (C), with V̄ the readout's mean potential.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import xarray as xr

from bioattn import stats
from bioattn.config import Model, param
from bioattn.engine import SimulationOutput
from bioattn.errors import BioattnError
from bioattn.protocols import common
from bioattn.protocols.registry import RunOptions
from bioattn.schedule import Schedule

#: Areas whose cells are laid out location-major (block b = location b).
BLOCK_AREAS = ("ppc", "pulvinar", "trn")


@dataclass(frozen=True)
class SceneTiming:
    """Durations and counts every scene protocol shares (fields of its [protocol.*] section)."""

    n_trials: int = param("int")
    n_seeds: int = param("int")
    t_erase: float = param("s")
    t_iti: float = param("s")
    t_cue: float = param("s")
    t_delay: float = param("s")
    t_stimulus: float = param("s", positive=True)
    analysis_offset: float = param("s")
    cell_window: float = param("deg", positive=True)
    design_seed: int = param("int")


@dataclass
class SceneTrial:
    """One trial's design: items (angle rad, contrast; None = empty) per location, the query."""

    items: list[tuple[float, float] | None]
    query: float | None = None  # rad; None = no feature cue to PFC
    query_gain: float = 1.0
    spatial_cue: int | None = None
    labels: dict = field(default_factory=dict)
    # Neuromodulation (bioattn.circuits.neuromodulators), held through the trial: clamped tonic
    # levels (name, nM) and receptors blocked (``"ach.muscarinic"``, fraction); and phasic
    # releases (name, × burst) at the stimulus onset, global or tagged to one location's item.
    levels: tuple[tuple[str, float], ...] = ()
    blocks: tuple[tuple[str, float], ...] = ()
    release: tuple[tuple[str, float], ...] = ()
    tagged_release: tuple[tuple[str, int, float], ...] = ()  # (name, location, × burst)

    def scene(self) -> tuple[tuple[float, float], ...]:
        return tuple((0.0, 0.0) if item is None else item for item in self.items)


def scene_epochs(p: Any, trial: SceneTrial) -> list[tuple]:
    """The epochs of one scene trial (see module docstring)."""
    drugs = {"levels": trial.levels, "blocks": trial.blocks}
    held = {"spatial_cue": trial.spatial_cue, "query_gain": trial.query_gain, **drugs}
    return [
        ("erase", float(p.t_erase), {"erase": True, **drugs}),
        ("iti", float(p.t_iti), drugs),
        ("cue", float(p.t_cue), {"cue_angle": trial.query, **held}),
        ("delay", float(p.t_delay), held),
        ("stimulus", float(p.t_stimulus), {"scene": trial.scene(), "release": trial.release,
                                           "tagged_release": trial.tagged_release, **held}),
    ]  # fmt: skip


def interleave(p: Any, blocks: list[list[SceneTrial]]) -> list[SceneTrial]:
    """Concatenate blocks (one repeat of every condition each), shuffling the conditions
    inside every block with the generator seeded by ``p.design_seed``, so that no condition
    always follows the same one (activity and slow synaptic variables carry over between
    trials)."""
    rng = np.random.default_rng(p.design_seed)
    return [block[k] for block in blocks for k in rng.permutation(len(block))]


def check_two_locations(section: str, first: int, second: int, n_loc: int) -> tuple[int, int]:
    """Two different 1-based locations of a protocol section as 0-based indices; the one-line
    error otherwise."""
    if max(first, second) > n_loc or first == second:
        raise BioattnError(
            f"{section} locations {first}, {second}: expected two different locations in 1..{n_loc}"
        )
    return first - 1, second - 1


def labels(trials: list[SceneTrial]) -> dict[str, np.ndarray]:
    """Every label of the trials (the first trial's keys) as an array over the trials."""
    return {key: np.array([t.labels[key] for t in trials]) for key in trials[0].labels}


def build_schedule(p: Any, trials: list[SceneTrial], resolution: float, n_loc: int) -> Schedule:
    schedule = Schedule(resolution, n_loc)
    for trial in trials:
        schedule.add_trial(trial.labels, scene_epochs(p, trial))
    return schedule


def _per_block_rates(
    output: SimulationOutput, area: str, windows: np.ndarray, n_loc: int
) -> np.ndarray:
    """Rate (Hz per cell) of each location's block, shape (window, location)."""
    n = output.n(area)
    counts = stats.spike_counts(output.t(area), output.i(area), n, windows)
    per = counts.reshape(len(windows), n_loc, n // n_loc).mean(axis=2)
    return per / (windows[:, 1] - windows[:, 0])[:, None]


def _integrate(times: np.ndarray, values: np.ndarray, windows: np.ndarray) -> np.ndarray:
    """Σ values·dt over each window, values sampled at ``times`` (time first)."""
    dt = float(times[1] - times[0]) if times.size > 1 else 0.0
    out = np.zeros((len(windows), *values.shape[1:]))
    for k, (a, b) in enumerate(windows):
        sel = (times >= a) & (times < b)
        out[k] = values[sel].sum(axis=0) * dt
    return out


def measure(
    outputs: list[SimulationOutput], windows: np.ndarray, model: Model
) -> dict[str, np.ndarray]:
    """Everything recorded per (seed, trial) in ``windows`` (see module docstring)."""
    n_loc = model["scene"].n_locations
    e_exc = float(model["synapses"].E_exc)
    out: dict[str, list] = {k: [] for k in ("column", "readout", "pfc_angle", "pfc_amplitude",
                                             "gate", "ff_conductance", "ff_charge",
                                             *(f"{a}_rate" for a in BLOCK_AREAS))}  # fmt: skip
    duration = windows[:, 1] - windows[:, 0]
    for o in outputs:
        n_col = o.n("column")
        col = stats.spike_counts(o.t("column"), o.i("column"), n_col, windows)
        out["column"].append(col.reshape(len(windows), n_loc, n_col // n_loc))
        out["readout"].append(
            stats.spike_counts(o.t("readout"), o.i("readout"), o.n("readout"), windows)
        )
        pfc = stats.spike_counts(o.t("pfc"), o.i("pfc"), o.n("pfc"), windows) / duration[:, None]
        z = pfc @ np.exp(1j * 2 * np.pi * np.arange(o.n("pfc")) / o.n("pfc")) / o.n("pfc")
        out["pfc_angle"].append(np.angle(z) % (2 * np.pi))
        out["pfc_amplitude"].append(np.abs(z))
        for area in BLOCK_AREAS:
            out[f"{area}_rate"].append(_per_block_rates(o, area, windows, n_loc))
        t_g, gate = o.traces["gate"]
        t_c, g = o.traces["ff_conductance"]
        t_v, v = o.traces["readout_v"]
        out["gate"].append(_integrate(t_g, gate, windows) / duration[:, None])
        out["ff_conductance"].append(_integrate(t_c, g, windows))
        n_t = min(t_c.size, t_v.size)
        drive = g[:n_t] * (e_exc - v[:n_t])[:, None]
        out["ff_charge"].append(_integrate(t_c[:n_t], drive, windows))
    return {k: np.stack(v) for k, v in out.items()}


def item_cells(angles: np.ndarray, item_angle: float, window: float) -> np.ndarray:
    """Cells whose preferred angle lies within ``window`` of ``item_angle``."""
    return common.angular_distance(angles, item_angle) <= window


def recorded_rates(
    outputs: list[SimulationOutput], measured: dict[str, np.ndarray], run: SceneRun,
    location: int, item_angle: float, iti_offset: float = 0.0,
) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """Rate (Hz) of the recorded column's cells that prefer its item (within ``cell_window`` of
    ``item_angle``) in the stimulus window, and their evoked rate (that rate minus the one in
    the trial's inter-trial interval from ``iti_offset`` s, before any cue), each (seed,
    trial)."""
    n_loc = run.n_loc
    n_col = outputs[0].n("column") // n_loc
    cells = item_cells(2 * np.pi * np.arange(n_col) / n_col, item_angle, run.p.cell_window)
    rate = measured["column"][:, :, location, cells].mean(axis=2) / run.window
    base = run.schedule.windows("iti", offset=iti_offset)
    baseline = np.stack(
        [
            stats.spike_counts(o.t("column"), o.i("column"), o.n("column"), base)
            .reshape(len(base), n_loc, n_col)[:, location, cells]
            .mean(axis=1)
            for o in outputs
        ]
    ) / (base[:, 1] - base[:, 0])
    return rate, rate - baseline


def trial_labels(trials: list[SceneTrial], n_loc: int) -> dict[str, xr.DataArray]:
    """Per-trial design labels: item feature (deg, NaN = empty) and contrast per location,
    query (deg, NaN = none), query gain, spatial cue (−1 = none), set size."""
    feature = np.full((len(trials), n_loc), np.nan)
    contrast = np.zeros((len(trials), n_loc))
    for k, trial in enumerate(trials):
        for b, item in enumerate(trial.items):
            if item is not None:
                feature[k, b], contrast[k, b] = np.degrees(item[0]), item[1]
    return {
        "item_feature": xr.DataArray(feature, dims=("trial", "location"), attrs={"units": "deg"}),
        "item_contrast": xr.DataArray(contrast, dims=("trial", "location"), attrs={"units": "1"}),
        "query": xr.DataArray(
            [np.nan if t.query is None else np.degrees(t.query) for t in trials],
            dims="trial",
            attrs={"units": "deg"},
        ),
        "query_gain": xr.DataArray([t.query_gain for t in trials], dims="trial"),
        "spatial_cue": xr.DataArray(
            [-1 if t.spatial_cue is None else t.spatial_cue for t in trials], dims="trial"
        ),
        "set_size": xr.DataArray(
            [sum(i is not None for i in t.items) for t in trials], dims="trial"
        ),
        **{
            f"{key}_index": xr.DataArray([t.labels[key] for t in trials], dims="trial")
            for key in trials[0].labels
        },
    }


def measures_dataset(measured: dict[str, np.ndarray], window: float) -> dict[str, xr.DataArray]:
    """The :func:`measure` arrays as labelled variables with dims (seed, trial, ...)."""
    st = ("seed", "trial")
    return {
        "column_counts": xr.DataArray(
            measured["column"], dims=(*st, "location", "column_cell"),
            attrs={"units": "spikes", "window_s": window},
        ),
        "readout_counts": xr.DataArray(
            measured["readout"], dims=(*st, "readout_cell"),
            attrs={"units": "spikes", "window_s": window},
        ),
        "pfc_query_angle": xr.DataArray(
            np.degrees(measured["pfc_angle"]), dims=st, attrs={"units": "deg"}
        ),
        "pfc_bump_amplitude": xr.DataArray(
            measured["pfc_amplitude"], dims=st, attrs={"units": "Hz"}
        ),
        **{
            f"{a}_rate": xr.DataArray(measured[f"{a}_rate"], dims=(*st, "location"),
                                      attrs={"units": "Hz"})
            for a in BLOCK_AREAS
        },
        "gate": xr.DataArray(measured["gate"], dims=(*st, "location"), attrs={"units": "1"}),
        "ff_conductance": xr.DataArray(
            measured["ff_conductance"], dims=(*st, "location"), attrs={"units": "S*s"}
        ),
        "ff_charge": xr.DataArray(
            measured["ff_charge"], dims=(*st, "location"), attrs={"units": "C"}
        ),
    }  # fmt: skip


def cell_coordinates(outputs: list[SimulationOutput], n_loc: int) -> dict[str, Any]:
    n_col = outputs[0].n("column") // n_loc
    n_read = outputs[0].n("readout")
    return {
        "column_cell": np.arange(n_col),
        "column_preferred": ("column_cell", 360.0 * np.arange(n_col) / n_col),
        "readout_cell": np.arange(n_read),
        "readout_preferred": ("readout_cell", 360.0 * np.arange(n_read) / n_read),
    }


def aligned_template(profiles: np.ndarray, angles: np.ndarray) -> np.ndarray:
    """The mean population profile to a single item, rotated so the item sits at angle 0.

    ``profiles`` (observation, cell) of a ring of n cells, ``angles`` (observation,) in rad:
    each profile is rolled by the item's angle (to the nearest cell) before averaging.
    """
    n = profiles.shape[1]
    shifts = np.round(np.asarray(angles) / (2 * np.pi) * n).astype(int)
    return np.mean([np.roll(row, -s) for row, s in zip(profiles, shifts, strict=True)], axis=0)


def template_weights(
    profiles: np.ndarray, item_angles: np.ndarray, template: np.ndarray
) -> np.ndarray:
    """Non-negative weights of each item's template in each profile (plus a flat baseline).

        profile(θ) ≈ b + Σ_k w_k · T(θ − θ_k),   w_k ≥ 0, b ≥ 0

    ``profiles`` (observation, cell); ``item_angles`` (observation, item) in rad, NaN = no item
    (its weight is NaN); ``template`` T from :func:`aligned_template` (its baseline removed
    here).  Solved by non-negative least squares per observation.
    """
    from scipy.optimize import nnls

    n = profiles.shape[1]
    shape = template - template.min()
    weights = np.full(item_angles.shape, np.nan)
    for k, (row, angles) in enumerate(zip(profiles, item_angles, strict=True)):
        present = np.flatnonzero(np.isfinite(angles))
        shifts = np.round(angles[present] / (2 * np.pi) * n).astype(int)
        design = np.column_stack([np.ones(n), *(np.roll(shape, s) for s in shifts)])
        solution, _ = nnls(design, row)
        weights[k, present] = solution[1:]
    return weights


@dataclass
class SceneRun:
    """A scene protocol's resolved design: its parameters, seeds, trials, schedule, run
    settings and the analysis windows (stimulus epoch from ``analysis_offset``)."""

    p: Any
    seeds: list[int]
    n_trials: int
    n_loc: int
    trials: list[SceneTrial]
    schedule: Schedule
    settings: common.RunSettings
    window: float
    windows: np.ndarray


def prepare(model: Model, name: str, design: Any, options: RunOptions) -> SceneRun:
    """Resolve a scene protocol's design: ``design(p, n_locations, n_trials)`` gives the trials."""
    p = common.protocol_params(model, name)
    seeds, n_trials = common.trial_counts(p, options)
    n_loc = model["scene"].n_locations
    trials = design(p, n_loc, n_trials)
    schedule = build_schedule(p, trials, float(model["simulation"].schedule_dt), n_loc)
    settings = common.RunSettings(seeds, options)
    window = float(p.t_stimulus - p.analysis_offset)
    windows = schedule.windows("stimulus", offset=float(p.analysis_offset))
    return SceneRun(p, seeds, n_trials, n_loc, trials, schedule, settings, window, windows)
