"""analysis/inverted_u.py: the two-lines test of an inverted U over seeds (Simonsohn 2018)."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest

_PATH = Path(__file__).resolve().parents[1] / "analysis" / "inverted_u.py"
_SPEC = importlib.util.spec_from_file_location("inverted_u", _PATH)
inverted_u = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(inverted_u)

LEVELS = np.array([1.0, 3.0, 10.0, 30.0, 100.0])


def _seeds(curve, noise=0.03, n=5, seed=0):
    rng = np.random.default_rng(seed)
    return np.asarray(curve)[None] + noise * rng.standard_normal((n, len(curve)))


def test_a_rise_then_a_fall_is_an_inverted_u_with_slopes_per_decade():
    curve = [0.2, 0.5, 0.8, 0.5, 0.2]  # ±0.3 per half decade: ±0.6 per decade
    result = inverted_u.two_lines(LEVELS, _seeds(curve))
    assert result["peak_level"] == 10.0 and result["peak_interior"]
    assert result["inverted_u"]
    assert result["rise_slope_per_decade"] == pytest.approx(0.6, abs=0.1)
    assert result["fall_slope_per_decade"] == pytest.approx(-0.6, abs=0.1)
    assert result["rise_slope_ci"][0] > 0 and result["fall_slope_ci"][1] < 0


def test_a_plateau_and_a_cliff_is_not_an_inverted_u():
    """Flat, then falling: the peak may land inside the plateau, but the rise is not > 0."""
    result = inverted_u.two_lines(LEVELS, _seeds([0.8, 0.8, 0.81, 0.1, 0.0], noise=0.05))
    assert not result["inverted_u"]
    if result["peak_interior"]:
        assert result["rise_slope_ci"][0] <= 0 < result["rise_slope_ci"][1]


def test_a_monotone_curve_has_its_peak_at_an_end():
    result = inverted_u.two_lines(LEVELS, _seeds([0.1, 0.3, 0.5, 0.7, 0.9]))
    assert result["peak_level"] == 100.0
    assert not result["peak_interior"] and not result["inverted_u"]


def test_the_command_reads_per_seed_summaries_of_a_sweep(tmp_path, capsys):
    values = _seeds([0.2, 0.5, 0.8, 0.5, 0.2])
    for k, row in enumerate(values):
        point = tmp_path / "points" / f"{k:016x}"
        point.mkdir(parents=True)
        (point / "point.json").write_text(json.dumps({"seed": k + 1}))
        summary = {"levels": LEVELS.tolist(), "robustness_by_level": row.tolist()}
        (point / "summary.json").write_text(json.dumps(summary))
    assert inverted_u.main([str(tmp_path), "--metric", "robustness_by_level"]) == 0
    assert json.loads(capsys.readouterr().out)["inverted_u"] is True
    assert inverted_u.main([str(tmp_path), str(tmp_path), "--metric", "robustness_by_level"]) == 2
    assert "seed 1 is in two points" in capsys.readouterr().err
