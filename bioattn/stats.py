"""Spike-train and population statistics for the attention experiments.

Pure numpy/scipy (no Brian2): every function takes plain arrays in SI base units (spike times
in seconds, rates in Hz, angles in radians), so it works equally on Brian2 monitors
(``mon.t_``, ``mon.i[:]``), on saved results and on synthetic data.

Contents
--------
Counting
    :func:`spike_counts`, :func:`population_rate`
Variability and covariability
    :func:`fano_factor`, :func:`noise_correlation_matrix`, :func:`noise_correlation`
Oscillations
    :func:`power_spectrum`, :func:`band_power`
Response functions
    :func:`naka_rushton`, :func:`fit_naka_rushton`, :func:`von_mises_tuning`,
    :func:`fit_tuning_curve`, :func:`modulation_index`
Ring-attractor working memory
    :func:`bump_amplitude`, :func:`bump_persistence`

Every bad input raises :class:`bioattn.errors.BioattnError` (a :class:`ValueError`) whose message
names the argument, the offending value and what was expected.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
from numpy.typing import ArrayLike
from scipy import integrate, optimize
from scipy import stats as scipy_stats
from scipy.signal import csd, welch

from bioattn.errors import BioattnError

__all__ = [
    "spike_counts",
    "fano_factor",
    "noise_correlation_matrix",
    "noise_correlation",
    "population_rate",
    "power_spectrum",
    "band_power",
    "spike_field_coherence",
    "naka_rushton",
    "fit_naka_rushton",
    "von_mises_tuning",
    "fit_tuning_curve",
    "modulation_index",
    "bump_amplitude",
    "bump_persistence",
]

# Half maximum of the von Mises bump above baseline: exp(kappa*(cos(d) - 1)) = 1/2.
_LN_HALF = np.log(0.5)


# --------------------------------------------------------------------------------------------
# input checks
# --------------------------------------------------------------------------------------------


def _as_1d_float(name: str, values: ArrayLike) -> np.ndarray:
    array = np.asarray(values, dtype=float)
    if array.ndim != 1:
        raise BioattnError(f"{name} must be 1-D, got shape {array.shape}")
    if not np.all(np.isfinite(array)):
        raise BioattnError(f"{name} must contain only finite values, got NaN or inf")
    return array


def _check_positive(name: str, value: float) -> float:
    value = float(value)
    if not np.isfinite(value) or value <= 0:
        raise BioattnError(f"{name} must be a finite number > 0, got {value!r}")
    return value


def _check_n_neurons(n_neurons: int) -> int:
    if isinstance(n_neurons, bool) or not isinstance(n_neurons, int | np.integer):
        raise BioattnError(f"n_neurons must be an int, got {n_neurons!r}")
    if n_neurons < 1:
        raise BioattnError(f"n_neurons must be >= 1, got {n_neurons}")
    return int(n_neurons)


def _check_same_length(name_a: str, a: np.ndarray, name_b: str, b: np.ndarray) -> None:
    if a.shape != b.shape:
        raise BioattnError(
            f"{name_a} and {name_b} must have the same shape, got {a.shape} and {b.shape}"
        )


def _r_squared(observed: np.ndarray, predicted: np.ndarray) -> float:
    """Coefficient of determination 1 - SS_res / SS_tot (NaN if the data are constant)."""
    ss_res = float(np.sum((observed - predicted) ** 2))
    ss_tot = float(np.sum((observed - observed.mean()) ** 2))
    return 1.0 - ss_res / ss_tot if ss_tot > 0 else float("nan")


# --------------------------------------------------------------------------------------------
# counting
# --------------------------------------------------------------------------------------------


def spike_counts(
    spike_times: np.ndarray,
    spike_indices: np.ndarray,
    n_neurons: int,
    windows: np.ndarray,
) -> np.ndarray:
    r"""Count each neuron's spikes in each of a set of time windows.

    .. math::

        N_{wk} = \#\{s : i_s = k,\; t^{\mathrm{start}}_w \le t_s < t^{\mathrm{stop}}_w\}

    Windows are half-open, so a spike exactly on a boundary shared by two adjacent windows is
    counted once, in the later window. Spikes outside every window are ignored. The spikes need
    not be sorted: each spike is located among the sorted window edges with one
    :func:`numpy.searchsorted` call and the counts are accumulated with one
    :func:`numpy.bincount`, so 2·10⁷ spikes take 1-2 s (less when they are time-sorted, as
    Brian2 records them).

    Parameters
    ----------
    spike_times : np.ndarray
        Spike times in seconds, shape (n_spikes,) (e.g. ``SpikeMonitor.t_``).
    spike_indices : np.ndarray
        Integer index of the neuron that fired each spike, shape (n_spikes,), each in
        ``[0, n_neurons)`` (e.g. ``SpikeMonitor.i[:]``).
    n_neurons : int
        Number of neurons in the population (columns of the result).
    windows : np.ndarray
        Counting windows ``[start, stop)`` in seconds, shape (n_windows, 2), with
        ``start < stop``, sorted and non-overlapping (they may have gaps between them).

    Returns
    -------
    np.ndarray
        Integer spike counts (dimensionless), shape (n_windows, n_neurons).

    Raises
    ------
    BioattnError
        (a ``ValueError``) if the shapes disagree, an index is out of range, a time is not
        finite, or the windows are empty, unsorted or overlapping.
    """
    times = _as_1d_float("spike_times", spike_times)
    indices = np.asarray(spike_indices)
    if indices.ndim != 1:
        raise BioattnError(f"spike_indices must be 1-D, got shape {indices.shape}")
    if indices.size and not np.issubdtype(indices.dtype, np.integer):
        raise BioattnError(f"spike_indices must be integers, got dtype {indices.dtype}")
    _check_same_length("spike_times", times, "spike_indices", indices)
    n_neurons = _check_n_neurons(n_neurons)
    if indices.size:
        lowest, highest = int(indices.min()), int(indices.max())
        if lowest < 0 or highest >= n_neurons:
            raise BioattnError(
                f"spike_indices must lie in [0, n_neurons={n_neurons}), "
                f"got values in [{lowest}, {highest}]"
            )

    win = np.asarray(windows, dtype=float)
    if win.ndim != 2 or win.shape[1] != 2 or win.shape[0] == 0:
        raise BioattnError(f"windows must have shape (n_windows, 2), got {win.shape}")
    if not np.all(np.isfinite(win)):
        raise BioattnError("windows must contain only finite times")
    if np.any(win[:, 0] >= win[:, 1]):
        bad = int(np.flatnonzero(win[:, 0] >= win[:, 1])[0])
        raise BioattnError(
            f"windows must have start < stop, got windows[{bad}] = {win[bad].tolist()}"
        )
    if np.any(win[1:, 0] < win[:-1, 1]):
        bad = int(np.flatnonzero(win[1:, 0] < win[:-1, 1])[0])
        raise BioattnError(
            "windows must be sorted and non-overlapping, got "
            f"windows[{bad}] = {win[bad].tolist()} and windows[{bad + 1}] = {win[bad + 1].tolist()}"
        )

    n_windows = win.shape[0]
    # With edges [s0, e0, s1, e1, ...] and side="right", the insertion point counts the edges
    # <= t: it is odd (2w + 1) exactly when s_w <= t < e_w. Spikes outside every window go to
    # one extra overflow bin, dropped after counting (cheaper than boolean indexing).
    position = np.searchsorted(win.ravel(), times, side="right")
    flat = (position >> 1) * n_neurons + indices.astype(np.int64, copy=False)
    flat[position % 2 == 0] = n_windows * n_neurons
    counts = np.bincount(flat, minlength=n_windows * n_neurons + 1)[:-1]
    return counts.reshape(n_windows, n_neurons)


def population_rate(
    spike_times: np.ndarray,
    n_neurons: int,
    t_start: float,
    t_stop: float,
    bin_width: float,
) -> tuple[np.ndarray, np.ndarray]:
    r"""Population-averaged firing rate in consecutive time bins.

    .. math::

        r(t_b) = \frac{\#\{s : t_b - \Delta/2 \le t_s < t_b + \Delta/2\}}{N\,\Delta}

    with :math:`N` neurons and bin width :math:`\Delta`. Bins are half-open and start at
    ``t_start``; there are ``floor((t_stop - t_start) / bin_width)`` of them (a trailing
    partial bin is dropped, and spikes after the last full bin are ignored).

    Parameters
    ----------
    spike_times : np.ndarray
        Spike times of the whole population in seconds, shape (n_spikes,), any order.
    n_neurons : int
        Number of neurons the spikes came from (including silent ones).
    t_start, t_stop : float
        Start and end of the analysed interval in seconds, ``t_start < t_stop``.
    bin_width : float
        Bin width :math:`\Delta` in seconds, at most ``t_stop - t_start``.

    Returns
    -------
    centres : np.ndarray
        Bin centres in seconds, shape (n_bins,).
    rate : np.ndarray
        Mean firing rate per neuron in Hz, shape (n_bins,).
    """
    times = _as_1d_float("spike_times", spike_times)
    n_neurons = _check_n_neurons(n_neurons)
    t_start, t_stop = float(t_start), float(t_stop)
    if not (np.isfinite(t_start) and np.isfinite(t_stop)) or t_stop <= t_start:
        raise BioattnError(
            f"t_start and t_stop must be finite with t_start < t_stop, got {t_start!r}, {t_stop!r}"
        )
    bin_width = _check_positive("bin_width", bin_width)
    # The small tolerance keeps e.g. (1.0 - 0.0) / 0.001 from losing its last bin to rounding.
    n_bins = int(np.floor((t_stop - t_start) / bin_width + 1e-9))
    if n_bins < 1:
        raise BioattnError(
            f"bin_width must be <= t_stop - t_start = {t_stop - t_start!r} s, got {bin_width!r}"
        )
    edges = t_start + bin_width * np.arange(n_bins + 1)
    # Bin by arithmetic, then correct the rare off-by-one from rounding (e.g. 0.3 / 0.1 =
    # 2.999...) against the edges themselves: same bins as searchsorted(edges, t, "right") - 1,
    # three times faster for many bins. Out-of-range spikes end up at -1 or n_bins.
    bin_of_spike = np.floor((times - t_start) / bin_width)
    np.clip(bin_of_spike, 0, n_bins - 1, out=bin_of_spike)
    bin_of_spike = bin_of_spike.astype(np.intp)
    bin_of_spike -= times < edges[bin_of_spike]
    bin_of_spike += times >= edges[bin_of_spike + 1]
    counts = np.bincount(bin_of_spike + 1, minlength=n_bins + 2)[1:-1]
    centres = edges[:-1] + 0.5 * bin_width
    return centres, counts / (n_neurons * bin_width)


# --------------------------------------------------------------------------------------------
# variability and covariability
# --------------------------------------------------------------------------------------------


def fano_factor(counts: np.ndarray, axis: int = 0) -> np.ndarray:
    r"""Fano factor of spike counts across trials.

    .. math::

        F = \frac{\operatorname{Var}[N]}{\operatorname{E}[N]}

    with the unbiased variance (``ddof=1``) and the mean taken over the trial ``axis``. A
    Poisson process has :math:`F = 1`; attention reduces it in macaque V4 (Mitchell, Sundberg &
    Reynolds 2007, *Neuron* 55:131). Entries whose mean count is 0 are NaN, so average the
    result with :func:`numpy.nanmean`.

    Parameters
    ----------
    counts : np.ndarray
        Spike counts (dimensionless), e.g. shape (n_trials, n_neurons) with ``axis=0``.
    axis : int
        The trial axis; it must hold at least 2 trials.

    Returns
    -------
    np.ndarray
        Fano factors (dimensionless), the shape of ``counts`` without ``axis``.
    """
    values = np.asarray(counts, dtype=float)
    if values.ndim == 0:
        raise BioattnError("counts must have at least one axis (trials), got a scalar")
    if not -values.ndim <= axis < values.ndim:
        raise BioattnError(f"axis must lie in [{-values.ndim}, {values.ndim}), got {axis}")
    if values.shape[axis] < 2:
        raise BioattnError(f"counts needs >= 2 trials along axis {axis}, got shape {values.shape}")
    mean = values.mean(axis=axis)
    variance = values.var(axis=axis, ddof=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(mean == 0, np.nan, variance / mean)


def noise_correlation_matrix(counts: np.ndarray, *, zscore: bool = True) -> np.ndarray:
    r"""Matrix of pairwise spike-count (noise) correlations.

    Trial-to-trial fluctuations are taken within each condition :math:`c`,

    .. math::

        \delta_{c t k} = \frac{N_{c t k} - \bar N_{c k}}{\sigma_{c k}}
        \quad(\text{or without } \sigma_{ck} \text{ if } \texttt{zscore=False}),

    pooled over conditions and trials, and correlated over neurons with Pearson's
    coefficient :math:`r_{kl} = \operatorname{corr}_{c,t}(\delta_{ctk}, \delta_{ctl})`
    (:func:`numpy.corrcoef`). Removing the condition means is what makes this a *noise*
    correlation rather than a signal correlation; z-scoring within condition additionally stops
    conditions with larger variance from dominating the pool (Cohen & Kohn 2011, *Nat Neurosci*
    14:811, "Measuring and interpreting neuronal correlations").

    Parameters
    ----------
    counts : np.ndarray
        Spike counts, shape (n_conditions, n_trials, n_neurons), ``n_trials >= 2``. For a
        single condition pass ``counts[np.newaxis]``.
    zscore : bool
        Divide each neuron's residuals by its standard deviation within each condition
        (default). A neuron that does not vary in a condition contributes zeros there.

    Returns
    -------
    np.ndarray
        Correlation coefficients (dimensionless, in [-1, 1]), shape (n_neurons, n_neurons), with
        ones on the diagonal. Rows and columns of neurons whose pooled residual variance is 0
        are NaN.
    """
    residuals = _condition_residuals(counts, zscore)
    n_neurons = residuals.shape[1]
    varies = residuals.var(axis=0) > 0
    matrix = np.full((n_neurons, n_neurons), np.nan)
    kept = np.flatnonzero(varies)
    if kept.size == 1:
        matrix[kept[0], kept[0]] = 1.0
    elif kept.size > 1:
        matrix[np.ix_(kept, kept)] = np.corrcoef(residuals[:, kept], rowvar=False)
    return matrix


def noise_correlation(counts: np.ndarray, *, zscore: bool = True) -> float:
    r"""Mean pairwise noise correlation of a population.

    .. math::

        \bar r_{\mathrm{sc}} = \frac{2}{K(K-1)} \sum_{k<l} r_{kl}

    over the :math:`K` neurons whose residual variance is positive, with :math:`r_{kl}` from
    :func:`noise_correlation_matrix` (condition means removed, residuals pooled over conditions;
    Cohen & Kohn 2011, *Nat Neurosci* 14:811). Attention lowers it in macaque V4 (Cohen &
    Maunsell 2009, *Nat Neurosci* 12:1594; Mitchell, Sundberg & Reynolds 2009, *Neuron* 63:879).

    Parameters
    ----------
    counts : np.ndarray
        Spike counts, shape (n_conditions, n_trials, n_neurons), ``n_trials >= 2``.
    zscore : bool
        Z-score the residuals within each condition before pooling (default).

    Returns
    -------
    float
        Mean off-diagonal correlation (dimensionless); NaN if fewer than two neurons vary.
    """
    matrix = noise_correlation_matrix(counts, zscore=zscore)
    kept = np.flatnonzero(np.isfinite(np.diag(matrix)))
    if kept.size < 2:
        return float("nan")
    sub = matrix[np.ix_(kept, kept)]
    upper = np.triu_indices(kept.size, k=1)
    return float(np.mean(sub[upper]))


def _condition_residuals(counts: np.ndarray, zscore: bool) -> np.ndarray:
    """Residuals about each condition's mean, pooled to shape (n_conditions*n_trials, n_neurons)."""
    values = np.asarray(counts, dtype=float)
    if values.ndim != 3:
        raise BioattnError(
            "counts must have shape (n_conditions, n_trials, n_neurons), "
            f"got shape {values.shape} (use counts[np.newaxis] for a single condition)"
        )
    if values.shape[1] < 2:
        raise BioattnError(f"counts needs >= 2 trials (axis 1), got shape {values.shape}")
    if not np.all(np.isfinite(values)):
        raise BioattnError("counts must contain only finite values, got NaN or inf")
    residuals = values - values.mean(axis=1, keepdims=True)
    if zscore:
        spread = values.std(axis=1, ddof=1, keepdims=True)
        with np.errstate(divide="ignore", invalid="ignore"):
            residuals = np.where(spread > 0, residuals / spread, 0.0)
    return residuals.reshape(-1, values.shape[2])


# --------------------------------------------------------------------------------------------
# oscillations
# --------------------------------------------------------------------------------------------


def power_spectrum(
    signal: np.ndarray, fs: float, nperseg: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    r"""Power spectral density by Welch's method.

    .. math::

        S(f) = \frac{1}{K} \sum_{k=1}^{K} \frac{|\sum_n w_n x^{(k)}_n e^{-2\pi i f n/f_s}|^2}
        {f_s \sum_n w_n^2}

    averaged over :math:`K` half-overlapping Hann-windowed segments :math:`x^{(k)}`, each with
    its mean removed (Welch 1967, *IEEE Trans Audio Electroacoust* 15:70), one-sided, computed
    by :func:`scipy.signal.welch` along the last axis.

    Parameters
    ----------
    signal : np.ndarray
        Signal sampled at ``fs``, shape (n_samples,) or (..., n_samples), e.g. a population rate
        in Hz or an LFP proxy; leading axes (trials) are kept.
    fs : float
        Sampling rate in Hz (``1 / bin_width`` for a binned rate).
    nperseg : int or None
        Samples per segment. The default, ``max(2 * n_samples // 9, min(n_samples, 16))``, gives
        8 half-overlapping segments (as in Elephant's ``welch_psd``); it sets the frequency
        resolution ``fs / nperseg``.

    Returns
    -------
    freqs : np.ndarray
        Frequencies in Hz, shape (nperseg // 2 + 1,).
    psd : np.ndarray
        Power spectral density in (signal unit)^2 / Hz, shape (..., nperseg // 2 + 1).
    """
    values = np.asarray(signal, dtype=float)
    if values.ndim == 0 or values.shape[-1] < 2:
        raise BioattnError(
            f"signal must have >= 2 samples along its last axis, got shape {values.shape}"
        )
    if not np.all(np.isfinite(values)):
        raise BioattnError("signal must contain only finite values, got NaN or inf")
    fs = _check_positive("fs", fs)
    nperseg = _segment_length(nperseg, values.shape[-1])
    freqs, psd = welch(values, fs=fs, nperseg=nperseg, detrend="constant", axis=-1)
    return freqs, psd


def _segment_length(nperseg: int | None, n_samples: int) -> int:
    """Welch segment length: ``nperseg`` checked, or 8 half-overlapping segments by default."""
    if nperseg is None:
        return max(2 * n_samples // 9, min(n_samples, 16))
    if isinstance(nperseg, bool) or not isinstance(nperseg, int | np.integer):
        raise BioattnError(f"nperseg must be an int or None, got {nperseg!r}")
    if not 2 <= nperseg <= n_samples:
        raise BioattnError(f"nperseg must lie in [2, n_samples={n_samples}], got {nperseg}")
    return int(nperseg)


def band_power(freqs: np.ndarray, psd: np.ndarray, low: float, high: float) -> np.ndarray:
    r"""Power in a frequency band, the integral of the spectral density over it.

    .. math::

        P_{[f_1, f_2]} = \int_{f_1}^{f_2} S(f)\, df

    by the trapezoidal rule (:func:`scipy.integrate.trapezoid`) over the frequencies of
    ``freqs`` inside ``[low, high]``, along the last axis of ``psd``. Typical bands: gamma
    30-80 Hz, alpha 8-12 Hz (Fries 2015, *Neuron* 88:220).

    Parameters
    ----------
    freqs : np.ndarray
        Frequencies in Hz, shape (n_freqs,), increasing (as returned by :func:`power_spectrum`).
    psd : np.ndarray
        Spectral density in (signal unit)^2 / Hz, shape (..., n_freqs).
    low, high : float
        Band limits in Hz, ``0 <= low < high``; the band must contain at least two of ``freqs``.

    Returns
    -------
    np.ndarray
        Band power in (signal unit)^2, shape ``psd.shape[:-1]`` (0-d for a 1-D ``psd``).
    """
    frequencies = _as_1d_float("freqs", freqs)
    density = np.asarray(psd, dtype=float)
    if density.ndim == 0 or density.shape[-1] != frequencies.size:
        raise BioattnError(
            f"psd must have shape (..., {frequencies.size}) to match freqs, got {density.shape}"
        )
    low, high = float(low), float(high)
    if not (np.isfinite(low) and np.isfinite(high)) or not 0 <= low < high:
        raise BioattnError(f"low and high must satisfy 0 <= low < high, got {low!r}, {high!r}")
    in_band = (frequencies >= low) & (frequencies <= high)
    if np.count_nonzero(in_band) < 2:
        raise BioattnError(
            f"band [{low}, {high}] Hz contains {np.count_nonzero(in_band)} of freqs; "
            "need >= 2 (use a wider band or a longer nperseg)"
        )
    return np.asarray(integrate.trapezoid(density[..., in_band], frequencies[in_band], axis=-1))


def spike_field_coherence(
    spikes: np.ndarray, lfp: np.ndarray, fs: float, nperseg: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    r"""Spike–field coherence over trials: the coherence of a binned spike train and the LFP
    recorded with it, spectra averaged over trials (and Welch segments) before the ratio.

    .. math::

        C(f) = \frac{|\langle S_{xy}(f) \rangle|^2}
        {\langle S_{xx}(f) \rangle \langle S_{yy}(f) \rangle}

    with :math:`S_{xy}` the cross-spectral density of spikes :math:`x` and LFP :math:`y`
    (:func:`scipy.signal.csd`, :func:`scipy.signal.welch`: Hann windows, half overlap, mean
    removed) and ⟨·⟩ the mean over trials, so that C measures the phase consistency of spikes
    to the field across trials (Fries et al. 2001, *Science* 291:1560, V4 gamma coherence rises
    with attention).  0 ≤ C ≤ 1.

    Parameters
    ----------
    spikes, lfp : np.ndarray
        Shape (n_trials, n_samples): spike counts per bin (e.g. of a group of cells) and the
        LFP at the same ``fs``.
    fs : float
        Sampling rate in Hz.
    nperseg : int or None
        Samples per Welch segment (default as in :func:`power_spectrum`).

    Returns
    -------
    freqs : np.ndarray
        Frequencies in Hz.
    coherence : np.ndarray
        C(f), NaN where either spectrum is zero (no spikes).
    """
    x, y = np.asarray(spikes, dtype=float), np.asarray(lfp, dtype=float)
    if x.ndim != 2 or x.shape != y.shape or x.shape[1] < 2:
        raise BioattnError(
            f"spikes and lfp must have the same shape (n_trials, n_samples >= 2), got {x.shape} "
            f"and {y.shape}"
        )
    if not (np.all(np.isfinite(x)) and np.all(np.isfinite(y))):
        raise BioattnError("spikes and lfp must contain only finite values, got NaN or inf")
    fs = _check_positive("fs", fs)
    kw = {"fs": fs, "nperseg": _segment_length(nperseg, x.shape[1]), "detrend": "constant",
          "axis": -1}  # fmt: skip
    freqs, sxy = csd(x, y, **kw)
    _, sxx = welch(x, **kw)
    _, syy = welch(y, **kw)
    cross, px, py = sxy.mean(axis=0), sxx.mean(axis=0), syy.mean(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        coherence = np.abs(cross) ** 2 / (px * py)
    coherence[(px <= 0) | (py <= 0)] = np.nan
    return freqs, coherence


# --------------------------------------------------------------------------------------------
# response functions
# --------------------------------------------------------------------------------------------


def _multistart_curve_fit(
    function, x: np.ndarray, y: np.ndarray, starts: list[list[float]], bounds: tuple, name: str
) -> np.ndarray:
    """Least-squares fit of ``function`` from each starting point; the lowest-SSE parameters."""
    best: tuple[float, np.ndarray] | None = None
    for p0 in starts:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", optimize.OptimizeWarning)
                params, _ = optimize.curve_fit(function, x, y, p0=p0, bounds=bounds, maxfev=20000)
        except RuntimeError:
            continue
        sse = float(np.sum((function(x, *params) - y) ** 2))
        if best is None or sse < best[0]:
            best = (sse, params)
    if best is None:
        raise RuntimeError(f"{name}: no starting value converged")
    return best[1]


def naka_rushton(c: ArrayLike, r_max: float, c50: float, n: float, baseline: float) -> np.ndarray:
    r"""Naka-Rushton (hyperbolic-ratio) contrast-response function.

    .. math::

        R(c) = R_0 + R_{\max} \frac{c^n}{c^n + c_{50}^n}

    (Naka & Rushton 1966, *J Physiol* 185:536; Albrecht & Hamilton 1982, *J Neurophysiol*
    48:217). Attention as contrast gain shifts :math:`c_{50}` left, as response gain scales
    :math:`R_{\max}` (Reynolds & Heeger 2009, *Neuron* 61:168).

    Parameters
    ----------
    c : array_like
        Stimulus contrast (dimensionless, 0..1).
    r_max : float
        Maximal response above baseline (Hz).
    c50 : float
        Semi-saturation contrast (dimensionless, > 0).
    n : float
        Exponent (dimensionless).
    baseline : float
        Response at zero contrast :math:`R_0` (Hz).

    Returns
    -------
    np.ndarray
        Response in Hz, the shape of ``c``.
    """
    contrast = np.asarray(c, dtype=float)
    powered = contrast**n
    return baseline + r_max * powered / (powered + c50**n)


def fit_naka_rushton(contrasts: np.ndarray, responses: np.ndarray) -> dict[str, float]:
    r"""Least-squares fit of the Naka-Rushton function to a contrast-response curve.

    Fits :math:`R(c) = R_0 + R_{\max} c^n / (c^n + c_{50}^n)` (see :func:`naka_rushton`;
    Albrecht & Hamilton 1982, *J Neurophysiol* 48:217) with :func:`scipy.optimize.curve_fit`
    under the bounds :math:`R_{\max} \ge 0`, :math:`10^{-6} \le c_{50} \le 10 \max c`,
    :math:`0.5 \le n \le 6`, :math:`R_0 \ge 0`. The fit is started from several values of
    :math:`c_{50}` spread geometrically over the tested contrasts (with :math:`R_0` and
    :math:`R_{\max}` read from the lowest and highest responses) and the start with the
    smallest residual sum of squares is kept.

    Parameters
    ----------
    contrasts : np.ndarray
        Contrasts (dimensionless, >= 0), shape (n_contrasts,), ``n_contrasts >= 4``, at least
        one > 0.
    responses : np.ndarray
        Mean responses in Hz, same shape as ``contrasts``.

    Returns
    -------
    dict
        ``r_max`` (Hz), ``c50`` (dimensionless), ``n`` (dimensionless), ``baseline`` (Hz) and
        ``r2`` (coefficient of determination; NaN if the responses are constant).

    Raises
    ------
    BioattnError
        (a ``ValueError``) for fewer than 4 contrasts, mismatched shapes, negative or
        non-finite values.
    RuntimeError
        If no start converges.
    """
    c = _as_1d_float("contrasts", contrasts)
    r = _as_1d_float("responses", responses)
    _check_same_length("contrasts", c, "responses", r)
    if c.size < 4:
        raise BioattnError(f"contrasts needs >= 4 values to fit 4 parameters, got {c.size}")
    if np.any(c < 0) or not np.any(c > 0):
        raise BioattnError(f"contrasts must be >= 0 with at least one > 0, got {c.tolist()}")

    positive = c[c > 0]
    c_lo, c_hi = float(positive.min()), float(positive.max())
    lower = [0.0, 1e-6, 0.5, 0.0]
    upper = [np.inf, 10.0 * c_hi, 6.0, np.inf]
    order = np.argsort(c)
    baseline0 = max(float(r[order[0]]), 0.0)
    r_max0 = max(float(r.max()) - baseline0, 1e-3)
    c50_starts = np.geomspace(max(c_lo, 1e-5), c_hi, 5)

    starts = [[r_max0, float(c50_0), 2.0, baseline0] for c50_0 in c50_starts]
    best = _multistart_curve_fit(naka_rushton, c, r, starts, (lower, upper), "fit_naka_rushton")
    r_max, c50, n, baseline = (float(p) for p in best)
    return {
        "r_max": r_max,
        "c50": c50,
        "n": n,
        "baseline": baseline,
        "r2": _r_squared(r, naka_rushton(c, r_max, c50, n, baseline)),
    }


def von_mises_tuning(
    theta: ArrayLike, amplitude: float, kappa: float, preferred: float, baseline: float
) -> np.ndarray:
    r"""Von Mises (circular Gaussian) orientation/direction tuning curve.

    .. math::

        R(\theta) = R_0 + A \exp\bigl(\kappa(\cos(\theta - \theta_{\mathrm{pref}}) - 1)\bigr)

    peaking at :math:`R_0 + A` at :math:`\theta_{\mathrm{pref}}` (Swindale 1998, *Biol Cybern*
    78:45). Multiplicative gain by attention scales :math:`A` without changing :math:`\kappa`
    (McAdams & Maunsell 1999, *J Neurosci* 19:431).

    Parameters
    ----------
    theta : array_like
        Stimulus direction in radians.
    amplitude : float
        Peak response above baseline :math:`A` (Hz).
    kappa : float
        Concentration (dimensionless); larger is narrower.
    preferred : float
        Preferred direction :math:`\theta_{\mathrm{pref}}` in radians.
    baseline : float
        Response far from the preferred direction :math:`R_0` (Hz).

    Returns
    -------
    np.ndarray
        Response in Hz, the shape of ``theta``.
    """
    angle = np.asarray(theta, dtype=float)
    return baseline + amplitude * np.exp(kappa * (np.cos(angle - preferred) - 1.0))


def fit_tuning_curve(theta: np.ndarray, rates: np.ndarray) -> dict[str, float]:
    r"""Least-squares fit of a von Mises tuning curve and its full width at half maximum.

    Fits :math:`R(\theta) = R_0 + A \exp(\kappa(\cos(\theta - \theta_p) - 1))` (see
    :func:`von_mises_tuning`; Swindale 1998, *Biol Cybern* 78:45) with
    :func:`scipy.optimize.curve_fit` under the bounds :math:`A \ge 0`,
    :math:`0 \le \kappa \le 100` and :math:`\theta_p` within :math:`\pm\pi` of the direction of
    the largest rate, where it starts. Starts at :math:`\kappa \in \{0.5, 2, 8\}` are tried and
    the best kept. The width of the fitted curve above baseline is

    .. math::

        \mathrm{FWHM} = 2 \arccos\Bigl(1 + \frac{\ln(1/2)}{\kappa}\Bigr)
        \quad\text{if } \kappa > -\ln(1/2)/2, \text{ else } 360^\circ .

    Parameters
    ----------
    theta : np.ndarray
        Stimulus directions in radians, shape (n_stimuli,), ``n_stimuli >= 4`` (repeats allowed,
        e.g. one entry per trial).
    rates : np.ndarray
        Responses in Hz, same shape as ``theta``.

    Returns
    -------
    dict
        ``amplitude`` (Hz), ``kappa`` (dimensionless), ``preferred`` (radians, in [0, 2π)),
        ``baseline`` (Hz), ``fwhm_deg`` (degrees) and ``r2`` (coefficient of determination).

    Raises
    ------
    BioattnError
        (a ``ValueError``) for fewer than 4 points, mismatched shapes or non-finite values.
    RuntimeError
        If no start converges.
    """
    angle = _as_1d_float("theta", theta)
    r = _as_1d_float("rates", rates)
    _check_same_length("theta", angle, "rates", r)
    if angle.size < 4:
        raise BioattnError(f"theta needs >= 4 values to fit 4 parameters, got {angle.size}")

    preferred0 = float(angle[np.argmax(r)])
    baseline0 = float(r.min())
    amplitude0 = max(float(r.max()) - baseline0, 1e-3)
    lower = [0.0, 0.0, preferred0 - np.pi, -np.inf]
    upper = [np.inf, 100.0, preferred0 + np.pi, np.inf]

    starts = [[amplitude0, kappa0, preferred0, baseline0] for kappa0 in (0.5, 2.0, 8.0)]
    best = _multistart_curve_fit(
        von_mises_tuning, angle, r, starts, (lower, upper), "fit_tuning_curve"
    )
    amplitude, kappa, preferred, baseline = (float(p) for p in best)
    if kappa > -_LN_HALF / 2:
        fwhm_deg = float(np.degrees(2.0 * np.arccos(1.0 + _LN_HALF / kappa)))
    else:
        fwhm_deg = 360.0
    return {
        "amplitude": amplitude,
        "kappa": kappa,
        "preferred": float(np.mod(preferred, 2 * np.pi)),
        "baseline": baseline,
        "fwhm_deg": fwhm_deg,
        "r2": _r_squared(r, von_mises_tuning(angle, amplitude, kappa, preferred, baseline)),
    }


def mean_interval(values: ArrayLike, confidence: float = 0.95) -> tuple[float, float, float, int]:
    """Mean of the finite ``values``, the two-sided Student-t interval of the mean and n.

    mean ± t_{(1+c)/2, n−1} · s / √n (s: sample standard deviation); the interval is (nan, nan)
    for n < 2 and everything nan for n = 0.
    """
    if not 0 < confidence < 1:
        raise ValueError(f"confidence {confidence!r}: expected a fraction in (0, 1)")
    x = np.asarray(values, dtype=float).ravel()
    x = x[np.isfinite(x)]
    n = int(x.size)
    if n == 0:
        return math.nan, math.nan, math.nan, 0
    mean = float(x.mean())
    if n == 1:
        return mean, math.nan, math.nan, 1
    half = float(scipy_stats.t.ppf((1 + confidence) / 2, n - 1) * x.std(ddof=1) / math.sqrt(n))
    return mean, mean - half, mean + half, n


def modulation_index(attended: ArrayLike, unattended: ArrayLike) -> np.ndarray:
    r"""Attentional modulation index.

    .. math::

        \mathrm{AMI} = \frac{A - U}{A + U}

    elementwise for responses :math:`A` (attended) and :math:`U` (unattended) in the same unit,
    e.g. Hz (Treue & Maunsell 1996, *Nature* 382:539). It lies in [-1, 1] for non-negative
    responses; a multiplicative gain :math:`g` gives :math:`(g-1)/(g+1)`. NaN where
    :math:`A + U = 0`.

    Parameters
    ----------
    attended, unattended : array_like
        Responses with the attended and the unattended condition; broadcastable shapes.

    Returns
    -------
    np.ndarray
        Modulation index (dimensionless), the broadcast shape.
    """
    a = np.asarray(attended, dtype=float)
    u = np.asarray(unattended, dtype=float)
    try:
        np.broadcast_shapes(a.shape, u.shape)
    except ValueError:
        raise BioattnError(
            f"attended and unattended must have broadcastable shapes, got {a.shape} and {u.shape}"
        ) from None
    total = a + u
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(total == 0, np.nan, (a - u) / total)


# --------------------------------------------------------------------------------------------
# ring-attractor working memory
# --------------------------------------------------------------------------------------------


def bump_amplitude(
    rates: np.ndarray, preferred_angles: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    r"""Amplitude and position of the activity bump on a ring network.

    With neuron :math:`j` of :math:`N` preferring angle :math:`\theta_j`, the population vector
    in each time bin is the first Fourier component of the ring activity,

    .. math::

        z = \frac{1}{N} \sum_{j=1}^{N} r_j\, e^{i\theta_j},
        \qquad \text{amplitude} = |z|, \qquad \text{centre} = \arg z \in [0, 2\pi),

    the bump measure used for ring-attractor spatial working memory (Compte, Brunel,
    Goldman-Rakic & Wang 2000, *Cereb Cortex* 10:910). For :math:`r_j = b + A\cos(\theta_j -
    \theta_0)` with evenly spaced :math:`\theta_j`, amplitude :math:`= A/2` and centre
    :math:`= \theta_0`; uniform activity gives 0. The angles should be evenly spaced around the
    circle, otherwise uniform activity already has a non-zero first component.

    Parameters
    ----------
    rates : np.ndarray
        Firing rates in Hz, shape (n_bins, n_neurons).
    preferred_angles : np.ndarray
        Preferred angle of each neuron in radians, shape (n_neurons,).

    Returns
    -------
    amplitude : np.ndarray
        Bump amplitude in Hz, shape (n_bins,).
    centre : np.ndarray
        Bump centre in radians in [0, 2π), shape (n_bins,) (0 where the amplitude is 0).
    """
    values = np.asarray(rates, dtype=float)
    angles = _as_1d_float("preferred_angles", preferred_angles)
    if values.ndim != 2:
        raise BioattnError(f"rates must have shape (n_bins, n_neurons), got {values.shape}")
    if values.shape[1] != angles.size:
        raise BioattnError(
            f"rates has {values.shape[1]} neurons (columns) but preferred_angles has "
            f"{angles.size} entries"
        )
    if angles.size == 0:
        raise BioattnError("preferred_angles must not be empty")
    if not np.all(np.isfinite(values)):
        raise BioattnError("rates must contain only finite values, got NaN or inf")
    z = values @ np.exp(1j * angles) / angles.size
    return np.abs(z), np.mod(np.angle(z), 2 * np.pi)


def bump_persistence(
    times: np.ndarray, amplitude: np.ndarray, t_cue_off: float, threshold: float
) -> float:
    r"""How long the bump outlives the cue.

    .. math::

        T = \min\{t_b \ge t_{\mathrm{off}} : a(t_b) < \theta\} - t_{\mathrm{off}}

    for a bump-amplitude trace :math:`a(t_b)` (e.g. from :func:`bump_amplitude`) and threshold
    :math:`\theta` (Compte et al. 2000, *Cereb Cortex* 10:910). The result has the resolution
    of ``times``. If the amplitude is already below threshold in the first bin at or after
    ``t_cue_off``, ``T = 0``. If it never drops below threshold, the function returns
    ``times[-1] - t_cue_off``: the memory lasted *at least* that long (a lower bound, censored
    by the end of the recording), which a caller comparing conditions must keep in mind.

    Parameters
    ----------
    times : np.ndarray
        Bin times in seconds, shape (n_bins,), strictly increasing.
    amplitude : np.ndarray
        Bump amplitude in Hz, shape (n_bins,).
    t_cue_off : float
        Time the cue is switched off in seconds, at most ``times[-1]``.
    threshold : float
        Amplitude in Hz below which the bump counts as lost.

    Returns
    -------
    float
        Persistence time in seconds (>= 0).
    """
    t = _as_1d_float("times", times)
    a = _as_1d_float("amplitude", amplitude)
    _check_same_length("times", t, "amplitude", a)
    if t.size == 0:
        raise BioattnError("times must not be empty")
    if np.any(np.diff(t) <= 0):
        raise BioattnError("times must be strictly increasing")
    t_cue_off, threshold = float(t_cue_off), float(threshold)
    if not np.isfinite(threshold):
        raise BioattnError(f"threshold must be finite, got {threshold!r}")
    if not np.isfinite(t_cue_off) or t_cue_off > t[-1]:
        raise BioattnError(
            f"t_cue_off must be finite and <= times[-1] = {t[-1]!r} s, got {t_cue_off!r}"
        )
    first_after = int(np.searchsorted(t, t_cue_off, side="left"))
    below = np.flatnonzero(a[first_after:] < threshold)
    if below.size == 0:
        return float(t[-1] - t_cue_off)
    if below[0] == 0:
        return 0.0
    return float(t[first_after + below[0]] - t_cue_off)
