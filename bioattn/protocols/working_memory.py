"""Working memory in the PFC ring attractor (Compte, Brunel, Goldman-Rakic & Wang 2000).

Each trial: inter-trial interval → cue (tuned input to PFC at θ_c) → long delay without input →
erase.  The bump is measured by the first spatial Fourier component of the PFC ring's rates,
|z| with z = mean_j r_j e^{iθ_j} (Hz), in ``bin`` windows.  ``bump_persistence_s`` is the time
from cue offset until |z| first falls below ``bump_threshold`` (median over trials and seeds; if
it never falls, the delay length — a lower bound).  With recurrent NMDA removed
(``--set pfc.g_nmda_ee="0 nS"``) the bump should not outlast the cue.

Metrics (summary.json):
- ``bump_persistence_s`` (median over trials and seeds) and ``bump_persistence_min_s`` (their
  minimum);
- ``bump_drift_deg``: median distance of the bump centre from the cue in the last bin (deg);
- ``delay_bump_amplitude_hz``: mean |z| after cue offset (Hz);
- ``fano_sensory_delay``, ``noise_corr_sensory_delay``, ``gamma_power_delay``: the sensory
  ring's Fano factor, noise correlation and 30–80 Hz LFP-proxy power (A²) in the delay;
- every metric has ``<metric>_ci``, its 95 % interval: a bias-corrected bootstrap over trials with
  one seed, Student t over seeds with several (bioattn.api.seed_intervals).  The bootstrap of
  the minimum cannot reach below the observed minimum (a known limit of the bootstrap for
  extremes), and a censored persistence (never lost) gives a degenerate interval.
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

NAME = "working-memory"
#: Bootstrap resamples of this protocol's intervals (each computes the noise-correlation matrix
#: of the 1024-cell sensory ring: one :func:`analyse` call ~40 ms at the default design,
#: measured).
CORRELATION_RESAMPLES = 500


@dataclass(frozen=True)
class WorkingMemoryParams:
    cue_angle: float = param("deg")
    n_trials: int = param("int")
    n_seeds: int = param("int")
    t_iti: float = param("s")
    t_cue: float = param("s", positive=True)
    t_delay: float = param("s", positive=True)
    t_erase: float = param("s")
    bin: float = param("s", positive=True)
    bump_threshold: float = param("Hz", positive=True)


def analyse(
    persistence: np.ndarray,
    drift: np.ndarray,
    late_amplitude: np.ndarray,
    delay_counts: np.ndarray,
    gamma: np.ndarray,
) -> dict[str, float]:
    """Summary metrics (module docstring) from per-trial arrays, trials of all seeds pooled
    seed-major on the first axis: bump persistence (s) and drift (deg), shape (trial,); the bump
    amplitude after cue offset (trial, bin) in Hz; the sensory cells' delay counts (trial,
    neuron); the delay's gamma power (trial,) in A²."""
    fano, noise_corr = common.fano_and_noise_correlation(delay_counts[None])
    return {
        "bump_persistence_s": float(np.median(persistence)),
        "bump_persistence_min_s": float(np.min(persistence)),
        "bump_drift_deg": float(np.median(drift)),
        "delay_bump_amplitude_hz": float(late_amplitude.mean()),
        "fano_sensory_delay": fano,
        "noise_corr_sensory_delay": noise_corr,
        "gamma_power_delay": float(gamma.mean()),
    }


