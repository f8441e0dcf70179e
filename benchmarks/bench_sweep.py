"""Benchmark of the sweep engine, every ratio measured in one run (absolute times drift 2-3x on
this shared machine; read the ratios).

A. Compile once vs rebuild per point.  A 16-point sweep (``pfc.g_nmda_ee`` 0.5:0.8:4 nS ×
   seeds 1..4) of a short full-size protocol (``working-memory``, 1 trial, 0.3 s delay: 1.15 s
   of biological time per point), both ways, each in its own process with a cold cache:

   - *compile once*: this version's ``bioattn sweep`` (one worker, in-process);
   - *rebuild per point*: the previous version of bioattn (commit ``BASELINE_COMMIT``, before
     the engine: every parameter a compiled-in constant, the project directory reused so that
     ``make`` recompiles only the files whose code changed), running the same 16 points.

   Per-point overhead = the wall time of each simulation call minus its compiled loop's time
   (Brian2's ``last_run_info.txt``): code generation, compilation, binary start-up, reading the
   results back — not the simulation loop, not the protocol's analysis.  Both are measured by
   the same wrapper around the simulation call.  Also: the sweep's total time both ways.

B. 2 workers vs 1 on an 8-point sweep (``working-memory`` at its defaults, full size: 5.7 s of
   biological time per point), ``bioattn sweep`` as a user runs it (a subprocess each), after a
   warm-up sweep that compiled both workers' project directories.

C. Dask ``LocalCluster`` (2 single-threaded worker processes) vs the local pool (2 workers) on
   the sweep of B.

    python benchmarks/bench_sweep.py                 # A, B and C (about 15 min on 2 cores)
    python benchmarks/bench_sweep.py --only A
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
#: The last commit before the compile-once engine (issue 10).
BASELINE_COMMIT = "056c515"
_MARK = "BENCH_RESULT "

POINTS_A = [(g, seed) for g in (0.5, 0.6, 0.7, 0.8) for seed in (1, 2, 3, 4)]
SHORT = ["protocol.working_memory.t_delay=0.3 s"]

# Runs the 16 points with the baseline's own protocol code and times every simulate() call.
_BASELINE_SCRIPT = """
import json, sys, time
import bioattn.protocols.common as common
from bioattn import config
from bioattn.protocols import get_protocol

calls = []
original = common.simulate
def timed(*args, **kwargs):
    t0 = time.perf_counter()
    out = original(*args, **kwargs)
    calls.append({"wall_s": time.perf_counter() - t0, "loop_s": out.timings["device_run_s"]})
    return out
common.simulate = timed
points, short, slot = json.loads(sys.argv[1]), json.loads(sys.argv[2]), sys.argv[3]
start = time.perf_counter()
for g, seed in points:
    model = config.load_model(overrides=[f"pfc.g_nmda_ee={g} nS", *short])
    get_protocol("working-memory").run(
        model, seeds=[seed], n_trials=1, scale=1.0, target="cpp_standalone", progress=False,
        standalone_dir=slot,
    )
print("%s" + json.dumps({"calls": calls, "total_s": time.perf_counter() - start}))
""".replace("%s", _MARK)

# This version: the real sweep (one worker, in-process), every simulate() call timed alike.
_ENGINE_SCRIPT = """
import json, sys, time
from bioattn.engine import Engine
from bioattn.sweep import grid, runner

calls = []
original = Engine.simulate
def timed(self, *args, **kwargs):
    t0 = time.perf_counter()
    out = original(self, *args, **kwargs)
    calls.append({"wall_s": time.perf_counter() - t0, "loop_s": out.timings["device_run_s"],
                  "built": out.timings["built"]})
    return out
