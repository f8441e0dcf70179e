"""Main-result figures of the protocols, drawn from the labelled result datasets."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import xarray as xr  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from bioattn import stats  # noqa: E402
from bioattn.protocols.common import INTERVAL_SUFFIX  # noqa: E402

CUE_COLOURS = {"uncued": "0.4", "cued": "tab:red"}
#: The summary's name of each cue condition (``c50_attended`` is the cued curve's c50).
CUE_METRICS = {"uncued": "unattended", "cued": "attended"}


def _interval(summary: dict, key: str) -> tuple[float, float] | None:
    """``key``'s 95 % interval from the summary (``<key>_ci``), or None where it has none."""
    ci = summary.get(f"{key}{INTERVAL_SUFFIX}")
    if ci is None or len(ci) != 2 or not np.all(np.isfinite(np.asarray(ci, dtype=float))):
        return None
    return float(ci[0]), float(ci[1])


def _with_ci(summary: dict, key: str, fmt: str = ".2f") -> str:
    """``key``'s value as text, with its 95 % interval where the summary has one."""
    ci = _interval(summary, key)
    text = format(summary[key], fmt)
    return text if ci is None else f"{text} [{ci[0]:{fmt}}, {ci[1]:{fmt}}]"


def _ci_note(summary: dict) -> str:
    """What the intervals are: ``95 % CI: <method>, n = <n>`` (empty when there are none)."""
    if "ci_method" not in summary:
        return ""
    return f"95 % CI: {summary['ci_method']}, n = {summary['ci_n']}"


#: Height (inches) kept free at a figure's foot for :func:`_ci_note`.
NOTE_HEIGHT_IN = 0.22


def _finish(fig: Figure, summary: dict, prefix: str = "") -> None:
    """Lay ``fig`` out, with :func:`_ci_note` (after ``prefix``) at its foot if there is one."""
    note = _ci_note(summary)
    if not note:
        fig.tight_layout()
        return
    fig.text(0.005, 0.005, prefix + note, fontsize=7, color="0.4")
    fig.tight_layout(rect=(0, NOTE_HEIGHT_IN / fig.get_figheight(), 1, 1))


def _errors(summary: dict, keys: list[str]) -> np.ndarray:
    """Asymmetric error bars (2, len(keys)) from the keys' intervals (0 where there is none)."""
    out = np.zeros((2, len(keys)))
    for k, key in enumerate(keys):
        ci = _interval(summary, key)
        if ci is not None:
            out[:, k] = max(summary[key] - ci[0], 0.0), max(ci[1] - summary[key], 0.0)
    return out


def feature_attention_figure(ds: xr.Dataset, summary: dict) -> Figure:
    """Tuning curves of cells preferring the attended direction, cued vs not; FSG curve; LFP;
    noise correlations against the pair's preference difference."""
    fig, axes = plt.subplots(1, 4, figsize=(17, 3.8))
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
        title=f"cells preferring the attended direction\ngain {_with_ci(summary, 'gain_pref')}, "
        f"width ratio {_with_ci(summary, 'width_ratio')}",
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
        title="LFP proxy (stimulus epoch)\nspike–LFP γ coherence "
        f"{summary['spike_lfp_coherence_attended']:.3f} cued, "
        f"{summary['spike_lfp_coherence_unattended']:.3f} uncued",
    )
    axes[2].legend(frameon=False)
    axes[3].axhline(0, color="0.7", lw=0.8)
    for cue in ds["cue"].values:
        axes[3].plot(
            ds["preference_difference"].values,
            ds["noise_corr_by_similarity"].sel(cue=cue).values,
            "o-",
            color=CUE_COLOURS[cue],
            label=cue,
        )
    n_samples = ds.sizes["trial"] * ds.sizes["seed"]
    axes[3].set(
        xlabel="|preferred₁ − preferred₂| (deg)",
        ylabel="noise correlation r_sc",
        title=f"shared variability ({n_samples} trials per direction)",
    )
    axes[3].legend(frameon=False)
    _finish(fig, summary)
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
        title=f"persistence {_with_ci(summary, 'bump_persistence_s')} s",
    )
    _finish(fig, summary)
    return fig


