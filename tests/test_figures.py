"""The protocols' figures show their summary's 95 % intervals: error bars whose ends are the
summary's ``<metric>_ci`` and the method and n at the figure's foot; a summary without
intervals (or with undefined ones: a one-trial run) still draws, with zero-length bars.
Synthetic datasets and summaries made by the protocols' own analyses: no simulation."""

from __future__ import annotations

import functools
import math
from types import SimpleNamespace

import matplotlib.pyplot as plt
import numpy as np
import pytest
import xarray as xr
from matplotlib.container import BarContainer

from bioattn import figures
from bioattn.protocols import (
    common,
    contrast_response,
    masked_attention,
    self_attention,
    two_streams,
    visual_search,
)
from bioattn.protocols import scene as sc

#: Bootstrap resamples here (enough for intervals around the point values, fast).
RESAMPLES = 100
#: Fewer for the contrast-response intervals (two Naka–Rushton fits per resample).
FIT_RESAMPLES = 40
N_LOC = 4
N_CELLS = 32
WINDOW = 0.3


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def _bump(angles: np.ndarray) -> np.ndarray:
    """Profiles (..., cell) in Hz of a tuned response to items at ``angles`` (...), rad."""
    preferred = 2 * np.pi * np.arange(N_CELLS) / N_CELLS
    return 20.0 * np.exp(3.0 * (np.cos(preferred - np.asarray(angles)[..., None]) - 1))


def _features(rng, n_trials: int) -> np.ndarray:
    grid = 2 * np.pi * np.arange(8) / 8
    return np.stack([rng.choice(grid, N_LOC, replace=False) for _ in range(n_trials)])


@functools.cache
def two_streams_case(n_trials: int = 6) -> tuple[xr.Dataset, dict]:
    p = SimpleNamespace(angle_a=0.0, angle_b=np.pi / 2, contrast=0.6, design_seed=1)
    trials = two_streams.design(p, N_LOC, n_trials)
    spatial = np.array([t.labels["spatial"] for t in trials])
    feature = np.array([t.labels["feature"] for t in trials])
    rng = np.random.default_rng(1)
    push = {0: 0.0, 1: 1.0, 2: -1.0}
    shift = np.vectorize(push.get)(spatial) * 0.15 + np.vectorize(push.get)(feature) * 0.05
    shape = (1, len(trials))
    share = np.clip(0.5 + shift + rng.normal(0, 0.05, shape), 0.01, 0.99)
    gate = 0.5 + 0.2 * (spatial == 1) + rng.normal(0, 0.05, shape)
    column = rng.gamma(10.0, 1.0, shape) * (1 + 0.3 * (feature == 1))
    samples = two_streams.by_repeat(trials, share, gate, column)
    summary = two_streams.analyse(*samples) | common.bootstrap_intervals(
        two_streams.analyse, samples, seed=1, n_resamples=RESAMPLES
    )
    ds = xr.Dataset(
        {
            "share_a": (("seed", "trial"), share),
            "spatial_index": ("trial", spatial),
            "feature_index": ("trial", feature),
        }
    )
    return ds, summary


@functools.cache
def masked_attention_case(n_trials: int = 6) -> tuple[xr.Dataset, dict]:
    rng = np.random.default_rng(2)
    features = _features(rng, n_trials)
    rate = np.zeros((n_trials, N_LOC, N_CELLS))
    for step in range(N_LOC):
        for item in range(step + 1):
            rate[:, step] += 0.5 ** (step - item) * _bump(features[:, item])
    profiles = rng.poisson((2.0 + rate) * WINDOW) / WINDOW  # (trial, step, cell)
    _, weights = masked_attention.decompose(profiles, features)
    points = {"causal_violations": 0, **masked_attention.influence(weights)}
    summary = points | common.bootstrap_intervals(
        masked_attention.analyse, [profiles, features], seed=2, n_resamples=RESAMPLES
    )
    ds = xr.Dataset({"item_weight": (("seed", "trial", "step", "item"), weights[None])})
    return ds, summary


@functools.cache
def self_attention_case(n_trials: int = 6) -> tuple[xr.Dataset, dict]:
    rng = np.random.default_rng(3)
    features = _features(rng, n_trials)
    own = _bump(features)  # (trial, location, cell)
    others = own.sum(axis=1, keepdims=True) - own
    columns = {
        condition: rng.poisson((2.0 + own + mix * others) * WINDOW).astype(float)
        for condition, mix in zip(self_attention.CONDITIONS, (0.0, 0.25), strict=True)
    }
    weights, _ = self_attention.condition_weights(columns, features, WINDOW)
    summary = self_attention.weight_metrics(weights) | common.bootstrap_intervals(
        lambda *x: self_attention.analyse(*x, WINDOW),
        [columns[c] for c in self_attention.CONDITIONS] + [features],
        seed=3,
        n_resamples=RESAMPLES,
    )
    stacked = np.stack([weights[c][None] for c in self_attention.CONDITIONS])
    ds = xr.Dataset(
        {"item_weight": (("condition", "seed", "trial", "column", "item"), stacked)},
        coords={"condition": list(self_attention.CONDITIONS)},
    )
    return ds, summary


