"""Time-step convergence: the headline metrics of the headline protocols at dt = 0.1, 0.05 and
0.02 ms, each over seeds with its 95 % interval.

Integration without spike-time interpolation can manufacture synchrony at a coarse step
(Compte et al. 2000 used 0.02 ms; bioattn's default is 0.05 ms for the two-area circuit, whose
LFP gamma power is 20–30 % high at 0.1 ms, and for the multi-item circuit, whose pulvinar
route's share of the attention modulation is ~20 % low at 0.1 ms, with the midpoint method
``simulation.method = "rk2"``; ``--set simulation.method=euler`` reruns the
table with forward Euler, which is not converged at 0.1 ms).  For every protocol this runs
``bioattn sweep PROTOCOL --grid "simulation.dt=..." --grid "seed=1..N"`` (one build per step,
every point written as it finishes, so an interrupted run resumes) and prints, per metric, the
mean over seeds with its Student-t 95 % interval at each step, and ``MOVED`` where the mean at
a step smaller than the model's default lies outside the interval at the default step (the
default's own column is marked ``*``; larger steps are shown for comparison).

Usage::

    python analysis/dt_convergence.py --out sweeps/dt [--seeds 5] [--workers 2]
        [--protocols feature-attention,biased-competition] [--steps 0.1,0.05]
        [--trials N] [--json table.json] [--set simulation.method=euler]

Defaults: the two-area ``feature-attention`` and ``working-memory`` at 0.1, 0.05 and 0.02 ms and
the multi-item ``biased-competition`` and ``pulvinar-inactivation`` at 0.1 and 0.05 ms, 5 seeds
(several hours on 2 cores at full size).  ``pulvinar-inactivation`` at 0.02 ms costs ~2 core-
hours per seed (12 trials); ``--protocols pulvinar-inactivation --steps 0.05,0.02 --set
'protocol.pulvinar_inactivation.states=["intact", "feedback_silenced"]'`` runs only the two
states behind the pulvinar route's share (half of that; ``--set`` applies to every protocol
listed, so list this one alone).
"""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
import tomllib
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from seed_intervals import interval  # noqa: E402

from bioattn.api import prepare  # noqa: E402

#: Protocol → time steps (ms) it is run at by default.
DEFAULT_STEPS = {
    "feature-attention": (0.1, 0.05, 0.02),
    "working-memory": (0.1, 0.05, 0.02),
    "biased-competition": (0.1, 0.05),
    "pulvinar-inactivation": (0.1, 0.05),
}


def run_sweep(protocol: str, steps: tuple[float, ...], args: argparse.Namespace) -> Path:
    out = args.out / protocol
    command = [
        sys.executable, "-m", "bioattn", "sweep", protocol,
        "--grid", "simulation.dt=" + ",".join(f"{s:g}" for s in steps) + " ms",
        "--grid", f"seed=1..{args.seeds}", "--allow-rebuild", "--workers", str(args.workers),
        "--out", str(out),
        *(["--trials", str(args.trials)] if args.trials else []),
        *(item for override in args.set for item in ("--set", override)),
    ]  # fmt: skip
    print("$", " ".join(command), flush=True)
    done = subprocess.run(command)
    if done.returncode != 0:
        raise SystemExit(f"bioattn: the sweep of {protocol} failed (exit {done.returncode})")
    return out


def point_method(point: Path) -> str:
    """The integration method a sweep point ran with (its resolved ``config.toml``)."""
    return tomllib.loads((point / "config.toml").read_text())["simulation"]["method"]["value"]


def table(out: Path, method: str) -> dict[float, dict[str, list[float]]]:
    """Per time step (ms): metric → values over seeds, of the points run with ``method`` (an
    ``--out`` reused with another method keeps that method's points beside these)."""
    by_step: dict[float, dict[str, list[float]]] = {}
    for record in sorted((out / "points").glob("*/point.json")):
        if point_method(record.parent) != method:
            continue
        coords = json.loads(record.read_text())["coords"]
        summary = json.loads((record.parent / "summary.json").read_text())
        step = round(float(coords["simulation.dt"]), 6)
        metrics = by_step.setdefault(step, {})
        for name, value in summary.items():
            if isinstance(value, int | float):
                metrics.setdefault(name, []).append(float(value))
    return by_step


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, required=True, help="root of the sweeps")
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--trials", type=int, help="trials per condition (default: protocol's)")
    parser.add_argument("--protocols", help="comma-separated (default: the four headline ones)")
    parser.add_argument("--steps", help="comma-separated steps in ms for every protocol")
    parser.add_argument("--json", type=Path, help="also write the table as JSON")
    parser.add_argument(
        "--set", action="append", default=[], metavar="SECTION.KEY=VALUE",
        help="a parameter for every run, repeatable (e.g. simulation.method=euler)",
    )  # fmt: skip
    args = parser.parse_args(argv)
    if args.seeds < 2:
        parser.error("--seeds >= 2 (an interval needs two seeds)")
    names = args.protocols.split(",") if args.protocols else list(DEFAULT_STEPS)
    rows = []
    for protocol in names:
        steps = (
            tuple(float(s) for s in args.steps.split(","))
            if args.steps
            else DEFAULT_STEPS.get(protocol, (0.1, 0.05))
        )
        _, resolved = prepare(protocol, None, set=args.set)
        method = resolved["simulation"].method
        by_step = table(run_sweep(protocol, steps, args), method)
        default = round(float(resolved["simulation"].dt) * 1e3, 6)
        if default not in by_step:
            raise SystemExit(f"bioattn: {protocol}'s default step {default:g} ms is not in --steps")
        reference = by_step[default]
        print(f"\n{protocol} ({method}): mean [95 % CI] over seeds, n per step")
        header = "".join(
            f"{f'dt={s:g} ms' + '*' * (s == default):>30s}" for s in sorted(by_step, reverse=True)
        )
        print(f"  {'metric':38s}{header}")
        for metric in reference:
            ref_mean, ref_low, ref_high, _ = interval(_array(reference[metric]))
            cells, moved = [], False
            for step in sorted(by_step, reverse=True):
                mean, low, high, n = interval(_array(by_step[step].get(metric, [])))
                cells.append(f"{mean:9.4g} [{low:.3g}, {high:.3g}] n={n}")
                if step < default and not (ref_low <= mean <= ref_high):
                    moved = moved or math.isfinite(ref_low)
                rows.append({"protocol": protocol, "method": method, "metric": metric,
                             "dt_ms": step, "mean": mean,
                             "ci_low": low, "ci_high": high, "n": n})  # fmt: skip
            print(f"  {metric:38s}" + "".join(f"{c:>30s}" for c in cells) + ("  MOVED" * moved))
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))
    return 0


def _array(values: list[float]):
    import numpy as np

    return np.asarray(values, dtype=float)


if __name__ == "__main__":
    sys.exit(main())
