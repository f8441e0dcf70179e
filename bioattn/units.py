"""Physical quantities: a small exact dimensional type, and parsing quantities written as text.

Model files carry every parameter with its unit as text (``"0.146 nS"``, ``"72 deg"``,
``"0.062 mV^-1"``) so that a reader sees the unit and a wrong one is caught.  This module reads
such text into a :class:`Quantity` without importing Brian2 (or numpy): the layer that parses
model files stays light, and Brian2 is imported only by :meth:`Quantity.to_brian2`, when a
simulation needs the value.

A :class:`Quantity` is a value in SI units and the exponents of its dimensions in the order

    (metre, kilogram, second, ampere, kelvin, mole, candela)

which is Brian2's order: ``brian2.get_dimensions(x)._dims`` gives the same seven numbers, so a
:class:`Quantity` compares equal to the Brian2 quantity with the same value and dimensions.

Unit names (:data:`UNITS`) are built from tables: every base or derived unit has long names
(``siemens``, ``volt``, ``second``, ``amp``/``ampere``, ``metre``/``meter``, ...) and symbols
(``S``, ``V``, ``s``, ``A``, ``m``, ...), each also with an SI prefix from yocto (``y``) to tera
(``T``).  A prefixed name is read as *prefix + name*: Brian2's long form is the short prefix and
the long name (``psiemens``, ``mvolt``, ``khertz``, ``mmolar``, ``umetre``), the fully spelled
form is the long prefix and the long name (``picosiemens``, ``millivolt``), and the short form
is the short prefix and the symbol (``pS``, ``mV``, ``kHz``, ``mM``, ``um``; ``µ`` may be written
for ``u``).  Names are case-sensitive and a whole name is always one unit, so the rule decides
names that look alike: ``m`` is the metre, ``M`` the molar, ``mm`` the millimetre, ``Mm`` the
megametre, ``ms`` the millisecond, ``Ms`` the megasecond, ``mM`` the millimolar, ``MM`` the
megamolar.  A product of units is written with ``*`` (``mV*ms``), never by juxtaposition.

Angles are dimensionless, so the angle units ``deg`` and ``rad`` are handled apart
(:func:`parse_angle`) and angles are stored in radians, as plain floats.
"""

from __future__ import annotations

import math
import numbers
import operator
import re
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from bioattn.errors import BioattnError

__all__ = [
    "ANGLE_UNITS",
    "DIMENSIONLESS",
    "UNITS",
    "DimensionMismatchError",
    "Quantity",
    "as_quantity",
    "format_quantity",
    "parse_angle",
    "parse_quantity",
    "unit_of",
    # common units (every other name is in UNITS)
    "second",
    "ms",
    "us",
    "hertz",
    "Hz",
    "kHz",
    "MHz",
    "siemens",
    "mS",
    "uS",
    "nS",
    "pS",
    "volt",
    "mV",
    "uV",
    "amp",
    "uA",
    "nA",
    "pA",
    "farad",
    "uF",
    "nF",
    "pF",
    "ohm",
    "kohm",
    "Mohm",
    "coulomb",
    "molar",
    "mM",
    "uM",
    "nM",
    "mole",
    "metre",
    "meter",
    "cm",
    "mm",
    "um",
    "litre",
    "kilogram",
    "gram",
    "kelvin",
    "joule",
    "watt",
    "newton",
]

#: The exponents of a dimensionless quantity.
DIMENSIONLESS: tuple[int, ...] = (0, 0, 0, 0, 0, 0, 0)

_BASE_SYMBOLS = ("m", "kg", "s", "A", "K", "mol", "cd")


def _normalise_dim(dim: Any) -> tuple[float, ...]:
    """Seven finite exponents, each an int when it is integral (so 0 and 0.0 are the same)."""
    try:
        exponents = tuple(dim)
    except TypeError:
        raise TypeError(f"dimensions must be a sequence of 7 exponents, got {dim!r}") from None
    if len(exponents) != len(DIMENSIONLESS):
        raise ValueError(f"dimensions must be a sequence of 7 exponents, got {dim!r}")
    normalised: list[float] = []
    for exponent in exponents:
        if isinstance(exponent, bool) or not isinstance(exponent, numbers.Real):
            raise TypeError(f"dimension exponents must be real numbers, got {dim!r}")
        number = float(exponent)
        if not math.isfinite(number):
            raise ValueError(f"dimension exponents must be finite, got {dim!r}")
        normalised.append(int(number) if number.is_integer() else number)
    return tuple(normalised)


