"""Running a circuit on a schedule with a chosen Brian2 code-generation target and seed.

``numpy`` and ``cython`` run in-process (runtime mode); ``cpp_standalone`` writes and compiles a
C++ project into a directory this process holds alone (``standalone_dir``, by default a reused
cache slot, see :func:`standalone_directory`), builds the whole schedule
into one run, and reads the monitors back.  The same seed and target give identical spikes.
"""

from __future__ import annotations

import itertools
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

try:
    import fcntl
except ImportError:  # not POSIX
    fcntl = None

import brian2 as b2
import numpy as np

from bioattn.circuits.network import build_circuit
from bioattn.circuits.scene import build_scene_circuit
from bioattn.config import Model
from bioattn.errors import BioattnError
from bioattn.schedule import Schedule

TARGETS = ("numpy", "cython", "cpp_standalone")


@dataclass
class SimulationOutput:
    """What a run recorded: spikes (t in s, neuron index) and population size per area, and
    continuous traces (t in s, values with time first) by name.

    Two-area circuit: areas ``sensory``, ``pfc``; traces ``lfp`` (A) and, if recorded,
    ``topdown`` (S, time × neuron).  Multi-item circuit: areas ``pfc``, ``column`` (all columns,
    location-major), ``readout``, ``ppc``, ``pulvinar``, ``trn``; traces ``ff_conductance`` (S,
    time × location), ``gate`` and ``readout_v`` (V).
    """

    seed: int
    target: str
    spikes: dict[str, tuple[np.ndarray, np.ndarray]]
    sizes: dict[str, int]
    traces: dict[str, tuple[np.ndarray, np.ndarray]]
    timings: dict = field(default_factory=dict)

    def t(self, area: str) -> np.ndarray:  # noqa: D102
        return self.spikes[area][0]

    def i(self, area: str) -> np.ndarray:
        return self.spikes[area][1]

    def n(self, area: str) -> int:
        return self.sizes[area]

    # The two-area circuit's names, as its protocols and tests use them.
    sensory_t = property(lambda self: self.t("sensory"))
    sensory_i = property(lambda self: self.i("sensory"))
    pfc_t = property(lambda self: self.t("pfc"))
    pfc_i = property(lambda self: self.i("pfc"))
    n_sensory = property(lambda self: self.n("sensory"))
    n_pfc = property(lambda self: self.n("pfc"))
    lfp_t = property(lambda self: self.traces["lfp"][0])
    lfp = property(lambda self: self.traces["lfp"][1])
    topdown_t = property(lambda self: self.traces.get("topdown", (None, None))[0])
    topdown_g = property(lambda self: self.traces.get("topdown", (None, None))[1])


def _progress(elapsed: float, completed: float, start: float, duration: float) -> None:
    sys.stderr.write(
        f"\r  simulated {completed * 100:5.1f} % of {duration:.1f} s ({elapsed:.0f} s wall)"
    )
    if completed >= 1.0:
        sys.stderr.write("\n")
    sys.stderr.flush()


def simulate(
    model: Model,
    schedule: Schedule,
    *,
    seed: int,
    target: str = "cpp_standalone",
    scale: float = 1.0,
    standalone_dir: str | Path | None = None,
    progress: bool = True,
    record_topdown: bool = False,
) -> SimulationOutput:
    """Simulate ``schedule`` on the circuit of ``model`` and return the recorded output."""
    if target not in TARGETS:
        raise BioattnError(f"target {target!r}: expected one of {', '.join(TARGETS)}")
    if not (scale > 0 and np.isfinite(scale)):
        raise BioattnError(f"scale {scale!r}: expected a positive number")
    sim = model["simulation"]
    t0 = time.perf_counter()
    standalone = target == "cpp_standalone"
    if standalone:
        directory = Path(standalone_dir) if standalone_dir else standalone_directory()
        b2.set_device("cpp_standalone", directory=str(directory), build_on_run=False)
        # Brian2's default "make -j" starts one compiler per file at once; bound it by the cores.
        b2.prefs.devices.cpp_standalone.extra_make_args_unix = [f"-j{os.cpu_count() or 1}"]
    else:
        b2.set_device("runtime")
        b2.prefs.codegen.target = target
    b2.start_scope()
    b2.defaultclock.dt = sim.dt
    b2.seed(seed)
    try:
        if model.circuit == "multi_item":
            circuit = build_scene_circuit(model, schedule, scale)
        else:
            circuit = build_circuit(model, schedule, scale, record_topdown)
        net = b2.Network(circuit.objects)
        report = _progress if progress else None
        net.run(
            schedule.duration * b2.second,
            report=report if not standalone else ("stderr" if progress else None),
            report_period=10 * b2.second,
            namespace={},
        )
        t_built = time.perf_counter()
        if standalone:
            b2.device.build(directory=str(directory), compile=True, run=True, with_output=False)
        t_run = time.perf_counter()
        out = SimulationOutput(seed=seed, target=target, **circuit.collect())
        out.timings = {
            "setup_s": t_built - t0,
            "run_s": t_run - t_built,
            "device_run_s": _standalone_run_time(directory) if standalone else t_run - t_built,
            "biological_s": schedule.duration,
        }
        return out
    finally:
        if standalone:
            b2.device.reinit()
            b2.device.activate()
            b2.set_device("runtime")


def _standalone_run_time(directory: Path) -> float:
    """Wall time of the compiled binary's simulation loop, as Brian2 records it."""
    path = directory / "results" / "last_run_info.txt"
    try:
        return float(path.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return float("nan")


def standalone_directory(base: str | Path | None = None) -> Path:
    """A cpp_standalone project directory that this process holds exclusively.

    Brian2 rewrites only the generated files whose content changed and ``make`` recompiles only
    those, so reusing a directory for the same network skips most of the ~20 s compile.  The
    directories are numbered slots under ``base`` (default: ``$BIOATTN_CACHE_DIR``, else
    ``~/.cache/bioattn/standalone``), each guarded by an advisory lock (``fcntl.flock``) held
    until the process exits: concurrent processes take different slots, as Brian2 requires.
    Where ``fcntl`` is missing, a per-process directory is used instead.
    """
    root = Path(
        base
        or os.environ.get("BIOATTN_CACHE_DIR")
        or Path.home() / ".cache" / "bioattn" / "standalone"
    )
    for path in _SLOT_LOCKS:
        if path.parent == root:
            return path
    root.mkdir(parents=True, exist_ok=True)
    if fcntl is None:
        path = root / f"pid{os.getpid()}"
        path.mkdir(exist_ok=True)
        return path
    for slot in itertools.count():
        path = root / f"slot{slot}"
        path.mkdir(exist_ok=True)
        lock = open(path / ".lock", "w")  # noqa: SIM115 (held open until the process exits)
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            lock.close()
            continue
        _SLOT_LOCKS[path] = lock
        return path
    raise AssertionError("unreachable")


#: Open lock files of the standalone slots this process holds (closed at exit, releasing them).
_SLOT_LOCKS: dict[Path, Any] = {}
