"""Sweep storage: point identity, attempts, crash leftovers, the sweep definition, the merge.

Points are written by hand from tiny xarray datasets; no test here runs a simulation.
"""

from __future__ import annotations

import csv
import json
import math
import os
import shutil
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest
import xarray as xr

from bioattn import results
from bioattn.errors import BioattnError
from bioattn.sweep import grid, merge, store
from bioattn.sweep.grid import SweepSpec, expand, parse_grid
from bioattn.sweep.store import PointStore, point_id

# -- point identity ----------------------------------------------------------------------------

BASE = {
    "protocol": "feature-attention",
    "config_toml": "[meta]\nname = 'm'\n[pfc]\ng = { value = '0.5 nS' }\n",
    "seed": 1,
    "n_trials": 2,
    "scale": 1.0,
    "target": "cpp_standalone",
}


def test_point_id_is_stable():
    first = point_id(**BASE)
    assert first == point_id(**BASE)
    assert len(first) == 16 and all(c in "0123456789abcdef" for c in first)
    assert point_id(**{**BASE, "scale": 1}) == first  # 1 and 1.0 compute the same
    assert point_id(**{**BASE, "seed": np.int64(1)}) == first
    # The canonical form is part of the on-disk format: a re-run must find the same ids.
    assert point_id("p", "c", 1, None, 1.0, "numpy") == point_id("p", "c", 1, None, 1.0, "numpy")


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("protocol", "working-memory"),
        ("config_toml", BASE["config_toml"].replace("0.5 nS", "0.6 nS")),
        ("seed", 2),
        ("n_trials", None),
        ("n_trials", 3),
        ("scale", 0.5),
        ("target", "numpy"),
    ],
)
def test_point_id_depends_on_each_input(key, value):
    assert point_id(**{**BASE, key: value}) != point_id(**BASE)


# -- tiny points -------------------------------------------------------------------------------


def _tiny_dataset(g: float, kappa: float, seed: int) -> xr.Dataset:
    """A point's results: a per-neuron rate with a length-1 seed dimension (as protocols
    write), a scalar, and a spike list whose length differs between points."""
    neurons = np.arange(4)
    rate = (g * 100 + kappa * 10 + seed + neurons / 10)[None, :]
    n_spikes = int(seed + kappa)
    return xr.Dataset(
        {
            "rate": xr.DataArray(rate, dims=("seed", "neuron"), attrs={"units": "Hz"}),
            "gain": xr.DataArray(g * kappa, attrs={"units": "1"}),
            "spike_time": xr.DataArray(np.linspace(0, 1, n_spikes), dims="spike"),
        },
        coords={
            "seed": [seed],
            "neuron": neurons,
            "preferred": ("neuron", neurons * 90.0),
        },
        attrs={"protocol": "fake", "model": "m", "constant": "same", "varies": seed},
    )


def _tiny_summary(g: float, kappa: float, seed: int) -> dict:
    summary = {
        "gain": g * kappa + seed,
        "fano": math.nan if (kappa, seed) == (2, 1) else kappa / seed,
        "curve": [g, kappa, float(seed)][: 2 + (seed == 2)],
        "label": f"k{kappa}",
    }
    if seed == 2:
        summary["only_some"] = 1.5
    return summary


def _config_toml(point: grid.GridPoint) -> str:
    lines = ["[meta]", 'name = "fake-model"', "[pfc]"]
    lines += [f"{k.split('.')[-1]} = {json.dumps(v)}" for k, v in point.overrides.items()]
    return "\n".join(lines) + "\n"


SPECS = ["pfc.g_nmda_ee=0.5,0.7 nS", "stimulus.kappa=1,2,3", "seed=1,2"]


def _spec(**changes) -> SweepSpec:
    fields = {
        "protocol": "fake",
        "model": "ardid2007",
        "axes": tuple(parse_grid(SPECS)),
        "fixed": {"stimulus.nu_max_e": "500 Hz"},
        "n_trials": 2,
        "target": "numpy",
    }
    return SweepSpec(**{**fields, **changes})


