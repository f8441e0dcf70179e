"""The simulation engine: build a circuit once per structure, re-run it with new values.

An :class:`Engine` runs a model's circuit on a schedule with a Brian2 code-generation target:

- ``cpp_standalone`` (default): the network is generated and compiled into a C++ project once
  per *structure* (:func:`bioattn.circuits.registry.structure_key`: sizes, locations, kernels'
  harmonics, switched-on projections, time steps, the schedule's length).  Every other
  parameter — conductances, rates, time constants, kernel weights, stimulus and cue values,
  the random seed — is handed to the compiled binary at run time
  (``device.run(run_args=...)``, Brian2's "multiple full simulation runs"; the seed through the
  ``BIOATTN_SEED`` environment variable read by code inserted where Brian2 would seed), so a new
  value costs one binary start instead of a build.  Projects live in a directory this process
  holds alone (:func:`standalone_directory`), one sub-directory per circuit: Brian2 rewrites
  only the generated files whose code changed, so another structure of the same circuit
  recompiles only those (an incremental build).  Processes that share the cache (a sweep's
  workers) compile a structure once between them: one builds under the cache's build lock,
  the others copy its project (:func:`_shared_build`).  Brian2's runtime device is active
  again after every run.
- ``numpy`` and ``cython`` run in-process (runtime mode); the network is rebuilt for every run
  and the bound values are assigned before it.

The same seed, values and target give identical spikes, whether the binary was built for this
run or for an earlier one (tested).
"""

from __future__ import annotations

import contextlib
import gc
import hashlib
import itertools
import os
import shutil
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

try:
    import fcntl
except ImportError:  # not POSIX
    fcntl = None

import brian2 as b2
import numpy as np
from brian2.devices.device import all_devices

from bioattn import compile as build_rules
from bioattn.circuits.bindings import seeded
from bioattn.circuits.neurons import initialize
from bioattn.circuits.registry import BuiltCircuit, get_circuit, structure_key
from bioattn.config import Model
from bioattn.errors import BioattnError
from bioattn.schedule import Schedule

TARGETS = ("numpy", "cython", "cpp_standalone")
DEFAULT_TARGET = "cpp_standalone"
#: Environment variables the compiled binary reads.
SEED_VARIABLE = "BIOATTN_SEED"
PROGRESS_VARIABLE = "BIOATTN_PROGRESS"
_REPORT_PERIOD_S = 10.0

#: Seeds Brian2's generators (one per thread, seed + thread) from BIOATTN_SEED, at the point of
#: main() where ``brian2.seed()`` would; refuses to run without it.
_SEED_CODE = """
{{
    const char* _bioattn_seed = std::getenv("{variable}");
    if (_bioattn_seed == NULL) {{
        std::cerr << "bioattn: {variable} is not set" << std::endl;
        return 2;
    }}
    const unsigned long _seed = std::strtoul(_bioattn_seed, NULL, 10);
    for (int _i = 0; _i < {threads}; _i++)
        brian::_random_generators[_i].seed(_seed + _i);
}}
"""
#: Progress of the compiled loop on stderr, only when BIOATTN_PROGRESS is set.
_REPORT_CODE = """
    static const bool show = std::getenv("{variable}") != NULL;
    if (!show) return;
    std::cerr << "\\r  simulated " << (int)(completed * 100.0) << " % of " << duration
              << " s (" << (int)elapsed << " s wall)";
    if (completed >= 1.0) std::cerr << std::endl;
    std::cerr << std::flush;
""".replace("{variable}", PROGRESS_VARIABLE)


