"""The ``bioattn`` command line: run a protocol, list protocols and models, show parameters.

::

    bioattn run working-memory --scale 0.25 --seeds 4 --set pfc.g_nmda_ee='0.7 nS'
    bioattn list
    bioattn params --model ardid2007
    bioattn fit results/visual-search-... --out fits/visual-search

A user's mistake (unknown protocol or parameter, wrong unit, bad option, unreadable model file,
existing output directory) is reported as one line ``bioattn: error: ...`` on stderr with exit
code 2, before anything is simulated or written.  Ctrl-C exits with code 130.  Any other
exception is a bug and keeps its traceback.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import importlib.metadata
import math
import numbers
import os
import sys
import time
import tomllib
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

from bioattn import config, results
from bioattn.engine import DEFAULT_TARGET, TARGETS
from bioattn.errors import BioattnError
from bioattn.fit.likelihood import LIKELIHOODS
from bioattn.fit.report import FIT_FILE, FitOptions, fit_run
from bioattn.protocols.registry import PROTOCOLS

PROG = "bioattn"
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130
EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE, as a shell reports it
DEFAULT_RESULTS_DIR = Path("results")
# Brian2 seeds numpy's generator, which accepts seeds in [0, 2**32).
MAX_SEED = 2**32 - 1


class _ArgumentParser(argparse.ArgumentParser):
    """An argument parser whose usage errors become one-line :class:`BioattnError` messages."""

    def error(self, message: str) -> NoReturn:
        raise BioattnError(f"{message} (see '{self.prog} --help')")


def build_parser() -> argparse.ArgumentParser:
    parser = _ArgumentParser(
        prog=PROG,
        description="Spiking Brian2 circuits of selective attention.",
    )
    parser.add_argument(
        "--version", action="version", version=f"%(prog)s {importlib.metadata.version('bioattn')}"
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = commands.add_parser(
        "run",
        help="run a protocol and save its results directory",
        description="Run a protocol on a model and write results.nc, config.toml, "
        "provenance.json, summary.json and figures into one directory.",
    )
    run.add_argument("protocol", metavar="PROTOCOL", help="protocol name (see 'bioattn list')")
    _add_model_arguments(run)
    run.add_argument("--seed", type=int, default=1, help="first random seed (default: 1)")
    run.add_argument(
        "--seeds",
        type=int,
        default=None,
        metavar="K",
        help="number of seeds, SEED .. SEED+K-1 (default: the model's [protocol.*] n_seeds, or 1)",
    )
    run.add_argument(
        "--trials", type=int, default=None, help="trials per seed (default: the model's n_trials)"
    )
    run.add_argument(
        "--scale",
        type=float,
        default=1.0,
        help="network size relative to the model's (default: 1.0)",
    )
    run.add_argument(
        "--target",
        choices=TARGETS,
        default=DEFAULT_TARGET,
        help=f"Brian2 code-generation target (default: {DEFAULT_TARGET})",
    )
    run.add_argument(
        "--out",
        type=Path,
        default=None,
        metavar="DIR",
        help="results directory (default: results/PROTOCOL-<UTC timestamp>)",
    )
    run.add_argument("--force", action="store_true", help="replace an existing --out directory")
    run.add_argument("--quiet", action="store_true", help="no simulation progress on stderr")
    run.set_defaults(handler=_command_run)

    sweep = commands.add_parser(
        "sweep",
        help="run a protocol over a grid of parameters and seeds, one result per point",
        description="Run PROTOCOL at every point of a grid (--grid, repeatable; or a sweep "
        "file) with parallel workers.  Every finished point is written atomically under "
        "DIR/points/; re-running the same command skips them.  The points are merged into "
        "DIR/sweep.nc (grid axes as dimensions) and DIR/summary.csv.",
    )
    sweep.add_argument("protocol", nargs="?", metavar="PROTOCOL", help="protocol name")
    sweep.add_argument(
        "--grid",
        action="append",
        default=[],
        metavar="NAME=VALUES",
        help="an axis: 'pfc.g_nmda_ee=0.5:0.8:4 nS' (start:stop:count), 'seed=1..8', "
        "'stimulus.kappa=1,2,3' (repeatable)",
    )
    sweep.add_argument("--file", type=Path, default=None, help="a TOML sweep file instead")
    _add_model_arguments(sweep)
    sweep.add_argument("--seed", type=int, default=None, help="seed without a seed axis (1)")
    sweep.add_argument("--trials", type=int, default=None, help="trials per seed")
    sweep.add_argument("--scale", type=float, default=None, help="network size (1.0)")
    sweep.add_argument("--target", choices=TARGETS, default=None, help="code-generation target")
    sweep.add_argument(
        "--workers", type=int, default=None, help="parallel worker processes (default: cores)"
    )
    sweep.add_argument(
        "--scheduler",
        default=None,
        metavar="local|ADDRESS",
        help="run on Dask: 'local' starts a LocalCluster, an address connects to a scheduler "
        "(needs pip install 'bioattn[distributed]')",
    )
    sweep.add_argument(
        "--allow-rebuild",
        action="store_true",
        help="allow structural parameters (sizes, steps) on the grid: one build per value",
    )
    sweep.add_argument("--out", type=Path, required=True, metavar="DIR", help="sweep directory")
    sweep.add_argument(
        "--force", action="store_true", help="reuse DIR although its sweep.toml differs"
    )
    sweep.add_argument("--quiet", action="store_true", help="no progress bar")
    sweep.set_defaults(handler=_command_sweep)

    fit = commands.add_parser(
        "fit",
        help="fit a run with softmax attention and its rivals; write fit.nc and figures",
        description="Fit the readout of a multi-item run (visual-search, cross-attention, "
        "biased-competition, pulvinar-inactivation, two-streams, self-attention, "
        "masked-attention) with softmax Q/K/V attention and rival models; write fit.nc, "
        "summary.json, provenance.json, config.toml and figures into FIT_DIR. A sweep of "
        "visual-search, cross-attention or biased-competition over one parameter (e.g. "
        "--grid 'neuromod.ne.level=3,10,30 nM' --grid seed=1..5) is fitted level by level: "
        "which single softmax parameter explains the levels (L4).",
    )
    fit.add_argument(
        "run_dir",
        type=Path,
        metavar="RUN_DIR",
        help="a 'bioattn run' directory, or a 'bioattn sweep' directory of one swept parameter "
        "(and seeds): one fit per level, the one-parameter test L4 on the levels",
    )
    fit.add_argument("--out", type=Path, required=True, metavar="FIT_DIR", help="fit directory")
    fit.add_argument(
        "--templates",
        type=Path,
        default=None,
        metavar="DIR",
        help="visual-search run of the same model whose single-item trials give the readout's "
        "item templates (needed for pulvinar-inactivation and two-streams runs)",
    )
    fit.add_argument(
        "--bins",
        type=int,
        default=FitOptions.n_bins,
        help=f"readout cells are summed into this many bins (default: {FitOptions.n_bins})",
    )
    fit.add_argument(
        "--boot",
        type=int,
        default=FitOptions.n_boot,
        help=f"bootstrap resamples for β and parameter recovery (default: {FitOptions.n_boot})",
    )
    fit.add_argument(
        "--likelihood",
        choices=LIKELIHOODS,
        default=FitOptions.likelihood,
        help=f"spike-count distribution (default: {FitOptions.likelihood}; negbin fits one "
        "dispersion per model)",
    )
    fit.add_argument(
        "--seed", type=int, default=0, help="seed of folds, bootstrap and simulations (default: 0)"
    )
    fit.add_argument("--force", action="store_true", help="replace an existing --out directory")
    fit.add_argument("--quiet", action="store_true", help="no progress on stdout")
    fit.set_defaults(handler=_command_fit)

    listing = commands.add_parser(
        "list", help="list protocols and model files", description="List protocols and models."
    )
    listing.set_defaults(handler=_command_list)

    params = commands.add_parser(
        "params",
        help="show every parameter of a model",
        description="Show every parameter: section.key, value, description, [source].",
    )
    _add_model_arguments(params)
    params.set_defaults(handler=_command_params)
    return parser


def _add_model_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--model",
        default=None,
        metavar="FILE_OR_NAME",
        help="model file, or the name of one in models/ (default: the protocol's model, "
        f"else {config.DEFAULT_MODEL})",
    )
    parser.add_argument(
        "--set",
        action="append",
        default=None,
        dest="overrides",
        metavar="SECTION.KEY=VALUE",
        help="override a parameter, e.g. --set pfc.g_nmda_ee='0.7 nS' (repeatable)",
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line with ``argv`` (default: ``sys.argv[1:]``) and return the exit code."""
    arguments = list(sys.argv[1:] if argv is None else argv)
    try:
        parser = build_parser()
        try:
            args = parser.parse_args(arguments)
        except SystemExit as exc:  # --help and --version exit through argparse
            return exc.code if isinstance(exc.code, int) else 0
        return args.handler(args, arguments)
    except BioattnError as exc:
        _print_error(str(exc))
        return EXIT_USAGE
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # Output piped into a program that stopped reading (`bioattn params | head`): stop
        # quietly, and keep Python from failing again when it flushes stdout at exit.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_BROKEN_PIPE


