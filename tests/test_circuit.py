"""The spiking circuit itself: kernels, reproducibility, working memory, top-down tuning.

Simulations run the real circuit, scaled down (``SCALE``), with the cpp_standalone target in one
standalone directory per test session (recompiling only what changed).
"""

from __future__ import annotations

import numpy as np
import pytest

from bioattn import config
from bioattn.circuits.ring import fourier_coefficients, preferred_angles, ring_kernel
from bioattn.config import load_model
from bioattn.engine import simulate
from bioattn.schedule import Schedule

SCALE = 0.25


# ------------------------------------------------------------------------------------------
# Kernels (no simulation)
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("sigma_deg", "j_plus"), [(14.4, 1.62), (72.0, None), (36.0, None)])
def test_ring_kernel_has_mean_one_and_truncation_meets_tolerance(sigma_deg, j_plus):
    sigma = np.radians(sigma_deg)
    grid = preferred_angles(4096)
    kernel = ring_kernel(grid, sigma, j_plus)
    assert np.mean(kernel) == pytest.approx(1.0, abs=1e-9)
    coefficients = fourier_coefficients(sigma, j_plus, 1e-3)
    k = np.arange(coefficients.size)
    rebuilt = np.cos(np.outer(grid, k)) @ coefficients
    assert np.max(np.abs(rebuilt - kernel)) <= 1e-3 * np.max(kernel)


def test_topdown_kernel_is_tuned_not_flat():
    """The public port's bug (widths read as radians) makes this ratio ≈ 1; ours must be large."""
    model = load_model()
    sigma = model["topdown"].sigma
    assert sigma == pytest.approx(np.radians(72.0))
    kernel = ring_kernel(np.array([0.0, np.pi]), sigma)
    assert kernel[0] / kernel[1] > 10.0  # peak-to-trough of the PFC→MT profile


def test_mode_coupling_equals_dense_convolution():
    """Σ_j W(θ_i−θ_j) s_j from the truncated Fourier modes matches the dense sum."""
    rng = np.random.default_rng(0)
    n = 256
    angles = preferred_angles(n)
    s = rng.random(n)
    sigma, j_plus = np.radians(14.4), 1.62
    dense = ring_kernel(angles[:, None] - angles[None, :], sigma, j_plus) @ s
    coefficients = fourier_coefficients(sigma, j_plus, 1e-3)
    k = np.arange(coefficients.size)
    c = np.cos(np.outer(angles, k)).T @ s
    d = np.sin(np.outer(angles, k)).T @ s
    modes = np.cos(np.outer(angles, k)) @ (coefficients * c) + np.sin(np.outer(angles, k)) @ (
        coefficients * d
    )
    assert np.max(np.abs(modes - dense)) <= 2e-3 * np.max(np.abs(dense))


# ------------------------------------------------------------------------------------------
# Simulations
# ------------------------------------------------------------------------------------------


def _cue_delay_schedule(model, t_delay: float) -> Schedule:
    schedule = Schedule(float(model["simulation"].schedule_dt))
    schedule.add_trial(
        {},
        [
            ("settle", 0.2, {}),
            ("cue", 0.25, {"cue_angle": np.pi}),
            ("delay", t_delay, {}),
        ],
    )
    return schedule


@pytest.fixture(scope="module")
def short_runs(standalone_dir):
    model = load_model()
    schedule = _cue_delay_schedule(model, 0.25)
    kwargs = {
        "target": "cpp_standalone",
        "scale": SCALE,
        "standalone_dir": standalone_dir,
        "progress": False,
    }
    return [
        simulate(model, schedule, seed=seed, record={"topdown"}, **kwargs) for seed in (7, 7, 8)
    ]


def test_same_seed_same_target_gives_identical_spikes(short_runs):
    a, b, _ = short_runs
    assert a.sensory_t.size > 1000 and a.pfc_t.size > 100
    np.testing.assert_array_equal(a.sensory_t, b.sensory_t)
    np.testing.assert_array_equal(a.sensory_i, b.sensory_i)
    np.testing.assert_array_equal(a.pfc_t, b.pfc_t)
    np.testing.assert_array_equal(a.pfc_i, b.pfc_i)
    np.testing.assert_array_equal(a.lfp, b.lfp)


def test_different_seeds_give_different_spikes(short_runs):
    a, _, c = short_runs
    same_length = a.sensory_t.size == c.sensory_t.size
    assert not (same_length and np.array_equal(a.sensory_t, c.sensory_t))


