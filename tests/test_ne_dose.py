"""The ne-dose protocol's design and analysis (bioattn.protocols.ne_dose)."""

from __future__ import annotations

import numpy as np
import pytest

from bioattn import config
from bioattn.errors import BioattnError
from bioattn.protocols import get_protocol, ne_dose
from bioattn.protocols import scene as sc
from bioattn.protocols.registry import RunOptions


def _params(*overrides):
    model = config.load_model("multi_item", [f"protocol.ne_dose.{o}" for o in overrides])
    return model, model["protocol.ne_dose"]


def test_every_trial_type_at_every_level_and_the_phasic_mode_on_the_same_schedule_length():
    model, p = _params()
    n_loc = model["scene"].n_locations
    tonic = ne_dose.design(p, n_loc, n_trials=2)
    phasic = ne_dose.design(p, n_loc, n_trials=2, phasic=True)
    assert len(tonic) == len(phasic) == 2 * len(p.levels) * len(ne_dose.TYPES)
    seen = {(t.labels["repeat"], t.labels["level"], t.labels["type"]) for t in tonic}
    assert len(seen) == len(tonic)
    rec, other = p.recorded_location - 1, p.other_location - 1
    for t in tonic:
        kind = ne_dose.TYPES[t.labels["type"]]
        assert t.levels == (("ne", p.levels[t.labels["level"]]),) and t.release == ()
        present = [b for b, item in enumerate(t.items) if item is not None]
        if kind == "competition":
            assert present == sorted([rec, other])
            assert t.items[rec][1] > t.items[other][1]
        elif kind == "memory":
            assert present == [] and t.query == pytest.approx(p.query_angle)
        else:
            assert present == [rec] and t.query is None
    assert all(t.levels == () and t.release == (("ne", 1.0),) for t in phasic)
    resolution = float(model["simulation"].schedule_dt)
    a = sc.build_schedule(p, tonic, resolution, n_loc)
    b = sc.build_schedule(p, phasic, resolution, n_loc)
    assert a.n_steps == b.n_steps  # one build serves both modes
    release = b.modulator_arrays("ne")[1][:, 0]  # global, not tagged
    onsets = [int(round(trial.epoch("stimulus").start / resolution)) for trial in b.trials]
    np.testing.assert_array_equal(np.flatnonzero(release), onsets)


def test_samples_hold_each_level_and_type_of_one_repeat():
    model, p = _params()
    trials = ne_dose.design(p, model["scene"].n_locations, n_trials=3)
    code = np.array([[1000 * s + 100 * t.labels["repeat"] + 10 * t.labels["level"]
                      + t.labels["type"] for t in trials] for s in range(2)], float)  # fmt: skip
    samples = ne_dose.by_repeat(code, trials, len(p.levels))
    assert samples.shape == (6, len(p.levels), len(ne_dose.TYPES))
    for sample in range(6):
        seed, repeat = divmod(sample, 3)
        for level in range(len(p.levels)):
            for kind in range(len(ne_dose.TYPES)):
                assert (
                    samples[sample, level, kind] == 1000 * seed + 100 * repeat + 10 * level + kind
                )


def test_gain_competition_delay_rate_and_selectivity_per_level():
    n, levels = 4, 3
    rates = np.zeros((n, levels, 4))
    rates[:, :, 0] = 10.0  # gain_low
    rates[:, :, 1] = 10.0 + np.array([5.0, 10.0, 20.0])  # gain_high
    share = np.full((n, levels, 4), np.nan)
    share[:, :, 2] = [0.6, 0.7, 0.8]
    pfc = np.zeros((n, levels, 4))
    pfc[:, :, 3] = [20.0, 40.0, 10.0]
    far = np.zeros((n, levels, 4))
    far[:, :, 3] = [20.0, 5.0, 2.0]  # level 0: every direction fires alike
    out = ne_dose.analyse(rates, share, pfc, far, (0.25, 0.5))
    assert [out[f"gain_level_{k}"] for k in range(3)] == pytest.approx([20.0, 40.0, 80.0])
    assert [out[f"competition_level_{k}"] for k in range(3)] == pytest.approx([0.6, 0.7, 0.8])
    assert [out[f"pfc_delay_rate_level_{k}"] for k in range(3)] == pytest.approx([20, 40, 10])
    selectivity = [out[f"pfc_delay_selectivity_level_{k}"] for k in range(3)]
    assert selectivity == pytest.approx([0, 35, 8])


def test_measures_pick_their_trial_types_and_leave_the_other_metrics_out():
    model, p = _params('measures=["competition", "memory"]')
    assert ne_dose.trial_types(p) == ("competition", "memory")
    trials = ne_dose.design(p, model["scene"].n_locations, n_trials=3)
    assert len(trials) == 3 * len(p.levels) * 2
    kinds = [ne_dose.trial_types(p)[t.labels["type"]] for t in trials]
    assert kinds.count("competition") == kinds.count("memory") == 3 * len(p.levels)
    for t, kind in zip(trials, kinds, strict=True):
        present = [b for b, item in enumerate(t.items) if item is not None]
        assert len(present) == (2 if kind == "competition" else 0)
    n, levels = 3, 2
    share = np.zeros((n, levels, 2))
    share[:, :, 0] = [0.6, 0.9]
    pfc = np.zeros((n, levels, 2))
    pfc[:, :, 1] = [30.0, 10.0]
    out = ne_dose.analyse(share, share, pfc, 0 * pfc, (0.25, 0.5), ne_dose.trial_types(p))
    assert out == pytest.approx({"competition_level_0": 0.6, "competition_level_1": 0.9,
                                 "pfc_delay_rate_level_0": 30.0, "pfc_delay_rate_level_1": 10.0,
                                 "pfc_delay_selectivity_level_0": 30.0,
                                 "pfc_delay_selectivity_level_1": 10.0})  # fmt: skip
    assert ne_dose.metrics(p) == ("competition", "pfc_delay_rate", "pfc_delay_selectivity")


