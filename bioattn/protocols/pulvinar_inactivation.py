"""Pulvinar inactivation (Zhou, Schafer & Desimone 2016) in the multi-item circuit.

Every location holds an item (features evenly spread, location b at ``first_angle`` + b·360°/L).
A spatial cue selects either the recorded location (``attend in``) or another one (``attend
out``); no feature cue.  The same trials run four times per seed: intact; with a
muscimol-like tonic GABA_A conductance on every pulvinar relay cell (``inactivation_g``,
replacing ``pulvinar.g_muscimol``: the direct cortical feedback is the only route left); with
the direct PPC → column feedback silenced (``[feedback]`` conductances 0: the pulvinar is the
only route left); and with both silenced (the control: no route for spatial attention left).
``states`` picks which of the four run (all by default; ``intact`` is required: every share and
modulation is compared with it; the shares are reported for the states that ran).

Recorded: column cells of the recorded location preferring its item (within ``cell_window``).

Metrics (summary.json):
- ``ami_intact``, ``ami_inactivated``, ``ami_feedback_silenced``, ``ami_both_silenced``:
  attention modulation index (A − U)/(A + U) of those cells, A = attend in, U = attend out
  (rates in the stimulus window);
- ``direct_share`` = ami_inactivated / ami_intact and ``pulvinar_share`` =
  ami_feedback_silenced / ami_intact: how much of the modulation each route carries alone;
- ``evoked_<state>``: their evoked rate, stimulus window minus the
  spontaneous rate in the inter-trial interval (before any cue), averaged over both attention
  conditions (Hz);
- ``pulvinar_rate_<state>``: mean relay rate (Hz), a check that the inactivation silenced the
  relay;
- ``noise_corr_similar_attend_in_<state>``, ``noise_corr_similar_attend_out_<state>``: spike-count
  correlation of recorded-column cell pairs whose preferences differ by < 15° (trials of all
  seeds pooled; the curve over the preference difference is ``noise_corr_by_similarity_*`` in
  the dataset); Cohen & Maunsell 2009: attention lowers them (here through the shared gain
  that spatial attention stabilises, ``spatial_cue.stabilization``,
  :mod:`bioattn.circuits.variability`).
Zhou et al.: after inactivation the attention effect and the evoked response both fall.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import xarray as xr

from bioattn import stats
from bioattn.config import Model, param
from bioattn.protocols import common
from bioattn.protocols import scene as sc
from bioattn.protocols.registry import Protocol, ProtocolResult, RunOptions, register
from bioattn.units import nS

NAME = "pulvinar-inactivation"
STATES = ("intact", "inactivated", "feedback_silenced", "both_silenced")
#: The direct feedback's conductances (silenced in the ``feedback_silenced`` state).
FEEDBACK = ("feedback.g_ampa_e", "feedback.g_nmda_e", "feedback.g_ampa_i")
ATTENTION = ("out", "in")


@dataclass(frozen=True)
class PulvinarInactivationParams(sc.SceneTiming):
    first_angle: float = param("deg")
    contrast: float = param("float", positive=True)
    recorded_location: int = param("int")
    away_location: int = param("int")
    inactivation_g: object = param("nS", positive=True)
    # Each state is a run of the same schedule on the same build: not structural.
    states: tuple = param(
        "texts", choices=STATES, required=("intact",), structural=False, before=list(STATES)
    )


def design(p: PulvinarInactivationParams, n_loc: int, n_trials: int) -> list[sc.SceneTrial]:
    rec, away = sc.check_two_locations(
        "protocol.pulvinar_inactivation", p.recorded_location, p.away_location, n_loc
    )
    items = [(p.first_angle + 2 * np.pi * b / n_loc, p.contrast) for b in range(n_loc)]
    blocks = [
        [
            sc.SceneTrial(list(items), None, 1.0, (away, rec)[a], {"attend": a, "repeat": k})
            for a in range(len(ATTENTION))
        ]
        for k in range(n_trials)
    ]
    return sc.interleave(p, blocks)


def _similarity_curve(counts: np.ndarray, preferences: np.ndarray) -> np.ndarray:
    """Noise correlation by preference difference of ``counts`` (trial, cell), one condition."""
    return common.noise_correlation_by_similarity(counts[None], preferences)


def analyse(
    rates: np.ndarray,
    evoked: np.ndarray,
    counts: np.ndarray,
    preferences: np.ndarray,
    states: tuple[str, ...] = STATES,
) -> dict[str, float]:
    """Metrics (module docstring) from the recorded cells' rates and evoked rates (sample,
    attention, state), the recorded column's counts (sample, attention, state, cell) and the
    cells' preferred angles (rad); ``states`` names the state axis (``intact`` among them)."""
    out: dict[str, float] = {}
    for k, state in enumerate(states):
        a, u = rates[:, 1, k].mean(), rates[:, 0, k].mean()
        out[f"ami_{state}"] = float(stats.modulation_index(a, u))
        out[f"evoked_{state}"] = float(evoked[:, :, k].mean())
        out[f"rate_attend_in_{state}"] = float(a)
        out[f"rate_attend_out_{state}"] = float(u)
        for m, label in enumerate(ATTENTION):
            similar = _similarity_curve(counts[:, m, k], preferences)[0]
            out[f"noise_corr_similar_attend_{label}_{state}"] = float(similar)
    for route, state in (("direct", "inactivated"), ("pulvinar", "feedback_silenced")):
        if state in states:
            out[f"{route}_share"] = out[f"ami_{state}"] / out["ami_intact"]
    return out