def _print_error(message: str) -> None:
    one_line = " ".join(part.strip() for part in message.splitlines() if part.strip())
    print(f"{PROG}: error: {one_line}", file=sys.stderr)


# --------------------------------------------------------------------------------------------
# bioattn run
# --------------------------------------------------------------------------------------------


def _command_run(args: argparse.Namespace, arguments: list[str]) -> int:
    from bioattn import api

    _check_run_options(scale=args.scale, n_trials=args.trials)
    spec, model = api.prepare(
        args.protocol, args.model, set=args.overrides, trials=args.trials, scale=args.scale,
        target=args.target,
    )  # fmt: skip
    # Without --seeds the model file's [protocol.*] n_seeds applies, from --seed on.
    n_seeds = args.seeds if args.seeds is not None else len(api.default_seeds(spec, model))
    seeds = _seed_list(args.seed, n_seeds)
    out = args.out if args.out is not None else _default_out(spec.name)
    # Both checks come before the simulation, which may take hours.
    results.check_output_free(out, args.force)
    _check_output_writable(out)
    run = api.run(
        spec.name,
        model,
        seeds=seeds,
        trials=args.trials,
        scale=args.scale,
        target=args.target,
        progress=not args.quiet,
        _command_line=[PROG, *arguments],
    )
    run.provenance["overrides"] = list(args.overrides or [])
    run.save(out, force=args.force)
    print(f"results written to {out}")
    for name, value in run.summary.items():
        print(f"{name} = {_format_value(value)}")
    return 0