@dataclass
class SimulationOutput:
    """What a run recorded: spikes (t in s, neuron index) and population size per area, and
    continuous traces (t in s, values with time first) by name.

    Two-area circuit: areas ``sensory``, ``pfc``; traces ``lfp`` (A) and, if recorded,
    ``topdown`` (S, time × neuron).  Multi-item circuit: areas ``pfc``, ``column`` (all columns,
    location-major), ``readout``, ``ppc``, ``pulvinar``, ``trn``; traces ``ff_conductance`` (S,
    time × location), ``gate`` and ``readout_v`` (V).

    ``timings`` (s): ``build_s`` (network construction, code generation and compilation; 0 when
    the binary was reused), ``binary_s`` (the binary's wall time, start to exit),
    ``device_run_s`` (its simulation loop), ``collect_s`` (reading the recordings back),
    ``overhead_s`` (build + binary start-up and result writing + collect: all but the loop),
    ``biological_s``; ``built`` is whether this run needed a build.
    """

    seed: int
    target: str
    spikes: dict[str, tuple[np.ndarray, np.ndarray]]
    sizes: dict[str, int]
    traces: dict[str, tuple[np.ndarray, np.ndarray]]
    timings: dict = field(default_factory=dict)

    def t(self, area: str) -> np.ndarray:
        """Spike times (s) of ``area``."""
        return self.spikes[area][0]

    def i(self, area: str) -> np.ndarray:
        """Spiking neurons' indices of ``area``."""
        return self.spikes[area][1]

    def n(self, area: str) -> int:
        """Population size of ``area``."""
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


@dataclass
class _Handle:
    """A network built for one structure."""

    key: tuple
    built: BuiltCircuit
    network: Any
    directory: Path | None
    build_s: float


#: The engine whose network the (global) Brian2 device holds now.
_device_owner: Engine | None = None


