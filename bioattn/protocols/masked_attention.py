"""Masked (causal) attention from time: items presented one after another.

Each trial shows L items in sequence, item k at location k, flashed for ``t_step`` from
k·``t_step`` (features drawn per trial, ``design_seed``); no cue.  The readout at step t is the
readout's population response in step t's window (from ``analysis_offset``).  A transformer's
causal mask lets output t use only inputs ≤ t; here the mask is time itself: nothing can reach
the readout before it is shown.

Two measurements:

1. **Causality, exactly.**  For every c = 1 … L−1, the first trial is simulated again with
   the same seed and items c … L−1 removed.  Every spike of every area before item c's onset
   must be identical with and without those later items.  ``causal_violations`` counts spikes
   that differ (0 = later items had no influence on earlier read-outs).
2. **How earlier items' influence decays.**  Each step's readout profile is decomposed into
   non-negative weights of every item's template (the readout's mean profile to one item,
   measured at step 0 where only item 0 has been shown), plus a baseline
   (:func:`bioattn.protocols.scene.template_weights`).  ``influence_lag_<d>`` is the mean
   weight of the item shown d steps before the readout step (d = 0 the current one), relative
   to d = 0; ``influence_future`` the mean weight of items not yet shown (weights of items
   that are not on screen are fitted too, as a check: ≈ 0).

Every influence metric has ``<metric>_ci``, its 95 % interval: a bias-corrected bootstrap over
trials with one seed (one sample: one sequence; the template is re-estimated from every
resample), Student t over seeds with several (bioattn.api.seed_intervals).
``causal_violations`` has none: it is an exact count on the first trial, a structural check,
not an estimate from trials.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import xarray as xr

from bioattn.config import Model, param
from bioattn.protocols import common
from bioattn.protocols import scene as sc
from bioattn.protocols.registry import Protocol, ProtocolResult, RunOptions, register
from bioattn.schedule import Schedule

NAME = "masked-attention"


@dataclass(frozen=True)
class MaskedAttentionParams:
    n_trials: int = param("int")
    n_seeds: int = param("int")
    design_seed: int = param("int")
    t_iti: float = param("s")
    t_step: float = param("s", positive=True)
    analysis_offset: float = param("s")
    contrast: float = param("float", positive=True)


def design(p: MaskedAttentionParams, n_loc: int, n_trials: int) -> np.ndarray:
    """Item features (trial, step) in rad: per trial L distinct angles on a 45° grid."""
    rng = np.random.default_rng(p.design_seed)
    grid = 2 * np.pi * np.arange(8) / 8
    return np.stack([rng.choice(grid, size=n_loc, replace=n_loc > 8) for _ in range(n_trials)])


def build_schedule(
    p: MaskedAttentionParams, features: np.ndarray, resolution: float, shown: int | None = None
) -> Schedule:
    """Trials of sequential flashes; with ``shown`` = c only items 0 … c−1 appear (first trial
    only, for the causality control)."""
    n_trials, n_loc = features.shape
    schedule = Schedule(resolution, n_loc)
    for k in range(n_trials if shown is None else 1):
        epochs = [("iti", float(p.t_iti), {})]
        for step in range(n_loc):
            scene = [(0.0, 0.0)] * n_loc
            if shown is None or step < shown:
                scene[step] = (float(features[k, step]), p.contrast)
            epochs.append((f"step{step}", float(p.t_step), {"scene": tuple(scene)}))
        schedule.add_trial({"trial": k}, epochs)
    return schedule


def causal_violations(full, truncated, onset: float) -> int:
    """Spikes (all areas) before ``onset`` that differ between two runs of equal seed."""
    differing = 0
    for area in full.spikes:
        a, b = (o.t(area) < onset for o in (full, truncated))
        ta, ia = full.t(area)[a], full.i(area)[a]
        tb, ib = truncated.t(area)[b], truncated.i(area)[b]
        if ta.size == tb.size and np.array_equal(ta, tb) and np.array_equal(ia, ib):
            continue
        pairs_a = set(zip(np.round(ta * 1e5).astype(int), ia, strict=True))
        pairs_b = set(zip(np.round(tb * 1e5).astype(int), ib, strict=True))
        differing += len(pairs_a ^ pairs_b)
    return differing


def decompose(profiles: np.ndarray, angles: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The readout template (from step 0, where only item 0 has been shown) and the template
    weights (sample, step, item) of readout ``profiles`` (sample, step, cell) in Hz, the items'
    angles (sample, item) in rad."""
    n_loc = profiles.shape[1]
    template = sc.aligned_template(profiles[:, 0], angles[:, 0])
    weights = np.stack(
        [sc.template_weights(profiles[:, s], angles, template) for s in range(n_loc)], axis=1
    )  # (sample, step, item)
    return template, weights