Engine.simulate = timed
short, out, axis = json.loads(sys.argv[1]), sys.argv[2], sys.argv[3]
spec = grid.SweepSpec(
    protocol="working-memory", model="ardid2007",
    axes=tuple(grid.parse_grid([axis, "seed=1..4"])),
    fixed=grid.parse_fixed(short), n_trials=1,
)
start = time.perf_counter()
runner.execute(runner.plan(spec), out, workers=1, progress=False)
print("%s" + json.dumps({"calls": calls, "total_s": time.perf_counter() - start}))
""".replace("%s", _MARK)


def _result(completed: subprocess.CompletedProcess) -> dict:
    if completed.returncode != 0:
        sys.stderr.write(completed.stdout[-3000:] + completed.stderr[-3000:])
        raise SystemExit(f"benchmark step failed (exit {completed.returncode})")
    line = [x for x in completed.stdout.splitlines() if x.startswith(_MARK)][-1]
    return json.loads(line[len(_MARK) :])


def _overheads(calls: list[dict]) -> list[float]:
    return [c["wall_s"] - c["loop_s"] for c in calls]


def _mean(values: list[float]) -> float:
    return sum(values) / len(values)


def part_a(work: Path) -> None:
    baseline = work / "baseline"
    archive = subprocess.run(
        ["git", "-C", str(REPO), "archive", BASELINE_COMMIT], capture_output=True, check=True
    )
    baseline.mkdir()
    subprocess.run(["tar", "-x", "-C", str(baseline)], input=archive.stdout, check=True)
    env_old = {**os.environ, "PYTHONPATH": str(baseline)}
    old = _result(subprocess.run(
        [sys.executable, "-c", _BASELINE_SCRIPT, json.dumps(POINTS_A), json.dumps(SHORT),
         str(work / "old_slot")],
        capture_output=True, text=True, env=env_old, cwd=work, check=False,
    ))  # fmt: skip
    env_new = {**os.environ, "BIOATTN_CACHE_DIR": str(work / "new_cache")}
    new = _result(subprocess.run(
        [sys.executable, "-c", _ENGINE_SCRIPT, json.dumps(SHORT), str(work / "sweep_a"),
         "pfc.g_nmda_ee=0.5:0.8:4 nS"],
        capture_output=True, text=True, env=env_new, cwd=work, check=False,
    ))  # fmt: skip
    # The same again with other conductances in the now warm cache (a user's next sweep):
    # the one build is code generation plus a make with nothing to recompile.
    warm = _result(subprocess.run(
        [sys.executable, "-c", _ENGINE_SCRIPT, json.dumps(SHORT), str(work / "sweep_warm"),
         "pfc.g_nmda_ee=0.55:0.85:4 nS"],
        capture_output=True, text=True, env=env_new, cwd=work, check=False,
    ))  # fmt: skip
    o_old, o_new, o_warm = (_overheads(r["calls"]) for r in (old, new, warm))
    assert len(o_old) == len(o_new) == 16, (len(o_old), len(o_new))
    builds = sum(c["built"] for c in new["calls"])
    print("A. 16-point working-memory sweep at full size (1 trial, 0.3 s delay)")
    print(
        f"   rebuild per point ({BASELINE_COMMIT}): per-point overhead mean {_mean(o_old):.2f} s "
        f"(first {o_old[0]:.1f} s, others {_mean(o_old[1:]):.2f} s); total {old['total_s']:.0f} s"
    )
    print(
        f"   compile once (this version, {builds} build): per-point overhead mean "
        f"{_mean(o_new):.2f} s (first {o_new[0]:.1f} s, others {_mean(o_new[1:]):.3f} s); "
        f"total {new['total_s']:.0f} s"
    )
    print(
        f"   overhead ratio rebuild / compile-once: {_mean(o_old) / _mean(o_new):.1f}x "
        f"(goal >= 20x); after the first point: {_mean(o_old[1:]) / _mean(o_new[1:]):.0f}x; "
        f"total time ratio {old['total_s'] / new['total_s']:.1f}x"
    )
    print(
        f"   compile once, warm cache: per-point overhead mean {_mean(o_warm):.2f} s (first "
        f"{o_warm[0]:.1f} s, others {_mean(o_warm[1:]):.3f} s); total {warm['total_s']:.0f} s; "
        f"ratio {_mean(o_old) / _mean(o_warm):.1f}x"
    )
    print(
        f"   simulation loop per point: {_mean([c['loop_s'] for c in old['calls']]):.2f} s vs "
        f"{_mean([c['loop_s'] for c in new['calls']]):.2f} s"
    )


def _sweep(out: Path, cache: Path, extra: list[str]) -> float:
    argv = [sys.executable, "-m", "bioattn", "sweep", "working-memory",
            "--grid", "pfc.g_nmda_ee=0.65:0.8:4 nS", "--grid", "seed=1..2",
            "--quiet", "--out", str(out), *extra]  # fmt: skip
    env = {**os.environ, "BIOATTN_CACHE_DIR": str(cache)}
    start = time.perf_counter()
    completed = subprocess.run(argv, capture_output=True, text=True, env=env, check=False)
    wall = time.perf_counter() - start
    if completed.returncode != 0:
        sys.stderr.write(completed.stderr[-3000:])
        raise SystemExit(f"sweep failed: {' '.join(argv)}")
    return wall


def _point_wall(out: Path) -> float:
    """Mean wall time of a sweep's points (their attempt records, bioattn/sweep/store.py)."""
    walls = [
        json.loads(path.read_text())["wall_s"]
        for path in (out / "attempts").glob("*/*.json")
        if not path.name.startswith(".")
    ]
    return _mean(walls)


