"""Crash-safe storage of a sweep's points: every finished point is its own result directory.

Layout of a sweep directory ``DIR``::

    DIR/sweep.toml                      the sweep's definition, a sweep file (written atomically)
    DIR/points/<point_id>/              one result directory per finished point
        results.nc config.toml provenance.json summary.json *.png   (bioattn.results)
        point.json                      the point: id, attempt token, grid index, coords, ...
    DIR/points/.<point_id>.tmp-<token>/ staging directory of a running (or dead) attempt
    DIR/attempts/<point_id>/<token>.json    one record per attempt to compute the point
    DIR/sweep.nc, DIR/summary.csv       the merged sweep (bioattn.sweep.merge)

A point's identity (:func:`point_id`) is a hash of what it computes -- protocol, fully resolved
model text, seed, trials, scale, target -- not of its grid position, so re-running a sweep (or a
changed sweep with ``force``) reuses every finished point with the same identity.

A point is *done* when ``DIR/points/<point_id>/point.json`` exists.  :meth:`PointStore.write`
builds the whole result directory (with ``point.json``) in the attempt's staging directory and
renames it into place in one step, so a worker killed at any moment leaves either nothing under
that name or a complete point; its staging directory is removed by :meth:`PointStore.cleanup`.

A worker's life with a point::

    token = store.begin(pid)                        # attempt record: pid, host, started_utc
    ... compute ...
    store.write(pid, token, record, dataset=..., config_toml=..., provenance=..., summary=...)
    store.finish(pid, token, wall_s)                # attempt record: finished_utc, wall_s

Nothing here imports Brian2.
"""

from __future__ import annotations

import contextlib
import datetime
import hashlib
import json
import os
import secrets
import shutil
import socket
import tempfile
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bioattn import config, results
from bioattn.errors import BioattnError
from bioattn.sweep import grid

if TYPE_CHECKING:
    import xarray as xr
    from matplotlib.figure import Figure

SWEEP_FILE = "sweep.toml"
POINTS_DIR = "points"
ATTEMPTS_DIR = "attempts"
POINT_FILE = "point.json"
#: Number of hex digits of a point id (64 bits of sha256).
POINT_ID_LENGTH = 16
_TMP_MARK = ".tmp-"
_TMP_FILE_MAX_AGE_S = 60.0
_HEADER = (
    "Definition of the sweep in this directory (written by bioattn sweep).\n"
    "It is a sweep file: bioattn sweep --file this-file re-runs the same sweep."
)


def point_id(
    protocol: str,
    config_toml: str,
    seed: int,
    n_trials: int | None,
    scale: float,
    target: str,
) -> str:
    """The identity of a point: the first 16 hex digits of the sha256 of a canonical JSON of
    what it computes.  ``config_toml`` is the fully resolved model text (overrides included)."""
    record = {
        "protocol": str(protocol),
        "config_toml": str(config_toml),
        "seed": int(seed),
        "n_trials": None if n_trials is None else int(n_trials),
        "scale": float(scale),
        "target": str(target),
    }
    text = json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:POINT_ID_LENGTH]


def point_record(point: grid.GridPoint, **extra: Any) -> dict:
    """The grid description of a point for its ``point.json`` (index, coords, overrides, seed),
    plus any JSON-ready ``extra`` entries."""
    return {
        "index": list(point.index),
        "coords": dict(point.coords),
        "overrides": dict(point.overrides),
        "seed": point.seed,
        **extra,
    }


def _now_utc() -> str:
    return datetime.datetime.now(datetime.UTC).isoformat(timespec="microseconds")


