"""Parsing physical quantities written as text (``"0.146 nS"``, ``"72 deg"``, ``"0.062 /mV"``).

Model files carry every parameter with its unit as text so that a reader sees the unit and a
wrong one is caught.  Parsing goes through Brian2's unit system: the dimension of the parsed
value is compared with the dimension the parameter expects, and a mismatch is reported with the
parameter's name, the value and the expected unit.  Angles are dimensionless in Brian2, so the
angle units ``deg`` and ``rad`` are handled here and angles are stored in radians.
"""

from __future__ import annotations

import math
import re

import brian2.units as b2units
from brian2.units.fundamentalunits import Quantity, Unit, get_dimensions

from bioattn.errors import BioattnError

_NUMBER = re.compile(r"^\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*(.*?)\s*$")
_UNIT_TOKENS = re.compile(r"^[A-Za-z0-9_*/().^ -]*$")
_UNIT_NAMES = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")

#: Every Brian2 unit by name (``nS``, ``mV``, ``kHz``, ``ms``, ``nA``, ``mM`` ...).
UNITS: dict[str, Unit] = {
    name: value for name, value in vars(b2units).items() if isinstance(value, Unit)
}
UNITS.setdefault("s", b2units.second)
ANGLE_UNITS = {"deg": math.pi / 180.0, "rad": 1.0}


def _unit_expression(text: str, name: str, raw: object) -> Quantity | float:
    """Evaluate a unit expression (``nS``, ``/mV``, ``mV^-1``) in Brian2's unit namespace."""
    if not text:
        return 1.0
    if not _UNIT_TOKENS.match(text):
        raise BioattnError(f"{name} = {raw!r}: cannot read the unit {text!r}")
    for token in _UNIT_NAMES.findall(text):
        if token not in UNITS:
            raise BioattnError(f"{name} = {raw!r}: unknown unit {token!r}")
    expression = text.replace("^", "**")
    if expression.startswith("/"):
        expression = "1" + expression
    try:
        return eval(expression, {"__builtins__": {}}, UNITS)  # noqa: S307 (names checked above)
    except Exception as exc:  # a malformed expression such as "nS**" or "(mV"
        raise BioattnError(f"{name} = {raw!r}: cannot read the unit {text!r}") from exc


def unit_of(text: str) -> Quantity:
    """The unit written as ``text`` (``"nS"``, ``"mV^-1"``) as a Brian2 quantity."""
    unit = _unit_expression(text, "unit", text)
    return unit if isinstance(unit, Quantity) else Quantity(unit)


def parse_quantity(
    raw: object, expected: Quantity, name: str, unit_name: str | None = None
) -> Quantity:
    """Parse ``raw`` (``"0.3 nS"``) into a Brian2 quantity with the dimensions of ``expected``.

    Raises :class:`BioattnError` naming ``name`` when ``raw`` is not text with a number and a unit,
    when the number is not finite, or when the dimensions differ from ``expected``'s.
    """
    unit_name = unit_name or str(expected)
    if isinstance(raw, bool) or not isinstance(raw, str | int | float):
        raise BioattnError(
            f"{name} = {raw!r}: expected a quantity in {unit_name}, e.g. '1 {unit_name}'"
        )
    if isinstance(raw, int | float):
        if get_dimensions(expected).is_dimensionless:
            text_number, unit_text = repr(float(raw)), ""
        else:
            raise BioattnError(
                f"{name} = {raw!r}: a bare number has no unit; expected a quantity in {unit_name}, "
                f"e.g. '{raw} {unit_name}'"
            )
    else:
        match = _NUMBER.match(raw)
        if match is None:
            raise BioattnError(
                f"{name} = {raw!r}: expected a number followed by a unit in {unit_name}"
            )
        text_number, unit_text = match.groups()
    number = float(text_number)
    if not math.isfinite(number):
        raise BioattnError(f"{name} = {raw!r}: expected a finite number in {unit_name}")
    unit = _unit_expression(unit_text, name, raw)
    value = number * unit
    if get_dimensions(value) != get_dimensions(expected):
        raise BioattnError(
            f"{name} = {raw!r}: wrong dimensions, expected a quantity in {unit_name}"
        )
    return value if isinstance(value, Quantity) else Quantity(value)


def parse_angle(raw: object, name: str) -> float:
    """Parse an angle written as ``"72 deg"`` or ``"1.2 rad"`` into radians (a float)."""
    if not isinstance(raw, str):
        raise BioattnError(f"{name} = {raw!r}: expected an angle with its unit, e.g. '72 deg'")
    match = _NUMBER.match(raw)
    if match is None or match.group(2) not in ANGLE_UNITS:
        raise BioattnError(f"{name} = {raw!r}: expected an angle in deg or rad, e.g. '72 deg'")
    number = float(match.group(1))
    if not math.isfinite(number):
        raise BioattnError(f"{name} = {raw!r}: expected a finite angle")
    return number * ANGLE_UNITS[match.group(2)]


def format_quantity(value: Quantity, unit_text: str) -> str:
    """Write ``value`` as text in ``unit_text`` so that :func:`parse_quantity` reads it back."""
    # 15 significant digits drop float noise (15.000000000000002) and still round-trip exactly
    number = float(f"{float(value / unit_of(unit_text)):.15g}")
    return f"{number!r} {unit_text}"
