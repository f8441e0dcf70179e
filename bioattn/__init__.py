"""bioattn: spiking circuits of selective attention compared with softmax Q/K/V attention.

The Python API (:mod:`bioattn.api`)::

    import bioattn
    run = bioattn.run("feature-attention", seeds=[1, 2], trials=2)
    run.summary, run.dataset, run.save("results/fa"), bioattn.load("results/fa")

``run``, ``load``, ``load_model`` and ``Run`` are imported on first use, so that importing a
low layer (``bioattn.config``, ``bioattn.units``) does not import Brian2.
"""

from typing import Any

__version__ = "0.1.0"
__all__ = ["Run", "load", "load_model", "run", "__version__"]


def __getattr__(name: str) -> Any:
    if name in ("Run", "load", "load_model", "run"):
        from bioattn import api

        return getattr(api, name)
    raise AttributeError(f"module 'bioattn' has no attribute {name!r}")
