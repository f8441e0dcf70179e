"""Redraw a protocol's main figure from a saved result directory.

    python analysis/replot.py RESULT_DIR [--out FIGURE.png]

Reads ``results.nc`` and ``summary.json`` written by ``bioattn run`` and draws the figure of the
protocol named in the dataset's attributes (no simulation).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from bioattn import figures
from bioattn.errors import BioattnError
from bioattn.results import load_result

DRAWERS = {
    "feature-attention": figures.feature_attention_figure,
    "working-memory": figures.working_memory_figure,
    "contrast-response": figures.contrast_response_figure,
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("result_dir", type=Path)
    parser.add_argument(
        "--out", type=Path, default=None, help="figure file (default: DIR/replot.png)"
    )
    args = parser.parse_args(argv)
    try:
        dataset, summary, _ = load_result(args.result_dir)
        protocol = dataset.attrs.get("protocol")
        if protocol not in DRAWERS:
            raise BioattnError(
                f"{args.result_dir}: protocol {protocol!r} has no figure; "
                f"expected one of {', '.join(DRAWERS)}"
            )
        figure = DRAWERS[protocol](dataset, summary)
        out = args.out or args.result_dir / "replot.png"
        figure.savefig(out, dpi=120, bbox_inches="tight")
    except BioattnError as exc:
        print(f"replot: error: {exc}", file=sys.stderr)
        return 2
    print(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
