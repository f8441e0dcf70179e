r"""From a multi-item circuit run to what the attention models read.

A run of a ``multi_item`` protocol (``results.nc``, :mod:`bioattn.protocols.scene`) stores per
trial the items (feature angle, contrast, location), the query (feature cue θ_q with its gain,
spatial cue), the spike counts of every readout cell and, per location, the feedforward charge
each column delivered to the readout. This module turns that into a
:class:`~bioattn.fit.data.TrialSet`, the counts and the ground-truth weights:

- **Readout cells** are summed in ``n_bins`` groups of neighbouring preferred features (a sum
  of Poisson counts is Poisson): y_to = Σ_{c ∈ bin o} y_tc.
- **Values** v_ti: the readout's response to item i shown alone, measured from the circuit's
  single-item trials (set size 1): the mean profile rotated so the item sits at 0°
  (:func:`bioattn.protocols.scene.aligned_template`), one per contrast, rotated back to the
  item's feature and summed over each bin's cells (Hz). Contrasts between measured ones are
  interpolated linearly, cell by cell; outside, the nearest measured contrast is used.
- **Query and keys**, one feature layout for both (so qᵀk is defined):
  ``feature_cos``, ``feature_sin`` = g·[cos θ, sin θ] (query: the cued feature times its gain g,
  or 0 without a feature cue; key: the item's feature) and ``location_b`` (query: 1 at the
  spatially cued location; key: 1 at the item's location). Dimensions that are 0 on every
  trial in the query or in every key carry no information and are dropped (their entries of M
  would be unidentifiable).
- **Ground truth** w*_ti = Q_ti / Σ_j present Q_tj: each present item's share of the
  feedforward charge Q_ti = ∫ g_i(t)(E_exc − V̄(t)) dt its column delivered to the readout.

Two further layouts fit the self- and masked-attention protocols with their own attention
form: :func:`self_attention_data` (each column's response as a mixture of all items, queried by
its own item) and :func:`masked_attention_data` (the readout at step s, keys = items 0…s, a
causal mask; or all items, the non-causal alternative).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import xarray as xr

from bioattn.errors import BioattnError
from bioattn.fit.data import TrialSet

__all__ = [
    "DEFAULT_BINS",
    "CircuitFitData",
    "Templates",
    "bin_cells",
    "concatenate",
    "readout_templates",
    "scene_data",
    "self_attention_data",
    "masked_attention_data",
]

#: Readout cells are summed into this many bins of neighbouring preferred features.
DEFAULT_BINS = 32


@dataclass(frozen=True)
class CircuitFitData:
    """Trials of a circuit run as the attention models read them.

    ``X`` and ``counts`` (n_trials, n_bins) go to the estimators; ``ground_truth``
    (n_trials, n_items, 0 for absent items) holds the charge shares, or None where the run has
    none; ``query_features`` and ``key_features`` name the query and key dimensions;
    ``labels`` per trial (e.g. ``query_gain``, ``contrast``, ``seed_index``, ``trial``).
    """

    X: TrialSet
    counts: np.ndarray
    ground_truth: np.ndarray | None
    query_features: tuple[str, ...]
    key_features: tuple[str, ...]
    labels: dict[str, np.ndarray] = field(default_factory=dict)

    def subset(self, index: np.ndarray) -> CircuitFitData:
        return CircuitFitData(
            self.X.subset(index),
            self.counts[index],
            None if self.ground_truth is None else self.ground_truth[index],
            self.query_features,
            self.key_features,
            {name: value[index] for name, value in self.labels.items()},
        )


def concatenate(parts: list[CircuitFitData], label: str, levels: list[float]) -> CircuitFitData:
    """Rows of several conditions in one data set, each labelled ``label`` = its level."""
    first = parts[0]
    for part in parts[1:]:
        if (part.query_features, part.key_features) != (first.query_features, first.key_features):
            raise BioattnError(
                f"conditions of {label!r} have different query/key features: "
                f"{first.query_features} vs {part.query_features}"
            )
        shape, first_shape = part.X.values.shape[1:], first.X.values.shape[1:]
        if shape != first_shape or part.X.duration != first.X.duration:
            raise BioattnError(
                f"conditions of {label!r} differ in items x bins {first_shape} vs {shape} or in "
                f"counting window {first.X.duration:g} vs {part.X.duration:g} s; expected one "
                "design"
            )

    def stack(name: str) -> np.ndarray:
        return np.concatenate([getattr(part.X, name) for part in parts])

    X = TrialSet(
        stack("values"), stack("keys"), stack("query"), stack("drive"), stack("mask"),
        first.X.duration,
    )  # fmt: skip
    truth = None
    if all(part.ground_truth is not None for part in parts):
        truth = np.concatenate([part.ground_truth for part in parts])
    labels = {
        name: np.concatenate([part.labels[name] for part in parts])
        for name in first.labels
        if all(name in part.labels for part in parts)
    }
    labels[label] = np.concatenate(
        [np.full(part.X.n_trials, float(level)) for part, level in zip(parts, levels, strict=True)]
    )
    return CircuitFitData(
        X,
        np.concatenate([part.counts for part in parts]),
        truth,
        first.query_features,
        first.key_features,
        labels,
    )


def bin_cells(counts: np.ndarray, n_bins: int) -> np.ndarray:
    """Sum the last axis (cells of a ring) in ``n_bins`` groups of neighbouring cells."""
    n_cells = counts.shape[-1]
    if n_bins < 1 or n_cells % n_bins:
        raise BioattnError(
            f"n_bins must divide the {n_cells} readout cells into equal groups, got {n_bins}"
        )
    return counts.reshape(*counts.shape[:-1], n_bins, n_cells // n_bins).sum(axis=-1)


@dataclass(frozen=True)
class Templates:
    """Single-item response profiles aligned to 0° (Hz per cell), one per contrast."""

    contrasts: np.ndarray  # (n_contrasts,), increasing
    profiles: np.ndarray  # (n_contrasts, n_cells)

    def values(self, angles: np.ndarray, contrasts: np.ndarray, n_bins: int) -> np.ndarray:
        """v for items at ``angles`` (rad; NaN = absent → 0) and ``contrasts``, shape
        (*angles.shape, n_bins), Hz summed over each bin's cells."""
        angles = np.asarray(angles, dtype=float)
        flat_angles, flat_contrasts = angles.ravel(), np.asarray(contrasts, dtype=float).ravel()
        n_cells = self.profiles.shape[1]
        out = np.zeros((flat_angles.size, n_cells))
        present = np.flatnonzero(np.isfinite(flat_angles))
        grid = self.contrasts
        for k in present:
            c = float(np.clip(flat_contrasts[k], grid[0], grid[-1]))
            upper = int(np.clip(np.searchsorted(grid, c), 1, max(grid.size - 1, 1)))
            if grid.size == 1:
                profile = self.profiles[0]
            else:
                lower = upper - 1
                share = (c - grid[lower]) / (grid[upper] - grid[lower])
                profile = (1 - share) * self.profiles[lower] + share * self.profiles[upper]
            shift = int(round(flat_angles[k] / (2 * np.pi) * n_cells)) % n_cells
            out[k] = np.roll(profile, shift)
        return bin_cells(out, n_bins).reshape(*angles.shape, n_bins)


