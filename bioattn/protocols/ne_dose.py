"""Noradrenaline dose–response in the multi-item circuit: sensory gain, competition between
items and PFC delay activity across tonic NE levels, and in the phasic mode (Aston-Jones &
Cohen 2005; Servan-Schreiber, Printz & Cohen 1990; Eldar, Cohen & Niv 2013; Arnsten 2011).

Trial types, each at every tonic level (clamped for the whole trial, levels interleaved in
every repeat; bioattn.circuits.neuromodulators):

- ``gain_low`` / ``gain_high``: one item at the recorded location at ``contrast_low`` /
  ``contrast_high``;
- ``competition``: a strong item (``strong_contrast``) at the recorded location and a weak one
  (``weak_contrast``) at ``other_location``, no cue;
- ``memory``: a feature cue to PFC (the query) and a delay without items.

The same trials run a second time in the phasic mode: at the model's tonic level, with an LC
burst (``neuromod.ne.burst``) at every stimulus onset (the tonic clamps are dropped; the
schedule keeps its length, so the build is shared).  ``modes``: which run (``tonic`` required;
without ``phasic``, half the time).  ``measures``: which metrics' trials run (``gain``: the two
gain types, ``competition``, ``memory``; all by default), so that a calibration of one of them
runs in a fraction of the time; the metrics of the others are left out of the summary.

Metrics (summary.json), each per level as ``<metric>_ne_<level>nM`` with its interval, as a list
``<metric>_by_level`` and for the phasic mode as ``<metric>_phasic``:

- ``gain``: input–output gain of the recorded column's item-preferring cells,
  (r_high − r_low) / (c_high − c_low) in Hz per unit contrast (stimulus-window rates);
- ``competition``: the strong item's share of the feedforward charge the two columns deliver
  to the readout (0.5 = no competition, 1 = winner takes all);
- ``pfc_delay_rate``: mean rate of PFC pyramidal cells within ``tuning_window`` of the query in
  the delay (from ``settle``), memory trials (Hz);
- ``pfc_delay_selectivity``: that rate minus the rate of the cells within ``tuning_window`` of
  the opposite direction (Hz): a memory, not a network that fires everywhere (α2A strengthens
  the preferred direction's delay firing, Wang M. et al. 2007);
- ``competition_slope``: least-squares slope of ``competition`` against log₁₀(level), per
  decade; ``competition_slope_working``: the same over the working range, the levels up to
  ``working_max`` (the optimal arousal at which PFC delay activity peaks; above it lies the
  high-tonic, stress-like range where α1 / β receptors take PFC off line, Arnsten 2011, and
  attention disengages, the exploratory mode of Aston-Jones & Cohen 2005);
  ``pfc_delay_peak_level``: the level of the highest delay rate.

Expected from the literature (to be tested, not assumed): higher NE → steeper competition
(Eldar et al. 2013) and an inverted U of PFC delay activity (α2A then α1; Arnsten 2011).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import xarray as xr

from bioattn.config import Model, param
from bioattn.errors import BioattnError
from bioattn.protocols import common, dose
from bioattn.protocols import scene as sc
from bioattn.protocols.registry import Protocol, ProtocolResult, RunOptions, register
from bioattn.units import Quantity

NAME = "ne-dose"
TYPES = ("gain_low", "gain_high", "competition", "memory")
METRICS = ("gain", "competition", "pfc_delay_rate", "pfc_delay_selectivity")
MODES = ("tonic", "phasic")
#: The trial types each measure needs.
MEASURES = {"gain": ("gain_low", "gain_high"), "competition": ("competition",),
            "memory": ("memory",)}  # fmt: skip
#: The summary metrics each measure gives.
MEASURED = {"gain": ("gain",), "competition": ("competition",),
            "memory": ("pfc_delay_rate", "pfc_delay_selectivity")}  # fmt: skip


@dataclass(frozen=True)
class NeDoseParams(sc.SceneTiming):
    levels: tuple = param("floats")
    item_angle: float = param("deg")
    query_angle: float = param("deg")
    recorded_location: int = param("int")
    other_location: int = param("int")
    contrast_low: float = param("float", positive=True)
    contrast_high: float = param("float", positive=True)
    strong_contrast: float = param("float", positive=True)
    weak_contrast: float = param("float", positive=True)
    tuning_window: float = param("deg", positive=True)
    settle: float = param("s")
    working_max: Quantity = param("nM", positive=True)
    # Each mode is a run of the same schedule length on the same build: not structural.
    modes: tuple = param(
        "texts", choices=MODES, required=("tonic",), structural=False, before=list(MODES)
    )
    # Which trial types run sets the schedule's length: structural (the default for lists).
    measures: tuple = param("texts", choices=tuple(MEASURES), before=list(MEASURES))


def trial_types(p: NeDoseParams) -> tuple[str, ...]:
    """The trial types the chosen ``measures`` need, in the order of ``TYPES``."""
    wanted = {t for m in p.measures for t in MEASURES[m]}
    return tuple(t for t in TYPES if t in wanted)


def metrics(p: NeDoseParams) -> tuple[str, ...]:
    """The summary metrics of the chosen ``measures``, in the order of ``METRICS``."""
    wanted = {x for m in p.measures for x in MEASURED[m]}
    return tuple(x for x in METRICS if x in wanted)


def level_name(level: float) -> str:
    return f"ne_{level:g}nM"


def _check(p: NeDoseParams, n_loc: int) -> tuple[int, int]:
    rec, other = sc.check_two_locations(
        "protocol.ne_dose", p.recorded_location, p.other_location, n_loc
    )
    dose.check_doses("protocol.ne_dose.levels", p.levels)
    if not p.contrast_high > p.contrast_low:
        raise BioattnError(
            f"protocol.ne_dose.contrast_high = {p.contrast_high:g}: expected more than "
            f"contrast_low = {p.contrast_low:g}"
        )
    dose.check_settle("protocol.ne_dose", p.settle, p.t_delay)
    if "competition" in p.measures and len(set(working_levels(p))) < 2:
        raise BioattnError(
            f"protocol.ne_dose.working_max = {p.working_max.in_unit('nM'):g} nM: expected at "
            f"least two of the levels {list(p.levels)} nM at or below it"
        )
    return rec, other


def competition_slopes(
    levels: np.ndarray, competition: np.ndarray, working: list[float]
) -> dict[str, float]:
    """Least-squares slopes of ``competition`` against log₁₀(level) per decade, over every
    level (``competition_slope``) and over the ``working`` levels
    (``competition_slope_working``)."""
    levels, competition = np.asarray(levels, float), np.asarray(competition, float)
    inside = np.isin(levels, working)
    x = np.log10(levels)
    return {
        "competition_slope": float(np.polyfit(x, competition, 1)[0]),
        "competition_slope_working": float(np.polyfit(x[inside], competition[inside], 1)[0]),
    }


def working_levels(p: NeDoseParams) -> list[float]:
    """The levels (nM) of the working range: those at or below ``working_max``."""
    top = p.working_max.in_unit("nM") * (1 + 1e-9)
    return [float(x) for x in p.levels if x <= top]


def design(p: NeDoseParams, n_loc: int, n_trials: int, phasic: bool = False) -> list[sc.SceneTrial]:
    """Every trial type of the chosen measures at every level in each repeat (shuffled; label
    ``type`` indexes ``trial_types(p)``); ``phasic``: the same trials at the model's level with
    a burst at each stimulus onset."""
    rec, other = _check(p, n_loc)
    types = trial_types(p)

    def items(kind: str) -> list:
        scene: list = [None] * n_loc
        if kind in ("gain_low", "gain_high"):
            scene[rec] = (p.item_angle, p.contrast_low if kind == "gain_low" else p.contrast_high)
        elif kind == "competition":
            scene[rec] = (p.item_angle, p.strong_contrast)
            scene[other] = (p.item_angle, p.weak_contrast)
        return scene

    blocks = []
    for k in range(n_trials):
        block = []
        for c, level in enumerate(p.levels):
            for t, kind in enumerate(types):
                drug = {"release": (("ne", 1.0),)} if phasic else {"levels": (("ne", level),)}
                query = p.query_angle if kind == "memory" else None
                labels = {"type": t, "level": c, "repeat": k}
                block.append(sc.SceneTrial(items(kind), query, 1.0, None, labels, **drug))
        blocks.append(block)
    return sc.interleave(p, blocks)


def by_repeat(
    x: np.ndarray, trials: list[sc.SceneTrial], n_levels: int, n_types: int = len(TYPES)
) -> np.ndarray:
    """(seed, trial, ...) → (sample, level, type, ...): one sample is one repeat of one seed."""
    return dose.by_repeat(x, sc.labels(trials), ("level", "type"), (n_levels, n_types))


def analyse(
    rates: np.ndarray,
    share: np.ndarray,
    pfc: np.ndarray,
    pfc_far: np.ndarray,
    contrasts: tuple,
    types: tuple[str, ...] = TYPES,
) -> dict:
    """Per-level metrics from per-sample arrays (sample, level, type; ``types`` names the type
    axis): recorded-cell rates, the strong item's charge share and the PFC delay rates of the
    query cells and of the cells opposite the query.  A metric whose trial types did not run
    is left out."""
    out: dict = {}
    if "gain_low" in types:
        low, high = types.index("gain_low"), types.index("gain_high")
        out["gain"] = (rates[:, :, high].mean(axis=0) - rates[:, :, low].mean(axis=0)) / (
            contrasts[1] - contrasts[0]
        )
    if "competition" in types:
        out["competition"] = share[:, :, types.index("competition")].mean(axis=0)
    if "memory" in types:
        memory = types.index("memory")
        out["pfc_delay_rate"] = pfc[:, :, memory].mean(axis=0)
        out["pfc_delay_selectivity"] = (pfc - pfc_far)[:, :, memory].mean(axis=0)
    return dose.level_metrics(out)


def run(model: Model, options: RunOptions) -> ProtocolResult:
    """Run the NE dose–response: gain, competition and memory trials at every tonic NE level ×
    ``n_trials`` per seed, then the same trials in the phasic mode (a burst at each stimulus);
    returns the sensory gain, the strong item's share of the readout drive and the PFC delay
    rate per level and in the phasic mode, and the figure.  ``options``: seeds, trials, scale,
    target, progress."""
    r = sc.prepare(model, NAME, design, options)
    p, seeds, n_loc = r.p, r.seeds, r.n_loc
    levels = np.asarray(p.levels, dtype=float)
    types, reported = trial_types(p), metrics(p)
    rec, other = p.recorded_location - 1, p.other_location - 1
    phasic_trials = design(p, n_loc, r.n_trials, phasic=True)
    schedules = {"tonic": (r.trials, r.schedule)}
    if "phasic" in p.modes:
        schedules["phasic"] = (
            phasic_trials,
            sc.build_schedule(p, phasic_trials, r.schedule.resolution, n_loc),
        )
    delay = r.schedule.windows("delay", offset=float(p.settle))
    contrasts = (p.contrast_low, p.contrast_high)
    summary: dict = {"levels": [float(x) for x in levels]}
    data: dict = {}
    for mode, (trials, schedule) in schedules.items():
        outputs = common.run_seeds(model, schedule, r.settings)
        measured = sc.measure(outputs, r.windows, model)
        rate, _ = sc.recorded_rates(outputs, measured, r, rec, p.item_angle)
        charge = measured["ff_charge"]
        share = charge[:, :, rec] / (charge[:, :, rec] + charge[:, :, other])
        n_pfc = outputs[0].n("pfc")
        angles = 2 * np.pi * np.arange(n_pfc) / n_pfc
        pfc_counts = common.counts_in(outputs, delay, "pfc")
        pfc, pfc_far = (
            pfc_counts[..., common.angular_distance(angles, centre) <= p.tuning_window]
            .mean(axis=-1)
            .reshape(len(seeds), -1)
            / (delay[:, 1] - delay[:, 0])
            for centre in (p.query_angle, p.query_angle + np.pi)
        )
        samples = [
            by_repeat(x, trials, len(levels), len(types)) for x in (rate, share, pfc, pfc_far)
        ]
        point = analyse(*samples, contrasts, types)
        intervals = common.bootstrap_intervals(
            lambda *x: analyse(*x, contrasts, types), samples, seed=seeds[0]
        )
        if mode == "tonic":
            names = [level_name(level) for level in levels]
            summary |= dose.per_level_summary(point, intervals, reported, names)
        else:  # the phasic mode has no levels: pool its trials (one burst each)
            for name in reported:
                per_level = [point[f"{name}_level_{k}"] for k in range(len(levels))]
                summary[f"{name}_phasic"] = float(np.mean(per_level))
        dims = ("seed", "trial")
        data |= {
            f"recorded_rate_{mode}": xr.DataArray(rate, dims=dims, attrs={"units": "Hz"}),
            f"strong_share_{mode}": xr.DataArray(share, dims=dims),
            f"pfc_delay_rate_{mode}": xr.DataArray(pfc, dims=dims, attrs={"units": "Hz"}),
            f"pfc_delay_rate_opposite_{mode}": xr.DataArray(
                pfc_far, dims=dims, attrs={"units": "Hz"}
            ),
            f"ff_charge_{mode}": xr.DataArray(
                charge, dims=(*dims, "location"), attrs={"units": "C"}
            ),  # fmt: skip
        }
    if "competition" in reported:
        competition = np.asarray(summary["competition_by_level"])
        summary |= competition_slopes(levels, competition, working_levels(p))
    if "pfc_delay_rate" in reported:
        summary["pfc_delay_peak_level"] = dose.peak(levels, summary["pfc_delay_rate_by_level"])

    data |= {f"{k}_index": xr.DataArray(v, dims="trial") for k, v in sc.labels(r.trials).items()}
    coords = {"seed": seeds, "trial": np.arange(len(r.trials)), "location": np.arange(n_loc)}
    attrs = {"protocol": NAME, "model": model.name, "levels_nM": summary["levels"],
             "baseline_nM": model.value("neuromod.ne.level").in_unit("nM"),
             "trial_types": list(types), "working_max_nM": p.working_max.in_unit("nM")}  # fmt: skip
    dataset = xr.Dataset(data, coords=coords, attrs=attrs)
    from bioattn.figures import ne_dose_figure

    return ProtocolResult(dataset, summary, {"ne_dose": ne_dose_figure(dataset, summary)})


register(
    Protocol(
        NAME,
        "sensory gain, competition and PFC delay activity across NE levels and in the phasic "
        "mode (Aston-Jones & Cohen 2005; Eldar et al. 2013)",
        NeDoseParams,
        run,
        circuit="multi_item",
        default_model="multi_item",
    )
)
