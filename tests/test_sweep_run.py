"""`bioattn sweep` on the real circuit: bad grids refused before anything is written; a sweep
killed (SIGKILL of its whole process group) midway and re-run equals an uninterrupted one bit
for bit, with no point computed twice; Dask's LocalCluster gives the local pool's result."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from bioattn import cli
from bioattn.sweep import store

#: A short working-memory sweep on a scaled circuit: 2 conductances × 2 seeds.
TINY = [
    "sweep", "working-memory",
    "--grid", "pfc.g_nmda_ee=0.6:0.7:2 nS", "--grid", "seed=1..2",
    "--trials", "1", "--scale", "0.25", "--quiet",
    "--set", "protocol.working_memory.t_delay=0.3 s",
]  # fmt: skip


def _one_line_error(capsys, argv: list[str], *fragments: str) -> None:
    code = cli.main(argv)
    err = capsys.readouterr().err
    assert code == 2, err
    assert len(err.splitlines()) == 1 and err.startswith("bioattn: error: "), err
    for fragment in fragments:
        assert fragment in err, (fragment, err)


@pytest.mark.parametrize(
    ("grid", "fragments"),
    [
        ("pfc.g_foo=1:2:3 nS", ["pfc.g_foo", "unknown parameter"]),
        ("pfc.g_nmda_ee=0.5:0.8:0 nS", ["0.5:0.8:0", "empty range"]),
        ("seed=5..2", ["seed=5..2"]),
        ("pfc.g_nmda_ee=0.5:0.8:4 ms", ["pfc.g_nmda_ee", "nS"]),
        ("pfc.n_exc=512,1024", ["pfc.n_exc", "structure", "--allow-rebuild"]),
        ("pfc.g_nmda_ee=-1,0.5 nS", ["pfc.g_nmda_ee", "non-negative"]),
    ],
)
def test_bad_grids_are_one_line_errors_and_write_nothing(capsys, tmp_path, grid, fragments):
    out = tmp_path / "sweep"
    _one_line_error(capsys, ["sweep", "working-memory", "--grid", grid, "--out", str(out)],
                    *fragments)  # fmt: skip
    assert not out.exists()


def test_sweep_options_are_checked_before_anything_runs(capsys, tmp_path):
    out = tmp_path / "sweep"
    _one_line_error(capsys, ["sweep", "working-memory", "--out", str(out)], "--grid")
    _one_line_error(capsys, [*TINY, "--workers", "0", "--out", str(out)], "--workers")
    _one_line_error(capsys, [*TINY, "--scale", "0.01", "--out", str(out)], "minimum of 8")
    _one_line_error(capsys, ["sweep", "--file", str(tmp_path / "no.toml"), "--out", str(out)],
                    "no.toml")  # fmt: skip
    assert not out.exists()


def _merged(out: Path) -> xr.Dataset:
    return xr.load_dataset(out / "sweep.nc", engine="h5netcdf")


def _point_ids(out: Path) -> list[str]:
    return sorted(p.name for p in (out / "points").iterdir() if not p.name.startswith("."))


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """The tiny sweep, uninterrupted, in this process (one worker)."""
    out = tmp_path_factory.mktemp("reference") / "sweep"
    assert cli.main([*TINY, "--workers", "1", "--out", str(out)]) == 0
    return out


def test_a_sweep_merges_its_points_on_labelled_grid_axes(reference):
    merged = _merged(reference)
    assert merged.sizes["pfc.g_nmda_ee"] == 2 and merged.sizes["seed"] == 2
    np.testing.assert_allclose(merged["pfc.g_nmda_ee"].values, [0.6, 0.7])
    assert list(merged["seed"].values) == [1, 2]
    assert merged["delay_bump_amplitude_hz"].dims == ("pfc.g_nmda_ee", "seed")
    rows = (reference / "summary.csv").read_text().splitlines()
    assert len(rows) == 1 + 4 and rows[0].startswith("point_id,pfc.g_nmda_ee,seed")
    # Stronger recurrent NMDA holds a larger delay bump (Compte et al. 2000), in both seeds.
    amplitude = merged["delay_bump_amplitude_hz"].values
    assert np.all(amplitude[1] > amplitude[0]), amplitude


def test_rerunning_a_finished_sweep_computes_nothing(reference, capsys):
    before = {pid: store.PointStore(reference).attempts(pid) for pid in _point_ids(reference)}
    assert cli.main([*TINY, "--workers", "1", "--out", str(reference)]) == 0
    assert "0 point(s) computed, 4 already done" in capsys.readouterr().out
    after = {pid: store.PointStore(reference).attempts(pid) for pid in _point_ids(reference)}
    assert after == before


def test_killed_sweep_resumes_to_the_uninterrupted_result(reference, tmp_path):
    """SIGKILL of the sweep's whole process group after its first point, then the same command
    again: every point is computed to completion exactly once, and the merge is identical."""
    out = tmp_path / "sweep"
    argv = [sys.executable, "-m", "bioattn", *TINY, "--workers", "1", "--out", str(out)]
    process = subprocess.Popen(
        argv, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline and process.poll() is None:
            points = out / "points"
            if points.is_dir() and _point_ids(out):
                break
            time.sleep(0.2)
        assert process.poll() is None, "the sweep ended before it could be interrupted"
        os.killpg(process.pid, signal.SIGKILL)
    finally:
        process.wait(timeout=60)
    done_before = _point_ids(out)
    assert 1 <= len(done_before) < 4
    assert not (out / "sweep.nc").exists()

    resumed = subprocess.run(argv, capture_output=True, text=True, timeout=900, check=False)
    assert resumed.returncode == 0, resumed.stderr
    points = store.PointStore(out)
    ids = _point_ids(out)
    assert ids == _point_ids(reference)
    for pid in ids:
        attempts = points.attempts(pid)
        assert sum("finished_utc" in a for a in attempts) == 1, (pid, attempts)
        if pid in done_before:
            assert len(attempts) == 1, (pid, attempts)  # finished before the kill: not re-run
    xr.testing.assert_identical(_merged(out), _merged(reference))


def test_dask_local_cluster_equals_the_local_run(reference, tmp_path):
    pytest.importorskip("dask.distributed")
    out = tmp_path / "sweep"
    assert cli.main([*TINY, "--workers", "1", "--scheduler", "local", "--out", str(out)]) == 0
    xr.testing.assert_identical(_merged(out), _merged(reference))
