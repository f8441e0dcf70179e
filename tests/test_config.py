"""Model files: the default model, documentation, round trip, overrides and every bad input."""

from __future__ import annotations

import dataclasses
import math
import re
import tomllib
from pathlib import Path

import pytest

from bioattn import config, units
from bioattn.errors import BioattnError
from bioattn.units import mV, nS

DEFAULT_PATH = config.models_dir() / f"{config.DEFAULT_MODEL}.toml"
DEFAULT_TEXT = DEFAULT_PATH.read_text(encoding="utf-8")
PFC_NMDA_VALUE = 'g_nmda_ee = { value = "0.732 nS"'
PFC_N_EXC_VALUE = 'n_exc = { value = 1024, description = "pyramidal cells on the PFC ring"'


def edited(old: str, new: str) -> str:
    """The default model's text with the first ``old`` replaced by ``new``."""
    assert old in DEFAULT_TEXT, f"{old!r} is no longer in {DEFAULT_PATH}; update the test"
    return DEFAULT_TEXT.replace(old, new, 1)


def without_line(start: str) -> str:
    """The default model's text without the (single) line that starts with ``start``."""
    lines = DEFAULT_TEXT.splitlines(keepends=True)
    matching = [line for line in lines if line.startswith(start)]
    assert len(matching) == 1, f"expected one line starting with {start!r} in {DEFAULT_PATH}"
    return "".join(line for line in lines if not line.startswith(start))


def without_table(section: str) -> str:
    """The default model's text without the table ``[section]`` (its header and its lines)."""
    pattern = rf"(?m)^\[{re.escape(section)}\]\n(?:^(?!\[).*\n)*"
    text, count = re.subn(pattern, "", DEFAULT_TEXT)
    assert count == 1, f"expected one [{section}] table in {DEFAULT_PATH}"
    return text


def write_model(tmp_path: Path, text: str, name: str = "edited.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def field_count(model: config.Model) -> int:
    return sum(len(dataclasses.fields(obj)) for obj in model.sections.values())


# --------------------------------------------------------------------------------------------
# The default model
# --------------------------------------------------------------------------------------------


def test_default_model_loads_by_name_and_by_path():
    by_name = config.load_model()
    by_path = config.load_model(DEFAULT_PATH)
    assert by_name.name == config.DEFAULT_MODEL
    assert by_name.description
    assert by_name["pfc"].g_nmda_ee == 0.732 * nS
    assert by_name["pfc"].n_exc == 1024
    assert by_name["topdown"].sigma == pytest.approx(math.radians(72))
    assert config.to_raw(by_name) == config.to_raw(by_path)
    assert set(config.CIRCUITS["two_area"]) <= set(by_name.sections)


def test_every_parameter_has_a_description_and_a_source():
    model = config.load_model()
    rows = config.parameter_rows(model)
    assert len(rows) == field_count(model)
    missing = [name for name, _, description, source in rows if not description or not source]
    assert missing == []
    assert len(model.docs) == len(rows)


def test_parameter_rows_show_value_with_unit_description_and_source():
    model = config.load_model()
    rows = {row[0]: row for row in config.parameter_rows(model)}
    name, value, description, source = rows["pfc.g_nmda_ee"]
    assert value == "0.732 nS"
    assert (description, source) == model.docs["pfc.g_nmda_ee"]
    assert rows["pfc.n_exc"][1] == "1024"
    assert rows["topdown.sigma"][1] == "72.0 deg"


def test_to_toml_round_trip_gives_an_equal_model(tmp_path):
    model = config.load_model()
    text = config.to_toml(model)
    loaded = config.load_model(write_model(tmp_path, text, "resolved.toml"))
    assert config.to_raw(loaded) == config.to_raw(model)
    assert loaded.name == model.name
    assert dict(loaded.docs) == dict(model.docs)
    # A second round trip changes nothing either.
    assert config.to_toml(loaded) == text


def test_round_trip_keeps_overrides(tmp_path):
    model = config.load_model(overrides=["pfc.g_nmda_ee='0.3 nS'"])
    loaded = config.load_model(write_model(tmp_path, config.to_toml(model)))
    assert loaded["pfc"].g_nmda_ee == 0.3 * nS
    assert config.to_raw(loaded) == config.to_raw(model)


# --------------------------------------------------------------------------------------------
# Overrides
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "override",
    ["pfc.g_nmda_ee='0.3 nS'", 'pfc.g_nmda_ee="0.3 nS"', "pfc.g_nmda_ee=0.3 nS"],
)
def test_override_applies(override):
    model = config.load_model(overrides=[override])
    assert model["pfc"].g_nmda_ee == 0.3 * nS
    assert model["sensory"].g_nmda_ee == 0.093 * nS  # the same key in another section is untouched
    assert model.docs["pfc.g_nmda_ee"] == config.load_model().docs["pfc.g_nmda_ee"]


