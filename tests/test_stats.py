"""Tests for bioattn.stats: each statistic against a known answer on synthetic data."""

from __future__ import annotations

import numpy as np
import pytest

from bioattn import stats
from bioattn.errors import BioattnError

# --------------------------------------------------------------------------------------------
# spike_counts
# --------------------------------------------------------------------------------------------


def _brute_force_counts(times, indices, n_neurons, windows):
    counts = np.zeros((len(windows), n_neurons), dtype=int)
    for w, (start, stop) in enumerate(windows):
        for k in range(n_neurons):
            counts[w, k] = np.count_nonzero((indices == k) & (times >= start) & (times < stop))
    return counts


def test_spike_counts_matches_brute_force_on_random_spikes():
    rng = np.random.default_rng(0)
    n_spikes, n_neurons = 10_000, 17
    # Times on a 1 ms grid so that many spikes fall exactly on window edges.
    times = rng.integers(0, 2000, n_spikes) * 1e-3
    indices = rng.integers(0, n_neurons, n_spikes)
    # Non-contiguous windows with gaps, plus two windows sharing an edge at 1.2 s.
    windows = np.array([[0.1, 0.35], [0.5, 0.9], [0.9, 1.2], [1.2, 1.25], [1.6, 1.999]])
    got = stats.spike_counts(times, indices, n_neurons, windows)
    expected = _brute_force_counts(times, indices, n_neurons, windows)
    assert got.shape == (5, n_neurons)
    assert np.issubdtype(got.dtype, np.integer)
    np.testing.assert_array_equal(got, expected)
    # Spikes outside every window are not counted.
    assert got.sum() < n_spikes


def test_spike_counts_half_open_edges():
    times = np.array([0.0, 0.5, 1.0, 1.0, 2.0])
    indices = np.array([0, 1, 1, 0, 1])
    windows = np.array([[0.0, 1.0], [1.0, 2.0]])
    got = stats.spike_counts(times, indices, 2, windows)
    # t=1.0 belongs to the second window, t=2.0 to none.
    np.testing.assert_array_equal(got, [[1, 1], [1, 1]])


def test_spike_counts_empty_and_unsorted_input():
    got = stats.spike_counts(np.array([]), np.array([], dtype=int), 3, np.array([[0.0, 1.0]]))
    np.testing.assert_array_equal(got, [[0, 0, 0]])
    rng = np.random.default_rng(1)
    times = rng.uniform(0, 1, 500)
    indices = rng.integers(0, 4, 500)
    order = np.argsort(times)
    windows = np.array([[0.0, 0.3], [0.3, 0.7]])
    np.testing.assert_array_equal(
        stats.spike_counts(times, indices, 4, windows),
        stats.spike_counts(times[order], indices[order], 4, windows),
    )


@pytest.mark.parametrize(
    ("kwargs", "argument"),
    [
        ({"spike_indices": np.array([0, 1])}, "spike_indices"),  # length mismatch
        ({"spike_indices": np.array([0, 1, 5])}, "spike_indices"),  # out of range
        ({"spike_indices": np.array([0.0, 1.0, 2.0])}, "spike_indices"),  # not integers
        ({"windows": np.array([0.0, 1.0])}, "windows"),  # 1-D
        ({"windows": np.array([[0.0, 1.0], [0.5, 2.0]])}, "windows"),  # overlapping
        ({"windows": np.array([[1.0, 2.0], [0.0, 0.5]])}, "windows"),  # unsorted
        ({"windows": np.array([[1.0, 1.0]])}, "windows"),  # empty window
        ({"n_neurons": 0}, "n_neurons"),
    ],
)
def test_spike_counts_rejects_bad_input(kwargs, argument):
    arguments = {
        "spike_times": np.array([0.1, 0.2, 0.3]),
        "spike_indices": np.array([0, 1, 2]),
        "n_neurons": 3,
        "windows": np.array([[0.0, 1.0]]),
    }
    arguments.update(kwargs)
    with pytest.raises(ValueError, match=argument):
        stats.spike_counts(**arguments)


def test_bad_input_error_is_project_error_type():
    with pytest.raises(BioattnError):
        stats.spike_counts(np.array([0.1]), np.array([0]), 1, np.array([[0.0]]))


# --------------------------------------------------------------------------------------------
# population_rate
# --------------------------------------------------------------------------------------------


