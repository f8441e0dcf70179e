"""The model files shipped with bioattn (installed as the package ``bioattn.models``)."""