def _sweep_spec(args: argparse.Namespace):
    """The sweep from the command line or from --file (options given override the file's)."""
    from bioattn.sweep import grid

    if args.file is not None:
        if args.protocol is not None or args.grid:
            raise BioattnError("--file: give either a sweep file or PROTOCOL with --grid")
        spec = grid.load_sweep_file(args.file)
        changes = {
            "model": args.model,
            "n_trials": args.trials,
            "scale": args.scale,
            "target": args.target,
            "seed": args.seed,
        }
        spec = dataclasses.replace(spec, **{k: v for k, v in changes.items() if v is not None})
        if args.overrides:
            spec = dataclasses.replace(
                spec, fixed={**spec.fixed, **grid.parse_fixed(args.overrides)}
            )
        if args.allow_rebuild:
            spec = dataclasses.replace(spec, allow_structural=True)
        return spec
    if args.protocol is None:
        raise BioattnError("sweep: expected PROTOCOL with --grid, or --file SWEEP.toml")
    if not args.grid:
        raise BioattnError("sweep: expected at least one --grid axis, e.g. --grid 'seed=1..8'")
    return grid.SweepSpec(
        protocol=args.protocol,
        model=args.model,
        axes=tuple(grid.parse_grid(args.grid)),
        fixed=grid.parse_fixed(args.overrides or []),
        n_trials=args.trials,
        scale=1.0 if args.scale is None else args.scale,
        target=args.target or DEFAULT_TARGET,
        allow_structural=args.allow_rebuild,
        seed=1 if args.seed is None else args.seed,
    )