def test_overrides_of_counts_angles_and_numbers():
    model = config.load_model(
        overrides=[
            "pfc.n_exc=512",
            "topdown.sigma=36 deg",
            "pfc.j_plus=1.5",
            "cells.excitatory.E_L=-65 mV",
        ]
    )
    assert model["pfc"].n_exc == 512
    assert model["topdown"].sigma == pytest.approx(math.radians(36))
    assert model["pfc"].j_plus == 1.5
    assert model["cells.excitatory"].E_L == -65 * mV


def test_integration_method_is_a_structural_text_parameter_that_round_trips(tmp_path):
    model = config.load_model(overrides=["simulation.method=euler"])
    assert model["simulation"].method == "euler"
    assert config.load_model()["simulation"].method == "rk2"
    assert config.is_structural(model, "simulation.method")
    loaded = config.load_model(write_model(tmp_path, config.to_toml(model)))
    assert loaded["simulation"].method == "euler"
    assert model.replace({"simulation.method": "rk4"})["simulation"].method == "rk4"


STATES_KEY = "protocol.pulvinar_inactivation.states"


def test_typed_edits_written_as_set_texts_read_back_to_the_same_model():
    """The provenance of ``bioattn.run(set={...})`` records each typed edit as a ``--set`` text;
    every kind (quantity, angle, count, number, list of numbers, list of choices, text) must
    read back to the same value."""
    base = config.load_model("multi_item")
    edits = {
        "pfc.g_nmda_ee": 0.7 * nS,
        "topdown.sigma": math.radians(40.0),
        "simulation.method": "rk4",
        "protocol.ne_dose.levels": (1.0, 10.0, 100.0, 1000.0, 3000.0),
        "protocol.ne_dose.n_trials": 3,
        "neuromod.ne.alpha1.excitation": 0.5,
        STATES_KEY: ("intact", "inactivated"),
    }
    edited = base.replace(edits)
    texts = [config.override_text(edited, name) for name in edits]
    assert f'{STATES_KEY}=["intact", "inactivated"]' in texts
    again = base.with_overrides(texts)
    for name in edits:
        section, _, key = name.rpartition(".")
        assert getattr(again[section], key) == getattr(edited[section], key), name


def test_a_list_of_choices_parses_round_trips_and_is_structural(tmp_path):
    model = config.load_model("multi_item", overrides=[f'{STATES_KEY}=["intact", "inactivated"]'])
    assert model[STATES_KEY.rsplit(".", 1)[0]].states == ("intact", "inactivated")
    # Every state is a run of the same schedule on the same build (declared so).
    assert not config.is_structural(model, STATES_KEY)
    loaded = config.load_model(write_model(tmp_path, config.to_toml(model)))
    assert loaded[STATES_KEY.rsplit(".", 1)[0]].states == ("intact", "inactivated")


