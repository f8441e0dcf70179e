"""Is a dose–response an inverted U?  The two-lines test over seeds (Simonsohn 2018).

A quadratic fit calls many monotone or plateau-and-cliff curves "U-shaped"; the two-lines test
asks instead for a significant rise *and* a significant fall.  The breakpoint b is the level
with the highest mean over seeds (its choice looks at the same data, which favours finding a U
a little; say so with the result).  Per seed, least-squares slopes of the metric against
log₁₀(level) over the levels up to b (left) and from b on (right) — both use the peak level —
then the mean slope and its 95 % Student-t interval over seeds.  An inverted U needs b interior,
the left interval above 0 and the right one below 0.

Input: a sweep over seeds of a dose protocol (``bioattn sweep da-dose --grid seed=1..5``), whose
per-seed ``summary.json`` holds ``levels`` and ``<metric>`` as a list over them (e.g.
``robustness_by_level``).  Several sweep directories are pooled (different seeds).

Usage::

    python analysis/inverted_u.py sweeps/da --metric robustness_by_level [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from bioattn.stats import mean_interval


def slopes(x: np.ndarray, y: np.ndarray, peak: int) -> tuple[np.ndarray, np.ndarray]:
    """Per-row least-squares slopes of ``y`` (seed, level) against ``x`` (level) over levels
    0..peak and peak..end."""

    def slope(cols: slice) -> np.ndarray:
        xs = x[cols] - x[cols].mean()
        ys = y[:, cols] - y[:, cols].mean(axis=1, keepdims=True)
        return ys @ xs / (xs @ xs)

    return slope(slice(0, peak + 1)), slope(slice(peak, len(x)))


def two_lines(levels: np.ndarray, values: np.ndarray) -> dict:
    """The test on ``values`` (seed, level) at ``levels`` (> 0); see the module docstring."""
    x = np.log10(np.asarray(levels, dtype=float))
    values = np.asarray(values, dtype=float)
    mean = values.mean(axis=0)
    peak = int(np.argmax(mean))
    out: dict = {"levels": [float(v) for v in levels], "mean_by_level": mean.tolist(),
                 "peak_level": float(levels[peak]), "n_seeds": int(values.shape[0])}  # fmt: skip
    interior = 0 < peak < len(levels) - 1
    out["peak_interior"] = interior
    if not interior:
        out["inverted_u"] = False
        return out
    left, right = slopes(x, values, peak)
    for name, per_seed in (("rise", left), ("fall", right)):
        m, low, high, n = mean_interval(per_seed)
        out[f"{name}_slope_per_decade"] = m
        out[f"{name}_slope_ci"] = [low, high]
    out["inverted_u"] = bool(out["rise_slope_ci"][0] > 0 and out["fall_slope_ci"][1] < 0)
    return out


def _per_seed(sweeps: list[Path], metric: str) -> tuple[np.ndarray, np.ndarray]:
    levels, rows, seeds = None, [], set()
    for sweep in sweeps:
        for record in sorted((sweep / "points").glob("*/point.json")):
            seed = json.loads(record.read_text())["seed"]
            summary = json.loads((record.parent / "summary.json").read_text())
            if metric not in summary or "levels" not in summary:
                raise ValueError(f"{record.parent}: no {metric!r} and 'levels' in summary.json")
            if levels is not None and summary["levels"] != levels:
                raise ValueError(f"{record.parent}: other levels {summary['levels']}")
            if seed in seeds:
                raise ValueError(f"seed {seed} is in two points")
            levels = summary["levels"]
            seeds.add(seed)
            rows.append([np.nan if v is None else v for v in summary[metric]])
    if not rows:
        raise ValueError(f"{[str(s) for s in sweeps]}: no finished sweep points")
    return np.asarray(levels, dtype=float), np.asarray(rows, dtype=float)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("sweep", type=Path, nargs="+", help="sweep directories over seeds")
    parser.add_argument("--metric", required=True, help="a per-level list (robustness_by_level)")
    parser.add_argument("--json", type=Path, help="also write the result as JSON")
    args = parser.parse_args(argv)
    try:
        levels, values = _per_seed(args.sweep, args.metric)
    except (ValueError, OSError) as error:
        print(f"bioattn: {error}", file=sys.stderr)
        return 2
    result = two_lines(levels, values)
    print(json.dumps(result, indent=1))
    if args.json:
        args.json.write_text(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
