"""The protocols' factored analyses and their bootstrap intervals, on synthetic arrays (no
simulation): each analyse function gives the numbers the formula formerly inlined in ``run``
gave (written out here independently, on the arrays in their old shapes), and the
bias-corrected percentile bootstrap over trials around it contains the point value and shrinks
with four times the trials."""

from __future__ import annotations

import math

import numpy as np
import pytest

from bioattn import config, stats
from bioattn.protocols import (
    common,
    contrast_response,
    masked_attention,
    self_attention,
    two_streams,
    visual_search,
    working_memory,
)
from bioattn.protocols import scene as sc

#: Relative tolerance of "the same number" with several seeds (pooled seed-major, a sum may run
#: in another order: the last bit may differ); with one seed the numbers are identical.
SAME = 1e-12
#: Interval width with four times the trials over the width with the original trials (1/2 for
#: a mean, up to sampling noise of the widths).
SHRINK = 0.7
#: Bootstrap resamples in these tests (enough for stable 95 % percentiles, fast).
RESAMPLES = 400
#: Fewer for the analyses that fit curves or solve NNLS problems per resample.
SLOW_RESAMPLES = 100
#: Seeds in the point-value comparisons (several: the pooling order is tested too).
SEED_COUNTS = (1, 2)


@pytest.fixture(scope="module")
def multi_item():
    return config.load_model("multi_item")


def assert_same(new: dict, old: dict, n_seeds: int) -> None:
    """The same keys and numbers: identical with one seed, to ``SAME`` with several."""
    assert list(new) == list(old)
    for key, value in old.items():
        if n_seeds == 1:
            assert new[key] == value or (math.isnan(new[key]) and math.isnan(value)), key
        else:
            assert new[key] == pytest.approx(value, rel=SAME, abs=0.0, nan_ok=True), key


def assert_intervals(
    analyse,
    small: list,
    n_resamples: int = RESAMPLES,
    constant: tuple = (),
    extreme: tuple = (),
    biased: tuple = (),
) -> None:
    """The bootstrap intervals over the trials ``small`` contain the point values, and with
    every trial four times (the same empirical distribution, four times the trials: no
    sampling noise in the comparison of the widths) they are narrower by at least ``SHRINK``,
    for every metric but ``constant`` ones (by definition: a point interval), ``extreme`` ones
    (a minimum: the bootstrap of an extreme does not shrink as 1/√n) and ``biased`` ones
    (statistics that resampling with replacement biases at every n — a variance loses
    (n−1)/n, a template refitted to repeated trials fits them better — so the bias-corrected
    interval reads far quantiles of few resamples at both sizes: containment is checked,
    the widths are not compared)."""
    point = analyse(*small)
    large = [np.concatenate([x] * 4) for x in small]
    wide = common.bootstrap_intervals(analyse, small, seed=3, n_resamples=n_resamples)
    narrow = common.bootstrap_intervals(analyse, large, seed=3, n_resamples=n_resamples)
    assert wide["ci_n"] * 4 == narrow["ci_n"] == len(large[0])
    assert wide["ci_method"] == "bias-corrected percentile bootstrap over trials"
    assert {f"{key}_ci" for key in point} <= set(wide)
    for key, value in point.items():
        (lo, hi), (lo4, hi4) = wide[f"{key}_ci"], narrow[f"{key}_ci"]
        if key in constant:
            assert hi - lo == pytest.approx(0.0, abs=SAME) and lo == pytest.approx(value), key
            continue
        assert lo <= value <= hi, key
        if key not in extreme and key not in biased:
            assert 0 < hi4 - lo4 < SHRINK * (hi - lo), key


# --------------------------------------------------------------------------------------------
# contrast-response
# --------------------------------------------------------------------------------------------

CONTRASTS = np.array([0.0, 0.05, 0.1, 0.2, 0.4, 0.7, 1.0])
WINDOW = 0.4


