"""Machinery shared by the protocols: running seeds, cutting trials, per-condition statistics.

Per condition every protocol reports (sensory pyramidal cells):
- firing rates and spike counts per trial and neuron;
- Fano factors of the counts across trials (var/mean);
- noise correlations (Pearson correlation of trial-to-trial count fluctuations; Cohen & Kohn 2011);
- the LFP proxy (local AMPA and GABA_A currents onto pyramidal cells, Mazzoni et al. 2015;
  bioattn.circuits.network), its Welch power spectrum, the gamma-band (30–80 Hz) power, absolute
  and relative to the total, and the spike–LFP coherence in the gamma band.
"""

from __future__ import annotations

import contextlib
import hashlib
import math
import numbers
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import xarray as xr
from scipy import stats as scipy_stats

from bioattn import config, stats
from bioattn.circuits.ring import wrapped_difference
from bioattn.config import Model
from bioattn.engine import SimulationOutput
from bioattn.errors import BioattnError
from bioattn.protocols.registry import RunOptions, section_name
from bioattn.schedule import Schedule

#: Gamma band of the LFP proxy (Hz), as fixed by the summary metric names.
GAMMA_BAND = (30.0, 80.0)
#: Bin width (s) of the stored population-rate time courses.
RATE_BIN = 0.01


@dataclass(frozen=True)
class RunSettings:
    """A protocol's resolved run: its seeds and the caller's options (engine, scale, progress)."""

    seeds: list[int]
    options: RunOptions

    @property
    def progress(self) -> bool:
        return self.options.progress

    @property
    def scale(self) -> float:
        return self.options.scale


def protocol_params(model: Model, name: str) -> Any:
    """The ``[protocol.<name>]`` section of the model, or a clear error if the file lacks it."""
    key = f"protocol.{section_name(name)}"
    if key not in model.sections:
        raise BioattnError(
            f"model {model.source_path} has no [{key}] section; protocol {name!r} needs it"
        )
    return model.sections[key]


def trial_counts(p: Any, options: RunOptions) -> tuple[list[int], int]:
    """Seeds and trials per seed: the caller's, else the protocol section's (seeds 1..n_seeds)."""
    n_trials = options.n_trials or p.n_trials
    seeds = list(options.seeds) if options.seeds else [1 + k for k in range(p.n_seeds)]
    return seeds, n_trials


def cued_stimulus_epochs(p: Any, cued: bool, stim_angle: float, contrast: float) -> list[tuple]:
    """Epochs of an attention trial: ITI, cue (PFC, at ``p.attend_angle``) or not, delay,
    stimulus at ``stim_angle`` with ``contrast``, erase.  ``p`` holds the t_* durations."""
    return [
        ("iti", float(p.t_iti), {}),
        ("cue", float(p.t_cue), {"cue_angle": p.attend_angle if cued else None}),
        ("delay", float(p.t_delay), {}),
        ("stimulus", float(p.t_stimulus), {"stim_angle": float(stim_angle), "contrast": contrast}),
        ("erase", float(p.t_erase), {"erase": True}),
    ]


#: Simulations kept by :func:`reusing_simulations` (None: none kept).
_KEPT: dict[tuple, SimulationOutput] | None = None


@contextlib.contextmanager
def reusing_simulations() -> Iterator[None]:
    """Inside the block, :func:`run_seeds` hands back a simulation it already ran — same model
    text, schedule, seed, scale and target — instead of running it again (the same spikes: runs
    are reproducible).  :func:`bioattn.api.run` analyses each seed alone and then all seeds
    together on one set of simulations this way."""
    global _KEPT
    outer = _KEPT
    _KEPT = {} if outer is None else outer
    try:
        yield
    finally:
        _KEPT = outer


def _schedule_digest(schedule: Schedule) -> str:
    digest = hashlib.sha256(repr((schedule.resolution, schedule.n_locations)).encode())
    for name, values in sorted(schedule.arrays().items()):
        digest.update(name.encode())
        digest.update(np.ascontiguousarray(values).tobytes())
    return digest.hexdigest()


