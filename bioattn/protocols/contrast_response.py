"""Contrast-response functions with and without attention (Reynolds, Pasternak & Desimone 2000;
Martínez-Trujillo & Treue 2002), each fitted with a Naka–Rushton function

    R(c) = b + R_max · cⁿ / (cⁿ + c50ⁿ)                       (Albrecht & Hamilton 1982)

Each trial: inter-trial interval → cue at θ_A or none → delay → stimulus at θ_A with contrast c
→ erase.  Responses are the mean rates of the cells preferring θ_A (within ``cell_window``).
Contrast gain shows as a lower c50 with attention, response gain as a higher R_max.

Metrics (summary.json):
- ``c50_attended``, ``c50_unattended``, ``rmax_attended``, ``rmax_unattended``: the Naka–Rushton
  fits of those cells' mean contrast-response curves, cued / not;
- ``fano_*``, ``noise_corr_*``: of those cells, every contrast a condition, cued ("attended")
  vs not; ``gamma_power_*``: 30–80 Hz LFP-proxy power in the stimulus window (A²);
- every metric has ``<metric>_ci``, its 95 % interval: a bias-corrected bootstrap over trials with
  one seed (one sample: one trial of every cue × contrast), Student t over seeds with several
  (bioattn.api.seed_intervals).
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

NAME = "contrast-response"
CUE_CONDITIONS = ("uncued", "cued")


@dataclass(frozen=True)
class ContrastResponseParams:
    contrasts: tuple = param("floats")
    attend_angle: float = param("deg")
    n_trials: int = param("int")
    n_seeds: int = param("int")
    t_iti: float = param("s")
    t_cue: float = param("s")
    t_delay: float = param("s")
    t_stimulus: float = param("s", positive=True)
    t_erase: float = param("s")
    analysis_offset: float = param("s")
    cell_window: float = param("deg", positive=True)


#: Bootstrap resamples of this protocol's intervals (each refits two Naka–Rushton curves: one
#: :func:`analyse` call ~40 ms at the default design, measured).
FIT_RESAMPLES = 500
#: The Naka–Rushton parameters of a fit (the dataset's ``fit_parameter`` coordinate).
FIT_PARAMETERS = ("r_max", "c50", "n", "baseline", "r2")


def _fit(contrasts: np.ndarray, response: np.ndarray, strict: bool) -> dict[str, float]:
    """:func:`bioattn.stats.fit_naka_rushton`; unless ``strict``, NaN parameters when no start
    converges (a bootstrap resample)."""
    try:
        return stats.fit_naka_rushton(contrasts, response)
    except RuntimeError:
        if strict:
            raise
        return dict.fromkeys(FIT_PARAMETERS, float("nan"))


def response_curves(
    counts: np.ndarray, contrasts: np.ndarray, window: float, *, strict: bool = True
) -> tuple[np.ndarray, np.ndarray, list[dict[str, float]]]:
    """The counts as (cue, contrast, sample, cell), the mean contrast-response curves (cue,
    contrast) in Hz and their Naka–Rushton fits (uncued, cued), from the counts of the cells
    preferring θ_A shaped (sample, cue, contrast, cell).  ``strict``: a fit that does not
    converge raises (else its parameters are NaN)."""
    pooled = np.ascontiguousarray(np.moveaxis(counts, 0, 2))
    response = (pooled / window).mean(axis=(2, 3))
    return pooled, response, [_fit(contrasts, response[c], strict) for c in range(2)]


def metrics(
    pooled: np.ndarray, fits: list[dict[str, float]], gamma: np.ndarray
) -> dict[str, float]:
    """Summary metrics (module docstring) from :func:`response_curves`' counts and fits and
    the gamma power shaped (sample, cue, contrast)."""
    variability = [common.fano_and_noise_correlation(pooled[c]) for c in range(2)]
    power = np.moveaxis(gamma, 0, 2)  # (cue, contrast, sample)
    return {
        "c50_attended": fits[1]["c50"],
        "c50_unattended": fits[0]["c50"],
        "rmax_attended": fits[1]["r_max"],
        "rmax_unattended": fits[0]["r_max"],
        "fano_attended": variability[1][0],
        "fano_unattended": variability[0][0],
        "noise_corr_attended": variability[1][1],
        "noise_corr_unattended": variability[0][1],
        "gamma_power_attended": float(power[1].mean()),
        "gamma_power_unattended": float(power[0].mean()),
    }


def analyse(
    counts: np.ndarray,
    gamma: np.ndarray,
    contrasts: np.ndarray,
    window: float,
    *,
    strict: bool = True,
) -> dict[str, float]:
    """Summary metrics (module docstring) from the spike counts of the cells preferring θ_A,
    shaped (sample, cue, contrast, cell), and the gamma power (sample, cue, contrast); one
    sample is one trial of every cue × contrast in one seed.  ``strict``: as
    :func:`response_curves`."""
    pooled, _, fits = response_curves(counts, contrasts, window, strict=strict)
    return metrics(pooled, fits, gamma)


def trials_first(array: np.ndarray) -> np.ndarray:
    """(cue, contrast, trial, seed, ...) → (trial·seed, cue, contrast, ...), trial-major: the
    order in which the pooled statistics have always taken the samples."""
    moved = np.moveaxis(array, (2, 3), (0, 1))
    return moved.reshape(-1, *moved.shape[2:])


def run(model: Model, options: RunOptions) -> ProtocolResult:
    """Run the contrast-response protocol: every contrast of ``contrasts`` × cue (none / at θ_A)
    × ``n_trials`` per seed, interleaved in one schedule; returns rates per contrast, the
    Naka–Rushton fits with and without attention (c50, R_max, their ratios) and the figure.
    ``options``: seeds, trials, scale, target, progress (:class:`RunOptions`)."""
    p: ContrastResponseParams = common.protocol_params(model, NAME)
    seeds, n_trials = common.trial_counts(p, options)
    contrasts = np.asarray(p.contrasts, dtype=float)
    schedule = Schedule(float(model["simulation"].schedule_dt))
    for trial in range(n_trials):
        for k, contrast in enumerate(contrasts):
            for cued in (0, 1):
                schedule.add_trial(
                    {"trial": trial, "contrast": k, "cue": cued, "repeat": trial},
                    common.cued_stimulus_epochs(p, cued, p.attend_angle, float(contrast)),
                )
    outputs = common.run_seeds(model, schedule, common.RunSettings(seeds, options))

    window = float(p.t_stimulus - p.analysis_offset)
    windows = schedule.windows("stimulus", offset=float(p.analysis_offset))
    n_cells, n_c = outputs[0].n_sensory, contrasts.size
    # (cue, contrast, trial, seed, neuron)
    counts = common.cue_condition_axes(common.counts_in(outputs, windows), n_trials, n_c)
    angles = 2 * np.pi * np.arange(n_cells) / n_cells
    cells = common.angular_distance(angles, p.attend_angle) <= p.cell_window
    counts_t = trials_first(counts[..., cells])  # (trial·seed, cue, contrast, cell)
    pooled, response, fits = response_curves(counts_t, contrasts, window)
    freqs, psd, gamma = common.lfp_spectra(outputs, windows)
    gamma = common.cue_condition_axes(gamma, n_trials, n_c)
    gamma_t = trials_first(gamma)
    psd = common.cue_condition_axes(psd, n_trials, n_c)
    rate_time, traces = common.trial_rate_traces(outputs, schedule)
    traces = {a: common.cue_condition_axes(t, n_trials, n_c) for a, t in traces.items()}

    dims = ("cue", "contrast", "trial", "seed", "neuron")
    fit_names = FIT_PARAMETERS
    data = {
        "counts": xr.DataArray(counts, dims=dims, attrs={"units": "spikes", "window_s": window}),
        "rates": xr.DataArray(counts / window, dims=dims, attrs={"units": "Hz"}),
        "response": xr.DataArray(response, dims=("cue", "contrast"), attrs={"units": "Hz"}),
        "naka_rushton": xr.DataArray(
            [[f[k] for k in fit_names] for f in fits], dims=("cue", "fit_parameter")
        ),
        "gamma_power": xr.DataArray(gamma, dims=dims[:4], attrs={"units": "A^2"}),
        "lfp_psd": xr.DataArray(psd, dims=(*dims[:4], "frequency"), attrs={"units": "A^2/Hz"}),
        **{
            f"{area}_rate": xr.DataArray(
                trace, dims=(*dims[:4], "rate_time"), attrs={"units": "Hz"}
            )
            for area, trace in traces.items()
        },
        **common.spikes_dataset(outputs),
    }
    coords = {
        "cue": list(CUE_CONDITIONS),
        "contrast": contrasts,
        "trial": np.arange(n_trials),
        "seed": seeds,
        "neuron": np.arange(n_cells),
        "fit_parameter": list(fit_names),
        "frequency": freqs,
        "rate_time": rate_time,
    }
    dataset = xr.Dataset(data, coords=coords, attrs={"protocol": NAME, "model": model.name})
    summary = metrics(pooled, fits, gamma_t)
    summary |= common.bootstrap_intervals(
        lambda c, g: analyse(c, g, contrasts, window, strict=False),
        [counts_t, gamma_t], seed=seeds[0], n_resamples=FIT_RESAMPLES,
    )  # fmt: skip
    from bioattn.figures import contrast_response_figure

    return ProtocolResult(
        dataset, summary, {"contrast_response": contrast_response_figure(dataset, summary)}
    )


register(
    Protocol(
        NAME,
        "contrast-response functions, cued vs not, Naka-Rushton fits",
        ContrastResponseParams,
        run,
    )
)