def _aligned(profiles: np.ndarray, angles: np.ndarray) -> np.ndarray:
    n = profiles.shape[1]
    shifts = np.round(np.asarray(angles) / (2 * np.pi) * n).astype(int)
    return np.mean([np.roll(row, -s) for row, s in zip(profiles, shifts, strict=True)], axis=0)


def _variable(ds: xr.Dataset, name: str, suffix: str) -> xr.DataArray:
    full = f"{name}{suffix}"
    if full not in ds:
        raise BioattnError(
            f"results.nc lacks the variable {full!r}; expected a run of a multi-item protocol"
        )
    return ds[full]


def _window(array: xr.DataArray) -> float:
    window = array.attrs.get("window_s")
    if window is None or not np.isfinite(float(window)) or float(window) <= 0:
        raise BioattnError(f"{array.name} lacks a positive 'window_s' attribute (seconds)")
    return float(window)


def readout_templates(ds: xr.Dataset, suffix: str = "") -> Templates:
    """The readout's single-item profiles (module docstring) from a run's set-size-1 trials."""
    counts = _variable(ds, "readout_counts", suffix)
    window = _window(counts)
    single = np.flatnonzero(ds["set_size"].values == 1)
    if single.size == 0:
        raise BioattnError(
            f"run of {ds.attrs.get('protocol', '?')!r} has no single-item trials to measure the "
            "readout's item templates from; pass --templates with a visual-search run of the "
            "same model"
        )
    feature = np.radians(ds["item_feature"].values[single])
    contrast = ds["item_contrast"].values[single]
    located = np.nanargmax(np.isfinite(feature), axis=1)
    angle = feature[np.arange(single.size), located]
    level = contrast[np.arange(single.size), located]
    rates = counts.values[:, single] / window  # (seed, trial, cell)
    grid = np.unique(level)
    profiles = []
    for c in grid:
        pick = level == c
        rows = rates[:, pick].reshape(-1, rates.shape[-1])
        profiles.append(_aligned(rows, np.tile(angle[pick], rates.shape[0])))
    return Templates(grid, np.array(profiles))


