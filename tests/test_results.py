"""Result directories: atomic writing, refusal/replacement, round trip, provenance."""

from __future__ import annotations

import json
import math
import re
import shutil
import subprocess
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import h5py  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import xarray as xr  # noqa: E402

from bioattn import results  # noqa: E402
from bioattn.errors import BioattnError  # noqa: E402

CONFIG = "[network]\nn_excitatory = 400\n"
PROVENANCE_KEYS = {
    "bioattn": str,
    "brian2": str,
    "numpy": str,
    "scipy": str,
    "xarray": str,
    "python": str,
    "platform": str,
    "code_generation_target": str,
    "seed": int,
    "command_line": str,
    "wall_time_s": float,
    "date_utc": str,
    "source_sha256": str,
}


def small_dataset() -> xr.Dataset:
    rates = np.arange(12, dtype=float).reshape(3, 4)
    return xr.Dataset(
        {"rate": (("population", "time"), rates, {"units": "Hz", "smoothed": True})},
        coords={"population": ["sensory", "pfc", "pulvinar"], "time": [0.0, 0.1, 0.2, 0.3]},
        attrs={
            "protocol": "cued_attention",
            "parameters": {"top_down_gain": 1.5, "cue": "left"},
            "converged": False,
            "note": None,
        },
    )


@pytest.fixture
def figure():
    fig, ax = plt.subplots()
    ax.plot([0, 1], [0, 1])
    yield fig
    plt.close(fig)


def write(out: Path, figures: dict, *, force: bool = False, dataset=None, summary=None) -> Path:
    return results.write_result_dir(
        out,
        dataset=small_dataset() if dataset is None else dataset,
        config_toml=CONFIG,
        provenance={"seed": 7},
        summary={"selectivity": 0.8} if summary is None else summary,
        figures=figures,
        force=force,
    )


def test_writes_expected_files_and_round_trips(tmp_path, figure):
    dataset = small_dataset()
    out = tmp_path / "run"
    assert write(out, {"rates": figure}, dataset=dataset) == out

    assert sorted(p.name for p in out.iterdir()) == [
        "config.toml",
        "provenance.json",
        "rates.png",
        "results.nc",
        "summary.json",
    ]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]  # no temp dirs left over
    assert (out / "config.toml").read_text() == CONFIG
    assert (out / "rates.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    loaded, summary, provenance = results.load_result(out)
    xr.testing.assert_equal(loaded["rate"], dataset["rate"])
    assert json.loads(loaded.attrs["parameters"]) == {"cue": "left", "top_down_gain": 1.5}
    assert loaded.attrs["converged"] == 0
    assert "note" not in loaded.attrs
    assert loaded["rate"].attrs == {"units": "Hz", "smoothed": 1}
    assert summary == {"selectivity": 0.8}
    assert provenance == {"seed": 7}

    # the caller's dataset is untouched by the attribute conversion
    assert dataset.attrs["parameters"] == {"top_down_gain": 1.5, "cue": "left"}
    assert dataset.attrs["note"] is None
    assert dataset["rate"].attrs["smoothed"] is True


def test_loaded_dataset_is_in_memory_and_file_closed(tmp_path):
    out = write(tmp_path / "run", {})
    loaded, _, _ = results.load_result(out)
    (out / "results.nc").unlink()  # would break lazy access to a still-open file
    assert loaded["rate"].values.sum() == pytest.approx(66.0)


def test_large_numeric_variables_are_compressed(tmp_path):
    dataset = xr.Dataset(
        {
            "voltage": (("neuron", "time"), np.zeros((200, 100))),
            "label": ("neuron", np.array(["e"] * 200)),
            "gain": ("neuron", np.ones(200)),
        }
    )
    out = write(tmp_path / "run", {}, dataset=dataset)
    with h5py.File(out / "results.nc", "r") as handle:
        assert handle["voltage"].compression == "gzip"
        assert handle["gain"].compression is None


def test_existing_directory_is_refused_without_force(tmp_path, figure):
    out = tmp_path / "run"
    out.mkdir()
    (out / "keep.txt").write_text("precious")

    message = f"output directory {out} already exists; pass --force to overwrite it"
    with pytest.raises(BioattnError, match=re.escape(message)):
        results.check_output_free(out, force=False)
    with pytest.raises(BioattnError, match=re.escape(message)):
        write(out, {"rates": figure})

    assert [p.name for p in out.iterdir()] == ["keep.txt"]
    assert (out / "keep.txt").read_text() == "precious"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]
    results.check_output_free(out, force=True)
    results.check_output_free(tmp_path / "absent", force=False)


def test_existing_directory_is_replaced_with_force(tmp_path, figure):
    out = tmp_path / "run"
    out.mkdir()
    (out / "stale.txt").write_text("old run")

    write(out, {"rates": figure}, force=True)

    assert not (out / "stale.txt").exists()
    assert (out / "results.nc").is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]  # old copy removed


class ExplodingFigure:
    def savefig(self, *args, **kwargs):
        raise RuntimeError("disk full")


def test_failure_mid_write_leaves_nothing_behind(tmp_path, figure):
    out = tmp_path / "run"
    with pytest.raises(RuntimeError, match="disk full"):
        write(out, {"rates": figure, "broken": ExplodingFigure()})
    assert list(tmp_path.iterdir()) == []