def contrast_response_figure(ds: xr.Dataset, summary: dict) -> Figure:
    """Contrast-response functions with Naka–Rushton fits, cued vs not; each curve's c50 (at
    half its R_max) with its interval."""
    fig, ax = plt.subplots(figsize=(6, 4))
    contrasts = ds["contrast"].values
    fine = np.linspace(0, contrasts.max(), 200)
    for cue in ds["cue"].values:
        fit = dict(
            zip(ds["fit_parameter"].values, ds["naka_rushton"].sel(cue=cue).values, strict=True)
        )
        metric = CUE_METRICS[cue]
        colour = CUE_COLOURS[cue]
        ax.plot(contrasts, ds["response"].sel(cue=cue).values, "o", color=colour)
        ax.plot(
            fine,
            stats.naka_rushton(fine, fit["r_max"], fit["c50"], fit["n"], fit["baseline"]),
            color=colour,
            label=f"{cue}: c50 {_with_ci(summary, f'c50_{metric}')}, "
            f"Rmax {_with_ci(summary, f'rmax_{metric}', '.0f')} Hz",
        )
        c50 = f"c50_{metric}"
        ax.errorbar(summary[c50], fit["baseline"] + fit["r_max"] / 2, xerr=_errors(summary, [c50]),
                    fmt="|", ms=10, capsize=3, color=colour)  # fmt: skip
    ax.set(
        xlabel="contrast",
        ylabel="rate (Hz)",
        xlim=(-0.03 * contrasts.max(), 1.05 * contrasts.max()),
        title="cells preferring the attended direction",
    )
    ax.legend(frameon=False, fontsize=8, loc="upper left")
    _finish(fig, summary, "c50 bars at half R_max: ")
    return fig


ATTEND_COLOURS = {"away": "0.4", "out": "0.4", "pref": "tab:red", "in": "tab:red",
                  "nonpref": "tab:blue"}  # fmt: skip