def _informative(
    query: np.ndarray, keys: np.ndarray, query_names: list[str], key_names: list[str] | None
) -> tuple[np.ndarray, np.ndarray, tuple[str, ...], tuple[str, ...]]:
    """Drop dimensions that are 0 on every trial (module docstring). ``key_names=None``: query
    and keys share one layout, and a dimension is dropped from both when either side is 0."""
    q_keep = np.any(query != 0, axis=0)
    k_keep = np.any(keys != 0, axis=(0, 1))
    if key_names is None:
        q_keep = k_keep = q_keep & k_keep
        key_names = query_names
    if not q_keep.any() or not k_keep.any():
        raise BioattnError(
            "the run has no query the items' keys can match (no feature or spatial cue on any "
            "trial); expected a protocol with cues"
        )
    return (
        query[:, q_keep],
        keys[:, :, k_keep],
        tuple(str(name) for name in np.array(query_names)[q_keep]),
        tuple(str(name) for name in np.array(key_names)[k_keep]),
    )


def _flatten_seeds(array: np.ndarray, n_seeds: int) -> np.ndarray:
    """Design arrays (trial, ...) repeated for every seed, seed-major like (seed, trial)."""
    return np.concatenate([array] * n_seeds, axis=0)


def scene_data(
    ds: xr.Dataset,
    templates: Templates,
    suffix: str = "",
    n_bins: int = DEFAULT_BINS,
    trials: np.ndarray | None = None,
    query_gain: bool = True,
) -> CircuitFitData:
    """The readout's counts on each trial of a scene protocol, as a mixture of its items.

    ``suffix`` picks one condition's variables (``"_intact"``, ...); ``trials`` (indices into
    the trial dimension) restricts the rows; ``query_gain=False`` uses unit-length feature
    queries (the cue strength then is a level to fit, not an input).
    """
    counts_var = _variable(ds, "readout_counts", suffix)
    window = _window(counts_var)
    charge = _variable(ds, "ff_charge", suffix).values  # (seed, trial, location)
    n_seeds, n_trials = counts_var.shape[:2]
    trials = np.arange(n_trials) if trials is None else np.asarray(trials)

    feature = np.radians(ds["item_feature"].values[trials])  # (trial, location), NaN empty
    contrast = ds["item_contrast"].values[trials]
    present = np.isfinite(feature)
    n_loc = feature.shape[1]
    query_angle = np.radians(ds["query"].values[trials])
    gain = ds["query_gain"].values[trials] if query_gain else np.ones(trials.size)
    cue = ds["spatial_cue"].values[trials].astype(int)

    cued = np.isfinite(query_angle)
    angle0 = np.where(cued, query_angle, 0.0)
    query = np.column_stack(
        [
            np.where(cued, gain * np.cos(angle0), 0.0),
            np.where(cued, gain * np.sin(angle0), 0.0),
            (cue[:, None] == np.arange(n_loc)).astype(float),
        ]
    )
    safe = np.where(present, feature, 0.0)
    keys = np.concatenate(
        [
            np.where(present, np.cos(safe), 0.0)[..., None],
            np.where(present, np.sin(safe), 0.0)[..., None],
            np.where(present[..., None], np.eye(n_loc)[None], 0.0),
        ],
        axis=2,
    )
    names = ["feature_cos", "feature_sin", *(f"location_{b}" for b in range(n_loc))]
    query, keys, q_names, k_names = _informative(query, keys, names, None)
    values = templates.values(feature, contrast, n_bins)

    rows = (slice(None), trials)
    y = bin_cells(counts_var.values[rows], n_bins).reshape(n_seeds * trials.size, n_bins)
    q = charge[rows] * present[None]
    total = q.sum(axis=2, keepdims=True)
    shares = np.divide(q, total, out=np.zeros_like(q), where=total > 0)

    X = TrialSet(
        values=_flatten_seeds(values, n_seeds),
        keys=_flatten_seeds(keys, n_seeds),
        query=_flatten_seeds(query, n_seeds),
        drive=_flatten_seeds(np.where(present, contrast, 0.0), n_seeds),
        mask=_flatten_seeds(present, n_seeds),
        duration=window,
    )
    labels = {
        "seed_index": np.repeat(np.arange(n_seeds), trials.size),
        "trial": _flatten_seeds(trials, n_seeds),
        "query_gain": _flatten_seeds(ds["query_gain"].values[trials], n_seeds),
        "contrast": _flatten_seeds(np.nanmax(np.where(present, contrast, np.nan), axis=1), n_seeds),
        "set_size": _flatten_seeds(present.sum(axis=1), n_seeds),
    }
    for name in ds.data_vars:
        if name.endswith("_index") and ds[name].dims == ("trial",):
            labels[name] = _flatten_seeds(ds[name].values[trials], n_seeds)
    return CircuitFitData(X, y, shares.reshape(-1, n_loc), q_names, k_names, labels)