def _contrast_counts(rng, n_seeds: int, n_trials: int, n_cells: int = 24) -> np.ndarray:
    """Raw counts (seed, trial·contrast·cue, neuron) in schedule order (trial → contrast →
    cue), as common.counts_in gives them: Naka–Rushton rates, c50 lower when cued."""
    c = CONTRASTS[None, :, None]
    c50 = np.array([0.3, 0.2])[None, None, :]
    rate = 5 + 40 * c**2 / (c**2 + c50**2)  # (1, contrast, cue) Hz
    lam = np.broadcast_to(rate * WINDOW, (n_trials, CONTRASTS.size, 2))[..., None]
    counts = rng.poisson(lam, (n_seeds, n_trials, CONTRASTS.size, 2, n_cells))
    return counts.reshape(n_seeds, -1, n_cells).astype(float)


def _contrast_inputs(rng, n_seeds: int, n_trials: int, n_cells: int) -> list[np.ndarray]:
    raw = _contrast_counts(rng, n_seeds, n_trials, n_cells)
    counts = common.cue_condition_axes(raw, n_trials, CONTRASTS.size)
    gamma = common.cue_condition_axes(rng.gamma(4.0, 1.0, raw.shape[:2]), n_trials, CONTRASTS.size)
    return [contrast_response.trials_first(counts), contrast_response.trials_first(gamma)]


@pytest.mark.parametrize("n_seeds", SEED_COUNTS)
def test_contrast_response_analyse_is_the_former_formula(n_seeds):
    rng = np.random.default_rng(1)
    n_trials, n_c = 3, CONTRASTS.size
    raw = _contrast_counts(rng, n_seeds, n_trials, n_cells=40)
    cells = np.zeros(raw.shape[-1], dtype=bool)
    cells[5:29] = True
    raw_gamma = rng.gamma(4.0, 1.0, raw.shape[:2])
    # The former inline code of run, on its (cue, contrast, trial, seed, ...) arrays.
    counts = common.cue_condition_axes(raw, n_trials, n_c)
    response = (counts[..., cells] / WINDOW).mean(axis=(2, 3, 4))
    fits = [stats.fit_naka_rushton(CONTRASTS, response[c]) for c in range(2)]
    pooled = counts.reshape(2, n_c, -1, raw.shape[-1])[..., cells]
    variability = [common.fano_and_noise_correlation(pooled[c]) for c in range(2)]
    gamma = common.cue_condition_axes(raw_gamma, n_trials, n_c)
    old = {
        "c50_attended": fits[1]["c50"],
        "c50_unattended": fits[0]["c50"],
        "rmax_attended": fits[1]["r_max"],
        "rmax_unattended": fits[0]["r_max"],
        "fano_attended": variability[1][0],
        "fano_unattended": variability[0][0],
        "noise_corr_attended": variability[1][1],
        "noise_corr_unattended": variability[0][1],
        "gamma_power_attended": float(gamma[1].mean()),
        "gamma_power_unattended": float(gamma[0].mean()),
    }
    counts_t = contrast_response.trials_first(counts[..., cells])
    gamma_t = contrast_response.trials_first(gamma)
    assert counts_t.shape == (n_trials * n_seeds, 2, n_c, cells.sum())
    assert_same(contrast_response.analyse(counts_t, gamma_t, CONTRASTS, WINDOW), old, n_seeds)
    _, curves, new_fits = contrast_response.response_curves(counts_t, CONTRASTS, WINDOW)
    np.testing.assert_allclose(curves, response, rtol=SAME)
    assert [f["c50"] for f in new_fits] == pytest.approx([f["c50"] for f in fits], rel=SAME)


def test_contrast_response_intervals_contain_the_point_and_shrink():
    rng = np.random.default_rng(2)

    def analyse(counts, gamma):
        return contrast_response.analyse(counts, gamma, CONTRASTS, WINDOW, strict=False)

    # A resample repeats trials, which lowers a variance by (n − 1)/n on average: the Fano
    # factors' intervals lie that much low.  With 12 trials and few cells (a wide interval) the
    # point value is still inside.
    assert_intervals(
        analyse, _contrast_inputs(rng, 1, 12, 4), SLOW_RESAMPLES,
        biased=("fano_attended", "fano_unattended"),
    )  # fmt: skip


