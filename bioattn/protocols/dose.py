"""Machinery the dose–response protocols share (``ach-dose``, ``ne-dose``, ``da-dose``,
``salience``): checking a list of doses, arranging trials as samples of one repeat, and writing
per-dose metrics into the summary.

A dose protocol interleaves every dose (× its other conditions) in each repeat, so one
bootstrap sample is one repeat of one seed: every dose's trials stay together, as the paired
design intends.  Its ``analyse`` returns ``<metric>_level_<k>`` for dose k; the summary then
holds ``<metric>_by_<axis>`` (a list over the doses) and ``<metric>_<dose name>`` with its
interval ``<metric>_<dose name>_ci``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from bioattn.errors import BioattnError


def check_doses(name: str, values: Sequence[float], positive: bool = True) -> None:
    """At least two different doses, each > 0 (``positive``, e.g. for a log axis) or ≥ 0."""
    if len(set(values)) < 2:
        raise BioattnError(f"{name} = {list(values)}: expected >= 2 different values")
    low = min(values)
    if (positive and low <= 0) or low < 0:
        bound = "> 0" if positive else ">= 0"
        raise BioattnError(f"{name} = {list(values)}: expected every value {bound}")


def check_settle(section: str, settle: float, delay: float) -> None:
    """A delay-window start (``settle`` after cue offset) inside the delay."""
    if not float(settle) < float(delay):
        raise BioattnError(
            f"{section}.settle = {float(settle):g} s: expected less than t_delay "
            f"= {float(delay):g} s"
        )


def by_repeat(
    x: np.ndarray, labels: Mapping[str, np.ndarray], axes: Sequence[str], sizes: Sequence[int]
) -> np.ndarray:
    """Per-trial values (seed, trial, ...) as (seed·repeat, *axes, ...): trials sorted by their
    ``repeat`` label, then by the labels ``axes`` (each label an index 0 .. size − 1), so entry
    [s·R + k, i, j, ...] is seed s's trial of repeat k with ``axes[0]`` = i, ``axes[1]`` = j."""
    keys = tuple(np.asarray(labels[a]) for a in reversed(axes)) + (np.asarray(labels["repeat"]),)
    order = np.lexsort(keys)
    return x[:, order].reshape(-1, *sizes, *x.shape[2:])


def per_level_summary(
    point: Mapping[str, float],
    intervals: Mapping[str, object],
    metrics: Sequence[str],
    names: Sequence[str],
    axis: str = "level",
) -> dict:
    """``<metric>_by_<axis>`` and ``<metric>_<name>`` (with ``_ci`` where the intervals have one)
    for every metric, from ``analyse``'s ``<metric>_level_<k>`` (module docstring)."""
    out: dict = {}
    for metric in metrics:
        values = [point[f"{metric}_level_{k}"] for k in range(len(names))]
        out[f"{metric}_by_{axis}"] = values
        for k, name in enumerate(names):
            out[f"{metric}_{name}"] = values[k]
            ci = intervals.get(f"{metric}_level_{k}_ci")
            if ci is not None:
                out[f"{metric}_{name}_ci"] = ci
    for key in ("ci_method", "ci_n"):
        if key in intervals:
            out[key] = intervals[key]
    return out


def level_metrics(values: Mapping[str, np.ndarray]) -> dict[str, float]:
    """``<metric>_level_<k>`` from per-dose arrays (metric → values over the doses)."""
    return {
        f"{metric}_level_{k}": float(value)
        for metric, per_dose in values.items()
        for k, value in enumerate(per_dose)
    }


def peak(doses: Sequence[float], values: Sequence[float]) -> float:
    """The dose of the highest value (NaN if there is none, or nothing above zero)."""
    values = np.asarray(values, dtype=float)
    if not np.any(np.isfinite(values)) or np.nanmax(values) <= 0:
        return float("nan")
    return float(np.asarray(doses, dtype=float)[int(np.nanargmax(values))])