def self_attention_data(
    ds: xr.Dataset, condition: str, n_bins: int = DEFAULT_BINS
) -> CircuitFitData:
    r"""Each column's counts as a mixture of every item of the scene, queried by its own item.

    Row (seed, trial, column j): y = column j's counts (binned); values v_ti = the columns'
    single-item template (``column_template``) at item i's feature; query
    q = [cos θ_j, sin θ_j, 1], keys k_i = [cos θ_i, sin θ_i, 1(i = j)] — self-attention, with
    queries and keys from the same items, and the last dimension a learnable bonus for the
    column's own item.
    """
    counts_var = _variable(ds, "column_counts", f"_{condition}")
    window = _window(counts_var)
    counts = counts_var.values  # (seed, trial, location, cell)
    n_seeds, n_trials, n_loc, n_cells = counts.shape
    template = ds["column_template"].values
    feature = np.radians(ds["item_feature"].values)  # (trial, location)
    present = np.isfinite(feature)
    templates = Templates(np.array([1.0]), template[None])
    values = templates.values(feature, np.ones_like(feature), n_bins)  # (trial, item, bin)
    safe = np.where(present, feature, 0.0)

    rows_values, rows_keys, rows_query, rows_mask, rows_y, own = [], [], [], [], [], []
    for s in range(n_seeds):
        for t in range(n_trials):
            for j in np.flatnonzero(present[t]):
                rows_values.append(values[t])
                key = np.column_stack(
                    [np.cos(safe[t]), np.sin(safe[t]), (np.arange(n_loc) == j).astype(float)]
                )
                rows_keys.append(key * present[t][:, None])
                rows_query.append([np.cos(safe[t, j]), np.sin(safe[t, j]), 1.0])
                rows_mask.append(present[t])
                rows_y.append(bin_cells(counts[s, t, j], n_bins))
                own.append((s, t, j))
    own = np.array(own)
    X = TrialSet(
        values=np.array(rows_values),
        keys=np.array(rows_keys),
        query=np.array(rows_query),
        drive=np.array(rows_mask, dtype=float),
        mask=np.array(rows_mask),
        duration=window,
    )
    labels = {"seed_index": own[:, 0], "trial": own[:, 1], "column": own[:, 2]}
    return CircuitFitData(
        X,
        np.array(rows_y),
        None,
        ("feature_cos", "feature_sin", "constant"),
        ("feature_cos", "feature_sin", "own_item"),
        labels,
    )