def test_population_rate_exact_small_example():
    times = np.array([0.0, 0.05, 0.1, 0.15, 0.15, 0.35, 0.4])
    centres, rate = stats.population_rate(times, 2, 0.0, 0.4, 0.1)
    np.testing.assert_allclose(centres, [0.05, 0.15, 0.25, 0.35])
    # counts per 0.1 s bin: 2, 3, 0, 1 (t=0.4 is outside [0, 0.4)); 2 neurons -> /0.2 s.
    np.testing.assert_allclose(rate, [10.0, 15.0, 0.0, 5.0])


@pytest.mark.parametrize(("t_start", "t_stop", "bin_width"), [(0.0, 1.0, 0.1), (0.3, 2.0, 0.007)])
def test_population_rate_matches_histogram_of_edges(t_start, t_stop, bin_width):
    rng = np.random.default_rng(13)
    n_bins = int(np.floor((t_stop - t_start) / bin_width + 1e-9))
    edges = t_start + bin_width * np.arange(n_bins + 1)
    # Random times, times exactly on every edge, and times outside the interval.
    times = np.concatenate([rng.uniform(t_start - 0.2, t_stop + 0.2, 5000), edges, edges])
    centres, rate = stats.population_rate(rng.permutation(times), 10, t_start, t_stop, bin_width)
    reference = np.array(
        [
            np.count_nonzero((times >= lo) & (times < hi))
            for lo, hi in zip(edges[:-1], edges[1:], strict=True)
        ]
    )
    np.testing.assert_allclose(centres, edges[:-1] + bin_width / 2)
    np.testing.assert_allclose(rate * 10 * bin_width, reference, atol=1e-9)


def test_population_rate_recovers_poisson_rate():
    rng = np.random.default_rng(2)
    n_neurons, duration, rate_hz = 200, 5.0, 12.0
    times = rng.uniform(0, duration, rng.poisson(rate_hz * n_neurons * duration))
    centres, rate = stats.population_rate(times, n_neurons, 0.0, duration, 0.01)
    assert centres.shape == rate.shape == (500,)
    assert abs(rate.mean() - rate_hz) < 0.2


def test_population_rate_rejects_bad_bins():
    with pytest.raises(ValueError, match="bin_width"):
        stats.population_rate(np.array([0.1]), 1, 0.0, 1.0, 0.0)
    with pytest.raises(ValueError, match="bin_width"):
        stats.population_rate(np.array([0.1]), 1, 0.0, 1.0, 2.0)
    with pytest.raises(ValueError, match="t_stop"):
        stats.population_rate(np.array([0.1]), 1, 1.0, 0.0, 0.1)


# --------------------------------------------------------------------------------------------
# fano_factor
# --------------------------------------------------------------------------------------------


def test_fano_factor_is_one_for_poisson_counts():
    rng = np.random.default_rng(3)
    counts = rng.poisson(5.0, size=(2000, 50))
    fano = stats.fano_factor(counts, axis=0)
    assert fano.shape == (50,)
    assert abs(np.nanmean(fano) - 1.0) < 0.05


def test_fano_factor_is_below_one_for_binomial_counts_and_respects_axis():
    rng = np.random.default_rng(4)
    # Binomial(10, 0.5): var/mean = 1 - p = 0.5.
    counts = rng.binomial(10, 0.5, size=(30, 3000))
    fano = stats.fano_factor(counts, axis=1)
    assert fano.shape == (30,)
    assert abs(np.nanmean(fano) - 0.5) < 0.03


def test_fano_factor_exact_small_sample():
    # Trials 0, 2, 4: mean 2, unbiased variance 4 -> F = 2 (the biased variance would give 4/3).
    np.testing.assert_allclose(stats.fano_factor(np.array([[0, 1], [2, 3], [4, 2]])), [2.0, 0.5])


def test_fano_factor_zero_for_constant_and_nan_for_silent():
    counts = np.column_stack([np.full(20, 4), np.zeros(20)])
    fano = stats.fano_factor(counts)
    assert fano[0] == 0.0
    assert np.isnan(fano[1])


def test_fano_factor_needs_two_trials():
    with pytest.raises(ValueError, match="counts"):
        stats.fano_factor(np.ones((1, 5)))


# --------------------------------------------------------------------------------------------
# noise correlation
# --------------------------------------------------------------------------------------------