def _exponent_text(exponent: float) -> str:
    return str(exponent) if isinstance(exponent, int) else repr(exponent)


def _dim_text(dim: tuple[float, ...]) -> str:
    """The unit of ``dim`` as an expression :func:`unit_of` reads back (``S``, ``m^2*kg``)."""
    named = _NAMED_DIMS.get(dim)
    if named is not None:
        return named
    if dim == DIMENSIONLESS:
        return "1"
    for power in (-1, 2, -2, 3, -3):  # a power of a named unit: V^-1, Hz^2
        for named_dim, symbol in _NAMED_DIMS.items():
            if all(n * power == d for n, d in zip(named_dim, dim, strict=True)):
                return f"{symbol}^{power}"
    parts = []
    for symbol, exponent in zip(_BASE_SYMBOLS, dim, strict=True):
        if exponent == 1:
            parts.append(symbol)
        elif exponent != 0:
            parts.append(f"{symbol}^{_exponent_text(exponent)}")
    return "*".join(parts)


class DimensionMismatchError(TypeError):
    """An operation on quantities whose dimensions differ (adding nS to mV, comparing ms with Hz).

    ``dims`` holds the dimensions involved (tuples of seven exponents).
    """

    def __init__(self, description: str, *dims: tuple[float, ...]) -> None:
        self.description = description
        self.dims = dims
        texts = " and ".join(_dim_text(d) for d in dims)
        super().__init__(f"{description} (dimensions {texts} differ)")


def _is_plain_number(x: object) -> bool:
    return isinstance(x, numbers.Real) and not isinstance(x, bool)


def _from_brian2(x: object) -> Quantity | None:
    """The Quantity equal to a scalar Brian2 quantity ``x``; None when ``x`` is not one.

    Duck typed so that Brian2 is never imported here: a Brian2 quantity has ``dim._dims`` (its
    seven exponents) and ``float(x)`` gives its value in SI units.  Raises TypeError for a Brian2
    array that is not a scalar.
    """
    dims = getattr(getattr(x, "dim", None), "_dims", None)
    if dims is None:
        return None
    if getattr(x, "shape", ()) != ():
        raise TypeError(f"expected a scalar quantity, got an array of shape {x.shape}")
    try:
        value = float(x)  # type: ignore[arg-type]
    except (TypeError, ValueError):  # a Brian2 Dimension (it has .dim too) is not a quantity
        return None
    return Quantity(value, dims)


def _coerce(x: object) -> Quantity | None:
    """``x`` as a Quantity for arithmetic and comparisons; None when it cannot take part."""
    if isinstance(x, Quantity):
        return x
    if _is_plain_number(x):
        return Quantity(float(x))  # type: ignore[arg-type]
    try:
        return _from_brian2(x)
    except TypeError:
        return None


