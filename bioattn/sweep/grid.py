"""Parameter grids of a sweep: axes written as text, their Cartesian product, sweep files.

An axis is written ``NAME=VALUES`` (``--grid`` on the command line, or ``"NAME" = "VALUES"`` in
the ``[grid]`` table of a sweep file)::

    pfc.g_nmda_ee=0.5:0.8:4 nS     4 evenly spaced values, 0.5 to 0.8 inclusive, in nS
    scene.n_locations=2..4         the integers 2, 3, 4
    stimulus.kappa=1.5,2,2.5       listed numbers (one value: a one-element axis)
    seed=1..8                      the random seeds 1 .. 8 (also seed=3,5)

Values are kept as numbers in the written unit; :attr:`Axis.texts` gives each as the text of a
``--set`` override (``"0.5 nS"``, ``"3"``).  :func:`expand` turns the axes into grid points (last
axis fastest); :func:`validate` checks every value against a model before anything runs.

Nothing here imports Brian2 (:mod:`bioattn.config`, which validation uses, does not either).
"""

from __future__ import annotations

import itertools
import json
import math
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from bioattn import config
from bioattn.errors import BioattnError

if TYPE_CHECKING:
    from bioattn.config import Model

SEED_AXIS = "seed"
#: Brian2 seeds numpy's generator, which accepts seeds in [0, 2**32).
MAX_SEED = 2**32 - 1
DEFAULT_SEED = 1
DEFAULT_TARGET = "cpp_standalone"
#: Values of a START:STOP:N range are rounded to this many significant digits.
SIGNIFICANT_DIGITS = 12

_FLOAT = re.compile(r"^[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?$")
_INT = re.compile(r"^[-+]?\d+$")
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)+$")
_SYNTAX = "NAME=START:STOP:N [UNIT], NAME=A..B or NAME=V1,V2,... [UNIT]"
_EXAMPLE = "e.g. pfc.g_nmda_ee=0.5:0.8:4 nS or seed=1..8"

Number = float | int


# --------------------------------------------------------------------------------------------
# Axes
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Axis:
    """One dimension of a sweep: a parameter (``pfc.g_nmda_ee``) or ``seed``, and its values.

    ``values`` are numbers in ``unit`` (``None``: dimensionless, or seeds).  ``spec`` and
    ``origin`` only serve error messages (``--grid 'pfc.g_nmda_ee=0.5:0.8:4 nS'``) and take no
    part in comparisons.
    """

    name: str
    values: tuple[Number, ...]
    unit: str | None = None
    spec: str = field(default="", compare=False)
    origin: str = field(default="--grid", compare=False)

    @property
    def is_seed(self) -> bool:
        return self.name == SEED_AXIS

    @property
    def label(self) -> str:
        """How error messages name the axis: ``--grid 'pfc.g_nmda_ee=0.5:0.8:4 nS'``."""
        spec = self.spec or f"{self.name}={self.values_text()}"
        return f"{self.origin} {spec!r}"

    def text(self, value: Number) -> str:
        """``value`` as override text: ``"0.5 nS"``; without a unit the number as TOML writes it
        (``"3"`` for an integer, ``"2.5"`` for a float)."""
        number = _number_text(value)
        return f"{number} {self.unit}" if self.unit else number

    @property
    def texts(self) -> tuple[str, ...]:
        """Every value as override text, in axis order."""
        return tuple(self.text(v) for v in self.values)

    def values_text(self) -> str:
        """The values in ``--grid`` syntax after the ``=`` (exact: ``0.5,0.6,0.7,0.8 nS``;
        consecutive unitless integers as ``A..B``)."""
        values = self.values
        if (
            len(values) > 1
            and self.unit is None
            and all(isinstance(v, int) for v in values)
            and list(values) == list(range(values[0], values[-1] + 1))
        ):
            return f"{values[0]}..{values[-1]}"
        text = ",".join(_number_text(v) for v in values)
        return f"{text} {self.unit}" if self.unit else text


def _number_text(value: Number) -> str:
    if isinstance(value, bool):
        raise TypeError(f"axis value {value!r} is a bool; expected a number")
    if isinstance(value, int | np.integer):
        return str(int(value))
    return repr(float(value))


