"""Experiments run on the circuits; importing this package registers them (see registry)."""

from bioattn.protocols import (  # noqa: F401
    ach_dose,
    biased_competition,
    contrast_response,
    da_dose,
    feature_attention,
    masked_attention,
    ne_dose,
    pulvinar_inactivation,
    salience,
    self_attention,
    two_streams,
    visual_search,
    working_memory,
)
from bioattn.protocols.registry import PROTOCOLS, get_protocol  # noqa: F401