def run_seeds(model: Model, schedule: Schedule, settings: RunSettings) -> list[SimulationOutput]:
    """Run the schedule once per seed (each seed an independent realisation of all noise)."""
    outputs = []
    engine = settings.options.engine
    kept = _KEPT
    if kept is not None:
        schedule_digest = _schedule_digest(schedule)
        identity = (config.to_toml(model), schedule_digest, settings.scale, engine.target)
    for k, seed in enumerate(settings.seeds):
        if kept is not None and (*identity, seed) in kept:
            outputs.append(kept[(*identity, seed)])
            continue
        if settings.progress:
            sys.stderr.write(
                f"seed {seed} ({k + 1}/{len(settings.seeds)}): {schedule.duration:.1f} s of "
                f"biological time, {len(schedule.trials)} trials, target {engine.target}\n"
            )
        outputs.append(
            engine.simulate(
                model, schedule, seed=seed, scale=settings.scale, progress=settings.progress
            )
        )
        if kept is not None:
            kept[(*identity, seed)] = outputs[-1]
    return outputs


#: Resamples of the bootstrap over trials (a single seed's intervals).
BOOTSTRAP_RESAMPLES = 1000
#: Confidence of every reported interval.
CONFIDENCE = 0.95
#: Suffix of a metric's interval in a run's summary.
INTERVAL_SUFFIX = "_ci"


#: Intervals a caller already has (over seeds) and that :func:`bootstrap_intervals` hands back.
_GIVEN: dict[str, Any] | None = None


@contextlib.contextmanager
def intervals_given(intervals: dict[str, Any]) -> Iterator[None]:
    """Inside the block, :func:`bootstrap_intervals` returns the ``<metric>_ci`` entries (and
    ``ci_method``, ``ci_n``) of ``intervals`` instead of resampling: :func:`bioattn.api.run`
    hands the intervals over seeds to the run that pools them, so that its summary and its
    figures show the same intervals."""
    global _GIVEN
    outer, _GIVEN = (
        _GIVEN,
        {
            k: v
            for k, v in intervals.items()
            if k.endswith(INTERVAL_SUFFIX) or k in ("ci_method", "ci_n")
        },
    )
    try:
        yield
    finally:
        _GIVEN = outer


#: Fewer trials than this: no bootstrap interval (every resample would be the run itself).
MIN_RESAMPLED_TRIALS = 2
#: ``ci_method`` of a single seed's run with fewer than :data:`MIN_RESAMPLED_TRIALS` trials.
NO_INTERVAL_METHOD = f"no interval: fewer than {MIN_RESAMPLED_TRIALS} trials"


def _numeric_metrics(metrics: dict[str, Any]) -> list[str]:
    """Names of the real-number metrics (not flags) of ``metrics``: those with an interval."""
    return [
        name
        for name, value in metrics.items()
        if isinstance(value, numbers.Real) and not isinstance(value, bool | np.bool_)
    ]