class Engine:
    """Runs circuits; builds once per structure and re-runs the build with new values.

    ``target``: Brian2 code-generation target.  ``directory``: root of this engine's
    cpp_standalone projects (default: a cache slot this process holds alone,
    :func:`standalone_directory`).  Brian2 has one device per process, so one engine at a time
    holds a built network; an engine whose network another engine replaced rebuilds it (from
    its directory: code generation, no compilation).
    """

    def __init__(self, target: str = DEFAULT_TARGET, directory: str | Path | None = None):
        if target not in TARGETS:
            raise BioattnError(f"target {target!r}: expected one of {', '.join(TARGETS)}")
        self.target = target
        self._root = Path(directory) if directory is not None else None
        self._handle: _Handle | None = None
        #: Builds and runs so far, and every run's timings (the sweep's records and the
        #: benchmarks read them).
        self.builds = 0
        self.runs = 0
        self.history: list[dict] = []

    @property
    def standalone(self) -> bool:
        return self.target == "cpp_standalone"

    @property
    def root(self) -> Path:
        """The directory of this engine's cpp_standalone projects."""
        if self._root is None:
            self._root = standalone_directory()
        return self._root

    def simulate(
        self,
        model: Model,
        schedule: Schedule,
        *,
        seed: int,
        scale: float = 1.0,
        record: frozenset[str] | set[str] = frozenset(),
        progress: bool = False,
    ) -> SimulationOutput:
        """Simulate ``schedule`` on ``model``'s circuit with ``seed`` and return the recordings.

        ``record``: optional recordings of the circuit (e.g. ``{"topdown"}`` for two_area).
        """
        out = self._simulate(model, schedule, seed, scale, record, progress)
        self.history.append(dict(out.timings))
        return out

    def _simulate(
        self,
        model: Model,
        schedule: Schedule,
        seed: int,
        scale: float,
        record: frozenset[str] | set[str],
        progress: bool,
    ) -> SimulationOutput:
        if not (np.isfinite(scale) and scale > 0):
            raise BioattnError(f"scale {scale!r}: expected a positive number")
        if not 0 <= int(seed) <= 2**32 - 1:
            raise BioattnError(f"seed {seed!r}: expected a whole number in 0 .. 2**32 - 1")
        circuit = get_circuit(model.circuit)
        unknown = set(record) - circuit.recordings
        if unknown:
            raise BioattnError(
                f"record {sorted(unknown)}: not a recording of circuit {circuit.name!r}; "
                f"expected some of {sorted(circuit.recordings) or 'none'}"
            )
        record = frozenset(record)
        if not self.standalone:
            return self._simulate_runtime(model, schedule, int(seed), scale, record, progress)
        key = structure_key(model, schedule, scale, record)
        built_now = self._handle is None or self._handle.key != key or _device_owner is not self
        if built_now:
            self._build_standalone(key, model, schedule, scale, record, progress, int(seed))
        return self._run_standalone(model, schedule, int(seed), progress, built_now)

    # -- cpp_standalone ------------------------------------------------------------------------

    def _build_standalone(
        self,
        key: tuple,
        model: Model,
        schedule: Schedule,
        scale: float,
        record: frozenset[str],
        progress: bool,
        seed: int,
    ) -> None:
        global _device_owner
        t0 = time.perf_counter()
        # One project per circuit: Brian2 rewrites only the files whose code changed and make
        # recompiles only those, so another structure of the same circuit (another schedule
        # length, say) costs an incremental compile, not a full one.
        directory = self.root / model.circuit
        if _device_owner is not None:
            _device_owner._handle = None
        _device_owner = self
        self._handle = None
        # Free the previous build's Brian2 objects now (they sit in reference cycles): Brian2
        # suffixes the names of new objects whose names are still taken ("_1"), which would make
        # this build's code differ from a new process's and recompile it there.
        gc.collect()
        b2.set_device("runtime")
        all_devices["cpp_standalone"].reinit()
        b2.set_device("cpp_standalone", directory=str(directory), build_on_run=False)
        # Brian2's default "make -j" starts one compiler per file at once; bound it by the cores,
        # and build with bioattn's makefile (precompiled header; bioattn.compile).
        b2.prefs.devices.cpp_standalone.extra_make_args_unix = build_rules.make_args(
            os.cpu_count() or 1
        )
        if "<cstdlib>" not in b2.prefs.codegen.cpp.headers:
            b2.prefs.codegen.cpp.headers = [*b2.prefs.codegen.cpp.headers, "<cstdlib>"]
        device = b2.get_device()
        network, built = self._construct(model, schedule, scale, record, seed)
        device.apply_run_args()  # the bound values, before anything reads them
        threads = max(1, int(b2.prefs.devices.cpp_standalone.openmp_threads))
        device.insert_code("main", _SEED_CODE.format(variable=SEED_VARIABLE, threads=threads))
        for group in built.populations:
            initialize(group)
        network.run(
            schedule.duration * b2.second,
            report=_REPORT_CODE,
            report_period=_REPORT_PERIOD_S * b2.second,
            namespace={},
        )
        build_rules.canonical_clock_order(device)
        build_rules.report_once_per_step(device)
        if progress:
            sys.stderr.write(f"  building the {model.circuit} network in {directory}\n")
        with _shared_build(directory, key):
            build_rules.write_build_files(directory)
            device.build(directory=str(directory), compile=True, run=False, with_output=False)
        self.builds += 1
        self._handle = _Handle(key, built, network, directory, time.perf_counter() - t0)

    def _run_standalone(
        self, model: Model, schedule: Schedule, seed: int, progress: bool, built_now: bool
    ) -> SimulationOutput:
        handle = self._handle
        assert handle is not None and handle.directory is not None
        b2.set_device("cpp_standalone", directory=str(handle.directory), build_on_run=False)
        device = b2.get_device()
        t0 = time.perf_counter()
        run_args = handle.built.bindings.run_args(model, schedule, seed)
        device.run_environment_variables[SEED_VARIABLE] = str(seed)
        if progress:
            device.run_environment_variables[PROGRESS_VARIABLE] = "1"
        else:
            device.run_environment_variables.pop(PROGRESS_VARIABLE, None)
            os.environ.pop(PROGRESS_VARIABLE, None)
        t1 = time.perf_counter()
        try:
            device.run(
                directory=str(handle.directory),
                results_directory="results",
                with_output=False,
                run_args=run_args,
            )
        finally:
            _remove_run_arrays(device, handle.directory)
        t2 = time.perf_counter()
        out = SimulationOutput(seed=seed, target=self.target, **handle.built.collect(model))
        t3 = time.perf_counter()
        # Leave Brian2 as a user expects it: the runtime device active (the built network stays
        # in the standalone device, re-activated by the next run).
        b2.set_device("runtime")
        self.runs += 1
        loop = _standalone_loop_time(handle.directory)
        build_s = handle.build_s if built_now else 0.0
        out.timings = {
            "built": built_now,
            "build_s": build_s,
            "values_s": t1 - t0,
            "binary_s": t2 - t1,
            "device_run_s": loop,
            "collect_s": t3 - t2,
            "overhead_s": build_s + (t1 - t0) + (t2 - t1 - loop) + (t3 - t2),
            "biological_s": schedule.duration,
        }
        return out

    # -- runtime targets -----------------------------------------------------------------------

    def _simulate_runtime(
        self,
        model: Model,
        schedule: Schedule,
        seed: int,
        scale: float,
        record: frozenset[str],
        progress: bool,
    ) -> SimulationOutput:
        global _device_owner
        if _device_owner is not None:
            _device_owner._handle = None
        _device_owner = None
        t0 = time.perf_counter()
        b2.set_device("runtime")
        b2.prefs.codegen.target = self.target
        network, built = self._construct(model, schedule, scale, record, seed)
        built.bindings.assign(model, schedule)
        b2.seed(seed)
        for group in built.populations:
            initialize(group)
        t1 = time.perf_counter()
        network.run(
            schedule.duration * b2.second,
            report=_progress if progress else None,
            report_period=_REPORT_PERIOD_S * b2.second,
            namespace={},
        )
        t2 = time.perf_counter()
        out = SimulationOutput(seed=seed, target=self.target, **built.collect(model))
        t3 = time.perf_counter()
        self.builds += 1
        self.runs += 1
        out.timings = {
            "built": True,
            "build_s": t1 - t0,
            "values_s": 0.0,
            "binary_s": t2 - t1,
            "device_run_s": t2 - t1,
            "collect_s": t3 - t2,
            "overhead_s": (t1 - t0) + (t3 - t2),
            "biological_s": schedule.duration,
        }
        return out

    @staticmethod
    def _construct(
        model: Model, schedule: Schedule, scale: float, record: frozenset[str], seed: int
    ) -> tuple[Any, BuiltCircuit]:
        b2.start_scope()
        b2.defaultclock.dt = model["simulation"].dt.to_brian2()
        with seeded(seed):  # the seeded values a build starts with (runtime targets: its run's)
            built = get_circuit(model.circuit).build(model, schedule, scale, record)
        return b2.Network(built.objects), built


