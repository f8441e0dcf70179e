"""Fitting circuit runs: run → trial set, two-head attention, noise-corrected mixing, and
``bioattn fit`` (its errors, and on a small real circuit run)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import xarray as xr
from scipy.optimize import approx_fprime

from bioattn import cli, mixing, results
from bioattn.errors import BioattnError
from bioattn.fit import SoftmaxAttention, TrialSet, compare_models, simulate_counts
from bioattn.fit.base import Design
from bioattn.fit.circuit import (
    Templates,
    bin_cells,
    concatenate,
    readout_templates,
    scene_data,
)
from bioattn.fit.heads import MultiHeadSoftmax

N_CELLS, N_LOC, WINDOW = 64, 4, 0.3


def _profile(angle: float, amplitude: float) -> np.ndarray:
    preferred = 2 * np.pi * np.arange(N_CELLS) / N_CELLS
    return 2.0 + amplitude * np.exp(3.0 * (np.cos(preferred - angle) - 1.0))


def _fake_scene_run(rng: np.random.Generator, protocol: str = "visual-search") -> xr.Dataset:
    """A visual-search-like result: single items (templates) and pairs whose readout is a
    known mixture, with charge shares equal to the mixture weights."""
    trials, features, contrasts, queries, gains, sizes, weights = [], [], [], [], [], [], []
    for k in range(24):
        feature = np.full(N_LOC, np.nan)
        contrast = np.zeros(N_LOC)
        size = 1 if k < 8 else 2
        locations = rng.permutation(N_LOC)[:size]
        angles = rng.choice(np.radians([0, 90, 180, 270]), size=size, replace=False)
        feature[locations] = np.degrees(angles)
        contrast[locations] = 1.0
        w = np.zeros(N_LOC)
        w[locations] = [0.8, 0.2][:size] if size == 2 else [1.0]
        rate = sum(w[b] * _profile(np.radians(feature[b]), 40.0) for b in locations)
        trials.append(rng.poisson(rate * WINDOW))
        features.append(feature)
        contrasts.append(contrast)
        queries.append(np.degrees(angles[0]))
        gains.append(1.0 if k % 2 else 2.0)
        sizes.append(size)
        weights.append(w)
    counts = xr.DataArray(np.array(trials)[None], dims=("seed", "trial", "readout_cell"),
                          attrs={"units": "spikes", "window_s": WINDOW})  # fmt: skip
    return xr.Dataset(
        {
            "readout_counts": counts,
            "ff_charge": (("seed", "trial", "location"), 1e-9 * np.array(weights)[None]),
            "item_feature": (("trial", "location"), np.array(features)),
            "item_contrast": (("trial", "location"), np.array(contrasts)),
            "query": ("trial", np.array(queries)),
            "query_gain": ("trial", np.array(gains)),
            "spatial_cue": ("trial", np.full(len(trials), -1)),
            "set_size": ("trial", np.array(sizes)),
        },
        attrs={"protocol": protocol, "model": "multi_item"},
    )


def test_templates_are_single_item_profiles_rotated_to_each_item():
    ds = _fake_scene_run(np.random.default_rng(0))
    templates = readout_templates(ds)
    assert templates.contrasts.tolist() == [1.0]
    # The aligned template peaks at 0 with the profile's amplitude (Poisson noise aside).
    assert np.argmax(templates.profiles[0]) in (0, 1, N_CELLS - 1)
    assert templates.profiles[0].max() == pytest.approx(42.0, rel=0.2)
    values = templates.values(np.radians([[90.0, np.nan]]), np.array([[1.0, 0.0]]), 16)
    assert values.shape == (1, 2, 16)
    assert np.argmax(values[0, 0]) == 4  # 90° of 16 bins
    np.testing.assert_array_equal(values[0, 1], 0.0)
    np.testing.assert_allclose(values[0, 0].sum(), templates.profiles[0].sum())


def test_contrast_templates_interpolate_between_measured_contrasts():
    profiles = np.stack([_profile(0.0, 10.0), _profile(0.0, 30.0)])
    templates = Templates(np.array([0.2, 1.0]), profiles)
    mid = templates.values(np.array([0.0]), np.array([0.6]), N_CELLS)[0]
    np.testing.assert_allclose(mid, 0.5 * (profiles[0] + profiles[1]))
    high = templates.values(np.array([0.0]), np.array([3.0]), N_CELLS)[0]
    np.testing.assert_allclose(high, profiles[1])


def test_scene_data_keeps_informative_features_and_charge_shares():
    ds = _fake_scene_run(np.random.default_rng(1))
    data = scene_data(ds, readout_templates(ds), n_bins=16, trials=np.arange(8, 24))
    assert data.X.n_trials == 16 and data.X.n_out == 16
    # No spatial cue anywhere: only the feature dimensions remain, shared by query and keys.
    assert data.query_features == data.key_features == ("feature_cos", "feature_sin")
    np.testing.assert_allclose(data.ground_truth.sum(axis=1), 1.0)
    np.testing.assert_array_equal(data.ground_truth > 0, data.X.mask)
    assert np.linalg.norm(data.X.query, axis=1).tolist() == ds["query_gain"].values[8:].tolist()
    np.testing.assert_array_equal(data.counts, bin_cells(ds["readout_counts"].values[0, 8:], 16))
    unit = scene_data(ds, readout_templates(ds), n_bins=16, query_gain=False)
    np.testing.assert_allclose(np.linalg.norm(unit.X.query, axis=1), 1.0)
    both = concatenate([data, data], "state", [0.0, 1.0])
    assert both.X.n_trials == 32 and both.labels["state"].tolist() == [0.0] * 16 + [1.0] * 16


def test_bin_cells_rejects_uneven_bins():
    with pytest.raises(BioattnError, match="n_bins must divide the 64"):
        bin_cells(np.zeros((2, 64)), 10)


# --------------------------------------------------------------------------------------------
# two-head attention
# --------------------------------------------------------------------------------------------


def _two_stream_design(rng: np.random.Generator, n_trials: int = 500) -> TrialSet:
    angle = rng.uniform(0, 2 * np.pi, (n_trials, N_LOC))
    keys = np.concatenate(
        [
            np.cos(angle)[..., None],
            np.sin(angle)[..., None],
            np.eye(N_LOC)[None].repeat(n_trials, 0),
        ],
        axis=2,
    )
    cue_angle = rng.uniform(0, 2 * np.pi, n_trials)
    cue = rng.integers(0, N_LOC, n_trials)
    query = np.column_stack([np.cos(cue_angle), np.sin(cue_angle), np.eye(N_LOC)[cue]])
    preferred = np.linspace(0, 2 * np.pi, 16, endpoint=False)
    values = 5 + 45 * np.exp(2 * (np.cos(angle[..., None] - preferred) - 1))
    mask = np.ones((n_trials, N_LOC), bool)
    return TrialSet(values, keys, query, np.ones((n_trials, N_LOC)), mask, 0.5)


HEADS = [([0, 1], [0, 1]), ([2, 3, 4, 5], [2, 3, 4, 5])]


def test_two_heads_gradient_matches_finite_differences():
    rng = np.random.default_rng(2)
    X = _two_stream_design(rng, 100)
    true = MultiHeadSoftmax(heads=HEADS).set_fitted(
        baseline=2.0, gain=1.0, A0=3 * np.eye(2), A1=4 * np.eye(4), head_mix=np.array([0.5])
    )
    y = simulate_counts(true, X, rng).astype(float)
    model = MultiHeadSoftmax(heads=HEADS)
    design = Design(X, y)
    layout = model._layout(X.d_q, X.d_k, X.n_items, design)
    objective = model._objective(layout, design)
    x0 = rng.normal(0, 1, layout.size)
    numeric = approx_fprime(x0, lambda x: objective(x)[0], 1e-6)
    np.testing.assert_allclose(objective(x0)[1], numeric, atol=1e-4 * np.abs(numeric).max())
    assert true.n_params_ == 2 + 4 + 16 + 1


def test_two_heads_are_recovered_and_beat_one_head_on_two_head_data():
    rng = np.random.default_rng(3)
    X = _two_stream_design(rng)
    true = MultiHeadSoftmax(heads=HEADS).set_fitted(
        baseline=2.0, gain=1.0, A0=3 * np.eye(2), A1=4 * np.eye(4), head_mix=np.array([0.5])
    )
    y = simulate_counts(true, X, rng)
    fitted = MultiHeadSoftmax(heads=HEADS).fit(X, y)
    np.testing.assert_allclose(fitted.head_betas_, [3 * np.sqrt(2), 8.0], rtol=0.2)
    np.testing.assert_allclose(fitted.head_shares_, true.head_shares_, atol=0.05)
    comparison = compare_models(
        X, y, {"one_head": SoftmaxAttention(), "two_heads": MultiHeadSoftmax(heads=HEADS)}
    )
    assert comparison.attrs["best_model"] == "two_heads"
    bits = comparison["cv_bits_per_spike"]
    assert float(bits.sel(model="two_heads") - bits.sel(model="one_head")) > 0.002


# --------------------------------------------------------------------------------------------
# mixing with count noise
# --------------------------------------------------------------------------------------------


def test_noise_correction_keeps_a_noisy_softmax_layer_mixing():
    rng = np.random.default_rng(4)
    rates, values = mixing.attention_control(rng, n_trials=1000)
    window = 0.3
    counts = rng.poisson(rates * window)
    noisy = counts / window
    raw = mixing.decompose(noisy, values)
    corrected = mixing.decompose(noisy, values, noise_variance=counts.sum(axis=1) / window**2)
    assert raw.mixing_fraction < 0.85  # count noise alone looks like "transformation"
    assert corrected.mixing_fraction >= 0.9
    assert 0.1 < corrected.noise_fraction < 0.9
    assert corrected.mixing_fraction + corrected.linear_fraction + corrected.transform_fraction == (
        pytest.approx(1.0)
    )


def test_noise_as_large_as_the_variance_is_refused():
    rates, values = mixing.attention_control(np.random.default_rng(5), n_trials=50)
    with pytest.raises(BioattnError, match="no larger than the count noise"):
        mixing.decompose(rates, values, noise_variance=np.full(50, 1e9))


# --------------------------------------------------------------------------------------------
# bioattn fit: errors
# --------------------------------------------------------------------------------------------


def _result_dir(path, ds: xr.Dataset):
    return results.write_result_dir(
        path, dataset=ds, config_toml="", provenance={}, summary={}, figures={}
    )


def _fails(capsys, argv, match):
    assert cli.main(argv) == cli.EXIT_USAGE
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("bioattn: error:") and match in err
    return err


def test_fit_errors_are_one_line_and_write_nothing(tmp_path, capsys):
    out = tmp_path / "fit"
    _fails(capsys, ["fit", str(tmp_path / "missing"), "--out", str(out)], "does not exist")
    wrong = _result_dir(tmp_path / "wm", xr.Dataset(attrs={"protocol": "working-memory"}))
    _fails(capsys, ["fit", str(wrong), "--out", str(out)], "has no attention fit")
    pulvinar = _fake_scene_run(np.random.default_rng(6), "pulvinar-inactivation")
    pulvinar_dir = _result_dir(tmp_path / "pi", pulvinar)
    _fails(capsys, ["fit", str(pulvinar_dir), "--out", str(out)], "pass --templates")
    _fails(capsys, ["fit", str(pulvinar_dir), "--out", str(out), "--bins", "0"], "n_bins")
    two_states = pulvinar.assign_coords(state=["intact", "feedback_silenced"])
    two_dir = _result_dir(tmp_path / "pi2", two_states)
    _fails(capsys, ["fit", str(two_dir), "--out", str(out)], "'inactivated' in protocol.pulvinar")
    assert not out.exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []
    out.mkdir()
    search = _result_dir(tmp_path / "vs", _fake_scene_run(np.random.default_rng(7)))
    _fails(capsys, ["fit", str(search), "--out", str(out)], "already exists")


# --------------------------------------------------------------------------------------------
# bioattn fit on a small real circuit run
# --------------------------------------------------------------------------------------------

SUMMARY_KEYS = ("cv_bits_per_spike", "best_model", "beta", "weight_r2_softmax", "verdict_level",
                "mixing_fraction", "linear_fraction")  # fmt: skip


def test_fit_cli_on_a_small_real_circuit_run(biased_competition_dir, tmp_path, capsys):
    """bioattn fit on a real biased-competition run (3 repeats; its single items give the
    templates, its 9 pair trials are fitted)."""
    fit = tmp_path / "fit"
    argv = ["fit", str(biased_competition_dir), "--out", str(fit), "--boot", "10", "--quiet"]
    assert cli.main(argv) == 0
    capsys.readouterr()
    for name in ("fit.nc", "summary.json", "provenance.json", "config.toml", "weights.png",
                 "model_comparison.png", "mixing.png"):  # fmt: skip
        assert (fit / name).is_file(), name
    summary = json.loads((fit / "summary.json").read_text())
    assert all(key in summary for key in SUMMARY_KEYS)
    bits = summary["cv_bits_per_spike"]
    assert bits["uniform"] == 0.0 and len(bits) == 8
    assert summary["n_trials"] == 9
    # The spatial cue is the query; the items' locations are the keys.
    assert summary["query_features"] == summary["key_features"]
    assert all(name.startswith("location_") for name in summary["query_features"])
    # Attention in the circuit: every model beats Uniform (measured 0.12 bits/spike at the
    # least since issue 11's calibration: spatial attention now gains a single item 1.1-1.5x,
    # the old gate gained it ~1.7x and every model beat Uniform by > 0.2) and the fitted softmax
    # puts more weight where the charge went.  Measured before issue 11: Spearman 0.92, R² 0.72
    # over the 18 items of the 9 pairs; on the issue-11 circuit with paired shared-gain paths,
    # 8 trials per condition, seeds 1-3: Spearman 0.66, 0.61, 0.51, R² 0.24, 0.25, 0.16 (this
    # fixture, seed 1, 3 trials: 0.73, 0.23).  The weaker single gain leaves less to explain.
    assert min(v for k, v in bits.items() if k != "uniform") > 0.05
    agreement = summary["weight_agreement"]["softmax"]
    assert agreement["spearman"] > 0.4 and agreement["r2"] > 0.1
    # The readout is a mixture of its items, not a transformation of them (measured: 0.000).
    assert summary["mixing_fraction"] + summary["linear_fraction"] > 0.8
    assert summary["transform_fraction"] < 0.2
    ds = xr.open_dataset(fit / "fit.nc")
    assert ds["weights"].shape == (9, 4, 8)
    np.testing.assert_allclose(ds["ground_truth_weights"].sum("item"), 1.0)
    # Same run, same seed: the same fit.
    again = tmp_path / "again"
    argv = ["fit", str(biased_competition_dir), "--out", str(again), "--boot", "10", "--quiet"]
    assert cli.main(argv) == 0
    repeat = json.loads((again / "summary.json").read_text())
    assert repeat["cv_bits_per_spike"] == bits and repeat["beta"] == summary["beta"]