def test_contrast_response_resample_without_a_fit_gives_nan_not_an_error(monkeypatch):
    def fail(*_):
        raise RuntimeError("no start converged")

    monkeypatch.setattr(stats, "fit_naka_rushton", fail)
    counts, gamma = _contrast_inputs(np.random.default_rng(3), 1, 2, 4)
    out = contrast_response.analyse(counts, gamma, CONTRASTS, WINDOW, strict=False)
    assert math.isnan(out["c50_attended"]) and math.isnan(out["rmax_unattended"])
    with pytest.raises(RuntimeError):
        contrast_response.analyse(counts, gamma, CONTRASTS, WINDOW)


# --------------------------------------------------------------------------------------------
# working memory
# --------------------------------------------------------------------------------------------


def _memory_arrays(rng, n_seeds: int, n_trials: int, n_bins: int = 12, n_cells: int = 30):
    """(seed, trial, ...) arrays as run computes them: persistence, drift, bump amplitude,
    delay counts (seed·trial, neuron) with a shared gain (positive noise correlations), gamma."""
    persistence = rng.uniform(0.5, 2.0, (n_seeds, n_trials))
    drift = rng.gamma(2.0, 5.0, (n_seeds, n_trials))
    amplitude = rng.gamma(4.0, 2.0, (n_seeds, n_trials, n_bins))
    gain = rng.gamma(20.0, 1 / 20, (n_seeds * n_trials, 1))
    delay_counts = rng.poisson(8.0 * gain, (n_seeds * n_trials, n_cells)).astype(float)
    gamma = rng.gamma(4.0, 1.0, (n_seeds, n_trials))
    return persistence, drift, amplitude, delay_counts, gamma


def _memory_samples(arrays, late: np.ndarray) -> list[np.ndarray]:
    """The trial-first arrays of working_memory.run (seed·trial on the first axis)."""
    persistence, drift, amplitude, delay_counts, gamma = arrays
    return [
        persistence.reshape(-1),
        drift.reshape(-1),
        amplitude[:, :, late].reshape(-1, int(late.sum())),
        delay_counts,
        gamma.reshape(-1),
    ]


@pytest.mark.parametrize("n_seeds", SEED_COUNTS)
def test_working_memory_analyse_is_the_former_formula(n_seeds):
    arrays = _memory_arrays(np.random.default_rng(4), n_seeds, 5)
    persistence, drift, amplitude, delay_counts, gamma = arrays
    late = np.arange(amplitude.shape[-1]) > 2
    fano_nc = common.fano_and_noise_correlation(delay_counts[None])
    old = {
        "bump_persistence_s": float(np.median(persistence)),
        "bump_persistence_min_s": float(np.min(persistence)),
        "bump_drift_deg": float(np.median(drift)),
        "delay_bump_amplitude_hz": float(amplitude[:, :, late].mean()),
        "fano_sensory_delay": fano_nc[0],
        "noise_corr_sensory_delay": fano_nc[1],
        "gamma_power_delay": float(gamma.mean()),
    }
    assert_same(working_memory.analyse(*_memory_samples(arrays, late)), old, n_seeds)


def test_working_memory_intervals_contain_the_point_and_shrink():
    rng = np.random.default_rng(5)
    late = np.arange(12) > 2
    samples = _memory_samples(_memory_arrays(rng, 1, 20), late)
    assert_intervals(working_memory.analyse, samples, extreme=("bump_persistence_min_s",))


def test_working_memory_one_trial_has_undefined_intervals():
    """One trial: every resample is that trial, so the bootstrap would give zero-width
    intervals ([x, x]) that claim a precision the run does not have: NaN instead, for every
    metric, and ``ci_method`` says why."""
    late = np.arange(12) > 2
    samples = _memory_samples(_memory_arrays(np.random.default_rng(6), 1, 1), late)
    point = working_memory.analyse(*samples)
    out = common.bootstrap_intervals(working_memory.analyse, samples, seed=1, n_resamples=20)
    assert out["ci_n"] == 1 and out["ci_method"] == common.NO_INTERVAL_METHOD
    assert set(out) == {f"{key}_ci" for key in point} | {"ci_method", "ci_n"}
    for key in point:
        assert np.isnan(out[f"{key}_ci"]).all(), key
    # Two trials: intervals again (the Fano factor still needs 2 trials per resample: a
    # resample that draws one trial twice has none, so most of its resamples are NaN).
    two = _memory_samples(_memory_arrays(np.random.default_rng(6), 1, 2), late)
    out = common.bootstrap_intervals(working_memory.analyse, two, seed=1, n_resamples=20)
    assert out["ci_n"] == 2 and out["ci_method"].startswith("bias-corrected")
    assert np.isfinite(out["bump_persistence_s_ci"]).all()


