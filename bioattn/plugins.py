"""The built-in circuits and protocols, loaded through the ``bioattn.plugins`` entry point.

:func:`bioattn.config.load_plugins` imports every module of that entry point group; this one
registers bioattn's own circuits (``two_area``, ``multi_item``) and protocols.  Another package
adds its circuits or protocols by declaring its own entry point in the same group.
"""

import bioattn.circuits  # noqa: F401
import bioattn.protocols  # noqa: F401
