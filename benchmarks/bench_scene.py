"""Runtime of the multi-item circuit, measured in one run on this machine.

1. Cost per simulated second of the multi-item circuit (``models/multi_item.toml``, default size)
   against the two-area circuit (``models/ardid2007.toml``), both cpp_standalone, on the same
   machine in the same process: the ratio is what to read (absolute times drift here).
2. The full ``visual-search`` protocol on its defaults (the fitting data set): wall time from
   start to analysed result, biological time, and the compiled binary's run time.

    python benchmarks/bench_scene.py            # both
    python benchmarks/bench_scene.py --no-protocol
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from bioattn import config
from bioattn.engine import simulate
from bioattn.protocols import visual_search
from bioattn.protocols.registry import RunOptions
from bioattn.schedule import Schedule


def _schedule(n_locations: int, duration: float) -> Schedule:
    """A cue, then every location holding an item for the rest of ``duration``."""
    schedule = Schedule(0.001, n_locations)
    scene = tuple((2 * np.pi * b / n_locations, 1.0) for b in range(n_locations))
    schedule.add_trial(
        {},
        [
            ("cue", 0.25, {"cue_angle": np.pi}),
            ("stimulus", duration - 0.25, {"scene": scene, "stim_angle": np.pi, "contrast": 1.0}),
        ],
    )
    return schedule


def per_second(model: config.Model, duration: float, repeats: int) -> list[float]:
    """Compiled-binary run time per simulated second, ``repeats`` times (first run compiles)."""
    n_loc = model["scene"].n_locations if "scene" in model.sections else 1
    out = []
    for k in range(repeats):
        result = simulate(model, _schedule(n_loc, duration), seed=k + 1, progress=False)
        out.append(result.timings["device_run_s"] / duration)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=2.0, help="simulated s per run")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--no-protocol", action="store_true", help="skip the visual-search run")
    args = parser.parse_args()

    two_area, multi = config.load_model("ardid2007"), config.load_model("multi_item")
    a = per_second(two_area, args.duration, args.repeats)
    b = per_second(multi, args.duration, args.repeats)
    print(f"two-area circuit:   {' '.join(f'{x:.2f}' for x in a)} s wall per simulated s")
    print(f"multi-item circuit: {' '.join(f'{x:.2f}' for x in b)} s wall per simulated s")
    print(f"ratio multi-item / two-area (medians): {np.median(b) / np.median(a):.2f}")
    if args.no_protocol:
        return
    start = time.perf_counter()
    result = visual_search.PROTOCOL.run(multi, RunOptions())
    wall = time.perf_counter() - start
    n_trials = result.dataset.sizes["trial"]
    biological = float(result.dataset.attrs["biological_s"])
    print(
        f"visual-search defaults: {n_trials} trials, {biological:.1f} s biological, "
        f"{wall:.1f} s wall in total ({wall / biological:.2f} s wall per simulated s, "
        "including compile and analysis)"
    )
    for name, value in result.summary.items():
        print(f"  {name} = {value:.4g}")


if __name__ == "__main__":
    main()