def _write_point(points_store: PointStore, point: grid.GridPoint, pid: str) -> str:
    g, kappa, seed = (point.coords[name] for name in ("pfc.g_nmda_ee", "stimulus.kappa", "seed"))
    token = points_store.begin(pid)
    placed = points_store.write(
        pid,
        token,
        store.point_record(point, protocol="fake"),
        dataset=_tiny_dataset(g, kappa, seed),
        config_toml=_config_toml(point),
        provenance={"protocol": "fake", "seed": seed},
        summary=_tiny_summary(g, kappa, seed),
    )
    assert placed
    points_store.finish(pid, token, wall_s=0.25)
    return token


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    """A finished fake sweep: 2 conductances x 3 kappas x 2 seeds, all 12 points written.
    Shared by the tests that only read it."""
    spec = _spec()
    out = tmp_path_factory.mktemp("finished") / "sweep"
    points_store = PointStore(out)
    points_store.prepare(spec)
    points = expand(spec.axes)
    ids = [point_id("fake", _config_toml(p), p.seed, 2, 1.0, "numpy") for p in points]
    for point, pid in zip(points, ids, strict=True):
        _write_point(points_store, point, pid)
    return out, spec, points, ids


@pytest.fixture
def sweep(finished, tmp_path):
    """A copy of the finished sweep that a test may change."""
    out, spec, points, ids = finished
    copy = tmp_path / "sweep"
    shutil.copytree(out, copy)
    return copy, spec, points, ids


# -- points and attempts -----------------------------------------------------------------------


def test_begin_write_finish_counts_attempts(tmp_path):
    points_store = PointStore(tmp_path / "s")
    points_store.prepare(_spec())
    point = expand(parse_grid(SPECS))[0]
    pid = point_id("fake", _config_toml(point), 1, 2, 1.0, "numpy")
    assert not points_store.done(pid)
    assert points_store.pending([pid, pid]) == [pid]
    assert points_store.attempts(pid) == []

    killed = points_store.begin(pid)  # a worker that died before writing
    (started,) = points_store.attempts(pid)
    assert started["point_id"] == pid and started["token"] == killed
    assert started["pid"] == os.getpid() and started["host"]
    assert "started_utc" in started and "finished_utc" not in started

    token = _write_point(points_store, point, pid)
    assert token != killed
    assert points_store.done(pid)
    assert points_store.pending([pid]) == []
    assert points_store.path(pid) == tmp_path / "s" / "points" / pid
    record = points_store.point(pid)
    assert record["token"] == token and record["point_id"] == pid
    assert record["index"] == [0, 0, 0] and record["seed"] == 1
    assert record["overrides"] == {"pfc.g_nmda_ee": "0.5 nS", "stimulus.kappa": "1"}
    assert record["protocol"] == "fake"

    attempts = points_store.attempts(pid)
    assert len(attempts) == 2
    assert points_store.completions(pid) == 1
    (finished,) = [a for a in attempts if "finished_utc" in a]
    assert finished["token"] == token and finished["wall_s"] == 0.25
    dataset, summary, _ = results.load_result(points_store.path(pid))
    assert summary["gain"] == 1.5
    assert dataset["rate"].dims == ("seed", "neuron")


def test_a_second_finished_attempt_is_discarded(tmp_path):
    points_store = PointStore(tmp_path / "s")
    points_store.prepare(_spec())
    point = expand(parse_grid(SPECS))[0]
    pid = point_id("fake", _config_toml(point), 1, 2, 1.0, "numpy")
    first = _write_point(points_store, point, pid)
    late = points_store.begin(pid)
    placed = points_store.write(
        pid,
        late,
        {},
        dataset=_tiny_dataset(0.5, 1, 1),
        config_toml="x",
        provenance={},
        summary={"gain": 99.0},
    )
    assert placed is False
    record = points_store.finish(pid, late, wall_s=1.0)
    assert "discarded_utc" in record and "finished_utc" not in record
    assert points_store.point(pid)["token"] == first
    assert points_store.completions(pid) == 1
    assert len(points_store.attempts(pid)) == 2
    assert not list((tmp_path / "s" / "points").glob(".*"))


