"""Dopamine D1 dose–response of working memory in the PFC ring attractor (Brunel & Wang 2001;
Durstewitz, Seamans & Sejnowski 2000; Vijayraghavan et al. 2007), two-area circuit.

Each trial, at one tonic DA level clamped for the whole trial (bioattn.circuits.neuromodulators;
levels interleaved in every repeat, so the erase and inter-trial interval let PFC settle at the
new level): inter-trial interval → cue at θ_c → delay → a distractor (the cue drive at
θ_c + ``distractor_offset``, ``distractor_strength`` × the cue's) → late delay → erase.

Per trial, from PFC pyramidal cells:

- the delay's tuning: rates in the delay before the distractor (from ``settle`` after cue
  offset) against the distance of each cell's preference from θ_c, in 10° bins; the tuning
  width is the half-width at half-height of that profile above its far-side level (NaN where
  no bump stands out by ``bump_threshold``); ``delay_rate_pref`` / ``delay_rate_nonpref``:
  mean rates of cells within ``tuning_window`` of θ_c / of θ_c + 180°;
- the memory kept: at the end of the late delay (the last ``bin``) the bump's amplitude is at
  least ``bump_threshold`` and its centre within ``kept_tolerance`` of θ_c;
- the resistance, a graded form of the same: 1 − d/|Δ|, d the bump centre's displacement from
  θ_c towards the distractor (signed along Δ = ``distractor_offset``), clipped to 0 … 1, and 0
  where no bump stands.  The end centre moves by a continuum of angles between the cue and
  the distractor (not in two clusters), so thresholding it at ``kept_tolerance`` throws away
  most of what a trial says.

Metrics (summary.json): ``levels`` (nM); ``robustness_by_level`` (share of trials whose memory
was kept despite the distractor, 0 … 1), ``resistance_by_level`` (mean resistance, 0 … 1),
``tuning_width_by_level`` (deg),
``delay_rate_pref_by_level`` and ``delay_rate_nonpref_by_level`` (Hz); each also per level as
``<metric>_da_<level>nM`` with its interval; ``robustness_peak_level``: the level of the
highest robustness (NaN if no level kept any memory).  Brunel & Wang 2001: a concerted rise
of NMDA and GABA_A conductances (D1) makes persistent activity more resistant to distractors,
with an inverted U as the modulation grows; Vijayraghavan et al. 2007: low D1 stimulation
sharpens delay tuning, high D1 stimulation suppresses delay firing for all directions.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import xarray as xr

from bioattn import stats
from bioattn.circuits.ring import wrapped_difference
from bioattn.config import Model, param
from bioattn.protocols import common, dose
from bioattn.protocols.registry import Protocol, ProtocolResult, RunOptions, register
from bioattn.schedule import Schedule

NAME = "da-dose"
#: Width of the distance bins of the delay tuning profile.
PROFILE_BIN_DEG = 10.0
#: Per-level metrics (each ``<name>_by_level`` and ``<name>_da_<level>nM``).
PER_LEVEL = ("robustness", "resistance", "tuning_width", "delay_rate_pref", "delay_rate_nonpref")


@dataclass(frozen=True)
class DaDoseParams:
    cue_angle: float = param("deg")
    distractor_offset: float = param("deg")
    distractor_strength: float = param("float", positive=True)
    levels: tuple = param("floats")
    n_trials: int = param("int")
    n_seeds: int = param("int")
    design_seed: int = param("int")
    t_iti: float = param("s")
    t_cue: float = param("s", positive=True)
    t_delay: float = param("s", positive=True)
    t_distractor: float = param("s", positive=True)
    t_late: float = param("s", positive=True)
    t_erase: float = param("s")
    settle: float = param("s")
    bin: float = param("s", positive=True)
    bump_threshold: float = param("Hz", positive=True)
    kept_tolerance: float = param("deg", positive=True)
    tuning_window: float = param("deg", positive=True)


def level_name(level: float) -> str:
    return f"da_{level:g}nM"


def build_schedule(p: DaDoseParams, resolution: float, n_trials: int) -> Schedule:
    """``n_trials`` repeats of one trial per level, in a shuffled order in every repeat."""
    dose.check_doses("protocol.da_dose.levels", p.levels)
    dose.check_settle("protocol.da_dose", p.settle, p.t_delay)
    rng = np.random.default_rng(p.design_seed)
    schedule = Schedule(resolution)
    distractor = p.cue_angle + p.distractor_offset
    for k in range(n_trials):
        for c in rng.permutation(len(p.levels)):
            held = {"levels": (("da", float(p.levels[c])),)}
            schedule.add_trial(
                {"repeat": k, "level": int(c)},
                [
                    ("iti", float(p.t_iti), held),
                    ("cue", float(p.t_cue), {"cue_angle": p.cue_angle, **held}),
                    ("delay", float(p.t_delay), held),
                    ("distractor", float(p.t_distractor),
                     {"cue_angle": distractor, "cue_strength": p.distractor_strength, **held}),
                    ("late", float(p.t_late), held),
                    ("erase", float(p.t_erase), {"erase": True, **held}),
                ],
            )  # fmt: skip
    return schedule


def tuning_profile(rates: np.ndarray, angles: np.ndarray, centre: float) -> np.ndarray:
    """Mean rate (…, distance bin) of cells by the distance of their preference from ``centre``
    (bins of :data:`PROFILE_BIN_DEG` from 0 to 180°); ``rates`` (…, cell)."""
    n_bins = int(180 / PROFILE_BIN_DEG)
    distance = np.degrees(common.angular_distance(angles, centre))
    index = np.minimum((distance / PROFILE_BIN_DEG).astype(int), n_bins - 1)
    members = np.eye(n_bins)[index]  # (cell, bin)
    return rates @ members / members.sum(axis=0)


def half_width(profile: np.ndarray, threshold: float) -> float:
    """Half-width at half-height (deg) of a profile over distance bins above its far level (the
    mean of its last three bins); NaN where the peak stands less than ``threshold`` above it."""
    centres = (np.arange(profile.size) + 0.5) * PROFILE_BIN_DEG
    far = profile[-3:].mean()
    height = profile[0] - far
    if not height >= threshold:
        return float("nan")
    below = np.flatnonzero(profile < far + height / 2)
    if below.size == 0:
        return float("nan")
    j = below[0]
    if j == 0:
        return float(centres[0])
    y0, y1 = profile[j - 1], profile[j]
    return float(centres[j - 1] + (far + height / 2 - y0) / (y1 - y0) * PROFILE_BIN_DEG)


def resistance(
    amplitude: np.ndarray, centre: np.ndarray, cue: float, offset: float, threshold: float
) -> np.ndarray:
    """Per trial, 1 − d/|offset| clipped to 0 … 1 (0 where ``amplitude`` < ``threshold``): d the
    end bump ``centre``'s displacement from ``cue`` towards the distractor at ``cue + offset``
    (angles in rad, signed along the offset; a bump pushed away from the distractor keeps 1)."""
    towards = wrapped_difference(np.asarray(centre) - cue) * np.sign(offset)
    graded = np.clip(1.0 - towards / abs(offset), 0.0, 1.0)
    return np.where(np.asarray(amplitude) >= threshold, graded, 0.0)


def analyse(
    kept: np.ndarray,
    resisted: np.ndarray,
    width: np.ndarray,
    pref: np.ndarray,
    nonpref: np.ndarray,
) -> dict:
    """Per-level metrics (module docstring) from per-trial arrays (sample, level)."""
    with np.errstate(all="ignore"):
        return dose.level_metrics(
            {
                "robustness": kept.mean(axis=0),
                "resistance": resisted.mean(axis=0),
                "tuning_width": np.nanmean(width, axis=0),
                "delay_rate_pref": pref.mean(axis=0),
                "delay_rate_nonpref": nonpref.mean(axis=0),
            }
        )


def run(model: Model, options: RunOptions) -> ProtocolResult:
    """Run the DA dose–response: cue → delay → distractor → late delay at every tonic DA level
    × ``n_trials`` per seed (one run per seed); returns the share of trials whose memory
    survived the distractor, the delay tuning width and the delay rates at the preferred and
    non-preferred directions per level, and the figure.  ``options``: seeds, trials, scale,
    target, progress."""
    p: DaDoseParams = common.protocol_params(model, NAME)
    seeds, n_trials = common.trial_counts(p, options)
    levels = np.asarray(p.levels, dtype=float)
    schedule = build_schedule(p, float(model["simulation"].schedule_dt), n_trials)
    outputs = common.run_seeds(model, schedule, common.RunSettings(seeds, options))
    n_pfc = outputs[0].n_pfc
    angles = 2 * np.pi * np.arange(n_pfc) / n_pfc
    n_levels = len(levels)

    delay = schedule.windows("delay", offset=float(p.settle))
    delay_rates = common.counts_in(outputs, delay, "pfc") / (delay[:, 1] - delay[:, 0])[:, None]
    delay_rates = delay_rates.reshape(len(seeds), len(schedule.trials), n_pfc)
    late = schedule.windows("late")
    end = np.stack([late[:, 1] - float(p.bin), late[:, 1]], axis=1)
    end_rates = common.counts_in(outputs, end, "pfc").reshape(len(seeds), -1, n_pfc) / float(p.bin)
    amplitude, centre = stats.bump_amplitude(end_rates.reshape(-1, n_pfc), angles)
    amplitude, centre = amplitude.reshape(len(seeds), -1), centre.reshape(len(seeds), -1)
    kept = (amplitude >= float(p.bump_threshold)) & (
        common.angular_distance(centre, p.cue_angle) <= p.kept_tolerance
    )
    resisted = resistance(
        amplitude, centre, p.cue_angle, p.distractor_offset, float(p.bump_threshold)
    )
    profile = tuning_profile(delay_rates, angles, p.cue_angle)  # (seed, trial, bin)
    width = np.vectorize(lambda s, t: half_width(profile[s, t], float(p.bump_threshold)))(
        *np.indices(profile.shape[:2])
    )
    near = common.angular_distance(angles, p.cue_angle) <= p.tuning_window
    far = common.angular_distance(angles, p.cue_angle + np.pi) <= p.tuning_window
    pref, nonpref = delay_rates[..., near].mean(axis=-1), delay_rates[..., far].mean(axis=-1)

    # One sample = one repeat of every level: (seed·repeat, level).
    labels = {k: np.array([t.condition[k] for t in schedule.trials]) for k in ("level", "repeat")}
    samples = [
        dose.by_repeat(x.astype(float), labels, ("level",), (n_levels,))
        for x in (kept, resisted, width, pref, nonpref)
    ]
    point = analyse(*samples)
    intervals = common.bootstrap_intervals(analyse, samples, seed=seeds[0])
    summary: dict = {"levels": [float(x) for x in levels]}
    names = [level_name(level) for level in levels]
    summary |= dose.per_level_summary(point, intervals, PER_LEVEL, names)
    summary["robustness_peak_level"] = dose.peak(levels, summary["robustness_by_level"])

    dims = ("seed", "trial")
    data = {
        "memory_kept": xr.DataArray(kept, dims=dims),
        "resistance": xr.DataArray(resisted, dims=dims),
        "end_bump_amplitude": xr.DataArray(amplitude, dims=dims, attrs={"units": "Hz"}),
        "end_bump_centre": xr.DataArray(np.degrees(centre), dims=dims, attrs={"units": "deg"}),
        "delay_tuning": xr.DataArray(profile, dims=(*dims, "distance"), attrs={"units": "Hz"}),
        "tuning_width": xr.DataArray(width, dims=dims, attrs={"units": "deg"}),
        "delay_rate_pref": xr.DataArray(pref, dims=dims, attrs={"units": "Hz"}),
        "delay_rate_nonpref": xr.DataArray(nonpref, dims=dims, attrs={"units": "Hz"}),
        "level_index": xr.DataArray(labels["level"], dims="trial"),
        "repeat_index": xr.DataArray(labels["repeat"], dims="trial"),
        **common.spikes_dataset(outputs),
    }
    coords = {
        "seed": seeds,
        "trial": np.arange(len(schedule.trials)),
        "distance": (np.arange(profile.shape[-1]) + 0.5) * PROFILE_BIN_DEG,
    }
    attrs = {"protocol": NAME, "model": model.name, "levels_nM": summary["levels"],
             "baseline_nM": model.value("neuromod.da.level").in_unit("nM")}  # fmt: skip
    dataset = xr.Dataset(data, coords=coords, attrs=attrs)
    from bioattn.figures import da_dose_figure

    return ProtocolResult(dataset, summary, {"da_dose": da_dose_figure(dataset, summary)})


register(
    Protocol(
        NAME,
        "working memory against a distractor across D1 (dopamine) levels (Brunel & Wang 2001)",
        DaDoseParams,
        run,
    )
)