@pytest.mark.parametrize(
    ("value", "what"),
    [
        ('["intact", "asleep"]', "non-empty list of intact, inactivated"),
        ("[]", "non-empty list"),
        ('"intact"', "non-empty list"),
        ("[1, 2]", "non-empty list"),
        ('["intact", "intact"]', "each of its items once"),
        ('["inactivated", "both_silenced"]', "expected 'intact' among them"),
    ],
)
def test_a_list_of_choices_refuses_unknown_empty_and_repeated_items(value, what):
    with pytest.raises(BioattnError, match=f"{STATES_KEY} = .*{what}"):
        config.load_model("multi_item", overrides=[f"{STATES_KEY}={value}"])


@pytest.mark.parametrize(
    ("model_name", "name", "expected"),
    [
        (None, "simulation.method",
         "one of euler, rk2, rk4; files written before it existed ran with 'euler'"),
        ("multi_item", "spatial_cue.stabilization",
         "float; files written before it existed ran with 0.0"),
    ],
)  # fmt: skip
def test_a_model_file_without_a_newer_parameter_names_what_older_files_ran_with(
    tmp_path, model_name, name, expected
):
    model = config.load_model(model_name) if model_name else config.load_model()
    key = name.split(".")[-1]
    text = "\n".join(
        line for line in config.to_toml(model).splitlines() if not line.startswith(f"{key} = ")
    )
    with pytest.raises(BioattnError) as info:
        config.load_model(write_model(tmp_path, text))
    assert str(info.value) == f"{name}: missing parameter ({expected})"


def test_with_overrides_matches_load_model_overrides():
    base = config.load_model()
    assert config.to_raw(base.with_overrides(["pfc.g_nmda_ee='0.3 nS'"])) == config.to_raw(
        config.load_model(overrides=["pfc.g_nmda_ee='0.3 nS'"])
    )
    assert base["pfc"].g_nmda_ee == 0.732 * nS  # the original is frozen


@pytest.mark.parametrize(
    ("override", "expected"),
    [
        ("pfc.g_foo=1 nS", ["pfc.g_foo", "unknown parameter"]),
        ("thalamus.g_foo=1 nS", ["thalamus", "unknown section"]),
        ("pfc.g_nmda_ee", ["pfc.g_nmda_ee", "section.key=value"]),
        ("pfc.g_nmda_ee=3 ms", ["pfc.g_nmda_ee", "3 ms", "nS"]),
        ("pfc.g_nmda_ee=-1 nS", ["pfc.g_nmda_ee", "-1 nS", "non-negative"]),
        ("pfc.n_exc=0", ["pfc.n_exc", "0", ">= 1"]),
        ("pfc.j_plus=nan", ["pfc.j_plus", "nan", "NaN"]),
        ("simulation.method=heun", ["simulation.method", "heun", "euler, rk2, rk4"]),
        ("simulation.method=2", ["simulation.method", "2", "one of"]),
    ],
)
def test_bad_override_is_an_error_naming_it(override, expected):
    with pytest.raises(BioattnError) as info:
        config.load_model(overrides=[override])
    message = str(info.value)
    assert "\n" not in message
    for text in expected:
        assert text in message


# --------------------------------------------------------------------------------------------
# Bad model files
# --------------------------------------------------------------------------------------------