def parse_axis(spec: str, *, origin: str = "--grid") -> Axis:
    """Parse ``NAME=VALUES`` (see the module docstring) into an :class:`Axis`.

    ``origin`` names where the spec came from in error messages (``--grid``, or a sweep file's
    ``[grid]`` table).
    """
    label = f"{origin} {spec!r}"
    if not isinstance(spec, str) or "=" not in spec:
        raise BioattnError(f"{label}: expected {_SYNTAX} ({_EXAMPLE})")
    name, body = (part.strip() for part in spec.split("=", 1))
    if not name:
        raise BioattnError(f"{label}: empty parameter name; expected {_SYNTAX} ({_EXAMPLE})")
    if name != SEED_AXIS and not _NAME.match(name):
        raise BioattnError(
            f"{label}: {name!r} is not a parameter name; expected section.key "
            "(e.g. pfc.g_nmda_ee) or seed"
        )
    # Spaces around the separators are allowed: "0.5, 0.6 nS", "1 .. 8".
    body = re.sub(r"\s*(\.\.|:|,)\s*", r"\1", body)
    numbers, _, unit_text = body.partition(" ")
    unit = unit_text.strip() or None
    if not numbers:
        raise BioattnError(f"{label}: no values; expected {_SYNTAX} ({_EXAMPLE})")

    if ".." in numbers:
        values: tuple[Number, ...] = _parse_int_range(numbers, unit, label)
    elif ":" in numbers:
        values = _parse_linspace(numbers, label)
    else:
        values = _parse_list(numbers, label)

    if name == SEED_AXIS:
        _check_seeds(numbers, values, unit, label)
    duplicates = sorted({v for v in values if values.count(v) > 1})
    if duplicates:
        raise BioattnError(
            f"{label}: value {_number_text(duplicates[0])} appears more than once; "
            "expected distinct values"
        )
    return Axis(name=name, values=values, unit=unit, spec=spec.strip(), origin=origin)


def _parse_number(text: str, label: str, syntax: str) -> Number:
    if _INT.match(text):
        return int(text)
    if _FLOAT.match(text):
        return float(text)
    raise BioattnError(f"{label}: {text!r} is not a number; expected {syntax}")


def _parse_int_range(numbers: str, unit: str | None, label: str) -> tuple[int, ...]:
    syntax = "A..B with whole numbers A <= B"
    parts = numbers.split("..")
    if len(parts) != 2 or not all(parts):
        raise BioattnError(f"{label}: expected {syntax}, e.g. seed=1..8")
    for part in parts:
        if not _INT.match(part):
            raise BioattnError(f"{label}: {part!r} is not a whole number; expected {syntax}")
    if unit is not None:
        raise BioattnError(
            f"{label}: A..B is a range of whole numbers and takes no unit; expected "
            f"START:STOP:N {unit} or V1,V2,... {unit}"
        )
    start, stop = int(parts[0]), int(parts[1])
    if stop < start:
        raise BioattnError(f"{label}: empty range {start}..{stop}; expected {syntax}")
    return tuple(range(start, stop + 1))


def _parse_linspace(numbers: str, label: str) -> tuple[Number, ...]:
    syntax = "START:STOP:N [UNIT] with N >= 1"
    parts = numbers.split(":")
    if len(parts) != 3 or not all(parts):
        raise BioattnError(f"{label}: expected {syntax}, e.g. pfc.g_nmda_ee=0.5:0.8:4 nS")
    start, stop = (_parse_number(p, label, syntax) for p in parts[:2])
    if not _INT.match(parts[2]):
        raise BioattnError(
            f"{label}: number of values {parts[2]!r} is not a whole number; expected {syntax}"
        )
    count = int(parts[2])
    if count < 1:
        raise BioattnError(f"{label}: empty range ({count} values); expected {syntax}")
    raw = np.linspace(float(start), float(stop), count)
    rounded = [float(f"{v:.{SIGNIFICANT_DIGITS}g}") for v in raw]
    # Whole-number ends and whole values stay integers (2:6:3 -> 2, 4, 6), for int parameters.
    if isinstance(start, int) and isinstance(stop, int) and all(v.is_integer() for v in rounded):
        return tuple(int(v) for v in rounded)
    return tuple(rounded)


def _parse_list(numbers: str, label: str) -> tuple[Number, ...]:
    syntax = "V1,V2,... [UNIT] with numbers"
    items = numbers.split(",")
    if not all(items):
        raise BioattnError(f"{label}: empty value in the list; expected {syntax}")
    values = [_parse_number(item, label, syntax) for item in items]
    if all(isinstance(v, int) for v in values):
        return tuple(values)
    return tuple(float(v) for v in values)