def bootstrap_intervals(
    analyse: Callable[..., dict[str, float]],
    samples: Sequence[np.ndarray],
    *,
    seed: int,
    n_resamples: int = BOOTSTRAP_RESAMPLES,
) -> dict[str, Any]:
    """``<metric>_ci`` for every numeric metric of ``analyse(*samples)``: the bias-corrected
    percentile bootstrap interval (``CONFIDENCE``) over trials; ``ci_method`` and ``ci_n``
    (trials) say so.

    Every array of ``samples`` has the trials on its first axis (all of one length); each
    resample draws trials with replacement, the same draw for every array (trials that belong
    together — one repeat of every condition, interleaved in one block — stay together), and
    re-runs ``analyse``.  Bias-corrected (Efron 1987, "BC"): with θ̂ the metric on the trials
    as run and p the share of resamples below it (ties count half), z₀ = Φ⁻¹(p), the interval
    is the Φ(2z₀ ± z_{(1+c)/2}) quantiles of the resamples.  A plain percentile interval would
    sit below θ̂ for statistics that resampling with replacement biases (a variance or a Fano
    factor loses (n−1)/n: repeated trials), z₀ moves it back.  Used when a run has a single
    seed; with several seeds :func:`bioattn.api.run` gives intervals over seeds instead
    (:func:`intervals_given`).  ``seed``: the run's seed (the same run gives the same
    intervals).

    With fewer than 2 trials every resample is the run itself: its spread says nothing about
    the trial-to-trial variability, so every interval is ``[nan, nan]`` (``ci_method`` says
    why, ``ci_n`` is the number of trials), not the zero-width interval the resamples give.
    """
    n = {len(a) for a in samples}
    if len(n) != 1:
        raise ValueError(f"bootstrap samples of different lengths {sorted(n)}")
    if _GIVEN is not None:
        return dict(_GIVEN)
    n_trials = n.pop()
    with np.errstate(all="ignore"):
        point = analyse(*samples)
    if n_trials < MIN_RESAMPLED_TRIALS:
        undefined: dict[str, Any] = {"ci_method": NO_INTERVAL_METHOD, "ci_n": n_trials}
        for name in _numeric_metrics(point):
            undefined[f"{name}{INTERVAL_SUFFIX}"] = [math.nan, math.nan]
        return undefined
    rng = np.random.default_rng([seed, n_trials])
    draws: dict[str, list[float]] = {}
    for _ in range(n_resamples):
        pick = rng.integers(0, n_trials, n_trials)
        with np.errstate(all="ignore"):
            metrics = analyse(*(a[pick] for a in samples))
        for name in _numeric_metrics(metrics):
            draws.setdefault(name, []).append(float(metrics[name]))
    z = scipy_stats.norm.ppf((1 + CONFIDENCE) / 2)
    out: dict[str, Any] = {
        "ci_method": "bias-corrected percentile bootstrap over trials",
        "ci_n": n_trials,
    }
    for name, values in draws.items():
        finite = np.asarray(values)[np.isfinite(values)]
        estimate = float(point.get(name, math.nan))
        # Fewer than 95 % finite resamples (a ratio over a vanishing difference): no interval.
        if finite.size < CONFIDENCE * n_resamples or not math.isfinite(estimate):
            out[f"{name}{INTERVAL_SUFFIX}"] = [math.nan, math.nan]
            continue
        below = np.count_nonzero(finite < estimate) + 0.5 * np.count_nonzero(finite == estimate)
        share = np.clip(below / finite.size, 1 / (finite.size + 1), finite.size / (finite.size + 1))
        z0 = scipy_stats.norm.ppf(share)
        levels = 100 * scipy_stats.norm.cdf([2 * z0 - z, 2 * z0 + z])
        out[f"{name}{INTERVAL_SUFFIX}"] = [float(v) for v in np.percentile(finite, levels)]
    return out


def counts_in(
    outputs: list[SimulationOutput], windows: np.ndarray, area: str = "sensory"
) -> np.ndarray:
    """Spike counts, shape (seed, window, neuron), of the pyramidal cells of ``area``."""
    return np.stack([stats.spike_counts(o.t(area), o.i(area), o.n(area), windows) for o in outputs])


def _lfp_index(outputs: list[SimulationOutput], windows: np.ndarray) -> tuple[float, np.ndarray]:
    """Sampling interval of the LFP recording and the sample indices of equal-length windows."""
    dt = float(outputs[0].lfp_t[1] - outputs[0].lfp_t[0])
    length = int(round(np.min(windows[:, 1] - windows[:, 0]) / dt))
    starts = np.round(windows[:, 0] / dt).astype(int)
    return dt, starts[:, None] + np.arange(length)[None, :]