BAD_FILES = {
    "unknown key": (
        edited("[pfc]\n", '[pfc]\ng_foo = { value = "1 nS", description = "d", source = "s" }\n'),
        ["pfc.g_foo", "unknown parameter"],
    ),
    "unknown section": (
        DEFAULT_TEXT + '\n[thalamus]\ng = "1 nS"\n',
        ["thalamus", "unknown section"],
    ),
    "missing key": (without_line(PFC_NMDA_VALUE), ["pfc.g_nmda_ee", "missing"]),
    "missing section": (without_table("erase"), ["missing section [erase]"]),
    "misspelt section": (edited("[erase]\n", "[erase_typo]\n"), ["erase_typo", "unknown section"]),
    "wrong dimension": (
        edited(PFC_NMDA_VALUE, 'g_nmda_ee = { value = "3 ms"'),
        ["pfc.g_nmda_ee", "'3 ms'", "nS"],
    ),
    "nan": (edited(PFC_NMDA_VALUE, 'g_nmda_ee = { value = "nan nS"'), ["pfc.g_nmda_ee", "nan nS"]),
    "infinite": (
        edited(PFC_NMDA_VALUE, 'g_nmda_ee = { value = "1e999 nS"'),
        ["pfc.g_nmda_ee", "1e999 nS", "finite"],
    ),
    "negative conductance": (
        edited(PFC_NMDA_VALUE, 'g_nmda_ee = { value = "-0.732 nS"'),
        ["pfc.g_nmda_ee", "-0.732 nS", "non-negative"],
    ),
    "negative count": (
        edited(PFC_N_EXC_VALUE, PFC_N_EXC_VALUE.replace("1024", "-5")),
        ["pfc.n_exc", "-5", ">= 1"],
    ),
    "fractional count": (
        edited(PFC_N_EXC_VALUE, PFC_N_EXC_VALUE.replace("1024", "10.5")),
        ["pfc.n_exc", "10.5", "whole number"],
    ),
    "bare number": (
        edited(PFC_NMDA_VALUE, "g_nmda_ee = { value = 0.732"),
        ["pfc.g_nmda_ee", "0.732", "no unit"],
    ),
    "unknown unit": (
        edited(PFC_NMDA_VALUE, 'g_nmda_ee = { value = "3 foo"'),
        ["pfc.g_nmda_ee", "3 foo", "unknown unit 'foo'"],
    ),
    "angle without unit": (
        edited('sigma = { value = "72 deg"', 'sigma = { value = "72"'),
        ["topdown.sigma", "'72'", "deg"],
    ),
    "angle as a bare number": (
        edited('sigma = { value = "72 deg"', "sigma = { value = 72"),
        ["topdown.sigma", "72", "deg"],
    ),
    "angle in a unit that is no angle": (
        edited('sigma = { value = "72 deg"', 'sigma = { value = "72 ms"'),
        ["topdown.sigma", "72 ms", "deg"],
    ),
    "unknown entry key": (
        edited(PFC_NMDA_VALUE, 'g_nmda_ee = { valu = "0.732 nS"'),
        ["pfc.g_nmda_ee", "valu"],
    ),
    "malformed toml": (edited("[pfc]\n", "[pfc\n"), ["edited.toml", "malformed TOML"]),
}


@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_bad_model_file_is_an_error_naming_the_key_and_value(tmp_path, case):
    text, expected = BAD_FILES[case]
    path = write_model(tmp_path, text)
    with pytest.raises(BioattnError) as info:
        config.load_model(path)
    message = str(info.value)
    assert "\n" not in message
    for fragment in expected:
        assert fragment in message, f"{fragment!r} not in {message!r}"


def test_missing_model_file_is_an_error_naming_it(tmp_path):
    with pytest.raises(BioattnError, match="absent.toml.*not found"):
        config.load_model(tmp_path / "absent.toml")
    with pytest.raises(BioattnError, match="no_such_model.*not found.*ardid2007"):
        config.load_model("no_such_model")


def test_directory_as_model_file_is_an_error(tmp_path):
    with pytest.raises(BioattnError, match="not found"):
        config.load_model(tmp_path)


def test_undecodable_model_file_is_an_error(tmp_path):
    path = tmp_path / "latin1.toml"
    path.write_bytes(DEFAULT_TEXT.replace("port", "p\xf6rt").encode("latin-1"))
    with pytest.raises(BioattnError, match="latin1.toml"):
        config.load_model(path)


# --------------------------------------------------------------------------------------------
# Units and angles
# --------------------------------------------------------------------------------------------


