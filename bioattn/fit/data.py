"""The trial design that the attention models read: what was shown on each trial.

A :class:`TrialSet` holds, for every trial t and item slot i, the readout's response template
to the item shown alone (the *value* v_ti, in Hz), the item's key features k_ti, its bottom-up
drive (contrast) c_ti and whether it was shown at all; plus the trial's query q_t and the
counting window. The spike counts ``y`` (n_trials, n_out) are kept apart, as in scikit-learn's
``fit(X, y)``; :func:`check_counts` validates them against a trial set.

Slots of absent items (``mask`` False) are ignored by every model, but their entries must still
be finite numbers (fill them with 0), so that no NaN can leak into a likelihood.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from bioattn.errors import BioattnError

__all__ = ["TrialSet", "check_counts"]


def _float_array(name: str, value: ArrayLike, ndim: int, meaning: str) -> np.ndarray:
    try:
        array = np.array(value, dtype=float)
    except (TypeError, ValueError) as error:
        raise BioattnError(
            f"{name} must be a numeric array {meaning}, got {value!r:.60}"
        ) from error
    if array.ndim != ndim:
        raise BioattnError(f"{name} must have shape {meaning}, got shape {array.shape}")
    if not np.all(np.isfinite(array)):
        raise BioattnError(
            f"{name} must contain only finite values (fill absent items with 0), got NaN or inf"
        )
    array.flags.writeable = False
    return array


def _check_shape(name: str, array: np.ndarray, expected: tuple[int, ...], meaning: str) -> None:
    if array.shape != expected:
        raise BioattnError(f"{name} must have shape {meaning} = {expected}, got {array.shape}")


@dataclass(frozen=True, eq=False)
class TrialSet:
    r"""Items shown on each trial, their features and the readout's templates.

    Attributes
    ----------
    values : np.ndarray
        v_ti, shape (n_trials, n_items, n_out), Hz, ≥ 0: the readout population's mean response
        to item i of trial t shown alone (measured from the circuit).
    keys : np.ndarray
        k_ti, shape (n_trials, n_items, d_k): key features of each item (e.g. [cos θ, sin θ] of
        its feature angle, a one-hot location, ...).
    query : np.ndarray
        q_t, shape (n_trials, d_q): query features (e.g. [cos θ_q, sin θ_q] of the attended
        feature, times the cue strength).
    drive : np.ndarray
        c_ti, shape (n_trials, n_items), ≥ 0: bottom-up drive (contrast) of each item.
    mask : np.ndarray
        Shape (n_trials, n_items), bool: item present. Every trial shows at least one item;
        absent items get weight 0 in every model.
    duration : float
        T, the counting window in seconds (> 0): the expected count is rate · T.
    """

    values: np.ndarray
    keys: np.ndarray
    query: np.ndarray
    drive: np.ndarray
    mask: np.ndarray
    duration: float

    def __post_init__(self) -> None:
        values = _float_array("values", self.values, 3, "(n_trials, n_items, n_out)")
        n_trials, n_items, n_out = values.shape
        if min(values.shape) < 1:
            raise BioattnError(
                f"values must have shape (n_trials, n_items, n_out) with every size >= 1, "
                f"got {values.shape}"
            )
        if np.any(values < 0):
            raise BioattnError(f"values must be >= 0 (rates in Hz), got minimum {values.min()!r}")

        keys = _float_array("keys", self.keys, 3, "(n_trials, n_items, d_k)")
        if keys.shape[:2] != (n_trials, n_items) or keys.shape[2] < 1:
            raise BioattnError(
                f"keys must have shape (n_trials, n_items, d_k) = ({n_trials}, {n_items}, "
                f"d_k >= 1) to match values, got {keys.shape}"
            )
        query = _float_array("query", self.query, 2, "(n_trials, d_q)")
        if query.shape[0] != n_trials or query.shape[1] < 1:
            raise BioattnError(
                f"query must have shape (n_trials, d_q) = ({n_trials}, d_q >= 1) to match values, "
                f"got {query.shape}"
            )
        drive = _float_array("drive", self.drive, 2, "(n_trials, n_items)")
        _check_shape("drive", drive, (n_trials, n_items), "(n_trials, n_items)")
        if np.any(drive < 0):
            raise BioattnError(f"drive must be >= 0 (contrasts), got minimum {drive.min()!r}")

        mask = np.array(self.mask)
        if mask.dtype != bool:
            if mask.size and not (
                np.issubdtype(mask.dtype, np.number) and np.all((mask == 0) | (mask == 1))
            ):
                raise BioattnError(f"mask must be boolean (item present), got dtype {mask.dtype}")
            mask = mask.astype(bool)
        _check_shape("mask", mask, (n_trials, n_items), "(n_trials, n_items)")
        empty = np.flatnonzero(~mask.any(axis=1))
        if empty.size:
            raise BioattnError(
                f"mask must show at least one item on every trial, got none on trial {empty[0]} "
                f"({empty.size} such trials)"
            )
        mask.flags.writeable = False

        try:
            duration = float(self.duration)
        except (TypeError, ValueError) as error:
            raise BioattnError(
                f"duration must be a number of seconds > 0, got {self.duration!r}"
            ) from error
        if not np.isfinite(duration) or duration <= 0:
            raise BioattnError(f"duration must be a finite number of seconds > 0, got {duration!r}")

        for name, array in (
            ("values", values),
            ("keys", keys),
            ("query", query),
            ("drive", drive),
            ("mask", mask),
            ("duration", duration),
        ):
            object.__setattr__(self, name, array)

    @property
    def n_trials(self) -> int:
        return self.values.shape[0]

    @property
    def n_items(self) -> int:
        return self.values.shape[1]

    @property
    def n_out(self) -> int:
        return self.values.shape[2]

    @property
    def d_k(self) -> int:
        return self.keys.shape[2]

    @property
    def d_q(self) -> int:
        return self.query.shape[1]

    @property
    def set_size(self) -> np.ndarray:
        """L_t, the number of items shown on each trial, shape (n_trials,)."""
        return self.mask.sum(axis=1)

    def subset(self, index: ArrayLike | slice) -> TrialSet:
        """The trials picked by ``index`` (integer indices, repeats allowed, a boolean mask or a
        slice), e.g. one cross-validation fold or a bootstrap resample."""
        if not isinstance(index, slice):
            index = np.asarray(index)
            if index.dtype == bool:
                if index.shape != (self.n_trials,):
                    raise BioattnError(
                        f"index as a boolean mask must have shape ({self.n_trials},), "
                        f"got {index.shape}"
                    )
            elif index.ndim != 1 or (index.size and not np.issubdtype(index.dtype, np.integer)):
                raise BioattnError(
                    f"index must be a 1-D array of trial indices, got shape {index.shape} "
                    f"and dtype {index.dtype}"
                )
            elif index.size and (index.min() < -self.n_trials or index.max() >= self.n_trials):
                raise BioattnError(
                    f"index must lie in [0, n_trials={self.n_trials}), got values in "
                    f"[{index.min()}, {index.max()}]"
                )
        picked = TrialSet.__new__(TrialSet)
        arrays = {}
        for name in ("values", "keys", "query", "drive", "mask"):
            array = getattr(self, name)[index]
            array.flags.writeable = False
            arrays[name] = array
        if arrays["values"].shape[0] == 0:
            raise BioattnError("index must select at least one trial, got none")
        # The parts were validated when this set was made; a subset needs no second check.
        for name, array in arrays.items():
            object.__setattr__(picked, name, array)
        object.__setattr__(picked, "duration", self.duration)
        return picked

    def __repr__(self) -> str:
        return (
            f"TrialSet(n_trials={self.n_trials}, n_items={self.n_items}, n_out={self.n_out}, "
            f"d_q={self.d_q}, d_k={self.d_k}, duration={self.duration} s)"
        )


def check_counts(X: TrialSet, y: ArrayLike, name: str = "y") -> np.ndarray:
    """Validate spike counts ``y`` against trial set ``X``; returns them as a float array.

    ``y`` must have shape (n_trials, n_out) and hold non-negative whole numbers (spike counts in
    the counting window; an integer array, or floats with integral values).
    """
    if not isinstance(X, TrialSet):
        raise BioattnError(f"X must be a TrialSet, got {type(X).__name__}")
    try:
        counts = np.array(y, dtype=float)
    except (TypeError, ValueError) as error:
        raise BioattnError(f"{name} must be an array of spike counts, got {y!r:.60}") from error
    expected = (X.n_trials, X.n_out)
    if counts.shape != expected:
        raise BioattnError(
            f"{name} must have shape (n_trials, n_out) = {expected} to match X, got {counts.shape}"
        )
    if not np.all(np.isfinite(counts)):
        raise BioattnError(f"{name} must contain only finite spike counts, got NaN or inf")
    if np.any(counts < 0):
        raise BioattnError(f"{name} must be spike counts >= 0, got minimum {counts.min()!r}")
    if np.any(counts != np.round(counts)):
        raise BioattnError(f"{name} must be whole spike counts, got non-integer values")
    return counts