def lfp_spectra(
    outputs: list[SimulationOutput], windows: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The LFP proxy cut into equal-length ``windows`` and its Welch spectrum per window:
    (freqs, psd (seed, window, f) in A²/Hz, gamma-band power (seed, window) in A²)."""
    dt, index = _lfp_index(outputs, windows)
    segments = np.stack([o.lfp[index] for o in outputs])
    freqs, psd = stats.power_spectrum(segments, 1.0 / dt)
    return freqs, psd, stats.band_power(freqs, psd, *GAMMA_BAND)


def relative_gamma(freqs: np.ndarray, psd: np.ndarray) -> np.ndarray:
    """Gamma-band power over the total power above 0 Hz (dimensionless; psd's last axis f)."""
    return stats.band_power(freqs, psd, *GAMMA_BAND) / stats.band_power(
        freqs, psd, float(freqs[1]), float(freqs[-1])
    )


def gamma_mean(freqs: np.ndarray, values: np.ndarray) -> float:
    """Mean of a spectrum-like ``values`` (e.g. a coherence) over the gamma band."""
    band = (freqs >= GAMMA_BAND[0]) & (freqs <= GAMMA_BAND[1])
    return float(np.nanmean(values[..., band]))


def spike_lfp_coherence(
    outputs: list[SimulationOutput], windows: np.ndarray, cells: np.ndarray, area: str = "sensory"
) -> tuple[np.ndarray, np.ndarray]:
    """Coherence of the pooled spikes of ``area``'s ``cells`` (bool mask) with the LFP proxy,
    over all ``windows`` of all seeds as trials (:func:`bioattn.stats.spike_field_coherence`,
    spikes binned at the LFP's sampling interval): (freqs, coherence)."""
    dt, index = _lfp_index(outputs, windows)
    spikes, lfp = [], []
    for o in outputs:
        t, i = o.t(area), o.i(area)
        keep = cells[i]
        binned = np.bincount(np.floor(t[keep] / dt).astype(int), minlength=o.lfp.size)
        spikes.append(binned[: o.lfp.size][index])
        lfp.append(o.lfp[index])
    freqs, coherence = stats.spike_field_coherence(
        np.concatenate(spikes), np.concatenate(lfp), 1.0 / dt, nperseg=min(128, index.shape[1])
    )
    return freqs, coherence


def cue_condition_axes(array: np.ndarray, n_trials: int, n_conditions: int) -> np.ndarray:
    """(seed, trial index, ...) → (cue, condition, trial, seed, ...) for schedules whose trials
    were added in the order trial → condition → cue (uncued, cued), as in
    :func:`cued_stimulus_epochs`-based protocols."""
    n_seeds, rest = array.shape[0], array.shape[2:]
    shaped = array.reshape(n_seeds, n_trials, n_conditions, 2, *rest)
    return np.moveaxis(shaped, (3, 2, 1, 0), (0, 1, 2, 3))


def rate_traces(
    outputs: list[SimulationOutput], starts: np.ndarray, length: float, area: str
) -> np.ndarray:
    """Population rate (Hz per cell) from each trial start, shape (seed, trial, bin)."""
    n_bins = int(round(length / RATE_BIN))
    out = np.zeros((len(outputs), starts.size, n_bins))
    for s, o in enumerate(outputs):
        windows = np.stack([starts, starts + length], axis=1)
        times = o.t(area)
        for k, (a, _) in enumerate(windows):
            sel = times[(times >= a) & (times < a + n_bins * RATE_BIN)]
            out[s, k] = np.bincount(((sel - a) / RATE_BIN).astype(int), minlength=n_bins)[:n_bins]
        out[s] /= RATE_BIN * o.n(area)
    return out


def trial_rate_traces(
    outputs: list[SimulationOutput], schedule: Schedule
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Population rates of both pyramidal rings through every trial, aligned at trial start.

    Returns the bin centres (s from trial start, coordinate ``rate_time``) and per area an
    array (seed, trial, bin) in Hz per cell, ``RATE_BIN`` wide bins, as long as the shortest trial.
    """
    starts = np.array([t.epochs[0].start for t in schedule.trials])
    length = min(t.epochs[-1].stop - t.epochs[0].start for t in schedule.trials)
    traces = {area: rate_traces(outputs, starts, length, area) for area in ("sensory", "pfc")}
    times = (np.arange(traces["sensory"].shape[-1]) + 0.5) * RATE_BIN
    return times, traces


def spikes_dataset(outputs: list[SimulationOutput]) -> dict[str, xr.DataArray]:
    """All recorded spikes as flat labelled arrays (time, neuron, seed) per area."""
    data = {}
    for area in outputs[0].spikes:
        t = np.concatenate([o.t(area) for o in outputs])
        i = np.concatenate([o.i(area) for o in outputs])
        seed = np.concatenate([np.full(o.t(area).size, o.seed) for o in outputs])
        dim = f"{area}_spike"
        data[f"{area}_spike_time"] = xr.DataArray(t, dims=dim, attrs={"units": "s"})
        data[f"{area}_spike_neuron"] = xr.DataArray(i, dims=dim, attrs={"units": "1"})
        data[f"{area}_spike_seed"] = xr.DataArray(seed, dims=dim, attrs={"units": "1"})
    return data


def fano_and_noise_correlation(counts: np.ndarray) -> tuple[float, float]:
    """Mean Fano factor and mean noise correlation of counts shaped (condition, trial, neuron).

    Fano factors are averaged over conditions and neurons with a non-zero mean; noise
    correlations pool the fluctuations of all conditions (each condition's mean removed).
    With a single trial per condition neither is defined: both are NaN.
    """
    if counts.shape[1] < 2:
        return float("nan"), float("nan")
    fano = float(np.nanmean(stats.fano_factor(counts, axis=1)))
    return fano, float(stats.noise_correlation(counts))


#: Edges (deg) of the preference-difference bins of noise correlations vs tuning similarity.
SIMILARITY_EDGES = (0.0, 15.0, 30.0, 45.0, 60.0, 90.0, 135.0, 180.0)
#: Their centres (deg): the ``preference_difference`` coordinate of the protocols' datasets.
SIMILARITY_CENTRES = tuple(
    0.5 * (a + b) for a, b in zip(SIMILARITY_EDGES[:-1], SIMILARITY_EDGES[1:], strict=True)
)


def noise_correlation_by_similarity(
    counts: np.ndarray, angles: np.ndarray, max_cells: int = 256
) -> np.ndarray:
    """Mean noise correlation of cell pairs per bin of preference difference
    (:data:`SIMILARITY_EDGES`, deg): ``counts`` (condition, trial, neuron), ``angles`` (neuron,)
    preferred angles in rad.  At most ``max_cells`` evenly spaced cells are used (every k-th
    cell: the bins are then the same for every population size).  NaN with fewer than two
    trials per condition."""
    edges = np.asarray(SIMILARITY_EDGES)
    out = np.full(edges.size - 1, np.nan)
    if counts.shape[1] < 2:
        return out
    step = max(1, int(np.ceil(counts.shape[-1] / max_cells)))
    chosen = np.arange(0, counts.shape[-1], step)
    matrix = stats.noise_correlation_matrix(counts[..., chosen])
    a = angles[chosen]
    difference = np.degrees(angular_distance(a[:, None], a[None, :]))
    upper = np.triu(np.ones(matrix.shape, dtype=bool), k=1) & np.isfinite(matrix)
    bins = np.clip(np.searchsorted(edges, difference, side="right") - 1, 0, edges.size - 2)
    for k in range(edges.size - 1):
        in_bin = upper & (bins == k)
        if in_bin.any():
            out[k] = float(matrix[in_bin].mean())
    return out


def angular_distance(a: np.ndarray, b: float) -> np.ndarray:
    """|a − b| on the circle, in [0, π]."""
    return np.abs(wrapped_difference(np.asarray(a) - b))