def _progress(elapsed: float, completed: float, start: float, duration: float) -> None:
    sys.stderr.write(
        f"\r  simulated {completed * 100:5.1f} % of {duration:.1f} s ({elapsed:.0f} s wall)"
    )
    if completed >= 1.0:
        sys.stderr.write("\n")
    sys.stderr.flush()


#: A built project's structure (a digest of its :func:`structure_key`), written after a build.
_STRUCTURE_FILE = ".bioattn_structure"
#: Files of a project that belong to one process's runs, not to its build.
_RUN_FILES = ("results", "*.lock")


@contextlib.contextmanager
def _shared_build(directory: Path, key: tuple) -> Iterator[None]:
    """Build the project ``directory`` for structure ``key`` once per machine, not once per
    process.

    Concurrent processes (a sweep's workers) each hold their own slot of the standalone cache
    (:func:`standalone_directory`), as Brian2 requires, and would each compile the same
    network, in parallel on the same cores.  Instead a process whose project is not built for
    ``key`` builds under the cache's build lock, and first copies the project of another slot
    that is (sources, objects and binary, their modification times kept; not that slot's
    results): Brian2 then rewrites no file and ``make`` finds nothing to do.  A slot marks
    itself built for a structure (:data:`_STRUCTURE_FILE`) only after its build succeeded.
    Correctness never rests on the copy — a file that differs is regenerated and recompiled as
    usual.  Projects outside the cache's slots (an engine given its own directory) build
    alone.
    """
    slot = directory.parent
    if fcntl is None or slot not in _SLOT_LOCKS:
        yield
        return
    digest = hashlib.sha256(repr(key).encode()).hexdigest()
    marker = directory / _STRUCTURE_FILE
    if _is_built(directory, digest):
        # Built here already (a warm cache): nothing to copy, so code generation runs beside
        # the other processes'.  The mark comes off first, under the lock (copies are made
        # under it), so that nobody copies this project while Brian2 rewrites it.
        with _build_lock(slot.parent):
            marker.unlink()
        yield
        marker.write_text(digest)
        return
    with _build_lock(slot.parent):
        marker.unlink(missing_ok=True)
        source = next(
            (
                other / directory.name
                for other in sorted(slot.parent.glob("slot*"))
                if other != slot and _is_built(other / directory.name, digest)
            ),
            None,
        )
        if source is not None:
            shutil.copytree(
                source, directory, dirs_exist_ok=True, symlinks=True,
                ignore=shutil.ignore_patterns(*_RUN_FILES, _STRUCTURE_FILE),
            )  # fmt: skip
        yield
        marker.write_text(digest)


