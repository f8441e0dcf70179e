"""A sweep directory as the levels of one manipulation, for ``bioattn fit SWEEP_DIR``.

``bioattn sweep visual-search --grid "neuromod.ne.level=3,10,30,100,300 nM" --grid seed=1..5``
runs one visual-search per NE level and seed.  Fitting it maps the swept circuit parameter to
the attention layer's parameters: one softmax (and one key-precision) fit per level and the
one-parameter test L4 (:func:`bioattn.fit.evaluate.verdict_ladder`).

- **The levels**: every finished point's value of the one swept parameter besides ``seed``
  (in the grid's unit); the points of one level (its seeds) are pooled.
- **The values v** (the readout's single-item profiles) come from the *reference* level only:
  the point(s) whose value equals the unswept model's (e.g. the baseline 10 nM), or
  ``--templates DIR``.  With templates measured at every level separately a change of the
  readout's gain would be absorbed into v and could never show up as a fitted gain.
- **The trials fitted**: the scenes with ≥ 2 items at every level (single items measure v).
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import xarray as xr

from bioattn import config
from bioattn.errors import BioattnError
from bioattn.fit import circuit
from bioattn.results import CONFIG_FILE, load_result
from bioattn.sweep.store import PointStore

__all__ = ["SweepPoint", "SweepLevels", "is_sweep_dir", "read_sweep", "level_templates"]


@dataclass(frozen=True)
class SweepPoint:
    """One finished point: its level (grid unit), seed, dataset and resolved config text."""

    level: float
    seed: int
    dataset: xr.Dataset
    config_toml: str


@dataclass(frozen=True)
class SweepLevels:
    """The finished points of a one-parameter sweep, sorted by level then seed."""

    parameter: str  # e.g. "neuromod.ne.level"
    unit: str  # the grid's unit, "1" when none
    points: tuple[SweepPoint, ...]
    reference: float  # the level whose points give the templates (NaN: --templates)

    @property
    def levels(self) -> list[float]:
        return sorted({p.level for p in self.points})

    @property
    def protocol(self) -> str:
        return str(self.points[0].dataset.attrs["protocol"])

    @property
    def model(self) -> str:
        return str(self.points[0].dataset.attrs.get("model", ""))


def is_sweep_dir(path: Path) -> bool:
    """Whether ``path`` holds a sweep (``sweep.toml`` beside ``points/``)."""
    store = PointStore(path)
    return store.definition_path.is_file() and store.points_dir.is_dir()


def _model_value(config_toml: str, parameter: str, origin: str) -> float:
    try:
        model = config.parse_model(tomllib.loads(config_toml), origin)
    except tomllib.TOMLDecodeError as error:
        raise BioattnError(f"{origin} is malformed ({error}); expected a bioattn config") from error
    return float(model.value(parameter))


def read_sweep(path: Path, needs_reference: bool = True) -> SweepLevels:
    """The finished points of the sweep in ``path``; the one swept parameter besides ``seed``
    is the level.  ``needs_reference``: the unswept model's value must be one of the levels."""
    store = PointStore(path)
    spec = store.read_definition()
    if spec is None:
        name = store.definition_path.name
        raise BioattnError(f"{path} has no {name}; expected a sweep directory")
    swept = [axis for axis in spec.axes if not axis.is_seed]
    if len(swept) != 1:
        names = [axis.name for axis in swept] or "nothing"
        raise BioattnError(
            f"sweep {path} varies {names} besides seed; a fit per level needs exactly one swept "
            "parameter (e.g. --grid 'neuromod.ne.level=3,10,30 nM' --grid seed=1..5)"
        )
    axis = swept[0]
    points = []
    for directory in sorted(p for p in store.points_dir.iterdir() if not p.name.startswith(".")):
        if not store.done(directory.name):
            continue
        record = store.point(directory.name)
        dataset, _, _ = load_result(directory)
        config_toml = (directory / CONFIG_FILE).read_text(encoding="utf-8")
        level = float(record["coords"][axis.name])
        points.append(SweepPoint(level, int(record["seed"]), dataset, config_toml))
    if not points:
        raise BioattnError(f"sweep {path} has no finished point; run the sweep first")
    points.sort(key=lambda p: (p.level, p.seed))
    protocols = {str(p.dataset.attrs.get("protocol")) for p in points}
    if len(protocols) != 1:
        raise BioattnError(f"sweep {path} mixes protocols {sorted(protocols)}; expected one")
    if len({p.level for p in points}) < 2:
        raise BioattnError(
            f"sweep {path} has finished points at one level of {axis.name} only; a fit per level "
            "needs >= 2 levels"
        )
    reference = float("nan")
    if needs_reference:
        reference = _reference_level(path, spec, axis.name, points)
    return SweepLevels(axis.name, axis.unit or "1", tuple(points), reference)


def _reference_level(path: Path, spec, parameter: str, points: list[SweepPoint]) -> float:
    """The level at which the swept parameter has the unswept model's value."""
    model = spec.model or str(points[0].dataset.attrs.get("model"))
    base = float(config.load_model(model, [f"{k}={v}" for k, v in spec.fixed.items()]).value(
        parameter
    ))  # fmt: skip
    by_level = {}
    for point in points:
        origin = f"{path}/points/…/{CONFIG_FILE}"
        by_level.setdefault(point.level, _model_value(point.config_toml, parameter, origin))
    matches = [level for level, value in by_level.items() if np.isclose(value, base, rtol=1e-9)]
    if not matches:
        raise BioattnError(
            f"no level of sweep {path} sets {parameter} to the model's own value ({base:g} SI); "
            "expected it among the levels (its single-item trials give the readout templates), "
            "or pass --templates DIR"
        )
    return matches[0]


def level_templates(sweep: SweepLevels) -> circuit.Templates:
    """The readout templates of the reference level: the single-item profiles of each of its
    points (seeds), averaged."""
    own = [p for p in sweep.points if p.level == sweep.reference]
    measured = [circuit.readout_templates(p.dataset) for p in own]
    grid = measured[0].contrasts
    if any(not np.array_equal(t.contrasts, grid) for t in measured):
        raise BioattnError(
            f"the reference level {sweep.reference:g} {sweep.unit} of {sweep.parameter} has "
            "points with different single-item contrasts; expected one design"
        )
    return circuit.Templates(grid, np.mean([t.profiles for t in measured], axis=0))