def test_rates_are_physiological(short_runs):
    """Spontaneous MT ≈ 5–20 Hz (Albright 1984: MT baseline ~10 Hz); PFC quiet before the cue."""
    out = short_runs[0]
    settle = out.sensory_t < 0.2
    sensory_rate = settle.sum() / (0.2 * out.n_sensory)
    pfc_rate = (out.pfc_t < 0.2).sum() / (0.2 * out.n_pfc)
    assert 3.0 < sensory_rate < 25.0
    assert pfc_rate < 3.0


def test_topdown_input_in_the_circuit_is_tuned_to_the_pfc_bump(short_runs):
    """While PFC holds the cue (180°), the top-down conductance onto sensory cells preferring
    180° is far larger than onto cells preferring 0° (the port's flat kernels give ≈ 1)."""
    out = short_runs[0]
    cue = (out.topdown_t >= 0.3) & (out.topdown_t < 0.45)  # late cue: bump formed
    profile = out.topdown_g[cue].mean(axis=0)
    n = profile.size
    near = profile[np.abs(np.arange(n) - n // 2) <= n // 32].mean()
    far = np.concatenate([profile[: n // 32], profile[-n // 32 :]]).mean()
    baseline = out.topdown_g[out.topdown_t < 0.2].mean()
    assert near > 5.0 * far, (near, far)
    assert near > 10.0 * baseline


def test_numpy_target_is_reproducible_too():
    """Runtime targets seed numpy's generator: same seed → same spikes (tiny network, 0.2 s)."""
    model = load_model()
    schedule = Schedule(float(model["simulation"].schedule_dt))
    schedule.add_trial({}, [("settle", 0.1, {}), ("cue", 0.1, {"cue_angle": np.pi})])
    runs = [
        simulate(model, schedule, seed=3, target="numpy", scale=0.1, progress=False)
        for _ in range(2)
    ]
    assert runs[0].sensory_t.size > 50
    np.testing.assert_array_equal(runs[0].sensory_t, runs[1].sensory_t)
    np.testing.assert_array_equal(runs[0].pfc_i, runs[1].pfc_i)


# ------------------------------------------------------------------------------------------
# LFP proxy (Mazzoni et al. 2015): local currents only
# ------------------------------------------------------------------------------------------


def _built(
    circuit_name: str,
    model_name: str | None = None,
    scale: float = 0.1,
    schedule: Schedule | None = None,
    seed: int = 0,
    overrides: tuple[str, ...] = (),
):
    """The model (with ``overrides``), the circuit's Brian2 objects by name and its bindings,
    built on the runtime device (nothing is run), for ``schedule`` (default: one 50 ms trial)
    and the seeded values of ``seed``."""
    from brian2 import prefs, set_device, start_scope

    from bioattn.circuits import registry
    from bioattn.circuits.bindings import seeded

    set_device("runtime")
    prefs.codegen.target = "numpy"  # connecting needs no compiled code objects
    start_scope()
    model = load_model(model_name, overrides=list(overrides))
    if schedule is None:
        n_loc = model["scene"].n_locations if "scene" in model.sections else 0
        schedule = Schedule(float(model["simulation"].schedule_dt), n_loc)
        schedule.add_trial({}, [("settle", 0.05, {})])
    with seeded(seed):
        built = registry.get_circuit(model.circuit).build(model, schedule, scale)
    return model, {obj.name: obj for obj in built.objects}, built.bindings


def _summed_identifiers(synapses) -> dict[str, set[str]]:
    from brian2.utils.stringtools import get_identifiers

    return {
        name.removesuffix("_post"): get_identifiers(str(updater.expression))
        for name, updater in synapses.summed_updaters.items()
    }


@pytest.mark.parametrize(
    ("circuit", "model_name"), [("two_area", None), ("multi_item", "multi_item")]
)
@pytest.mark.parametrize("method", ["euler", "rk2"])
def test_every_cell_group_integrates_with_the_models_method(circuit, model_name, method):
    """``simulation.method`` reaches every group of spiking cells (pulvinar and TRN included)."""
    from brian2 import NeuronGroup

    _, objects, _ = _built(circuit, model_name, overrides=(f"simulation.method={method}",))
    cells = [o for o in objects.values() if isinstance(o, NeuronGroup) and "v" in o.variables]
    assert len(cells) >= (4 if circuit == "two_area" else 10)
    assert {group.state_updater.method_choice for group in cells} == {method}


@pytest.mark.parametrize(
    ("circuit", "model_name"), [("two_area", None), ("multi_item", "multi_item")]
)
def test_mode_banks_are_summed_before_any_readout_reads_them(circuit, model_name):
    """Within a step every Fourier-mode bank is summed before a readout reads it, so the
    coupling has no extra step of latency (Brian2 breaks ties of order by name)."""
    from brian2 import Network, Synapses

    _, objects, _ = _built(circuit, model_name)
    position = {obj.name: k for k, obj in enumerate(Network(*objects.values()).sorted_objects)}
    synapses = [o for o in objects.values() if isinstance(o, Synapses) and o.summed_updaters]
    into_bank = [u for s in synapses if s.target.name.endswith("_modes")
                 for u in s.summed_updaters.values()]  # fmt: skip
    from_bank = [u for s in synapses if s.source.name.endswith("_modes")
                 for u in s.summed_updaters.values()]  # fmt: skip
    assert len(into_bank) >= 6 and len(from_bank) >= 10
    assert max(position[u.name] for u in into_bank) < min(position[u.name] for u in from_bank)


def test_lfp_proxy_sums_only_local_currents_onto_sensory_pyramidal_cells():
    """AMPA: afferent + recurrent (no top-down g_ampa_lr); GABA_A: recurrent (no erase / other
    extra inhibition); summed over the sensory pyramidal cells."""
    _, objects, _ = _built("two_area")
    lfp = objects["sensory_lfp_sum"]
    assert lfp.source.name == "sensory_E"
    names = _summed_identifiers(lfp)
    assert {"g_ext_pre", "g_ampa_rec_pre", "v_pre"} <= names["lfp_ampa"]
    assert "g_gaba_rec_pre" in names["lfp_gaba"]
    every = names["lfp_ampa"] | names["lfp_gaba"]
    assert not every & {"g_ampa_lr_pre", "g_inh_ext_pre", "I_ampa_pre", "I_nmda_pre", "I_gaba_pre"}


def test_lfp_proxy_delays_ampa_and_weights_gaba():
    """RWS = Σ|I_AMPA|(t − 6 ms) − 1.65 Σ|I_GABA|(t) on known sums (1 ms samples)."""
    from bioattn.circuits.network import lfp_proxy

    model = load_model()
    t = np.arange(40) * 1e-3
    ampa = (t >= 0.010).astype(float)
    gaba = np.full(t.size, 2.0)
    out = lfp_proxy(t, ampa, gaba, model)
    assert out.shape == t.shape
    np.testing.assert_allclose(out[t < 0.0155], -3.3)
    np.testing.assert_allclose(out[t > 0.0155], 1.0 - 3.3)


# ------------------------------------------------------------------------------------------
# Shared variability (bioattn.circuits.variability), no simulation
# ------------------------------------------------------------------------------------------


def _repeats_schedule(
    n_repeats: int, per_repeat: int, duration: float = 0.4, model=None
) -> Schedule:
    model = model or load_model()
    n_loc = model["scene"].n_locations if "scene" in model.sections else 0
    schedule = Schedule(float(model["simulation"].schedule_dt), n_loc)
    for k in range(n_repeats):
        for c in range(per_repeat):
            schedule.add_trial({"repeat": k, "condition": c}, [("stimulus", duration, {})])
    return schedule


def _trial_paths(schedule: Schedule, paths: np.ndarray) -> list[np.ndarray]:
    dt = schedule.resolution
    return [
        paths[round(t.epochs[0].start / dt) : round(t.epochs[-1].stop / dt)]
        for t in schedule.trials
    ]


def test_fluctuation_paths_are_unit_variance_ou_with_correlation_time_tau():
    """Stationary from each trial's start: variance 1, autocorrelation exp(-lag / tau)."""
    from bioattn.circuits.variability import fluctuation_paths

    tau = 0.2
    schedule = _repeats_schedule(400, 1, duration=1.0)
    paths = fluctuation_paths(schedule, 7, tau, 2)
    trials = np.stack(_trial_paths(schedule, paths))  # (trial, step, block)
    assert abs(trials[:, 0].var() - 1.0) < 0.15  # from the first step (400 × 2 samples)
    assert abs(trials.var() - 1.0) < 0.1
    lag = round(tau / schedule.resolution)
    r = np.mean(trials[:, :-lag] * trials[:, lag:]) / trials.var()
    assert abs(r - np.exp(-1.0)) < 0.05
    assert abs(np.corrcoef(trials[:, :, 0].ravel(), trials[:, :, 1].ravel())[0, 1]) < 0.05


def test_trials_of_one_repeat_share_a_path_and_repeats_and_seeds_do_not():
    """Common random numbers: the conditions of one repeat see one path; the same seed gives
    the same paths, another seed others."""
    from bioattn.circuits.variability import fluctuation_paths

    schedule = _repeats_schedule(3, 2)
    a = _trial_paths(schedule, fluctuation_paths(schedule, 1, 0.2, 4))
    np.testing.assert_array_equal(a[0], a[1])  # repeat 0, conditions 0 and 1
    np.testing.assert_array_equal(a[4], a[5])
    assert np.abs(a[0] - a[2]).max() > 0.5  # repeats 0 and 1
    b = _trial_paths(schedule, fluctuation_paths(schedule, 1, 0.2, 4))
    c = _trial_paths(schedule, fluctuation_paths(schedule, 2, 0.2, 4))
    np.testing.assert_array_equal(np.concatenate(a), np.concatenate(b))
    assert np.abs(np.concatenate(a) - np.concatenate(c)).max() > 0.5
    unlabelled = Schedule(schedule.resolution)
    for _ in range(2):
        unlabelled.add_trial({}, [("stimulus", 0.4, {})])
    u = _trial_paths(unlabelled, fluctuation_paths(unlabelled, 1, 0.2, 1))
    assert np.abs(u[0] - u[1]).max() > 0.5  # trials without a repeat label: their own paths


@pytest.mark.parametrize(("circuit", "model_name", "blocks"), [
    ("two_area", None, 1), ("multi_item", "multi_item", 4),
])  # fmt: skip
def test_the_built_network_takes_the_seeds_paths_as_a_run_time_value(circuit, model_name, blocks):
    """The gain source reads the seed's paths, and a run with another seed hands the binary
    that seed's paths (a bound TimedArray: no new build)."""
    from bioattn.circuits.variability import fluctuation_paths

    model = load_model(model_name) if model_name else load_model()
    schedule = _repeats_schedule(2, 2, duration=0.1, model=model)
    tau = float(model.value("shared_gain.tau"))
    _, objects, bindings = _built(circuit, model_name, schedule=schedule, seed=3)
    source = objects["sensory_shared_gain" if circuit == "two_area" else "column_shared_gain"]
    assert "sigma_shared" in source.variables
    xi = source.namespace["shared_xi"]
    assert np.asarray(xi.values).shape == (schedule.n_steps, blocks)
    np.testing.assert_array_equal(xi.values, fluctuation_paths(schedule, 3, tau, blocks))
    other = bindings.run_args(model, schedule, 4)[xi]
    np.testing.assert_array_equal(other, fluctuation_paths(schedule, 4, tau, blocks))
    assert np.abs(np.asarray(other) - np.asarray(xi.values)).max() > 0.5


@pytest.mark.parametrize("stabilization", [0.0, 0.35, 1.0])
def test_spatial_attention_stabilises_the_cued_columns_shared_gain(stabilization):
    """Rabinowitz et al. 2015 (bioattn.circuits.variability): the cued column's gain is
    1 + σ (1 − s) ξ, every other column's 1 + σ ξ, read from the built network's gain source;
    the stabilisation s is a run-time value."""
    base = load_model("multi_item")
    schedule = Schedule(float(base["simulation"].schedule_dt), base["scene"].n_locations)
    schedule.add_trial({}, [("cue", 0.05, {"spatial_cue": 2})])
    model, objects, bindings = _built(
        "multi_item", "multi_item", schedule=schedule, seed=5,
        overrides=(f"spatial_cue.stabilization={stabilization}",),
    )  # fmt: skip
    bindings.assign(model, schedule)
    source = objects["column_shared_gain"]
    sigma = float(model.value("shared_gain.sigma"))
    xi = np.asarray(source.namespace["shared_xi"].values)[0]  # the first step (t = 0)
    expected = np.clip(1 + sigma * xi, 0, None)
    expected[2] = max(0.0, 1 + sigma * (1 - stabilization) * xi[2])
    np.testing.assert_allclose(np.asarray(source.gain[:]), expected, rtol=1e-12)
    assert np.abs(xi).min() > 0 and len(set(np.round(expected, 12))) == len(expected)
    assert any(b.owner is source and b.variable == "stabilization" for b in bindings)
    assert not config.is_structural(model, "spatial_cue.stabilization")
    other = model.replace({"spatial_cue.stabilization": 0.7})
    values = {
        id(b.owner): v
        for b, v in bindings.resolve(other, schedule)
        if b.variable == "stabilization"
    }
    assert values == {id(source): pytest.approx(0.7)}