def test_losing_the_rename_race_keeps_the_winner(tmp_path, monkeypatch):
    points_store = PointStore(tmp_path / "s")
    points_store.prepare(_spec())
    point = expand(parse_grid(SPECS))[0]
    pid = point_id("fake", _config_toml(point), 1, 2, 1.0, "numpy")
    late = points_store.begin(pid)  # starts before the winner finishes
    winner = _write_point(points_store, point, pid)
    checks = iter([False, False])  # the late attempt sees the point missing until it renames
    real_done = PointStore.done

    def late_view(self, i):
        seen = next(checks, None) if self is points_store and i == pid else None
        return real_done(self, i) if seen is None else seen

    monkeypatch.setattr(PointStore, "done", late_view)
    placed = points_store.write(
        pid, late, {}, dataset=_tiny_dataset(0.5, 1, 1), config_toml="", provenance={}, summary={}
    )
    assert placed is False
    assert next(checks, "used up") == "used up"
    monkeypatch.undo()
    assert points_store.point(pid)["token"] == winner
    assert results.load_result(points_store.path(pid))[1]["gain"] == 1.5
    assert not list((tmp_path / "s" / "points").glob(".*"))


def test_a_point_directory_without_point_json(tmp_path):
    points_store = PointStore(tmp_path / "s")
    points_store.prepare(_spec())
    pid = "00aa"
    (points_store.path(pid) / "junk").mkdir(parents=True)
    assert not points_store.done(pid)
    token = points_store.begin(pid)
    with pytest.raises(BioattnError, match="holds no point.json"):
        points_store.write(
            pid, token, {}, dataset=_tiny_dataset(0.5, 1, 1), config_toml="", provenance={},
            summary={},
        )  # fmt: skip
    assert points_store.cleanup() == [points_store.path(pid)]
    assert points_store.write(
        pid, token, {}, dataset=_tiny_dataset(0.5, 1, 1), config_toml="", provenance={}, summary={}
    )
    assert points_store.done(pid)


def test_finish_before_write_is_refused(tmp_path):
    points_store = PointStore(tmp_path / "s")
    token = points_store.begin("00ff")
    with pytest.raises(RuntimeError, match="not in place"):
        points_store.finish("00ff", token, 1.0)


def test_ids_are_checked_before_they_become_paths(tmp_path):
    with pytest.raises(ValueError, match="not a point id"):
        PointStore(tmp_path).path("../etc")


