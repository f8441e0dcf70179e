"""Mean and 95 % interval over seeds of every summary metric of a sweep (``bioattn sweep``).

Reads the finished points of a sweep (``DIR/points/*/point.json`` and ``summary.json``) whose
grid has a ``seed`` axis (other axes, if any, group the points) and prints, per group and
metric: the mean over seeds, the two-sided 95 % Student-t interval of the mean
(mean ± t₀.₉₇₅,ₙ₋₁ · s/√n) and n.  ``--ratio A/B`` adds the per-seed ratio of two metrics
(e.g. ``ami_inactivated/ami_intact``) with its interval, ``--difference A-B`` their per-seed
(paired) difference: an interval of the difference that excludes 0 says A and B differ.
Several sweep directories of the same grid (e.g. seeds 1-5 and a replication on seeds 6-10)
are pooled, seed by seed.

Usage::

    python analysis/seed_intervals.py sweeps/pulvinar [sweeps/pulvinar-6-10 ...]
        [--ratio ami_inactivated/ami_intact] [--difference ami_intact-ami_inactivated]
        [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np

from bioattn.stats import mean_interval

SEED = "seed"


def interval(values: np.ndarray) -> tuple[float, float, float, int]:
    """Mean, lower and upper end of the 95 % t interval of the mean, and n (finite values)."""
    return mean_interval(values)


def _points(sweep: Path) -> list[tuple[dict, dict]]:
    """(coords, summary) of every finished point of the sweep (``points/*/point.json``)."""
    found = []
    for record in sorted((sweep / "points").glob("*/point.json")):
        coords = json.loads(record.read_text())["coords"]
        summary = json.loads((record.parent / "summary.json").read_text())
        found.append((coords, summary))
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("sweep", type=Path, nargs="+", help="sweep output directories (pooled)")
    parser.add_argument("--ratio", action="append", default=[], help="per-seed ratio A/B")
    parser.add_argument(
        "--difference", action="append", default=[], help="per-seed (paired) difference A-B"
    )
    parser.add_argument("--json", type=Path, help="also write the table as JSON")
    args = parser.parse_args(argv)
    points = []
    for sweep in args.sweep:
        found = _points(sweep) if sweep.is_dir() else []
        if not found:
            print(f"bioattn: {sweep}: no finished sweep points (expected DIR/points/*/point.json)",
                  file=sys.stderr)  # fmt: skip
            return 2
        points += found
    for spec, sep in [(r, "/") for r in args.ratio] + [(d, "-") for d in args.difference]:
        names = spec.split(sep)
        known = points[0][1]
        if len(names) != 2 or not all(isinstance(known.get(n), int | float) for n in names):
            print(f"bioattn: {spec!r}: expected two numeric summary metrics A{sep}B",
                  file=sys.stderr)  # fmt: skip
            return 2
    groups: dict[str, list[dict]] = defaultdict(list)
    seeds: dict[str, set] = defaultdict(set)
    for coords, summary in points:
        label = ", ".join(f"{k}={float(v):g}" for k, v in coords.items() if k != SEED)
        label = label or "all points"
        if coords.get(SEED) in seeds[label]:
            print(f"bioattn: seed {coords.get(SEED)} of {label!r} is in two points; expected "
                  "the pooled sweeps to hold different seeds", file=sys.stderr)  # fmt: skip
            return 2
        seeds[label].add(coords.get(SEED))
        groups[label].append(summary)
    out = []
    for label, summaries in groups.items():
        print(f"== {label} ({len(summaries)} seeds)")
        names = [k for k, v in summaries[0].items() if isinstance(v, int | float)]
        columns = {m: np.array([float(s.get(m, math.nan)) for s in summaries]) for m in names}
        for ratio in args.ratio:
            a, b = ratio.split("/")
            columns[ratio] = columns[a] / columns[b]
        for difference in args.difference:
            a, b = difference.split("-")
            columns[difference] = columns[a] - columns[b]
        for name, values in columns.items():
            mean, low, high, n = interval(values)
            if n:
                print(f"  {name:45s} {mean:10.4g}  [{low:.4g}, {high:.4g}]  n={n}")
                out.append({"group": label, "metric": name, "mean": mean, "ci_low": low,
                            "ci_high": high, "n": n})  # fmt: skip
    if args.json:
        args.json.write_text(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