def masked_attention_data(
    ds: xr.Dataset, window: float, causal: bool = True, n_bins: int = DEFAULT_BINS
) -> CircuitFitData:
    r"""The readout at each step of a sequence as a mixture of the sequence's items.

    Row (seed, trial, step s): y = readout counts in step s's window (``readout_profile`` ×
    ``window``, binned); item slots = sequence positions p; values = the readout's template
    (``readout_template``) at item p's feature; query q = [cos θ_s, sin θ_s, 1]; keys
    k_p = [cos θ_p, sin θ_p, one-hot of the lag s − p] (a learnable bias per lag, the
    positional part). ``causal``: only p ≤ s may be attended (a transformer decoder's mask);
    otherwise all positions, later ones included.
    """
    profile = ds["readout_profile"].values  # (seed, trial, step, cell), Hz
    counts = np.round(profile * window)
    if np.max(np.abs(counts - profile * window)) > 1e-6:
        raise BioattnError(
            f"readout_profile × window {window} s is not a whole number of spikes; expected the "
            "step window of the run's masked_attention section"
        )
    n_seeds, n_trials, n_steps, n_cells = counts.shape
    feature = np.radians(ds["item_feature"].values)  # (trial, step)
    templates = Templates(np.array([1.0]), ds["readout_template"].values[None])
    values = templates.values(feature, np.ones_like(feature), n_bins)
    lags = np.arange(-(n_steps - 1), n_steps)

    rows = []
    for s_ in range(n_seeds):
        for t in range(n_trials):
            for step in range(n_steps):
                positions = np.arange(n_steps)
                present = positions <= step if causal else np.ones(n_steps, bool)
                lag = (step - positions)[:, None] == lags[None]
                key = np.column_stack([np.cos(feature[t]), np.sin(feature[t]), lag])
                query = [np.cos(feature[t, step]), np.sin(feature[t, step]), 1.0]
                rows.append((s_, t, step, key * present[:, None], query, present))
    key_names = ["feature_cos", "feature_sin", *(f"lag_{lag}" for lag in lags)]
    keys = np.array([r[3] for r in rows])
    query = np.array([r[4] for r in rows])
    query, keys, q_names, k_names = _informative(
        query, keys, ["feature_cos", "feature_sin", "constant"], key_names
    )
    index = np.array([r[:3] for r in rows])
    mask = np.array([r[5] for r in rows])
    X = TrialSet(
        values=values[index[:, 1]],
        keys=keys,
        query=query,
        drive=mask.astype(float),
        mask=mask,
        duration=window,
    )
    y = bin_cells(counts[index[:, 0], index[:, 1], index[:, 2]], n_bins)
    labels = {"seed_index": index[:, 0], "trial": index[:, 1], "step": index[:, 2]}
    return CircuitFitData(X, y, None, q_names, k_names, labels)