def _check_seeds(numbers: str, values: tuple[Number, ...], unit: str | None, label: str) -> None:
    expected = f"whole numbers in 0..{MAX_SEED}, written seed=A..B or seed=V1,V2,..."
    if unit is not None:
        raise BioattnError(f"{label}: seeds take no unit; expected {expected}")
    if ":" in numbers:
        raise BioattnError(f"{label}: seeds cannot be a START:STOP:N range; expected {expected}")
    if ".." not in numbers:
        for item in numbers.split(","):
            if not _INT.match(item):
                raise BioattnError(
                    f"{label}: seed {item} is not a whole number; expected {expected}"
                )
    for value in values:  # whole numbers by now
        if not 0 <= value <= MAX_SEED:
            raise BioattnError(f"{label}: seed {value} is out of range; expected {expected}")


def parse_grid(specs: Sequence[str], *, origin: str = "--grid") -> list[Axis]:
    """Parse every ``--grid`` spec; the same axis given twice is refused."""
    axes: list[Axis] = []
    for spec in specs:
        axis = parse_axis(spec, origin=origin)
        for other in axes:
            if other.name == axis.name:
                raise BioattnError(
                    f"{axis.label}: axis {axis.name!r} is given twice (also {other.label}); "
                    "expected each parameter on one axis"
                )
        axes.append(axis)
    return axes


# --------------------------------------------------------------------------------------------
# Grid points
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class GridPoint:
    """One point of the grid.

    ``index``: its position along each axis; ``coords``: axis name -> value (``seed`` included
    when it is an axis); ``overrides``: parameter -> override text (``seed`` excluded);
    ``seed``: the point's random seed.
    """

    index: tuple[int, ...]
    coords: dict[str, Number]
    overrides: dict[str, str]
    seed: int

    def override_args(self) -> list[str]:
        """The overrides as ``--set`` arguments: ``["pfc.g_nmda_ee=0.5 nS", ...]``."""
        return [f"{name}={text}" for name, text in self.overrides.items()]


def expand(axes: Sequence[Axis], default_seed: int = DEFAULT_SEED) -> list[GridPoint]:
    """The Cartesian product of the axes, in axis order with the last axis fastest.

    Without a ``seed`` axis every point gets ``default_seed``.  No axes give one point.
    """
    points = []
    for index in itertools.product(*(range(len(axis.values)) for axis in axes)):
        coords: dict[str, Number] = {}
        overrides: dict[str, str] = {}
        seed = default_seed
        for axis, i in zip(axes, index, strict=True):
            value = axis.values[i]
            coords[axis.name] = value
            if axis.is_seed:
                seed = int(value)
            else:
                overrides[axis.name] = axis.text(value)
        points.append(GridPoint(index=tuple(index), coords=coords, overrides=overrides, seed=seed))
    return points


def grid_shape(axes: Sequence[Axis]) -> tuple[int, ...]:
    return tuple(len(axis.values) for axis in axes)


def validate(
    axes: Sequence[Axis],
    model: Model,
    *,
    allow_structural: bool = False,
    fixed: Mapping[str, str] = {},  # noqa: B006 (read only)
) -> None:
    """Check every value of every parameter axis against ``model`` before anything runs.

    Each value must be accepted by ``model.replace({name: text})`` (its error comes back prefixed
    with the axis' spec); a parameter that changes the network's structure is refused unless
    ``allow_structural``; a parameter both swept and fixed (``--set``) is refused.
    """

    fixed_names = {name.strip() for name in fixed}
    for axis in axes:
        if axis.is_seed:
            continue
        if axis.name in fixed_names:
            raise BioattnError(
                f"{axis.label}: {axis.name} is also fixed by --set (set twice); expected a "
                "parameter either swept or fixed"
            )
        for text in axis.texts:
            try:
                model.replace({axis.name: text})
            except BioattnError as exc:
                raise BioattnError(f"{axis.label}: {exc}") from None
        if not allow_structural and config.is_structural(model, axis.name):
            raise BioattnError(
                f"{axis.label}: {axis.name} changes the network's structure (one build per "
                "value); pass --allow-rebuild to sweep it"
            )


# --------------------------------------------------------------------------------------------
# Sweep files
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SweepSpec:
    """Everything that defines a sweep: what runs, on which model, over which grid.

    ``model``: a name in ``models/``, a path, or ``None`` (the protocol's default model);
    ``fixed``: ``--set`` overrides applied to every point (parameter -> text); ``n_trials``:
    ``None`` for the model's default; ``seed``: the seed of every point when no axis is
    ``seed``.  ``allow_structural`` permits sweeping structural parameters (``--allow-rebuild``).
    """

    protocol: str
    model: str | None = None
    axes: tuple[Axis, ...] = ()
    fixed: dict[str, str] = field(default_factory=dict)
    n_trials: int | None = None
    scale: float = 1.0
    target: str = DEFAULT_TARGET
    allow_structural: bool = False
    seed: int = DEFAULT_SEED

    def __post_init__(self) -> None:
        # Canonical containers, so that specs built from lists compare equal to loaded ones.
        object.__setattr__(self, "axes", tuple(self.axes))
        object.__setattr__(self, "fixed", {str(k).strip(): str(v) for k, v in self.fixed.items()})
        object.__setattr__(self, "scale", float(self.scale))

    def points(self) -> list[GridPoint]:
        """The grid points (:func:`expand`), ``seed`` giving the seed without a seed axis."""
        return expand(self.axes, default_seed=self.seed)


