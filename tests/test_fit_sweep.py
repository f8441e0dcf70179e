"""``bioattn fit SWEEP_DIR``: a one-parameter sweep fitted level by level (fit.sweep_levels).

The sweep directories here are written with the sweep's own store from readout counts drawn from
a known softmax mixture whose β depends on the swept level, so the map level → β is known.
"""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from bioattn import cli, config
from bioattn.errors import BioattnError
from bioattn.fit import sweep_levels
from bioattn.fit.report import FitOptions, fit_run
from bioattn.sweep.grid import Axis, SweepSpec
from bioattn.sweep.store import PointStore

N_CELLS, N_LOC, WINDOW = 64, 4, 0.3
FEATURES = np.radians([0.0, 90.0, 180.0, 270.0])
BETA_BY_LEVEL = {3: 0.5, 10: 1.0, 30: 2.0}  # nM -> β of the simulated mixture (gain 1)
GAIN_BY_LEVEL = {3: 0.6, 10: 1.0, 30: 1.6}  # nM -> readout gain (β 1.5)


def _profile(angle: float) -> np.ndarray:
    preferred = 2 * np.pi * np.arange(N_CELLS) / N_CELLS
    return 2.0 + 60.0 * np.exp(3.0 * (np.cos(preferred - angle) - 1.0))


def _scene_run(rng: np.random.Generator, beta: float, gain: float, n_pairs: int = 120):
    """Visual-search-like trials: 8 single items (templates), then scenes of 2-3 items whose
    readout is gain · Σ_i w_i profile_i with w = softmax(β cos Δ_i) (Δ: feature distance to the
    query); the cue strength (query gain 0.5, 1 or 2) is recorded but does not act."""
    rows = {k: [] for k in ("counts", "charge", "feature", "contrast", "query", "size", "cue")}
    for k in range(8 + n_pairs):
        size = 1 if k < 8 else int(rng.integers(2, 4))
        locations = rng.permutation(N_LOC)[:size]
        angles = rng.choice(FEATURES, size=size, replace=False)
        query = angles[0] if k < 8 else rng.choice(FEATURES)
        w = np.exp(beta * np.cos(angles - query))
        w /= w.sum()
        feature, contrast, charge = np.full(N_LOC, np.nan), np.zeros(N_LOC), np.zeros(N_LOC)
        feature[locations], contrast[locations], charge[locations] = np.degrees(angles), 1.0, w
        rate = (gain if size > 1 else 1.0) * sum(
            wi * _profile(a) for wi, a in zip(w, angles, strict=True)
        )
        for name, value in (("counts", rng.poisson(rate * WINDOW)), ("charge", 1e-9 * charge),
                            ("feature", feature), ("contrast", contrast),
                            ("query", np.degrees(query)), ("size", size),
                            ("cue", (0.5, 1.0, 2.0)[k % 3])):  # fmt: skip
            rows[name].append(value)
    counts = xr.DataArray(np.array(rows["counts"])[None], dims=("seed", "trial", "readout_cell"),
                          attrs={"units": "spikes", "window_s": WINDOW})  # fmt: skip
    n = len(rows["size"])
    return xr.Dataset(
        {
            "readout_counts": counts,
            "ff_charge": (("seed", "trial", "location"), np.array(rows["charge"])[None]),
            "item_feature": (("trial", "location"), np.array(rows["feature"])),
            "item_contrast": (("trial", "location"), np.array(rows["contrast"])),
            "query": ("trial", np.array(rows["query"])),
            "query_gain": ("trial", np.array(rows["cue"])),
            "spatial_cue": ("trial", np.full(n, -1)),
            "set_size": ("trial", np.array(rows["size"])),
        },
        attrs={"protocol": "visual-search", "model": "multi_item"},
    )


def _sweep(path, truth=None, levels=(3, 10, 30), seeds=(1, 2), extra_axis=None, stray=False):
    """A finished sweep over neuromod.ne.level as bioattn sweep leaves it: points, and the
    current definition's ids in summary.csv; ``truth``: level -> (β, gain); ``stray``: one more
    finished point that an earlier definition left (not in summary.csv)."""
    truth = truth or {level: (BETA_BY_LEVEL[level], 1.0) for level in levels}
    axes = [Axis("neuromod.ne.level", tuple(levels), "nM"), Axis("seed", tuple(seeds))]
    if extra_axis is not None:
        axes.insert(1, extra_axis)
    spec = SweepSpec("visual-search", model="multi_item", axes=tuple(axes))
    store = PointStore(path)
    store.prepare(spec)
    rng = np.random.default_rng(0)
    ids = []
    for n, point in enumerate([*spec.points(), *spec.points()[:1]] if stray else spec.points()):
        model = config.load_model("multi_item", point.override_args())
        pid = f"{n:016x}"
        token = store.begin(pid)
        dataset = _scene_run(rng, *truth[point.coords["neuromod.ne.level"]])
        store.write(pid, token, {"coords": point.coords, "seed": point.seed}, dataset=dataset,
                    config_toml=config.to_toml(model), provenance={}, summary={})  # fmt: skip
        ids.append(pid)
    if stray:
        ids.pop()
    rows = "".join(f"{pid},{n}\n" for n, pid in enumerate(ids))
    (path / "summary.csv").write_text("point_id,seed\n" + rows, encoding="utf-8")
    return store