def test_angle_parsing():
    assert units.parse_angle("72 deg", "topdown.sigma") == pytest.approx(1.2566, abs=1e-4)
    assert units.parse_angle("1.2 rad", "topdown.sigma") == pytest.approx(1.2)
    for bad in ["72", 72, "72 ms", "nan deg", "deg"]:
        with pytest.raises(BioattnError, match="topdown.sigma"):
            units.parse_angle(bad, "topdown.sigma")


def test_inverse_units_written_two_ways_are_equal():
    expected = units.unit_of("mV^-1")
    caret = units.parse_quantity("0.062 mV^-1", expected, "synapses.mg_slope")
    slash = units.parse_quantity("0.062 /mV", expected, "synapses.mg_slope")
    assert float(caret * mV) == pytest.approx(0.062)
    assert float(slash * mV) == pytest.approx(float(caret * mV), rel=1e-12)


def test_mg_slope_written_with_a_slash_loads(tmp_path):
    path = write_model(tmp_path, edited('"0.062 mV^-1"', '"0.062 /mV"'))
    assert float(config.load_model(path)["synapses"].mg_slope * mV) == pytest.approx(0.062)


@pytest.mark.parametrize(
    ("raw", "fragment"),
    [
        ("3 foo", "unknown unit 'foo'"),
        ("3 nS.__class__", "unknown unit '__class__'"),
        ("3 nS**", "cannot read the unit"),
        ("3 ms", "wrong dimensions"),
        ("nS", "expected a number"),
        (3.0, "bare number"),
        (True, "expected a quantity"),
    ],
)
def test_parse_quantity_rejects(raw, fragment):
    with pytest.raises(BioattnError, match="pfc.g_nmda_ee") as info:
        units.parse_quantity(raw, nS, "pfc.g_nmda_ee", "nS")
    assert fragment in str(info.value)


def test_format_quantity_reads_back():
    value = units.parse_quantity("0.732 nS", nS, "pfc.g_nmda_ee", "nS")
    text = units.format_quantity(value, "nS")
    assert text == "0.732 nS"
    assert units.parse_quantity(text, nS, "x", "nS") == value


# --------------------------------------------------------------------------------------------
# Regressions
# --------------------------------------------------------------------------------------------


def test_format_quantity_writes_no_float_noise():
    rows = {row[0]: row[1] for row in config.parameter_rows(config.load_model())}
    assert rows["sensory.g_ext_e"] == "15.0 nS"
    assert rows["pfc.g_gaba_ie"] == "3.74 nS"


def test_to_toml_escapes_multiline_text(tmp_path):
    text = edited('source = "Jahr & Stevens 1990" }', 'source = "Jahr & Stevens 1990\\nline 2" }')
    model = config.load_model(write_model(tmp_path, text))
    tomllib.loads(config.to_toml(model))


def test_meta_that_is_not_a_table_is_an_error(tmp_path):
    text = 'meta = "x"\n' + without_table("meta")
    with pytest.raises(BioattnError, match="meta"):
        config.load_model(write_model(tmp_path, text))


def test_param_declarations_that_cannot_be_checked_are_refused():
    with pytest.raises(ValueError, match="choices go with"):
        config.param("text")
    with pytest.raises(ValueError, match="choices go with"):
        config.param("texts")
    with pytest.raises(ValueError, match="choices go with"):
        config.param("float", choices=("a",))
    with pytest.raises(ValueError, match="required items go with"):
        config.param("texts", choices=("a", "b"), required=("c",))
    with pytest.raises(ValueError, match="required items go with"):
        config.param("text", choices=("a", "b"), required=("a",))
    with pytest.raises(ValueError, match="at_most goes with kind 'float' only"):
        config.param("nS", at_most=1.0)


def test_the_attentional_stabilisation_is_a_fraction():
    for bad, what in (("1.5", "<= 1"), ("-0.1", "non-negative"), ("nan", "NaN")):
        with pytest.raises(BioattnError, match=f"spatial_cue.stabilization = .*{what}"):
            config.load_model("multi_item", overrides=[f"spatial_cue.stabilization={bad}"])
