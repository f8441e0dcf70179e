"""The protocol registry: ``bioattn run NAME`` looks protocols up here.

A protocol module defines a frozen parameter dataclass (its ``[protocol.<name>]`` section in the
model file) and a ``run`` function; :func:`register` makes both known to the config parser and
the command line.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from bioattn.config import DEFAULT_CIRCUIT, DEFAULT_MODEL, PROTOCOL_CIRCUITS, PROTOCOL_SECTIONS
from bioattn.errors import BioattnError


@dataclass
class ProtocolResult:
    """What a protocol hands to the results writer."""

    dataset: Any  # xarray.Dataset
    summary: dict[str, float]
    figures: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Protocol:
    name: str
    description: str
    params: type
    run: Callable[..., ProtocolResult]
    #: The circuit (``[meta] circuit``) the protocol runs on, and the model file used by default.
    circuit: str = DEFAULT_CIRCUIT
    default_model: str = DEFAULT_MODEL


PROTOCOLS: dict[str, Protocol] = {}


def register(protocol: Protocol) -> Protocol:
    PROTOCOLS[protocol.name] = protocol
    # Model files name protocol sections with underscores: [protocol.feature_attention].
    PROTOCOL_SECTIONS[section_name(protocol.name)] = protocol.params
    PROTOCOL_CIRCUITS[section_name(protocol.name)] = protocol.circuit
    return protocol


def section_name(protocol_name: str) -> str:
    """``feature-attention`` → ``feature_attention`` (its ``[protocol.*]`` table)."""
    return protocol_name.replace("-", "_")


def get_protocol(name: str) -> Protocol:
    if name not in PROTOCOLS:
        raise BioattnError(
            f"unknown protocol {name!r}; expected one of {', '.join(sorted(PROTOCOLS))}"
        )
    return PROTOCOLS[name]
