"""Bootstrap confidence intervals of fitted model parameters.

Trials are resampled with replacement and the model refitted on each resample; the refits start
from the full-data fit (one start each instead of ``n_starts``), which is where a resample's
optimum lies nearby, so 200 resamples cost about as much as a few full fits.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from bioattn.errors import BioattnError
from bioattn.fit.base import MixtureModel
from bioattn.fit.data import TrialSet, check_counts

__all__ = ["bootstrap_ci", "clone"]


def clone(estimator: MixtureModel) -> MixtureModel:
    """An unfitted copy with the same hyper-parameters: ``type(e)(**e.get_params())``."""
    if not isinstance(estimator, MixtureModel):
        raise BioattnError(f"estimator must be a MixtureModel, got {type(estimator).__name__}")
    return type(estimator)(**estimator.get_params())


def bootstrap_ci(
    estimator: MixtureModel,
    X: TrialSet,
    y: ArrayLike,
    n_boot: int = 200,
    level: float = 0.95,
    random_state: int | None = 0,
    params: Sequence[str] = ("beta_",),
) -> dict[str, tuple[Any, Any]]:
    r"""Percentile bootstrap confidence intervals of fitted parameters.

    A clone of ``estimator`` is fitted to all trials; then ``n_boot`` times the trials are
    resampled with replacement and a clone is refitted, warm-started from the full fit. The
    interval of parameter θ is the [(1 − level)/2, (1 + level)/2] quantile range of its
    resampled values (element-wise for arrays such as ``M_``).

    Parameters
    ----------
    estimator : MixtureModel
        Not modified.
    X, y
        Trial set and spike counts (n_trials, n_out).
    n_boot : int
        Number of resamples.
    level : float
        Coverage of the intervals, in (0, 1).
    random_state : int or None
        Seed of the resampling.
    params : sequence of str
        Fitted attributes (ending in ``_``, e.g. ``"beta_"``, ``"gain_"``, ``"M_"``).

    Returns
    -------
    dict
        name → (low, high): floats, or arrays of the parameter's shape.
    """
    if not isinstance(estimator, MixtureModel):
        raise BioattnError(f"estimator must be a MixtureModel, got {type(estimator).__name__}")
    counts = check_counts(X, y)
    if isinstance(n_boot, bool) or not isinstance(n_boot, int | np.integer) or n_boot < 2:
        raise BioattnError(f"n_boot must be an int >= 2, got {n_boot!r}")
    level = float(level)
    if not 0 < level < 1:
        raise BioattnError(f"level must lie in (0, 1), got {level!r}")
    if isinstance(params, str):
        params = (params,)

    full = clone(estimator).fit(X, counts)
    available = sorted(f"{name}_" for name in full.params_)
    unknown = [name for name in params if name not in available]
    if unknown:
        raise BioattnError(
            f"params must name fitted parameters of {type(estimator).__name__}, "
            f"one of {available}, got {unknown}"
        )

    rng = np.random.default_rng(random_state)
    samples: dict[str, list[Any]] = {name: [] for name in params}
    for _ in range(int(n_boot)):
        resample = rng.integers(0, X.n_trials, X.n_trials)
        refit = clone(estimator).set_params(n_starts=1)
        refit.fit(X.subset(resample), counts[resample], init=full.params_)
        for name in params:
            samples[name].append(np.asarray(getattr(refit, name), dtype=float))

    tail = (1.0 - level) / 2.0
    intervals = {}
    for name, values in samples.items():
        low, high = np.quantile(np.stack(values), [tail, 1.0 - tail], axis=0)
        intervals[name] = (float(low), float(high)) if low.ndim == 0 else (low, high)
    return intervals