@functools.cache
def visual_search_case(n_trials: int = 4) -> tuple[xr.Dataset, dict]:
    p = SimpleNamespace(
        set_sizes=(1.0, 2.0, 3.0, 4.0), cue_strengths=(0.5, 1.0, 2.0), contrasts=(0.3, 1.0),
        query_angles=(0.0, np.pi), distractor_distances=(np.pi / 4, np.pi / 2), design_seed=1,
    )  # fmt: skip
    trials = visual_search.design(p, N_LOC, n_trials)
    target, _, strength, occupied = visual_search.design_arrays(trials)
    rng = np.random.default_rng(4)
    is_target = np.arange(N_LOC)[None, :] == target[:, None]
    boost = 1.0 + 0.3 * (1 + strength[:, None]) * is_target
    shape = (1, len(trials), N_LOC)
    measured = {
        "ff_charge": rng.gamma(8.0, 1.0, shape) * boost * occupied,
        "ppc_rate": rng.gamma(8.0, 2.0, shape) * boost,
        "gate": rng.beta(4.0, 4.0, shape) * boost / 2,
    }
    n_strengths = len(p.cue_strengths)
    samples = visual_search.by_repeat(measured, trials)
    summary = visual_search.analyse(*samples, n_strengths) | common.bootstrap_intervals(
        lambda *x: visual_search.analyse(*x, n_strengths), samples, seed=4, n_resamples=RESAMPLES
    )
    ds = xr.Dataset(
        {"ff_charge": (("seed", "trial", "location"), measured["ff_charge"]),
         **sc.trial_labels(trials, N_LOC)},
        attrs={"cue_strengths": list(p.cue_strengths)},
    )  # fmt: skip
    return ds, summary


@functools.cache
def contrast_response_case(n_trials: int = 6) -> tuple[xr.Dataset, dict]:
    contrasts = np.array([0.0, 0.05, 0.1, 0.2, 0.4, 0.7, 1.0])
    rng = np.random.default_rng(5)
    c50 = np.array([0.3, 0.2])  # uncued, cued
    rate = 5 + 40 * contrasts[None, :] ** 2 / (contrasts[None, :] ** 2 + c50[:, None] ** 2)
    counts = rng.poisson(rate[None, :, :, None] * WINDOW, (n_trials, 2, contrasts.size, 12))
    gamma = rng.gamma(4.0, 1.0, (n_trials, 2, contrasts.size))
    _, response, fits = contrast_response.response_curves(counts, contrasts, WINDOW)
    summary = contrast_response.analyse(counts, gamma, contrasts, WINDOW)
    summary |= common.bootstrap_intervals(
        lambda c, g: contrast_response.analyse(c, g, contrasts, WINDOW, strict=False),
        [counts, gamma], seed=5, n_resamples=FIT_RESAMPLES,
    )  # fmt: skip
    names = contrast_response.FIT_PARAMETERS
    ds = xr.Dataset(
        {
            "response": (("cue", "contrast"), response),
            "naka_rushton": (("cue", "fit_parameter"), [[f[k] for k in names] for f in fits]),
        },
        coords={"cue": list(contrast_response.CUE_CONDITIONS), "contrast": contrasts,
                "fit_parameter": list(names)},
    )  # fmt: skip
    return ds, summary


CASES = {
    "contrast_response": (contrast_response_case, figures.contrast_response_figure),
    "visual_search": (visual_search_case, figures.visual_search_figure),
    "masked_attention": (masked_attention_case, figures.masked_attention_figure),
    "self_attention": (self_attention_case, figures.self_attention_figure),
    "two_streams": (two_streams_case, figures.two_streams_figure),
}


def bar_ends(container, axis: int = 1) -> list[tuple[float, float]]:
    """(low, high) of each error bar of an errorbar or bar-chart container, in data units
    along ``axis`` (1: y, 0: x); [] for bars without error bars."""
    errorbar = container.errorbar if isinstance(container, BarContainer) else container
    if errorbar is None:
        return []
    (lines,) = errorbar.lines[2]
    return [(min(s[:, axis]), max(s[:, axis])) for s in lines.get_segments()]