@pytest.fixture(scope="module")
def ne_sweep(tmp_path_factory):
    return _sweep(tmp_path_factory.mktemp("ne") / "sweep", stray=True).out


def test_points_are_grouped_by_the_swept_level_with_the_model_value_as_reference(ne_sweep):
    sweep = sweep_levels.read_sweep(ne_sweep)
    assert sweep.parameter == "neuromod.ne.level" and sweep.unit == "nM"
    assert sweep.levels == [3.0, 10.0, 30.0]
    # The stray point of an earlier definition (level 3, seed 1 again) is not read.
    assert [(p.level, p.seed) for p in sweep.points] == [
        (level, seed) for level in (3.0, 10.0, 30.0) for seed in (1, 2)
    ]
    assert sweep.reference == 10.0  # neuromod.ne.level of models/multi_item.toml: 10 nM
    templates = sweep_levels.level_templates(sweep)
    np.testing.assert_allclose(templates.contrasts, [1.0])
    assert int(np.argmax(templates.profiles[0])) == 0  # aligned to 0°
    described = sweep_levels.describe(sweep)
    assert described["reference_level"] == 10.0
    assert described["levels"]["3"] == {"seeds": [1, 2], "multi_item_trials": 240}


def test_reference_level_compares_si_values_without_an_absolute_tolerance():
    """Conductances are ~1e-9 S: an absolute tolerance would call every level the model's."""
    base = config.load_model("multi_item").value("pfc.g_nmda_ee")
    model_ns = round(float(base) * 1e9, 6)  # the model's value in nS
    spec = SweepSpec("visual-search", model="multi_item")
    points = [sweep_levels.SweepPoint(v, 1, xr.Dataset(attrs={"model": "multi_item"}), "")
              for v in (0.5, model_ns, 0.9)]  # fmt: skip
    axis = Axis("pfc.g_nmda_ee", (0.5, model_ns, 0.9), "nS")
    assert sweep_levels.reference_level(spec, axis, points) == model_ns
    with pytest.raises(BioattnError, match="0 levels of pfc.g_nmda_ee"):
        sweep_levels.reference_level(spec, axis, [points[0], points[2]])


def test_fit_per_level_recovers_the_beta_of_each_level_and_l4_finds_beta(ne_sweep):
    options = FitOptions(n_boot=4, n_level_boot=4, n_recovery=1, n_ci=200)
    summary = fit_run(ne_sweep, options=options, progress=False).summary
    assert summary["template_source"] == "sweep level 10 nM"
    assert summary["n_trials"] == 2 * 120  # the reference level's scenes, both seeds
    assert summary["sweep"]["parameter"] == "neuromod.ne.level"
    block = summary["attention_map"]["neuromod_ne_level"]
    assert block["unit"] == "neuromod.ne.level (nM)"
    assert block["levels"] == [3.0, 10.0, 30.0]
    beta = np.array(block["beta"])
    assert beta[0] < beta[1] < beta[2]
    # The fitted match is qᵀMk with a unit-norm M, so β is known up to one common factor.
    truth = np.array(list(BETA_BY_LEVEL.values()))
    np.testing.assert_allclose(beta / beta[1], truth / truth[1], rtol=0.3)
    assert "key_precision_model" in block  # feature query against feature keys: κ per level
    level4 = summary["verdict"]["L4"]
    assert summary["verdict"]["L4_manipulation"] == "neuromod_ne_level"
    assert level4["parameter"] == "beta" and level4["holds"]
    delta = level4["bic_by_parameter"]
    assert min(delta["gain"], delta["baseline"]) > delta["beta"] + 10.0
    # κ per level fits no better than β per level (small κ rescales the logits): not distinct.
    assert level4["key_precision"]["log_likelihood_over_beta"] < 5.0
    assert "kappa" not in delta


def test_a_readout_gain_that_changes_with_level_is_found_as_the_fitted_gain(tmp_path):
    """The templates come from the reference level only: a readout gain that differs between
    levels stays in the fitted value gain (templates per level would absorb it)."""
    truth = {level: (1.5, g) for level, g in GAIN_BY_LEVEL.items()}
    path = _sweep(tmp_path / "gain", truth=truth).out
    options = FitOptions(n_boot=4, n_level_boot=4, n_recovery=1, n_ci=200)
    summary = fit_run(path, options=options, progress=False).summary
    gain = np.array(summary["attention_map"]["neuromod_ne_level"]["gain"])
    np.testing.assert_allclose(gain / gain[1], [0.6, 1.0, 1.6], rtol=0.15)
    assert summary["verdict"]["L4"]["parameter"] == "gain"


def test_sweeps_that_cannot_be_fitted_per_level_are_one_line_errors(tmp_path, capsys):
    two = _sweep(tmp_path / "two", extra_axis=Axis("pfc.g_nmda_ee", (0.5, 0.6), "nS")).out
    no_reference = _sweep(tmp_path / "noref", levels=(3, 30)).out
    unfinished = _sweep(tmp_path / "unfinished").out
    (unfinished / "summary.csv").unlink()
    for path, expected in ((two, "exactly one swept parameter"), (no_reference, "--templates"),
                           (unfinished, "unfinished")):  # fmt: skip
        out = tmp_path / "fit"
        assert cli.main(["fit", str(path), "--out", str(out)]) == cli.EXIT_USAGE
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and expected in err, err
        assert not out.exists()
