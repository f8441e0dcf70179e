"""bioattn.units: the Brian2-free Quantity, unit names, parsing, writing and every bad input."""

from __future__ import annotations

import math
import pickle
import subprocess
import sys

import brian2
import numpy
import pytest
from brian2.units.fundamentalunits import Unit, get_dimensions
from hypothesis import given
from hypothesis import strategies as st

from bioattn import units
from bioattn.errors import BioattnError
from bioattn.units import (
    UNITS,
    DimensionMismatchError,
    Hz,
    Quantity,
    as_quantity,
    format_quantity,
    kHz,
    mM,
    ms,
    mV,
    nF,
    nS,
    parse_angle,
    parse_quantity,
    pS,
    second,
    siemens,
    unit_of,
    volt,
)

SIEMENS_DIM = (-2, -1, 3, 2, 0, 0, 0)
VOLT_DIM = (2, 1, -3, -1, 0, 0, 0)
BRIAN2_UNITS = {name: v for name, v in vars(brian2.units).items() if isinstance(v, Unit)}


def brian2_dims(x) -> tuple[float, ...]:
    return tuple(get_dimensions(x)._dims)


# --------------------------------------------------------------------------------------------
# No Brian2 at import time
# --------------------------------------------------------------------------------------------


def test_importing_units_does_not_import_brian2_or_numpy():
    code = (
        "import sys, bioattn.units as u\n"
        "assert u.parse_quantity('0.146 nS', u.nS, 'x') == 0.146 * u.nS\n"
        "print('brian2' in sys.modules, 'numpy' in sys.modules)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.split() == ["False", "False"]


# --------------------------------------------------------------------------------------------
# Unit names
# --------------------------------------------------------------------------------------------


def test_every_brian2_unit_name_is_known_with_brian2s_value_and_dimensions():
    assert len(BRIAN2_UNITS) > 150
    for name, brian2_unit in BRIAN2_UNITS.items():
        assert name in UNITS, name
        ours = UNITS[name]
        assert ours.value == float(brian2_unit), name
        assert ours.dim == brian2_dims(brian2_unit), name
        assert ours == brian2_unit and brian2_unit == ours, name


@pytest.mark.parametrize(
    ("text", "value", "dim"),
    [
        ("nS", 1e-9, SIEMENS_DIM),
        ("pS", 1e-12, SIEMENS_DIM),
        ("psiemens", 1e-12, SIEMENS_DIM),
        ("picosiemens", 1e-12, SIEMENS_DIM),
        ("µS", 1e-6, SIEMENS_DIM),
        ("mV", 1e-3, VOLT_DIM),
        ("ms", 1e-3, (0, 0, 1, 0, 0, 0, 0)),
        ("Ms", 1e6, (0, 0, 1, 0, 0, 0, 0)),
        ("s", 1.0, (0, 0, 1, 0, 0, 0, 0)),
        ("kHz", 1e3, (0, 0, -1, 0, 0, 0, 0)),
        ("mM", 1.0, (-3, 0, 0, 0, 0, 1, 0)),
        ("M", 1e3, (-3, 0, 0, 0, 0, 1, 0)),
        ("mol/l", 1e3, (-3, 0, 0, 0, 0, 1, 0)),
        ("m", 1.0, (1, 0, 0, 0, 0, 0, 0)),
        ("mm", 1e-3, (1, 0, 0, 0, 0, 0, 0)),
        ("Mm", 1e6, (1, 0, 0, 0, 0, 0, 0)),
        ("um2", 1e-12, (2, 0, 0, 0, 0, 0, 0)),
        ("g", 1e-3, (0, 1, 0, 0, 0, 0, 0)),
        ("kg", 1.0, (0, 1, 0, 0, 0, 0, 0)),
        ("kilogram", 1.0, (0, 1, 0, 0, 0, 0, 0)),
        ("nF", 1e-9, (-2, -1, 4, 2, 0, 0, 0)),
        ("nA", 1e-9, (0, 0, 0, 1, 0, 0, 0)),
        ("Mohm", 1e6, (2, 1, -3, -2, 0, 0, 0)),
        ("kohm", 1e3, (2, 1, -3, -2, 0, 0, 0)),
        ("S*ohm", 1.0, (0, 0, 0, 0, 0, 0, 0)),
        ("mV^-1", 1e3, (-2, -1, 3, 1, 0, 0, 0)),
        ("/mV", 1e3, (-2, -1, 3, 1, 0, 0, 0)),
        ("mV**-1", 1e3, (-2, -1, 3, 1, 0, 0, 0)),
        ("1/mV", 1e3, (-2, -1, 3, 1, 0, 0, 0)),
        ("mV^(-1)", 1e3, (-2, -1, 3, 1, 0, 0, 0)),
        ("nA/mV", 1e-6, SIEMENS_DIM),
        ("(ms*Hz)^2", 1e-6, (0, 0, 0, 0, 0, 0, 0)),
        ("J/s", 1.0, (2, 1, -3, 0, 0, 0, 0)),
        ("W", 1.0, (2, 1, -3, 0, 0, 0, 0)),
        ("N*m", 1.0, (2, 1, -2, 0, 0, 0, 0)),
        ("C/s", 1.0, (0, 0, 0, 1, 0, 0, 0)),
        ("mK", 1e-3, (0, 0, 0, 0, 1, 0, 0)),
        ("", 1.0, (0, 0, 0, 0, 0, 0, 0)),
    ],
)
def test_hand_checked_units(text, value, dim):
    unit = unit_of(text)
    assert unit.value == pytest.approx(value, rel=1e-15)
    assert unit.dim == dim


@pytest.mark.parametrize(
    ("text", "brian2_expression"),
    [
        ("nA/mV", "nA / mV"),
        ("nS*mV", "nS * mV"),
        ("mV/ms", "mV / ms"),
        ("kHz*ms", "kHz * ms"),
        ("/ms", "1 / ms"),
        ("mV^-2", "mV ** -2"),
        ("nF/(ms*nS)", "nF / (ms * nS)"),
        ("(um*um)^-1", "(um * um) ** -1"),
    ],
)
def test_unit_expressions_are_as_exact_as_brian2s_unit_algebra(text, brian2_expression):
    brian2_unit = eval(brian2_expression, {"__builtins__": {}}, BRIAN2_UNITS)
    assert unit_of(text).value == float(brian2_unit)
    assert unit_of(text).dim == brian2_dims(brian2_unit)


def test_pS_is_psiemens_is_a_picosiemens():
    assert pS == UNITS["psiemens"] == UNITS["pS"] == UNITS["picosiemens"]
    assert pS == Quantity(1e-12, SIEMENS_DIM)
    assert pS == brian2.units.psiemens
    assert "pS" not in BRIAN2_UNITS  # the reason for accepting it here


def test_common_units_are_importable_and_equal_to_brian2s():
    for name in ["nS", "mV", "ms", "Hz", "kHz", "nF", "pF", "nA", "pA", "mM", "second"]:
        assert getattr(units, name) == getattr(brian2, name), name
    assert siemens == brian2.siemens and volt == brian2.volt and second == brian2.second
    assert set(units.__all__) <= set(vars(units))


def test_parsed_values_equal_brian2s():
    assert parse_quantity("0.146 nS", nS, "x") == 0.146 * brian2.nS
    assert parse_quantity("0.062 mV^-1", unit_of("mV^-1"), "x") == 62 / brian2.volt
    assert parse_quantity("0.062 /mV", unit_of("/mV"), "x") == 0.062 / brian2.mV
    assert parse_quantity("0.05 kHz", kHz, "x") == 0.05 * brian2.kHz
    assert parse_quantity("1 mM", mM, "x") == brian2.mmolar == Quantity(1.0, mM.dim)
    assert parse_quantity("-70 mV", mV, "x") == -70 * brian2.mV


# --------------------------------------------------------------------------------------------
# The Quantity type
# --------------------------------------------------------------------------------------------


def test_exponents_are_normalised_and_hashing_follows_equality():
    a = Quantity(1e-9, (-2.0, -1.0, 3.0, 2.0, 0.0, 0.0, -0.0))
    assert a.dim == SIEMENS_DIM and all(type(d) is int for d in a.dim)
    assert a == nS and hash(a) == hash(nS)
    assert len({a, nS, Quantity(1e-9, SIEMENS_DIM)}) == 1
    assert hash(Quantity(2.0)) == hash(2.0) and Quantity(2.0) == 2.0
    assert (nS**0.5).dim == (-1, -0.5, 1.5, 1, 0, 0, 0)
    assert ((nS**0.5) ** 2).dim == SIEMENS_DIM
    assert Quantity(3).value == 3.0 and type(Quantity(3).value) is float
    with pytest.raises(ValueError):
        Quantity(1.0, (1, 0, 0))
    with pytest.raises(TypeError):
        Quantity(nS, SIEMENS_DIM)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        Quantity(True)


def test_quantities_are_immutable_and_pickle():
    q = 0.3 * nS
    with pytest.raises(AttributeError):
        q.value = 1.0  # type: ignore[misc]
    assert pickle.loads(pickle.dumps(q)) == q
    assert not hasattr(q, "__dict__")
    assert not hasattr(q, "__array__")


def test_arithmetic():
    assert 2 * nS + 3 * nS == 5 * nS
    assert (5 * nS - 3 * nS).value == pytest.approx(2e-9)
    assert nS * 2 == 2 * nS == Quantity(2e-9, SIEMENS_DIM)
    assert (nS * mV).dim == (0, 0, 0, 1, 0, 0, 0)
    assert (mV / ms).dim == (2, 1, -4, -1, 0, 0, 0)
    assert (1 / ms) == Quantity(1000.0, Hz.dim) == 1000 * Hz
    assert (ms * kHz).is_dimensionless and float(ms * kHz) == 1.0
    assert nS / nS == 1 and (nS / nS).is_dimensionless
    assert mV**2 == Quantity(1e-6, tuple(2 * d for d in VOLT_DIM))
    assert mV**-1 == unit_of("mV^-1")
    assert -mV == Quantity(-1e-3, VOLT_DIM) and +mV == mV and abs(-mV) == mV
    assert 2 ** Quantity(3.0) == 8
    assert mV ** Quantity(2.0) == mV**2
    assert sum([nS, 2 * nS, 3 * nS]) == 6 * nS
    assert 0 + nS == nS and nS + 0 == nS
    assert Quantity(2.0) + 1 == 3 and 1 + Quantity(2.0) == 3 and 5 - Quantity(2.0) == 3


def test_arithmetic_with_brian2_quantities_gives_quantities():
    for result in [nS * brian2.mV, brian2.mV * nS, mV + brian2.mV, brian2.mV + mV]:
        assert isinstance(result, Quantity)
    assert (nS * brian2.mV).value == pytest.approx(1e-12, rel=1e-15)  # a float product
    assert (nS * brian2.mV).dim == brian2_dims(brian2.nS * brian2.mV)
    assert brian2.mV + mV == 2 * mV
    assert float(unit_of("mV^-1") * brian2.mV) == 1.0


@pytest.mark.parametrize(
    "operation",
    [
        lambda: nS + mV,
        lambda: nS - mV,
        lambda: 1 + mV,
        lambda: 1 - mV,
        lambda: mV - 0,
        lambda: mV + brian2.nS,
        lambda: brian2.nS + mV,
        lambda: nS < mV,
        lambda: nS >= 1,
        lambda: mV ** (2 * ms),
        lambda: 2**mV,
    ],
)
def test_dimension_mismatch_raises(operation):
    with pytest.raises(DimensionMismatchError, match="dimensions .* differ"):
        operation()


def test_dimension_mismatch_message_names_both_dimensions():
    with pytest.raises(DimensionMismatchError) as info:
        nS + mV
    assert "S and V" in str(info.value)
    assert isinstance(info.value, TypeError)
    assert info.value.dims == (SIEMENS_DIM, VOLT_DIM)


def test_comparisons():
    assert nS < 2 * nS <= 2 * nS < 1 * siemens
    assert 2 * nS > nS and 2 * nS >= 2 * nS
    assert nS != mV and not (nS == mV)
    assert nS != 1e-9  # a bare number is dimensionless
    assert Quantity(0.5) < 1 and Quantity(0.5) == 0.5 and 1 > Quantity(0.5)
    assert nS > 0 and -mV < 0 and 0 < nS and Quantity(0.0, SIEMENS_DIM) == 0
    assert (nS == "nS") is False


def test_comparisons_with_brian2_quantities_both_ways():
    q = parse_quantity("0.732 nS", nS, "x")
    b = 0.732 * brian2.nS
    assert q == b and b == q
    assert not (q != b) and not (b != q)
    assert q < 1 * brian2.nS and 1 * brian2.nS > q
    assert q <= b and b >= q and b <= q
    assert q != 0.732 * brian2.mV and 0.732 * brian2.mV != q
    with pytest.raises(DimensionMismatchError):
        assert q < brian2.mV
    with pytest.raises(DimensionMismatchError):
        assert brian2.mV > q


def test_float_int_bool():
    assert float(3 * ms) == 0.003 == float(3 * brian2.ms)
    assert float(nS) == 1e-9
    assert int(Quantity(3.7, VOLT_DIM)) == 3
    assert bool(nS) and not bool(0 * nS)
    assert math.isfinite(nS)


def test_to_brian2_and_as_quantity():
    q = 0.7 * nS
    b = q.to_brian2()
    assert isinstance(b, brian2.Quantity)
    assert float(b) == q.value and brian2_dims(b) == SIEMENS_DIM
    assert b == 0.7 * brian2.nS
    assert (62 / volt).to_brian2() == 62 / brian2.volt
    assert as_quantity(b) == q and isinstance(as_quantity(b), Quantity)
    assert as_quantity(q) is q
    assert as_quantity(3 * brian2.ms) == 3 * ms
    assert as_quantity(2) == Quantity(2.0) and as_quantity(2.5).is_dimensionless
    for bad in [True, "1 nS", None, [1, 2]]:
        with pytest.raises(TypeError):
            as_quantity(bad)
    with pytest.raises(TypeError, match="scalar"):
        as_quantity(numpy.array([1.0, 2.0]) * brian2.nS)


def test_in_unit_repr_and_str():
    assert (0.732 * nS).in_unit("nS") == pytest.approx(0.732)
    assert (50 * Hz).in_unit("kHz") == pytest.approx(0.05)
    with pytest.raises(DimensionMismatchError):
        nS.in_unit("mV")
    assert repr(nS) == "1e-09 S" == str(nS)
    assert repr(Quantity(2.0)) == "2.0"
    assert repr(unit_of("mV^-1")) == "1000.0 V^-1"
    assert f"{0.732 * nS:.3g}" == "7.32e-10 S"
    # repr reads back for any dimensions
    odd = Quantity(1.5, (1, 2, -3, 0.5, 0, 1, -1))
    assert parse_quantity(repr(odd), odd, "x") == odd
    for q in [nS, mV, 3 * ms, mM, 1 / mV, kHz, nF * mV]:
        assert parse_quantity(str(q), q, "x") == q


# --------------------------------------------------------------------------------------------
# Parsing and writing
# --------------------------------------------------------------------------------------------


ROUND_TRIP_UNITS = ["nS", "mV", "ms", "Hz", "kHz", "nF", "mM"]
magnitudes = st.floats(min_value=1e-6, max_value=1e6, allow_nan=False, allow_infinity=False)


@given(number=magnitudes, unit=st.sampled_from(ROUND_TRIP_UNITS), negative=st.booleans())
def test_format_quantity_reads_back_exactly(number, unit, negative):
    number = -number if negative else number
    q = number * UNITS[unit]
    text = format_quantity(q, unit)
    assert text.endswith(f" {unit}")
    assert parse_quantity(text, UNITS[unit], "x") == q


@given(number=magnitudes, unit=st.sampled_from(ROUND_TRIP_UNITS))
def test_format_quantity_keeps_what_was_written(number, unit):
    written = f"{number:.12g}"
    q = parse_quantity(f"{written} {unit}", UNITS[unit], "x")
    text = format_quantity(q, unit)
    assert float(text.split()[0]) == float(written)
    assert parse_quantity(text, UNITS[unit], "x") == q


def test_format_quantity_examples():
    assert format_quantity(parse_quantity("0.732 nS", nS, "x"), "nS") == "0.732 nS"
    assert format_quantity(15 * ms, "ms") == "15.0 ms"
    assert format_quantity(0.062 / brian2.mV, "mV^-1") == "0.062 mV^-1"
    assert format_quantity(2.5, "") == "2.5 "
    with pytest.raises(DimensionMismatchError):
        format_quantity(nS, "mV")


def test_parse_quantity_accepts_typed_values():
    assert parse_quantity(0.7 * nS, nS, "pfc.g_nmda_ee") == 0.7 * nS
    typed = parse_quantity(0.7 * brian2.nS, nS, "pfc.g_nmda_ee")
    assert isinstance(typed, Quantity) and typed == 0.7 * nS
    assert parse_quantity("0.7 nS", brian2.nS, "x", "nS") == 0.7 * nS  # a Brian2 expected
    assert parse_quantity(3, Quantity(1.0), "x") == 3.0
    assert parse_quantity("1e3 ms", second, "x") == second


def test_parse_quantity_units_written_two_ways_are_equal():
    expected = unit_of("mV^-1")
    caret = parse_quantity("0.062 mV^-1", expected, "synapses.mg_slope")
    slash = parse_quantity("0.062 /mV", expected, "synapses.mg_slope")
    assert caret == slash == 62 / volt
    assert parse_quantity("3 pS", nS, "x") == parse_quantity("3 psiemens", nS, "x")


@pytest.mark.parametrize(
    ("raw", "fragment"),
    [
        ("3 foo", "unknown unit 'foo'"),
        ("3 nS.__class__", "unknown unit '__class__'"),
        ("3 nS*deg", "unknown unit 'deg'"),
        ("3 nS**", "cannot read the unit"),
        ("3 (nS", "cannot read the unit"),
        ("3 nS)", "cannot read the unit"),
        ("3 nS$", "cannot read the unit"),
        ("3 nS mV", "cannot read the unit"),
        ("3 nS^mV", "cannot read the unit"),
        ("3 ms", "wrong dimensions, expected a quantity in nS"),
        ("3 mV/ms", "wrong dimensions, expected a quantity in nS"),
        ("3", "wrong dimensions, expected a quantity in nS"),
        ("nS", "expected a number followed by a unit in nS"),
        ("", "expected a number followed by a unit in nS"),
        ("nan nS", "expected a number followed by a unit in nS"),
        ("1e999 nS", "expected a finite number in nS"),
        ("1e300 TS", "expected a finite number in nS"),
        (3.0, "a bare number has no unit"),
        (3, "a bare number has no unit"),
        (True, "expected a quantity in nS"),
        (None, "expected a quantity in nS"),
        (["3 nS"], "expected a quantity in nS"),
        (3 * ms, "wrong dimensions, expected a quantity in nS"),
        (3 * brian2.ms, "wrong dimensions, expected a quantity in nS"),
        (Quantity(math.nan, SIEMENS_DIM), "expected a finite number in nS"),
        (Quantity(math.inf, SIEMENS_DIM), "expected a finite number in nS"),
        (math.inf * brian2.nS, "expected a finite number in nS"),
    ],
)
def test_parse_quantity_rejects(raw, fragment):
    with pytest.raises(BioattnError, match="pfc.g_nmda_ee") as info:
        parse_quantity(raw, nS, "pfc.g_nmda_ee", "nS")
    message = str(info.value)
    assert fragment in message
    assert "\n" not in message


def test_parse_quantity_names_the_expected_unit_by_default():
    with pytest.raises(BioattnError, match="expected a quantity in nS"):
        parse_quantity("3 ms", nS, "x")
    with pytest.raises(BioattnError, match="expected a quantity in mV"):
        parse_quantity("3 ms", brian2.mV, "x")
    with pytest.raises(BioattnError, match="expected a finite number in 1"):
        parse_quantity(math.inf, Quantity(1.0), "x")


def test_unit_of_rejects():
    with pytest.raises(BioattnError, match="unknown unit 'parsec'"):
        unit_of("parsec")
    with pytest.raises(BioattnError, match="cannot read the unit"):
        unit_of("mV^")
    with pytest.raises(BioattnError, match="cannot read the unit"):
        unit_of("mV/0")
    with pytest.raises(BioattnError, match="expected a unit written as text"):
        unit_of(3)  # type: ignore[arg-type]


def test_angles():
    assert parse_angle("72 deg", "topdown.sigma") == pytest.approx(math.radians(72))
    assert parse_angle("1.2 rad", "topdown.sigma") == 1.2
    assert parse_angle("-90 deg", "x") == pytest.approx(-math.pi / 2)
    assert units.ANGLE_UNITS == {"deg": math.pi / 180.0, "rad": 1.0}
    cases = [
        ("72", "expected an angle in deg or rad"),
        ("72 ms", "expected an angle in deg or rad"),
        ("nan deg", "expected an angle in deg or rad"),
        ("deg", "expected an angle in deg or rad"),
        ("1e999 deg", "expected a finite angle"),
        (72, "expected an angle with its unit"),
        (None, "expected an angle with its unit"),
    ]
    for raw, fragment in cases:
        with pytest.raises(BioattnError, match="topdown.sigma") as info:
            parse_angle(raw, "topdown.sigma")
        assert fragment in str(info.value)
