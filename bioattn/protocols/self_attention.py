"""Self-attention: items attend to each other through lateral connections between columns.

No cue.  Every location holds an item (distinct features from a 45° grid, drawn per trial with
``design_seed``).  The same trials run twice per seed: without lateral connections and with
feature-tuned lateral AMPA between every pair of columns (``lateral_g_e`` / ``lateral_g_i`` per
synapse, the model's ``lateral.sigma`` kernel).  Column b then receives, besides its own item,
input tuned to every other item's feature, so its population response becomes a mixture of the
items' features — the spiking counterpart of a self-attention layer, in which every token's
output mixes the values of all tokens.

Each column's profile (rates by preferred feature, stimulus window) is decomposed into
non-negative weights of every item's template plus a baseline
(:func:`bioattn.protocols.scene.template_weights`); the template is the columns' mean response
to their own item without lateral connections.

Metrics (summary.json):
- ``other_weight_lateral``, ``other_weight_none``: the others' share of a column's weights,
  Σ_{k≠b} w_k / Σ_k w_k, averaged over columns and trials, with and without lateral input;
- ``self_weight_lateral``, ``self_weight_none``: the own item's weight (template units);
- every metric has ``<metric>_ci``, its 95 % interval: a bias-corrected bootstrap over trials with
  one seed (one sample: one scene, run without and with lateral connections; the template is
  re-estimated from every resample), Student t over seeds with several
  (bioattn.api.seed_intervals).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import xarray as xr

from bioattn.config import Model, param
from bioattn.protocols import common
from bioattn.protocols import scene as sc
from bioattn.protocols.registry import Protocol, ProtocolResult, RunOptions, register
from bioattn.units import nS

NAME = "self-attention"
CONDITIONS = ("none", "lateral")


@dataclass(frozen=True)
class SelfAttentionParams(sc.SceneTiming):
    contrast: float = param("float", positive=True)
    lateral_g_e: object = param("nS")
    lateral_g_i: object = param("nS")


def design(p: SelfAttentionParams, n_loc: int, n_trials: int) -> list[sc.SceneTrial]:
    rng = np.random.default_rng(p.design_seed)
    grid = 2 * np.pi * np.arange(8) / 8
    trials = []
    for k in range(n_trials):
        features = rng.choice(grid, size=n_loc, replace=n_loc > 8)
        items = [(float(f), p.contrast) for f in features]
        trials.append(sc.SceneTrial(items, None, 1.0, None, {"repeat": k}))
    return trials


def column_weights(
    measured_column: np.ndarray, features: np.ndarray, window: float, template: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray]:
    """Template weights (seed, trial, column, item) of every column's profile; the template
    (own-item response aligned at 0) is estimated from these data unless given."""
    n_seed, n_trial, n_loc, n_cell = measured_column.shape
    profiles = (measured_column / window).reshape(-1, n_loc, n_cell)
    angles = np.broadcast_to(features, (n_seed, n_trial, n_loc)).reshape(-1, n_loc)
    if template is None:
        template = sc.aligned_template(profiles.reshape(-1, n_cell), angles.reshape(-1))
    weights = np.stack(
        [sc.template_weights(profiles[:, b], angles, template) for b in range(n_loc)], axis=1
    )
    return weights.reshape(n_seed, n_trial, n_loc, n_loc), template


def condition_weights(
    columns: dict[str, np.ndarray], features: np.ndarray, window: float
) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Template weights (sample, column, item) per condition and the template, estimated from
    the ``none`` condition: ``columns`` maps each of ``CONDITIONS`` to its column counts
    (sample, location, cell), ``features`` the items' angles (sample, location) in rad."""
    weights, template = {}, None
    for condition in CONDITIONS:
        w, template = column_weights(columns[condition][None], features, window, template)
        weights[condition] = w[0]
    return weights, template


def weight_metrics(weights: dict[str, np.ndarray]) -> dict[str, float]:
    """Summary metrics (module docstring) from the weights (..., column, item) per condition."""
    summary: dict[str, float] = {}
    n_loc = weights[CONDITIONS[0]].shape[-1]
    own = np.eye(n_loc, dtype=bool)
    for condition in CONDITIONS:
        w = weights[condition]
        total = np.nansum(w, axis=-1)
        others = np.nansum(np.where(own, 0.0, w), axis=-1)
        summary[f"other_weight_{condition}"] = float(np.mean(others / total))
        summary[f"self_weight_{condition}"] = float(np.mean(w[..., own]))
    return summary