@pytest.mark.parametrize("value", ['["rates"]', "[]", '["gain", "gain"]'])
def test_unknown_empty_or_repeated_measures_are_refused_when_the_model_is_read(value):
    with pytest.raises(BioattnError, match=r"protocol.ne_dose.measures = .*expected"):
        _params(f"measures={value}")


def test_the_working_range_holds_the_levels_up_to_working_max():
    _, p = _params("working_max='30 nM'")
    assert ne_dose.working_levels(p) == [3.0, 10.0, 30.0]
    _, p = _params("working_max='1 uM'")
    assert ne_dose.working_levels(p) == list(p.levels)


def test_competition_slopes_over_every_level_and_over_the_working_range():
    levels = np.array([3.0, 30.0, 300.0])
    out = ne_dose.competition_slopes(levels, np.array([0.6, 0.8, 0.5]), [3.0, 30.0])
    assert out["competition_slope_working"] == pytest.approx(0.2)  # +0.2 over one decade
    assert out["competition_slope"] == pytest.approx(-0.05)  # least squares over two decades


def test_the_working_range_is_checked_only_when_competition_is_measured():
    model, p = _params("working_max='5 nM'", 'measures=["memory"]')
    assert len(ne_dose.design(p, model["scene"].n_locations, 1)) == len(p.levels)


def test_a_run_without_the_tonic_mode_is_refused_when_the_model_is_read():
    with pytest.raises(BioattnError, match=r"protocol.ne_dose.modes = .*expected 'tonic'"):
        _params('modes=["phasic"]')


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("levels=[10.0]", "expected >= 2 different values"),
        ("levels=[0.0, 10.0]", "expected every value > 0"),
        ("other_location=1", "expected two different locations"),
        ("contrast_high=0.2", "expected more than contrast_low"),
        ("settle='2 s'", "expected less than t_delay"),
        ("working_max='5 nM'", r"working_max = 5 nM: expected at least two of the levels"),
    ],
)
def test_impossible_designs_are_refused(override, message):
    model, p = _params(override)
    with pytest.raises(BioattnError, match=message):
        ne_dose.design(p, model["scene"].n_locations, 1)


def test_a_competition_only_run_reports_competition_alone_and_the_strong_item_wins(
    standalone_dir,
):
    """The real circuit, full size, at 0.1 ms (two levels, one repeat): only the competition
    trials run, the summary holds competition and its slope and no other metric, and the item
    at twice the contrast takes more than half of the readout's feedforward drive."""
    model = config.load_model(
        "multi_item",
        [
            'protocol.ne_dose.measures=["competition"]',
            'protocol.ne_dose.modes=["tonic"]',
            "protocol.ne_dose.levels=[3.0, 30.0]",
            "simulation.dt=0.1 ms",
        ],
    )
    options = RunOptions((1,), 1, 1.0, "cpp_standalone", standalone_dir)
    result = get_protocol("ne-dose").run(model, options)
    s = result.summary
    assert len(s["competition_by_level"]) == 2 and "competition_slope" in s
    assert s["competition_slope_working"] == pytest.approx(s["competition_slope"])  # 3, 30 nM
    assert not any(k.startswith(("gain", "pfc_delay")) for k in s), sorted(s)
    assert result.dataset.attrs["trial_types"] == ["competition"]
    assert result.dataset.sizes["trial"] == 2
    assert all(0.5 < x < 1.0 for x in s["competition_by_level"]), s["competition_by_level"]


@pytest.mark.slow  # ~15 min: 3 seeds x 4 repeats x 3 levels of competition trials, full size
def test_competition_steepens_with_noradrenaline_over_the_working_range(standalone_dir):
    """Eldar, Cohen & Niv 2013: higher NE, narrower attention.  On the real circuit at the model
    file's defaults, seeds 11-13 of the README's replicate (3, 10, 30 nM, 4 repeats): the strong
    item's share rises per decade of NE (README: +0.061 [0.015, 0.106] over seeds 11-20, these
    three +0.026, +0.185, +0.031) and is larger at 30 than at 3 nM in every seed."""
    model = config.load_model(
        "multi_item",
        [
            'protocol.ne_dose.measures=["competition"]',
            'protocol.ne_dose.modes=["tonic"]',
            "protocol.ne_dose.levels=[3.0, 10.0, 30.0]",
        ],
    )
    options = RunOptions((11, 12, 13), 4, 1.0, "cpp_standalone", standalone_dir)
    result = get_protocol("ne-dose").run(model, options)
    s = result.summary
    assert s["competition_slope_working"] > 0.03, s["competition_by_level"]
    share = result.dataset["strong_share_tonic"].values  # (seed, trial)
    level = result.dataset["level_index"].values
    for seed_share in share:
        assert seed_share[level == 2].mean() > seed_share[level == 0].mean(), seed_share