def _write_atomic(path: Path, text: str) -> None:
    """Write ``text`` to a temporary sibling, then ``os.replace`` it onto ``path``."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}{_TMP_MARK}", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _write_json_atomic(path: Path, data: Mapping) -> None:
    text = json.dumps(results._json_ready(data), indent=2, sort_keys=True, allow_nan=False)
    _write_atomic(path, text + "\n")


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    except (OSError, OverflowError, ValueError):
        return False
    return True


class PointStore:
    """The points of the sweep directory ``out`` (see the module docstring for the layout)."""

    def __init__(self, out: str | os.PathLike) -> None:
        self.out = Path(out)
        self.points_dir = self.out / POINTS_DIR
        self.attempts_dir = self.out / ATTEMPTS_DIR

    # -- the sweep's definition --------------------------------------------------------------

    @property
    def definition_path(self) -> Path:
        return self.out / SWEEP_FILE

    def read_definition(self) -> grid.SweepSpec | None:
        """The sweep written in ``DIR/sweep.toml``, or ``None`` when there is none."""
        path = self.definition_path
        if not path.is_file():
            return None
        data = config.read_toml(path, "sweep definition")
        return grid.parse_sweep_data(data, path, require_grid=False)

    def prepare(self, spec: grid.SweepSpec, *, force: bool = False) -> None:
        """Create ``DIR`` (or reopen it) for ``spec``, write ``DIR/sweep.toml`` and remove what
        dead attempts left behind (:meth:`cleanup`).

        A ``DIR`` holding a different sweep, or other files without a ``sweep.toml``, is refused
        unless ``force``; with ``force`` the definition is replaced and finished points whose
        identity matches are still reused.
        """
        out = self.out
        if out.exists() and not out.is_dir():
            raise BioattnError(f"--out {out} is a file; expected a sweep directory")
        previous = None
        if self.definition_path.exists() or self.definition_path.is_symlink():
            try:
                previous = self.read_definition()
            except BioattnError as exc:
                if not force:
                    raise BioattnError(
                        f"{exc}; pass --force to replace the sweep definition in {out}"
                    ) from None
        elif out.is_dir() and any(out.iterdir()) and not force:
            raise BioattnError(
                f"--out {out} exists and is not a sweep directory (no {SWEEP_FILE}); choose "
                "another --out or pass --force"
            )
        if previous is not None and not force:
            difference = definition_difference(previous, spec)
            if difference:
                raise BioattnError(
                    f"{self.definition_path} defines a different sweep ({difference}); pass "
                    "--force to reuse the directory, or choose another --out"
                )
        try:
            self.points_dir.mkdir(parents=True, exist_ok=True)
            self.attempts_dir.mkdir(exist_ok=True)
        except OSError as exc:
            raise BioattnError(
                f"--out {out}: cannot create the sweep directory ({exc.strerror or exc})"
            ) from None
        text = grid.sweep_file_text(spec, header=_HEADER)
        if previous is None or force or not self.definition_path.is_file():
            _write_atomic(self.definition_path, text)
        self.cleanup()

    # -- points ------------------------------------------------------------------------------

    def path(self, point_id: str) -> Path:
        """The result directory of the point (it exists once the point is done)."""
        _check_id(point_id)
        return self.points_dir / point_id

    def done(self, point_id: str) -> bool:
        """Whether the point's directory is in place (it holds ``point.json``)."""
        return (self.path(point_id) / POINT_FILE).is_file()

    def pending(self, ids: Iterable[str]) -> list[str]:
        """The ids not done, in order, each once (grid points with equal ids compute once)."""
        return [i for i in dict.fromkeys(ids) if not self.done(i)]

    def point(self, point_id: str) -> dict:
        """The ``point.json`` of a finished point."""
        return results._read_json(self.path(point_id) / POINT_FILE)

    def staging_path(self, point_id: str, token: str) -> Path:
        """Where the attempt ``token`` builds the point before renaming it into place."""
        _check_id(point_id)
        _check_id(token)
        return self.points_dir / f".{point_id}{_TMP_MARK}{token}"

    def write(
        self,
        point_id: str,
        token: str,
        record: Mapping[str, Any],
        *,
        dataset: xr.Dataset,
        config_toml: str,
        provenance: dict,
        summary: dict[str, float],
        figures: dict[str, Figure] | None = None,
    ) -> bool:
        """Write the finished point atomically: the result directory
        (:func:`bioattn.results.write_result_dir`, same arguments) plus ``point.json``
        (``record`` with ``point_id`` and ``token``), built in the staging directory and renamed
        to ``DIR/points/<point_id>`` in one step.

        Returns ``True`` if this attempt's directory was put in place, ``False`` if another
        attempt had finished the point meanwhile (then this one's output is discarded).
        """
        staging = self.staging_path(point_id, token)
        target = self.path(point_id)
        if self.done(point_id):
            return False
        staging.mkdir(parents=True, exist_ok=False)
        try:
            built = results.write_result_dir(
                staging / "result",
                dataset=dataset,
                config_toml=config_toml,
                provenance=provenance,
                summary=summary,
                figures=figures or {},
            )
            point = {**record, "point_id": point_id, "token": token}
            results._write_json(built / POINT_FILE, point)
            if self.done(point_id):
                return False
            try:
                os.rename(built, target)
            except OSError:
                if self.done(point_id):  # another attempt won the race
                    return False
                raise BioattnError(
                    f"point directory {target} exists but holds no {POINT_FILE} (not written "
                    "by bioattn sweep); remove it and re-run the sweep"
                ) from None
            return True
        finally:
            shutil.rmtree(staging, ignore_errors=True)

    # -- attempts ----------------------------------------------------------------------------

    def _attempt_path(self, point_id: str, token: str) -> Path:
        _check_id(point_id)
        _check_id(token)
        return self.attempts_dir / point_id / f"{token}.json"

    def begin(self, point_id: str) -> str:
        """Record that this process starts computing the point; returns the attempt's token."""
        token = secrets.token_hex(8)
        path = self._attempt_path(point_id, token)
        path.parent.mkdir(parents=True, exist_ok=True)
        record = {
            "point_id": point_id,
            "token": token,
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "started_utc": _now_utc(),
        }
        _write_json_atomic(path, record)
        return token

    def finish(self, point_id: str, token: str, wall_s: float) -> dict:
        """Record the end of the attempt once its point is in place, and return the record.

        The record gains ``wall_s`` and ``finished_utc`` when the point in place is this
        attempt's (its ``point.json`` has this token), else ``discarded_utc`` (another attempt
        finished the point first).  Refused (``RuntimeError``) when the point is not done.
        """
        if not self.done(point_id):
            raise RuntimeError(f"point {point_id} is not in place; finish() follows write()")
        path = self._attempt_path(point_id, token)
        record = results._read_json(path)
        record["wall_s"] = float(wall_s)
        key = "finished_utc" if self.point(point_id).get("token") == token else "discarded_utc"
        record[key] = _now_utc()
        _write_json_atomic(path, record)
        return record

    def attempts(self, point_id: str) -> list[dict]:
        """Every attempt record of the point, oldest first."""
        folder = self.attempts_dir / point_id
        if not folder.is_dir():
            return []
        records = [
            results._read_json(path)
            for path in folder.glob("*.json")
            if not path.name.startswith(".")
        ]
        return sorted(records, key=lambda r: (str(r.get("started_utc", "")), str(r.get("token"))))

    def completions(self, point_id: str) -> int:
        """How many attempts computed the point to completion (1 for a finished point)."""
        return sum("finished_utc" in record for record in self.attempts(point_id))

    # -- cleanup -----------------------------------------------------------------------------

    def _attempt_alive(self, point_id: str, token: str) -> bool:
        """Whether the attempt's process still runs on this host (unknown hosts: no)."""
        try:
            record = results._read_json(self._attempt_path(point_id, token))
        except (BioattnError, ValueError):
            return False
        if "finished_utc" in record or "discarded_utc" in record:
            return False
        if record.get("host") != socket.gethostname():
            return False
        pid = record.get("pid")
        return isinstance(pid, int) and _pid_alive(pid)

    def cleanup(self) -> list[Path]:
        """Remove the temporary files and staging directories of dead attempts, and point
        directories without ``point.json``; return what was removed.

        An attempt counts as alive only while its process runs on this host, so call this
        before starting workers on other hosts (at the start of a sweep, as :meth:`prepare`
        does).  Safe to call any time from this host's sweep process.
        """
        removed: list[Path] = []
        if self.points_dir.is_dir():
            for path in self.points_dir.iterdir():
                name = path.name
                if not name.startswith("."):
                    # Points appear by renaming a complete directory: one without point.json
                    # was not made by a sweep (or half deleted by hand); it would block the point.
                    if _is_id(name) and path.is_dir() and not self.done(name):
                        results._remove_path(path)
                        removed.append(path)
                    continue
                if _TMP_MARK not in name:
                    continue
                point, _, token = name[1:].partition(_TMP_MARK)
                if _is_id(point) and _is_id(token) and self._attempt_alive(point, token):
                    continue
                results._remove_path(path)
                removed.append(path)
        # Temporary files of atomic writes live for milliseconds: older ones are leftovers.
        leftovers = [*self.out.glob(f".*{_TMP_MARK}*")]  # sweep.toml, sweep.nc, summary.csv
        if self.attempts_dir.is_dir():
            leftovers += self.attempts_dir.glob(f"*/.*{_TMP_MARK}*")
        now = time.time()
        for path in leftovers:
            with contextlib.suppress(OSError):
                if now - path.lstat().st_mtime > _TMP_FILE_MAX_AGE_S:
                    results._remove_path(path)
                    removed.append(path)
        return removed