def _real_exponent(x: object) -> float | None:
    if isinstance(x, int) and not isinstance(x, bool):
        return x
    if _is_plain_number(x):
        return float(x)  # type: ignore[arg-type]
    exponent = _coerce(x)
    if exponent is None:
        return None
    if not exponent.is_dimensionless:
        raise DimensionMismatchError(f"the exponent {x!r} is not dimensionless", exponent.dim)
    return exponent.value


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class Quantity:
    """A physical quantity: ``value`` in SI units and the exponents ``dim`` of its dimensions.

    ``dim`` lists the exponents of (metre, kilogram, second, ampere, kelvin, mole, candela);
    integral exponents are stored as ints.  Quantities are immutable and hashable; ``+`` and
    ``-`` need equal dimensions (else :class:`DimensionMismatchError`), ``*``, ``/`` and ``**``
    combine them; a plain number is dimensionless, except that adding a plain ``0`` to any
    quantity gives it back (so that ``sum()`` works) and any quantity compares with a plain
    ``0``.  Ordering quantities of different dimensions raises, ``==`` says False.
    ``float(q)`` is the value in SI units whatever the dimensions (as in Brian2:
    ``float(3 * ms) == 0.003``).  A Quantity compares equal to a Brian2 quantity with the same
    value and dimensions, arithmetic with a Brian2 quantity gives a Quantity, and
    :meth:`to_brian2` converts the other way.
    """

    value: float
    dim: tuple[float, ...] = DIMENSIONLESS

    # numpy defers its binary operators to ours (``brian2_quantity * q`` reaches __rmul__)
    __array_ufunc__ = None

    def __post_init__(self) -> None:
        value = self.value
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise TypeError(f"a Quantity's value must be a real number, got {value!r}")
        object.__setattr__(self, "value", float(value))
        object.__setattr__(self, "dim", _normalise_dim(self.dim))

    # ---- properties and conversions ---------------------------------------------------------

    @property
    def is_dimensionless(self) -> bool:
        """Whether every exponent is zero."""
        return self.dim == DIMENSIONLESS

    def in_unit(self, unit_text: str) -> float:
        """The value expressed in the unit written as ``unit_text`` (``q.in_unit("nS")``).

        Raises :class:`DimensionMismatchError` when the unit has other dimensions.
        """
        unit = unit_of(unit_text)
        if unit.dim != self.dim:
            raise DimensionMismatchError(
                f"cannot express {self!r} in {unit_text}", self.dim, unit.dim
            )
        return self.value / unit.value

    def to_brian2(self) -> Any:
        """The equal Brian2 quantity (imports Brian2; a dimensionless one comes back from
        Brian2 as a plain float)."""
        from brian2.units.fundamentalunits import Quantity as Brian2Quantity
        from brian2.units.fundamentalunits import get_or_create_dimension

        return Brian2Quantity(self.value, dim=get_or_create_dimension(list(self.dim)))

    def __float__(self) -> float:
        return self.value

    def __int__(self) -> int:
        return int(self.value)

    def __bool__(self) -> bool:
        return self.value != 0

    def __repr__(self) -> str:
        if self.is_dimensionless:
            return repr(self.value)
        return f"{self.value!r} {_dim_text(self.dim)}"

    __str__ = __repr__

    def __format__(self, spec: str) -> str:
        if not spec:
            return repr(self)
        number = format(self.value, spec)
        return number if self.is_dimensionless else f"{number} {_dim_text(self.dim)}"

    def __hash__(self) -> int:
        # equal to the number it compares equal to: a dimensionless value, or 0 of any dimension
        if self.value == 0 or self.is_dimensionless:
            return hash(self.value)
        return hash((self.value, self.dim))

    # ---- arithmetic -------------------------------------------------------------------------

    def _sum(self, other: object, sign: float, reflected: bool) -> Quantity:
        addend = _coerce(other)
        if addend is None:
            return NotImplemented
        if addend.dim != self.dim:
            if sign > 0 and _is_plain_number(other) and other == 0:
                return self  # 0 + q and q + 0, so that sum() of quantities works
            # the operands as written: first + second, or first - second
            (first, first_dim), (second, second_dim) = (
                ((other, addend.dim), (self, self.dim))
                if reflected
                else ((self, self.dim), (other, addend.dim))
            )
            verb, preposition = ("add", "to") if sign > 0 else ("subtract", "from")
            raise DimensionMismatchError(
                f"cannot {verb} {second!r} {preposition} {first!r}", first_dim, second_dim
            )
        if reflected:
            return Quantity(addend.value + sign * self.value, self.dim)
        return Quantity(self.value + sign * addend.value, self.dim)

    def __add__(self, other: object) -> Quantity:
        return self._sum(other, 1.0, reflected=False)

    def __radd__(self, other: object) -> Quantity:
        return self._sum(other, 1.0, reflected=True)

    def __sub__(self, other: object) -> Quantity:
        return self._sum(other, -1.0, reflected=False)

    def __rsub__(self, other: object) -> Quantity:
        return self._sum(other, -1.0, reflected=True)

    def __mul__(self, other: object) -> Quantity:
        factor = _coerce(other)
        if factor is None:
            return NotImplemented
        dim = tuple(a + b for a, b in zip(self.dim, factor.dim, strict=True))
        return Quantity(self.value * factor.value, dim)

    def __rmul__(self, other: object) -> Quantity:
        factor = _coerce(other)
        if factor is None:
            return NotImplemented
        dim = tuple(a + b for a, b in zip(factor.dim, self.dim, strict=True))
        return Quantity(factor.value * self.value, dim)

    def __truediv__(self, other: object) -> Quantity:
        divisor = _coerce(other)
        if divisor is None:
            return NotImplemented
        dim = tuple(a - b for a, b in zip(self.dim, divisor.dim, strict=True))
        return Quantity(self.value / divisor.value, dim)

    def __rtruediv__(self, other: object) -> Quantity:
        dividend = _coerce(other)
        if dividend is None:
            return NotImplemented
        dim = tuple(a - b for a, b in zip(dividend.dim, self.dim, strict=True))
        return Quantity(dividend.value / self.value, dim)

    def __pow__(self, exponent: object) -> Quantity:
        power = _real_exponent(exponent)
        if power is None:
            return NotImplemented
        value = self.value**power
        if isinstance(value, complex):
            raise ValueError(f"{self!r} ** {exponent!r} is not a real quantity")
        return Quantity(value, tuple(d * power for d in self.dim))

    def __rpow__(self, base: object) -> Quantity:
        if not _is_plain_number(base):
            return NotImplemented
        if not self.is_dimensionless:
            raise DimensionMismatchError(f"the exponent {self!r} is not dimensionless", self.dim)
        value = float(base) ** self.value  # type: ignore[arg-type]
        if isinstance(value, complex):
            raise ValueError(f"{base!r} ** {self!r} is not a real quantity")
        return Quantity(value)

    def __neg__(self) -> Quantity:
        return Quantity(-self.value, self.dim)

    def __pos__(self) -> Quantity:
        return self

    def __abs__(self) -> Quantity:
        return Quantity(abs(self.value), self.dim)

    # ---- comparisons ------------------------------------------------------------------------

    def __eq__(self, other: object) -> bool:
        operand = _coerce(other)
        if operand is None:
            return NotImplemented
        if operand.dim != self.dim:
            # a plain 0 equals a zero of any dimension; otherwise other dimensions are unequal
            return _is_plain_number(other) and other == 0 and self.value == 0
        return self.value == operand.value

    def _order(self, other: object, compare: Callable[[float, float], bool], symbol: str) -> bool:
        operand = _coerce(other)
        if operand is None:
            return NotImplemented
        if operand.dim != self.dim:
            if _is_plain_number(other) and other == 0:
                return compare(self.value, 0.0)
            raise DimensionMismatchError(
                f"cannot compare {self!r} {symbol} {other!r}", self.dim, operand.dim
            )
        return compare(self.value, operand.value)

    def __lt__(self, other: object) -> bool:
        return self._order(other, operator.lt, "<")

    def __le__(self, other: object) -> bool:
        return self._order(other, operator.le, "<=")

    def __gt__(self, other: object) -> bool:
        return self._order(other, operator.gt, ">")

    def __ge__(self, other: object) -> bool:
        return self._order(other, operator.ge, ">=")


