"""Salience from phasic dopamine: does an item paired with a DA burst win attention against an
equal-contrast unpaired item?  (Value-driven capture, Anderson, Laurent & Yantis 2011; D1 in FEF
raising attention at one location, Noudoost & Moore 2011), multi-item circuit.

Two items of equal contrast (features ``angle_paired`` and ``angle_unpaired``) at two locations,
no cue.  At the stimulus onset a DA burst of relative size s (× ``neuromod.da.burst``) is
released tagged to the paired item's location (bioattn.circuits.neuromodulators.release: it
acts on that location's PPC pool through ``neuromod.da.d1.salience``).  The paired item sits at
either location in half of the trials (counterbalanced); every burst size × side is one trial
of every repeat.

Per trial: the feedforward charge each item's column delivers to the readout (what attention
selects, bioattn.circuits.scene) and the rates of the two PPC pools.  Metrics (summary.json):
``sizes``; ``win_rate_by_burst`` — the share of trials in which the paired item's charge
exceeds the unpaired one's; ``paired_share_by_burst`` — its mean share of the two items' charge
(0.5 = equal); ``ppc_difference_by_burst`` — paired minus unpaired pool rate (Hz); each per size
as ``<metric>_burst_<s>`` with its interval; ``paired_share_slope``: slope of the share against
the burst size.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import xarray as xr

from bioattn.config import Model, param
from bioattn.protocols import common, dose
from bioattn.protocols import scene as sc
from bioattn.protocols.registry import Protocol, ProtocolResult, RunOptions, register

NAME = "salience"
METRICS = ("win_rate", "paired_share", "ppc_difference")


@dataclass(frozen=True)
class SalienceParams(sc.SceneTiming):
    angle_paired: float = param("deg")
    angle_unpaired: float = param("deg")
    contrast: float = param("float", positive=True)
    location_a: int = param("int")
    location_b: int = param("int")
    sizes: tuple = param("floats")


def size_name(size: float) -> str:
    return f"burst_{size:g}"


def design(p: SalienceParams, n_loc: int, n_trials: int) -> list[sc.SceneTrial]:
    a, b = sc.check_two_locations("protocol.salience", p.location_a, p.location_b, n_loc)
    dose.check_doses("protocol.salience.sizes", p.sizes, positive=False)
    blocks = []
    for k in range(n_trials):
        block = []
        for c, size in enumerate(p.sizes):
            for side, (paired, unpaired) in enumerate(((a, b), (b, a))):
                items: list = [None] * n_loc
                items[paired] = (p.angle_paired, p.contrast)
                items[unpaired] = (p.angle_unpaired, p.contrast)
                tag = (("da", paired, float(size)),) if size > 0 else ()
                labels = {"size": c, "side": side, "repeat": k, "paired": paired}
                block.append(sc.SceneTrial(items, None, 1.0, None, labels, tagged_release=tag))
        blocks.append(block)
    return sc.interleave(p, blocks)


def by_repeat(x: np.ndarray, trials: list[sc.SceneTrial], n_sizes: int) -> np.ndarray:
    """(seed, trial) → (sample, size, side): one sample is one repeat of one seed."""
    return dose.by_repeat(x, sc.labels(trials), ("size", "side"), (n_sizes, 2))


def analyse(wins: np.ndarray, share: np.ndarray, ppc: np.ndarray) -> dict:
    """Per-size metrics (``<metric>_level_<k>`` for size k) from (sample, size, side) arrays,
    both sides pooled."""
    values = {"win_rate": wins, "paired_share": share, "ppc_difference": ppc}
    return dose.level_metrics({name: a.mean(axis=(0, 2)) for name, a in values.items()})


def run(model: Model, options: RunOptions) -> ProtocolResult:
    """Run the salience protocol: two equal items, the paired one with a tagged DA burst of every
    size at its onset, both sides × ``n_trials`` per seed; returns how often and by how much the
    paired item wins the readout's drive and its PPC pool's advantage per burst size, and the
    figure.  ``options``: seeds, trials, scale, target, progress."""
    r = sc.prepare(model, NAME, design, options)
    p, seeds, trials, n_loc = r.p, r.seeds, r.trials, r.n_loc
    sizes = np.asarray(p.sizes, dtype=float)
    outputs = common.run_seeds(model, r.schedule, r.settings)
    measured = sc.measure(outputs, r.windows, model)
    paired = np.array([t.labels["paired"] for t in trials])
    unpaired = np.where(paired == p.location_a - 1, p.location_b - 1, p.location_a - 1)
    rows = np.arange(len(trials))
    charge = measured["ff_charge"]  # (seed, trial, location)
    mine, other = charge[:, rows, paired], charge[:, rows, unpaired]
    ppc = measured["ppc_rate"][:, rows, paired] - measured["ppc_rate"][:, rows, unpaired]
    arrays = {"wins": (mine > other).astype(float), "share": mine / (mine + other), "ppc": ppc}
    samples = [by_repeat(x, trials, len(sizes)) for x in arrays.values()]
    point = analyse(*samples)
    intervals = common.bootstrap_intervals(analyse, samples, seed=seeds[0])
    summary: dict = {"sizes": [float(s) for s in sizes]}
    names = [size_name(size) for size in sizes]
    summary |= dose.per_level_summary(point, intervals, METRICS, names, axis="burst")
    summary["paired_share_slope"] = float(np.polyfit(sizes, summary["paired_share_by_burst"], 1)[0])

    dims = ("seed", "trial")
    data = {
        "paired_wins": xr.DataArray(arrays["wins"], dims=dims),
        "paired_share": xr.DataArray(arrays["share"], dims=dims),
        "ppc_difference": xr.DataArray(ppc, dims=dims, attrs={"units": "Hz"}),
        "burst_size": xr.DataArray(sizes[[t.labels["size"] for t in trials]], dims="trial"),
        **sc.trial_labels(trials, n_loc),
        **sc.measures_dataset(measured, r.window),
    }
    coords = {"seed": seeds, "trial": rows, "location": np.arange(n_loc),
              **sc.cell_coordinates(outputs, n_loc)}  # fmt: skip
    dataset = xr.Dataset(data, coords=coords, attrs={"protocol": NAME, "model": model.name})
    from bioattn.figures import salience_figure

    return ProtocolResult(dataset, summary, {"salience": salience_figure(dataset, summary)})


register(
    Protocol(
        NAME,
        "an item paired with phasic DA against an equal unpaired one (value-driven capture)",
        SalienceParams,
        run,
        circuit="multi_item",
        default_model="multi_item",
    )
)
