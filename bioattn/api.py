"""The Python API: run a protocol, get its data back, save it, load it again.

::

    import bioattn
    from bioattn.units import nS

    run = bioattn.run("feature-attention", set={"pfc.g_nmda_ee": "0.7 nS"}, seeds=[1, 2],
                      trials=2)
    run.summary["gain_pref"], run.dataset["tuning"]          # numbers and an xarray Dataset
    run.save("results/fa")                                    # atomic result directory
    again = bioattn.load("results/fa")                        # the same Run back
    model = bioattn.load_model("ardid2007").replace({"pfc.g_nmda_ee": 0.7 * nS})
    bioattn.run("working-memory", model=model, trials=1)

The command line (``bioattn run``) is a thin layer over :func:`run` and :meth:`Run.save`.
Consecutive runs in one process share the compiled network of each structure
(:mod:`bioattn.engine`), so changing a conductance or a seed does not rebuild.
"""

from __future__ import annotations

import dataclasses
import math
import numbers
import sys
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from bioattn import config, results, stats
from bioattn.circuits.registry import check_settings
from bioattn.engine import DEFAULT_TARGET, TARGETS
from bioattn.errors import BioattnError
from bioattn.protocols.common import (
    CONFIDENCE,
    INTERVAL_SUFFIX,
    intervals_given,
    reusing_simulations,
)
from bioattn.protocols.registry import Protocol, RunOptions, get_protocol, section_name

#: Brian2 seeds numpy's generator, which accepts seeds in [0, 2**32).
MAX_SEED = 2**32 - 1


@dataclass
class Run:
    """One protocol run: its data, scalar results, figures, the resolved model and provenance.

    ``dataset``: the labelled recordings and measures (:class:`xarray.Dataset`); ``summary``:
    scalar metrics by name; ``config``: the resolved :class:`~bioattn.config.Model` (all
    overrides applied); ``provenance``: versions, seeds, target, wall time, call;
    ``figures``: matplotlib figures by name (for a loaded run: the saved PNG paths).
    """

    protocol: str
    dataset: Any
    summary: dict[str, Any]
    config: config.Model
    provenance: dict[str, Any]
    figures: dict[str, Any] = field(default_factory=dict)

    @property
    def config_toml(self) -> str:
        """The resolved model as TOML text (``config.toml``; reproduces the run)."""
        return config.to_toml(self.config)

    def save(self, directory: str | Path, *, force: bool = False) -> Path:
        """Write the run as a result directory (``results.nc``, ``summary.json``,
        ``config.toml``, ``provenance.json``, figures), atomically; ``force`` replaces an
        existing directory once the new one is complete."""
        figures = {k: v for k, v in self.figures.items() if not isinstance(v, str | Path)}
        return results.write_result_dir(
            Path(directory),
            dataset=self.dataset,
            config_toml=self.config_toml,
            provenance=self.provenance,
            summary=self.summary,
            figures=figures,
            force=force,
        )

    def __repr__(self) -> str:
        metrics = ", ".join(f"{k}={_short(v)}" for k, v in list(self.summary.items())[:4])
        return f"<Run {self.protocol} on {self.config.name}: {metrics}, ...>"