def as_quantity(x: object) -> Quantity:
    """``x`` as a :class:`Quantity`: a Quantity as is, a scalar Brian2 quantity converted, a
    real number (not a bool) as a dimensionless Quantity.  Anything else raises TypeError."""
    if isinstance(x, Quantity):
        return x
    if _is_plain_number(x):
        return Quantity(float(x))  # type: ignore[arg-type]
    converted = _from_brian2(x)
    if converted is None:
        raise TypeError(f"expected a quantity or a number, got {x!r}")
    return converted


# --------------------------------------------------------------------------------------------
# Unit names
# --------------------------------------------------------------------------------------------


def _dims(m: int = 0, kg: int = 0, s: int = 0, A: int = 0, K: int = 0, mol: int = 0, cd: int = 0):
    return (m, kg, s, A, K, mol, cd)


#: (long names, symbols, dimensions, power of ten of the unit in SI base units)
_BASE_UNITS: tuple[tuple[tuple[str, ...], tuple[str, ...], tuple[int, ...], int], ...] = (
    (("second",), ("s",), _dims(s=1), 0),
    (("hertz",), ("Hz",), _dims(s=-1), 0),
    (("siemens",), ("S",), _dims(m=-2, kg=-1, s=3, A=2), 0),
    (("volt",), ("V",), _dims(m=2, kg=1, s=-3, A=-1), 0),
    (("amp", "ampere"), ("A",), _dims(A=1), 0),
    (("farad",), ("F",), _dims(m=-2, kg=-1, s=4, A=2), 0),
    (("ohm",), (), _dims(m=2, kg=1, s=-3, A=-2), 0),
    (("coulomb",), ("C",), _dims(s=1, A=1), 0),
    (("metre", "meter"), ("m",), _dims(m=1), 0),
    (("gram", "gramme"), ("g",), _dims(kg=1), -3),
    (("mole",), ("mol",), _dims(mol=1), 0),
    (("molar",), ("M",), _dims(m=-3, mol=1), 3),  # mol/litre, as in Brian2
    (("litre", "liter"), ("l", "L"), _dims(m=3), -3),
    (("kelvin",), ("K",), _dims(K=1), 0),
    (("candela",), ("cd",), _dims(cd=1), 0),
    (("joule",), ("J",), _dims(m=2, kg=1, s=-2), 0),
    (("watt",), ("W",), _dims(m=2, kg=1, s=-3), 0),
    (("newton",), ("N",), _dims(m=1, kg=1, s=-2), 0),
    (("pascal",), ("Pa",), _dims(m=-1, kg=1, s=-2), 0),
)