def _command_sweep(args: argparse.Namespace, arguments: list[str]) -> int:
    from bioattn.sweep import runner

    spec = _sweep_spec(args)
    _check_run_options(scale=spec.scale, n_trials=spec.n_trials)
    workers = args.workers if args.workers is not None else (os.cpu_count() or 1)
    if workers < 1:
        raise BioattnError(f"--workers {workers}: expected a number of workers >= 1")
    # The pool's fork server imports Brian2 while this process plans the sweep.
    runner.start_workers(workers, args.scheduler)
    if spec.model is None:  # the protocol's own model file, named so the sweep file is explicit
        from bioattn.protocols.registry import get_protocol

        spec = dataclasses.replace(spec, model=get_protocol(spec.protocol).default_model)
    the_plan = runner.plan(spec)
    _check_output_writable(args.out)
    points = len(the_plan.tasks)
    if not args.quiet:
        print(
            f"sweep {spec.protocol}: {points} points in {len(the_plan.groups)} structure "
            f"group(s), {workers} worker(s){' on Dask' if args.scheduler else ''} -> {args.out}",
            flush=True,
        )
    outcome = runner.execute(
        the_plan, args.out, workers=workers, scheduler=args.scheduler,
        progress=not args.quiet, force=args.force,
    )  # fmt: skip
    ran = sum(1 for r in outcome.records if r.get("ran"))
    print(
        f"{ran} point(s) computed, {outcome.skipped} already done; merged into "
        f"{args.out / 'sweep.nc'} and {args.out / 'summary.csv'} ({outcome.wall_s:.0f} s)"
    )
    return 0


def _command_fit(args: argparse.Namespace, arguments: list[str]) -> int:
    if args.seed < 0:
        raise BioattnError(f"--seed {args.seed}: expected a whole number >= 0")
    options = FitOptions(
        n_bins=args.bins, n_boot=args.boot, random_state=args.seed, likelihood=args.likelihood
    )
    for what, path in (("RUN_DIR", args.run_dir), ("--templates", args.templates)):
        if path is not None and not path.is_dir():
            raise BioattnError(
                f"{what} {path} does not exist; expected a 'bioattn run' (or, for RUN_DIR, "
                "'bioattn sweep') directory"
            )
    results.check_output_free(args.out, args.force)
    _check_output_writable(args.out)
    start = time.perf_counter()
    report = fit_run(
        args.run_dir, templates_dir=args.templates, options=options, progress=not args.quiet
    )
    record = results.provenance(
        command_line=[PROG, *arguments],
        seed=args.seed,
        target="none (fit)",
        wall_time_s=time.perf_counter() - start,
        extra={
            "run_dir": str(args.run_dir.resolve()),
            "templates_dir": None if args.templates is None else str(args.templates.resolve()),
            "fit_options": dataclasses.asdict(options),
        },
    )
    results.write_result_dir(
        args.out,
        dataset=report.dataset,
        config_toml=report.config_toml,
        provenance=record,
        summary=report.summary,
        figures=report.figures,
        force=args.force,
        dataset_file=FIT_FILE,
    )
    summary = report.summary
    print(f"fit written to {args.out}")
    for name in ("best_model", "beta", "weight_r2_softmax", "verdict_level", "mixing_fraction",
                 "linear_fraction"):  # fmt: skip
        print(f"{name} = {_format_value(summary[name])}")
    bits = ", ".join(f"{k} {v:.3f}" for k, v in summary["cv_bits_per_spike"].items())
    print(f"cv_bits_per_spike = {bits}")
    return 0