def run(model: Model, options: RunOptions) -> ProtocolResult:
    """Run the working-memory protocol: ``n_trials`` cue → delay → erase trials per seed; returns
    the PFC bump's amplitude and centre through every delay, ``bump_persistence_s``, the drift
    and the figure.  ``options``: seeds, trials, scale, target, progress
    (:class:`RunOptions`)."""
    p: WorkingMemoryParams = common.protocol_params(model, NAME)
    seeds, n_trials = common.trial_counts(p, options)
    schedule = Schedule(float(model["simulation"].schedule_dt))
    for trial in range(n_trials):
        schedule.add_trial(
            {"trial": trial},
            [
                ("iti", float(p.t_iti), {}),
                ("cue", float(p.t_cue), {"cue_angle": p.cue_angle}),
                ("delay", float(p.t_delay), {}),
                ("erase", float(p.t_erase), {"erase": True}),
            ],
        )
    outputs = common.run_seeds(model, schedule, common.RunSettings(seeds, options))

    bin_s = float(p.bin)
    span = float(p.t_cue + p.t_delay)
    n_bins = int(round(span / bin_s))
    cue_starts = schedule.windows("cue")[:, 0]
    edges = cue_starts[:, None] + bin_s * np.arange(n_bins + 1)[None, :]
    windows = np.stack([edges[:, :-1].ravel(), edges[:, 1:].ravel()], axis=1)
    n_pfc = outputs[0].n_pfc
    angles = 2 * np.pi * np.arange(n_pfc) / n_pfc
    counts = common.counts_in(outputs, windows, "pfc").reshape(len(seeds), n_trials, n_bins, n_pfc)
    rates = counts / bin_s
    amplitude, centre = stats.bump_amplitude(rates.reshape(-1, n_pfc), angles)
    amplitude = amplitude.reshape(len(seeds), n_trials, n_bins)
    centre = centre.reshape(len(seeds), n_trials, n_bins)
    times = (np.arange(n_bins) + 1) * bin_s  # bin ends, from cue onset
    t_cue_off = float(p.t_cue)
    persistence = np.array(
        [
            [
                stats.bump_persistence(times, amplitude[s, k], t_cue_off, float(p.bump_threshold))
                for k in range(n_trials)
            ]
            for s in range(len(seeds))
        ]
    )
    late = times > t_cue_off
    drift = np.degrees(common.angular_distance(centre[:, :, late][..., -1], p.cue_angle))

    # Sensory-area counts in the delay, (seed·trial, neuron).
    delay_counts = common.counts_in(outputs, schedule.windows("delay")).reshape(
        -1, outputs[0].n_sensory
    )
    freqs, psd, gamma = common.lfp_spectra(outputs, schedule.windows("delay"))

    rate_time, traces = common.trial_rate_traces(outputs, schedule)
    dims = ("seed", "trial", "time")
    data = {
        "pfc_rates": xr.DataArray(rates, dims=(*dims, "neuron"), attrs={"units": "Hz"}),
        **{
            f"{area}_rate": xr.DataArray(
                trace, dims=(*dims[:2], "rate_time"), attrs={"units": "Hz"}
            )
            for area, trace in traces.items()
        },
        "bump_amplitude": xr.DataArray(amplitude, dims=dims, attrs={"units": "Hz"}),
        "bump_centre": xr.DataArray(np.degrees(centre), dims=dims, attrs={"units": "deg"}),
        "bump_persistence": xr.DataArray(persistence, dims=dims[:2], attrs={"units": "s"}),
        "delay_lfp_psd": xr.DataArray(
            psd, dims=("seed", "trial", "frequency"), attrs={"units": "A^2/Hz"}
        ),
        "delay_gamma_power": xr.DataArray(gamma, dims=("seed", "trial"), attrs={"units": "A^2"}),
        **common.spikes_dataset(outputs),
    }
    coords = {
        "seed": seeds,
        "trial": np.arange(n_trials),
        "time": times,
        "neuron": np.arange(n_pfc),
        "frequency": freqs,
        "rate_time": rate_time,
    }
    dataset = xr.Dataset(
        data,
        coords=coords,
        attrs={
            "protocol": NAME,
            "model": model.name,
            "cue_off_s": t_cue_off,
            "threshold_hz": float(p.bump_threshold),
        },
    )
    dataset["time"].attrs["units"] = "s from cue onset"
    # Trials of all seeds pooled seed-major: one bootstrap sample is one trial.
    per_trial = [
        persistence.reshape(-1),
        drift.reshape(-1),
        amplitude[:, :, late].reshape(-1, int(late.sum())),
        delay_counts,
        gamma.reshape(-1),
    ]
    summary = analyse(*per_trial)
    summary |= common.bootstrap_intervals(
        analyse, per_trial, seed=seeds[0], n_resamples=CORRELATION_RESAMPLES
    )
    from bioattn.figures import working_memory_figure

    return ProtocolResult(
        dataset, summary, {"working_memory": working_memory_figure(dataset, summary)}
    )


register(
    Protocol(
        NAME,
        "PFC bump after a transient cue (persistent activity, Compte 2000)",
        WorkingMemoryParams,
        run,
    )
)