#: (short prefix, long prefix, power of ten)
_PREFIXES = (
    ("y", "yocto", -24),
    ("z", "zepto", -21),
    ("a", "atto", -18),
    ("f", "femto", -15),
    ("p", "pico", -12),
    ("n", "nano", -9),
    ("u", "micro", -6),
    ("m", "milli", -3),
    ("c", "centi", -2),
    ("d", "deci", -1),
    ("da", "deka", 1),
    ("h", "hecto", 2),
    ("k", "kilo", 3),
    ("M", "mega", 6),
    ("G", "giga", 9),
    ("T", "tera", 12),
)
_MICRO_SIGNS = ("µ", "μ")  # MICRO SIGN and GREEK SMALL LETTER MU, both read as "u"


def _build_units() -> tuple[
    dict[str, Quantity], dict[str, tuple[int, tuple[float, ...]]], dict[Quantity, str]
]:
    """Every unit name with its quantity and with its power of ten and dimensions, and a
    preferred short name for each quantity."""
    units: dict[str, tuple[tuple[float, ...], int]] = {}

    def add(name: str, dim: tuple[float, ...], scale: int) -> None:
        if units.setdefault(name, (dim, scale)) != (dim, scale):  # pragma: no cover
            raise RuntimeError(f"the unit name {name!r} has two meanings")

    for longs, symbols, dim, scale in _BASE_UNITS:
        for name in (*longs, *symbols):
            add(name, dim, scale)
        for short, long, power in _PREFIXES:
            shorts = (short, *_MICRO_SIGNS) if short == "u" else (short,)
            for name in longs:
                add(long + name, dim, scale + power)
                for prefix in shorts:
                    add(prefix + name, dim, scale + power)
            for symbol in symbols:
                for prefix in shorts:
                    add(prefix + symbol, dim, scale + power)
    # squares and cubes of lengths, as in Brian2 (``cm2``, ``um3``, ``metre2``)
    for name, (dim, scale) in list(units.items()):
        if dim == _dims(m=1):
            for power in (2, 3):
                add(f"{name}{power}", _dims(m=power), scale * power)
    # the value of a unit is the power of ten written as a decimal: exact, as Brian2's 10.0**n
    table = {name: Quantity(float(f"1e{scale}"), dim) for name, (dim, scale) in units.items()}
    labels: dict[Quantity, str] = {}
    for longs, symbols, _, _ in _BASE_UNITS:
        name = (symbols or longs)[0]  # the first symbol (ohm has none)
        labels.setdefault(table[name], name)
        for short, _, _ in _PREFIXES:
            labels.setdefault(table[short + name], short + name)
    scales = {name: (scale, dim) for name, (dim, scale) in units.items()}
    return table, scales, labels


#: Every unit name a user may write, with its quantity (``UNITS["nS"] == 1e-9 S``).
UNITS: dict[str, Quantity]
UNITS, _UNIT_SCALES, _LABELS = _build_units()