def bar_chart(ax) -> BarContainer:
    """The axes' one bar chart (its error bars are also a container of their own)."""
    (bars,) = [c for c in ax.containers if isinstance(c, BarContainer)]
    return bars


def assert_bars_are_intervals(ends: list, summary: dict, keys: list[str]) -> None:
    """The bars span the summary's ``<key>_ci`` (which contain the values: else a bar stops at
    its value, :func:`bioattn.figures._errors`)."""
    assert len(ends) == len(keys)
    for (low, high), key in zip(ends, keys, strict=True):
        ci_low, ci_high = summary[f"{key}_ci"]
        assert ci_low <= summary[key] <= ci_high, key
        assert (low, high) == pytest.approx((ci_low, ci_high), rel=1e-12), key


def foot_note(fig) -> str:
    return "\n".join(t.get_text() for t in fig.texts)


def test_two_streams_bars_are_the_summary_intervals():
    ds, summary = two_streams_case()
    fig = figures.two_streams_figure(ds, summary)
    keys = ["spatial_effect", "feature_effect", "interaction"]
    bars = bar_chart(fig.axes[1])
    assert [b.get_height() for b in bars] == [summary[k] for k in keys]
    assert_bars_are_intervals(bar_ends(bars), summary, keys)
    assert f"95 % CI: {summary['ci_method']}, n = 6" in foot_note(fig)


def test_masked_attention_lag_curve_bars_and_future_band_are_the_summary_intervals():
    ds, summary = masked_attention_case()
    fig = figures.masked_attention_figure(ds, summary)
    ax = fig.axes[1]  # weights, influence by lag, the weights' colour bar
    (curve,) = ax.containers
    keys = [f"influence_lag_{d}" for d in range(N_LOC)]  # not the ``_ci`` keys
    np.testing.assert_array_equal(curve.lines[0].get_xdata(), range(N_LOC))
    # influence_lag_0 is 1 by definition (a point interval): a zero-length bar.
    assert_bars_are_intervals(bar_ends(curve), summary, keys)
    (band,) = ax.patches
    y = ax.transData.inverted().transform(band.get_verts())[:, 1]
    assert (y.min(), y.max()) == pytest.approx(summary["influence_future_ci"])
    assert "n = 6" in foot_note(fig)


def test_visual_search_bars_and_title_are_the_summary_intervals():
    ds, summary = visual_search_case()
    fig = figures.visual_search_figure(ds, summary)
    low, high = summary["target_charge_share_ci"]
    assert f"target share {summary['target_charge_share']:.2f} [{low:.2f}, {high:.2f}]" in (
        fig.axes[0].get_title()
    )
    bars = bar_chart(fig.axes[1])
    assert_bars_are_intervals(bar_ends(bars), summary, ["ppc_target_rate", "ppc_distractor_rate"])
    (gate,) = fig.axes[2].containers  # the twin axis
    assert_bars_are_intervals(bar_ends(gate), summary, ["gate_target", "gate_distractor"])


def test_self_attention_bars_and_contrast_response_c50_are_the_summary_intervals():
    ds, summary = self_attention_case()
    fig = figures.self_attention_figure(ds, summary)
    keys = ["other_weight_none", "other_weight_lateral"]
    bars = bar_chart(fig.axes[2])  # axes: two weight maps, the bars, two colour bars
    assert_bars_are_intervals(bar_ends(bars), summary, keys)
    ds, summary = contrast_response_case()
    fig = figures.contrast_response_figure(ds, summary)
    for container, key in zip(fig.axes[0].containers, ["c50_unattended", "c50_attended"],
                              strict=True):  # fmt: skip
        assert_bars_are_intervals(bar_ends(container, axis=0), summary, [key])
    assert "Rmax" in fig.axes[0].get_legend().get_texts()[0].get_text()


@pytest.mark.parametrize("name", CASES)
def test_figures_draw_without_intervals_and_with_undefined_ones(name):
    case, figure = CASES[name]
    ds, summary = case()
    bare = {k: v for k, v in summary.items()
            if not k.endswith("_ci") and k not in ("ci_method", "ci_n")}  # fmt: skip
    undefined = {**bare, "ci_method": common.NO_INTERVAL_METHOD, "ci_n": 1}
    undefined |= {f"{k}_ci": [math.nan, math.nan] for k in bare if f"{k}_ci" in summary}
    for variant in (bare, undefined):
        fig = figure(ds, variant)
        fig.canvas.draw()
        for ax in fig.axes:
            for container in ax.containers:
                axis = 0 if name == "contrast_response" else 1
                assert all(low == high for low, high in bar_ends(container, axis))
        assert ("n = 1" in foot_note(fig)) == (variant is undefined)