def test_failure_with_force_keeps_previous_result(tmp_path):
    out = tmp_path / "run"
    out.mkdir()
    (out / "keep.txt").write_text("previous run")
    with pytest.raises(RuntimeError, match="disk full"):
        write(out, {"broken": ExplodingFigure()}, force=True)
    assert [p.name for p in out.iterdir()] == ["keep.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]


def test_missing_parent_is_created(tmp_path):
    out = tmp_path / "a" / "b" / "run"
    write(out, {})
    assert (out / "summary.json").is_file()


@pytest.mark.parametrize("name", ["", "../escape", "sub/fig", ".hidden"])
def test_unsafe_figure_name_is_refused(tmp_path, figure, name):
    with pytest.raises(BioattnError, match="figure name"):
        write(tmp_path / "run", {name: figure})
    assert list(tmp_path.iterdir()) == []


def test_summary_non_finite_becomes_null_and_numpy_scalars_plain(tmp_path):
    summary = {
        "selectivity": np.float64(0.25),
        "n_spikes": np.int64(12),
        "latency_s": math.nan,
        "latency_s_ci": [math.nan, math.nan],
        "peak": np.float32(np.inf),
    }
    out = write(tmp_path / "run", {}, summary=summary)
    text = (out / "summary.json").read_text()
    assert json.loads(text) == {
        "latency_s": None,
        "latency_s_ci": [None, None],
        "n_spikes": 12,
        "peak": None,
        "selectivity": 0.25,
    }
    assert "NaN" not in text and "Infinity" not in text
    assert list(json.loads(text)) == sorted(json.loads(text))  # sorted keys
    assert '\n  "latency_s": null' in text  # indent 2

    _, loaded, _ = results.load_result(out)
    assert math.isnan(loaded["latency_s"])
    assert np.isnan(loaded["latency_s_ci"]).all() and len(loaded["latency_s_ci"]) == 2
    assert loaded["n_spikes"] == 12


def test_load_result_reports_missing_paths(tmp_path):
    with pytest.raises(BioattnError, match=re.escape(str(tmp_path / "absent"))):
        results.load_result(tmp_path / "absent")
    out = write(tmp_path / "run", {})
    (out / "results.nc").unlink()
    with pytest.raises(BioattnError, match=r"results\.nc"):
        results.load_result(out)
    other = write(tmp_path / "other", {})
    (other / "provenance.json").unlink()
    with pytest.raises(BioattnError, match=r"provenance\.json"):
        results.load_result(other)


def test_provenance_has_every_key_with_right_types():
    record = results.provenance(
        command_line=["bioattn", "run", "cued attention.toml"],
        seed=np.int64(3),
        target="numpy",
        wall_time_s=1,
        extra={"protocol": "cued_attention"},
    )
    for key, expected_type in PROVENANCE_KEYS.items():
        assert isinstance(record[key], expected_type), key
    assert record["seed"] == 3
    assert record["code_generation_target"] == "numpy"
    assert record["command_line"] == "bioattn run 'cued attention.toml'"
    assert record["protocol"] == "cued_attention"
    assert record["git_commit"] is None or re.fullmatch(r"[0-9a-f]{40}", record["git_commit"])
    assert record["git_dirty"] is None or isinstance(record["git_dirty"], bool)
    assert record["date_utc"].endswith("+00:00")
    json.dumps(record)  # serialisable as written by write_result_dir


def test_source_digest_names_the_code_and_changes_with_it(tmp_path, monkeypatch):
    """The digest of the package's Python files is the same on every call and for a byte-equal
    copy of the package, and differs once one file of the copy changes."""
    digest = results.source_digest()
    assert re.fullmatch(r"[0-9a-f]{64}", digest)
    assert (
        results.provenance(command_line=[], seed=0, target="numpy", wall_time_s=0)["source_sha256"]
        == digest
    )
    package = Path(results.__file__).resolve().parent
    copy = tmp_path / "bioattn"
    shutil.copytree(package, copy, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    monkeypatch.setattr(results, "__file__", str(copy / "results.py"))
    results.source_digest.cache_clear()
    try:
        assert results.source_digest() == digest
        (copy / "units.py").write_text((copy / "units.py").read_text() + "\n# changed\n")
        results.source_digest.cache_clear()
        assert results.source_digest() != digest
    finally:
        results.source_digest.cache_clear()


def test_provenance_without_git_gives_none(monkeypatch):
    def no_git(*args, **kwargs):
        raise FileNotFoundError("git")

    monkeypatch.setattr(subprocess, "run", no_git)
    record = results.provenance(command_line=[], seed=0, target="cython", wall_time_s=0.5)
    assert record["git_commit"] is None
    assert record["git_dirty"] is None


def test_provenance_git_timeout_gives_none(monkeypatch):
    def slow_git(args, **kwargs):
        raise subprocess.TimeoutExpired(args, kwargs.get("timeout"))

    monkeypatch.setattr(subprocess, "run", slow_git)
    record = results.provenance(command_line=["x"], seed=0, target="numpy", wall_time_s=0.0)
    assert record["git_commit"] is None and record["git_dirty"] is None


def test_provenance_extra_cannot_overwrite_standard_keys():
    with pytest.raises(BioattnError, match="'seed'"):
        results.provenance(
            command_line=[], seed=1, target="numpy", wall_time_s=0.0, extra={"seed": 2}
        )