@contextlib.contextmanager
def _build_lock(cache: Path) -> Iterator[None]:
    """The standalone cache's build lock (``fcntl.flock`` on ``cache/.build.lock``)."""
    with open(cache / ".build.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _is_built(directory: Path, digest: str) -> bool:
    marker = directory / _STRUCTURE_FILE
    return marker.is_file() and marker.read_text() == digest and (directory / "main").is_file()


def _remove_run_arrays(device: Any, directory: Path) -> None:
    """Delete the value files this run wrote into the project (one per array value)."""
    for name in list(device.run_args_arrays):
        for suffix in ("", ".lock"):
            (directory / "static_arrays" / f"{name}{suffix}").unlink(missing_ok=True)
    device.run_args_arrays.clear()


def _standalone_loop_time(directory: Path) -> float:
    """Wall time of the compiled binary's simulation loop, as Brian2 records it."""
    path = directory / "results" / "last_run_info.txt"
    try:
        return float(path.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return float("nan")


# --------------------------------------------------------------------------------------------
# The process's engines
# --------------------------------------------------------------------------------------------

_ENGINES: dict[tuple[str, str | None], Engine] = {}


def engine_for(target: str = DEFAULT_TARGET, directory: str | Path | None = None) -> Engine:
    """The process's engine for ``target`` (and project ``directory``), created once, so that
    consecutive runs of one structure — seeds, conditions, points of a sweep — share a build."""
    key = (target, None if directory is None else str(directory))
    if key not in _ENGINES:
        _ENGINES[key] = Engine(target, directory)
    return _ENGINES[key]


def simulate(
    model: Model,
    schedule: Schedule,
    *,
    seed: int,
    target: str = DEFAULT_TARGET,
    scale: float = 1.0,
    standalone_dir: str | Path | None = None,
    progress: bool = False,
    record: frozenset[str] | set[str] = frozenset(),
) -> SimulationOutput:
    """Simulate ``schedule`` on ``model`` with the process's engine for ``target``
    (:func:`engine_for`)."""
    engine = engine_for(target, standalone_dir if target == "cpp_standalone" else None)
    return engine.simulate(model, schedule, seed=seed, scale=scale, record=record,
                           progress=progress)  # fmt: skip


def standalone_directory(base: str | Path | None = None) -> Path:
    """A cpp_standalone project directory that this process holds exclusively.

    Brian2 rewrites only the generated files whose content changed and ``make`` recompiles only
    those, so reusing a directory for the same network skips the compile (≈ 10 s).  The
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