def _readout_profile(ds: xr.Dataset, trials: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean readout rate by preferred angle over the given trials (all seeds)."""
    window = ds["readout_counts"].attrs["window_s"]
    counts = ds["readout_counts"].isel(trial=trials).mean(dim=("seed", "trial")).values
    return ds["readout_preferred"].values, counts / window


def biased_competition_figure(ds: xr.Dataset, summary: dict) -> Figure:
    """Pref-cell responses per scene and attention (Reynolds et al. 1999 layout), and the
    readout population profile of the pair under each attention condition."""
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
    rates = ds["pref_cell_rate"]
    x = np.arange(ds["scene"].size)
    for k, att in enumerate(ds["attend"].values):
        mean = rates.sel(attend=att).mean("sample").values
        sem = rates.sel(attend=att).std("sample").values / np.sqrt(rates["sample"].size)
        axes[0].errorbar(x + 0.1 * (k - 1), mean, sem, fmt="o", color=ATTEND_COLOURS[att],
                         label=f"attend {att}")  # fmt: skip
    axes[0].set_xticks(x, [str(s) for s in ds["scene"].values])
    axes[0].set(
        ylabel="rate of pref-tuned readout cells (Hz)",
        title=f"pair shift: attend pref {_with_ci(summary, 'pair_shift_attend_pref')}, "
        f"nonpref {_with_ci(summary, 'pair_shift_attend_nonpref')}\nsingle attended gain "
        f"{_with_ci(summary, 'single_gain_attended')} (mean ± s.e.m. of {rates['sample'].size} "
        "trials)",
    )
    axes[0].legend(frameon=False)
    scene = ds["scene_index"].values
    attend = ds["attend_index"].values
    pair = list(ds["scene"].values).index("pair")
    for k, att in enumerate(ds["attend"].values):
        angles, profile = _readout_profile(ds, np.flatnonzero((scene == pair) & (attend == k)))
        axes[1].plot(angles, profile, color=ATTEND_COLOURS[att], label=f"pair, attend {att}")
    axes[1].set(xlabel="readout preferred feature (deg)", ylabel="rate (Hz)",
                title="readout population response to the pair")  # fmt: skip
    axes[1].legend(frameon=False)
    _finish(fig, summary)
    return fig


#: pulvinar-inactivation's states, one colour each whichever of them ran.
_STATE_COLOURS = {"intact": "tab:green", "inactivated": "0.6", "feedback_silenced": "tab:purple",
                  "both_silenced": "k"}  # fmt: skip


def pulvinar_inactivation_figure(ds: xr.Dataset, summary: dict) -> Figure:
    """Recorded column cells, attend in vs out: intact, pulvinar inactivated, direct feedback
    silenced, both silenced."""
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
    attend = ds["attend_index"].values
    states = list(ds["state"].values)
    width = 0.8 / len(states)
    for k, state in enumerate(states):
        rate = ds["recorded_rate"].sel(state=state).values
        means = [rate[:, attend == a].mean() for a in (0, 1)]
        axes[0].bar(np.arange(2) + width * k, means, width, label=state.replace("_", " "),
                    color=_STATE_COLOURS.get(state, "0.3"))  # fmt: skip
    axes[0].set_xticks(np.arange(2) + width * (len(states) - 1) / 2, ["attend out", "attend in"])
    axes[0].set(ylabel="rate (Hz)", title="recorded column (item-preferring cells)")
    axes[0].legend(frameon=False)
    keys = [("ami", "attention modulation index"), ("evoked", "evoked rate (Hz)")]
    for k, (key, label) in enumerate(keys):
        names = [f"{key}_{s}" for s in states]
        values = np.array([summary[name] for name in names])
        scale = 1.0 if k == 0 else 1.0 / values.max()
        axes[1].errorbar(np.arange(len(states)), values * scale, _errors(summary, names) * scale,
                         fmt="o-", capsize=3,
                         label=label if k == 0 else f"{label}, relative")  # fmt: skip
    axes[1].axhline(0, color="0.7", lw=0.8)
    axes[1].set_xticks(np.arange(len(states)), [s.replace("_", "\n") for s in states])
    shares = [f"{label} {summary[key]:.0%}" for key, label in
              (("direct_share", "direct path alone"), ("pulvinar_share", "pulvinar alone"))
              if key in summary]  # fmt: skip
    axes[1].set(title="\n".join([f"AMI intact {_with_ci(summary, 'ami_intact', '.3f')}",
                                  *([", ".join(shares)] if shares else [])]))  # fmt: skip
    axes[1].legend(frameon=False)
    _finish(fig, summary, "error bars: ")
    return fig


def ach_dose_figure(ds: xr.Dataset, summary: dict) -> Figure:
    """Attention modulation index and evoked rate of the recorded column against the ACh level
    (log axis), with the baseline and the muscarinic / nicotinic blocks at the model's level."""
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
    levels = np.asarray(summary["levels"])
    drugs = [("baseline", "k", "o"), ("muscarinic_block", "tab:red", "s"),
             ("nicotinic_block", "tab:blue", "^")]  # fmt: skip
    baseline_nm = float(ds.attrs.get("baseline_nM", np.exp(np.log(levels).mean())))
    for ax, key, label in ((axes[0], "ami", "attention modulation index"),
                           (axes[1], "evoked", "evoked rate (Hz)")):  # fmt: skip
        names = [f"{key}_ach_{x:g}nM" for x in levels]
        ax.errorbar(levels, [summary[n] for n in names], _errors(summary, names), fmt="o-",
                    color="tab:green", capsize=3, label="ACh level clamped")  # fmt: skip
        for offset, (drug, color, marker) in enumerate(drugs):
            name, at = f"{key}_{drug}", [baseline_nm * 1.08**offset]  # side by side
            ax.errorbar(at, [summary[name]], _errors(summary, [name]), fmt=marker, color=color,
                        capsize=3, label=drug.replace("_", " "))  # fmt: skip
        ax.set_xscale("log")
        ax.set(xlabel="ACh (nM)", ylabel=label)
    axes[0].axhline(0, color="0.7", lw=0.8)
    axes[0].set_title(
        f"slope {_with_ci(summary, 'ami_slope_ach', '.3f')} per decade\n"
        f"muscarinic block {_with_ci(summary, 'muscarinic_block_effect', '.3f')}"
    )
    axes[0].legend(frameon=False, fontsize=8)
    _finish(fig, summary, "error bars: ")
    return fig


def da_dose_figure(ds: xr.Dataset, summary: dict) -> Figure:
    """Working memory against a distractor across DA levels: the share of trials whose memory
    was kept, the delay tuning width, and the delay rates at the preferred and non-preferred
    directions (log level axis, the baseline level marked)."""
    fig, axes = plt.subplots(1, 3, figsize=(12, 3.6))
    levels = np.asarray(summary["levels"])
    panels = [
        (axes[0], [("robustness", "tab:green", "memory kept (share of trials)"),
                   ("resistance", "tab:olive", "resistance (graded)")], "0 … 1"),
        (axes[1], [("tuning_width", "tab:purple", "half-width")], "delay tuning width (deg)"),
        (axes[2], [("delay_rate_pref", "tab:red", "preferred"),
                   ("delay_rate_nonpref", "0.4", "non-preferred")], "delay rate (Hz)"),
    ]  # fmt: skip
    for ax, series, ylabel in panels:
        for key, color, label in series:
            names = [f"{key}_da_{x:g}nM" for x in levels]
            ax.errorbar(levels, [summary[n] for n in names], _errors(summary, names), fmt="o-",
                        color=color, capsize=3, label=label)  # fmt: skip
        ax.axvline(float(ds.attrs["baseline_nM"]), color="0.8", lw=0.8, zorder=0)
        ax.set_xscale("log")
        ax.set(xlabel="DA (nM)", ylabel=ylabel)
    axes[0].set_ylim(-0.05, 1.05)
    axes[0].set_title(f"peak robustness at {summary['robustness_peak_level']:g} nM")
    axes[0].legend(frameon=False, fontsize=8)
    axes[2].legend(frameon=False, fontsize=8)
    _finish(fig, summary, "error bars: ")
    return fig


def ne_dose_figure(ds: xr.Dataset, summary: dict) -> Figure:
    """Sensory gain, the strong item's share of the readout drive and PFC delay activity against
    the tonic NE level (log axis), with the phasic mode at the model's level."""
    fig, axes = plt.subplots(1, 3, figsize=(12, 3.6))
    levels = np.asarray(summary["levels"])
    baseline = float(ds.attrs["baseline_nM"])
    panels = [("gain", "sensory gain (Hz per unit contrast)"),
              ("competition", "strong item's share of readout drive"),
              ("pfc_delay_rate", "PFC delay rate, query cells (Hz)")]  # fmt: skip
    for ax, (key, ylabel) in zip(axes, panels, strict=True):
        names = [f"{key}_ne_{x:g}nM" for x in levels]
        if names[0] not in summary:  # not measured in this run (protocol.ne_dose.measures)
            ax.text(0.5, 0.5, "not measured", ha="center", va="center", transform=ax.transAxes)
            ax.set(ylabel=ylabel, xticks=[], yticks=[])
            continue
        ax.errorbar(levels, [summary[n] for n in names], _errors(summary, names), fmt="o-",
                    color="tab:blue", capsize=3, label="tonic level clamped")  # fmt: skip
        if f"{key}_phasic" in summary:
            ax.plot([baseline], [summary[f"{key}_phasic"]], "*", color="tab:orange", ms=11,
                    label="phasic mode (burst at each stimulus)")  # fmt: skip
        ax.set_xscale("log")
        ax.set(xlabel="NE (nM)", ylabel=ylabel)
    if "pfc_delay_peak_level" in summary:
        names = [f"pfc_delay_selectivity_ne_{x:g}nM" for x in levels]
        axes[2].errorbar(levels, [summary[n] for n in names], _errors(summary, names),
                         fmt="s--", color="tab:green", capsize=3,
                         label="query − opposite cells")  # fmt: skip
        axes[2].legend(frameon=False, fontsize=8)
        axes[2].set_title(f"peak at {summary['pfc_delay_peak_level']:g} nM")
    if "competition_slope" in summary:
        axes[1].axhline(0.5, color="0.7", lw=0.8)
        top = float(ds.attrs.get("working_max_nM", levels[-1]))
        axes[1].axvspan(levels.min(), top, color="0.93", zorder=0, label="working range")
        axes[1].legend(frameon=False, fontsize=8)
        axes[1].set_title(
            f"slope {summary['competition_slope']:.3f} per decade "
            f"(working range {summary['competition_slope_working']:.3f})"
        )
    if "gain_by_level" in summary:
        axes[0].legend(frameon=False, fontsize=8)
    _finish(fig, summary, "error bars: ")
    return fig


def salience_figure(ds: xr.Dataset, summary: dict) -> Figure:
    """How often and by how much an item paired with a tagged DA burst wins the readout's drive,
    and its PPC pool's advantage, against the burst size."""
    fig, axes = plt.subplots(1, 3, figsize=(12, 3.6))
    sizes = np.asarray(summary["sizes"])
    panels = [("win_rate", "paired item wins (share of trials)", 0.5),
              ("paired_share", "paired item's share of readout drive", 0.5),
              ("ppc_difference", "PPC pool rate, paired − unpaired (Hz)", 0.0)]  # fmt: skip
    for ax, (key, ylabel, chance) in zip(axes, panels, strict=True):
        names = [f"{key}_burst_{s:g}" for s in sizes]
        ax.errorbar(sizes, [summary[n] for n in names], _errors(summary, names), fmt="o-",
                    color="tab:orange", capsize=3)  # fmt: skip
        ax.axhline(chance, color="0.7", lw=0.8)
        ax.set(xlabel="DA burst (× neuromod.da.burst)", ylabel=ylabel)
    axes[1].set_title(f"slope {summary['paired_share_slope']:.3f} per burst")
    _finish(fig, summary, "error bars: ")
    return fig


def visual_search_figure(ds: xr.Dataset, summary: dict) -> Figure:
    """Target share of the feedforward charge by set size and cue strength; PPC and gates at
    target and distractors (set sizes > 1), with the summary's intervals."""
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    charge = ds["ff_charge"].mean("seed").values  # (trial, location)
    occupied = ds["item_contrast"].values > 0
    target = ds["target_location_index"].values
    rows = np.arange(target.size)
    share = charge[rows, target] / np.where(occupied, charge, 0).sum(axis=1)
    size = ds["set_size"].values
    strength = ds["strength_index"].values
    sizes = np.unique(size)
    for g, gain in enumerate(ds.attrs["cue_strengths"]):
        means = [share[(size == n) & (strength == g)].mean() for n in sizes]
        pooled = _with_ci(summary, f"target_share_strength_{g}")
        axes[0].plot(sizes, means, "o-", label=f"cue strength {gain:g}: {pooled}")
    axes[0].plot(sizes, 1 / sizes, "k--", label="no attention (1/N)")
    axes[0].set(xlabel="set size", ylabel="target share of feedforward charge",
                title=f"target share {_with_ci(summary, 'target_charge_share')}\n"
                f"{_with_ci(summary, 'target_share_ratio')} × uniform (set sizes > 1)")  # fmt: skip
    axes[0].legend(frameon=False, fontsize=8, title="share, set sizes > 1", title_fontsize=8)
    ppc = ["ppc_target_rate", "ppc_distractor_rate"]
    gate = ["gate_target", "gate_distractor"]
    # Bars left of each tick, gates right of it: their error bars do not overlap.
    axes[1].bar([-0.2, 0.8], [summary[k] for k in ppc], 0.4, yerr=_errors(summary, ppc),
                capsize=4, color="tab:purple", alpha=0.8)  # fmt: skip
    axes[1].set_xticks([0, 1], ["target", "distractor"])
    axes[1].set_ylabel("PPC pool rate (Hz)", color="tab:purple")
    twin = axes[1].twinx()
    twin.errorbar([0.2, 1.2], [summary[k] for k in gate], _errors(summary, gate), fmt="o-",
                  capsize=4, color="k")  # fmt: skip
    twin.set_ylabel("pulvinar gate")
    axes[1].set_title("priority map (bars) and pulvinar gate (line)\nset sizes > 1")
    _finish(fig, summary, "error bars: ")
    return fig


def masked_attention_figure(ds: xr.Dataset, summary: dict) -> Figure:
    """Mean template weight of item k in the readout at step t (the learned 'mask'), and the
    influence by lag with the summary's intervals."""
    fig, axes = plt.subplots(1, 2, figsize=(9.5, 4))
    weights = ds["item_weight"].mean(dim=("seed", "trial")).values  # (step, item)
    image = axes[0].imshow(weights, cmap="viridis", origin="upper")
    axes[0].set(xlabel="item k (shown at step k)", ylabel="readout step t",
                title=f"weight of item k at step t\n(causal violations: "
                f"{summary['causal_violations']})")  # fmt: skip
    fig.colorbar(image, ax=axes[0], shrink=0.8)
    axes[0].set_xticks(range(weights.shape[1]))
    axes[0].set_yticks(range(weights.shape[0]))
    prefix = "influence_lag_"
    lags = sorted(int(k[len(prefix) :]) for k in summary
                  if k.startswith(prefix) and k[len(prefix) :].isdigit())  # fmt: skip
    keys = [f"{prefix}{d}" for d in lags]
    axes[1].set_xticks(lags)
    axes[1].errorbar(lags, [summary[k] for k in keys], _errors(summary, keys), fmt="o-",
                     capsize=3, color="tab:red", label="items shown")  # fmt: skip
    future = _with_ci(summary, "influence_future", ".3f")
    axes[1].axhline(summary["influence_future"], color="0.5", ls="--",
                    label=f"items not yet shown: {future}")  # fmt: skip
    band = _interval(summary, "influence_future")
    if band is not None:
        axes[1].axhspan(*band, color="0.5", alpha=0.2, lw=0)
    axes[1].set(xlabel="steps since the item was shown", ylabel="influence (relative to lag 0)",
                title="decay of earlier items' influence")  # fmt: skip
    axes[1].legend(frameon=False, fontsize=8)
    _finish(fig, summary, "error bars and band: ")
    return fig


def self_attention_figure(ds: xr.Dataset, summary: dict) -> Figure:
    """Mean template weight of each item in each column's response, without and with lateral
    connections, and the others' share of a column's weights in both, with its interval."""
    conditions = list(ds["condition"].values)
    widths = [1.0] * len(conditions) + [0.6]
    fig, axes = plt.subplots(1, len(conditions) + 1, figsize=(12, 4),
                             gridspec_kw={"width_ratios": widths})  # fmt: skip
    for ax, condition in zip(axes[:-1], conditions, strict=True):
        weights = ds["item_weight"].sel(condition=condition).mean(dim=("seed", "trial")).values
        image = ax.imshow(weights, cmap="viridis", vmin=0)
        ax.set(xlabel="item (location)", ylabel="column",
               title=f"lateral {condition}: others' share\n"
               f"{_with_ci(summary, f'other_weight_{condition}')}")  # fmt: skip
        ax.set_xticks(range(weights.shape[1]))
        ax.set_yticks(range(weights.shape[0]))
        fig.colorbar(image, ax=ax, shrink=0.8)
    keys = [f"other_weight_{c}" for c in conditions]
    axes[-1].bar(range(len(keys)), [summary[k] for k in keys], yerr=_errors(summary, keys),
                 capsize=4, color=["0.6", "tab:blue"][: len(keys)])  # fmt: skip
    axes[-1].set_xticks(range(len(keys)), conditions)
    axes[-1].set(xlabel="lateral connections", ylabel="others' share of a column's weights",
                 title="mixing")  # fmt: skip
    _finish(fig, summary, "error bars: ")
    return fig


def two_streams_figure(ds: xr.Dataset, summary: dict) -> Figure:
    """A's share of the feedforward charge (A vs B) for every spatial × feature cue combination;
    each stream's effect on it and their interaction, with their intervals."""
    fig, axes = plt.subplots(1, 2, figsize=(9.5, 4))
    share = ds["share_a"].values
    spatial, feature = ds["spatial_index"].values, ds["feature_index"].values
    grid = np.array([[np.nanmean(share[:, (spatial == s) & (feature == f)]) for f in range(3)]
                     for s in range(3)])  # fmt: skip
    image = axes[0].imshow(grid, cmap="coolwarm", vmin=0, vmax=1)
    labels = ["none", "A", "B"]
    axes[0].set_xticks(range(3), labels)
    axes[0].set_yticks(range(3), labels)
    title = f"readout share of A\nno cue {_with_ci(summary, 'share_a_none')}"
    axes[0].set(xlabel="feature cue", ylabel="spatial cue", title=title)
    fig.colorbar(image, ax=axes[0], shrink=0.8)
    keys = ["spatial_effect", "feature_effect", "interaction"]
    axes[1].bar(range(3), [summary[k] for k in keys], yerr=_errors(summary, keys), capsize=4,
                color=["tab:purple", "tab:red", "0.5"])  # fmt: skip
    axes[1].set_xticks(range(3), ["spatial", "feature", "interaction"])
    axes[1].axhline(0, color="k", lw=0.8)
    axes[1].set(ylabel="change in share of A", title="two streams (heads)")
    _finish(fig, summary, "error bars: ")
    return fig