_KILLED_WORKER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from bioattn.sweep.store import PointStore
    points_store = PointStore(Path(sys.argv[1]))
    token = points_store.begin(sys.argv[2])
    staging = points_store.staging_path(sys.argv[2], token)
    (staging / "result").mkdir(parents=True)
    (staging / "result" / "results.nc").write_bytes(b"half a file")
    print(token, flush=True)
    time.sleep(60)
    """
)


def test_killed_attempt_leaves_no_point_and_cleanup_removes_its_leftovers(tmp_path):
    out = tmp_path / "s"
    points_store = PointStore(out)
    points_store.prepare(_spec())
    pid = "0123456789abcdef"
    worker = subprocess.Popen(
        [sys.executable, "-c", _KILLED_WORKER, str(out), pid], stdout=subprocess.PIPE, text=True
    )
    try:
        token = worker.stdout.readline().strip()
        staging = points_store.staging_path(pid, token)
        assert staging.is_dir()
        assert points_store.cleanup() == []  # the worker still runs: its files stay
        assert staging.is_dir()
    finally:
        worker.kill()
        worker.wait(timeout=30)
        worker.stdout.close()
    assert not points_store.done(pid)
    assert points_store.pending([pid]) == [pid]
    assert [a["token"] for a in points_store.attempts(pid)] == [token]
    assert points_store.completions(pid) == 0

    # A leftover of write_result_dir's own temporary naming, and an old temporary file.
    foreign = out / "points" / f".{pid}.tmp-k2j_x9"
    foreign.mkdir()
    old_tmp = out / "attempts" / pid / f".{token}.json.tmp-abc"
    old_tmp.write_text("{")
    os.utime(old_tmp, (time.time() - 3600, time.time() - 3600))
    fresh_tmp = out / f".sweep.nc.tmp-{token}"
    fresh_tmp.write_text("being written")

    removed = points_store.cleanup()
    assert set(removed) == {staging, foreign, old_tmp}
    assert not staging.exists() and not foreign.exists() and not old_tmp.exists()
    assert fresh_tmp.exists()  # may belong to a running write
    assert points_store.attempts(pid)[0]["token"] == token  # the record stays


def test_cleanup_keeps_the_staging_directory_of_a_live_attempt(tmp_path):
    points_store = PointStore(tmp_path / "s")
    points_store.prepare(_spec())
    token = points_store.begin("abcd")
    staging = points_store.staging_path("abcd", token)
    staging.mkdir()
    assert points_store.cleanup() == []
    assert staging.is_dir()


# -- the sweep's definition --------------------------------------------------------------------


def test_prepare_writes_the_definition_and_accepts_the_same_sweep(tmp_path):
    out = tmp_path / "s"
    points_store = PointStore(out)
    spec = _spec()
    points_store.prepare(spec)
    assert (out / "sweep.toml").is_file() and (out / "points").is_dir()
    assert (out / "attempts").is_dir()
    assert points_store.read_definition() == spec
    assert grid.load_sweep_file(out / "sweep.toml") == spec  # the definition is a sweep file
    points_store.prepare(_spec(allow_structural=True))  # does not change what points compute
    PointStore(out).prepare(spec)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"protocol": "other"}, "protocol differs"),
        ({"model": "multi_item"}, "model differs"),
        ({"n_trials": 3}, "trials differs"),
        ({"scale": 0.5}, "scale differs"),
        ({"target": "cython"}, "target differs"),
        ({"seed": 4}, "seed differs"),
        ({"axes": tuple(parse_grid(["pfc.g_nmda_ee=0.5,0.8 nS", "seed=1,2"]))}, "grid differs"),
        ({"fixed": {}}, "set differs"),
    ],
)
def test_a_different_sweep_is_refused_unless_forced(tmp_path, change, field):
    out = tmp_path / "s"
    PointStore(out).prepare(_spec())
    with pytest.raises(BioattnError) as info:
        PointStore(out).prepare(_spec(**change))
    message = str(info.value)
    assert "\n" not in message
    assert field in message and "--force" in message and str(out / "sweep.toml") in message
    PointStore(out).prepare(_spec(**change), force=True)
    assert PointStore(out).read_definition() == _spec(**change)


def test_force_keeps_finished_points_whose_identity_matches(sweep):
    out, spec, points, ids = sweep
    bigger = _spec(axes=tuple(parse_grid([*SPECS[:2], "seed=1..3"])))
    PointStore(out).prepare(bigger, force=True)
    points_store = PointStore(out)
    assert all(points_store.done(pid) for pid in ids)


def test_prepare_refuses_a_directory_that_is_not_a_sweep(tmp_path):
    out = tmp_path / "run"
    out.mkdir()
    (out / "results.nc").write_text("")
    with pytest.raises(BioattnError, match="not a sweep directory"):
        PointStore(out).prepare(_spec())
    PointStore(out).prepare(_spec(), force=True)
    (tmp_path / "file").write_text("")
    with pytest.raises(BioattnError, match="is a file"):
        PointStore(tmp_path / "file").prepare(_spec())
    PointStore(tmp_path / "empty").prepare(_spec())


def test_prepare_refuses_a_broken_definition(tmp_path):
    out = tmp_path / "s"
    PointStore(out).prepare(_spec())
    (out / "sweep.toml").write_text("protocol = ")
    with pytest.raises(BioattnError, match="malformed TOML.*--force"):
        PointStore(out).prepare(_spec())
    PointStore(out).prepare(_spec(), force=True)


def test_definition_difference_of_equal_specs_is_empty():
    assert store.definition_difference(_spec(), _spec()) == ""
    assert store.definition_difference(_spec(), _spec(allow_structural=True)) == ""


# -- merge -------------------------------------------------------------------------------------


def test_merge_labels_and_places_every_value(finished):
    out, spec, points, ids = finished
    merged = merge.merge(out, spec.axes, points, ids)

    assert merged.sizes == {
        "pfc.g_nmda_ee": 2,
        "stimulus.kappa": 3,
        "seed": 2,
        "neuron": 4,
        "curve_index": 3,
    }
    assert merged["pfc.g_nmda_ee"].values.tolist() == [0.5, 0.7]
    assert merged["pfc.g_nmda_ee"].attrs["units"] == "nS"
    assert merged["stimulus.kappa"].values.tolist() == [1, 2, 3]
    assert merged["stimulus.kappa"].attrs["units"] == "1"
    assert merged["seed"].values.tolist() == [1, 2]
    assert merged["neuron"].values.tolist() == [0, 1, 2, 3]
    assert merged["preferred"].dims == ("neuron",)
    assert merged["preferred"].values.tolist() == [0.0, 90.0, 180.0, 270.0]

    grid_dims = ("pfc.g_nmda_ee", "stimulus.kappa", "seed")
    assert merged["rate"].dims == (*grid_dims, "neuron")
    assert merged["rate"].attrs == {"units": "Hz"}
    assert merged["gain"].dims == grid_dims
    for g in (0.5, 0.7):
        for kappa in (1, 2, 3):
            for seed in (1, 2):
                at = {"pfc.g_nmda_ee": g, "stimulus.kappa": kappa, "seed": seed}
                expected = g * 100 + kappa * 10 + seed + np.arange(4) / 10
                np.testing.assert_array_equal(merged["rate"].sel(at).values, expected)
                assert merged["gain"].sel(at).item() == g * kappa
                assert merged["summary_gain"].sel(at).item() == g * kappa + seed
                assert merged["label"].sel(at).item() == f"k{kappa}"
                fano = merged["fano"].sel(at).item()
                assert math.isnan(fano) if (kappa, seed) == (2, 1) else fano == kappa / seed
                curve = merged["curve"].sel(at).values
                assert curve[:2].tolist() == [g, kappa]
                assert curve[2] == seed if seed == 2 else math.isnan(curve[2])
                only = merged["only_some"].sel(at).item()
                assert only == 1.5 if seed == 2 else math.isnan(only)

    assert "spike_time" not in merged and "spike" not in merged.dims
    assert json.loads(merged.attrs["not_merged"]) == ["spike_time"]
    assert merged.attrs["protocol"] == "fake"
    assert merged.attrs["model"] == "fake-model"
    assert merged.attrs["constant"] == "same" and "varies" not in merged.attrs
    point_ids = json.loads(merged.attrs["point_ids"])
    assert point_ids == ids  # expand() order is grid order
    assert merged["rate"].isel({"pfc.g_nmda_ee": 1, "stimulus.kappa": 0, "seed": 1}).values[
        0
    ] == pytest.approx(70 + 10 + 2)


def test_merge_places_points_by_index_not_by_list_order(finished):
    out, spec, points, ids = finished
    order = np.random.default_rng(0).permutation(len(points))
    shuffled = merge.merge(out, spec.axes, [points[i] for i in order], [ids[i] for i in order])
    xr.testing.assert_identical(shuffled, merge.merge(out, spec.axes, points, ids))


def test_merging_twice_gives_identical_datasets(finished):
    out, spec, points, ids = finished
    first = merge.merge(out, spec.axes, points, ids)
    xr.testing.assert_identical(first, merge.merge(out, spec.axes, points, ids))


def test_write_merged_writes_sweep_nc_and_summary_csv(sweep):
    out, spec, points, ids = sweep
    merged = merge.merge(out, spec.axes, points, ids)
    rows = merge.summary_rows(spec.axes, points, ids, out)
    merge.write_merged(out, merged, rows)

    again = xr.load_dataset(out / "sweep.nc", engine="h5netcdf")
    xr.testing.assert_equal(again, merged)
    assert again.attrs["point_ids"] == merged.attrs["point_ids"]
    assert again["pfc.g_nmda_ee"].attrs["units"] == "nS"
    assert not list(out.glob(".*"))

    with open(out / "summary.csv", newline="", encoding="utf-8") as handle:
        table = list(csv.DictReader(handle))
    assert len(table) == 12
    assert list(table[0]) == [
        "point_id",
        "pfc.g_nmda_ee",
        "stimulus.kappa",
        "seed",
        "curve",  # summary.json keys are sorted
        "fano",
        "gain",
        "label",
        "only_some",
    ]
    assert [row["point_id"] for row in table] == ids
    first, second = table[0], table[1]
    assert (first["pfc.g_nmda_ee"], first["stimulus.kappa"], first["seed"]) == ("0.5", "1", "1")
    assert (second["seed"], second["gain"], second["fano"]) == ("2", "2.5", "0.5")
    assert json.loads(first["curve"]) == [0.5, 1]
    assert json.loads(second["curve"]) == [0.5, 1, 2.0]
    assert first["label"] == "k1" and first["only_some"] == "" and second["only_some"] == "1.5"
    missing_fano = table[2]  # kappa 2, seed 1
    assert missing_fano["stimulus.kappa"] == "2" and missing_fano["fano"] == ""


def test_summary_rows_in_grid_order(finished):
    out, spec, points, ids = finished
    rows = merge.summary_rows(spec.axes, points, ids, out)
    assert [r["point_id"] for r in rows] == ids
    assert rows[-1]["pfc.g_nmda_ee"] == 0.7 and rows[-1]["stimulus.kappa"] == 3
    assert rows[-1]["seed"] == 2 and rows[-1]["gain"] == pytest.approx(0.7 * 3 + 2)
    assert rows[2]["fano"] is None


def test_missing_points_are_named(sweep):
    out, spec, points, ids = sweep
    for pid in ids[:2]:
        os.rename(out / "points" / pid, out / "points" / f".{pid}.tmp-gone")
    with pytest.raises(BioattnError) as info:
        merge.merge(out, spec.axes, points, ids)
    message = str(info.value)
    assert "2 of 12 points are missing" in message and "\n" not in message
    with pytest.raises(BioattnError, match="2 of 12 points are missing"):
        merge.summary_rows(spec.axes, points, ids, out)


def test_a_point_dimension_longer_than_one_is_renamed(tmp_path):
    out = tmp_path / "s"
    points_store = PointStore(out)
    axes = parse_grid(["seed=1,2"])
    points_store.prepare(SweepSpec(protocol="fake", axes=tuple(axes)))
    points = expand(axes)
    ids = []
    for point in points:
        pid = point_id("fake", "", point.seed, None, 1.0, "numpy")
        token = points_store.begin(pid)
        dataset = xr.Dataset(
            {"x": (("seed", "t"), np.full((3, 2), point.seed))}, coords={"seed": [7, 8, 9]}
        )
        points_store.write(
            pid, token, {}, dataset=dataset, config_toml="", provenance={}, summary={}
        )
        points_store.finish(pid, token, 0.0)
        ids.append(pid)
    merged = merge.merge(out, axes, points, ids)
    assert merged["x"].dims == ("seed", "seed_in_point", "t")
    assert merged["seed_in_point"].values.tolist() == [7, 8, 9]
    assert merged["x"].sel(seed=2).values.tolist() == [[2, 2]] * 3
    assert merged.attrs["model"] == ""  # the config text has no [meta] name


def test_differing_coordinates(tmp_path):
    out = tmp_path / "s"
    points_store = PointStore(out)
    axes = parse_grid(["stimulus.kappa=1,2"])
    points = expand(axes)
    ids = []
    for point in points:
        kappa = point.coords["stimulus.kappa"]
        pid = point_id("fake", str(kappa), 1, None, 1.0, "numpy")
        token = points_store.begin(pid)
        dataset = xr.Dataset(
            {"y": ("d", [1.0, 2.0])},
            coords={"d": [kappa, kappa + 1], "label": ("d", [kappa * 10, kappa * 20])},
        )
        points_store.write(
            pid, token, {}, dataset=dataset, config_toml="", provenance={}, summary={}
        )
        ids.append(pid)
    merged = merge.merge(out, axes, points, ids)
    assert "d" not in merged.coords and merged["y"].dims == ("stimulus.kappa", "d")
    assert merged["label"].dims == ("stimulus.kappa", "d")
    assert merged["label"].values.tolist() == [[10, 20], [20, 40]]
    assert json.loads(merged.attrs["not_merged"]) == ["d"]