# --------------------------------------------------------------------------------------------
# visual search / cross-attention
# --------------------------------------------------------------------------------------------


def _search_measured(rng, trials, n_seeds: int) -> dict[str, np.ndarray]:
    """Charge, PPC rates and gates (seed, trial, location): the target's charge larger."""
    n_loc = len(trials[0].items)
    target, _, _, occupied = visual_search.design_arrays(trials)
    boost = 1.0 + 0.5 * (np.arange(n_loc)[None, :] == target[:, None])
    shape = (n_seeds, len(trials), n_loc)
    charge = rng.gamma(8.0, 1.0, shape) * boost * occupied
    return {
        "ff_charge": charge,
        "ppc_rate": rng.gamma(8.0, 2.0, shape) * boost,
        "gate": rng.beta(4.0, 4.0, shape) * boost / 1.5,
    }


def _former_search_analyse(measured, trials, n_strengths: int) -> dict[str, float]:
    """visual_search.analyse as it was (on ``measured`` and the trials)."""
    target = np.array([t.labels["target_location"] for t in trials])
    size = np.array([sum(i is not None for i in t.items) for t in trials])
    strength = np.array([t.labels["strength"] for t in trials])
    occupied = np.array([[i is not None for i in t.items] for t in trials])
    rows = np.arange(len(trials))
    charge = measured["ff_charge"].mean(axis=0)
    share = charge[rows, target] / np.where(occupied, charge, 0).sum(axis=1)
    multi = size > 1
    distractor = occupied.copy()
    distractor[rows, target] = False
    ppc, gate = measured["ppc_rate"].mean(axis=0), measured["gate"].mean(axis=0)
    summary = {
        "target_charge_share": float(share[multi].mean()),
        "target_share_ratio": float((share * size)[multi].mean()),
        "ppc_target_rate": float(ppc[rows, target][multi].mean()),
        "ppc_distractor_rate": float(ppc[distractor].mean()),
        "gate_target": float(gate[rows, target][multi].mean()),
        "gate_distractor": float(gate[distractor].mean()),
    }
    for g in range(n_strengths):
        summary[f"target_share_strength_{g}"] = float(share[multi & (strength == g)].mean())
    return summary


@pytest.mark.parametrize("n_seeds", SEED_COUNTS)
def test_visual_search_analyse_is_the_former_formula(multi_item, n_seeds):
    p = multi_item["protocol.visual_search"]
    trials = visual_search.design(p, 4, 3)
    measured = _search_measured(np.random.default_rng(7), trials, n_seeds)
    n_strengths = len(p.cue_strengths)
    samples = visual_search.by_repeat(measured, trials)
    assert [len(x) for x in samples] == [3] * 7  # one sample per repeat block
    assert samples[0].shape[1] == n_seeds
    new = visual_search.analyse(*samples, n_strengths)
    assert_same(new, _former_search_analyse(measured, trials, n_strengths), n_seeds)


def test_visual_search_intervals_contain_the_point_and_shrink(multi_item):
    p = multi_item["protocol.visual_search"]
    rng = np.random.default_rng(8)
    n_strengths = len(p.cue_strengths)
    trials = visual_search.design(p, 4, 8)
    samples = visual_search.by_repeat(_search_measured(rng, trials, 1), trials)
    assert_intervals(lambda *x: visual_search.analyse(*x, n_strengths), samples)


# --------------------------------------------------------------------------------------------
# two streams
# --------------------------------------------------------------------------------------------


