"""A sweep directory as the levels of one manipulation, for ``bioattn fit SWEEP_DIR``.

``bioattn sweep visual-search --grid "neuromod.ne.level=3,10,30,100,300 nM" --grid seed=1..5``
runs one visual-search per NE level and seed.  Fitting it maps the swept circuit parameter to
the attention layer's parameters: one softmax (and one key-precision) fit per level and the
one-parameter test L4 (:func:`bioattn.fit.evaluate.verdict_ladder`).

- **The levels**: the value of the one swept parameter besides ``seed`` (in the grid's unit)
  of every point of the sweep's current definition (the ids in its ``summary.csv``); the
  points of one level (its seeds) are pooled.
- **The values v** (the readout's single-item profiles) come from the *reference* level only:
  the point(s) whose value equals the unswept model's (e.g. the baseline 10 nM), or
  ``--templates DIR``.  With templates measured at every level separately a change of the
  readout's gain would be absorbed into v and could never show up as a fitted gain.
- **The trials fitted**: the scenes with ≥ 2 items at every level (single items measure v).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import xarray as xr

from bioattn import config, units
from bioattn.errors import BioattnError
from bioattn.fit import circuit
from bioattn.results import CONFIG_FILE, load_result
from bioattn.sweep.grid import Axis, SweepSpec
from bioattn.sweep.merge import SUMMARY_CSV
from bioattn.sweep.store import PointStore

__all__ = [
    "SweepPoint",
    "SweepLevels",
    "is_sweep_dir",
    "read_sweep",
    "reference_level",
    "level_templates",
    "describe",
]


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


def _current_ids(store: PointStore, path: Path) -> list[str]:
    """The point ids of the sweep's current definition, from the ``summary.csv`` its merge
    wrote (``bioattn sweep --force`` keeps the points of earlier definitions beside them)."""
    table = path / SUMMARY_CSV
    if not table.is_file():
        raise BioattnError(
            f"sweep {path} has no {SUMMARY_CSV}: it is unfinished; re-run the same bioattn sweep "
            "command to finish it"
        )
    with table.open(newline="", encoding="utf-8") as handle:
        ids = [row.get("point_id") or "" for row in csv.DictReader(handle)]
    if not ids or not all(ids):
        raise BioattnError(f"{table} lists no point ids; expected the table bioattn sweep writes")
    return list(dict.fromkeys(ids))


def _point(store: PointStore, pid: str, parameter: str) -> SweepPoint:
    try:
        if not store.done(pid):
            raise BioattnError(f"point {pid} of sweep {store.out} is not finished; re-run it")
        record = store.point(pid)
        level, seed = float(record["coords"][parameter]), int(record["seed"])
    except (KeyError, TypeError, ValueError) as error:
        raise BioattnError(
            f"point {pid} of sweep {store.out} does not match its sweep.toml ({error!r}); "
            "expected a point of the current grid"
        ) from None
    directory = store.path(pid)
    dataset, _, _ = load_result(directory)
    return SweepPoint(level, seed, dataset, (directory / CONFIG_FILE).read_text(encoding="utf-8"))


def read_sweep(path: Path, needs_reference: bool = True) -> SweepLevels:
    """The points of the sweep in ``path`` (its current definition); the one swept parameter
    besides ``seed`` is the level.  ``needs_reference``: one level must set the parameter to
    the unswept model's value (:func:`reference_level`)."""
    path = Path(path)
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
    points = [_point(store, pid, axis.name) for pid in _current_ids(store, path)]
    points.sort(key=lambda p: (p.level, p.seed))
    pairs = [(p.level, p.seed) for p in points]
    if len(set(pairs)) != len(pairs):
        raise BioattnError(f"sweep {path} holds a level and seed twice; expected each once")
    if len({p.level for p in points}) < 2:
        raise BioattnError(
            f"sweep {path} has one level of {axis.name} only; a fit per level needs >= 2 levels"
        )
    reference = reference_level(spec, axis, points) if needs_reference else float("nan")
    return SweepLevels(axis.name, axis.unit or "1", tuple(points), reference)


def reference_level(spec: SweepSpec, axis: Axis, points: list[SweepPoint]) -> float:
    """The one level at which the swept parameter has the unswept model's value (compared in
    SI units with a relative tolerance of 10⁻⁹ and no absolute one: nS are 10⁻⁹ S)."""
    model = spec.model or str(points[0].dataset.attrs.get("model"))
    fixed = [f"{k}={v}" for k, v in spec.fixed.items()]
    base = config.load_model(model, fixed).value(axis.name)
    levels = sorted({p.level for p in points})
    si = {
        level: float(units.parse_quantity(axis.text(level), base, axis.name))
        if isinstance(base, units.Quantity) else float(level)
        for level in levels
    }  # fmt: skip
    matches = [level for level in levels if np.isclose(si[level], float(base), rtol=1e-9, atol=0)]
    if len(matches) != 1:
        raise BioattnError(
            f"{len(matches)} levels of {axis.name} in sweep {spec.protocol} equal the model's own "
            f"value ({float(base):g} SI); expected one, whose single-item trials give the readout "
            "templates: include it in the grid, or pass --templates DIR"
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


def describe(sweep: SweepLevels) -> dict:
    """What was fitted, for the summary: parameter, unit, reference, and per level its seeds
    and fitted (multi-item) trials."""
    per_level = {}
    for level in sweep.levels:
        own = [p for p in sweep.points if p.level == level]
        per_level[f"{level:g}"] = {
            "seeds": [p.seed for p in own],
            "multi_item_trials": int(
                sum(p.dataset.sizes["seed"] * (p.dataset["set_size"].values > 1).sum() for p in own)
            ),
        }
    return {
        "parameter": sweep.parameter,
        "unit": sweep.unit,
        "reference_level": None if np.isnan(sweep.reference) else sweep.reference,
        "levels": per_level,
    }
