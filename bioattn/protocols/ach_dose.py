"""Acetylcholine dose–response of spatial attention (Herrero et al. 2008) in the multi-item circuit.

The attend in / attend out design of ``pulvinar-inactivation`` (every location holds an item; a
spatial cue selects the recorded location or another one), run at several cortical ACh levels
and under two drugs, all as trial types of one run (bioattn.circuits.neuromodulators; the
level and the drug hold from the trial's start, so the erase and inter-trial interval let the
circuit settle at the new level):

- ``levels``: the tonic ACh level clamped (nM);
- ``baseline``: the model's level, no clamp;
- ``muscarinic_block``: the model's level with every muscarinic receptor blocked
  (scopolamine-like, as Herrero et al. applied in V1);
- ``nicotinic_block``: the same with the nicotinic receptors blocked (mecamylamine-like).

Recorded: column cells of the recorded location that prefer its item (within
``cell_window``).  Metrics (summary.json):

- ``levels`` (nM) and ``ami_by_level``: the attention modulation index (A − U)/(A + U) of
  those cells at each level (A = attend in, U = attend out, stimulus-window rates), each also
  as ``ami_ach_<level>nM`` with its interval;
- ``ami_slope_ach``: least-squares slope of the AMI against log₁₀(level) (per decade);
- ``ami_baseline``, ``ami_muscarinic_block``, ``ami_nicotinic_block`` and the paired changes
  ``muscarinic_block_effect`` / ``nicotinic_block_effect`` (block − baseline);
- ``ami_peak_level``: the level of the highest AMI (an inverted U has an interior peak, which
  the slope alone would hide);
- ``evoked_by_level``, ``evoked_baseline``, ``evoked_muscarinic_block``,
  ``evoked_nicotinic_block``: evoked rate (stimulus window minus the second half of the
  inter-trial interval, when the circuit has settled to the trial's level and drug, averaged
  over both attention conditions, Hz); also ``evoked_ach_<level>nM``.

The model's level is usually one of ``levels`` (20 nM by default), so ``baseline`` repeats that
condition unclamped: a check that clamping changes nothing else.  With the default affinities
the tonic level occupies 17 % of the muscarinic and 2 % of the nicotinic receptors, which
bounds what a block can change (a nicotinic block changes the afferent drive by 1 %).

Herrero et al. 2008: low doses of ACh applied in V1 raised attentional modulation,
scopolamine lowered it, mecamylamine had no systematic effect.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import xarray as xr

from bioattn import stats
from bioattn.config import Model, param
from bioattn.protocols import common, dose
from bioattn.protocols import scene as sc
from bioattn.protocols.registry import Protocol, ProtocolResult, RunOptions, register

NAME = "ach-dose"
ATTENTION = ("out", "in")
#: Conditions besides the clamped levels: (name, receptor blocked or None).
DRUG_CONDITIONS = (
    ("baseline", None),
    ("muscarinic_block", "ach.muscarinic"),
    ("nicotinic_block", "ach.nicotinic"),
)


@dataclass(frozen=True)
class AchDoseParams(sc.SceneTiming):
    first_angle: float = param("deg")
    contrast: float = param("float", positive=True)
    recorded_location: int = param("int")
    away_location: int = param("int")
    levels: tuple = param("floats")


def conditions(p: AchDoseParams) -> list[str]:
    """Condition names in order: one per level (``ach_<level>nM``), then the drug conditions."""
    return [level_name(level) for level in p.levels] + [name for name, _ in DRUG_CONDITIONS]


def level_name(level: float) -> str:
    return f"ach_{level:g}nM"


def design(p: AchDoseParams, n_loc: int, n_trials: int) -> list[sc.SceneTrial]:
    rec, away = sc.check_two_locations(
        "protocol.ach_dose", p.recorded_location, p.away_location, n_loc
    )
    dose.check_doses("protocol.ach_dose.levels", p.levels)  # > 0: the slope is over log level
    items = [(p.first_angle + 2 * np.pi * b / n_loc, p.contrast) for b in range(n_loc)]
    drugs = [{"levels": (("ach", float(level)),)} for level in p.levels]
    drugs += [{"blocks": ((receptor, 1.0),)} if receptor else {} for _, receptor in DRUG_CONDITIONS]
    blocks = [
        [
            sc.SceneTrial(
                list(items),
                None,
                1.0,
                (away, rec)[a],
                {"attend": a, "condition": c, "repeat": k},
                **drug,
            )  # fmt: skip
            for c, drug in enumerate(drugs)
            for a in range(len(ATTENTION))
        ]
        for k in range(n_trials)
    ]
    return sc.interleave(p, blocks)


def by_repeat(x: np.ndarray, trials: list[sc.SceneTrial], n_conditions: int) -> np.ndarray:
    """(seed, trial) → (sample, attention, condition): one sample is one repeat of every
    condition × attention (interleaved in one block), of one seed."""
    sizes = (len(ATTENTION), n_conditions)
    return dose.by_repeat(x, sc.labels(trials), ("attend", "condition"), sizes)


def analyse(rates: np.ndarray, evoked: np.ndarray, names: list[str], levels: np.ndarray) -> dict:
    """Metrics (module docstring) from the recorded cells' rates and evoked rates, each
    (sample, attention, condition), conditions in the order of ``names`` (levels first)."""
    out: dict = {}
    ami = stats.modulation_index(rates[:, 1].mean(axis=0), rates[:, 0].mean(axis=0))
    evoked_mean = evoked.mean(axis=(0, 1))
    for k, name in enumerate(names):
        out[f"ami_{name}"] = float(ami[k])
        out[f"evoked_{name}"] = float(evoked_mean[k])
    n = len(levels)
    slope = np.polyfit(np.log10(levels), ami[:n], 1)[0] if np.all(np.isfinite(ami[:n])) else np.nan
    out["ami_slope_ach"] = float(slope)
    out["ami_peak_level"] = dose.peak(levels, ami[:n])
    for drug in ("muscarinic_block", "nicotinic_block"):
        out[f"{drug}_effect"] = out[f"ami_{drug}"] - out["ami_baseline"]
    return out


def run(model: Model, options: RunOptions) -> ProtocolResult:
    """Run the ACh dose–response: attend in / out × (each level, baseline, muscarinic block,
    nicotinic block) × ``n_trials`` per seed, interleaved in one run per seed (one build);
    returns the attention modulation index and evoked rate of every condition, the AMI's slope
    over log level and the figure.  ``options``: seeds, trials, scale, target, progress."""
    r = sc.prepare(model, NAME, design, options)
    p, seeds, n_loc, trials = r.p, r.seeds, r.n_loc, r.trials
    rec = p.recorded_location - 1
    levels = np.asarray(p.levels, dtype=float)
    names = conditions(p)
    outputs = common.run_seeds(model, r.schedule, r.settings)
    measured = sc.measure(outputs, r.windows, model)
    angle = p.first_angle + 2 * np.pi * rec / n_loc
    rate, evoked = sc.recorded_rates(outputs, measured, r, rec, angle, float(p.t_iti) / 2)
    rates, evokeds = by_repeat(rate, trials, len(names)), by_repeat(evoked, trials, len(names))
    summary: dict = {"levels": [float(x) for x in levels]}
    summary |= analyse(rates, evokeds, names, levels)
    summary["ami_by_level"] = [summary[f"ami_{level_name(x)}"] for x in levels]
    summary["evoked_by_level"] = [summary[f"evoked_{level_name(x)}"] for x in levels]
    summary |= common.bootstrap_intervals(
        lambda *x: analyse(*x, names, levels), [rates, evokeds], seed=seeds[0]
    )
    data = {
        "recorded_rate": xr.DataArray(rate, dims=("seed", "trial"), attrs={"units": "Hz"}),
        "recorded_evoked": xr.DataArray(evoked, dims=("seed", "trial"), attrs={"units": "Hz"}),
        **sc.trial_labels(trials, n_loc),
        **sc.measures_dataset(measured, r.window),
        **common.spikes_dataset(outputs),
    }
    coords = {
        "seed": seeds,
        "trial": np.arange(len(trials)),
        "location": np.arange(n_loc),
        "condition": names,
        "attend": list(ATTENTION),
        **sc.cell_coordinates(outputs, n_loc),
    }
    attrs = {
        "protocol": NAME,
        "model": model.name,
        "levels_nM": [float(x) for x in levels],
        "baseline_nM": model.value("neuromod.ach.level").in_unit("nM"),
    }
    dataset = xr.Dataset(data, coords=coords, attrs=attrs)
    from bioattn.figures import ach_dose_figure

    return ProtocolResult(dataset, summary, {"ach_dose": ach_dose_figure(dataset, summary)})


register(
    Protocol(
        NAME,
        "spatial attention modulation across ACh levels and under muscarinic / nicotinic block "
        "(Herrero et al. 2008)",
        AchDoseParams,
        run,
        circuit="multi_item",
        default_model="multi_item",
    )
)