def part_bc(work: Path, dask: bool) -> None:
    cache = work / "cache_bc"
    # Warm-up: both workers' project directories compiled for this structure (not timed).
    warm = [sys.executable, "-m", "bioattn", "sweep", "working-memory", "--grid", "seed=7..8",
            "--workers", "2", "--quiet", "--out", str(work / "warm")]  # fmt: skip
    start = time.perf_counter()
    subprocess.run(warm, env={**os.environ, "BIOATTN_CACHE_DIR": str(cache)}, check=True,
                   capture_output=True)  # fmt: skip
    cold = time.perf_counter() - start
    binaries = sorted(cache.glob("slot*/two_area/main"))
    stamps = {path.stat().st_mtime_ns for path in binaries}
    one = _sweep(work / "b1", cache, ["--workers", "1"])
    two = _sweep(work / "b2", cache, ["--workers", "2"])
    point_one, point_two = _point_wall(work / "b1"), _point_wall(work / "b2")
    print("B. 8-point working-memory sweep at its defaults (full size, 5.7 s biological/point)")
    print(
        f"   warm-up, cold cache, 2 workers, 2 points: {cold:.0f} s; {len(binaries)} project "
        f"slots, {len(stamps)} compiled (the others copied: bioattn.engine._shared_build)"
    )
    print(
        f"   1 worker {one:.0f} s, 2 workers {two:.0f} s: speed-up {one / two:.2f}x (goal >= 1.8x)"
    )
    print(
        f"   wall time per point (simulation + analysis): {point_one:.1f} s alone, "
        f"{point_two:.1f} s beside the other worker ({point_two / point_one:.2f}x): two workers "
        f"can be at most {2 * point_one / point_two:.2f}x faster on this machine"
    )
    if dask:
        local = _sweep(work / "c", cache, ["--workers", "2", "--scheduler", "local"])
        print(
            f"C. Dask LocalCluster (2 workers) {local:.0f} s vs local pool {two:.0f} s: "
            f"{local / two:.3f}x (goal within 1.10x)"
        )
        identical = subprocess.run(
            [sys.executable, "-c", "import sys, xarray as xr; xr.testing.assert_identical("
             "xr.load_dataset(sys.argv[1], engine='h5netcdf'), "
             "xr.load_dataset(sys.argv[2], engine='h5netcdf'))",
             str(work / "b2" / "sweep.nc"), str(work / "c" / "sweep.nc")],
            capture_output=True, check=False,
        ).returncode == 0  # fmt: skip
        print(f"   Dask and local merged results identical: {identical}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=("A", "B"), default=None, help="one part (B runs C)")
    parser.add_argument("--no-dask", action="store_true", help="skip part C")
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    args = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="bench_sweep_"))
    try:
        if args.only in (None, "A"):
            part_a(work)
        if args.only in (None, "B"):
            part_bc(work, dask=not args.no_dask)
    finally:
        if args.keep:
            print(f"work directory: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
