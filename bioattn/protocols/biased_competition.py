"""Biased competition (Reynolds, Chelazzi & Desimone 1999) in the multi-item circuit.

A preferred (θ_P) and a non-preferred (θ_N) item sit at two locations that the readout pools (one
receptive field).  Scenes: P alone, N alone, the pair; attention: to a location outside the
receptive field ("away", an empty location), to P's location or to N's location (a spatial cue
to that PPC pool, as the monkeys were cued to a location).  No feature cue.

The response is the mean rate of readout cells preferring θ_P (within ``cell_window``).
Reynolds et al. report: with attention away the pair response lies between the two single
responses; attending one item moves the pair response towards that item's single response.

Metrics (summary.json):
- ``r_pref``, ``r_nonpref``, ``r_pair`` (Hz): attention away;
- ``pair_shift_attend_pref`` = (R_pair,P − R_pair,away) / (R_P − R_pair,away),
  ``pair_shift_attend_nonpref`` = (R_pair,N − R_pair,away) / (R_N − R_pair,away): the fraction of
  the way from the unattended pair response to the attended item's single response (with
  attention away).  Accept 0.5 … 1.0 each (towards the attended item's response, not beyond);
- ``single_gain_attended`` = R_P,P / R_P,away: the preferred item alone, attended / attention
  away (McAdams & Maunsell 1999, V4: ≈ 1.26; accept 1.1 … 1.5);
- ``pair_between`` = 1 when R_N < R_pair < R_P (attention away), else 0.
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

NAME = "biased-competition"
SCENES = ("pref", "nonpref", "pair")
ATTENTION = ("away", "pref", "nonpref")


@dataclass(frozen=True)
class BiasedCompetitionParams(sc.SceneTiming):
    pref_angle: float = param("deg")
    nonpref_angle: float = param("deg")
    contrast: float = param("float", positive=True)
    pref_location: int = param("int")
    nonpref_location: int = param("int")
    away_location: int = param("int")


def _locations(p: BiasedCompetitionParams, n_loc: int) -> tuple[int, int, int]:
    # Locations are numbered from 1 in the model file (whole numbers >= 1).
    locs = (p.pref_location - 1, p.nonpref_location - 1, p.away_location - 1)
    if max(locs) >= n_loc or len(set(locs)) < 3:
        raise BioattnError(
            f"protocol.biased_competition locations {[x + 1 for x in locs]}: expected three "
            f"different locations in 1..{n_loc}"
        )
    return locs


def design(p: BiasedCompetitionParams, n_loc: int, n_trials: int) -> list[sc.SceneTrial]:
    loc_p, loc_n, loc_away = _locations(p, n_loc)
    attend = {"away": loc_away, "pref": loc_p, "nonpref": loc_n}
    blocks = []
    for k in range(n_trials):
        trials = []
        for s, scene in enumerate(SCENES):
            for a, att in enumerate(ATTENTION):
                items: list = [None] * n_loc
                if scene in ("pref", "pair"):
                    items[loc_p] = (p.pref_angle, p.contrast)
                if scene in ("nonpref", "pair"):
                    items[loc_n] = (p.nonpref_angle, p.contrast)
                labels = {"scene": s, "attend": a, "repeat": k}
                trials.append(sc.SceneTrial(items, None, 1.0, attend[att], labels))
        blocks.append(trials)
    return sc.interleave(p, blocks)


def analyse(rates: np.ndarray) -> dict[str, float]:
    """Metrics from the pref-cell rates shaped (scene, attention, trial)."""
    r = rates.mean(axis=2)
    away = ATTENTION.index("away")
    r_p, r_n, r_pair = r[0, away], r[1, away], r[2, away]

    def shift(att: str, single: float) -> float:
        return float((r[2, ATTENTION.index(att)] - r_pair) / (single - r_pair))

    return {
        "r_pref": float(r_p),
        "r_nonpref": float(r_n),
        "r_pair": float(r_pair),
        "r_pair_attend_pref": float(r[2, ATTENTION.index("pref")]),
        "r_pair_attend_nonpref": float(r[2, ATTENTION.index("nonpref")]),
        "pair_shift_attend_pref": shift("pref", r_p),
        "pair_shift_attend_nonpref": shift("nonpref", r_n),
        "pair_between": float(r_n < r_pair < r_p),
        "single_gain_attended": float(r[0, ATTENTION.index("pref")] / r_p),
    }


def run(model: Model, options: RunOptions) -> ProtocolResult:
    """Run biased competition: P alone, N alone and the pair × attention away / to P / to N ×
    ``n_trials`` per seed; returns the readout's responses, ``pair_shift_attend_pref`` and
    ``pair_shift_attend_nonpref`` and the figure.  ``options``: seeds, trials, scale, target,
    progress (:class:`RunOptions`)."""
    r = sc.prepare(model, NAME, design, options)
    p, seeds, n_loc, trials, window = r.p, r.seeds, r.n_loc, r.trials, r.window
    outputs = common.run_seeds(model, r.schedule, r.settings)
    measured = sc.measure(outputs, r.windows, model)
    n_read = outputs[0].n("readout")
    pref_cells = sc.item_cells(2 * np.pi * np.arange(n_read) / n_read, p.pref_angle, p.cell_window)
    rates = measured["readout"][:, :, pref_cells].mean(axis=2) / window  # (seed, trial)
    scene = np.array([t.labels["scene"] for t in trials])
    attend = np.array([t.labels["attend"] for t in trials])
    by_condition = np.stack(
        [
            np.stack([rates[:, (scene == s) & (attend == a)].ravel() for a in range(3)])
            for s in range(len(SCENES))
        ]
    )  # (scene, attention, trial·seed)
    summary = analyse(by_condition)
    trials_first = np.moveaxis(by_condition, 2, 0)
    summary |= common.bootstrap_intervals(
        lambda x: analyse(np.moveaxis(x, 0, 2)), [trials_first], seed=seeds[0]
    )

    data = {
        "pref_cell_rate": xr.DataArray(
            by_condition, dims=("scene", "attend", "sample"), attrs={"units": "Hz"}
        ),
        **sc.measures_dataset(measured, window),
        **sc.trial_labels(trials, n_loc),
        **common.spikes_dataset(outputs),
    }
    coords = {
        "scene": list(SCENES),
        "attend": list(ATTENTION),
        "seed": seeds,
        "trial": np.arange(len(trials)),
        "location": np.arange(n_loc),
        **sc.cell_coordinates(outputs, n_loc),
    }
    dataset = xr.Dataset(data, coords=coords, attrs={"protocol": NAME, "model": model.name})
    from bioattn.figures import biased_competition_figure

    return ProtocolResult(
        dataset, summary, {"biased_competition": biased_competition_figure(dataset, summary)}
    )


register(
    Protocol(
        NAME,
        "preferred + non-preferred item in one readout RF, attend away / either (Reynolds 1999)",
        BiasedCompetitionParams,
        run,
        circuit="multi_item",
        default_model="multi_item",
    )
)
