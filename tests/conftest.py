"""Shared fixtures: one cpp_standalone directory per test session, so Brian2 recompiles only the
files whose generated code changed between simulations."""

from __future__ import annotations

import matplotlib
import pytest

matplotlib.use("Agg")


@pytest.fixture(autouse=True)
def close_figures():
    """Close every pyplot figure a test opened (results keep theirs open for the caller; more
    than 20 open in one process is matplotlib's memory warning)."""
    yield
    import matplotlib.pyplot as plt

    plt.close("all")


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


@pytest.fixture(scope="session")
def biased_competition_dir(tmp_path_factory, standalone_cache):
    """One real biased-competition run through the CLI (3 trials per condition, full-size
    multi-item circuit), shared by its own test and the fit CLI's test.  The slow shared gain
    is off (``shared_gain.sigma=0``): with it, the readout's condition means of a 3-trial run
    are dominated by the shared fluctuation (that is its purpose: r_sc ≈ 0.1 between
    neighbours), and the effect is measured over seeds instead (bioattn sweep).  At
    dt = 0.1 ms, half the time of the model file's 0.05 ms: every biased-competition metric
    lies inside its 0.1 ms interval at 0.05 ms (README, Numerics: 5 seeds x 8 trials); the
    step matters for the pulvinar route's share, which this run does not measure."""
    from bioattn import cli

    out = tmp_path_factory.mktemp("biased_competition") / "run"
    argv = ["run", "biased-competition", "--trials", "3", "--set", "shared_gain.sigma=0",
            "--set", "simulation.dt=0.1 ms", "--out", str(out), "--quiet"]  # fmt: skip
    assert cli.main(argv) == 0
    return out