_NAMED_DIMS: dict[tuple[float, ...], str] = {
    dim: symbols[0] if symbols else longs[0]
    for longs, symbols, dim, scale in _BASE_UNITS
    if scale == 0
}
_NAMED_DIMS[_dims(kg=1)] = "kg"

#: Angle units and their size in radians.
ANGLE_UNITS = {"deg": math.pi / 180.0, "rad": 1.0}

# the common units by name, for ``from bioattn.units import nS, mV, ms``
second = UNITS["second"]
ms = UNITS["ms"]
us = UNITS["us"]
hertz = UNITS["hertz"]
Hz = UNITS["Hz"]
kHz = UNITS["kHz"]
MHz = UNITS["MHz"]
siemens = UNITS["siemens"]
mS = UNITS["mS"]
uS = UNITS["uS"]
nS = UNITS["nS"]
pS = UNITS["pS"]
volt = UNITS["volt"]
mV = UNITS["mV"]
uV = UNITS["uV"]
amp = UNITS["amp"]
uA = UNITS["uA"]
nA = UNITS["nA"]
pA = UNITS["pA"]
farad = UNITS["farad"]
uF = UNITS["uF"]
nF = UNITS["nF"]
pF = UNITS["pF"]
ohm = UNITS["ohm"]
kohm = UNITS["kohm"]
Mohm = UNITS["Mohm"]
coulomb = UNITS["coulomb"]
molar = UNITS["molar"]
mM = UNITS["mM"]
uM = UNITS["uM"]
nM = UNITS["nM"]
mole = UNITS["mole"]
metre = UNITS["metre"]
meter = UNITS["meter"]
cm = UNITS["cm"]
mm = UNITS["mm"]
um = UNITS["um"]
litre = UNITS["litre"]
kilogram = UNITS["kilogram"]
gram = UNITS["gram"]
kelvin = UNITS["kelvin"]
joule = UNITS["joule"]
watt = UNITS["watt"]
newton = UNITS["newton"]


def _label(quantity: Quantity) -> str:
    """How to name ``quantity`` in a message: its unit symbol (``nS``) when it is one."""
    label = _LABELS.get(quantity)
    if label is not None:
        return label
    if quantity.value == 1:
        return _dim_text(quantity.dim)
    return repr(quantity)


# --------------------------------------------------------------------------------------------
# Unit expressions
# --------------------------------------------------------------------------------------------

_NUMBER = re.compile(r"^\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*(.*?)\s*$")
_UNIT_CHARACTERS = re.compile(r"^[A-Za-z0-9_µμ*/().^ +-]*$")
_UNIT_TOKEN = re.compile(
    r"\s*(?:(?P<name>[A-Za-z_µμ][A-Za-z0-9_µμ]*)"
    r"|(?P<number>(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)"
    r"|(?P<op>\*\*|[*/^()+-])"
    r"|(?P<bad>\S))"
)


class _Malformed(Exception):
    """A unit expression that does not follow the grammar."""


_Exact = tuple[Fraction, tuple[float, ...]]  # a value held exactly, and its dimensions
_MAX_BITS = 4096  # beyond this an exact value can only overflow or underflow a float


def _exact_product(a: _Exact, b: _Exact, sign: int) -> _Exact:
    value = a[0] * b[0] if sign > 0 else a[0] / b[0]
    return value, tuple(x + sign * y for x, y in zip(a[1], b[1], strict=True))


def _exact_power(base: _Exact, exponent: float) -> _Exact:
    value, dim = base
    if isinstance(exponent, int):
        if abs(exponent) * max(value.numerator.bit_length(), value.denominator.bit_length()) > (
            _MAX_BITS
        ):
            raise OverflowError
        value = value**exponent
    else:
        if value < 0:
            raise ValueError
        value = Fraction(float(value) ** exponent)
    return value, tuple(d * exponent for d in dim)


