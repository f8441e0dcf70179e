"""Sweep grids: the --grid syntax, grid points, validation against a model, sweep files.

No test here runs a simulation.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from bioattn.errors import BioattnError
from bioattn.sweep import grid
from bioattn.sweep.grid import (
    MAX_SEED,
    Axis,
    SweepSpec,
    expand,
    load_sweep_file,
    parse_axis,
    parse_grid,
    sweep_file_text,
    validate,
)

# -- syntax ------------------------------------------------------------------------------------


def test_linspace_with_unit_gives_the_values_a_user_reads():
    axis = parse_axis("pfc.g_nmda_ee=0.5:0.8:4 nS")
    assert axis.name == "pfc.g_nmda_ee"
    assert axis.values == (0.5, 0.6, 0.7, 0.8)
    assert all(isinstance(v, float) for v in axis.values)
    assert axis.unit == "nS"
    assert axis.texts == ("0.5 nS", "0.6 nS", "0.7 nS", "0.8 nS")
    assert axis.text(0.6) == "0.6 nS"


def test_linspace_rounds_to_twelve_significant_digits():
    assert parse_axis("stimulus.kappa=0:1:11").values == tuple(i / 10 for i in range(11))
    assert parse_axis("stimulus.kappa=0.1:0.3:3").values == (0.1, 0.2, 0.3)
    assert parse_axis("pfc.g_nmda_ee=1e-3:3e-3:3 nS").texts == ("0.001 nS", "0.002 nS", "0.003 nS")


def test_linspace_of_one_value_gives_start():
    assert parse_axis("pfc.g_nmda_ee=0.5:0.8:1 nS").values == (0.5,)


def test_linspace_between_whole_numbers_keeps_whole_values_integers():
    axis = parse_axis("scene.n_locations=2:6:3")
    assert axis.values == (2, 4, 6)
    assert all(isinstance(v, int) for v in axis.values)
    assert axis.texts == ("2", "4", "6")
    floats = parse_axis("stimulus.kappa=1:2:3")
    assert floats.values == (1.0, 1.5, 2.0)
    assert floats.texts == ("1.0", "1.5", "2.0")


def test_negative_linspace():
    assert parse_axis("cells.excitatory.E_L=-70:-60:3 mV").texts == ("-70 mV", "-65 mV", "-60 mV")


def test_integer_range():
    axis = parse_axis("scene.n_locations=2..4")
    assert axis.values == (2, 3, 4)
    assert axis.unit is None
    assert axis.texts == ("2", "3", "4")
    assert parse_axis("scene.n_locations=3..3").values == (3,)


def test_list_of_numbers_with_and_without_unit():
    axis = parse_axis("stimulus.kappa=1.5,2,2.5")
    assert axis.values == (1.5, 2.0, 2.5)
    assert axis.texts == ("1.5", "2.0", "2.5")
    ints = parse_axis("pfc.n_exc=512,1024")
    assert ints.values == (512, 1024) and ints.texts == ("512", "1024")
    assert all(isinstance(v, int) for v in ints.values)
    units = parse_axis("pfc.g_nmda_ee = 0.5, 0.7 nS")
    assert units.values == (0.5, 0.7) and units.texts == ("0.5 nS", "0.7 nS")
    assert parse_axis("synapses.mg_slope=0.05,0.07 mV^-1").texts == (
        "0.05 mV^-1",
        "0.07 mV^-1",
    )


def test_single_value_is_a_one_element_axis():
    axis = parse_axis("pfc.g_nmda_ee=0.7 nS")
    assert axis.values == (0.7,)
    assert axis.texts == ("0.7 nS",)


def test_seeds():
    assert parse_axis("seed=1..8").values == tuple(range(1, 9))
    seeds = parse_axis("seed=3,5")
    assert seeds.values == (3, 5) and seeds.is_seed and seeds.unit is None
    assert seeds.texts == ("3", "5")
    assert parse_axis(f"seed=0,{MAX_SEED}").values == (0, MAX_SEED)


def test_values_text_round_trips():
    for spec in (
        "pfc.g_nmda_ee=0.5:0.8:4 nS",
        "seed=1..8",
        "seed=3,5",
        "stimulus.kappa=1.5,2,2.5",
        "pfc.n_exc=512,1024",
        "pfc.g_nmda_ee=1e-07,2.5e+20 nS",
    ):
        axis = parse_axis(spec)
        again = parse_axis(f"{axis.name}={axis.values_text()}")
        assert again == axis
        assert [type(v) for v in again.values] == [type(v) for v in axis.values]
    assert parse_axis("seed=1..8").values_text() == "1..8"
    assert parse_axis("pfc.g_nmda_ee=0.5:0.8:4 nS").values_text() == "0.5,0.6,0.7,0.8 nS"


def test_axis_equality_ignores_how_it_was_written():
    assert parse_axis("seed=1..3") == parse_axis("seed = 1,2,3")
    assert parse_axis("stimulus.kappa=1:2:3") == Axis("stimulus.kappa", (1.0, 1.5, 2.0))


BAD_SPECS = [
    ("pfc.g_nmda_ee 0.5 nS", "expected NAME=START:STOP:N"),
    ("=1,2", "empty parameter name"),
    (" =1,2", "empty parameter name"),
    ("g_nmda_ee=1,2", "expected section.key"),
    ("pfc.g_nmda_ee=", "no values"),
    ("pfc.g_nmda_ee=0.5:0.8:0 nS", "empty range (0 values)"),
    ("pfc.g_nmda_ee=0.5:0.8:-2 nS", "with N >= 1"),
    ("pfc.g_nmda_ee=0.5:0.8:2.5 nS", "not a whole number"),
    ("pfc.g_nmda_ee=0.5:0.8 nS", "expected START:STOP:N"),
    ("pfc.g_nmda_ee=0.5:abc:3 nS", "'abc' is not a number"),
    ("scene.n_locations=4..2", "empty range 4..2"),
    ("scene.n_locations=1..", "expected A..B"),
    ("scene.n_locations=1.5..3", "'1.5' is not a whole number"),
    ("pfc.g_nmda_ee=1..3 nS", "takes no unit"),
    ("pfc.g_nmda_ee=0.5,,0.7 nS", "empty value in the list"),
    ("pfc.g_nmda_ee=0.5,x nS", "'x' is not a number"),
    ("stimulus.kappa=nan", "'nan' is not a number"),
    ("stimulus.kappa=inf", "'inf' is not a number"),
    ("stimulus.kappa=abc", "'abc' is not a number"),
    ("stimulus.kappa=1,2,1", "appears more than once"),
    ("seed=1.5", "seed 1.5 is not a whole number"),
    ("seed=1,2.5", "seed 2.5 is not a whole number"),
    ("seed=-1,2", "seed -1 is out of range"),
    (f"seed=1,{MAX_SEED + 1}", f"seed {MAX_SEED + 1} is out of range"),
    ("seed=1..3 s", "takes no unit"),
    ("seed=1,2 s", "seeds take no unit"),
    ("seed=1:8:8", "cannot be a START:STOP:N range"),
    ("seed=x", "'x' is not a number"),
    ("seed=", "no values"),
]


@pytest.mark.parametrize(("spec", "expected"), BAD_SPECS)
def test_bad_grid_specs(spec, expected):
    with pytest.raises(BioattnError) as info:
        parse_axis(spec)
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(f"--grid {spec!r}: ")
    assert expected in message
    assert "expected" in message


def test_errors_name_their_origin():
    with pytest.raises(BioattnError, match=r"^sweep\.toml \[grid\] 'seed=x': "):
        parse_axis("seed=x", origin="sweep.toml [grid]")


def test_parse_grid_refuses_an_axis_given_twice():
    axes = parse_grid(["pfc.g_nmda_ee=0.5:0.8:4 nS", "seed=1..2"])
    assert [a.name for a in axes] == ["pfc.g_nmda_ee", "seed"]
    with pytest.raises(BioattnError) as info:
        parse_grid(["seed=1..2", "pfc.g_nmda_ee=0.5 nS", "seed=3,4"])
    message = str(info.value)
    assert message.startswith("--grid 'seed=3,4': ")
    assert "'seed' is given twice" in message and "expected" in message


# -- grid points -------------------------------------------------------------------------------


def test_expand_is_the_cartesian_product_last_axis_fastest():
    axes = parse_grid(["pfc.g_nmda_ee=0.5:0.8:4 nS", "stimulus.kappa=1,2", "seed=1..3"])
    points = expand(axes)
    assert len(points) == 4 * 2 * 3
    assert [p.index for p in points[:4]] == [(0, 0, 0), (0, 0, 1), (0, 0, 2), (0, 1, 0)]
    assert points[-1].index == (3, 1, 2)
    first, fifth = points[0], points[4]
    assert first.coords == {"pfc.g_nmda_ee": 0.5, "stimulus.kappa": 1, "seed": 1}
    assert first.overrides == {"pfc.g_nmda_ee": "0.5 nS", "stimulus.kappa": "1"}
    assert first.seed == 1
    assert fifth.overrides == {"pfc.g_nmda_ee": "0.5 nS", "stimulus.kappa": "2"}
    assert fifth.seed == 2
    assert points[-1].overrides["pfc.g_nmda_ee"] == "0.8 nS" and points[-1].seed == 3
    assert first.override_args() == ["pfc.g_nmda_ee=0.5 nS", "stimulus.kappa=1"]
    assert len({p.index for p in points}) == len(points)


def test_expand_without_seed_axis_uses_the_default_seed():
    points = expand(parse_grid(["stimulus.kappa=1,2"]), default_seed=7)
    assert [p.seed for p in points] == [7, 7]
    assert all("seed" not in p.coords for p in points)
    assert expand(parse_grid(["stimulus.kappa=1,2"]))[0].seed == 1
    assert expand([]) == [grid.GridPoint(index=(), coords={}, overrides={}, seed=1)]


def test_seed_axis_first_still_keeps_the_seed_out_of_the_overrides():
    points = expand(parse_grid(["seed=5,6", "stimulus.kappa=1.5"]))
    assert [(p.seed, p.overrides) for p in points] == [
        (5, {"stimulus.kappa": "1.5"}),
        (6, {"stimulus.kappa": "1.5"}),
    ]


# -- grid modules stay free of Brian2 ----------------------------------------------------------


def test_grid_and_store_do_not_import_brian2():
    code = (
        "import sys\n"
        "import bioattn.sweep.grid, bioattn.sweep.store, bioattn.sweep.merge, bioattn.sweep\n"
        "assert 'brian2' not in sys.modules, sorted(m for m in sys.modules if 'brian' in m)\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


# -- validation against a model ----------------------------------------------------------------


@pytest.fixture(scope="module")
def model():
    from bioattn import config

    return config.load_model("ardid2007")


def test_valid_axes_pass(model):
    axes = parse_grid(
        [
            "pfc.g_nmda_ee=0.5:0.8:4 nS",
            "stimulus.kappa=1.5,2,2.5",
            "protocol.feature_attention.contrast=0.5,1",
            "seed=1..3",
        ]
    )
    validate(axes, model)
    validate(axes, model, fixed={"stimulus.nu_max_e": "500 Hz"})


def _validation_error(axes_specs, model, **kwargs) -> str:
    with pytest.raises(BioattnError) as info:
        validate(parse_grid(axes_specs), model, **kwargs)
    message = str(info.value)
    assert "\n" not in message
    return message


def test_unknown_parameter(model):
    message = _validation_error(["pfc.g_foo=1,2 nS"], model)
    assert message.startswith("--grid 'pfc.g_foo=1,2 nS': pfc.g_foo: ")
    assert "unknown parameter" in message


def test_unknown_section(model):
    message = _validation_error(["nosuch.g=1,2 nS"], model)
    assert message.startswith("--grid 'nosuch.g=1,2 nS': nosuch.g")


def test_wrong_unit(model):
    message = _validation_error(["pfc.g_nmda_ee=0.5,3 ms"], model)
    assert message.startswith("--grid 'pfc.g_nmda_ee=0.5,3 ms': pfc.g_nmda_ee")
    assert "3 ms" in message and "nS" in message


def test_negative_value(model):
    message = _validation_error(["pfc.g_nmda_ee=-0.1:0.5:4 nS"], model)
    assert message.startswith("--grid 'pfc.g_nmda_ee=-0.1:0.5:4 nS': pfc.g_nmda_ee")
    assert "non-negative" in message


def test_structural_parameter_refused_unless_allowed(model):
    message = _validation_error(["pfc.n_exc=512,1024"], model)
    assert message.startswith("--grid 'pfc.n_exc=512,1024': ")
    assert "changes the network's structure" in message
    assert "one build per value" in message and "--allow-rebuild" in message
    validate(parse_grid(["pfc.n_exc=512,1024"]), model, allow_structural=True)


def test_structural_parameter_with_bad_values_still_reports_the_values(model):
    message = _validation_error(["pfc.n_exc=512,0.5"], model, allow_structural=True)
    assert "pfc.n_exc" in message and "whole number" in message


def test_axis_also_fixed_is_refused(model):
    message = _validation_error(
        ["stimulus.kappa=1,2"], model, fixed={"stimulus.kappa": "2.0", "pfc.g_ext_e": "3 nS"}
    )
    assert message.startswith("--grid 'stimulus.kappa=1,2': ")
    assert "set twice" in message and "--set" in message


def test_seed_axis_is_not_a_parameter(model):
    validate(parse_grid(["seed=1..4"]), model)


# -- sweep files -------------------------------------------------------------------------------

GOOD_FILE = """\
protocol = "feature-attention"
model = "ardid2007"
trials = 2
scale = 0.5
target = "numpy"
allow_rebuild = true