def influence(weights: np.ndarray) -> dict[str, float]:
    """``influence_lag_<d>`` and ``influence_future`` (module docstring) from the template
    weights (sample, step, item)."""
    n_loc = weights.shape[1]
    lag = np.arange(n_loc)[:, None] - np.arange(n_loc)[None, :]  # step − item
    current = np.mean([weights[:, s, s] for s in range(n_loc)])
    summary = {f"influence_lag_{d}": float(weights[:, lag == d].mean() / current)
               for d in range(n_loc)}  # fmt: skip
    summary["influence_future"] = float(weights[:, lag < 0].mean() / current)
    return summary


def analyse(profiles: np.ndarray, angles: np.ndarray) -> dict[str, float]:
    """The influence metrics from readout profiles (sample, step, cell) in Hz and the items'
    angles (sample, item) in rad, one sample per sequence and seed (seed-major); the template
    is estimated from these data."""
    return influence(decompose(profiles, angles)[1])


def run(model: Model, options: RunOptions) -> ProtocolResult:
    """Run the masked-attention protocol: items shown one after another, then the first trial
    again per cut-off c with the later items removed (same seed: a new schedule length, so a
    build each); returns ``causal_violations``, the influence of each item by lag and the
    figure.  ``options``: seeds, trials, scale, target, progress (:class:`RunOptions`)."""
    p: MaskedAttentionParams = common.protocol_params(model, NAME)
    seeds, n_trials = common.trial_counts(p, options)
    n_loc = model["scene"].n_locations
    resolution = float(model["simulation"].schedule_dt)
    features = design(p, n_loc, n_trials)
    schedule = build_schedule(p, features, resolution)
    settings = common.RunSettings(seeds, options)
    outputs = common.run_seeds(model, schedule, settings)

    # 1. Causality: the first trial again, later items removed, same seed.
    violations, onsets = [], []
    for c in range(1, n_loc):
        short = build_schedule(p, features, resolution, shown=c)
        control = options.engine.simulate(model, short, seed=seeds[0], scale=options.scale)
        onset = schedule.trials[0].epoch(f"step{c}").start
        onsets.append(onset)
        violations.append(causal_violations(outputs[0], control, onset))

    # 2. Influence by lag: readout profiles per step, weights of every item's template.
    window = float(p.t_step - p.analysis_offset)
    steps = np.stack(
        [schedule.windows(f"step{s}", offset=float(p.analysis_offset)) for s in range(n_loc)],
        axis=1,
    )  # (trial, step, 2)
    n_read = outputs[0].n("readout")
    counts = np.stack(
        [common.counts_in(outputs, steps[:, s], "readout") for s in range(n_loc)], axis=2
    )  # (seed, trial, step, cell)
    profiles = counts / window
    flat = profiles.reshape(-1, n_loc, n_read)
    angles = np.broadcast_to(features, (len(seeds), n_trials, n_loc)).reshape(-1, n_loc)
    template, weights = decompose(flat, angles)  # weights (seed·trial, step, item)
    points: dict[str, float] = {"causal_violations": int(sum(violations)), **influence(weights)}
    # One analyse call ~6 ms at the default design (measured): the default resamples.
    summary = points | common.bootstrap_intervals(analyse, [flat, angles], seed=seeds[0])

    data = {
        "readout_profile": xr.DataArray(
            profiles, dims=("seed", "trial", "step", "readout_cell"), attrs={"units": "Hz"}
        ),
        "item_feature": xr.DataArray(
            np.degrees(features), dims=("trial", "step"), attrs={"units": "deg"}
        ),
        "item_weight": xr.DataArray(
            weights.reshape(len(seeds), n_trials, n_loc, n_loc),
            dims=("seed", "trial", "step", "item"),
            attrs={"units": "1", "note": "template weight of item k in the readout at step t"},
        ),
        "readout_template": xr.DataArray(template, dims="readout_cell", attrs={"units": "Hz"}),
        "causal_violations": xr.DataArray(violations, dims="control_onset"),
        **common.spikes_dataset(outputs),
    }
    coords = {
        "seed": seeds,
        "trial": np.arange(n_trials),
        "step": np.arange(n_loc),
        "item": np.arange(n_loc),
        "readout_cell": np.arange(n_read),
        "readout_preferred": ("readout_cell", 360.0 * np.arange(n_read) / n_read),
        "control_onset": onsets,
    }
    dataset = xr.Dataset(data, coords=coords, attrs={"protocol": NAME, "model": model.name})
    from bioattn.figures import masked_attention_figure

    return ProtocolResult(
        dataset, summary, {"masked_attention": masked_attention_figure(dataset, summary)}
    )


PROTOCOL = register(
    Protocol(
        NAME,
        "items one after another: exact causality from time, decay of earlier items' influence",
        MaskedAttentionParams,
        run,
        circuit="multi_item",
        default_model="multi_item",
    )
)
