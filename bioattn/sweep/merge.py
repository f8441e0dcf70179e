"""Merging a sweep's finished points into one labelled dataset and one table.

:func:`merge` builds an :class:`xarray.Dataset` with one dimension per grid axis (named by the
axis: ``pfc.g_nmda_ee``, ``seed``; its values as coordinate, with a ``units`` attribute):

- every summary metric of the points (``summary.json``) over the grid dims: numbers (NaN where a
  point lacks the metric or it is null), text, or lists of numbers with an extra dimension
  ``<metric>_index`` (padded with NaN);
- every variable of the points' ``results.nc`` whose dims and shape are the same in all points,
  with the grid dims in front; the points' coordinates that agree are kept as they are, those
  that differ are stacked over the grid dims like a variable (or left out when they index a
  dimension);
- what could not be merged (variables whose shape differs between points, such as spike lists,
  and differing index coordinates) is named in the attribute ``not_merged`` (JSON list); it
  stays in the point directories.

A point dimension named like a grid axis (a protocol's own ``seed`` dimension) is dropped when
it has length 1 -- the grid axis takes its place -- and renamed ``<name>_in_point`` otherwise.
A summary metric whose name is taken (by a variable, a dimension, an axis, ``point_id``) is
called ``summary_<metric>``.

Attributes: ``protocol``, ``model``, ``point_ids`` (JSON list of point ids in grid order),
``not_merged``, and the points' dataset attributes that all points share.  Nothing depends on
dates or wall times, so merging the same points twice gives identical datasets.

:func:`write_merged` writes ``DIR/sweep.nc`` and ``DIR/summary.csv``, each atomically.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import math
import os
import secrets
import tomllib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from bioattn import results
from bioattn.errors import BioattnError
from bioattn.sweep.grid import Axis, GridPoint, grid_shape
from bioattn.sweep.store import PointStore, _write_atomic

MERGED_FILE = "sweep.nc"
SUMMARY_CSV = "summary.csv"
RENAMED_SUFFIX = "_in_point"
SUMMARY_PREFIX = "summary_"
_RESERVED_ATTRS = ("protocol", "model", "point_ids", "not_merged")


# --------------------------------------------------------------------------------------------
# Grid order
# --------------------------------------------------------------------------------------------


def _grid_ids(axes: Sequence[Axis], points: Sequence[GridPoint], ids: Sequence[str]) -> list[str]:
    """The point id of every grid cell, in grid order (C order, last axis fastest)."""
    shape = grid_shape(axes)
    size = math.prod(shape)
    if len(points) != len(ids):
        raise ValueError(f"{len(points)} grid points but {len(ids)} point ids")
    if len(points) != size:
        raise ValueError(f"{len(points)} grid points for a grid of {size} cells {shape}")
    by_cell: list[str | None] = [None] * size
    for point, pid in zip(points, ids, strict=True):
        if len(point.index) != len(shape) or not all(
            0 <= i < n for i, n in zip(point.index, shape, strict=True)
        ):
            raise ValueError(f"grid point index {point.index} outside the grid {shape}")
        cell = int(np.ravel_multi_index(point.index, shape)) if shape else 0
        if by_cell[cell] is not None:
            raise ValueError(f"two grid points at index {point.index}")
        by_cell[cell] = pid
    return [str(pid) for pid in by_cell]


def _check_done(store: PointStore, cell_ids: Sequence[str]) -> list[str]:
    """The distinct ids in grid order; a BioattnError when any point is not finished."""
    unique = list(dict.fromkeys(cell_ids))
    missing = [pid for pid in unique if not store.done(pid)]
    if missing:
        raise BioattnError(
            f"sweep {store.out}: {len(missing)} of {len(unique)} points are missing (not "
            f"finished, e.g. {missing[0]}); re-run the sweep to compute them before merging"
        )
    return unique


def _read_summary(store: PointStore, pid: str) -> dict:
    return results._read_json(store.path(pid) / results.SUMMARY_FILE)


# --------------------------------------------------------------------------------------------
# Summary metrics
# --------------------------------------------------------------------------------------------


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float | np.integer | np.floating | bool | np.bool_)


def _metric_kind(values: Sequence[Any]) -> str | None:
    """``number``, ``text`` or ``list`` for the present (non-null) values of a metric."""
    present = [v for v in values if v is not None]
    if all(_is_number(v) for v in present):
        return "number"
    if all(isinstance(v, str) for v in present):
        return "text"
    if all(isinstance(v, list) and all(x is None or _is_number(x) for x in v) for v in present):
        return "list"
    return None


def _metric_names(summaries: Sequence[Mapping[str, Any]]) -> list[str]:
    return list(dict.fromkeys(key for summary in summaries for key in summary))


def _column_name(metric: str, taken: set[str]) -> str:
    return f"{SUMMARY_PREFIX}{metric}" if metric in taken else metric


def _summary_variables(
    axes: Sequence[Axis],
    cell_ids: Sequence[str],
    summaries: Mapping[str, Mapping[str, Any]],
    taken: set[str],
) -> tuple[dict[str, xr.Variable], list[str]]:
    shape = grid_shape(axes)
    dims = tuple(axis.name for axis in axes)
    variables: dict[str, xr.Variable] = {}
    not_merged: list[str] = []
    per_cell = [summaries[pid] for pid in cell_ids]
    for metric in _metric_names([summaries[pid] for pid in dict.fromkeys(cell_ids)]):
        values = [summary.get(metric) for summary in per_cell]
        name = _column_name(metric, taken)
        kind = _metric_kind(values)
        if kind == "number":
            data = np.array([np.nan if v is None else float(v) for v in values], dtype=float)
            variables[name] = xr.Variable(dims, data.reshape(shape))
        elif kind == "text":
            data = np.array(["" if v is None else v for v in values], dtype=object)
            variables[name] = xr.Variable(dims, data.reshape(shape))
        elif kind == "list":
            length = max((len(v) for v in values if v is not None), default=0)
            data = np.full((len(values), length), np.nan)
            for row, value in enumerate(values):
                for col, item in enumerate(value or []):
                    data[row, col] = np.nan if item is None else float(item)
            variables[name] = xr.Variable((*dims, f"{metric}_index"), data.reshape(*shape, length))
        else:
            not_merged.append(f"summary.json:{metric}")
    return variables, not_merged


# --------------------------------------------------------------------------------------------
# Point datasets
# --------------------------------------------------------------------------------------------


def _align_to_grid(dataset: xr.Dataset, axis_names: Sequence[str]) -> xr.Dataset:
    """Drop (length 1) or rename (longer) point dimensions and variables named like an axis."""
    for name in axis_names:
        if name in dataset.dims:
            if dataset.sizes[name] == 1:
                dataset = dataset.isel({name: 0}, drop=True)
            else:
                dataset = dataset.rename({name: f"{name}{RENAMED_SUFFIX}"})
        if name in dataset.variables:
            dataset = dataset.rename_vars({name: f"{name}{RENAMED_SUFFIX}"})
    return dataset


def _same_values(a: xr.Variable, b: xr.Variable) -> bool:
    if a.dims != b.dims or a.shape != b.shape:
        return False
    x, y = np.asarray(a.values), np.asarray(b.values)
    if x.dtype.kind in "fc" and y.dtype.kind in "fc":
        return bool(np.array_equal(x, y, equal_nan=True))
    return bool(np.array_equal(x, y))


def _same_attr(a: Any, b: Any) -> bool:
    try:
        return bool(np.array_equal(np.asarray(a), np.asarray(b))) and type(a) is type(b)
    except (TypeError, ValueError):
        return False


def _stack(
    cell_ids: Sequence[str], shape: tuple[int, ...], per_point: Mapping[str, np.ndarray]
) -> np.ndarray:
    first = per_point[cell_ids[0]]
    dtype = np.result_type(*(np.asarray(v).dtype for v in per_point.values()))
    data = np.empty((len(cell_ids), *first.shape), dtype=dtype)
    for cell, pid in enumerate(cell_ids):
        data[cell] = per_point[pid]
    return data.reshape(*shape, *first.shape)


def _model_name(store: PointStore, pid: str) -> str | None:
    try:
        text = (store.path(pid) / results.CONFIG_FILE).read_text(encoding="utf-8")
        meta = tomllib.loads(text).get("meta", {})
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return None
    name = meta.get("name") if isinstance(meta, dict) else None
    return name if isinstance(name, str) else None


def _sweep_names(store: PointStore, pid: str) -> tuple[str, str]:
    """``(protocol, model)`` of the sweep, for the merged dataset's attributes."""
    definition = None
    with contextlib.suppress(BioattnError):
        definition = store.read_definition()
    protocol = definition.protocol if definition is not None else None
    if protocol is None:
        with contextlib.suppress(BioattnError):
            protocol = results._read_json(store.path(pid) / results.PROVENANCE_FILE).get("protocol")
    model = _model_name(store, pid) or (definition.model if definition is not None else None)
    return str(protocol or ""), str(model or "")


