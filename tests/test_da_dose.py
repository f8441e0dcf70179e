"""The da-dose protocol's design and measures (bioattn.protocols.da_dose)."""

from __future__ import annotations

import numpy as np
import pytest

from bioattn import config
from bioattn.errors import BioattnError
from bioattn.protocols import da_dose


def _params(*overrides):
    model = config.load_model("ardid2007", [f"protocol.da_dose.{o}" for o in overrides])
    return model, model["protocol.da_dose"]


def test_every_repeat_holds_every_level_clamped_through_the_trial_and_a_weaker_distractor():
    model, p = _params("distractor_strength=0.6")
    schedule = da_dose.build_schedule(p, float(model["simulation"].schedule_dt), n_trials=3)
    n = len(p.levels)
    assert len(schedule.trials) == 3 * n
    for k in range(3):
        block = schedule.trials[k * n : (k + 1) * n]
        assert sorted(t.condition["level"] for t in block) == list(range(n))
    clamps, _ = schedule.modulator_arrays("da")
    arrays = schedule.arrays()
    for trial in schedule.trials:
        a = int(round(trial.epochs[0].start / schedule.resolution))
        b = int(round(trial.epochs[-1].stop / schedule.resolution))
        np.testing.assert_array_equal(clamps[a:b], p.levels[trial.condition["level"]])
        cue, distractor = trial.epoch("cue"), trial.epoch("distractor")
        at = int(round(distractor.start / schedule.resolution))
        assert arrays["cue_gain"][at] == pytest.approx(0.6)
        assert arrays["cue_angle"][at] == pytest.approx(p.cue_angle + p.distractor_offset)
        assert arrays["cue_gain"][int(round(cue.start / schedule.resolution))] == 1.0
    levels = [t.condition["level"] for t in schedule.trials]
    orders = {tuple(levels[k * n : (k + 1) * n]) for k in range(3)}
    assert len(orders) > 1  # shuffled, not one fixed order


def test_tuning_profile_and_half_width_of_a_known_bump():
    """A bump r(θ) = 2 + 20 exp(−d²/(2 s²)), s = 20°: its half-width at half-height above the
    far level is s √(2 ln 2) ≈ 23.5° (to the profile's 10° bins)."""
    n = 1024
    angles = 2 * np.pi * np.arange(n) / n
    centre = np.pi / 3
    d = np.degrees(np.abs((angles - centre + np.pi) % (2 * np.pi) - np.pi))
    rates = 2 + 20 * np.exp(-(d**2) / (2 * 20.0**2))
    profile = da_dose.tuning_profile(rates[None], angles, centre)[0]
    assert profile.shape == (18,)
    assert profile[-1] == pytest.approx(2.0, abs=1e-6) and profile[0] > 20
    assert da_dose.half_width(profile, threshold=3.0) == pytest.approx(20 * np.sqrt(2 * np.log(2)),
                                                                       abs=2.0)  # fmt: skip
    assert np.isnan(da_dose.half_width(np.full(18, 5.0), threshold=3.0))  # no bump


def test_analysis_averages_each_level_over_samples():
    kept = np.array([[1, 1, 0], [1, 0, 0], [1, 1, 1], [0, 1, 0]], dtype=float)
    width = np.array([[20, np.nan, 30], [22, 25, np.nan], [18, 27, 33], [20, 23, 30]])
    out = da_dose.analyse(kept, kept / 2, width, kept * 10, kept * 2)
    assert [out[f"robustness_level_{k}"] for k in range(3)] == [0.75, 0.75, 0.25]
    assert [out[f"resistance_level_{k}"] for k in range(3)] == [0.375, 0.375, 0.125]
    assert out["tuning_width_level_1"] == pytest.approx(25.0)  # NaN (no bump) left out
    assert out["delay_rate_pref_level_2"] == pytest.approx(2.5)


def test_resistance_is_the_share_of_the_way_to_the_distractor_the_memory_did_not_move():
    cue, offset = np.radians(180.0), np.radians(90.0)
    centre = np.radians([180.0, 210.0, 270.0, 300.0, 150.0, 225.0])
    amplitude = np.array([9.0, 9.0, 9.0, 9.0, 9.0, 1.0])
    out = da_dose.resistance(amplitude, centre, cue, offset, threshold=3.0)
    # on the cue; a third of the way; at the distractor; beyond it; pushed away; no bump
    np.testing.assert_allclose(out, [1.0, 2 / 3, 0.0, 0.0, 1.0, 0.0])
    mirrored = da_dose.resistance([9.0], np.radians([150.0]), cue, -offset, threshold=3.0)
    np.testing.assert_allclose(mirrored, [2 / 3])
    across_zero = da_dose.resistance([9.0], np.radians([30.0]), np.radians(350.0), offset, 3.0)
    np.testing.assert_allclose(across_zero, [1 - 40 / 90])


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("levels=[10.0]", "expected >= 2 different values"),
        ("settle='1.5 s'", "expected less than t_delay"),
    ],
)
def test_impossible_designs_are_refused(override, message):
    model, p = _params(override)
    with pytest.raises(BioattnError, match=message):
        da_dose.build_schedule(p, float(model["simulation"].schedule_dt), 1)


@pytest.mark.slow  # ~8 min: 3 seeds x 4 repeats x 3 levels, full size
def test_robustness_to_a_distractor_peaks_at_an_interior_dopamine_level():
    """Brunel & Wang 2001; Vijayraghavan et al. 2007: an inverted U of working memory against a
    distractor.  On the real two-area circuit at the model file's defaults (distractor 0.25 of
    the cue), seeds 1-3, 4 repeats: the memory is kept in more trials at 20 nM than at 1 nM (low
    D1 leaves the distractor's drive stronger) and in none at 200 nM (high D1 silences delay
    firing).  README, seeds 1-10 at 7 levels: 0.20 / 0.82 / 0 at 1 / 20 / 200 nM."""
    from bioattn.protocols.registry import RunOptions

    model = config.load_model("ardid2007", ["protocol.da_dose.levels=[1.0, 20.0, 200.0]"])
    s = da_dose.run(model, RunOptions(seeds=(1, 2, 3), n_trials=4)).summary
    low, middle, high = s["robustness_by_level"]
    assert middle >= low + 0.3, s["robustness_by_level"]
    assert high == 0.0 and middle >= 0.5, s["robustness_by_level"]
    assert s["robustness_peak_level"] == 20.0
