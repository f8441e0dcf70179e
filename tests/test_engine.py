"""The engine: one build per structure, re-runs with new values give the spikes of a fresh build;
the layers (config without Brian2 or protocols); impossible settings refused."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from bioattn import cli, config
from bioattn.circuits.registry import structure_key
from bioattn.engine import Engine
from bioattn.errors import BioattnError
from bioattn.schedule import Schedule
from bioattn.units import Quantity, nS

SCALE = 0.25


def _schedule(model: config.Model, stim_angle: float = np.pi) -> Schedule:
    schedule = Schedule(float(model["simulation"].schedule_dt))
    schedule.add_trial(
        {},
        [
            ("settle", 0.1, {}),
            ("cue", 0.1, {"cue_angle": np.pi}),
            ("stimulus", 0.1, {"stim_angle": stim_angle, "contrast": 0.7}),
        ],
    )
    return schedule


def _perturbed(model: config.Model, factor: float) -> config.Model:
    """Every run-time (non-structural) number of the circuit sections times ``factor``,
    except signed ones (potentials: shifted by 1 %) — the harmonics counts stay the same."""
    edits = {}
    for section, obj in model.sections.items():
        if section.startswith("protocol.") or section == "simulation":
            continue
        for fld in dataclasses.fields(obj):
            name = f"{section}.{fld.name}"
            value = getattr(obj, fld.name)
            if config.is_structural(model, name) or fld.metadata["kind"] in ("floats", "degs"):
                continue
            if isinstance(value, Quantity) and fld.metadata["signed"]:
                edits[name] = value * 1.01
            elif isinstance(value, Quantity | float):
                edits[name] = value * factor
    return model.replace(edits)


def _assert_same_output(a, b) -> None:
    assert a.spikes.keys() == b.spikes.keys()
    for area in a.spikes:
        np.testing.assert_array_equal(a.t(area), b.t(area))
        np.testing.assert_array_equal(a.i(area), b.i(area))
    for name in a.traces:
        np.testing.assert_array_equal(a.traces[name][1], b.traces[name][1])


@pytest.fixture(scope="module")
def reruns(tmp_path_factory):
    """One engine: build for the default model, re-run with new values, seed and stimulus;
    a second engine builds the last configuration fresh."""
    model = config.load_model()
    changed = _perturbed(model, 1.03)
    assert structure_key(model, _schedule(model), SCALE) == structure_key(
        changed, _schedule(changed, 2.0), SCALE
    )
    root = tmp_path_factory.mktemp("engine")
    reused = Engine("cpp_standalone", root)
    first = reused.simulate(model, _schedule(model), seed=3, scale=SCALE)
    again = reused.simulate(model, _schedule(model), seed=3, scale=SCALE)
    other_seed = reused.simulate(model, _schedule(model), seed=4, scale=SCALE)
    rerun = reused.simulate(changed, _schedule(changed, 2.0), seed=4, scale=SCALE)
    # A fresh build of the last configuration: a new engine constructs, generates and builds
    # the network again (in the same project directory, so make has nothing to recompile).
    fresh = Engine("cpp_standalone", root)
    direct = fresh.simulate(changed, _schedule(changed, 2.0), seed=4, scale=SCALE)
    assert fresh.builds == 1 and direct.timings["built"]
    return {
        "root": root,
        "engine": reused,
        "first": first,
        "again": again,
        "other_seed": other_seed,
        "rerun": rerun,
        "direct": direct,
    }


def test_one_build_serves_new_values_seeds_and_stimuli(reruns):
    assert reruns["engine"].builds == 1
    assert reruns["engine"].runs == 4
    assert reruns["first"].timings["built"] and not reruns["rerun"].timings["built"]
    # A re-run costs a binary start, not a build: well under a tenth of the first run's overhead.
    assert reruns["rerun"].timings["overhead_s"] < 0.1 * reruns["first"].timings["overhead_s"]


def test_rerun_with_new_values_equals_a_fresh_build_spike_for_spike(reruns):
    assert reruns["rerun"].t("sensory").size > 500
    _assert_same_output(reruns["rerun"], reruns["direct"])


def test_same_seed_same_spikes_and_a_new_seed_or_new_values_change_them(reruns):
    _assert_same_output(reruns["first"], reruns["again"])
    a, b, c = reruns["first"], reruns["other_seed"], reruns["rerun"]
    assert not np.array_equal(a.t("sensory")[:200], b.t("sensory")[:200])
    # Same seed 4, new values: the network's response changes.
    assert b.t("pfc").size != c.t("pfc").size or not np.array_equal(b.t("pfc"), c.t("pfc"))


_REUSE_SCRIPT = """
import sys
import numpy as np
from bioattn import config
from bioattn.engine import Engine
sys.path.insert(0, sys.argv[2])
from test_engine import SCALE, _schedule
model = config.load_model()
out = Engine("cpp_standalone", sys.argv[1]).simulate(model, _schedule(model), seed=3, scale=SCALE)
np.savez(sys.argv[3], t=out.t("sensory"), i=out.i("sensory"))
"""


def test_a_new_process_reuses_the_build_without_compiling_anything(reruns, tmp_path):
    """main.cpp is the same text in every process (bioattn.compile.canonical_clock_order), so a
    sweep worker that starts on a built project compiles nothing, and gets the same spikes.

    Two new processes with string-hash seeds 1 and 2: without the canonical order Brian2 wrote
    the two shared-gain clocks (``network.add(&clock, NULL)``) in opposite orders in those two,
    so one of them differs from this process whatever its own hash seed."""
    project = reruns["root"] / "two_area"
    objects = sorted(project.glob("*.o")) + sorted(project.glob("code_objects/*.o"))
    watched = [project / "main", project / "make.deps", *objects]
    before = {path: path.stat().st_mtime_ns for path in watched}
    main_text = (project / "main.cpp").read_text()
    assert len(objects) > 50
    for hash_seed in ("1", "2"):
        saved = tmp_path / f"spikes{hash_seed}.npz"
        subprocess.run(
            [
                sys.executable,
                "-c",
                _REUSE_SCRIPT,
                str(reruns["root"]),
                str(Path(__file__).parent),
                str(saved),
            ],
            check=True,
            env={**os.environ, "PYTHONHASHSEED": hash_seed},
        )
        assert {path: path.stat().st_mtime_ns for path in watched} == before
        assert (project / "main.cpp").read_text() == main_text
        spikes = np.load(saved)
        np.testing.assert_array_equal(spikes["t"], reruns["first"].t("sensory"))
        np.testing.assert_array_equal(spikes["i"], reruns["first"].i("sensory"))


_SLOT_SCRIPT = """
import sys
import numpy as np
from bioattn import config
from bioattn.engine import Engine
sys.path.insert(0, sys.argv[1])
from test_engine import SCALE, _schedule
model = config.load_model()
engine = Engine("cpp_standalone")
out = engine.simulate(model, _schedule(model), seed=3, scale=SCALE)
np.savez(sys.argv[2], t=out.t("sensory"), i=out.i("sensory"), root=str(engine.root))
"""


def test_a_second_process_copies_the_build_of_another_cache_slot(tmp_path, monkeypatch):
    """Sweep workers compile a structure once between them (bioattn.engine._shared_build): a
    process whose cache slot is empty copies a slot built for the same structure, make
    compiles nothing (every object and the binary keep the first build's time stamps), and
    the spikes are those of the first process."""
    cache = tmp_path / "cache"
    monkeypatch.setenv("BIOATTN_CACHE_DIR", str(cache))
    model = config.load_model()
    first = Engine("cpp_standalone")  # this process's slot of the new cache: slot0
    reference = first.simulate(model, _schedule(model), seed=3, scale=SCALE)
    built = first.root / "two_area"
    assert first.root == cache / "slot0"
    saved = tmp_path / "spikes.npz"
    subprocess.run(
        [sys.executable, "-c", _SLOT_SCRIPT, str(Path(__file__).parent), str(saved)],
        check=True,
        env={**os.environ, "BIOATTN_CACHE_DIR": str(cache)},
    )
    spikes = np.load(saved)
    copy = Path(str(spikes["root"])) / "two_area"
    assert copy.parent == cache / "slot1"  # slot0 is held by this process
    compiled = [Path("main"), *(p.relative_to(built) for p in built.rglob("*.o"))]
    assert len(compiled) > 50
    assert {p: (copy / p).stat().st_mtime_ns for p in compiled} == {
        p: (built / p).stat().st_mtime_ns for p in compiled
    }
    np.testing.assert_array_equal(spikes["t"], reference.t("sensory"))
    np.testing.assert_array_equal(spikes["i"], reference.i("sensory"))


def test_the_loop_reads_the_clock_once_per_step_and_still_reports_progress(reruns, capfd):
    """bioattn.compile.report_once_per_step: Brian2's per-code-object std::clock() check (800,000
    system calls per simulated second at full size) is asked once per step; the progress report
    still reaches stderr and the spikes are those of the run without it."""
    network_cpp = (reruns["root"] / "two_area" / "network.cpp").read_text()
    loop = network_cpp[network_cpp.index("for(size_t i=0; i<objects.size(); i++)") :]
    loop = loop[: loop.index("->tick();")]
    assert loop.count("std::clock()") == 1
    assert "if (report_func && i == 0)" in loop
    model = config.load_model()
    out = reruns["engine"].simulate(model, _schedule(model), seed=3, scale=SCALE, progress=True)
    assert "simulated 100 %" in capfd.readouterr().err
    np.testing.assert_array_equal(out.t("sensory"), reruns["first"].t("sensory"))
    np.testing.assert_array_equal(out.i("sensory"), reruns["first"].i("sensory"))


@pytest.mark.slow
def test_bioattn_makefile_builds_the_binary_of_brian2s_own(reruns, tmp_path, monkeypatch):
    """The precompiled header, per-file dependencies and objects.cpp at -O0 (bioattn.compile)
    change the build time, not the simulation: Brian2's own makefile gives the same spikes and
    traces."""
    from bioattn import compile as build_rules

    monkeypatch.setattr(build_rules, "make_args", lambda jobs: [f"-j{jobs}"])
    monkeypatch.setattr(build_rules, "write_build_files", lambda directory: None)
    model = config.load_model()
    plain = Engine("cpp_standalone", tmp_path).simulate(
        model, _schedule(model), seed=3, scale=SCALE
    )
    assert not (tmp_path / "two_area" / build_rules.PCH).exists()
    _assert_same_output(plain, reruns["first"])


def test_a_structural_change_builds_again(tmp_path):
    model = config.load_model()
    engine = Engine("cpp_standalone", tmp_path)
    smaller = model.replace({"sensory.n_exc": 512})
    key_a = structure_key(model, _schedule(model), SCALE)
    key_b = structure_key(smaller, _schedule(smaller), SCALE)
    assert key_a != key_b
    wider = model.replace({"simulation.kernel_tolerance": 1e-6})  # more Fourier harmonics
    assert structure_key(wider, _schedule(wider), SCALE) != key_a
    longer = _schedule(model)
    longer.add_trial({}, [("more", 0.05, {})])
    assert structure_key(model, longer, SCALE) != key_a
    assert engine.builds == 0


# --------------------------------------------------------------------------------------------
# Layers
# --------------------------------------------------------------------------------------------


def test_config_imports_neither_brian2_nor_protocols():
    code = (
        "import sys, bioattn.config as c\n"
        "assert 'brian2' not in sys.modules, 'brian2'\n"
        "assert 'bioattn.protocols' not in sys.modules, 'protocols'\n"
        "assert 'bioattn.circuits' not in sys.modules, 'circuits'\n"
        "print('ok')\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"


def test_models_ship_with_the_package_and_extend_their_base():
    names = config.model_names()
    assert {"ardid2007", "multi_item"} <= set(names)
    base, multi = config.load_model("ardid2007"), config.load_model("multi_item")
    # [meta] extends = "ardid2007": the shared sections are written once, in the base.
    for section in ("cells.excitatory", "synapses", "pfc", "cue", "erase", "neuromod.da.d1"):
        assert multi[section] == base[section], section
    # The step is written in each file (both 0.05 ms, each with its own convergence reason).
    assert multi["simulation"] == base["simulation"]
    assert float(base["simulation"].dt) == pytest.approx(5e-5)
    assert float(multi["simulation"].dt) == pytest.approx(5e-5)
    assert multi["stimulus"] == base["stimulus"]
    assert "column" in multi.docs["stimulus.nu_max_e"][0]  # its own description
    assert "protocol.feature_attention" not in multi.sections  # protocols are not inherited
    text = (config.models_dir() / "multi_item.toml").read_text()
    assert "[pfc]" not in text and "extends" in text


def test_typed_replace_matches_text_and_keeps_the_original():
    model = config.load_model()
    typed = model.replace({"pfc.g_nmda_ee": 0.7 * nS, "pfc.n_exc": 512})
    text = model.with_overrides(["pfc.g_nmda_ee=0.7 nS", "pfc.n_exc=512"])
    assert config.to_raw(typed) == config.to_raw(text)
    assert model["pfc"].g_nmda_ee == 0.732 * nS
    assert typed["pfc"].g_nmda_ee == model.replace({"pfc.g_nmda_ee": "700 pS"})["pfc"].g_nmda_ee
    with pytest.raises(BioattnError, match="pfc.g_nmda_ee.*nS"):
        model.replace({"pfc.g_nmda_ee": 3.0})


def test_structural_parameters_are_the_sizes_steps_and_schedule_lengths():
    model = config.load_model()
    for name in ("pfc.n_exc", "sensory.n_inh", "simulation.dt", "protocol.feature_attention.t_cue",
                 "protocol.feature_attention.n_trials"):  # fmt: skip
        assert config.is_structural(model, name), name
    for name in ("pfc.g_nmda_ee", "stimulus.kappa", "synapses.tau_ampa", "topdown.sigma",
                 "protocol.feature_attention.contrast"):  # fmt: skip
        assert not config.is_structural(model, name), name


# --------------------------------------------------------------------------------------------
# Impossible settings: one line, exit 2, nothing run
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("argv", "fragments"),
    [
        (["--scale", "0.01"], ["scale 0.01", "sensory.n_inh", "minimum of 8", "0.0312"]),
        (["--set", "simulation.dt=3 ms"], ["simulation.dt", "synapses.tau_ampa"]),
        (["--set", "simulation.schedule_dt=0.125 ms"], ["simulation.schedule_dt", "multiple"]),
    ],
)
def test_impossible_settings_are_refused(capsys, tmp_path, argv, fragments):
    out = tmp_path / "out"
    code = cli.main(["run", "working-memory", *argv, "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 2
    assert len(err.splitlines()) == 1 and err.startswith("bioattn: error: ")
    for fragment in fragments:
        assert fragment in err, (fragment, err)
    assert not out.exists()
