"""Feature-based attention: tuning curves with and without a PFC cue (McAdams & Maunsell 1999;
Treue & Martínez-Trujillo 1999; Ardid, Wang & Compte 2007).

Each trial: inter-trial interval → cue epoch (a tuned input to PFC at the attended direction θ_A,
or nothing in the no-cue condition) → delay (the PFC bump holds θ_A) → stimulus at direction θ_s
→ erase (PFC bump ended).  θ_s runs over ``n_directions`` evenly spaced directions; conditions
are interleaved; trials × seeds.

Because the ring is rotation invariant, one attended direction and all stimulus directions give
every attended–preferred difference: a cell with preferred θ_i sees attention at θ_A − θ_i.

Metrics (summary.json):
- ``gain_pref`` = A/U, rates of cells preferring θ_A (within ``cell_window``) to a stimulus at θ_A,
  cued (A) vs not (U).  McAdams & Maunsell 1999: ≈ 1.26.
- ``width_ratio`` = FWHM of the von Mises fit of those cells' tuning curve, cued / not.
- ``fsg_pref``, ``fsg_antipref``: modulation index (A − U)/(A + U) of cells stimulated at their
  preferred direction when attention is at / opposite their preferred direction.
- ``fano_*``, ``noise_corr_*``: cells within ``population_window`` of θ_A, all directions as
  conditions, cued ("attended") vs not; ``noise_corr_similar_*``: pairs (of 256 evenly spaced
  cells) whose preferences differ by < 15°, the first bin of the correlation-vs-similarity
  curve ``noise_corr_by_similarity`` in the dataset; ``gamma_power_*``: 30–80 Hz LFP-proxy
  power in the stimulus window (A²/Hz·Hz = A²); ``relative_gamma_*``: that power over the total
  power; ``spike_lfp_coherence_*``: gamma-band coherence of the ``population_window`` cells' pooled
  spikes with the LFP proxy, over all trials of the condition (Fries et al. 2001).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import xarray as xr

from bioattn import stats
from bioattn.config import Model, param
from bioattn.protocols import common
from bioattn.protocols.registry import Protocol, ProtocolResult, RunOptions, register
from bioattn.schedule import Schedule

NAME = "feature-attention"
CUE_CONDITIONS = ("uncued", "cued")


@dataclass(frozen=True)
class FeatureAttentionParams:
    n_directions: int = param("int")
    attend_angle: float = param("deg")
    contrast: float = param("float", positive=True)
    n_trials: int = param("int")
    n_seeds: int = param("int")
    t_iti: float = param("s")
    t_cue: float = param("s")
    t_delay: float = param("s")
    t_stimulus: float = param("s", positive=True)
    t_erase: float = param("s")
    analysis_offset: float = param("s")
    cell_window: float = param("deg", positive=True)
    population_window: float = param("deg", positive=True)


def build_schedule(p: FeatureAttentionParams, resolution: float, n_trials: int) -> Schedule:
    schedule = Schedule(resolution)
    directions = 2 * np.pi * np.arange(p.n_directions) / p.n_directions
    for trial in range(n_trials):
        for d, direction in enumerate(directions):
            for cued in (0, 1):
                schedule.add_trial(
                    {"cue": cued, "direction": d, "trial": trial, "repeat": trial},
                    common.cued_stimulus_epochs(p, cued, direction, p.contrast),
                )
    return schedule


def analyse(
    counts: np.ndarray,
    window: float,
    angles: np.ndarray,
    directions: np.ndarray,
    p: FeatureAttentionParams,
) -> dict[str, np.ndarray | float]:
    """Attention metrics from counts shaped (cue, direction, trial·seed, neuron)."""
    rates = counts / window
    mean = rates.mean(axis=2)  # (cue, direction, neuron)
    a_dir = int(np.argmin(common.angular_distance(directions, p.attend_angle)))
    near_attended = common.angular_distance(angles, p.attend_angle) <= p.cell_window
    tuning = mean[:, :, near_attended].mean(axis=2)  # (cue, direction)
    gain_pref = tuning[1, a_dir] / tuning[0, a_dir]
    fits = [stats.fit_tuning_curve(directions, tuning[c]) for c in range(2)]
    width_ratio = fits[1]["fwhm_deg"] / fits[0]["fwhm_deg"]
    # Feature-similarity gain: cells stimulated at their preferred direction, attention offset.
    offsets = common.angular_distance(directions, p.attend_angle)
    mi = np.empty(directions.size)
    for d, direction in enumerate(directions):
        cells = common.angular_distance(angles, direction) <= p.cell_window
        a, u = mean[1, d, cells].mean(), mean[0, d, cells].mean()
        mi[d] = stats.modulation_index(a, u)
    unique_offsets = np.unique(np.round(offsets, 9))
    fsg = np.array([mi[np.isclose(offsets, o)].mean() for o in unique_offsets])
    population = common.angular_distance(angles, p.attend_angle) <= p.population_window
    variability = {
        cue: common.fano_and_noise_correlation(counts[c][:, :, population])
        for c, cue in enumerate(CUE_CONDITIONS)
    }
    by_similarity = np.stack(
        [common.noise_correlation_by_similarity(counts[c], angles) for c in range(2)]
    )  # (cue, preference-difference bin)
    return {
        "tuning": tuning,
        "fits": fits,
        "gain_pref": float(gain_pref),
        "width_ratio": float(width_ratio),
        "fsg_offsets": unique_offsets,
        "fsg": fsg,
        "fsg_pref": float(fsg[0]),
        "fsg_antipref": float(fsg[-1]),
        "fano_attended": variability["cued"][0],
        "fano_unattended": variability["uncued"][0],
        "noise_corr_attended": variability["cued"][1],
        "noise_corr_unattended": variability["uncued"][1],
        "noise_corr_by_similarity": by_similarity,
        "noise_corr_similar_attended": float(by_similarity[1, 0]),
        "noise_corr_similar_unattended": float(by_similarity[0, 0]),
    }


#: Bootstrap resamples of this protocol's intervals (each refits two tuning curves: ~40 ms).
FIT_RESAMPLES = 500


def _gamma_metrics(gamma: np.ndarray, relative: np.ndarray) -> dict[str, float]:
    """Gamma power, absolute and relative, by cue, from (cue, direction, sample) arrays."""
    return {
        "gamma_power_attended": float(gamma[1].mean()),
        "gamma_power_unattended": float(gamma[0].mean()),
        "relative_gamma_attended": float(relative[1].mean()),
        "relative_gamma_unattended": float(relative[0].mean()),
    }


def run(model: Model, options: RunOptions) -> ProtocolResult:
    """Run the feature-attention protocol: ``n_directions`` stimulus directions × cue (none / at
    θ_A) × ``n_trials`` per seed in one schedule; returns tuning curves with and without the
    PFC cue, ``gain_pref``, ``width_ratio``, the feature-similarity gain, Fano factors, noise
    correlations, gamma power and the figure (module docstring).  ``options``: seeds, trials,
    scale, target, progress (:class:`RunOptions`)."""
    p: FeatureAttentionParams = common.protocol_params(model, NAME)
    seeds, n_trials = common.trial_counts(p, options)
    resolution = float(model["simulation"].schedule_dt)
    schedule = build_schedule(p, resolution, n_trials)
    settings = common.RunSettings(seeds, options)
    outputs = common.run_seeds(model, schedule, settings)

    window = float(p.t_stimulus - p.analysis_offset)
    windows = schedule.windows("stimulus", offset=float(p.analysis_offset))
    counts = common.counts_in(outputs, windows)  # (seed, trial, neuron)
    n_dirs, n_cells = p.n_directions, outputs[0].n_sensory
    shaped = common.cue_condition_axes(counts, n_trials, n_dirs)  # (cue, dir, trial, seed, cell)
    angles = 2 * np.pi * np.arange(n_cells) / n_cells
    directions = 2 * np.pi * np.arange(n_dirs) / n_dirs
    pooled = shaped.reshape(2, n_dirs, n_trials * len(seeds), n_cells)
    result = analyse(pooled, window, angles, directions, p)

    freqs, psd, gamma = common.lfp_spectra(outputs, windows)
    relative = common.cue_condition_axes(common.relative_gamma(freqs, psd), n_trials, n_dirs)
    gamma = common.cue_condition_axes(gamma, n_trials, n_dirs)
    psd = common.cue_condition_axes(psd, n_trials, n_dirs)
    population = common.angular_distance(angles, p.attend_angle) <= p.population_window
    cue_of_window = np.array([trial.condition["cue"] for trial in schedule.trials])
    coherence = {
        cue: common.spike_lfp_coherence(outputs, windows[cue_of_window == c], population)
        for c, cue in enumerate(CUE_CONDITIONS)
    }
    rate_time, traces = common.trial_rate_traces(outputs, schedule)
    traces = {a: common.cue_condition_axes(t, n_trials, n_dirs) for a, t in traces.items()}

    coords = {
        "cue": list(CUE_CONDITIONS),
        "direction": np.degrees(directions),
        "trial": np.arange(n_trials),
        "seed": seeds,
        "neuron": np.arange(n_cells),
        "preferred": ("neuron", np.degrees(angles)),
        "frequency": freqs,
        "coherence_frequency": coherence["cued"][0],
        "rate_time": rate_time,
        "offset": np.degrees(result["fsg_offsets"]),
        "preference_difference": list(common.SIMILARITY_CENTRES),
    }
    dims5 = ("cue", "direction", "trial", "seed", "neuron")
    data = {
        "counts": xr.DataArray(shaped, dims=dims5, attrs={"units": "spikes", "window_s": window}),
        "rates": xr.DataArray(shaped / window, dims=dims5, attrs={"units": "Hz"}),
        "tuning": xr.DataArray(result["tuning"], dims=("cue", "direction"), attrs={"units": "Hz"}),
        "fsg_index": xr.DataArray(result["fsg"], dims="offset", attrs={"units": "1"}),
        "noise_corr_by_similarity": xr.DataArray(
            result["noise_corr_by_similarity"],
            dims=("cue", "preference_difference"),
            attrs={"units": "1"},
        ),
        "gamma_power": xr.DataArray(gamma, dims=dims5[:4], attrs={"units": "A^2"}),
        "relative_gamma": xr.DataArray(relative, dims=dims5[:4], attrs={"units": "1"}),
        "spike_lfp_coherence": xr.DataArray(
            np.stack([coherence[cue][1] for cue in CUE_CONDITIONS]),
            dims=("cue", "coherence_frequency"),
            attrs={"units": "1"},
        ),
        "lfp_psd": xr.DataArray(psd, dims=(*dims5[:4], "frequency"), attrs={"units": "A^2/Hz"}),
        **{
            f"{area}_rate": xr.DataArray(
                trace, dims=(*dims5[:4], "rate_time"), attrs={"units": "Hz"}
            )
            for area, trace in traces.items()
        },
        **common.spikes_dataset(outputs),
    }
    dataset = xr.Dataset(data, coords=coords, attrs={"protocol": NAME, "model": model.name})
    dataset["direction"].attrs["units"] = "deg"
    dataset["offset"].attrs["units"] = "deg"
    summary = {
        key: result[key]
        for key in (
            "gain_pref",
            "width_ratio",
            "fsg_pref",
            "fsg_antipref",
            "fano_attended",
            "fano_unattended",
            "noise_corr_attended",
            "noise_corr_unattended",
            "noise_corr_similar_attended",
            "noise_corr_similar_unattended",
        )
    }
    summary |= _gamma_metrics(gamma.reshape(2, n_dirs, -1), relative.reshape(2, n_dirs, -1))
    for cue, label in (("cued", "attended"), ("uncued", "unattended")):
        freqs_c, values = coherence[cue]
        summary[f"spike_lfp_coherence_{label}"] = common.gamma_mean(freqs_c, values)

    # Intervals by bootstrap over trials: one sample is one repeat of every cue × direction.
    def resampled(counts_t: np.ndarray, gamma_t: np.ndarray, relative_t: np.ndarray) -> dict:
        metrics = analyse(np.moveaxis(counts_t, 0, 2), window, angles, directions, p)
        metrics = {key: metrics[key] for key in summary if key in metrics}
        return metrics | _gamma_metrics(np.moveaxis(gamma_t, 0, 2), np.moveaxis(relative_t, 0, 2))

    summary |= common.bootstrap_intervals(
        resampled,
        [np.moveaxis(a.reshape(2, n_dirs, n_trials * len(seeds), *a.shape[4:]), 2, 0)
         for a in (shaped, gamma, relative)],
        seed=seeds[0], n_resamples=FIT_RESAMPLES,
    )  # fmt: skip
    from bioattn.figures import feature_attention_figure

    return ProtocolResult(
        dataset, summary, {"feature_attention": feature_attention_figure(dataset, summary)}
    )


register(
    Protocol(
        NAME,
        "tuning curves with and without a PFC feature cue (gain, width, FSG)",
        FeatureAttentionParams,
        run,
    )
)
