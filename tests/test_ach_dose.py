"""The ach-dose protocol's design and analysis (bioattn.protocols.ach_dose)."""

from __future__ import annotations

import numpy as np
import pytest

from bioattn import config
from bioattn.errors import BioattnError
from bioattn.protocols import ach_dose
from bioattn.protocols import scene as sc

NM = 1e-6  # 1 nM in SI units (mol/m³)


def _params(**changes):
    model = config.load_model("multi_item", [f"protocol.ach_dose.{k}={v}" for k, v in
                                             changes.items()])  # fmt: skip
    return model, model["protocol.ach_dose"]


def test_every_level_and_drug_is_a_trial_type_of_one_run_with_both_attention_conditions():
    model, p = _params()
    n_loc = model["scene"].n_locations
    trials = ach_dose.design(p, n_loc, n_trials=3)
    names = ach_dose.conditions(p)
    assert names == [*(f"ach_{x:g}nM" for x in p.levels), "baseline", "muscarinic_block",
                     "nicotinic_block"]  # fmt: skip
    assert len(trials) == 3 * len(names) * 2
    seen = {(t.labels["repeat"], t.labels["condition"], t.labels["attend"]) for t in trials}
    assert len(seen) == len(trials)  # every repeat holds every condition × attention once
    for t in trials:
        name = names[t.labels["condition"]]
        assert t.spatial_cue == (p.recorded_location - 1 if t.labels["attend"] else
                                 p.away_location - 1)  # fmt: skip
        if name.startswith("ach_"):
            assert t.levels == (("ach", p.levels[t.labels["condition"]]),) and t.blocks == ()
        elif name == "baseline":
            assert t.levels == () and t.blocks == ()
        else:
            receptor = "ach." + name.removesuffix("_block")
            assert t.levels == () and t.blocks == ((receptor, 1.0),)
    # The schedule carries them through every epoch of the trial, the stimulus included.
    schedule = sc.build_schedule(p, trials, float(model["simulation"].schedule_dt), n_loc)
    clamps, _ = schedule.modulator_arrays("ach")
    blocked = schedule.receptor_block("ach.muscarinic")
    for trial, design in zip(schedule.trials, trials, strict=True):
        a = int(round(trial.epochs[0].start / schedule.resolution))
        b = int(round(trial.epochs[-1].stop / schedule.resolution))
        expected = dict(design.levels).get("ach", np.nan)
        np.testing.assert_array_equal(clamps[a:b], expected)
        np.testing.assert_array_equal(blocked[a:b], dict(design.blocks).get("ach.muscarinic", 0))


def test_analysis_gives_each_conditions_ami_the_slope_per_decade_and_the_block_effects():
    levels = np.array([10.0, 100.0, 1000.0])
    names = [*(f"ach_{x:g}nM" for x in levels), "baseline", "muscarinic_block", "nicotinic_block"]
    ami = np.array([0.05, 0.10, 0.15, 0.09, 0.04, 0.085])  # what the rates below are built to give
    unattended = np.full(len(names), 20.0)
    attended = unattended * (1 + ami) / (1 - ami)
    rng = np.random.default_rng(0)
    noise = rng.normal(0, 0.5, (6, 2, len(names)))
    rates = np.stack([unattended, attended])[None] + noise - noise.mean(axis=0)
    evoked = rates - 5.0
    out = ach_dose.analyse(rates, evoked, names, levels)
    for k, name in enumerate(names):
        assert out[f"ami_{name}"] == pytest.approx(ami[k], abs=1e-12)
        assert out[f"evoked_{name}"] == pytest.approx((attended[k] + unattended[k]) / 2 - 5.0)
    assert out["ami_slope_ach"] == pytest.approx(0.05, abs=1e-12)  # +0.05 per decade
    assert out["muscarinic_block_effect"] == pytest.approx(0.04 - 0.09, abs=1e-12)
    assert out["nicotinic_block_effect"] == pytest.approx(0.085 - 0.09, abs=1e-12)


def test_samples_are_repeats_with_attention_and_condition_in_their_places():
    """by_repeat on label-coded trials: entry (sample, attention, condition) holds exactly the
    trial of that seed, repeat, attention and condition."""
    model, p = _params()
    n_loc, n_trials = model["scene"].n_locations, 3
    trials = ach_dose.design(p, n_loc, n_trials)
    n_conditions = len(ach_dose.conditions(p))
    code = np.array([[1000 * s + 100 * t.labels["repeat"] + 10 * t.labels["condition"]
                      + t.labels["attend"] for t in trials] for s in range(2)])  # fmt: skip
    samples = ach_dose.by_repeat(code.astype(float), trials, n_conditions)
    assert samples.shape == (2 * n_trials, 2, n_conditions)
    for sample in range(2 * n_trials):
        seed, repeat = divmod(sample, n_trials)
        for a in range(2):
            for c in range(n_conditions):
                assert samples[sample, a, c] == 1000 * seed + 100 * repeat + 10 * c + a


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"levels": "[20.0]"}, "expected >= 2 different values"),
        ({"away_location": 1}, "expected two different locations"),
        ({"levels": "[0.0, 20.0]"}, "expected every value > 0"),
    ],
)
def test_impossible_designs_are_refused(change, message):
    model, p = _params(**change)
    with pytest.raises(BioattnError, match=message):
        ach_dose.design(p, model["scene"].n_locations, 2)


@pytest.mark.slow  # ~7 min: 3 seeds x 3 repeats x 6 conditions x 2 attention conditions, full size
def test_attention_modulation_rises_with_acetylcholine_over_seeds():
    """Herrero et al. 2008: more ACh in V1, more attention modulation.  On the real circuit over
    3 seeds x 3 repeats (pooled, interval by bootstrap over seed x repeat samples): the AMI
    rises per decade of ACh and is larger at 1280 than at 5 nM (README: 10 seeds x 3 repeats,
    0.091 -> 0.188, slope 0.043 [0.034, 0.051] per decade)."""
    from bioattn.protocols.registry import RunOptions

    model = config.load_model("multi_item", ["protocol.ach_dose.levels=[5, 80, 1280]"])
    s = ach_dose.run(model, RunOptions(seeds=(1, 2, 3), n_trials=3)).summary
    low, _, high = s["ami_by_level"]
    assert high > low + 0.04, s["ami_by_level"]
    assert s["ami_slope_ach"] >= 0.015, s["ami_slope_ach"]
    assert s["ami_slope_ach_ci"][0] > 0.0, s["ami_slope_ach_ci"]
