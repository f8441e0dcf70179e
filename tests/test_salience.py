"""The salience protocol's design and analysis (bioattn.protocols.salience)."""

from __future__ import annotations

import numpy as np
import pytest

from bioattn import config
from bioattn.errors import BioattnError
from bioattn.protocols import salience
from bioattn.protocols import scene as sc


def _params(*overrides):
    model = config.load_model("multi_item", [f"protocol.salience.{o}" for o in overrides])
    return model, model["protocol.salience"]


def test_each_burst_size_on_both_sides_with_the_burst_tagged_to_the_paired_item():
    model, p = _params()
    n_loc = model["scene"].n_locations
    trials = salience.design(p, n_loc, n_trials=2)
    assert len(trials) == 2 * len(p.sizes) * 2
    a, b = p.location_a - 1, p.location_b - 1
    seen = {(t.labels["repeat"], t.labels["size"], t.labels["side"]) for t in trials}
    assert len(seen) == len(trials)
    for t in trials:
        paired = t.labels["paired"]
        unpaired = b if paired == a else a
        assert t.items[paired] == (pytest.approx(p.angle_paired), p.contrast)
        assert t.items[unpaired] == (pytest.approx(p.angle_unpaired), p.contrast)
        size = p.sizes[t.labels["size"]]
        assert t.tagged_release == ((("da", paired, size),) if size > 0 else ())
    schedule = sc.build_schedule(p, trials, float(model["simulation"].schedule_dt), n_loc)
    _, release = schedule.modulator_arrays("da")
    assert release[:, 0].sum() == 0  # nothing global
    for trial, design in zip(schedule.trials, trials, strict=True):
        onset = int(round(trial.epoch("stimulus").start / schedule.resolution))
        size = p.sizes[design.labels["size"]]
        assert release[onset, 1 + design.labels["paired"]] == size


def test_samples_and_per_size_means():
    model, p = _params()
    trials = salience.design(p, model["scene"].n_locations, n_trials=3)
    code = np.array([[100 * t.labels["repeat"] + 10 * t.labels["size"] + t.labels["side"]
                      for t in trials]], float)  # fmt: skip
    samples = salience.by_repeat(code, trials, len(p.sizes))
    assert samples.shape == (3, len(p.sizes), 2)
    for repeat in range(3):
        for size in range(len(p.sizes)):
            assert list(samples[repeat, size]) == [
                100 * repeat + 10 * size,
                100 * repeat + 10 * size + 1,
            ]
    wins = np.zeros((4, 3, 2))
    wins[:, 2] = 1.0
    wins[:2, 1, 0] = 1.0
    out = salience.analyse(wins, wins * 0.5 + 0.25, wins * 3)
    assert [out[f"win_rate_level_{k}"] for k in range(3)] == [0.0, 0.25, 1.0]
    assert out["paired_share_level_1"] == pytest.approx(0.375)
    assert out["ppc_difference_level_2"] == pytest.approx(3.0)


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("sizes=[1.0]", "expected >= 2 different values"),
        ("location_b=1", "two different locations"),
    ],
)
def test_impossible_designs_are_refused(override, message):
    model, p = _params(override)
    with pytest.raises(BioattnError, match=message):
        salience.design(p, model["scene"].n_locations, 1)


def test_a_tag_outside_the_scene_is_refused():
    from bioattn.schedule import Schedule

    schedule = Schedule(0.001, 4)
    with pytest.raises(BioattnError, match="tagged to location 4, expected 0 .. 3"):
        schedule.add_trial({}, [("burst", 0.01, {"tagged_release": (("da", 4, 1.0),)})])
