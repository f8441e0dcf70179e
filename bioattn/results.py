"""Result directories: one run of a protocol, saved so that analysis scripts can read it back.

A result directory holds

- ``results.nc`` -- the labelled recordings and derived quantities (an :class:`xarray.Dataset`,
  netCDF4/HDF5 via h5netcdf);
- ``config.toml`` -- the exact parameter text the run used;
- ``provenance.json`` -- versions, seed, code-generation target, command line, git commit;
- ``summary.json`` -- a flat table of scalar results (non-finite values written as ``null``);
- ``<name>.png`` -- one file per figure.

The directory is written atomically: everything goes into a hidden temporary sibling that is
renamed into place only once complete, so an interrupted or failing run never leaves a
half-written directory under the name the user asked for.
"""

from __future__ import annotations

import contextlib
import datetime
import functools
import hashlib
import importlib.metadata
import json
import math
import os
import platform
import secrets
import shlex
import shutil
import subprocess
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import xarray as xr

from bioattn.errors import BioattnError

if TYPE_CHECKING:
    from matplotlib.figure import Figure

DATASET_FILE = "results.nc"
CONFIG_FILE = "config.toml"
PROVENANCE_FILE = "provenance.json"
SUMMARY_FILE = "summary.json"

# Variables smaller than this are stored uncompressed: the chunking overhead outweighs the gain.
_COMPRESS_MIN_ELEMENTS = 10_000
_ZLIB_LEVEL = 4
_FIGURE_DPI = 120
_GIT_TIMEOUT_S = 5.0


def check_output_free(out: Path, force: bool) -> None:
    """Refuse an existing output directory unless ``force`` is set.

    Called by the CLI before a long simulation, and again by :func:`write_result_dir`.
    """
    out = Path(out)
    if not force and (out.exists() or out.is_symlink()):
        raise BioattnError(f"output directory {out} already exists; pass --force to overwrite it")


