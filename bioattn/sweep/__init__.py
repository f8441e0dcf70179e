"""Parameter sweeps: grids of parameter values and seeds, one crash-safe result directory per
point, and the merge of all points into one labelled dataset.

- :mod:`bioattn.sweep.grid` -- axes (``--grid``), grid points, validation, sweep files;
- :mod:`bioattn.sweep.store` -- point identity, point directories, attempt records;
- :mod:`bioattn.sweep.merge` -- ``sweep.nc`` and ``summary.csv``.

None of these modules imports Brian2.  The merge function is ``bioattn.sweep.merge.merge``: it
is not re-exported here, where its name would hide the module ``bioattn.sweep.merge``.
"""

from bioattn.sweep.grid import (
    MAX_SEED,
    SEED_AXIS,
    Axis,
    GridPoint,
    SweepSpec,
    expand,
    grid_shape,
    load_sweep_file,
    parse_axis,
    parse_fixed,
    parse_grid,
    sweep_file_text,
    validate,
)
from bioattn.sweep.merge import MERGED_FILE, SUMMARY_CSV, summary_rows, write_merged
from bioattn.sweep.store import (
    ATTEMPTS_DIR,
    POINT_FILE,
    POINTS_DIR,
    SWEEP_FILE,
    PointStore,
    definition_difference,
    point_id,
    point_record,
)

__all__ = [
    "ATTEMPTS_DIR",
    "MAX_SEED",
    "MERGED_FILE",
    "POINTS_DIR",
    "POINT_FILE",
    "SEED_AXIS",
    "SUMMARY_CSV",
    "SWEEP_FILE",
    "Axis",
    "GridPoint",
    "PointStore",
    "SweepSpec",
    "definition_difference",
    "expand",
    "grid_shape",
    "load_sweep_file",
    "parse_axis",
    "parse_fixed",
    "parse_grid",
    "point_id",
    "point_record",
    "summary_rows",
    "sweep_file_text",
    "validate",
    "write_merged",
]