[grid]
"pfc.g_nmda_ee" = "0.5:0.8:4 nS"
seed = "1..8"

[set]
"stimulus.kappa" = "2.0"
"stimulus.nu_max_e" = "500 Hz"
"stimulus.contrast_c50" = 0.25
"pfc.n_inh" = 128
"protocol.contrast_response.contrasts" = [0.1, 1.0]
"""


def _write(tmp_path, text, name="sweep.toml"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_good_sweep_file(tmp_path):
    spec = load_sweep_file(_write(tmp_path, GOOD_FILE))
    assert spec.protocol == "feature-attention"
    assert spec.model == "ardid2007"
    assert spec.n_trials == 2
    assert spec.scale == 0.5
    assert spec.target == "numpy"
    assert spec.allow_structural is True
    assert spec.seed == 1
    assert [a.name for a in spec.axes] == ["pfc.g_nmda_ee", "seed"]
    assert spec.axes[0].values == (0.5, 0.6, 0.7, 0.8) and spec.axes[0].unit == "nS"
    assert spec.axes[1].values == tuple(range(1, 9))
    assert spec.fixed == {
        "stimulus.kappa": "2.0",
        "stimulus.nu_max_e": "500 Hz",
        "stimulus.contrast_c50": "0.25",
        "pfc.n_inh": "128",
        "protocol.contrast_response.contrasts": "[0.1, 1.0]",
    }
    assert len(spec.points()) == 32


def test_dotted_keys_without_quotes(tmp_path):
    text = 'protocol = "p"\n[grid]\npfc.g_nmda_ee = "0.5,0.7 nS"\n[grid.stimulus]\nkappa = "1,2"\n'
    text += "[set]\ncue.kappa = 2.5\n"
    spec = load_sweep_file(_write(tmp_path, text))
    assert [a.name for a in spec.axes] == ["pfc.g_nmda_ee", "stimulus.kappa"]
    assert spec.fixed == {"cue.kappa": "2.5"}


def test_minimal_sweep_file_has_defaults(tmp_path):
    spec = load_sweep_file(_write(tmp_path, 'protocol = "working-memory"\n[grid]\nseed = "3,5"\n'))
    assert spec == SweepSpec(protocol="working-memory", axes=(parse_axis("seed=3,5"),))
    assert spec.model is None and spec.n_trials is None and spec.scale == 1.0
    assert spec.target == "cpp_standalone" and spec.allow_structural is False
    assert spec.fixed == {}


def test_model_path_is_relative_to_the_sweep_file(tmp_path):
    (tmp_path / "sub").mkdir()
    path = _write(
        tmp_path / "sub", 'protocol = "p"\nmodel = "../m.toml"\n[grid]\nseed = "1"\n', "s.toml"
    )
    assert load_sweep_file(path).model == str(tmp_path / "m.toml")


def test_sweep_file_text_round_trips(tmp_path):
    spec = load_sweep_file(_write(tmp_path, GOOD_FILE))
    text = sweep_file_text(spec, header="written by a test\nsecond line")
    assert text.startswith("# written by a test\n# second line\n")
    again = load_sweep_file(_write(tmp_path, text, "again.toml"))
    assert again == spec
    for spec in (
        SweepSpec(protocol="p", axes=(parse_axis("stimulus.kappa=1.5,2"),), seed=9),
        SweepSpec(
            protocol='we"ird',
            model=str(tmp_path / "m.toml"),
            axes=tuple(parse_grid(["pfc.n_exc=2:6:3", "pfc.g_nmda_ee=1e-07,0.3 nS"])),
            fixed={"a.b": 'x "y"'},
        ),
    ):
        path = _write(tmp_path, sweep_file_text(spec), "more.toml")
        assert load_sweep_file(path) == spec


BAD_FILES = [
    ("protocol = \n", "malformed TOML"),
    ('protocol = "p"\nsweep = 1\n[grid]\nseed = "1"\n', "unknown key 'sweep'; expected protocol"),
    ('[grid]\nseed = "1"\n', "missing protocol"),
    ('protocol = 3\n[grid]\nseed = "1"\n', "protocol = 3; expected a protocol name"),
    ('protocol = ""\n[grid]\nseed = "1"\n', "expected a protocol name"),
    ('protocol = "p"\n', "missing [grid]"),
    ('protocol = "p"\n[grid]\n', "expected a non-empty table of axes"),
    ('protocol = "p"\ngrid = "seed=1..2"\n', "expected a non-empty table of axes"),
    ('protocol = "p"\n[grid]\nseed = 3\n', "[grid] 'seed' = 3; expected a string"),
    ('protocol = "p"\n[grid]\nseed = "1.5"\n', "seed 1.5 is not a whole number"),
    ('protocol = "p"\nmodel = 1\n[grid]\nseed = "1"\n', "model = 1; expected a model name"),
    ('protocol = "p"\ntrials = "2"\n[grid]\nseed = "1"\n', "trials = '2'; expected a whole"),
    ('protocol = "p"\ntrials = 0\n[grid]\nseed = "1"\n', "trials = 0; expected a whole number"),
    ('protocol = "p"\ntrials = true\n[grid]\nseed = "1"\n', "trials = True; expected"),
    ('protocol = "p"\nscale = "1"\n[grid]\nseed = "1"\n', "scale = '1'; expected a number"),
    ('protocol = "p"\nscale = -1.0\n[grid]\nseed = "1"\n', "scale = -1.0; expected a finite"),
    ('protocol = "p"\nscale = nan\n[grid]\nseed = "1"\n', "scale = nan; expected a finite"),
    ('protocol = "p"\ntarget = 1\n[grid]\nseed = "1"\n', "target = 1; expected a code-gen"),
    ('protocol = "p"\nallow_rebuild = 1\n[grid]\nseed = "1"\n', "expected true or false"),
    ('protocol = "p"\nseed = -1\n[grid]\nx.y = "1"\n', "seed = -1; expected a whole number"),
    ('protocol = "p"\nset = 1\n[grid]\nseed = "1"\n', "set = 1; expected a [set] table"),
    ('protocol = "p"\n[grid]\nseed = "1"\n[set]\n"a.b" = true\n', "[set] 'a.b' = True"),
    ('protocol = "p"\n[grid]\nseed = "1"\n[set]\n"a.b" = 1979-05-27\n', "[set] 'a.b' ="),
    ('protocol = "p"\n[grid]\nseed = "1"\n[set]\n"a.b" = [true]\n', "[set] 'a.b' ="),
    ('protocol = "p"\n[grid]\nseed = "1"\n[set]\n"a.b" = []\n', "[set] 'a.b' ="),
    ('protocol = "p"\n[grid]\nseed = "1"\n[set]\n"a.b" = nan\n', "[set] 'a.b' = nan"),
]


@pytest.mark.parametrize(("text", "expected"), BAD_FILES)
def test_bad_sweep_files(tmp_path, text, expected):
    path = _write(tmp_path, text)
    with pytest.raises(BioattnError) as info:
        load_sweep_file(path)
    message = str(info.value)
    assert "\n" not in message
    assert str(path) in message
    assert expected in message


def test_missing_sweep_file(tmp_path):
    path = tmp_path / "nope.toml"
    with pytest.raises(BioattnError, match="not found; expected a TOML sweep file") as info:
        load_sweep_file(path)
    assert str(path) in str(info.value)


def test_sweep_file_that_is_a_directory(tmp_path):
    with pytest.raises(BioattnError, match="not found"):
        load_sweep_file(tmp_path)


def test_bad_grid_in_a_file_names_the_file_and_table(tmp_path):
    path = _write(tmp_path, 'protocol = "p"\n[grid]\n"pfc.g" = "1..3 nS"\n')
    with pytest.raises(BioattnError) as info:
        load_sweep_file(path)
    assert str(info.value).startswith(f"sweep file {path} [grid] 'pfc.g=1..3 nS': ")


def test_parse_fixed_and_spec_containers():
    assert grid.parse_fixed(["stimulus.kappa=2.0", " pfc.g_ext_e = 3 nS"]) == {
        "stimulus.kappa": "2.0",
        "pfc.g_ext_e": "3 nS",
    }
    assert grid.parse_fixed(["a.b=1", "a.b=2"]) == {"a.b": "2"}
    with pytest.raises(BioattnError, match=r"^--set 'a\.b': expected section\.key=value"):
        grid.parse_fixed(["a.b"])
    built = SweepSpec(protocol="p", axes=[parse_axis("seed=1..2")], scale=1)
    assert built == SweepSpec(protocol="p", axes=(parse_axis("seed=1,2"),), scale=1.0)
    assert isinstance(built.axes, tuple) and isinstance(built.scale, float)