def parse_fixed(overrides: Sequence[str]) -> dict[str, str]:
    """``--set`` arguments (``["stimulus.kappa=2.0"]``) as ``{"stimulus.kappa": "2.0"}``
    (parameter -> text, in order; a parameter given twice keeps the last text)."""
    fixed: dict[str, str] = {}
    for item in overrides:
        name, sep, text = item.partition("=")
        if not sep or not name.strip():
            raise BioattnError(
                f"--set {item!r}: expected section.key=value, e.g. pfc.g_nmda_ee='0.3 nS'"
            )
        fixed.pop(name.strip(), None)
        fixed[name.strip()] = text.strip()
    return fixed


_FILE_KEYS = ("protocol", "model", "trials", "scale", "target", "allow_rebuild", "seed", "grid",
              "set")  # fmt: skip


def load_sweep_file(path: str | os.PathLike) -> SweepSpec:
    """Read a TOML sweep file::

    protocol = "feature-attention"
    model = "ardid2007"          # optional (a name, or a path relative to this file)
    trials = 2                   # optional
    scale = 1.0                  # optional
    target = "cpp_standalone"    # optional
    allow_rebuild = false        # optional
    seed = 1                     # optional: the seed when no grid axis is seed
    [grid]
    "pfc.g_nmda_ee" = "0.5:0.8:4 nS"   # same syntax as --grid after the '='
    seed = "1..8"
    [set]
    "stimulus.kappa" = "2.0"     # same as --set; TOML numbers also accepted
    """
    path = Path(path)
    if not path.is_file():
        raise BioattnError(f"sweep file {path} not found; expected a TOML sweep file")
    return parse_sweep_data(config.read_toml(path, "sweep file"), path)


def parse_sweep_data(
    data: Mapping[str, Any], path: Path, *, require_grid: bool = True
) -> SweepSpec:
    """Validate the parsed TOML of a sweep file at ``path`` (see :func:`load_sweep_file`)."""
    where = f"sweep file {path}"
    unknown = [key for key in data if key not in _FILE_KEYS]
    if unknown:
        raise BioattnError(f"{where}: unknown key {unknown[0]!r}; expected {', '.join(_FILE_KEYS)}")
    if "protocol" not in data:
        raise BioattnError(
            f'{where}: missing protocol; expected e.g. protocol = "feature-attention"'
        )
    protocol = _typed(data, "protocol", str, "a protocol name", where)
    if not protocol.strip():
        raise BioattnError(f"{where}: protocol = {protocol!r}; expected a protocol name")

    model = data.get("model")
    if model is not None:
        model = _typed(data, "model", str, "a model name or path", where)
        model = _resolve_model(model, path.parent)

    trials = data.get("trials")
    if trials is not None:
        trials = _typed(data, "trials", int, "a whole number of trials >= 1", where)
        if trials < 1:
            raise BioattnError(f"{where}: trials = {trials}; expected a whole number >= 1")

    scale = data.get("scale", 1.0)
    if isinstance(scale, bool) or not isinstance(scale, int | float):
        raise BioattnError(f"{where}: scale = {scale!r}; expected a number > 0")
    if not (math.isfinite(scale) and scale > 0):
        raise BioattnError(f"{where}: scale = {scale!r}; expected a finite number > 0")

    target = DEFAULT_TARGET
    if "target" in data:
        target = _typed(data, "target", str, "a code-generation target name", where)
    allow = data.get("allow_rebuild", False)
    if not isinstance(allow, bool):
        raise BioattnError(f"{where}: allow_rebuild = {allow!r}; expected true or false")

    seed = data.get("seed", DEFAULT_SEED)
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= MAX_SEED:
        raise BioattnError(f"{where}: seed = {seed!r}; expected a whole number in 0..{MAX_SEED}")

    grid = data.get("grid")
    if grid is None and not require_grid:
        grid = {}
    if grid is None:
        raise BioattnError(
            f'{where}: missing [grid] table; expected e.g. [grid] "pfc.g_nmda_ee" = "0.5:0.8:4 nS"'
        )
    if not isinstance(grid, dict) or (require_grid and not grid):
        raise BioattnError(
            f"{where}: [grid] = {grid!r}; expected a non-empty table of axes, e.g. "
            '"pfc.g_nmda_ee" = "0.5:0.8:4 nS"'
        )
    specs = []
    for name, value in _flatten(grid).items():
        if not isinstance(value, str):
            raise BioattnError(
                f"{where}: [grid] {name!r} = {value!r}; expected a string such as "
                '"0.5:0.8:4 nS", "1..8" or "1,2,3"'
            )
        specs.append(f"{name}={value}")
    axes = parse_grid(specs, origin=f"{where} [grid]")

    fixed_table = data.get("set", {})
    if not isinstance(fixed_table, dict):
        raise BioattnError(
            f"{where}: set = {fixed_table!r}; expected a [set] table of parameter = value"
        )
    fixed = {name: _set_text(name, value, where) for name, value in _flatten(fixed_table).items()}

    return SweepSpec(
        protocol=protocol,
        model=model,
        axes=tuple(axes),
        fixed=fixed,
        n_trials=trials,
        scale=float(scale),
        target=target,
        allow_structural=allow,
        seed=seed,
    )