class _UnitParser:
    """Recursive descent over the grammar::

    expression := product
    product    := ["/"] factor (("*" | "/") factor)*      (a leading "/" divides 1)
    factor     := atom [("^" | "**") exponent]
    atom       := name | number | "(" product ")"
    exponent   := [sign] number | "(" [sign] number ")"

    Values are held as exact fractions, so a unit expression is as exact as Brian2's unit
    algebra (``nA/mV`` is exactly the float ``1e-06``, not ``1e-09 / 1e-03``).
    """

    def __init__(self, tokens: list[tuple[str, str]]) -> None:
        self.tokens = tokens
        self.position = 0

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.position] if self.position < len(self.tokens) else None

    def take(self, kind: str, text: str | None = None) -> str:
        token = self.peek()
        if token is None or token[0] != kind or (text is not None and token[1] != text):
            raise _Malformed
        self.position += 1
        return token[1]

    def at(self, kind: str, *texts: str) -> bool:
        token = self.peek()
        return token is not None and token[0] == kind and (not texts or token[1] in texts)

    def parse(self) -> Quantity:
        value, dim = self.product()
        if self.peek() is not None:
            raise _Malformed
        return Quantity(float(value), dim)

    def product(self) -> _Exact:
        if self.at("op", "/"):
            self.take("op")
            result = _exact_product((Fraction(1), DIMENSIONLESS), self.factor(), -1)
        else:
            result = self.factor()
        while self.at("op", "*", "/"):
            sign = 1 if self.take("op") == "*" else -1
            result = _exact_product(result, self.factor(), sign)
        return result

    def factor(self) -> _Exact:
        base = self.atom()
        if self.at("op", "^", "**"):
            self.take("op")
            return _exact_power(base, self.exponent())
        return base

    def atom(self) -> _Exact:
        if self.at("name"):
            scale, dim = _UNIT_SCALES[self.take("name")]
            return Fraction(10) ** scale, dim
        if self.at("number"):
            return Fraction(self.take("number")), DIMENSIONLESS
        self.take("op", "(")
        result = self.product()
        self.take("op", ")")
        return result

    def exponent(self) -> float:
        parenthesised = self.at("op", "(")
        if parenthesised:
            self.take("op")
        sign = -1 if self.at("op", "-") else 1
        if self.at("op", "-", "+"):
            self.take("op")
        number = float(self.take("number"))
        if parenthesised:
            self.take("op", ")")
        exponent = sign * number
        return int(exponent) if exponent.is_integer() else exponent


def _unit_expression(text: str, name: str, raw: object) -> Quantity:
    """Evaluate a unit expression (``nS``, ``/mV``, ``mV^-1``, ``mV**-1``, ``(mV*ms)^2``)."""
    if not _UNIT_CHARACTERS.match(text):
        raise BioattnError(f"{name} = {raw!r}: cannot read the unit {text!r}")
    tokens = [
        (match.lastgroup, match.group(match.lastgroup))
        for match in _UNIT_TOKEN.finditer(text)
        if match.lastgroup is not None
    ]
    for kind, token in tokens:
        if kind == "name" and token not in UNITS:
            raise BioattnError(f"{name} = {raw!r}: unknown unit {token!r}")
    if not tokens:
        return Quantity(1.0)
    try:
        if any(kind == "bad" for kind, _ in tokens):
            raise _Malformed
        return _UnitParser(tokens).parse()  # type: ignore[arg-type]
    except (_Malformed, ArithmeticError, ValueError) as exc:  # "nS**", "(mV", "mV/0"
        raise BioattnError(f"{name} = {raw!r}: cannot read the unit {text!r}") from exc


def unit_of(text: str) -> Quantity:
    """The unit written as ``text`` (``"nS"``, ``"mV^-1"``, ``"/mV"``) as a :class:`Quantity`.

    Raises :class:`BioattnError` for an unknown unit name or a malformed expression.
    """
    if not isinstance(text, str):
        raise BioattnError(f"unit = {text!r}: expected a unit written as text, e.g. 'nS'")
    return _unit_expression(text.strip(), "unit", text)


# --------------------------------------------------------------------------------------------
# Parsing and writing quantities
# --------------------------------------------------------------------------------------------


