"""The multi-item circuit: block-structured rings, scene schedules, model file, protocol designs,
and the scientific effects on the real circuit (Reynolds 1999, Zhou 2016, causality in time)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from brian2 import NeuronGroup, start_scope

from bioattn import cli, config
from bioattn.circuits.bindings import Bindings
from bioattn.circuits.ring import (
    Kernel,
    ModeBank,
    connect_readout,
    fourier_coefficients,
    ring_kernel,
)
from bioattn.engine import SimulationOutput, simulate
from bioattn.errors import BioattnError
from bioattn.protocols import biased_competition, pulvinar_inactivation, visual_search
from bioattn.protocols import scene as sc
from bioattn.protocols.registry import RunOptions
from bioattn.schedule import Schedule


@pytest.fixture(scope="module")
def model():
    return config.load_model("multi_item")


# --------------------------------------------------------------------------------------------
# Block-structured rings
# --------------------------------------------------------------------------------------------


def _dense_weights(syn, n_pre_rows, n_post, bank, coefficients):
    """Effective cell-to-cell weight matrix W[post, pre cell] of a bank → target readout."""
    w = np.zeros((n_post, n_pre_rows))
    w[np.asarray(syn.j[:]), np.asarray(syn.i[:])] = np.asarray(syn.w[:])
    b = np.zeros((n_pre_rows, len(bank.forward.source)))
    b[np.asarray(bank.forward.j[:]), np.asarray(bank.forward.i[:])] = np.asarray(bank.forward.b[:])
    return w @ b


def test_blocks_couple_only_the_listed_pairs_with_the_ring_kernel():
    start_scope()
    n, blocks, sigma = 32, 3, math.radians(36)
    source = NeuronGroup(n * blocks, "s_ampa : 1")
    target = NeuronGroup(n * blocks, "g : siemens")
    coefficients = fourier_coefficients(sigma, None, 1e-6)
    bank = ModeBank(source, ["s_ampa"], coefficients.size - 1, "test", n_blocks=blocks)
    pairs = [(0, 1, 1.0), (2, 1, 0.5), (1, 0, 2.0)]
    model = config.load_model().replace(
        {"topdown.sigma": "36 deg", "simulation.kernel_tolerance": 1e-6}
    )
    bindings = Bindings()
    syn = connect_readout(
        bank, target, {"g": ("s_ampa", "g_unit")}, Kernel("topdown.sigma"), model, bindings,
        "test_readout", pairs=[(a, b) for a, b, _ in pairs],
        pair_weights=lambda m, s: [w for _, _, w in pairs], target_blocks=blocks,
    )  # fmt: skip
    bindings.assign(model, None)
    dense = _dense_weights(syn, len(bank.group), n * blocks, bank, coefficients)
    theta = 2 * np.pi * np.arange(n) / n
    kernel = ring_kernel(theta[:, None] - theta[None, :], sigma)
    expected = np.zeros((n * blocks, n * blocks))
    for a, b, weight in pairs:
        expected[b * n : (b + 1) * n, a * n : (a + 1) * n] = weight * kernel
    np.testing.assert_allclose(dense, expected, atol=1e-5 * kernel.max())


def test_mode_bank_rejects_uneven_blocks():
    start_scope()
    with pytest.raises(ValueError, match="blocks"):
        ModeBank(NeuronGroup(10, "s_ampa : 1"), ["s_ampa"], 1, "uneven", n_blocks=3)


# --------------------------------------------------------------------------------------------
# Scene schedules
# --------------------------------------------------------------------------------------------


def test_scene_schedule_places_items_cue_and_query_gain_per_location():
    schedule = Schedule(0.001, 3)
    scene = ((0.5, 1.0), (0.0, 0.0), (2.0, 0.3))
    schedule.add_trial(
        {}, [("a", 0.01, {}), ("b", 0.02, {"scene": scene, "spatial_cue": 2, "query_gain": 2.0})]
    )
    arrays = schedule.arrays()
    assert arrays["scene_gain"].shape == (30, 3)
    np.testing.assert_array_equal(arrays["scene_gain"][:10], 0)
    np.testing.assert_array_equal(arrays["scene_gain"][10:], [[1.0, 0.0, 0.3]] * 20)
    np.testing.assert_array_equal(arrays["scene_angle"][10:, 2], 2.0)
    np.testing.assert_array_equal(arrays["spatial_cue"][10:], [[0, 0, 1]] * 20)
    np.testing.assert_array_equal(arrays["query_gain"], [1.0] * 10 + [2.0] * 20)


@pytest.mark.parametrize(
    "settings, match",
    [({"scene": ((0.0, 1.0),)}, "scene of 1 items, expected 3"), ({"spatial_cue": 3}, "0 .. 2")],
)
def test_scene_schedule_rejects_wrong_scenes(settings, match):
    with pytest.raises(BioattnError, match=match):
        Schedule(0.001, 3).add_trial({}, [("bad", 0.01, settings)])


# --------------------------------------------------------------------------------------------
# Model file and circuits
# --------------------------------------------------------------------------------------------


def test_multi_item_model_loads_and_round_trips(model, tmp_path):
    assert model.circuit == "multi_item"
    assert set(config.CIRCUITS["multi_item"]) <= set(model.sections)
    assert model["scene"].n_locations == 4
    path = tmp_path / "m.toml"
    path.write_text(config.to_toml(model))
    assert config.to_raw(config.load_model(path)) == config.to_raw(model)
    rows = config.parameter_rows(model)
    assert all(description and source for _, _, description, source in rows)


def test_sections_of_another_circuit_are_rejected(tmp_path):
    text = config.models_dir().joinpath("ardid2007.toml").read_text()
    path = tmp_path / "mixed.toml"
    path.write_text(text + "\n[scene]\nn_locations = 4\n")
    with pytest.raises(BioattnError, match=r"\[scene\]: not a section of circuit 'two_area'"):
        config.load_model(path)


def test_protocol_on_the_wrong_circuit_is_one_line_exit_2(tmp_path, capsys):
    code = cli.main(
        ["run", "biased-competition", "--model", "ardid2007", "--out", str(tmp_path / "x")]
    )
    err = capsys.readouterr().err.strip()
    assert code == 2 and "\n" not in err
    assert "runs on the 'multi_item' circuit" in err
    assert not (tmp_path / "x").exists()


# --------------------------------------------------------------------------------------------
# Designs
# --------------------------------------------------------------------------------------------


def test_visual_search_design_labels_targets_and_distractors(model):
    p = model["protocol.visual_search"]
    trials = visual_search.design(p, 4, 2)
    assert len(trials) == 2 * len(p.set_sizes) * len(p.cue_strengths) * len(p.contrasts)
    assert trials == visual_search.design(p, 4, 2)  # deterministic
    for trial in trials:
        target = trial.items[trial.labels["target_location"]]
        assert target[0] == pytest.approx(trial.query)
        distances = [
            abs((item[0] - trial.query + np.pi) % (2 * np.pi) - np.pi)
            for b, item in enumerate(trial.items)
            if item is not None and b != trial.labels["target_location"]
        ]
        assert all(min(abs(d - np.array(p.distractor_distances))) < 1e-9 for d in distances)
        assert len({item[1] for item in trial.items if item is not None}) == 1
    sizes = {sum(i is not None for i in t.items) for t in trials}
    assert sizes == {1, 2, 3, 4}


def test_visual_search_rejects_set_sizes_beyond_the_locations(model):
    p = model.with_overrides(["protocol.visual_search.set_sizes=[1.0, 5.0]"])
    with pytest.raises(BioattnError, match=r"set_sizes \[1.0, 5.0\]: expected whole numbers"):
        visual_search.design(p["protocol.visual_search"], 4, 1)


def test_conditions_are_interleaved_within_every_repeat(model):
    p = model["protocol.biased_competition"]
    trials = biased_competition.design(p, 4, 3)
    for k in range(3):
        block = trials[9 * k : 9 * (k + 1)]
        assert {(t.labels["scene"], t.labels["attend"]) for t in block} == {
            (s, a) for s in range(3) for a in range(3)
        }
    orders = [[(t.labels["scene"], t.labels["attend"]) for t in trials[9 * k : 9 * k + 9]]
              for k in range(3)]  # fmt: skip
    assert orders[0] != orders[1] or orders[1] != orders[2]


def test_biased_competition_metrics_follow_their_definition():
    rates = np.zeros((3, 3, 4))
    rates[0, 0], rates[1, 0], rates[2, 0] = 60.0, 10.0, 30.0  # P, N, pair with attention away
    rates[2, 1], rates[2, 2] = 50.0, 15.0  # pair, attend P / attend N
    rates[0, 1] = 72.0  # P alone, attended
    out = biased_competition.analyse(rates)
    assert out["single_gain_attended"] == pytest.approx(1.2)
    assert out["pair_shift_attend_pref"] == pytest.approx(20 / 30)
    assert out["pair_shift_attend_nonpref"] == pytest.approx(15 / 20)
    assert out["pair_between"] == 1.0


def test_pulvinar_inactivation_reports_the_shares_of_the_states_that_ran():
    """AMI = (A - U)/(A + U) per state; a route's share = its state's AMI / intact AMI, only
    where that state ran (``protocol.pulvinar_inactivation.states``)."""
    rng = np.random.default_rng(3)
    rates = np.empty((4, 2, 2))  # (sample, attention out/in, state intact/feedback silenced)
    rates[:, 0], rates[:, 1] = (20.0, 20.0), (30.0, 25.0)
    counts = rng.poisson(10.0, (4, 2, 2, 16)).astype(float)
    prefs = 2 * np.pi * np.arange(16) / 16
    states = ("intact", "feedback_silenced")
    out = pulvinar_inactivation.analyse(rates, rates - 5.0, counts, prefs, states)
    assert out["ami_intact"] == pytest.approx(0.2)
    assert out["pulvinar_share"] == pytest.approx((5 / 45) / 0.2)
    assert "direct_share" not in out and "ami_inactivated" not in out


def test_pulvinar_inactivation_without_the_intact_state_is_one_line_exit_2(tmp_path, capsys):
    out = tmp_path / "x"
    argv = ["run", "pulvinar-inactivation", "--set",
            'protocol.pulvinar_inactivation.states=["inactivated"]', "--out", str(out)]  # fmt: skip
    code = cli.main(argv)
    err = capsys.readouterr().err.strip()
    assert code == 2 and "\n" not in err
    assert "protocol.pulvinar_inactivation.states" in err and "'intact'" in err
    assert not out.exists()


# --------------------------------------------------------------------------------------------
# The real circuit
# --------------------------------------------------------------------------------------------


def test_readout_before_a_new_item_is_identical_with_and_without_it(model):
    """Masked attention from time: a later item cannot change earlier read-outs (same seed)."""
    d = np.radians
    blank = ((0.0, 0.0),) * 4

    def schedule(with_second: bool) -> Schedule:
        s = Schedule(float(model["simulation"].schedule_dt), 4)
        first = ((d(90), 1.0),) + blank[1:]
        both = ((d(90), 1.0), (d(270), 1.0) if with_second else (0.0, 0.0)) + blank[2:]
        s.add_trial({}, [("settle", 0.2, {}), ("first", 0.3, {"scene": first}),
                         ("second", 0.3, {"scene": both})])  # fmt: skip
        return s

    runs = [simulate(model, schedule(w), seed=5, progress=False) for w in (True, False)]
    onset = 0.5
    for area in ("readout", "column", "ppc", "pulvinar"):
        early = [o.t(area) < onset for o in runs]
        np.testing.assert_array_equal(runs[0].t(area)[early[0]], runs[1].t(area)[early[1]])
        np.testing.assert_array_equal(runs[0].i(area)[early[0]], runs[1].i(area)[early[1]])
    # ... and the second item does arrive: its column responds, and the readout's spikes differ.
    after = [(o.t("column") >= onset) & (o.t("column") < onset + 0.3) for o in runs]
    n_col = runs[0].n("column") // 4
    # Cells of column 2 (block 1) preferring the second item's 270°, within 30°.
    tuned = n_col + np.flatnonzero(np.abs(np.arange(n_col) * 360 / n_col - 270) <= 30)
    second = [np.isin(o.i("column")[m], tuned).sum() for o, m in zip(runs, after, strict=True)]
    assert second[0] > 2 * second[1]
    late = [o.t("readout") >= onset for o in runs]
    assert not np.array_equal(runs[0].t("readout")[late[0]], runs[1].t("readout")[late[1]])


def test_biased_competition_on_the_circuit(biased_competition_dir):
    """Reynolds et al. 1999: the pair lies between the singles, and attention moves it toward
    the attended item's own response; an attended single item gains at least 10 % (McAdams &
    Maunsell 1999).  The published ranges (shifts 0.5-1, single gain 1.1-1.5) need more trials
    than this fixture's 3 per condition, whose unattended pair response alone varies ~2-fold
    from trial to trial (measured here, seed 1: shifts 1.03 and 0.49, single gain 1.53; over
    seeds 1-3 at 8 trials: shifts 0.59-0.70 and 0.65-0.76, single gain 1.24-1.37); they are
    tested in the slow set."""
    import json

    s = json.loads((biased_competition_dir / "summary.json").read_text())
    assert s["r_nonpref"] < s["r_pair"] < s["r_pref"]
    assert s["r_pair_attend_nonpref"] < s["r_pair"] < s["r_pair_attend_pref"]
    assert s["pair_shift_attend_pref"] > 0.25
    assert s["pair_shift_attend_nonpref"] > 0.25
    assert s["single_gain_attended"] > 1.1


@pytest.mark.slow
def test_biased_competition_shifts_stay_between_the_singles_over_seeds(model):
    """The whole Reynolds 1999 range, 0.5 <= shift <= 1 for either attended item, and the single
    gain in 1.1-1.5, on 3 seeds x 8 trials per condition (pooled), shared gain on (the paired
    repeats remove it from the shifts: bioattn.circuits.variability)."""
    s = biased_competition.run(model, RunOptions(seeds=(1, 2, 3), n_trials=8)).summary
    assert s["r_nonpref"] < s["r_pair"] < s["r_pref"]
    assert 0.5 <= s["pair_shift_attend_pref"] <= 1.0
    assert 0.5 <= s["pair_shift_attend_nonpref"] <= 1.0
    assert 1.1 <= s["single_gain_attended"] <= 1.5


def test_silencing_the_pulvinar_reduces_attention_modulation_without_abolishing_it(model):
    """Zhou, Schafer & Desimone 2016: with the pulvinar silenced the direct cortical feedback
    keeps part of the attention modulation (10-80 % of intact) and the evoked response falls;
    silencing the feedback too removes spatial attention.  Shared gain off (3 trials; see the
    biased_competition_dir fixture).  At dt = 0.1 ms, half the time of the model file's
    0.05 ms: AMI intact, the direct path's share, the evoked drop and the both-silenced AMI lie
    inside their 0.1 ms intervals at 0.05 ms (README, Numerics: 7 seeds); the pulvinar's share
    moved (0.49 -> 0.60; 0.55 at 0.02 ms), and this test asks only that it is above 0."""
    model = model.replace({"shared_gain.sigma": 0.0, "simulation.dt": "0.1 ms"})
    result = pulvinar_inactivation.run(model, RunOptions(seeds=(1,), n_trials=3))
    s = result.summary
    assert s["pulvinar_rate_inactivated"] < 0.1 * s["pulvinar_rate_intact"]
    assert s["ami_intact"] > 0.05
    assert 0.1 * s["ami_intact"] < s["ami_inactivated"] < 0.8 * s["ami_intact"]
    assert s["evoked_inactivated"] < s["evoked_intact"]
    assert s["ami_feedback_silenced"] > 0.03  # the pulvinar alone carries modulation too
    assert abs(s["ami_both_silenced"]) < 0.03
    assert s["ami_both_silenced"] < s["ami_inactivated"] - 0.03


@pytest.mark.slow
def test_spatial_attention_lowers_noise_correlations_of_similar_pairs(model):
    """Cohen & Maunsell 2009 / Mitchell et al. 2009: similarly tuned V4 pairs correlate
    0.05-0.25 with attention away and less with attention in their receptive field, through the
    stabilised shared gain of Rabinowitz et al. 2015 (``spatial_cue.stabilization``).  3 seeds ×
    12 trials, intact circuit (5 seeds: 32 % lower, ratio 0.68; see the README)."""
    options = RunOptions(seeds=(1, 2, 3), n_trials=12)
    s = pulvinar_inactivation.run(model, options).summary
    out, att = s["noise_corr_similar_attend_out_intact"], s["noise_corr_similar_attend_in_intact"]
    assert 0.05 <= out <= 0.25
    assert att < 0.85 * out


def test_scene_trial_epochs_hold_cue_and_gain_until_the_stimulus_ends():
    class P:
        t_erase, t_iti, t_cue, t_delay, t_stimulus = 0.1, 0.1, 0.1, 0.1, 0.2

    trial = sc.SceneTrial([(1.0, 1.0), None], 2.0, 0.5, 1)
    epochs = sc.scene_epochs(P, trial)
    assert [e[0] for e in epochs] == ["erase", "iti", "cue", "delay", "stimulus"]
    assert epochs[2][2]["cue_angle"] == 2.0
    for _, _, settings in epochs[2:]:
        assert settings["spatial_cue"] == 1 and settings["query_gain"] == 0.5
    assert epochs[4][2]["scene"] == ((1.0, 1.0), (0.0, 0.0))


def test_causal_violations_counts_only_differing_spikes_before_the_onset():
    from bioattn.protocols.masked_attention import causal_violations

    def output(t, i):
        t, i = np.asarray(t, float), np.asarray(i, np.int32)
        return SimulationOutput(1, "x", {"readout": (t, i)}, {"readout": 4}, {})

    a = output([0.1, 0.2, 0.5, 0.7], [0, 1, 2, 3])
    assert causal_violations(a, output([0.1, 0.2, 0.6], [0, 1, 2]), onset=0.5) == 0
    assert causal_violations(a, output([0.1, 0.25], [0, 1]), onset=0.5) == 2
    assert causal_violations(a, output([0.1], [0]), onset=0.5) == 1


def test_template_weights_recover_a_known_mixture():
    n = 128
    theta = 2 * np.pi * np.arange(n) / n
    template = 3.0 + 20.0 * np.exp(2.5 * (np.cos(theta) - 1))
    shift = lambda a: np.roll(template - 3.0, int(round(a / (2 * np.pi) * n)))  # noqa: E731
    angles = np.array([[0.5, 2.5, np.nan], [1.0, 4.0, 5.5]])
    profiles = np.array(
        [3.0 + 0.7 * shift(0.5) + 0.3 * shift(2.5), 3.0 + 0.2 * shift(1.0) + 0.8 * shift(5.5)]
    )
    weights = sc.template_weights(profiles, angles, template)
    np.testing.assert_allclose(weights[0, :2], [0.7, 0.3], atol=1e-6)
    assert np.isnan(weights[0, 2])
    np.testing.assert_allclose(weights[1], [0.2, 0.0, 0.8], atol=1e-6)


def _run(protocol, model, n_trials):
    return protocol.run(model, RunOptions(seeds=(1,), n_trials=n_trials))


@pytest.mark.slow
def test_masked_attention_is_causal_and_earlier_items_fade(model):
    from bioattn.protocols import masked_attention

    s = _run(masked_attention.PROTOCOL, model, 6).summary
    assert s["causal_violations"] == 0
    assert s["influence_future"] < 0.1
    assert s["influence_lag_1"] < 0.8 * s["influence_lag_0"]


@pytest.mark.slow
def test_lateral_connections_make_columns_mix_the_other_items(model):
    from bioattn.protocols import self_attention

    s = _run(self_attention.PROTOCOL, model, 4).summary
    assert s["other_weight_none"] < 0.15
    assert s["other_weight_lateral"] > s["other_weight_none"] + 0.1


@pytest.mark.slow
def test_two_streams_each_move_the_readout_towards_their_item(model):
    from bioattn.protocols import two_streams

    s = _run(two_streams.PROTOCOL, model, 4).summary
    assert s["spatial_effect"] > 0.3
    assert s["feature_effect"] > 0.05
    assert s["gate_a_spatial"] > 2 * s["gate_a_none"]
    assert s["column_gain_a_feature"] > 1.1


@pytest.mark.slow
def test_visual_search_cli_labels_every_trial(tmp_path):
    import json

    import xarray as xr

    out = tmp_path / "search"
    assert cli.main(["run", "visual-search", "--trials", "1", "--out", str(out), "--quiet"]) == 0
    ds = xr.open_dataset(out / "results.nc")
    n = ds.sizes["trial"]
    assert n == 36 and ds["item_feature"].shape == (n, 4)
    occupied = np.isfinite(ds["item_feature"].values)
    np.testing.assert_array_equal(occupied.sum(axis=1), ds["set_size"].values)
    np.testing.assert_array_equal(occupied, ds["item_contrast"].values > 0)
    assert np.all(np.isfinite(ds["query"].values))
    assert ds["ff_charge"].shape == (1, n, 4)
    summary = json.loads((out / "summary.json").read_text())
    assert summary["target_share_ratio"] > 1.2
    assert summary["ppc_target_rate"] > summary["ppc_distractor_rate"]


def test_two_streams_scene_is_symmetric_between_a_and_b(model):
    from bioattn.protocols import two_streams

    p = model["protocol.two_streams"]
    trials = two_streams.design(p, 4, 1)
    assert len(trials) == 9
    angles = np.array([item[0] for item in trials[0].items])
    mid = (p.angle_a + p.angle_b) / 2
    mirrored = np.sort((2 * mid - angles) % (2 * np.pi))
    np.testing.assert_allclose(mirrored, np.sort(angles % (2 * np.pi)), atol=1e-9)


def test_direct_feedback_joins_each_ppc_pool_to_the_column_at_its_own_location(model):
    """[feedback]: pool b → column b only (E: AMPA + NMDA; I: AMPA), beside the pulvinar."""
    from brian2 import prefs, set_device

    from bioattn.circuits import registry

    set_device("runtime")
    prefs.codegen.target = "numpy"  # connecting needs no compiled code objects
    start_scope()
    n_loc = model["scene"].n_locations
    schedule = Schedule(float(model["simulation"].schedule_dt), n_loc)
    schedule.add_trial({}, [("settle", 0.05, {})])
    built = registry.get_circuit("multi_item").build(model, schedule, 0.1)
    objects = {obj.name: obj for obj in built.objects}
    for pop, receptors in (("e", {"g_ampa_fb", "g_nmda_fb"}), ("i", {"g_ampa_fb"})):
        syn = objects[f"feedback_{pop}"]
        assert syn.source.name.startswith("ppc_E")
        assert {name.removesuffix("_post") for name in syn.summed_updaters} == receptors
        size = len(syn.target) // n_loc
        pool, cell = np.asarray(syn.i[:]), np.asarray(syn.j[:])
        assert np.array_equal(pool, cell // size)  # one bank row (mode 0) per pool
        assert np.bincount(cell, minlength=len(syn.target)).tolist() == [1] * len(syn.target)
