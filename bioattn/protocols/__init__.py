"""Experiments run on the circuits; importing this package registers them (see registry)."""

from bioattn.protocols import contrast_response, feature_attention, working_memory  # noqa: F401
from bioattn.protocols.registry import PROTOCOLS, get_protocol  # noqa: F401