def write_result_dir(
    out: Path,
    *,
    dataset: xr.Dataset,
    config_toml: str,
    provenance: dict,
    summary: dict[str, float],
    figures: dict[str, Figure],
    force: bool = False,
    dataset_file: str = DATASET_FILE,
) -> Path:
    """Write a complete result directory at ``out`` atomically and return ``out``.

    With ``force`` an existing ``out`` is replaced, but only after the new directory has been
    written in full; on any error the temporary directory is removed and ``out`` is left as it
    was. The caller's ``dataset`` is not modified (attributes netCDF cannot store are converted
    on a shallow copy: bools to int, dicts to JSON strings, ``None`` dropped).
    ``dataset_file`` names the dataset file (``fit.nc`` for a fit directory).
    """
    out = Path(out)
    check_output_free(out, force)
    for name in figures:
        _check_figure_name(name)

    parent = out.parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise BioattnError(
            f"output directory parent {parent} cannot be created ({exc.strerror}); "
            "expected a writable directory"
        ) from exc

    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-", dir=parent))
    try:
        config_path = tmp / CONFIG_FILE
        config_path.write_text(config_toml, encoding="utf-8")
        # mkdtemp creates the directory 0o700; give it the permissions the user's umask gives
        # a normal directory so collaborators on a shared cluster can read the results.
        os.chmod(tmp, _directory_mode_like(config_path))

        _write_json(tmp / PROVENANCE_FILE, provenance)
        _write_json(tmp / SUMMARY_FILE, summary)
        _write_dataset(tmp / dataset_file, dataset)
        for name, figure in figures.items():
            figure.savefig(tmp / f"{name}.png", dpi=_FIGURE_DPI, bbox_inches="tight")

        if out.exists() or out.is_symlink():
            check_output_free(out, force)  # another process may have created it meanwhile
            aside = parent / f".{out.name}.old-{secrets.token_hex(4)}"
            os.rename(out, aside)
            try:
                os.rename(tmp, out)
            except BaseException:
                os.rename(aside, out)
                raise
            _remove_path(aside)
        else:
            os.rename(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out


def load_result(path: Path) -> tuple[xr.Dataset, dict, dict]:
    """Read a result directory written by :func:`write_result_dir`.

    Returns ``(dataset, summary, provenance)``. The dataset is loaded into memory and its file
    closed. ``null`` entries of the summary (also inside its lists) come back as ``nan``.
    """
    path = Path(path)
    if not path.is_dir():
        raise BioattnError(
            f"result directory {path} does not exist; expected a directory written by bioattn"
        )
    dataset_path = path / DATASET_FILE
    if not dataset_path.is_file():
        raise BioattnError(
            f"result file {dataset_path} is missing; expected {DATASET_FILE} in every result "
            "directory"
        )
    try:
        dataset = xr.load_dataset(dataset_path, engine="h5netcdf")
    except (OSError, ValueError) as exc:
        raise BioattnError(
            f"result file {dataset_path} cannot be read ({exc}); expected a netCDF4 file"
        ) from exc
    summary = {key: _nan_for_null(value) for key, value in _read_json(path / SUMMARY_FILE).items()}
    return dataset, summary, _read_json(path / PROVENANCE_FILE)


def _nan_for_null(value: Any) -> Any:
    """A summary entry as written, with ``null`` back as ``nan`` (also in a list: an interval
    ``<metric>_ci`` without ends is ``[nan, nan]`` again)."""
    if value is None:
        return math.nan
    if isinstance(value, list):
        return [math.nan if item is None else item for item in value]
    return value


def provenance(
    *,
    command_line: list[str],
    seed: int,
    target: str,
    wall_time_s: float,
    extra: dict | None = None,
) -> dict:
    """Describe how a result was produced: software versions, machine, seed, command, commit.

    ``git_commit`` / ``git_dirty`` describe the repository holding the bioattn source, or are
    ``None`` when that cannot be determined (no git, not a checkout, installed copy).
    ``source_sha256`` identifies the code that ran even then: :func:`source_digest` of the
    imported package.  Never raises because of git.
    """
    git_commit, git_dirty = _git_state(Path(__file__).resolve().parent)
    record: dict[str, Any] = {
        "bioattn": _bioattn_version(),
        "brian2": _distribution_version("brian2"),
        "numpy": _distribution_version("numpy"),
        "scipy": _distribution_version("scipy"),
        "xarray": _distribution_version("xarray"),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "code_generation_target": target,
        "seed": int(seed),
        "command_line": shlex.join(str(arg) for arg in command_line),
        "wall_time_s": float(wall_time_s),
        "date_utc": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "git_commit": git_commit,
        "git_dirty": git_dirty,
        "source_sha256": source_digest(),
    }
    for key, value in (extra or {}).items():
        if key in record:
            raise BioattnError(
                f"provenance extra key {key!r} collides with a standard provenance key; "
                "expected a new key"
            )
        record[key] = value
    return record


# -- writing -----------------------------------------------------------------------------------


def _check_figure_name(name: str) -> None:
    if (
        not isinstance(name, str)
        or not name
        or name.startswith(".")
        or any(sep in name for sep in ("/", "\\", os.sep))
    ):
        raise BioattnError(
            f"figure name {name!r} is not a plain file name; expected a non-empty name without "
            "path separators or a leading dot"
        )


def _directory_mode_like(file_path: Path) -> int:
    """Directory mode matching the umask-derived mode of a freshly created file."""
    file_mode = file_path.stat().st_mode & 0o777
    return file_mode | ((file_mode & 0o444) >> 2)  # execute wherever read is allowed


def _remove_path(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        with contextlib.suppress(OSError):
            path.unlink()


def _write_json(path: Path, data: Mapping) -> None:
    text = json.dumps(_json_ready(data), indent=2, sort_keys=True, allow_nan=False)
    path.write_text(text + "\n", encoding="utf-8")


def _json_ready(value: Any) -> Any:
    """Plain JSON types: numpy scalars/arrays to Python, non-finite floats to ``None``."""
    if isinstance(value, np.ndarray):
        value = value.tolist()
    elif isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Mapping):
        return {str(key): _json_ready(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_json_ready(item) for item in value]
    if value is None or isinstance(value, str | int | bool):
        return value
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"cannot write {type(value).__name__} value {value!r} to JSON")


def _netcdf_attrs(attrs: Mapping) -> dict:
    """Attributes netCDF can store: bools to int, dicts to JSON strings, ``None`` dropped."""
    clean = {}
    for key, value in attrs.items():
        if value is None:
            continue
        if isinstance(value, bool | np.bool_):
            value = int(value)
        elif isinstance(value, Mapping):
            value = json.dumps(_json_ready(value), sort_keys=True)
        elif isinstance(value, list | tuple) and not _is_homogeneous_sequence(value):
            value = json.dumps(_json_ready(value))
        clean[key] = value
    return clean


def _is_homogeneous_sequence(values: list | tuple) -> bool:
    """Whether netCDF can store the sequence as an attribute: all numbers or all strings."""
    if all(isinstance(v, str) for v in values):
        return True
    return all(
        isinstance(v, int | float | np.integer | np.floating) and not isinstance(v, bool | np.bool_)
        for v in values
    )


def _write_dataset(path: Path, dataset: xr.Dataset) -> None:
    clean = dataset.copy(deep=False)  # new Variable objects sharing the data arrays
    clean.attrs = _netcdf_attrs(dataset.attrs)
    for variable in clean.variables.values():
        variable.attrs = _netcdf_attrs(variable.attrs)
    encoding = {
        name: {"zlib": True, "complevel": _ZLIB_LEVEL}
        for name, variable in clean.data_vars.items()
        if np.issubdtype(variable.dtype, np.number) and variable.size > _COMPRESS_MIN_ELEMENTS
    }
    clean.to_netcdf(path, engine="h5netcdf", encoding=encoding)


# -- reading -----------------------------------------------------------------------------------


def _read_json(path: Path) -> dict:
    if not path.is_file():
        raise BioattnError(
            f"result file {path} is missing; expected {path.name} in every result directory"
        )
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BioattnError(f"result file {path} cannot be read ({exc}); expected JSON") from exc
    if not isinstance(data, dict):
        raise BioattnError(
            f"result file {path} holds a {type(data).__name__}; expected a JSON object"
        )
    return data


# -- provenance --------------------------------------------------------------------------------


def _distribution_version(name: str) -> str:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def _bioattn_version() -> str:
    try:
        return importlib.metadata.version("bioattn")
    except importlib.metadata.PackageNotFoundError:
        import bioattn

        return str(getattr(bioattn, "__version__", "unknown"))


def _run_git(args: list[str], cwd: Path) -> str | None:
    """Stdout of a git command, or ``None`` if git is missing, fails or times out."""
    try:
        completed = subprocess.run(
            ["git", *args],
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=_GIT_TIMEOUT_S,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    if completed.returncode != 0:
        return None
    return completed.stdout


@functools.cache
def source_digest() -> str:
    """SHA-256 over the imported bioattn package's Python files (relative path and bytes, in
    sorted order): equal digests mean the same code, installed, editable or in a copied tree."""
    root = Path(__file__).resolve().parent
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*.py")):
        digest.update(path.relative_to(root).as_posix().encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()


def _git_state(source_dir: Path) -> tuple[str | None, bool | None]:
    """(commit, dirty) of the checkout holding ``source_dir``, ``None`` where unknown."""
    # An installed copy may sit inside some unrelated repository (a virtualenv inside a
    # project): only trust git if it actually tracks the package's files.
    tracked = _run_git(["ls-files", "--", "."], source_dir)
    if not tracked or not tracked.strip():
        return None, None
    head = _run_git(["rev-parse", "HEAD"], source_dir)
    commit = (head.strip() or None) if head is not None else None
    status = _run_git(["status", "--porcelain"], source_dir)
    dirty = bool(status.strip()) if status is not None else None
    return commit, dirty