def _correlated_counts(rng, r, n_conditions=4, n_trials=500, n_neurons=20):
    cov = np.full((n_neurons, n_neurons), r) + (1 - r) * np.eye(n_neurons)
    draws = rng.multivariate_normal(np.zeros(n_neurons), cov, size=(n_conditions, n_trials))
    return 10.0 + 2.0 * draws


def test_noise_correlation_recovers_known_correlation():
    rng = np.random.default_rng(5)
    counts = _correlated_counts(rng, 0.3)
    assert abs(stats.noise_correlation(counts) - 0.3) < 0.03
    assert abs(stats.noise_correlation(counts, zscore=False) - 0.3) < 0.03


def test_noise_correlation_is_zero_for_independent_neurons():
    rng = np.random.default_rng(6)
    counts = rng.poisson(8.0, size=(4, 500, 20)).astype(float)
    assert abs(stats.noise_correlation(counts)) < 0.02


def test_noise_correlation_ignores_condition_means():
    rng = np.random.default_rng(7)
    counts = _correlated_counts(rng, 0.3)
    # Large, neuron-specific tuning to condition: a strong *signal* correlation source.
    shifted = counts + rng.uniform(0, 100, size=(4, 1, 20))
    assert stats.noise_correlation(shifted) == pytest.approx(stats.noise_correlation(counts))
    # Without removing condition means the pooled correlation would be far from 0.3.
    pooled = np.corrcoef(shifted.reshape(-1, 20), rowvar=False)
    assert abs(pooled[np.triu_indices(20, 1)].mean() - 0.3) > 0.1


def test_noise_correlation_matrix_skips_silent_neurons():
    rng = np.random.default_rng(8)
    counts = _correlated_counts(rng, 0.3, n_neurons=5)
    counts[..., 2] = 0.0
    matrix = stats.noise_correlation_matrix(counts)
    assert matrix.shape == (5, 5)
    assert np.all(np.isnan(matrix[2])) and np.all(np.isnan(matrix[:, 2]))
    np.testing.assert_allclose(np.diag(matrix)[[0, 1, 3, 4]], 1.0)
    np.testing.assert_allclose(matrix, matrix.T)
    assert np.isfinite(stats.noise_correlation(counts))


def test_noise_correlation_rejects_2d_counts():
    with pytest.raises(ValueError, match="counts"):
        stats.noise_correlation(np.ones((10, 5)))


# --------------------------------------------------------------------------------------------
# power spectrum
# --------------------------------------------------------------------------------------------


