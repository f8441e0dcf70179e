"""Experiment timelines: epochs of stimulus, cue and PFC erasure, as per-step input arrays.

A protocol is a sequence of trials; each trial a sequence of epochs (settle, cue, delay, stimulus,
erase ...).  The whole sequence runs as a single simulation whose inputs follow the schedule, so
a compiled ``cpp_standalone`` binary runs a full protocol in one go.  Each epoch sets

- the stimulus to sensory cortex: direction θ_s and contrast c (0 = no stimulus);
- the cue to PFC: direction θ_c, or none;
- the erase signal to PFC (a global inhibitory input that ends persistent activity at the end of
  a trial, standing in for the response-related input of Compte et al. 2000).

For the multi-item circuit an epoch also sets the scene — one (direction, contrast) item per
location, contrast 0 = empty — a spatial cue (the location whose PPC pool gets the FEF / PFC
location signal, or none) and the query gain (the strength of the PFC top-down signal, 0 … 1+).

The circuits turn :meth:`Schedule.arrays` into Brian2 ``TimedArray`` s whose values are
run-time values of a built network: a schedule of the same length and locations re-runs the
same compiled binary.  This module does not import Brian2.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np

from bioattn.errors import BioattnError


@dataclass(frozen=True)
class Epoch:
    label: str
    start: float  # s
    duration: float  # s
    stim_angle: float = 0.0  # rad
    contrast: float = 0.0
    cue_angle: float | None = None  # rad, None = no cue
    cue_strength: float = 1.0  # gain of the cue drive while there is one (a weaker distractor)
    erase: bool = False
    scene: tuple[tuple[float, float], ...] | None = None  # (rad, contrast) per location
    spatial_cue: int | None = None  # cued location, None = none
    query_gain: float = 1.0
    # Neuromodulators (bioattn.circuits.neuromodulators), by name ("ach", "ne", "da"):
    levels: tuple[tuple[str, float], ...] = ()  # tonic level clamped during the epoch, nM
    release: tuple[tuple[str, float], ...] = ()  # phasic release at the epoch's start, × burst
    blocks: tuple[tuple[str, float], ...] = ()  # receptor ("ach.muscarinic") → fraction blocked
    # phasic release tagged to one location's item at the epoch's start: (name, location, × burst)
    tagged_release: tuple[tuple[str, int, float], ...] = ()

    @property
    def stop(self) -> float:
        return self.start + self.duration


@dataclass
class Trial:
    """One trial: its condition labels and its epochs (absolute times in s)."""

    index: int
    condition: dict
    epochs: list[Epoch] = field(default_factory=list)

    def epoch(self, label: str) -> Epoch:
        for epoch in self.epochs:
            if epoch.label == label:
                return epoch
        raise KeyError(label)


class Schedule:
    """Trials laid end to end on one clock."""

    def __init__(self, resolution: float, n_locations: int = 1):
        if not resolution > 0:
            raise BioattnError(f"schedule resolution {resolution!r}: expected a positive time")
        self.resolution = float(resolution)
        self.n_locations = int(n_locations)
        self.trials: list[Trial] = []
        self.duration = 0.0
        self._arrays: dict[str, np.ndarray] | None = None

    def add_trial(self, condition: dict, epochs: list[tuple]) -> Trial:
        """Append a trial. ``epochs`` are ``(label, duration_s, {stim_angle, contrast, cue_angle,
        erase, scene, spatial_cue, query_gain, levels, release, blocks, tagged_release})``
        tuples; durations are rounded to the schedule resolution."""
        trial = Trial(len(self.trials), dict(condition))
        for label, duration, settings in epochs:
            steps = int(round(duration / self.resolution))
            if steps < 0 or not math.isfinite(duration):
                raise BioattnError(f"epoch {label!r} duration {duration!r} s: expected >= 0")
            if steps == 0:
                continue
            length = steps * self.resolution
            self._check_scene(label, settings)
            self._check_modulators(label, settings)
            trial.epochs.append(Epoch(label, self.duration, length, **settings))
            self.duration += length
        self.trials.append(trial)
        self._arrays = None
        return trial

    def _check_scene(self, label: str, settings: dict) -> None:
        for name, location, _ in settings.get("tagged_release", ()):
            if not 0 <= location < self.n_locations:
                raise BioattnError(
                    f"epoch {label!r}: release of {name!r} tagged to location {location}, "
                    f"expected 0 .. {self.n_locations - 1}"
                )
        scene, cue = settings.get("scene"), settings.get("spatial_cue")
        if scene is not None and len(scene) != self.n_locations:
            raise BioattnError(
                f"epoch {label!r}: scene of {len(scene)} items, expected {self.n_locations}"
            )
        if cue is not None and not 0 <= cue < self.n_locations:
            raise BioattnError(
                f"epoch {label!r}: spatial cue at location {cue}, "
                f"expected 0 .. {self.n_locations - 1}"
            )

    @staticmethod
    def _check_modulators(label: str, settings: dict) -> None:
        for key, what, top in (
            ("levels", "a level in nM", math.inf),
            ("release", "a relative burst size", math.inf),
            ("blocks", "a blocked fraction", 1.0),
        ):
            entries = settings.get(key, ())
            if key == "release":  # tagged releases are checked like global ones
                entries = (*entries, *((n, v) for n, _, v in settings.get("tagged_release", ())))
            for name, value in entries:
                ok = isinstance(value, int | float) and math.isfinite(value) and 0 <= value <= top
                if not ok:
                    bound = " and <= 1" if top == 1.0 else ""
                    raise BioattnError(
                        f"epoch {label!r}: {key} of {name!r} = {value!r}, expected {what} >= 0"
                        f"{bound}"
                    )

    @property
    def n_steps(self) -> int:
        return int(round(self.duration / self.resolution))

    def arrays(self) -> dict[str, np.ndarray]:
        """Per-step inputs: stim_gain, stim_angle, cue_gain, cue_angle, erase, query_gain (time,)
        and scene_gain, scene_angle, spatial_cue (time, location).  Computed once (read-only)."""
        if self._arrays is None:
            self._arrays = self._compute_arrays()
            for values in self._arrays.values():
                values.flags.writeable = False
        return self._arrays

    def _compute_arrays(self) -> dict[str, np.ndarray]:
        n, n_loc = self.n_steps, self.n_locations
        out = {
            name: np.zeros(n)
            for name in ("stim_gain", "stim_angle", "cue_gain", "cue_angle", "erase")
        }
        out["query_gain"] = np.ones(n)
        for name in ("scene_gain", "scene_angle", "spatial_cue"):
            out[name] = np.zeros((n, n_loc))
        for epoch, a, b in self._epoch_steps():
            out["stim_gain"][a:b] = epoch.contrast
            out["stim_angle"][a:b] = epoch.stim_angle
            out["cue_gain"][a:b] = 0.0 if epoch.cue_angle is None else epoch.cue_strength
            out["cue_angle"][a:b] = 0.0 if epoch.cue_angle is None else epoch.cue_angle
            out["erase"][a:b] = 1.0 if epoch.erase else 0.0
            out["query_gain"][a:b] = epoch.query_gain
            if epoch.scene is not None:
                out["scene_angle"][a:b] = [angle for angle, _ in epoch.scene]
                out["scene_gain"][a:b] = [contrast for _, contrast in epoch.scene]
            if epoch.spatial_cue is not None:
                out["spatial_cue"][a:b, epoch.spatial_cue] = 1.0
        return out

    def modulator_arrays(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """Per step, for the neuromodulator ``name``: the clamped tonic level in nM (NaN where
        the epoch does not clamp it) and the relative size of the phasic release that starts
        at that step (0 elsewhere): (time,) global, then one column per location for the
        releases tagged to that location's item — shape (time, 1 + n_locations)."""
        levels = np.full(self.n_steps, np.nan)
        release = np.zeros((self.n_steps, 1 + self.n_locations))
        for epoch, a, b in self._epoch_steps():
            for key, value in epoch.levels:
                if key == name:
                    levels[a:b] = value
            for key, value in epoch.release:
                if key == name:
                    release[a, 0] += value
            for key, location, value in epoch.tagged_release:
                if key == name:
                    release[a, 1 + location] += value
        return levels, release

    def neuromodulation_names(self) -> tuple[set[str], set[str]]:
        """The modulators (clamped or released) and the receptors (blocked) the epochs name."""
        modulators, receptors = set(), set()
        for epoch, _, _ in self._epoch_steps():
            modulators |= {name for name, _ in (*epoch.levels, *epoch.release)}
            modulators |= {name for name, _, _ in epoch.tagged_release}
            receptors |= {name for name, _ in epoch.blocks}
        return modulators, receptors

    def receptor_block(self, receptor: str) -> np.ndarray:
        """Per step, the fraction of ``receptor`` (``"ach.muscarinic"``) an epoch blocks (0
        where none does)."""
        out = np.zeros(self.n_steps)
        for epoch, a, b in self._epoch_steps():
            for key, value in epoch.blocks:
                if key == receptor:
                    out[a:b] = value
        return out

    def _epoch_steps(self) -> Iterator[tuple[Epoch, int, int]]:
        """Every epoch of every trial with its first and end step: (epoch, a, b)."""
        for trial in self.trials:
            for epoch in trial.epochs:
                a = int(round(epoch.start / self.resolution))
                yield epoch, a, a + int(round(epoch.duration / self.resolution))

    def windows(self, label: str, offset: float = 0.0, length: float | None = None) -> np.ndarray:
        """[start, stop) in s of the epoch ``label`` in every trial, from ``offset`` s after its
        start for ``length`` s (default: to its end)."""
        rows = []
        for trial in self.trials:
            epoch = trial.epoch(label)
            stop = epoch.stop if length is None else min(epoch.stop, epoch.start + offset + length)
            rows.append((epoch.start + offset, stop))
        return np.asarray(rows, dtype=float)
