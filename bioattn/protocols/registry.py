"""The protocol registry: ``bioattn run NAME`` and :func:`bioattn.run` look protocols up here.

A protocol module defines a frozen parameter dataclass (its ``[protocol.<name>]`` section in the
model file) and a ``run(model, options)`` function; :func:`register` makes both known to the
model parser and the command line.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bioattn import config
from bioattn.config import DEFAULT_CIRCUIT, DEFAULT_MODEL
from bioattn.engine import DEFAULT_TARGET, Engine, engine_for
from bioattn.errors import BioattnError


@dataclass
class ProtocolResult:
    """What a protocol hands to the results writer."""

    dataset: Any  # xarray.Dataset
    summary: dict[str, float]
    figures: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class RunOptions:
    """How a protocol runs.

    ``seeds``: the random seeds, one independent realisation of all noise each (None: the
    protocol section's ``n_seeds``, seeds 1 .. n_seeds); ``n_trials``: trials per condition and
    seed (None: its ``n_trials``); ``scale``: population size relative to the model's;
    ``target``: Brian2 code-generation target; ``standalone_dir``: root of the cpp_standalone
    projects (None: a cache slot of this process); ``progress``: report on stderr.
    """

    seeds: tuple[int, ...] | None = None
    n_trials: int | None = None
    scale: float = 1.0
    target: str = DEFAULT_TARGET
    standalone_dir: Path | None = None
    progress: bool = False

    @property
    def engine(self) -> Engine:
        """The process's engine for this target (shared by consecutive runs: one build per
        structure)."""
        return engine_for(self.target, self.standalone_dir)


@dataclass(frozen=True)
class Protocol:
    name: str
    description: str
    params: type
    run: Callable[[config.Model, RunOptions], ProtocolResult]
    #: The circuit (``[meta] circuit``) the protocol runs on, and the model file used by default.
    circuit: str = DEFAULT_CIRCUIT
    default_model: str = DEFAULT_MODEL


PROTOCOLS: dict[str, Protocol] = {}


def register(protocol: Protocol) -> Protocol:
    PROTOCOLS[protocol.name] = protocol
    # Model files name protocol sections with underscores: [protocol.feature_attention].
    config.register_protocol_section(section_name(protocol.name), protocol.params, protocol.circuit)
    return protocol


def section_name(protocol_name: str) -> str:
    """``feature-attention`` → ``feature_attention`` (its ``[protocol.*]`` table)."""
    return protocol_name.replace("-", "_")


def get_protocol(name: str) -> Protocol:
    config.load_plugins()
    if name not in PROTOCOLS:
        raise BioattnError(
            f"unknown protocol {name!r}; expected one of {', '.join(sorted(PROTOCOLS))}"
        )
    return PROTOCOLS[name]
