"""Main-result figures of the protocols, drawn from the labelled result datasets."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import xarray as xr  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from bioattn import stats  # noqa: E402

CUE_COLOURS = {"uncued": "0.4", "cued": "tab:red"}


def feature_attention_figure(ds: xr.Dataset, summary: dict) -> Figure:
    """Tuning curves of cells preferring the attended direction, cued vs not; FSG curve; LFP."""
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.8))
    directions = ds["direction"].values
    fine = np.linspace(0, 360, 361)
    for cue in ds["cue"].values:
        tuning = ds["tuning"].sel(cue=cue).values
        fit = stats.fit_tuning_curve(np.radians(directions), tuning)
        axes[0].plot(directions, tuning, "o", color=CUE_COLOURS[cue])
        curve = stats.von_mises_tuning(
            np.radians(fine), fit["amplitude"], fit["kappa"], fit["preferred"], fit["baseline"]
        )
        axes[0].plot(
            fine, curve, color=CUE_COLOURS[cue], label=f"{cue} (FWHM {fit['fwhm_deg']:.0f}°)"
        )
    axes[0].set(
        xlabel="stimulus direction (deg)",
        ylabel="rate (Hz)",
        title=f"cells preferring the attended direction\ngain {summary['gain_pref']:.2f}, "
        f"width ratio {summary['width_ratio']:.2f}",
    )
    axes[0].legend(frameon=False)
    axes[1].axhline(0, color="0.7", lw=0.8)
    axes[1].plot(ds["offset"].values, ds["fsg_index"].values, "o-", color="tab:red")
    axes[1].set(
        xlabel="|attended − preferred| (deg)",
        ylabel="modulation index (A−U)/(A+U)",
        title="feature-similarity gain",
    )
    freqs = ds["frequency"].values
    for cue in ds["cue"].values:
        psd = ds["lfp_psd"].sel(cue=cue).mean(dim=("direction", "trial", "seed")).values
        axes[2].semilogy(freqs, psd, color=CUE_COLOURS[cue], label=cue)
    axes[2].axvspan(30, 80, color="0.9")
    axes[2].set(
        xlabel="frequency (Hz)",
        ylabel="LFP-proxy PSD (A²/Hz)",
        xlim=(0, 150),
        title="LFP proxy (stimulus epoch)",
    )
    axes[2].legend(frameon=False)
    fig.tight_layout()
    return fig


def working_memory_figure(ds: xr.Dataset, summary: dict) -> Figure:
    """PFC ring activity through cue and delay (first trial) and bump amplitude over time."""
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.8))
    rates = ds["pfc_rates"].isel(seed=0, trial=0).values
    times = ds["time"].values
    image = axes[0].imshow(
        rates.T, aspect="auto", origin="lower", cmap="viridis", extent=(0, times[-1], 0, 360)
    )
    axes[0].axvline(ds.attrs["cue_off_s"], color="w", ls="--")
    axes[0].set(
        xlabel="time from cue onset (s)", ylabel="preferred angle (deg)", title="PFC ring (trial 1)"
    )
    fig.colorbar(image, ax=axes[0], label="rate (Hz)")
    amp = ds["bump_amplitude"].values.reshape(-1, times.size)
    axes[1].plot(times, amp.T, color="0.7", lw=0.8)
    axes[1].plot(times, amp.mean(axis=0), color="k", lw=2)
    axes[1].axhline(ds.attrs["threshold_hz"], color="tab:red", ls=":")
    axes[1].axvline(ds.attrs["cue_off_s"], color="0.5", ls="--")
    axes[1].set(
        xlabel="time from cue onset (s)",
        ylabel="bump amplitude |z| (Hz)",
        title=f"persistence {summary['bump_persistence_s']:.2f} s",
    )
    fig.tight_layout()
    return fig


def contrast_response_figure(ds: xr.Dataset, summary: dict) -> Figure:
    """Contrast-response functions with Naka–Rushton fits, cued vs not."""
    fig, ax = plt.subplots(figsize=(5, 3.8))
    contrasts = ds["contrast"].values
    fine = np.linspace(0, contrasts.max(), 200)
    for cue in ds["cue"].values:
        fit = dict(
            zip(ds["fit_parameter"].values, ds["naka_rushton"].sel(cue=cue).values, strict=True)
        )
        ax.plot(contrasts, ds["response"].sel(cue=cue).values, "o", color=CUE_COLOURS[cue])
        ax.plot(
            fine,
            stats.naka_rushton(fine, fit["r_max"], fit["c50"], fit["n"], fit["baseline"]),
            color=CUE_COLOURS[cue],
            label=f"{cue}: c50 {fit['c50']:.2f}, Rmax {fit['r_max']:.0f} Hz",
        )
    ax.set(
        xlabel="contrast",
        ylabel="rate (Hz)",
        title="cells preferring the attended direction",
    )
    ax.legend(frameon=False, fontsize=8)
    fig.tight_layout()
    return fig