def parse_quantity(
    raw: object, expected: Quantity, name: str, unit_name: str | None = None
) -> Quantity:
    """Parse ``raw`` (``"0.3 nS"``) into a :class:`Quantity` with the dimensions of ``expected``.

    ``raw`` is text with a number and a unit, a plain number when ``expected`` is dimensionless,
    or an already typed value (a :class:`Quantity` or a Brian2 quantity, e.g. ``0.7 * nS``).
    ``expected`` may also be a Brian2 quantity; ``unit_name`` names the unit in messages
    (default: ``expected``'s symbol).  Raises :class:`BioattnError` naming ``name`` when ``raw``
    is none of these, when the number is not finite, or when the dimensions differ.
    """
    expected = as_quantity(expected)
    unit_name = unit_name or _label(expected)
    typed: Quantity | None = None
    if isinstance(raw, Quantity):
        typed = raw
    elif not isinstance(raw, str | bool | numbers.Real):
        try:
            typed = _from_brian2(raw)
        except TypeError:  # a Brian2 array
            typed = None
        if typed is None:
            raise BioattnError(
                f"{name} = {raw!r}: expected a quantity in {unit_name}, e.g. '1 {unit_name}'"
            )
    if typed is not None:
        if not math.isfinite(typed.value):
            raise BioattnError(f"{name} = {raw!r}: expected a finite number in {unit_name}")
        if typed.dim != expected.dim:
            raise BioattnError(
                f"{name} = {raw!r}: wrong dimensions, expected a quantity in {unit_name}"
            )
        return typed
    if isinstance(raw, bool):
        raise BioattnError(
            f"{name} = {raw!r}: expected a quantity in {unit_name}, e.g. '1 {unit_name}'"
        )
    if isinstance(raw, numbers.Real):
        if not expected.is_dimensionless:
            raise BioattnError(
                f"{name} = {raw!r}: a bare number has no unit; expected a quantity in {unit_name}, "
                f"e.g. '{raw} {unit_name}'"
            )
        number, unit_text = float(raw), ""
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
    value = number * _unit_expression(unit_text, name, raw)
    if value.dim != expected.dim:
        raise BioattnError(
            f"{name} = {raw!r}: wrong dimensions, expected a quantity in {unit_name}"
        )
    if not math.isfinite(value.value):  # "1e300 TS" overflows
        raise BioattnError(f"{name} = {raw!r}: expected a finite number in {unit_name}")
    return value


def parse_angle(raw: object, name: str) -> float:
    """Parse an angle written as ``"72 deg"`` or ``"1.2 rad"`` into radians (a float).

    Raises :class:`BioattnError` naming ``name`` when ``raw`` is not such text or not finite.
    """
    if not isinstance(raw, str):
        raise BioattnError(f"{name} = {raw!r}: expected an angle with its unit, e.g. '72 deg'")
    match = _NUMBER.match(raw)
    if match is None or match.group(2) not in ANGLE_UNITS:
        raise BioattnError(f"{name} = {raw!r}: expected an angle in deg or rad, e.g. '72 deg'")
    number = float(match.group(1))
    if not math.isfinite(number):
        raise BioattnError(f"{name} = {raw!r}: expected a finite angle")
    return number * ANGLE_UNITS[match.group(2)]


def format_quantity(value: object, unit_text: str) -> str:
    """Write ``value`` as text in ``unit_text`` (``"0.732 nS"``) that :func:`parse_quantity`
    reads back to the same value.

    ``value`` is a :class:`Quantity`, a Brian2 quantity or (for a dimensionless unit) a number.
    The number has at most 15 significant digits when that reads back exactly (dropping float
    noise such as 15.000000000000002), else as many as needed.  Raises
    :class:`DimensionMismatchError` when ``value`` and the unit have different dimensions.
    """
    quantity = as_quantity(value)
    unit = unit_of(unit_text)
    if quantity.dim != unit.dim:
        raise DimensionMismatchError(
            f"cannot write {quantity!r} in {unit_text}", quantity.dim, unit.dim
        )
    target, scale = quantity.value, unit.value
    number = target / scale
    if math.isfinite(number):
        for digits in (15, 16, 17):
            candidate = float(f"{number:.{digits}g}")
            if candidate * scale == target:
                return f"{candidate!r} {unit_text}"
        # the product rounds: a neighbouring number may read back exactly
        below = above = number
        for _ in range(8):
            below, above = math.nextafter(below, -math.inf), math.nextafter(above, math.inf)
            for candidate in (below, above):
                if candidate * scale == target:
                    return f"{candidate!r} {unit_text}"
    return f"{number!r} {unit_text}"