def merge(
    out: str | os.PathLike, axes: Sequence[Axis], points: Sequence[GridPoint], ids: Sequence[str]
) -> xr.Dataset:
    """Merge the finished points of the sweep in ``out`` into one dataset (module docstring).

    ``points`` are the grid points (:func:`bioattn.sweep.grid.expand`) and ``ids`` their point
    ids, in the same order.  A BioattnError names how many points are missing when any is not
    finished.  Reads the points one at a time, keeping in memory only the merged arrays.
    """
    store = PointStore(out)
    axes = list(axes)
    axis_names = [axis.name for axis in axes]
    shape = grid_shape(axes)
    grid_dims = tuple(axis_names)
    cell_ids = _grid_ids(axes, points, ids)
    unique = _check_done(store, cell_ids)

    # One pass over the points, one open file at a time: a variable's values are kept while its
    # dims and shape match the first point's (spike lists stop matching at the second point).
    candidates: dict[str, tuple[tuple[str, ...], tuple[int, ...]]] = {}
    values: dict[str, dict[str, np.ndarray]] = {}
    seen: dict[str, None] = {}
    coords: dict[str, dict[str, xr.Variable]] = {}
    attrs: dict[str, dict] = {}
    first: dict[str, tuple[tuple[str, ...], dict]] = {}
    for pid in unique:
        path = store.path(pid) / results.DATASET_FILE
        try:
            with xr.open_dataset(path, engine="h5netcdf") as raw:
                dataset = _align_to_grid(raw, axis_names)
                layout = {k: (v.dims, v.shape) for k, v in dataset.data_vars.items()}
                if not first:
                    first = {k: (v.dims, dict(v.attrs)) for k, v in dataset.variables.items()}
                    candidates = dict(layout)
                    values = {name: {} for name in layout}
                for name in list(candidates):
                    if layout.get(name) != candidates[name]:
                        del candidates[name], values[name]
                seen.update(dict.fromkeys(layout))
                for name in candidates:
                    values[name][pid] = np.asarray(dataset[name].values)
                coords[pid] = {k: v.variable.load().copy() for k, v in dataset.coords.items()}
                attrs[pid] = dict(dataset.attrs)
        except (OSError, ValueError) as exc:
            raise BioattnError(
                f"result file {path} cannot be read ({exc}); expected a netCDF4 file"
            ) from exc

    merged_vars = list(candidates)
    not_merged = [name for name in seen if name not in candidates]

    kept_coords: dict[str, xr.Variable] = {}
    stacked_coords: list[str] = []
    for name in dict.fromkeys(name for pid in unique for name in coords[pid]):
        variants = [coords[pid].get(name) for pid in unique]
        reference = variants[0]
        if reference is not None and all(
            v is not None and _same_values(reference, v) for v in variants
        ):
            kept_coords[name] = xr.Variable(reference.dims, reference.values, reference.attrs)
        elif (
            reference is not None
            and name not in reference.dims
            and all(
                v is not None and (v.dims, v.shape) == (reference.dims, reference.shape)
                for v in variants
            )
        ):
            stacked_coords.append(name)
            values[name] = {pid: coords[pid][name].values for pid in unique}
        else:
            not_merged.append(name)

    variables: dict[str, xr.Variable] = {}
    for name in merged_vars + stacked_coords:
        dims, var_attrs = first[name]
        variables[name] = xr.Variable(
            (*grid_dims, *dims), _stack(cell_ids, shape, values[name]), var_attrs
        )

    taken = set(variables) | set(kept_coords) | set(grid_dims) | {"point_id"}
    taken |= {d for v in (*variables.values(), *kept_coords.values()) for d in v.dims}
    summaries = {pid: _read_summary(store, pid) for pid in unique}
    summary_vars, summary_left = _summary_variables(axes, cell_ids, summaries, taken)
    not_merged += summary_left

    grid_coords = {
        axis.name: xr.Variable(axis.name, np.array(axis.values), {"units": axis.unit or "1"})
        for axis in axes
    }
    data_vars = {**summary_vars, **{n: variables[n] for n in merged_vars}}
    all_coords = {**grid_coords, **kept_coords, **{n: variables[n] for n in stacked_coords}}

    shared = {}
    for key, value in attrs[unique[0]].items():
        if key not in _RESERVED_ATTRS and all(
            key in attrs[pid] and _same_attr(value, attrs[pid][key]) for pid in unique
        ):
            shared[key] = value
    protocol, model = _sweep_names(store, unique[0])
    dataset = xr.Dataset(data_vars, coords=all_coords)
    dataset.attrs = {
        **shared,
        "protocol": protocol,
        "model": model,
        "point_ids": json.dumps(cell_ids),
        "not_merged": json.dumps(sorted(dict.fromkeys(not_merged))),
    }
    return dataset


