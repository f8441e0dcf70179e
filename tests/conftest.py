"""Shared fixtures: one cpp_standalone directory per test session, so Brian2 recompiles only the
files whose generated code changed between simulations."""

from __future__ import annotations

import matplotlib
import pytest

matplotlib.use("Agg")


@pytest.fixture(scope="session")
def standalone_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("brian2_standalone")