def test_power_spectrum_finds_gamma_oscillation():
    rng = np.random.default_rng(9)
    fs, duration = 1000.0, 4.0
    t = np.arange(int(fs * duration)) / fs
    x = 20.0 + np.sin(2 * np.pi * 40.0 * t) + rng.normal(0, 1.0, t.size)
    freqs, psd = stats.power_spectrum(x, fs)
    assert freqs.shape == psd.shape
    assert abs(freqs[np.argmax(psd)] - 40.0) <= fs / (2 * t.size // 9)
    gamma = stats.band_power(freqs, psd, 30.0, 80.0)
    alpha = stats.band_power(freqs, psd, 5.0, 15.0)
    assert gamma > 10 * alpha
    # The sine carries power 1/2; white noise of variance 1 adds 1 * 50/500 over 30-80 Hz.
    assert gamma == pytest.approx(0.5 + 0.1, rel=0.2)


def test_power_spectrum_per_row():
    rng = np.random.default_rng(10)
    x = rng.normal(size=(3, 2048))
    freqs, psd = stats.power_spectrum(x, 500.0, nperseg=256)
    assert freqs.shape == (129,)
    assert psd.shape == (3, 129)
    power = stats.band_power(freqs, psd, 10.0, 100.0)
    assert power.shape == (3,)
    _, row_psd = stats.power_spectrum(x[1], 500.0, nperseg=256)
    np.testing.assert_allclose(psd[1], row_psd)


def test_band_power_of_flat_density_is_width_times_height():
    freqs = np.linspace(0, 100, 201)
    psd = np.full((2, 201), 3.0)
    np.testing.assert_allclose(stats.band_power(freqs, psd, 20.0, 60.0), [120.0, 120.0])


def test_power_spectrum_and_band_power_reject_bad_input():
    with pytest.raises(ValueError, match="fs"):
        stats.power_spectrum(np.ones(100), 0.0)
    with pytest.raises(ValueError, match="nperseg"):
        stats.power_spectrum(np.ones(100), 100.0, nperseg=500)
    with pytest.raises(ValueError, match="psd"):
        stats.band_power(np.arange(10.0), np.ones(9), 1.0, 5.0)
    with pytest.raises(ValueError, match="low"):
        stats.band_power(np.arange(10.0), np.ones(10), 5.0, 1.0)


# --------------------------------------------------------------------------------------------
# Naka-Rushton
# --------------------------------------------------------------------------------------------


def test_naka_rushton_values():
    assert stats.naka_rushton(0.0, 40.0, 0.2, 2.5, 3.0) == pytest.approx(3.0)
    assert stats.naka_rushton(0.2, 40.0, 0.2, 2.5, 3.0) == pytest.approx(23.0)


def test_fit_naka_rushton_recovers_parameters():
    contrasts = np.geomspace(0.02, 1.0, 8)
    truth = {"r_max": 40.0, "c50": 0.2, "n": 2.5, "baseline": 3.0}
    responses = stats.naka_rushton(contrasts, **truth)
    fit = stats.fit_naka_rushton(contrasts, responses)
    assert set(fit) == {"r_max", "c50", "n", "baseline", "r2"}
    for name, value in truth.items():
        assert fit[name] == pytest.approx(value, rel=0.02), name
    assert fit["r2"] > 0.999


def test_fit_naka_rushton_noisy_high_c50():
    rng = np.random.default_rng(11)
    contrasts = np.array([0.0, 0.03, 0.06, 0.12, 0.25, 0.5, 0.75, 1.0])
    responses = stats.naka_rushton(contrasts, 30.0, 0.45, 2.0, 5.0)
    responses = responses + rng.normal(0, 0.3, contrasts.size)
    fit = stats.fit_naka_rushton(contrasts, responses)
    assert fit["c50"] == pytest.approx(0.45, rel=0.15)
    assert fit["r2"] > 0.99


def test_fit_naka_rushton_rejects_bad_input():
    with pytest.raises(ValueError, match="contrasts"):
        stats.fit_naka_rushton(np.array([0.1, 0.2, 0.4]), np.array([1.0, 2.0, 3.0]))
    with pytest.raises(ValueError, match="contrasts and responses"):
        stats.fit_naka_rushton(np.geomspace(0.01, 1, 6), np.ones(5))


# --------------------------------------------------------------------------------------------
# von Mises tuning
# --------------------------------------------------------------------------------------------


def _analytic_fwhm_deg(kappa):
    return np.degrees(2 * np.arccos(1 + np.log(0.5) / kappa))


@pytest.mark.parametrize("preferred", [1.2, 6.0])
def test_fit_tuning_curve_recovers_kappa_and_preferred(preferred):
    rng = np.random.default_rng(12)
    theta = np.arange(8) * np.pi / 4
    kappa = 2.0
    rates = stats.von_mises_tuning(theta, 30.0, kappa, preferred, 4.0)
    rates = rates + rng.normal(0, 0.1, theta.size)
    fit = stats.fit_tuning_curve(theta, rates)
    assert fit["kappa"] == pytest.approx(kappa, rel=0.05)
    circular_error = np.angle(np.exp(1j * (fit["preferred"] - preferred)))
    assert abs(circular_error) < 0.02
    assert 0.0 <= fit["preferred"] < 2 * np.pi
    assert fit["amplitude"] == pytest.approx(30.0, rel=0.05)
    assert fit["fwhm_deg"] == pytest.approx(_analytic_fwhm_deg(fit["kappa"]))
    assert fit["fwhm_deg"] == pytest.approx(_analytic_fwhm_deg(kappa), abs=2.0)
    assert fit["r2"] > 0.99


def test_fwhm_is_360_for_broad_tuning():
    theta = np.arange(8) * np.pi / 4
    rates = stats.von_mises_tuning(theta, 10.0, 0.2, 0.5, 2.0)
    fit = stats.fit_tuning_curve(theta, rates)
    assert fit["kappa"] < -np.log(0.5) / 2
    assert fit["fwhm_deg"] == 360.0


def test_fit_tuning_curve_rejects_bad_shapes():
    with pytest.raises(ValueError, match="theta and rates"):
        stats.fit_tuning_curve(np.arange(8.0), np.ones(7))
    with pytest.raises(ValueError, match="theta"):
        stats.fit_tuning_curve(np.arange(3.0), np.ones(3))


# --------------------------------------------------------------------------------------------
# modulation index
# --------------------------------------------------------------------------------------------


def test_modulation_index():
    mi = stats.modulation_index(np.array([30.0, 10.0, 0.0, 5.0]), np.array([10.0, 30.0, 0.0, 5.0]))
    np.testing.assert_allclose(mi[[0, 1, 3]], [0.5, -0.5, 0.0])
    assert np.isnan(mi[2])
    # A multiplicative gain g gives (g - 1) / (g + 1) whatever the rate.
    np.testing.assert_allclose(
        stats.modulation_index(1.2 * np.arange(1, 5.0), np.arange(1, 5.0)), 0.2 / 2.2
    )
    with pytest.raises(ValueError, match="attended"):
        stats.modulation_index(np.ones(3), np.ones(4))


# --------------------------------------------------------------------------------------------
# ring bump
# --------------------------------------------------------------------------------------------


def test_bump_amplitude_of_cosine_profile():
    n_neurons = 64
    angles = 2 * np.pi * np.arange(n_neurons) / n_neurons
    centres_true = np.array([2.0, -0.5, 0.0])
    amplitudes_true = np.array([10.0, 4.0, 0.0])
    rates = 5.0 + amplitudes_true[:, None] * np.cos(angles[None, :] - centres_true[:, None])
    amplitude, centre = stats.bump_amplitude(rates, angles)
    np.testing.assert_allclose(amplitude, amplitudes_true / 2, atol=1e-12)
    np.testing.assert_allclose(centre[:2], np.mod(centres_true[:2], 2 * np.pi), atol=1e-12)
    assert np.all((centre >= 0) & (centre < 2 * np.pi))


def test_bump_amplitude_rejects_bad_shapes():
    with pytest.raises(ValueError, match="preferred_angles"):
        stats.bump_amplitude(np.ones((5, 10)), np.zeros(9))
    with pytest.raises(ValueError, match="rates"):
        stats.bump_amplitude(np.ones(10), np.zeros(10))


def test_bump_persistence_crossing_time():
    dt = 1e-3
    times = np.arange(0.0, 3.0, dt)
    t_off, tau = 1.0, 0.5
    amplitude = np.where(times < t_off, 10.0, 10.0 * np.exp(-(times - t_off) / tau))
    threshold = 10.0 * np.exp(-1.0)  # crossed at t_off + tau
    persistence = stats.bump_persistence(times, amplitude, t_off, threshold)
    assert tau <= persistence <= tau + dt + 1e-12


def test_bump_persistence_edge_cases():
    times = np.arange(0.0, 2.0, 0.01)
    # Never drops: lower bound, the time left in the recording.
    assert stats.bump_persistence(times, np.full(times.size, 5.0), 0.5, 1.0) == pytest.approx(
        times[-1] - 0.5
    )
    # Already below in the first bin after cue offset (t_cue_off between bins).
    amplitude = np.where(times < 0.5, 5.0, 0.0)
    assert stats.bump_persistence(times, amplitude, 0.495, 1.0) == 0.0
    # Dips before cue offset do not count.
    amplitude = np.where((times > 0.2) & (times < 0.3), 0.0, 5.0)
    amplitude[times >= 1.5] = 0.0
    assert stats.bump_persistence(times, amplitude, 0.5, 1.0) == pytest.approx(1.0)


def test_bump_persistence_rejects_bad_input():
    with pytest.raises(ValueError, match="times and amplitude"):
        stats.bump_persistence(np.arange(5.0), np.ones(4), 1.0, 0.5)
    with pytest.raises(ValueError, match="t_cue_off"):
        stats.bump_persistence(np.arange(5.0), np.ones(5), 10.0, 0.5)


def test_spike_field_coherence_is_high_for_phase_locked_spikes_and_near_zero_otherwise():
    """60 trials of a 50 Hz field with a random phase per trial: spikes locked to the field
    cohere with it in the band, spikes of a constant rate do not (C ≈ 1/n_trials)."""
    rng = np.random.default_rng(0)
    fs, n = 1000.0, 400
    t = np.arange(n) / fs
    phase = rng.uniform(0, 2 * np.pi, (60, 1))
    field = np.sin(2 * np.pi * 50 * t + phase) + rng.normal(0, 1, (60, n))
    locked = rng.poisson(0.02 * (1 + np.sin(2 * np.pi * 50 * t + phase)))
    unlocked = rng.poisson(0.02, (60, n))
    freqs, c_locked = stats.spike_field_coherence(locked, field, fs, nperseg=128)
    _, c_unlocked = stats.spike_field_coherence(unlocked, field, fs, nperseg=128)
    band = (freqs >= 40) & (freqs <= 60)
    assert c_locked[band].mean() > 0.1
    assert c_unlocked[band].mean() < 0.02
    assert np.all((c_locked >= 0) & (c_locked <= 1 + 1e-12))


def test_spike_field_coherence_rejects_mismatched_shapes():
    with pytest.raises(BioattnError, match="same shape"):
        stats.spike_field_coherence(np.zeros((3, 10)), np.zeros((3, 11)), 1000.0)


def test_mean_interval_is_the_student_t_interval_of_the_mean():
    mean, low, high, n = stats.mean_interval([1.0, 2.0, 3.0, np.nan])
    half = 4.302652729911275 / np.sqrt(3)  # t(0.975, 2) · s / √n with s = 1
    assert (mean, n) == (2.0, 3)
    np.testing.assert_allclose([low, high], [2.0 - half, 2.0 + half], rtol=1e-9)
    assert np.isnan(stats.mean_interval([5.0])[1]) and stats.mean_interval([])[3] == 0
    narrower = stats.mean_interval([1.0, 2.0, 3.0], confidence=0.5)
    assert low < narrower[1] < narrower[2] < high


def test_seed_intervals_add_an_interval_to_every_numeric_metric():
    from bioattn.api import seed_intervals

    pooled = {"gain": 1.2, "between": True, "label": "x", "curve": [1, 2]}
    per_seed = [{"gain": g, "between": True, "label": "x", "curve": [1, 2]} for g in (1.0, 1.4)]
    out = pooled | seed_intervals(per_seed)  # as bioattn.api.run merges them
    half = 12.706204736174707 * np.std([1.0, 1.4], ddof=1) / np.sqrt(2)
    np.testing.assert_allclose(out["gain_ci"], [1.2 - half, 1.2 + half], rtol=1e-9)
    assert out["ci_n"] == 2 and out["gain"] == 1.2
    assert not {"between_ci", "label_ci", "curve_ci"} & set(out)


def test_bootstrap_over_trials_covers_the_mean_with_the_normal_width_and_is_reproducible():
    from bioattn.protocols.common import bootstrap_intervals

    rng = np.random.default_rng(3)
    a, b = rng.normal(1.0, 1.0, 400), rng.normal(3.0, 1.0, 400)

    def analyse(x, y):
        return {"mean_x": float(x.mean()), "difference": float(y.mean() - x.mean()), "ok": True}

    out = bootstrap_intervals(analyse, [a, b], seed=7)
    low, high = out["mean_x_ci"]
    assert low < a.mean() < high
    # Percentile bootstrap of a mean: 2 · 1.96 · s / √n (here 0.196) within 15 %.
    np.testing.assert_allclose(high - low, 2 * 1.96 * a.std() / 20, rtol=0.15)
    assert out["difference_ci"][0] < 2.0 < out["difference_ci"][1]
    assert "ok_ci" not in out and out["ci_n"] == 400
    assert bootstrap_intervals(analyse, [a, b], seed=7) == out
    assert bootstrap_intervals(analyse, [a, b], seed=8) != out
    with pytest.raises(ValueError, match="different lengths"):
        bootstrap_intervals(analyse, [a, b[:10]], seed=7)


def test_intervals_over_seeds_replace_the_bootstrap_in_the_pooled_run():
    """bioattn.api.run hands the intervals over seeds to the run that pools the seeds, so that
    its summary and figures show them (common.intervals_given)."""
    from bioattn.protocols.common import bootstrap_intervals, intervals_given

    x = np.arange(10.0)
    given = {"m": 4.5, "m_ci": [1.0, 8.0], "ci_method": "Student t over seeds", "ci_n": 5}
    with intervals_given(given):
        inside = bootstrap_intervals(lambda a: {"m": float(a.mean())}, [x], seed=1)
    assert inside == {"m_ci": [1.0, 8.0], "ci_method": "Student t over seeds", "ci_n": 5}
    outside = bootstrap_intervals(lambda a: {"m": float(a.mean())}, [x], seed=1)
    assert outside["ci_n"] == 10 and outside["m_ci"] != [1.0, 8.0]