def run(model: Model, options: RunOptions) -> ProtocolResult:
    """Run pulvinar inactivation: attend in / out × ``n_trials`` per seed, intact, with
    ``inactivation_g`` on every relay cell, with the direct feedback silenced and with both
    (those of them in ``states``; the same build: only run-time values change); returns the
    attention modulation indices, evoked rates and pulvinar rates of each state, each route's
    share (where its state ran) and the figure.
    ``options``: seeds, trials, scale, target, progress (:class:`RunOptions`)."""
    r = sc.prepare(model, NAME, design, options)
    states = tuple(s for s in STATES if s in r.p.states)  # the order of the figure's axis
    p, seeds, n_loc, trials, window, stim = r.p, r.seeds, r.n_loc, r.trials, r.window, r.windows
    settings, progress = r.settings, r.settings.progress
    rec = p.recorded_location - 1

    per_state, measured_by_state, spikes, recorded = {}, {}, {}, {}
    muscimol = {"pulvinar.g_muscimol": p.inactivation_g}
    no_feedback = dict.fromkeys(FEEDBACK, 0.0 * nS)
    edits = {
        "intact": {},
        "inactivated": muscimol,
        "feedback_silenced": no_feedback,
        "both_silenced": {**muscimol, **no_feedback},
    }
    attend = np.array([t.labels["attend"] for t in trials])
    for state in states:
        state_model = model.replace(edits[state]) if edits[state] else model
        if progress:
            print(f"{NAME}: {state}", flush=True)
        outputs = common.run_seeds(state_model, r.schedule, settings)
        measured = sc.measure(outputs, stim, state_model)
        angle = p.first_angle + 2 * np.pi * rec / n_loc
        per_state[state] = sc.recorded_rates(outputs, measured, r, rec, angle)
        recorded[state] = measured["column"][:, :, rec, :]  # (seed, trial, cell)
        measured_by_state[state] = measured
        spikes[state] = outputs

    # Trials first, as (seed·repeat, attention, state[, cell]): one sample is one repeat of both
    # attention conditions (interleaved in one block), what the bootstrap over trials draws.
    repeat = np.array([t.labels["repeat"] for t in trials])
    order = np.lexsort((attend, repeat))

    def by_repeat(x: np.ndarray) -> np.ndarray:  # (state, seed, trial, ...)
        y = np.moveaxis(x[:, :, order], 0, 2)  # (seed, trial, state, ...)
        return y.reshape(-1, len(ATTENTION), *y.shape[2:])

    rates = by_repeat(np.stack([per_state[s][0] for s in states]))
    evoked = by_repeat(np.stack([per_state[s][1] for s in states]))
    counts = by_repeat(np.stack([recorded[s] for s in states]))
    preferences = 2 * np.pi * np.arange(counts.shape[-1]) / counts.shape[-1]
    correlations = {
        state: np.stack(
            [_similarity_curve(counts[:, a, k], preferences) for a in range(len(ATTENTION))]
        )  # (attention, preference-difference bin)
        for k, state in enumerate(states)
    }
    summary = analyse(rates, evoked, counts, preferences, states)
    for state in states:
        summary[f"pulvinar_rate_{state}"] = float(measured_by_state[state]["pulvinar_rate"].mean())
    summary |= common.bootstrap_intervals(
        lambda *x: analyse(*x, preferences, states), [rates, evoked, counts], seed=seeds[0]
    )

    data = {
        "recorded_rate": xr.DataArray(
            np.stack([per_state[s][0] for s in states]), dims=("state", "seed", "trial"),
            attrs={"units": "Hz"},
        ),
        "recorded_evoked": xr.DataArray(
            np.stack([per_state[s][1] for s in states]), dims=("state", "seed", "trial"),
            attrs={"units": "Hz"},
        ),
        **sc.trial_labels(trials, n_loc),
        "noise_corr_by_similarity": xr.DataArray(
            np.stack([correlations[s] for s in states]),
            dims=("state", "attend", "preference_difference"), attrs={"units": "1"},
        ),
    }  # fmt: skip
    for state in states:
        for name, array in sc.measures_dataset(measured_by_state[state], window).items():
            data[f"{name}_{state}"] = array
    coords = {
        "state": list(states),
        "attend": list(ATTENTION),
        "preference_difference": list(common.SIMILARITY_CENTRES),
        "seed": seeds,
        "trial": np.arange(len(trials)),
        "location": np.arange(n_loc),
        **sc.cell_coordinates(spikes["intact"], n_loc),
    }
    dataset = xr.Dataset(data, coords=coords, attrs={"protocol": NAME, "model": model.name})
    from bioattn.figures import pulvinar_inactivation_figure

    return ProtocolResult(
        dataset, summary, {"pulvinar_inactivation": pulvinar_inactivation_figure(dataset, summary)}
    )


register(
    Protocol(
        NAME,
        "spatial attention with the pulvinar intact vs muscimol-silenced (Zhou et al. 2016)",
        PulvinarInactivationParams,
        run,
        circuit="multi_item",
        default_model="multi_item",
    )
)