def _stream_arrays(rng, trials, n_seeds: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A's share, A's gate and A's column rate (seed, trial), moved by the cues."""
    spatial = np.array([t.labels["spatial"] for t in trials])
    feature = np.array([t.labels["feature"] for t in trials])
    cue = {0: 0.0, 1: 1.0, 2: -1.0}  # none, A, B
    push = np.vectorize(cue.get)(spatial) * 0.1 + np.vectorize(cue.get)(feature) * 0.05
    shape = (n_seeds, len(trials))
    share = np.clip(0.5 + push + rng.normal(0, 0.05, shape), 0.01, 0.99)
    share[0, 1] = np.nan  # a trial without charge at A or B (nanmean)
    gate = 0.5 + 0.2 * (spatial == 1) + rng.normal(0, 0.05, shape)
    column = rng.gamma(10.0, 1.0, shape) * (1 + 0.3 * (feature == 1))
    return share, gate, column


@pytest.mark.parametrize("n_seeds", SEED_COUNTS)
def test_two_streams_analyse_is_the_former_formula(multi_item, n_seeds):
    trials = two_streams.design(multi_item["protocol.two_streams"], 4, 5)
    share, gate, column_a = _stream_arrays(np.random.default_rng(9), trials, n_seeds)
    spatial = np.array([t.labels["spatial"] for t in trials])
    feature = np.array([t.labels["feature"] for t in trials])

    def mean_share(s: int, f: int) -> float:
        return float(np.nanmean(share[:, (spatial == s) & (feature == f)]))

    none, a, b = 0, 1, 2
    old = {
        "share_a_none": mean_share(none, none),
        "share_a_spatial": mean_share(a, none),
        "share_a_feature": mean_share(none, a),
        "share_a_both": mean_share(a, a),
        "share_a_conflict": mean_share(a, b),
    }
    old["spatial_effect"] = old["share_a_spatial"] - old["share_a_none"]
    old["feature_effect"] = old["share_a_feature"] - old["share_a_none"]
    old["interaction"] = (
        old["share_a_both"] - old["share_a_none"] - old["spatial_effect"] - old["feature_effect"]
    )
    old["gate_a_spatial"] = float(gate[:, spatial == a].mean())
    old["gate_a_none"] = float(gate[:, spatial == none].mean())
    no_space = spatial == none
    old["column_gain_a_feature"] = float(
        column_a[:, no_space & (feature == a)].mean()
        / column_a[:, no_space & (feature == none)].mean()
    )
    samples = two_streams.by_repeat(trials, share, gate, column_a)
    assert [x.shape for x in samples] == [(n_seeds * 5, 9)] * 5
    assert_same(two_streams.analyse(*samples), old, n_seeds)


def test_two_streams_intervals_contain_the_point_and_shrink(multi_item):
    p = multi_item["protocol.two_streams"]
    rng = np.random.default_rng(10)
    trials = two_streams.design(p, 4, 10)
    assert_intervals(
        two_streams.analyse, two_streams.by_repeat(trials, *_stream_arrays(rng, trials, 1))
    )


# --------------------------------------------------------------------------------------------
# self-attention and masked attention (template weights)
# --------------------------------------------------------------------------------------------

N_LOC = 3
N_CELLS = 32
GRID = 2 * np.pi * np.arange(8) / 8


def _bump(angles: np.ndarray, n_cells: int = N_CELLS) -> np.ndarray:
    """Profiles (..., cell) of a tuned response to items at ``angles`` (...)."""
    preferred = 2 * np.pi * np.arange(n_cells) / n_cells
    return 20.0 * np.exp(3.0 * (np.cos(preferred - np.asarray(angles)[..., None]) - 1))


def _self_columns(rng, features: np.ndarray, n_seeds: int) -> dict[str, np.ndarray]:
    """Column counts (seed, trial, location, cell) without / with mixing of the others' items."""
    own = _bump(features)  # (trial, location, cell)
    others = own.sum(axis=1, keepdims=True) - own
    out = {}
    for condition, mix in (("none", 0.0), ("lateral", 0.25)):
        lam = (2.0 + own + mix * others) * WINDOW
        out[condition] = rng.poisson(lam, (n_seeds, *lam.shape)).astype(float)
    return out


def _self_features(rng, n_trials: int) -> np.ndarray:
    return np.stack([rng.choice(GRID, N_LOC, replace=False) for _ in range(n_trials)])


@pytest.mark.parametrize("n_seeds", SEED_COUNTS)
def test_self_attention_analyse_is_the_former_formula(n_seeds):
    rng = np.random.default_rng(11)
    features = _self_features(rng, 4)
    measured = _self_columns(rng, features, n_seeds)
    # The former inline code of run, on (seed, trial, location, cell) counts.
    template, weights = None, {}
    for condition in self_attention.CONDITIONS:
        weights[condition], template = self_attention.column_weights(
            measured[condition], features, WINDOW, template
        )
    old = {}
    own = np.eye(N_LOC, dtype=bool)
    for condition in self_attention.CONDITIONS:
        w = weights[condition]
        total = np.nansum(w, axis=3)
        others = np.nansum(np.where(own, 0.0, w), axis=3)
        old[f"other_weight_{condition}"] = float(np.mean(others / total))
        old[f"self_weight_{condition}"] = float(np.mean(w[..., own]))
    columns = [measured[c].reshape(-1, N_LOC, N_CELLS) for c in self_attention.CONDITIONS]
    features_t = np.tile(features, (n_seeds, 1))
    assert_same(self_attention.analyse(*columns, features_t, WINDOW), old, n_seeds)
    assert old["other_weight_lateral"] > old["other_weight_none"]


def test_self_attention_intervals_contain_the_point_and_shrink():
    rng = np.random.default_rng(12)

    def samples(n_trials: int) -> list[np.ndarray]:
        features = _self_features(rng, n_trials)
        measured = _self_columns(rng, features, 1)
        return [measured[c][0] for c in self_attention.CONDITIONS] + [features]

    assert_intervals(
        lambda *x: self_attention.analyse(*x, WINDOW), samples(8), SLOW_RESAMPLES,
        biased=tuple(f"{w}_weight_{c}" for w in ("self", "other") for c in ("none", "lateral")),
    )  # fmt: skip


def _masked_profiles(rng, features: np.ndarray, n_seeds: int) -> np.ndarray:
    """Readout profiles (seed, trial, step, cell) in Hz: items shown so far, decaying by lag."""
    n_trials, n_loc = features.shape
    lam = np.zeros((n_trials, n_loc, N_CELLS))
    for step in range(n_loc):
        for item in range(step + 1):
            lam[:, step] += 0.5 ** (step - item) * _bump(features[:, item])
    counts = rng.poisson((2.0 + lam) * WINDOW, (n_seeds, *lam.shape))
    return counts / WINDOW


@pytest.mark.parametrize("n_seeds", SEED_COUNTS)
def test_masked_attention_analyse_is_the_former_formula(n_seeds):
    rng = np.random.default_rng(13)
    n_trials = 4
    features = _self_features(rng, n_trials)
    profiles = _masked_profiles(rng, features, n_seeds)
    # The former inline code of run.
    flat = profiles.reshape(-1, N_LOC, N_CELLS)
    angles = np.broadcast_to(features, (n_seeds, n_trials, N_LOC)).reshape(-1, N_LOC)
    template = sc.aligned_template(flat[:, 0], angles[:, 0])
    weights = np.stack(
        [sc.template_weights(flat[:, s], angles, template) for s in range(N_LOC)], axis=1
    )
    lag = np.arange(N_LOC)[:, None] - np.arange(N_LOC)[None, :]
    current = np.mean([weights[:, s, s] for s in range(N_LOC)])
    old = {}
    for d in range(N_LOC):
        old[f"influence_lag_{d}"] = float(weights[:, lag == d].mean() / current)
    old["influence_future"] = float(weights[:, lag < 0].mean() / current)
    assert_same(masked_attention.analyse(flat, angles), old, n_seeds)
    assert old["influence_lag_1"] > old["influence_lag_2"] > old["influence_future"]


def test_masked_attention_intervals_contain_the_point_and_shrink():
    rng = np.random.default_rng(14)

    def samples(n_trials: int) -> list[np.ndarray]:
        features = _self_features(rng, n_trials)
        return [_masked_profiles(rng, features, 1)[0], features]

    assert_intervals(
        masked_attention.analyse, samples(8), SLOW_RESAMPLES,
        constant=("influence_lag_0",),  # relative to itself: 1
    )  # fmt: skip