def _is_id(text: str) -> bool:
    return bool(text) and all(c in "0123456789abcdef" for c in text)


def _check_id(text: str) -> None:
    if not isinstance(text, str) or not _is_id(text):
        raise ValueError(f"{text!r} is not a point id or token; expected lowercase hex digits")


def definition_difference(old: grid.SweepSpec, new: grid.SweepSpec) -> str:
    """The first field in which two sweep definitions differ, described; ``""`` if none.

    Compared: protocol, model, seed, trials, scale, target, the axes and the fixed overrides
    (``allow_structural`` does not change what a point computes).
    """
    fields = (
        ("protocol", old.protocol, new.protocol),
        ("model", _model_key(old.model), _model_key(new.model)),
        ("seed", old.seed, new.seed),
        ("trials", old.n_trials, new.n_trials),
        ("scale", float(old.scale), float(new.scale)),
        ("target", old.target, new.target),
    )
    for name, a, b in fields:
        if a != b:
            return f"{name} differs: {a!r} there, {b!r} now"
    old_axes = [(a.name, a.values, a.unit) for a in old.axes]
    new_axes = [(a.name, a.values, a.unit) for a in new.axes]
    if old_axes != new_axes:
        return f"grid differs: {_axes_text(old.axes)} there, {_axes_text(new.axes)} now"
    if dict(old.fixed) != dict(new.fixed):
        return f"set differs: {_fixed_text(old.fixed)} there, {_fixed_text(new.fixed)} now"
    return ""


def _model_key(model: str | None) -> str | None:
    if model is not None and grid.is_model_path(model):
        return os.path.abspath(model)
    return model


def _axes_text(axes: Iterable[grid.Axis]) -> str:
    return " ".join(f"{a.name}={a.values_text()}" for a in axes) or "(none)"


def _fixed_text(fixed: Mapping[str, str]) -> str:
    return " ".join(f"{k}={v}" for k, v in fixed.items()) or "(none)"