# --------------------------------------------------------------------------------------------
# Table and files
# --------------------------------------------------------------------------------------------


def summary_rows(
    axes: Sequence[Axis], points: Sequence[GridPoint], ids: Sequence[str], out: str | os.PathLike
) -> list[dict]:
    """One row per grid cell in grid order: ``point_id``, each axis value, each summary metric
    (as read from ``summary.json``: null as ``None``, lists as lists).  A metric named like an
    axis or ``point_id`` is called ``summary_<metric>``."""
    store = PointStore(out)
    cell_ids = _grid_ids(axes, points, ids)
    unique = _check_done(store, cell_ids)
    summaries = {pid: _read_summary(store, pid) for pid in unique}
    metrics = _metric_names([summaries[pid] for pid in unique])
    taken = {axis.name for axis in axes} | {"point_id"}
    shape = grid_shape(axes)
    rows = []
    for cell, pid in enumerate(cell_ids):
        index = np.unravel_index(cell, shape) if shape else ()
        row: dict[str, Any] = {"point_id": pid}
        for axis, i in zip(axes, index, strict=True):
            row[axis.name] = axis.values[int(i)]
        for metric in metrics:
            row[_column_name(metric, taken)] = summaries[pid].get(metric)
        rows.append(row)
    return rows


def _csv_cell(value: Any) -> str:
    value = results._json_ready(value)
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, list | dict):
        return json.dumps(value)
    return str(value)


def summary_csv_text(rows: Sequence[Mapping[str, Any]]) -> str:
    """The rows as CSV text (header: the union of the rows' keys in first-seen order; missing
    and non-finite values empty; lists and tables as JSON text)."""
    columns = list(dict.fromkeys(key for row in rows for key in row))
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([_csv_cell(row.get(column)) for column in columns])
    return buffer.getvalue()


def write_merged(
    out: str | os.PathLike, dataset: xr.Dataset, rows: Sequence[Mapping[str, Any]]
) -> None:
    """Write ``DIR/sweep.nc`` (h5netcdf) and ``DIR/summary.csv``, each through a temporary
    file renamed into place."""
    out = Path(out)
    target = out / MERGED_FILE
    tmp = out / f".{MERGED_FILE}.tmp-{secrets.token_hex(4)}"
    try:
        results._write_dataset(tmp, dataset)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    _write_atomic(out / SUMMARY_CSV, summary_csv_text(rows))
