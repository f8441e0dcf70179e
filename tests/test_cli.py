"""The command line: one-line errors before anything runs, listing, parameters, result writing.

No test here simulates: protocols are replaced by fakes (``working-memory`` by one that fails
the test if it is ever run, since bad inputs must be refused before simulating).
"""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

import bioattn
from bioattn import cli, config, results
from bioattn.errors import BioattnError
from bioattn.protocols import registry
from bioattn.protocols.registry import Protocol, ProtocolResult
from bioattn.units import nS

REPO = Path(__file__).resolve().parents[1]
DEFAULT_TEXT = (config.models_dir() / f"{config.DEFAULT_MODEL}.toml").read_text(encoding="utf-8")
EXPECTED_PROTOCOLS = ("working-memory", "feature-attention", "contrast-response")
FAKE = "fake-protocol"


def _must_not_run(*args, **kwargs):
    raise AssertionError("the protocol ran although the command should have failed before it")


@dataclasses.dataclass(frozen=True)
class _NoParams:
    pass


@pytest.fixture
def guarded_working_memory(monkeypatch):
    """``working-memory`` registered with a ``run`` that fails the test if it is called."""
    real = registry.PROTOCOLS.get("working-memory")
    guarded = Protocol(
        name="working-memory",
        description=real.description if real else "guarded stand-in",
        params=real.params if real else _NoParams,
        run=_must_not_run,
    )
    monkeypatch.setitem(registry.PROTOCOLS, "working-memory", guarded)
    return guarded


class FakeRun:
    """A protocol ``run`` that records its arguments and returns a tiny result at once."""

    def __init__(self, error: BaseException | None = None):
        self.calls: list[dict] = []
        self.error = error

    def __call__(self, model, options) -> ProtocolResult:
        self.calls.append({"model": model, "options": options})
        if self.error is not None:
            raise self.error
        dataset = xr.Dataset(
            {"rate": (("seed", "time"), np.arange(6.0).reshape(2, 3))},
            coords={"seed": [0, 1], "time": [0.0, 0.1, 0.2]},
            attrs={"protocol": FAKE},
        )
        return ProtocolResult(dataset=dataset, summary={"x": 1.0, "y": 0.123456789}, figures={})


@pytest.fixture
def fake_protocol(monkeypatch):
    fake_run = FakeRun()
    monkeypatch.setitem(
        registry.PROTOCOLS, FAKE, Protocol(FAKE, "a fake for tests", _NoParams, fake_run)
    )
    return fake_run


def run_cli(capsys, argv: list[str]) -> tuple[int, str, str]:
    code = cli.main(argv)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def assert_one_line_error(code: int, err: str, *fragments: str) -> None:
    assert code == 2
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("bioattn: error: "), err
    for fragment in fragments:
        assert fragment in lines[0], f"{fragment!r} not in {lines[0]!r}"