def _short(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def load_model(
    model: str | Path | config.Model | None = None,
    set: Mapping[str, Any] | Iterable[str] | None = None,  # noqa: A002 (the CLI's --set)
) -> config.Model:
    """A model by name (``"ardid2007"``), path or :class:`~bioattn.config.Model`, with typed or
    text edits ``set`` (``{"pfc.g_nmda_ee": 0.7 * nS}`` or ``["pfc.g_nmda_ee=0.7 nS"]``)."""
    if isinstance(model, config.Model):
        loaded = model
    else:
        try:
            loaded = config.load_model(model)
        except (FileNotFoundError, PermissionError, IsADirectoryError) as exc:
            raise BioattnError(
                f"model file {model or config.DEFAULT_MODEL!r} cannot be read "
                f"({exc.strerror or exc})"
            ) from None
    if not set:
        return loaded
    if isinstance(set, Mapping):
        return loaded.replace(set)
    return loaded.with_overrides(list(set))


def seed_list(seeds: Sequence[int] | int | None, first: int = 1) -> tuple[int, ...] | None:
    """Seeds as given (a list), or ``first .. first + seeds − 1`` for a count; each checked."""
    if seeds is None:
        return None
    if isinstance(seeds, int) and not isinstance(seeds, bool):
        if seeds < 1:
            raise BioattnError(f"seeds {seeds}: expected a number of seeds >= 1")
        seeds = range(first, first + seeds)
    out = tuple(seeds)
    if not out:
        raise BioattnError("seeds []: expected at least one seed")
    for seed in out:
        if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= MAX_SEED:
            raise BioattnError(f"seed {seed!r}: expected a whole number in 0 .. {MAX_SEED}")
    return out


def prepare(
    protocol: str,
    model: str | Path | config.Model | None = None,
    *,
    set: Mapping[str, Any] | Iterable[str] | None = None,  # noqa: A002
    trials: int | None = None,
    scale: float = 1.0,
    target: str = DEFAULT_TARGET,
) -> tuple[Protocol, config.Model]:
    """Resolve and check a run before anything is simulated: the protocol, its model (the
    protocol's default model file unless given) with edits, and the settings."""
    spec = get_protocol(protocol)
    resolved = load_model(model if model is not None else spec.default_model, set)
    if resolved.circuit != spec.circuit:
        raise BioattnError(
            f"protocol {spec.name!r} runs on the {spec.circuit!r} circuit; model "
            f"{resolved.source_path} is a {resolved.circuit!r} circuit (try --model "
            f"{spec.default_model})"
        )
    if target not in TARGETS:
        raise BioattnError(f"target {target!r}: expected one of {', '.join(TARGETS)}")
    bad_trials = isinstance(trials, bool) or not isinstance(trials, int) or trials < 1
    if trials is not None and bad_trials:
        raise BioattnError(f"trials {trials!r}: expected a number of trials >= 1")
    check_settings(resolved, scale)
    return spec, resolved


def default_seeds(spec: Protocol, model: config.Model, first: int = 1) -> tuple[int, ...]:
    """The protocol section's ``n_seeds`` seeds from ``first`` (one seed without a section)."""
    p = model.sections.get(f"protocol.{section_name(spec.name)}")
    return tuple(range(first, first + int(getattr(p, "n_seeds", 1))))


def run(
    protocol: str,
    model: str | Path | config.Model | None = None,
    *,
    set: Mapping[str, Any] | Iterable[str] | None = None,  # noqa: A002
    seeds: Sequence[int] | int | None = None,
    trials: int | None = None,
    scale: float = 1.0,
    target: str = DEFAULT_TARGET,
    progress: bool = False,
    standalone_dir: str | Path | None = None,
    _command_line: Sequence[str] | None = None,
) -> Run:
    """Run ``protocol`` and return its :class:`Run`.

    ``model``: a shipped model's name, a model file, or a :class:`~bioattn.config.Model`
    (default: the protocol's model file); ``set``: parameter edits, typed
    (``{"pfc.g_nmda_ee": 0.7 * nS}``) or as text (``{"pfc.g_nmda_ee": "0.7 nS"}``,
    ``["pfc.g_nmda_ee=0.7 nS"]``); ``seeds``: a list of seeds or a count (1 .. n; default: the
    protocol section's ``n_seeds``); ``trials``: per condition and seed (default: its
    ``n_trials``); ``scale``: population size relative to the model's; ``target``: Brian2
    code-generation target.  Bad input raises :class:`~bioattn.errors.BioattnError` before
    anything is simulated.
    """
    spec, resolved = prepare(protocol, model, set=set, trials=trials, scale=scale, target=target)
    seed_tuple = seed_list(seeds)
    options = RunOptions(
        seeds=seed_tuple,
        n_trials=trials,
        scale=float(scale),
        target=target,
        standalone_dir=None if standalone_dir is None else Path(standalone_dir),
        progress=progress,
    )
    start = time.perf_counter()
    used_seeds = list(seed_tuple or default_seeds(spec, resolved))
    if len(used_seeds) < 2:
        result = spec.run(resolved, options)
    else:
        with reusing_simulations():
            per_seed = []
            # Only each seed's point values are used: no bootstrap intervals for them.
            with intervals_given({}):
                for seed in used_seeds:
                    alone = spec.run(resolved, dataclasses.replace(options, seeds=(seed,)))
                    close_figures(alone.figures)
                    per_seed.append(alone.summary)
            intervals = seed_intervals(per_seed)
            # The pooled run reports (and draws) these instead of a bootstrap over its trials.
            with intervals_given(intervals):
                result = spec.run(resolved, dataclasses.replace(options, seeds=tuple(used_seeds)))
        result.summary = {**result.summary, **intervals}
    wall_time_s = time.perf_counter() - start
    p = resolved.sections.get(f"protocol.{section_name(spec.name)}")
    n_trials = trials if trials is not None else getattr(p, "n_trials", None)
    call = _call_text(protocol, model, set, seeds, trials, scale, target)
    record = results.provenance(
        command_line=list(_command_line) if _command_line is not None else [*sys.argv],
        seed=used_seeds[0],
        target=target,
        wall_time_s=wall_time_s,
        extra={
            "protocol": spec.name,
            "scale": float(scale),
            "seeds": used_seeds,
            "n_trials": n_trials,
            "model": resolved.name,
            "model_file": resolved.source_path,
            "overrides": _override_texts(model, set),
            "call": call,
        },
    )
    return Run(spec.name, result.dataset, dict(result.summary), resolved, record, result.figures)


def seed_intervals(per_seed: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """For every numeric metric of the per-seed summaries, ``<metric>_ci``: the 95 % Student-t
    interval of the mean of that metric computed on each seed alone
    (:func:`bioattn.stats.mean_interval`), and ``ci_method``, ``ci_n`` (seeds).  Seeds are
    independent realisations of all noise, so the spread of the per-seed values is the run's
    uncertainty; the pooled value (the metric itself) stays the pooled analysis's."""
    out: dict[str, Any] = {}
    for name, value in per_seed[0].items():
        if name == "ci_n" or isinstance(value, bool) or not isinstance(value, numbers.Real):
            continue
        values = [seed.get(name, math.nan) for seed in per_seed]
        if not all(isinstance(v, numbers.Real) for v in values):
            continue
        _, low, high, _ = stats.mean_interval(np.asarray(values, dtype=float), CONFIDENCE)
        out[f"{name}{INTERVAL_SUFFIX}"] = [low, high]
    out["ci_method"] = "Student t over seeds"
    out["ci_n"] = len(per_seed)
    return out


def close_figures(figures: Mapping[str, Any]) -> None:
    """Close a run's matplotlib figures (a sweep or the per-seed runs keep no figures)."""
    import matplotlib.pyplot as plt

    for figure in figures.values():
        plt.close(figure)


def _override_texts(
    model: str | Path | config.Model | None, edits: Mapping[str, Any] | Iterable[str] | None
) -> list[str]:
    """The edits as ``--set`` texts; typed edits (a mapping) written back from the edited model,
    so that ``bioattn run --set`` re-reads every one of them (lists, units, degrees)."""
    if not edits:
        return []
    if isinstance(edits, Mapping):
        edited = load_model(model, edits)
        return [config.override_text(edited, name) for name in edits]
    return list(edits)


def _call_text(protocol, model, edits, seeds, trials, scale, target) -> str:
    parts = [repr(protocol)]
    if model is not None:
        parts.append(f"model={getattr(model, 'name', model)!r}")
    for name, value in (("set", edits), ("seeds", seeds), ("trials", trials)):
        if value:
            parts.append(f"{name}={value!r}")
    if scale != 1.0:
        parts.append(f"scale={scale!r}")
    if target != DEFAULT_TARGET:
        parts.append(f"target={target!r}")
    return f"bioattn.run({', '.join(parts)})"


def load(directory: str | Path) -> Run:
    """Read a result directory written by :meth:`Run.save` (or ``bioattn run``) back."""
    path = Path(directory)
    dataset, summary, provenance = results.load_result(path)
    model = config.load_model(path / results.CONFIG_FILE)
    figures = {p.stem: p for p in sorted(path.glob("*.png"))}
    protocol = str(provenance.get("protocol", dataset.attrs.get("protocol", "")))
    return Run(protocol, dataset, summary, model, provenance, figures)
