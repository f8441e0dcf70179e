"""Running a sweep: grid points × seeds as tasks on a local process pool or a Dask cluster.

:func:`plan` resolves a :class:`~bioattn.sweep.grid.SweepSpec` before anything runs: the
protocol and model, every point's fully resolved model (its identity, :func:`store.point_id`)
and its *structure group* (the structural parameters and the circuit's derived structure:
points of one group share one compiled network).  Bad grids are refused here with the usual
one-line error and nothing is written.

:func:`execute` runs the points not yet done, ordered by structure group, so that a worker —
a process that keeps its engine (:func:`bioattn.engine.engine_for`) and its own standalone
project directory — builds each structure once and re-runs it for the group's other points.
Every finished point is written atomically as its own result directory; re-running the same
sweep skips them (a point whose worker died is simply not done and runs again).  Finally the
points are merged into ``sweep.nc`` (grid axes as dimensions) and ``summary.csv``.

Executors: ``local`` — :class:`concurrent.futures.ProcessPoolExecutor` with ``workers``
processes (1: in this process), forked from a fork server that imported Brian2 once
(:func:`start_workers`; spawn where there is no fork server); ``dask`` —
``scheduler="local"`` starts a ``dask.distributed.LocalCluster`` with one single-threaded
worker process per worker (forked from the same fork server), an address connects to a
running scheduler (e.g. a ``dask-jobqueue`` SLURM cluster).  Brian2 is imported in every Dask
worker's main thread by a worker plugin (importing it in a task thread fails on its signal
handler).  Both executors call the same :func:`run_point`, so they give bit-identical points.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import sys
import time
import tomllib
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bioattn import config
from bioattn.errors import BioattnError
from bioattn.sweep import grid, merge, store

#: The module Dask workers preload (``dask worker --preload bioattn.sweep.runner``).
PRELOAD_MODULE = __name__


@dataclass(frozen=True)
class Task:
    """One point to compute: its identity, grid point, resolved model text and seed."""

    point_id: str
    position: int  # index into the plan's points
    point: grid.GridPoint
    config_toml: str
    seed: int
    group: str  # structure group (same group = same compiled network)


@dataclass
class Plan:
    """A resolved sweep: the spec, the base model, the grid points and one task per point."""

    spec: grid.SweepSpec
    model: config.Model
    points: list[grid.GridPoint]
    tasks: list[Task]
    groups: dict[str, int] = field(default_factory=dict)  # group → number of points

    @property
    def ids(self) -> list[str]:
        return [task.point_id for task in self.tasks]


def plan(spec: grid.SweepSpec) -> Plan:
    """Resolve and validate ``spec`` (see the module docstring); raises BioattnError."""
    from bioattn import api
    from bioattn.circuits.registry import get_circuit, structural_parameters

    if not spec.axes:
        raise BioattnError("--grid: expected at least one axis, e.g. --grid 'seed=1..8'")
    protocol, base = api.prepare(
        spec.protocol, spec.model, set=dict(spec.fixed) or None, trials=spec.n_trials,
        scale=spec.scale, target=spec.target,
    )  # fmt: skip
    grid.validate(spec.axes, base, allow_structural=spec.allow_structural, fixed=dict(spec.fixed))
    circuit = get_circuit(base.circuit)
    points = spec.points()
    tasks, groups = [], {}
    for position, point in enumerate(points):
        model = base.replace(dict(point.overrides)) if point.overrides else base
        api.check_settings(model, spec.scale)
        text = config.to_toml(model)
        pid = store.point_id(
            protocol.name, text, point.seed, spec.n_trials, spec.scale, spec.target
        )
        # Protocol durations and counts too: they set the schedule's length (the engine's key).
        structure = (
            structural_parameters(model, protocols=True),
            circuit.structure(model, None, spec.scale),
        )
        group = hashlib.sha256(repr(structure).encode()).hexdigest()[:12]
        groups[group] = groups.get(group, 0) + 1
        tasks.append(Task(pid, position, point, text, point.seed, group))
    return Plan(spec, base, points, tasks, groups)


def run_point(out: str, spec_text: str, task: Task) -> dict:
    """Compute one point and write it into ``out`` (a worker's job; also run in-process).

    Skips a point that is already done.  Returns its record: id, whether it ran, whether the
    worker had to build, the engine's timings, wall time, process id.
    """
    from bioattn import api
    from bioattn.engine import engine_for

    points = store.PointStore(out)
    if points.done(task.point_id):
        return {"point_id": task.point_id, "ran": False}
    spec = grid.parse_sweep_data(tomllib.loads(spec_text), Path(out) / store.SWEEP_FILE)
    token = points.begin(task.point_id)
    start = time.perf_counter()
    origin = str(Path(out) / store.POINTS_DIR / task.point_id / "config.toml")
    model = config.parse_model(tomllib.loads(task.config_toml), origin)
    engine = engine_for(spec.target)
    builds_before, runs_before = engine.builds, len(engine.history)
    run = api.run(
        spec.protocol, model, seeds=[task.seed], trials=spec.n_trials, scale=spec.scale,
        target=spec.target, _command_line=["bioattn", "sweep", spec.protocol],
    )  # fmt: skip
    simulations = engine.history[runs_before:]
    api.close_figures(run.figures)
    wall = time.perf_counter() - start
    record = store.point_record(task.point, pid=os.getpid(), builds=engine.builds - builds_before)
    points.write(
        task.point_id, token, record, dataset=run.dataset, config_toml=run.config_toml,
        provenance=run.provenance, summary=run.summary,
    )  # fmt: skip
    points.finish(task.point_id, token, wall)
    return {
        "point_id": task.point_id,
        "ran": True,
        "built": engine.builds > builds_before,
        "wall_s": wall,
        "pid": os.getpid(),
        "simulations": simulations,
    }


# --------------------------------------------------------------------------------------------
# Executors
# --------------------------------------------------------------------------------------------


@dataclass
class Outcome:
    """What :func:`execute` did: records of the points it ran, the skipped count, wall time,
    and the merged dataset (None when interrupted)."""

    records: list[dict]
    skipped: int
    wall_s: float
    merged: Any = None


def execute(
    the_plan: Plan,
    out: str | Path,
    *,
    workers: int = 1,
    scheduler: str | None = None,
    progress: bool = True,
    force: bool = False,
    on_record: Callable[[dict], None] | None = None,
) -> Outcome:
    """Run every pending point of ``the_plan`` into ``out`` and merge (module docstring)."""
    if workers < 1:
        raise BioattnError(f"--workers {workers}: expected a number of workers >= 1")
    if scheduler is not None:
        _require_dask()
    out = Path(out)
    points = store.PointStore(out)
    points.prepare(the_plan.spec, force=force)
    spec_text = points.definition_path.read_text(encoding="utf-8")
    pending = [t for t in _by_group(the_plan.tasks) if not points.done(t.point_id)]
    skipped = len(the_plan.tasks) - len(pending)
    start = time.perf_counter()
    bar = _progress_bar(len(the_plan.tasks), skipped, progress)
    records: list[dict] = []

    def collect(record: dict) -> None:
        records.append(record)
        bar.update(1)
        if on_record is not None:
            on_record(record)

    try:
        if scheduler is not None:
            _run_dask(pending, str(out), spec_text, workers, scheduler, collect)
        elif workers == 1:
            for task in pending:
                collect(run_point(str(out), spec_text, task))
        else:
            _run_pool(pending, str(out), spec_text, workers, collect)
    finally:
        bar.close()
    merged = merge.merge(out, list(the_plan.spec.axes), the_plan.points, the_plan.ids)
    rows = merge.summary_rows(list(the_plan.spec.axes), the_plan.points, the_plan.ids, out)
    merge.write_merged(out, merged, rows)
    return Outcome(records, skipped, time.perf_counter() - start, merged)


def _by_group(tasks: Iterable[Task]) -> list[Task]:
    """Tasks ordered by structure group (first appearance), grid order inside a group."""
    order: dict[str, int] = {}
    for task in tasks:
        order.setdefault(task.group, len(order))
    return sorted(tasks, key=lambda t: (order[t.group], t.position))


def _progress_bar(total: int, done: int, enabled: bool) -> Any:
    from tqdm import tqdm

    return tqdm(
        total=total, initial=done, unit="point", desc="sweep", disable=not enabled,
        file=sys.stderr, dynamic_ncols=True,
    )  # fmt: skip


def _worker_init() -> None:
    """Process-pool worker start: import Brian2 in the worker's main thread."""
    import brian2  # noqa: F401

    import bioattn.plugins  # noqa: F401


#: What the pool's fork server imports once, so that its workers start with it imported.
_FORKSERVER_PRELOAD = ["brian2", "bioattn.plugins"]


def _pool_context() -> Any:
    """The process pool's start method: a fork server where the platform has one (workers are
    forked from a clean process that imported Brian2 and bioattn once: no import per worker),
    else spawn.  Neither forks the caller, whose threads and Brian2 state stay its own."""
    import multiprocessing

    if "forkserver" in multiprocessing.get_all_start_methods():
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(_FORKSERVER_PRELOAD)
        return context
    return multiprocessing.get_context("spawn")


def start_workers(workers: int, scheduler: str | None = None) -> None:
    """Start the fork server of the local pool or of a Dask ``LocalCluster`` now, so that it
    imports Brian2 while the caller plans the sweep (the CLI calls this first; :func:`execute`
    works without it)."""
    if (workers > 1 and scheduler is None) or scheduler == "local":
        context = _pool_context()
        if context.get_start_method() == "forkserver":
            from multiprocessing import forkserver

            forkserver.ensure_running()


def _run_pool(
    tasks: list[Task], out: str, spec_text: str, workers: int, collect: Callable[[dict], None]
) -> None:
    """Each worker process keeps its engine: consecutive tasks of a group reuse its build."""
    with ProcessPoolExecutor(workers, mp_context=_pool_context(), initializer=_worker_init) as pool:
        remaining = list(tasks)
        running = set()
        try:
            # Keep one task per worker in flight, handed out in group order.
            while remaining or running:
                while remaining and len(running) < workers:
                    running.add(pool.submit(run_point, out, spec_text, remaining.pop(0)))
                done, running = wait(running, return_when=FIRST_COMPLETED)
                for future in done:
                    collect(future.result())
        except BaseException:
            for future in running:
                future.cancel()
            pool.shutdown(wait=False, cancel_futures=True)
            raise


def _preload_plugin() -> Any:
    """A Dask worker plugin that imports Brian2 and bioattn's circuits in the worker's main
    thread (its event loop), before any task thread runs."""
    from distributed import WorkerPlugin

    class BrianPreload(WorkerPlugin):
        name = "bioattn-brian2-preload"

        def setup(self, worker: Any) -> None:
            _worker_init()

    return BrianPreload()


def dask_setup(worker: Any) -> None:
    """``dask worker --preload bioattn.sweep.runner``: the same import at worker start."""
    _worker_init()


def _require_dask() -> None:
    try:
        import dask.distributed  # noqa: F401
    except ImportError:
        raise BioattnError(
            "--scheduler needs Dask; expected it installed: pip install 'bioattn[distributed]'"
        ) from None


@contextlib.contextmanager
def _local_cluster_start_method() -> Iterator[None]:
    """Dask's worker start method set to this module's fork server where the platform has one
    (started with Brian2 imported; Dask's own preload list no longer applies to a running
    server), else Dask's default."""
    import dask

    context = _pool_context()
    if context.get_start_method() != "forkserver":
        yield
        return
    from multiprocessing import forkserver

    forkserver.ensure_running()
    with dask.config.set({"distributed.worker.multiprocessing-method": "forkserver"}):
        yield


def _run_dask(
    tasks: list[Task],
    out: str,
    spec_text: str,
    workers: int,
    scheduler: str,
    collect: Callable[[dict], None],
) -> None:
    _require_dask()
    from dask.distributed import Client, LocalCluster, as_completed

    cluster = None
    if scheduler == "local":
        # Worker processes forked from the fork server that imported Brian2 once (as the local
        # pool's; :func:`start_workers`), not spawned fresh: each would import it (~5 s).
        with _local_cluster_start_method():
            cluster = LocalCluster(
                n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None,
                preload=[PRELOAD_MODULE],
            )  # fmt: skip
        client = Client(cluster)
    else:
        try:
            client = Client(scheduler, timeout="30s")
        except OSError as exc:
            raise BioattnError(
                f"--scheduler {scheduler}: cannot connect ({exc}); expected 'local' or the "
                "address of a running Dask scheduler (tcp://host:8786)"
            ) from None
    try:
        client.register_plugin(_preload_plugin())
        # Higher priority first: the group order, so workers take one structure at a time.
        futures = [
            client.submit(run_point, out, spec_text, task, key=f"point-{task.point_id}",
                          priority=len(tasks) - k, pure=False)
            for k, task in enumerate(tasks)
        ]  # fmt: skip
        for future in as_completed(futures):
            collect(future.result())
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
