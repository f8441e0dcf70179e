"""Shared fixtures: one cpp_standalone directory per test session, so Brian2 recompiles only the
files whose generated code changed between simulations."""

from __future__ import annotations

import matplotlib
import pytest

matplotlib.use("Agg")


@pytest.fixture(scope="session")
def standalone_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("brian2_standalone")


@pytest.fixture(scope="session", autouse=True)
def standalone_cache(tmp_path_factory):
    """Keep the CLI's cpp_standalone slots out of the user's ~/.cache during tests."""
    import os

    previous = os.environ.get("BIOATTN_CACHE_DIR")
    os.environ["BIOATTN_CACHE_DIR"] = str(tmp_path_factory.mktemp("bioattn_cache"))
    yield
    if previous is None:
        os.environ.pop("BIOATTN_CACHE_DIR", None)
    else:
        os.environ["BIOATTN_CACHE_DIR"] = previous