def _flatten(table: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Dotted TOML keys read as nested tables (``pfc.g_nmda_ee = ...`` unquoted, or a
    ``[grid.pfc]`` table) back to ``{"pfc.g_nmda_ee": ...}``."""
    flat: dict[str, Any] = {}
    for key, value in table.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(_flatten(value, f"{name}."))
        else:
            flat[name] = value
    return flat


def _typed(data: Mapping[str, Any], key: str, kind: type, expected: str, where: str) -> Any:
    value = data[key]
    if isinstance(value, bool) or not isinstance(value, kind):
        raise BioattnError(f"{where}: {key} = {value!r}; expected {expected}")
    return value


def is_model_path(model: str) -> bool:
    """Whether ``model`` names a file (``*.toml`` or with a directory) rather than a model name."""
    return model.endswith(".toml") or "/" in model or os.sep in model


def _resolve_model(model: str, base: Path) -> str:
    """A model path relative to the sweep file's directory, made absolute; names unchanged."""
    if not is_model_path(model) or Path(model).is_absolute():
        return model
    return os.path.abspath(base / model)


def _set_text(name: str, value: Any, where: str) -> str:
    """A ``[set]`` value as ``--set`` text: strings as they are, TOML numbers as TOML writes
    them, lists of them as a TOML array."""
    if isinstance(value, str):
        return value
    if _is_number(value):
        return _number_text(value)
    if (
        isinstance(value, list)
        and value
        and all(_is_number(v) or isinstance(v, str) for v in value)
    ):
        items = (json.dumps(v) if isinstance(v, str) else _number_text(v) for v in value)
        return "[" + ", ".join(items) + "]"
    raise BioattnError(
        f'{where}: [set] {name!r} = {value!r}; expected a value as text ("0.7 nS") or a number'
    )


def _is_number(value: Any) -> bool:
    return (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and (not isinstance(value, float) or math.isfinite(value))
    )


def _toml_string(text: str) -> str:
    # JSON string escapes are valid TOML basic-string escapes (newlines, quotes, controls).
    return json.dumps(text, ensure_ascii=False).replace("\x7f", "\\u007f")


def sweep_file_text(spec: SweepSpec, header: str = "") -> str:
    """``spec`` as a sweep file that :func:`load_sweep_file` reads back equal.

    Axis values are written exactly (``"0.5,0.6,0.7,0.8 nS"``); a model path is made absolute.
    """
    lines = [f"# {line}" if line else "#" for line in header.splitlines()]
    lines.append(f"protocol = {_toml_string(spec.protocol)}")
    if spec.model is not None:
        lines.append(f"model = {_toml_string(_resolve_model(spec.model, Path.cwd()))}")
    if spec.n_trials is not None:
        lines.append(f"trials = {int(spec.n_trials)}")
    lines.append(f"scale = {float(spec.scale)!r}")
    lines.append(f"target = {_toml_string(spec.target)}")
    lines.append(f"allow_rebuild = {'true' if spec.allow_structural else 'false'}")
    lines.append(f"seed = {int(spec.seed)}")
    lines += ["", "[grid]"]
    lines += [f"{_toml_string(a.name)} = {_toml_string(a.values_text())}" for a in spec.axes]
    lines += ["", "[set]"]
    lines += [f"{_toml_string(k)} = {_toml_string(v)}" for k, v in spec.fixed.items()]
    return "\n".join(lines) + "\n"
