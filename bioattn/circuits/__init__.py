"""Circuits: areas, mechanisms and the registered circuits built from them.

Importing this package registers the built-in circuits (each one module that declares its model
sections, its builder and its structure; see :mod:`bioattn.circuits.registry`).
"""

from bioattn.circuits import network, scene  # noqa: F401  (they register themselves)