def write_model(tmp_path: Path, text: str, name: str = "model.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


# --------------------------------------------------------------------------------------------
# Errors: one line on stderr, exit code 2, nothing simulated or written
# --------------------------------------------------------------------------------------------


BAD_RUNS = {
    "unknown protocol": (["run", "nonexistent-protocol"], ["nonexistent-protocol"]),
    "unknown parameter": (
        ["run", "working-memory", "--set", "pfc.g_foo=1 nS"],
        ["pfc.g_foo", "unknown parameter"],
    ),
    "unknown section": (
        ["run", "working-memory", "--set", "thalamus.g=1 nS"],
        ["thalamus", "unknown section"],
    ),
    "wrong unit": (
        ["run", "working-memory", "--set", "pfc.g_nmda_ee=3 ms"],
        ["pfc.g_nmda_ee", "3 ms", "nS"],
    ),
    "negative scale": (["run", "working-memory", "--scale", "-1"], ["--scale", "-1"]),
    "zero scale": (["run", "working-memory", "--scale", "0"], ["--scale", "0"]),
    "nan scale": (["run", "working-memory", "--scale", "nan"], ["--scale", "nan"]),
    "infinite scale": (["run", "working-memory", "--scale", "inf"], ["--scale", "inf"]),
    "scale not a number": (["run", "working-memory", "--scale", "big"], ["--scale", "big"]),
    "zero trials": (["run", "working-memory", "--trials", "0"], ["--trials", "0"]),
    "zero seeds": (["run", "working-memory", "--seeds", "0"], ["--seeds", "0"]),
    "negative seed": (["run", "working-memory", "--seed", "-1"], ["--seed", "-1"]),
    "seed too large": (
        ["run", "working-memory", "--seed", str(2**32 - 2), "--seeds", "3"],
        ["--seed", str(2**32)],
    ),
    "unknown target": (["run", "working-memory", "--target", "gpu"], ["--target", "gpu"]),
    "missing protocol": (["run"], ["PROTOCOL"]),
    "unknown command": (["simulate"], ["simulate"]),
}


@pytest.mark.parametrize("case", sorted(BAD_RUNS))
def test_bad_run_is_one_line_error_and_writes_nothing(
    capsys, tmp_path, guarded_working_memory, case
):
    argv, fragments = BAD_RUNS[case]
    out = tmp_path / "out"
    code, stdout, err = run_cli(capsys, [*argv, "--out", str(out)])
    assert_one_line_error(code, err, *fragments)
    assert stdout == ""
    assert not out.exists()


def test_malformed_toml_model(capsys, tmp_path, guarded_working_memory):
    model = write_model(tmp_path, DEFAULT_TEXT.replace("[pfc]\n", "[pfc\n", 1), "broken.toml")
    out = tmp_path / "out"
    code, _, err = run_cli(
        capsys, ["run", "working-memory", "--model", str(model), "--out", str(out)]
    )
    assert_one_line_error(code, err, "broken.toml", "malformed TOML")
    assert not out.exists()


def test_bad_value_in_model_file(capsys, tmp_path, guarded_working_memory):
    text = DEFAULT_TEXT.replace('value = "0.732 nS"', 'value = "0.732 mV"', 1)
    model = write_model(tmp_path, text)
    out = tmp_path / "out"
    code, _, err = run_cli(
        capsys, ["run", "working-memory", "--model", str(model), "--out", str(out)]
    )
    assert_one_line_error(code, err, "pfc.g_nmda_ee", "0.732 mV")
    assert not out.exists()


@pytest.mark.parametrize("what", ["missing file", "missing name", "directory"])
def test_unreadable_model(capsys, tmp_path, guarded_working_memory, what):
    model = {
        "missing file": str(tmp_path / "absent.toml"),
        "missing name": "no_such_model",
        "directory": str(tmp_path),
    }[what]
    out = tmp_path / "out"
    code, _, err = run_cli(capsys, ["run", "working-memory", "--model", model, "--out", str(out)])
    assert_one_line_error(code, err, Path(model).name)
    assert not out.exists()


def test_existing_out_without_force_is_refused_before_running(
    capsys, tmp_path, guarded_working_memory
):
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("earlier results")
    code, _, err = run_cli(capsys, ["run", "working-memory", "--out", str(out)])
    assert_one_line_error(code, err, str(out), "--force")
    assert [p.name for p in out.iterdir()] == ["keep.txt"]


def test_out_below_a_file_is_refused_before_running(capsys, tmp_path, guarded_working_memory):
    blocker = tmp_path / "file"
    blocker.write_text("")
    out = blocker / "out"
    code, _, err = run_cli(capsys, ["run", "working-memory", "--out", str(out)])
    assert_one_line_error(code, err, str(blocker), "not a directory")


def test_error_via_python_m_has_no_traceback(tmp_path):
    out = tmp_path / "out"
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "bioattn",
            "run",
            "working-memory",
            "--set",
            "pfc.g_nmda_ee=3 ms",
            "--out",
            str(out),
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert completed.returncode == 2, completed.stderr
    assert "Traceback" not in completed.stderr
    assert_one_line_error(completed.returncode, completed.stderr, "pfc.g_nmda_ee", "3 ms")
    assert completed.stdout == ""
    assert not out.exists()


# --------------------------------------------------------------------------------------------
# bioattn run with a fake protocol: the result-writing path
# --------------------------------------------------------------------------------------------


def test_run_writes_a_complete_result_directory(capsys, tmp_path, fake_protocol):
    out = tmp_path / "runs" / "first"
    argv = [
        "run",
        FAKE,
        "--set",
        "pfc.g_nmda_ee=0.3 nS",
        "--seed",
        "5",
        "--seeds",
        "3",
        "--trials",
        "4",
        "--scale",
        "0.25",
        "--target",
        "numpy",
        "--quiet",
        "--out",
        str(out),
    ]
    code, stdout, err = run_cli(capsys, argv)
    assert code == 0, err
    assert err == ""

    # Each seed analysed alone (for the intervals over seeds), then all three pooled.
    *alone, call = fake_protocol.calls
    assert [c["options"].seeds for c in alone] == [(5,), (6,), (7,)]
    options = call["options"]
    assert options.seeds == (5, 6, 7)
    assert options.n_trials == 4
    assert options.scale == 0.25
    assert options.target == "numpy"
    assert options.progress is False
    assert options.standalone_dir is None
    assert call["model"]["pfc"].g_nmda_ee == 0.3 * nS

    for name in (
        results.DATASET_FILE,
        results.CONFIG_FILE,
        results.PROVENANCE_FILE,
        results.SUMMARY_FILE,
    ):
        assert (out / name).is_file(), name
    saved = config.load_model(out / results.CONFIG_FILE)
    assert config.to_raw(saved) == config.to_raw(call["model"])
    assert saved["pfc"].g_nmda_ee == 0.3 * nS

    dataset, summary, provenance = results.load_result(out)
    np.testing.assert_array_equal(dataset["rate"].values, np.arange(6.0).reshape(2, 3))
    # The fake gives the same numbers for every seed: zero-width intervals over the 3 seeds.
    assert summary == {
        "x": 1.0, "y": 0.123456789, "x_ci": [1.0, 1.0], "y_ci": [0.123456789, 0.123456789],
        "ci_method": "Student t over seeds", "ci_n": 3,
    }  # fmt: skip
    assert provenance["protocol"] == FAKE
    assert provenance["seed"] == 5
    assert provenance["seeds"] == [5, 6, 7]
    assert provenance["n_trials"] == 4
    assert provenance["scale"] == 0.25
    assert provenance["code_generation_target"] == "numpy"
    assert provenance["model"] == config.DEFAULT_MODEL
    assert provenance["model_file"] == str(config.models_dir() / f"{config.DEFAULT_MODEL}.toml")
    assert provenance["overrides"] == ["pfc.g_nmda_ee=0.3 nS"]
    assert provenance["command_line"].startswith("bioattn run fake-protocol --set")
    assert provenance["wall_time_s"] >= 0

    assert str(out) in stdout
    assert "x = 1" in stdout.splitlines()
    assert "y = 0.123457" in stdout.splitlines()
    assert [p.name for p in out.parent.iterdir()] == ["first"]  # no temporary leftovers


def test_typed_api_edits_are_recorded_as_set_texts_that_reproduce_the_run(fake_protocol):
    edits = {"pfc.g_nmda_ee": 0.3 * nS, "simulation.method": "rk4", "stimulus.kappa": 2.5}
    run = bioattn.run(FAKE, set=edits, target="numpy", progress=False)
    assert run.provenance["overrides"] == [
        'pfc.g_nmda_ee="0.3 nS"',
        'simulation.method="rk4"',
        "stimulus.kappa=2.5",
    ]
    again = config.load_model(overrides=run.provenance["overrides"])
    assert config.to_raw(again) == config.to_raw(run.config)


def test_run_defaults_one_seed_and_the_protocol_trials(capsys, tmp_path, fake_protocol):
    code, _, err = run_cli(capsys, ["run", FAKE, "--target", "numpy", "--out", str(tmp_path / "o")])
    assert code == 0, err
    (call,) = fake_protocol.calls
    options = call["options"]
    assert options.seeds == (1,)
    assert options.n_trials is None
    assert options.scale == 1.0
    assert options.progress is True


def test_run_with_force_replaces_the_directory(capsys, tmp_path, fake_protocol):
    out = tmp_path / "out"
    out.mkdir()
    (out / "old.txt").write_text("old")
    argv = ["run", FAKE, "--target", "numpy", "--out", str(out), "--force"]
    code, _, err = run_cli(capsys, argv)
    assert code == 0, err
    assert not (out / "old.txt").exists()
    assert (out / results.SUMMARY_FILE).is_file()


@pytest.mark.parametrize(
    ("error", "expected_code"),
    [
        (BioattnError("schedule: bad window"), 2),
        (KeyboardInterrupt(), 130),
    ],
)
def test_failure_during_the_run_writes_nothing(capsys, tmp_path, monkeypatch, error, expected_code):
    monkeypatch.setitem(
        registry.PROTOCOLS, FAKE, Protocol(FAKE, "fails", _NoParams, FakeRun(error=error))
    )
    out = tmp_path / "out"
    code, stdout, err = run_cli(capsys, ["run", FAKE, "--target", "numpy", "--out", str(out)])
    assert code == expected_code
    assert len(err.splitlines()) == 1
    assert err.startswith("bioattn: ")
    assert stdout == ""
    assert not out.exists()
    assert list(tmp_path.iterdir()) == []


def test_unexpected_exception_keeps_its_traceback(tmp_path, monkeypatch):
    monkeypatch.setitem(
        registry.PROTOCOLS,
        FAKE,
        Protocol(FAKE, "buggy", _NoParams, FakeRun(error=ZeroDivisionError("a bug"))),
    )
    with pytest.raises(ZeroDivisionError):
        cli.main(["run", FAKE, "--target", "numpy", "--out", str(tmp_path / "out")])
    assert not (tmp_path / "out").exists()


# --------------------------------------------------------------------------------------------
# bioattn list / params / --help
# --------------------------------------------------------------------------------------------


def test_list_shows_protocols_and_models(capsys):
    code, stdout, err = run_cli(capsys, ["list"])
    assert code == 0, err
    if registry.PROTOCOLS:
        for name in EXPECTED_PROTOCOLS:
            assert name in stdout
        for protocol in registry.PROTOCOLS.values():
            assert protocol.description in stdout
    model_lines = [line for line in stdout.splitlines() if line.strip().startswith("ardid2007")]
    assert len(model_lines) == 1
    assert config.load_model().description in model_lines[0]


def test_params_shows_every_parameter_with_value_and_source(capsys):
    code, stdout, err = run_cli(capsys, ["params"])
    assert code == 0, err
    model = config.load_model()
    lines = stdout.splitlines()
    assert len(lines) == len(config.parameter_rows(model))
    (row,) = [line for line in lines if line.split()[0] == "pfc.g_nmda_ee"]
    description, source = model.docs["pfc.g_nmda_ee"]
    assert "0.732 nS" in row
    assert description in row
    assert f"[{source}]" in row


def test_params_applies_overrides(capsys):
    code, stdout, err = run_cli(capsys, ["params", "--set", "pfc.g_nmda_ee=0.3 nS"])
    assert code == 0, err
    (row,) = [line for line in stdout.splitlines() if line.split()[0] == "pfc.g_nmda_ee"]
    assert "0.3 nS" in row


def test_params_bad_override_is_one_line_error(capsys):
    code, stdout, err = run_cli(capsys, ["params", "--set", "pfc.g_nmda_ee=3 ms"])
    assert_one_line_error(code, err, "pfc.g_nmda_ee", "3 ms")
    assert stdout == ""


@pytest.mark.parametrize("argv", [["--help"], ["run", "--help"], ["--version"]])
def test_help_and_version_exit_zero(capsys, argv):
    code, stdout, _ = run_cli(capsys, argv)
    assert code == 0
    assert "bioattn" in stdout


# --------------------------------------------------------------------------------------------
# End to end on a real (scaled) circuit
# --------------------------------------------------------------------------------------------

E2E_ARGS = [
    "run",
    "working-memory",
    "--scale",
    "0.25",
    "--trials",
    "1",
    "--seed",
    "3",
    "--quiet",
    "--set",
    "protocol.working_memory.t_delay=0.3 s",
]


def test_cli_runs_a_real_circuit_and_its_config_reproduces_it(tmp_path, capsys):
    import json

    first, second = tmp_path / "first", tmp_path / "second"
    assert cli.main([*E2E_ARGS, "--out", str(first)]) == 0
    names = {p.name for p in first.iterdir()}
    assert {"results.nc", "config.toml", "provenance.json", "summary.json"} <= names
    assert any(name.endswith(".png") for name in names)
    summary = json.loads((first / "summary.json").read_text())
    assert "bump_persistence_s" in summary
    provenance = json.loads((first / "provenance.json").read_text())
    assert provenance["seed"] == 3 and provenance["code_generation_target"] == "cpp_standalone"
    # The resolved config alone (overrides baked in) reproduces the run spike for spike.
    rerun = [
        "run",
        "working-memory",
        "--model",
        str(first / "config.toml"),
        "--scale",
        "0.25",
        "--trials",
        "1",
        "--seed",
        "3",
        "--quiet",
        "--out",
        str(second),
    ]
    assert cli.main(rerun) == 0
    with (
        xr.open_dataset(first / "results.nc", engine="h5netcdf") as a,
        xr.open_dataset(second / "results.nc", engine="h5netcdf") as b,
    ):
        assert a.sizes["pfc_spike"] > 100
        np.testing.assert_array_equal(a["pfc_spike_time"].values, b["pfc_spike_time"].values)
        np.testing.assert_array_equal(
            a["sensory_spike_neuron"].values, b["sensory_spike_neuron"].values
        )
    capsys.readouterr()
