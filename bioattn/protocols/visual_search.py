"""Feature-guided visual search in the multi-item circuit — the data set the attention fits use.

Each trial: a feature cue to PFC sets the query θ_q (one of ``query_angles``) with a query gain
(``cue_strengths``: the strength of the PFC top-down signal); then a scene of ``set size`` items
(``set_sizes``) at random locations, all at one contrast (``contrasts``): one target with the
query's feature and distractors at ``distractor_distances`` (random sign) from it.  Every
combination of set size × cue strength × contrast is repeated ``n_trials`` times per seed, in a
fixed pseudo-random order (``design_seed``).

Every trial is labelled (``results.nc``) with each item's feature, contrast and location, the
query, its gain and the target location, and stores the activity of every area per location and
the feedforward charge each column delivered to the readout (bioattn.protocols.scene).

Metrics (summary.json), set sizes > 1:
- ``target_charge_share``: the target column's share of the feedforward charge onto the readout
  (1/set size if attention did nothing), and ``target_share_ratio`` = share × set size;
- ``target_share_strength_<k>``: the same per cue strength (k = index into cue_strengths);
- ``ppc_target_rate``, ``ppc_distractor_rate``: PPC pool rates at target and distractor
  locations (Hz); ``gate_target``, ``gate_distractor``: pulvinar gates there;
- every metric has ``<metric>_ci``, its 95 % interval: a bias-corrected bootstrap over trials with
  one seed (one sample: one repeat of every set size × cue strength × contrast), Student t over
  seeds with several (bioattn.api.seed_intervals).

``cross-attention`` runs the same trials: the query comes from another area (PFC) to the items'
keys (columns → PPC), the cross-attention case of a transformer.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import xarray as xr

from bioattn.config import Model, param
from bioattn.errors import BioattnError
from bioattn.protocols import common
from bioattn.protocols import scene as sc
from bioattn.protocols.registry import Protocol, ProtocolResult, RunOptions, register

NAME = "visual-search"
CROSS = "cross-attention"


@dataclass(frozen=True)
class VisualSearchParams(sc.SceneTiming):
    set_sizes: tuple = param("floats", positive=True)
    cue_strengths: tuple = param("floats")
    contrasts: tuple = param("floats", positive=True)
    query_angles: tuple = param("degs")
    distractor_distances: tuple = param("degs", positive=True)


def design(p: VisualSearchParams, n_loc: int, n_trials: int) -> list[sc.SceneTrial]:
    sizes = [int(s) for s in p.set_sizes]
    if any(s != x or not 1 <= s <= n_loc for s, x in zip(sizes, p.set_sizes, strict=True)):
        raise BioattnError(
            f"set_sizes {list(p.set_sizes)}: expected whole numbers in 1..{n_loc} (locations)"
        )
    rng = np.random.default_rng(p.design_seed)
    blocks = []
    for k in range(n_trials):
        trials = []
        for size in sizes:
            for g, strength in enumerate(p.cue_strengths):
                for c, contrast in enumerate(p.contrasts):
                    query = float(rng.choice(p.query_angles))
                    locations = rng.permutation(n_loc)[:size]
                    items: list = [None] * n_loc
                    items[locations[0]] = (query, contrast)
                    for loc in locations[1:]:
                        offset = float(rng.choice(p.distractor_distances)) * rng.choice((-1, 1))
                        items[loc] = ((query + offset) % (2 * np.pi), contrast)
                    labels = {
                        "target_location": int(locations[0]),
                        "strength": g,
                        "contrast": c,
                        "repeat": k,
                    }
                    trials.append(sc.SceneTrial(items, query, float(strength), None, labels))
        blocks.append(trials)
    return sc.interleave(p, blocks)


def design_arrays(trials: list[sc.SceneTrial]) -> tuple[np.ndarray, ...]:
    """Per trial: the target location, the set size, the cue-strength index (trial,) and the
    occupied locations (trial, location)."""
    target = np.array([t.labels["target_location"] for t in trials])
    size = np.array([sum(i is not None for i in t.items) for t in trials])
    strength = np.array([t.labels["strength"] for t in trials])
    occupied = np.array([[i is not None for i in t.items] for t in trials])
    return target, size, strength, occupied


def analyse(
    charge: np.ndarray,
    ppc: np.ndarray,
    gate: np.ndarray,
    target: np.ndarray,
    size: np.ndarray,
    strength: np.ndarray,
    occupied: np.ndarray,
    n_strengths: int,
) -> dict[str, float]:
    """Summary metrics (module docstring), every array with one sample per repeat block on the
    first axis and the block's trials (in run order) on the axis after the seeds: the
    feedforward charge, PPC rates and gates (sample, seed, trial, location), each trial first
    averaged over seeds; the design (:func:`design_arrays`) as (sample, trial[, location])."""
    n_loc = occupied.shape[-1]
    target, size, strength = (x.reshape(-1) for x in (target, size, strength))
    occupied = occupied.reshape(-1, n_loc)
    rows = np.arange(target.size)
    charge = charge.mean(axis=1).reshape(-1, n_loc)  # (trial, location), over seeds
    share = charge[rows, target] / np.where(occupied, charge, 0).sum(axis=1)
    multi = size > 1
    distractor = occupied.copy()
    distractor[rows, target] = False
    ppc, gate = (x.mean(axis=1).reshape(-1, n_loc) for x in (ppc, gate))
    summary = {
        "target_charge_share": float(share[multi].mean()),
        "target_share_ratio": float((share * size)[multi].mean()),
        "ppc_target_rate": float(ppc[rows, target][multi].mean()),
        "ppc_distractor_rate": float(ppc[distractor].mean()),
        "gate_target": float(gate[rows, target][multi].mean()),
        "gate_distractor": float(gate[distractor].mean()),
    }
    for g in range(n_strengths):
        summary[f"target_share_strength_{g}"] = float(share[multi & (strength == g)].mean())
    return summary


def by_repeat(measured: dict[str, np.ndarray], trials: list[sc.SceneTrial]) -> list[np.ndarray]:
    """:func:`analyse`'s arrays: the charge, PPC rates and gates of ``measured`` (seed, trial,
    location) as (repeat, seed, trial of the block, location) and the design as (repeat, trial
    of the block[, location]), the trials of each block in run order."""
    repeat = np.array([t.labels["repeat"] for t in trials])
    order = np.argsort(repeat, kind="stable")  # the identity: sc.interleave keeps blocks
    n_repeats = int(repeat.max()) + 1

    def blocks(x: np.ndarray) -> np.ndarray:  # (seed, trial, ...) → (repeat, seed, trial, ...)
        return np.moveaxis(x[:, order].reshape(len(x), n_repeats, -1, *x.shape[2:]), 0, 1)

    signals = [blocks(measured[key]) for key in ("ff_charge", "ppc_rate", "gate")]
    labels = [x[order].reshape(n_repeats, -1, *x.shape[1:]) for x in design_arrays(trials)]
    return signals + labels


def _run(name: str):
    def run(model: Model, options: RunOptions) -> ProtocolResult:
        """Run feature-guided visual search: set sizes × cue strengths × contrasts ×
        ``n_trials`` per seed; returns every trial's labels and per-location activity and charge
        (the data set of ``bioattn fit``), the target's charge share, PPC and gate contrasts and
        the figure.  ``options``: seeds, trials, scale, target, progress
        (:class:`RunOptions`)."""
        r = sc.prepare(model, name, design, options)
        p, seeds, n_loc, trials, window = r.p, r.seeds, r.n_loc, r.trials, r.window
        schedule = r.schedule
        outputs = common.run_seeds(model, schedule, r.settings)
        measured = sc.measure(outputs, r.windows, model)
        n_strengths = len(p.cue_strengths)
        samples = by_repeat(measured, trials)
        summary = analyse(*samples, n_strengths)
        summary |= common.bootstrap_intervals(
            lambda *x: analyse(*x, n_strengths), samples, seed=seeds[0]
        )
        data = {
            **sc.measures_dataset(measured, window),
            **sc.trial_labels(trials, n_loc),
            **common.spikes_dataset(outputs),
        }
        coords = {
            "seed": seeds,
            "trial": np.arange(len(trials)),
            "location": np.arange(n_loc),
            **sc.cell_coordinates(outputs, n_loc),
        }
        dataset = xr.Dataset(data, coords=coords, attrs={"protocol": name, "model": model.name})
        dataset.attrs["biological_s"] = schedule.duration
        dataset.attrs["cue_strengths"] = list(p.cue_strengths)
        dataset.attrs["contrasts"] = list(p.contrasts)
        from bioattn.figures import visual_search_figure

        figure = visual_search_figure(dataset, summary)
        return ProtocolResult(dataset, summary, {name.replace("-", "_"): figure})

    return run


PROTOCOL = register(
    Protocol(
        NAME,
        "feature-cued search over set sizes, cue strengths and contrasts (the fitting data set)",
        VisualSearchParams,
        _run(NAME),
        circuit="multi_item",
        default_model="multi_item",
    )
)
register(
    Protocol(
        CROSS,
        "visual search read as cross-attention: PFC query (another area) to the items' keys",
        VisualSearchParams,
        _run(CROSS),
        circuit="multi_item",
        default_model="multi_item",
    )
)