def analyse(
    column_none: np.ndarray, column_lateral: np.ndarray, features: np.ndarray, window: float
) -> dict[str, float]:
    """Summary metrics (module docstring) from the column counts (sample, location, cell)
    without and with lateral connections and the items' angles (sample, location) in rad; one
    sample is one scene of one seed (seed-major).  The template is estimated from these data."""
    columns = dict(zip(CONDITIONS, (column_none, column_lateral), strict=True))
    return weight_metrics(condition_weights(columns, features, window)[0])


def run(model: Model, options: RunOptions) -> ProtocolResult:
    """Run self-attention: the same trials without and with lateral column ↔ column AMPA (two
    structures: the lateral projection is built only when switched on); returns each column's
    template weights on the other items, the mixing they show and the figure.  ``options``:
    seeds, trials, scale, target, progress (:class:`RunOptions`)."""
    r = sc.prepare(model, NAME, design, options)
    p, seeds, n_trials, n_loc, trials = r.p, r.seeds, r.n_trials, r.n_loc, r.trials
    window, windows, progress = r.window, r.windows, r.settings.progress
    features = np.array([[item[0] for item in t.items] for t in trials])
    lateral = {
        "none": {"lateral.g_ampa_e": 0 * nS, "lateral.g_ampa_i": 0 * nS},
        "lateral": {"lateral.g_ampa_e": p.lateral_g_e, "lateral.g_ampa_i": p.lateral_g_i},
    }
    measured = {}
    for condition in CONDITIONS:
        if progress:
            print(f"{NAME}: lateral connections {condition}", flush=True)
        outputs = common.run_seeds(model.replace(lateral[condition]), r.schedule, r.settings)
        measured[condition] = sc.measure(outputs, windows, model)
    # One sample per scene and seed, seed-major (the order the weights have always pooled).
    columns = {c: m["column"].reshape(-1, *m["column"].shape[2:]) for c, m in measured.items()}
    features_t = np.tile(features, (len(seeds), 1))
    sample_weights, template = condition_weights(columns, features_t, window)
    weights = {c: w.reshape(len(seeds), n_trials, n_loc, n_loc) for c, w in sample_weights.items()}
    summary = weight_metrics(sample_weights)
    # One analyse call ~8 ms at the default design (measured): the default resamples.
    summary |= common.bootstrap_intervals(
        lambda *x: analyse(*x, window),
        [columns["none"], columns["lateral"], features_t],
        seed=seeds[0],
    )

    data = {
        "item_weight": xr.DataArray(
            np.stack([weights[c] for c in CONDITIONS]),
            dims=("condition", "seed", "trial", "column", "item"),
            attrs={"units": "1", "note": "template weight of the item at location `item` in "
                   "the profile of column `column`"},
        ),
        "column_template": xr.DataArray(template, dims="column_cell", attrs={"units": "Hz"}),
        **sc.trial_labels(trials, n_loc),
    }  # fmt: skip
    for condition in CONDITIONS:
        for name, array in sc.measures_dataset(measured[condition], window).items():
            data[f"{name}_{condition}"] = array
    n_col = template.size
    coords = {
        "condition": list(CONDITIONS),
        "seed": seeds,
        "trial": np.arange(n_trials),
        "column": np.arange(n_loc),
        "item": np.arange(n_loc),
        "location": np.arange(n_loc),
        "column_cell": np.arange(n_col),
        "column_preferred": ("column_cell", 360.0 * np.arange(n_col) / n_col),
    }
    dataset = xr.Dataset(data, coords=coords, attrs={"protocol": NAME, "model": model.name})
    from bioattn.figures import self_attention_figure

    return ProtocolResult(
        dataset, summary, {"self_attention": self_attention_figure(dataset, summary)}
    )


PROTOCOL = register(
    Protocol(
        NAME,
        "no cue; columns mix each other's features through lateral connections (on vs off)",
        SelfAttentionParams,
        run,
        circuit="multi_item",
        default_model="multi_item",
    )
)