def _seed_list(seed: int, n_seeds: int) -> list[int]:
    """Seeds ``seed .. seed + n_seeds - 1``, each a valid numpy / Brian2 seed."""
    if seed < 0:
        raise BioattnError(f"--seed {seed}: expected a whole number >= 0")
    if n_seeds < 1:
        raise BioattnError(f"--seeds {n_seeds}: expected a number of seeds >= 1")
    last = seed + n_seeds - 1
    if last > MAX_SEED:
        raise BioattnError(
            f"--seed {seed} with {n_seeds} seed(s): the last seed {last} exceeds {MAX_SEED}"
        )
    return list(range(seed, last + 1))


def _check_run_options(*, scale: float, n_trials: int | None) -> None:
    if not (math.isfinite(scale) and scale > 0):
        raise BioattnError(f"--scale {scale!r}: expected a finite number > 0")
    if n_trials is not None and n_trials < 1:
        raise BioattnError(f"--trials {n_trials}: expected a number of trials >= 1")


def _default_out(protocol_name: str) -> Path:
    # Microseconds keep runs started in the same second (a sweep script) from colliding.
    stamp = datetime.datetime.now(datetime.UTC).strftime("%Y%m%dT%H%M%S.%fZ")
    return DEFAULT_RESULTS_DIR / f"{protocol_name}-{stamp}"


def _check_output_writable(out: Path) -> None:
    """Fail before simulating if the results directory could not be created later."""
    ancestor = Path(os.path.abspath(out)).parent
    while not ancestor.exists() and ancestor != ancestor.parent:
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        raise BioattnError(f"--out {out}: {ancestor} is not a directory")
    if not os.access(ancestor, os.W_OK | os.X_OK):
        raise BioattnError(f"--out {out}: cannot write in {ancestor} (permission denied)")


def _format_value(value: object) -> str:
    if isinstance(value, numbers.Real) and not isinstance(value, numbers.Integral):
        return f"{float(value):.6g}"
    return str(value)


# --------------------------------------------------------------------------------------------
# bioattn list / params
# --------------------------------------------------------------------------------------------


def _command_list(args: argparse.Namespace, arguments: list[str]) -> int:
    print("protocols:")
    config.load_plugins()
    protocol_rows = [(name, p.description) for name, p in sorted(PROTOCOLS.items())]
    _print_table(protocol_rows or [("(none registered)", "")], indent="  ")
    config.load_plugins()
    print(f"models ({config.models_dir()}):")
    model_rows = [
        (name, _model_description(config.models_dir() / f"{name}.toml"))
        for name in config.model_names()
    ]
    _print_table(model_rows or [("(none)", "")], indent="  ")
    return 0


def _model_description(path: Path) -> str:
    """The ``[meta] description`` of a model file, or why it cannot be read (listing goes on)."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        return f"(cannot read: {exc})"
    meta = data.get("meta")
    return str(meta.get("description", "")) if isinstance(meta, dict) else ""


def _command_params(args: argparse.Namespace, arguments: list[str]) -> int:
    model = _load_model(args.model, args.overrides)
    rows = [
        (name, value, description, f"[{source}]")
        for name, value, description, source in config.parameter_rows(model)
    ]
    _print_table(rows)
    return 0


def _print_table(rows: Sequence[Sequence[str]], indent: str = "") -> None:
    """Rows with every column but the last padded to a common width, two spaces apart."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    for row in rows:
        cells = [cell.ljust(width) for cell, width in zip(row, widths, strict=False)]
        print((indent + "  ".join([*cells, row[-1]])).rstrip())


def _load_model(model: str | None, overrides: Sequence[str] | None) -> config.Model:
    from bioattn.api import load_model

    return load_model(model, list(overrides or ()))
