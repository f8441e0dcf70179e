"""Two attention streams on one scene — the circuit counterpart of two attention heads.

The scene: item A (feature ``angle_a``) at location 1, item B (``angle_b``) at location 2 and
distractors at the other locations (features evenly spaced from the A–B midpoint, so the scene
is mirror-symmetric between A and B).  Two queries act in parallel:

- the **spatial stream** (FEF / dlPFC location signal → PPC pool → pulvinar gate of that
  location's feedforward transmission): a spatial cue at A's location, B's, or none;
- the **feature stream** (PFC feature bump → top-down gain of matching column cells, spatially
  global, Treue & Martínez-Trujillo 1999): a feature cue at θ_A, θ_B, or none.

Each stream has its own gate: the spatial one is the pulvinar's multiplicative gate on the
column → readout transmission (``gate``), the feature one the top-down gain inside the columns
(feature-similarity gain).  The readout combines both.  All 3 × 3 combinations, interleaved.

Metrics (summary.json), A's share of the feedforward charge A and B deliver to the readout,
Q_A / (Q_A + Q_B) (the circuit's ground-truth mixture weight; bioattn.protocols.scene):
- ``share_a_none``; ``share_a_spatial`` / ``share_a_feature`` / ``share_a_both``: A cued by
  the spatial stream / the feature stream / both; ``share_a_conflict``: space on A, feature on B;
- ``spatial_effect`` = share_a_spatial − share_a_none, ``feature_effect`` likewise, and
  ``interaction`` = (share_a_both − share_a_none) − spatial_effect − feature_effect
  (0 = the two streams add);
- ``gate_a_spatial`` / ``gate_a_none``: the pulvinar gate at A with / without the spatial cue;
  ``column_gain_a_feature``: A's column (A-preferring cells) with the feature cue on A over none;
- every metric has ``<metric>_ci``, its 95 % interval: a bias-corrected bootstrap over trials with
  one seed (one sample: one repeat of all 9 combinations), Student t over seeds with several
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

NAME = "two-streams"
CUES = ("none", "a", "b")


@dataclass(frozen=True)
class TwoStreamsParams(sc.SceneTiming):
    angle_a: float = param("deg")
    angle_b: float = param("deg")
    contrast: float = param("float", positive=True)


def design(p: TwoStreamsParams, n_loc: int, n_trials: int) -> list[sc.SceneTrial]:
    # Distractors evenly spaced from the A-B midpoint: the set is mirror-symmetric about the
    # midpoint axis, which swaps A and B, so neither is favoured by its distractors' features.
    mid = (p.angle_a + p.angle_b) / 2
    angles = [p.angle_a, p.angle_b]
    angles += [mid + 2 * np.pi * k / (n_loc - 2) for k in range(n_loc - 2)]
    items = [(float(a % (2 * np.pi)), p.contrast) for a in angles[:n_loc]]
    blocks = []
    for k in range(n_trials):
        block = []
        for s, spatial in enumerate(CUES):
            for f, feature in enumerate(CUES):
                location = {"none": None, "a": 0, "b": 1}[spatial]
                query = {"none": None, "a": p.angle_a, "b": p.angle_b}[feature]
                labels = {"spatial": s, "feature": f, "repeat": k}
                block.append(sc.SceneTrial(list(items), query, 1.0, location, labels))
        blocks.append(block)
    return sc.interleave(p, blocks)


def analyse(
    share: np.ndarray,
    gate: np.ndarray,
    column: np.ndarray,
    spatial: np.ndarray,
    feature: np.ndarray,
) -> dict[str, float]:
    """Summary metrics (module docstring), every array (sample, trial): one sample per repeat
    block of every seed (seed-major), its trials in run order.  A's charge share, the gate at
    A's location, the mean count of A's cells in A's column, and the trials' spatial and
    feature cue indices (into ``CUES``)."""
    share, gate, column, spatial, feature = (
        x.reshape(-1) for x in (share, gate, column, spatial, feature)
    )

    def mean_share(s: int, f: int) -> float:
        return float(np.nanmean(share[(spatial == s) & (feature == f)]))

    none, a, b = (CUES.index(c) for c in CUES)
    summary = {
        "share_a_none": mean_share(none, none),
        "share_a_spatial": mean_share(a, none),
        "share_a_feature": mean_share(none, a),
        "share_a_both": mean_share(a, a),
        "share_a_conflict": mean_share(a, b),
    }
    summary["spatial_effect"] = summary["share_a_spatial"] - summary["share_a_none"]
    summary["feature_effect"] = summary["share_a_feature"] - summary["share_a_none"]
    summary["interaction"] = (
        summary["share_a_both"] - summary["share_a_none"]
        - summary["spatial_effect"] - summary["feature_effect"]
    )  # fmt: skip
    summary["gate_a_spatial"] = float(gate[spatial == a].mean())
    summary["gate_a_none"] = float(gate[spatial == none].mean())
    no_space = spatial == none
    summary["column_gain_a_feature"] = float(
        column[no_space & (feature == a)].mean() / column[no_space & (feature == none)].mean()
    )
    return summary


def by_repeat(
    trials: list[sc.SceneTrial], share: np.ndarray, gate: np.ndarray, column: np.ndarray
) -> list[np.ndarray]:
    """:func:`analyse`'s arrays from the per-trial ``share``, ``gate`` and ``column`` (seed,
    trial) and the trials' cue labels: each (seed·repeat, trial of the block), seed-major, so
    that one bootstrap sample is one repeat of all 9 cue combinations (the block's trials in
    run order: sc.interleave keeps the blocks together, so this is a reshape)."""
    repeat = np.array([t.labels["repeat"] for t in trials])
    order = np.argsort(repeat, kind="stable")
    spatial = np.array([t.labels["spatial"] for t in trials])
    feature = np.array([t.labels["feature"] for t in trials])
    n_samples = len(share) * (int(repeat.max()) + 1)
    return [
        np.broadcast_to(x, share.shape)[:, order].reshape(n_samples, -1)
        for x in (share, gate, column, spatial, feature)
    ]


def run(model: Model, options: RunOptions) -> ProtocolResult:
    """Run two streams: spatial cue (A / B / none) × feature cue (A / B / none) × ``n_trials``
    per seed; returns how far each stream moves the readout towards its item, the
    ground-truth charge shares and the figure.  ``options``: seeds, trials, scale, target,
    progress (:class:`RunOptions`)."""
    r = sc.prepare(model, NAME, design, options)
    p, seeds, n_loc, trials, window = r.p, r.seeds, r.n_loc, r.trials, r.window
    outputs = common.run_seeds(model, r.schedule, r.settings)
    measured = sc.measure(outputs, r.windows, model)

    # Ground truth of the mixture: each column's feedforward charge onto the readout.
    charge = measured["ff_charge"]  # (seed, trial, location)
    share = charge[..., 0] / (charge[..., 0] + charge[..., 1])

    gate = measured["gate"][..., 0]
    n_col = outputs[0].n("column") // n_loc
    cells = sc.item_cells(2 * np.pi * np.arange(n_col) / n_col, p.angle_a, p.cell_window)
    column_a = measured["column"][:, :, 0, cells].mean(axis=2)

    samples = by_repeat(trials, share, gate, column_a)
    summary = analyse(*samples)
    summary |= common.bootstrap_intervals(analyse, samples, seed=seeds[0])

    data = {
        "share_a": xr.DataArray(share, dims=("seed", "trial"), attrs={"units": "1"}),
        **sc.measures_dataset(measured, window),
        **sc.trial_labels(trials, n_loc),
        **common.spikes_dataset(outputs),
    }  # fmt: skip
    coords = {
        "seed": seeds,
        "trial": np.arange(len(trials)),
        "location": np.arange(n_loc),
        **sc.cell_coordinates(outputs, n_loc),
    }
    dataset = xr.Dataset(data, coords=coords, attrs={"protocol": NAME, "model": model.name})
    from bioattn.figures import two_streams_figure

    return ProtocolResult(dataset, summary, {"two_streams": two_streams_figure(dataset, summary)})


PROTOCOL = register(
    Protocol(
        NAME,
        "spatial (PPC/pulvinar) and feature (PFC) queries on one scene: two heads",
        TwoStreamsParams,
        run,
        circuit="multi_item",
        default_model="multi_item",
    )
)
