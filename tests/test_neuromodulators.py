"""Neuromodulators (bioattn.circuits.neuromodulators): the knobs, the concentration dynamics of
the nuclei, and each receptor mapping read from the Brian2 variables of the built networks."""

from __future__ import annotations

import math

import numpy as np
import pytest

from bioattn import config
from bioattn.circuits.neuromodulators import MODULATORS
from bioattn.circuits.neuromodulators.base import TERMS, kernel_peak, occupancy
from bioattn.errors import BioattnError
from bioattn.schedule import Schedule

NM = 1e-6  # 1 nM in SI units (mol/m³)


def _run(model, schedule, scale=0.1, seed=3, trace=None):
    """Build ``model``'s circuit on the runtime numpy target, run ``schedule`` and return its
    Brian2 objects by name (the engine's runtime path, without collecting); with ``trace`` =
    (object name, variable), also the variable's first entry at every schedule step."""
    import brian2 as b2

    from bioattn.circuits.neurons import initialize
    from bioattn.engine import Engine

    b2.set_device("runtime")
    b2.prefs.codegen.target = "numpy"
    network, built = Engine._construct(model, schedule, scale, frozenset(), seed)
    objects = {obj.name: obj for obj in built.objects}
    if trace is not None:
        monitor = b2.StateMonitor(objects[trace[0]], trace[1], record=0,
                                  dt=schedule.resolution * b2.second, when="end")  # fmt: skip
        network.add(monitor)
    built.bindings.assign(model, schedule)
    b2.seed(seed)
    for group in built.populations:
        initialize(group)
    network.run(schedule.duration * b2.second, namespace={})
    if trace is not None:
        return objects, np.asarray(getattr(monitor, trace[1])[0])
    return objects


def _short(model, steps=3, **settings):
    schedule = Schedule(float(model["simulation"].schedule_dt), _locations(model))
    schedule.add_trial({}, [("probe", steps * schedule.resolution, settings)])
    return schedule


def _locations(model) -> int:
    return model["scene"].n_locations if "scene" in model.sections else 0


def _factor(model, modulator: str, level_nm: float, receptor_terms) -> float:
    """The expected factor of one modulator's receptors on one term
    (bioattn.circuits.neuromodulators.base): Π_r max(0, 1 + e_r occ_r(c)) / (1 + e_r occ_r⁰)."""
    m = MODULATORS[modulator]
    total = 1.0
    for receptor, parameter in receptor_terms:
        p = model[f"{m.section}.{receptor}"]
        e = getattr(p, parameter)
        occ0 = occupancy(float(model[m.section].baseline), float(p.ec50), p.hill)
        occ = occupancy(level_nm * NM, float(p.ec50), p.hill, p.block, float(p.agonist))
        total *= max(0.0, 1 + e * occ) / (1 + e * occ0)
    return total


def _baseline_occupancy(model, section: str) -> float:
    p = model[section]
    return occupancy(float(model[section.rsplit(".", 1)[0]].baseline), float(p.ec50), p.hill)


# -- the knobs --------------------------------------------------------------------------------


@pytest.mark.parametrize("model_name", ["ardid2007", "multi_item"])
def test_every_modulator_has_its_sections_in_both_models(model_name):
    model = config.load_model(model_name)
    for name, modulator in MODULATORS.items():
        for section in modulator.sections:
            assert section in model.sections, section
        release = model[modulator.section]
        assert float(release.level) == float(release.baseline) > 0  # defaults: the baseline
        assert not config.is_structural(model, f"neuromod.{name}.level")
        for receptor in modulator.receptors:
            params = model[modulator.receptor_section(receptor)]
            assert params.block == 0 and float(params.agonist) == 0


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("neuromod.ne.level='-5 nM'", "neuromod.ne.level = '-5 nM': expected a non-negative"),
        ("neuromod.ne.level='5 mV'", "neuromod.ne.level = '5 mV': wrong dimensions"),
        ("neuromod.ach.level='nan nM'", "'nan nM': expected a number followed by a unit in nM"),
        ("neuromod.ach.muscarinic.block=1.5", "expected a number <= 1"),
        ("neuromod.da.d1.ec50='0 nM'", "expected a positive quantity in nM"),
        ("neuromod.xx.level='5 nM'", "neuromod.xx.level: unknown section 'neuromod.xx'"),
        ("neuromod.ach.kainate.block=1", "unknown section 'neuromod.ach.kainate'"),
        ("neuromod.da.d1.potency=1", "neuromod.da.d1.potency: unknown parameter"),
    ],
)
def test_bad_knob_values_are_refused_with_one_line(override, message):
    with pytest.raises(BioattnError) as info:
        config.load_model("ardid2007", [override])
    assert message in str(info.value) and "\n" not in str(info.value)


def test_bad_knob_exits_2_from_the_cli(capsys):
    from bioattn import cli

    assert cli.main(["params", "--set", "neuromod.ne.level='-1 nM'"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "neuromod.ne.level" in err


def test_a_resolved_model_with_nested_receptor_sections_reads_back_equal(tmp_path):
    model = config.load_model("multi_item", ["neuromod.ne.level='30 nM'",
                                             "neuromod.ach.muscarinic.block=0.5"])  # fmt: skip
    path = tmp_path / "resolved.toml"
    path.write_text(config.to_toml(model))
    again = config.load_model(path)
    assert again.sections == model.sections
    assert float(again.value("neuromod.ne.level")) == pytest.approx(30 * NM)


def test_schedule_clamps_and_releases_are_checked():
    schedule = Schedule(0.001)
    with pytest.raises(BioattnError, match="levels of 'ne' = -1"):
        schedule.add_trial({}, [("drug", 0.01, {"levels": (("ne", -1.0),)})])
    with pytest.raises(BioattnError, match="release of 'da' = nan"):
        schedule.add_trial({}, [("burst", 0.01, {"release": (("da", math.nan),)})])
    with pytest.raises(BioattnError, match="blocks of 'ach.muscarinic' = 1.5, expected a blocked"):
        schedule.add_trial({}, [("drug", 0.01, {"blocks": (("ach.muscarinic", 1.5),)})])


def test_an_epoch_blocks_a_receptor_for_its_duration_only():
    """Pharmacology as a trial type: the muscarinic factor is the blocked value during the
    drug epoch and the baseline's 1 before and after it."""
    model = config.load_model("ardid2007")
    schedule = Schedule(float(model["simulation"].schedule_dt))
    drug = {"blocks": (("ach.muscarinic", 1.0),)}
    schedule.add_trial({}, [("before", 0.003, {}), ("drug", 0.003, drug), ("after", 0.003, {})])
    _, trace = _run(model, schedule, trace=("sensory_milieu", "f_E_ampa_rec"))
    occ0 = _baseline_occupancy(model, "neuromod.ach.muscarinic")
    np.testing.assert_array_equal(trace[:3], 1.0)
    np.testing.assert_allclose(trace[3:6], 1 / (1 - 0.7 * occ0), rtol=1e-9)
    np.testing.assert_array_equal(trace[6:], 1.0)


# -- concentration dynamics -------------------------------------------------------------------


def test_phasic_release_follows_its_time_constants_and_tonic_clamps_switch():
    """After one event c_p(t) = A τ_c/(τ_c − τ_r)(e^{−t/τ_c} − e^{−t/τ_r}), peaking at
    ``burst`` at t* = ln(τ_c/τ_r) τ_r τ_c/(τ_c − τ_r), one schedule step late (the release
    reaches c_p in the step after the event); a clamp sets the tonic level for its epoch
    only."""
    import brian2 as b2

    from bioattn.circuits.bindings import Bindings
    from bioattn.circuits.neuromodulators.milieu import Neuromodulation

    model = config.load_model("ardid2007", ["neuromod.ne.tau_release='80 ms'",
                                            "neuromod.ne.tau_clearance='600 ms'",
                                            "neuromod.ne.burst='120 nM'"])  # fmt: skip
    schedule = Schedule(float(model["simulation"].schedule_dt))
    event, drug = {"release": (("ne", 1.0),)}, {"levels": (("ne", 250.0),)}
    schedule.add_trial(
        {}, [("rest", 0.2, {}), ("event", 2.0, event), ("drug", 0.3, drug), ("after", 0.1, {})]
    )
    b2.set_device("runtime")
    b2.prefs.codegen.target = "numpy"
    b2.start_scope()
    bindings = Bindings()
    modulation = Neuromodulation(model, schedule, bindings)
    nucleus = modulation.nuclei["ne"]
    step = schedule.resolution * b2.second
    monitor = b2.StateMonitor(nucleus, ["c", "c_phasic"], record=0, dt=step)
    bindings.assign(model, schedule)
    b2.Network(*modulation.objects, monitor).run(schedule.duration * b2.second, namespace={})
    t = np.asarray(monitor.t / b2.second)
    phasic = np.asarray(monitor.c_phasic[0]) / NM
    total = np.asarray(monitor.c[0]) / NM
    tau_r, tau_c = 0.08, 0.6
    s = t - 0.2 - schedule.resolution
    expected = np.where(
        s > 0, 120 / kernel_peak(tau_r, tau_c) * tau_c / (tau_c - tau_r)
        * (np.exp(-s / tau_c) - np.exp(-s / tau_r)), 0.0,
    )  # fmt: skip
    window = (s > 0) & (s < 2.0)
    assert phasic[window].max() == pytest.approx(120, rel=0.01)
    t_peak = math.log(tau_c / tau_r) * tau_r * tau_c / (tau_c - tau_r)
    assert s[window][np.argmax(phasic[window])] == pytest.approx(t_peak, abs=0.003)
    np.testing.assert_allclose(phasic[window], expected[window], rtol=1e-4, atol=1e-6)
    assert phasic[t < 0.2].max() == 0
    level = float(model.value("neuromod.ne.level")) / NM
    drug = (t >= 2.2 + 0.001) & (t < 2.5)
    np.testing.assert_allclose(total[drug] - phasic[drug], 250.0, rtol=1e-9)
    np.testing.assert_allclose(total[t < 2.2] - phasic[t < 2.2], level, rtol=1e-9)
    np.testing.assert_allclose(total[t >= 2.5 + 0.001] - phasic[t >= 2.5 + 0.001], level, rtol=1e-9)


# -- receptor mappings on the built networks --------------------------------------------------


def test_at_the_baseline_every_factor_is_exactly_one_in_both_circuits():
    """The model files' circuits, unchanged: every milieu factor of every area is 1.0 exactly
    (same expressions on the same numbers), and the cells read them."""
    for name in ("ardid2007", "multi_item"):
        model = config.load_model(name)
        objects = _run(model, _short(model))
        milieus = [obj for key, obj in objects.items() if key.endswith("_milieu")]
        assert len(milieus) == (2 if name == "ardid2007" else 5)
        for milieu in milieus:
            for cell in ("E", "I"):
                for term in TERMS:
                    assert np.all(np.asarray(getattr(milieu, f"f_{cell}_{term}")[:]) == 1.0)


def test_ach_suppresses_intracortical_synapses_excites_interneurons_and_boosts_afferents():
    model = config.load_model("ardid2007")
    objects = _run(model, _short(model, levels=(("ach", 1000.0),)))
    sensory, pfc = objects["sensory_milieu"], objects["pfc_milieu"]

    def f(milieu, name):
        return float(np.asarray(getattr(milieu, name)[:])[0])

    intracortical = _factor(model, "ach", 1000.0, [("muscarinic", "intracortical")])
    assert intracortical < 0.6  # (1 − 0.7 · 0.909) / (1 − 0.7 · 0.167)
    for cell in ("E", "I"):
        for term in ("ampa_rec", "nmda_rec", "lateral"):
            assert f(sensory, f"f_{cell}_{term}") == pytest.approx(intracortical, rel=1e-9)
        assert f(sensory, f"f_{cell}_long_range") == 1.0  # feedback efficacy 0 by default
    interneurons = _factor(model, "ach", 1000.0, [("muscarinic", "interneurons")])
    assert f(sensory, "f_I_background") == pytest.approx(interneurons, rel=1e-9)
    assert interneurons > 1.15 and f(sensory, "f_E_background") == 1.0
    muscarinic = _factor(model, "ach", 1000.0, [("muscarinic", "afferent")])
    both = _factor(model, "ach", 1000.0, [("muscarinic", "afferent"), ("nicotinic", "afferent")])
    assert f(sensory, "f_E_stimulus") == pytest.approx(both, rel=1e-9) and both > 1
    assert f(sensory, "f_I_stimulus") == pytest.approx(muscarinic, rel=1e-9)  # no nAChR on I
    assert muscarinic < 1
    # The cells read their area's factors; PFC has no ACh effects.
    assert np.allclose(np.asarray(objects["sensory_E"].f_nmda_rec[:]), intracortical, rtol=1e-9)
    assert all(f(pfc, f"f_{c}_{t}") == 1.0 for c in ("E", "I") for t in TERMS)


def test_muscarinic_block_removes_the_baseline_suppression_and_nicotinic_block_the_boost():
    model = config.load_model("ardid2007", ["neuromod.ach.muscarinic.block=1",
                                            "neuromod.ach.nicotinic.block=1"])  # fmt: skip
    sensory = _run(model, _short(model))["sensory_milieu"]
    occ0 = _baseline_occupancy(model, "neuromod.ach.muscarinic")
    nic0 = _baseline_occupancy(model, "neuromod.ach.nicotinic")
    e = {k: float(model.value(f"neuromod.ach.{k}")) for k in (
        "muscarinic.intracortical", "muscarinic.interneurons", "muscarinic.afferent",
        "nicotinic.afferent")}  # fmt: skip
    ampa = 1 / (1 + e["muscarinic.intracortical"] * occ0)
    assert float(sensory.f_E_ampa_rec[0]) == pytest.approx(ampa, rel=1e-9) and ampa > 1.0
    inhibition = 1 / (1 + e["muscarinic.interneurons"] * occ0)
    assert float(sensory.f_I_background[0]) == pytest.approx(inhibition, rel=1e-9)
    assert inhibition < 1.0
    expected = 1 / ((1 + e["muscarinic.afferent"] * occ0) * (1 + e["nicotinic.afferent"] * nic0))
    assert float(sensory.f_E_stimulus[0]) == pytest.approx(expected, rel=1e-9)


#: Every NE efficacy of the cortex and thalamus non-zero, so that each mapping is seen (the model
#: file leaves alpha1.excitation and alpha1.relay_drive at 0, a calibration).
NE_EFFICACIES = [
    "neuromod.ne.alpha1.excitation=1.0",
    "neuromod.ne.alpha1.relay_drive=0.3",
    "neuromod.ne.alpha1.trn_input=0.5",
]


def test_ne_gives_an_inverted_u_on_pfc_recurrence_and_signal_to_noise_elsewhere():
    """α2A then α1 on PFC recurrence (inverted U); α1 on every excitatory input of cortical
    pyramidal cells and on the background drive of relay and TRN cells; β on the pyramidal
    cells' recurrent GABA_A (module bioattn.circuits.neuromodulators.ne)."""
    levels = (3.0, 30.0, 100.0, 1000.0, 10000.0)
    pfc, excitation, inhibition, relay, trn = [], [], [], [], []
    terms = [("alpha2a", "delay_recurrence"), ("alpha1", "delay_recurrence")]
    for level in levels:
        model = config.load_model("multi_item", NE_EFFICACIES)
        objects = _run(model, _short(model, levels=(("ne", level),)))
        areas = ("pfc", "column", "ppc", "readout", "thalamus")
        milieu = {area: objects[f"{area}_milieu"] for area in areas}
        pfc.append(float(milieu["pfc"].f_E_nmda_rec[0]))
        assert float(milieu["pfc"].f_E_ampa_rec[0]) == pfc[-1]
        assert pfc[-1] == pytest.approx(_factor(model, "ne", level, terms), rel=1e-9)
        assert float(milieu["pfc"].f_I_nmda_rec[0]) == 1.0  # α2A / α1 act on E only
        alpha1 = _factor(model, "ne", level, [("alpha1", "excitation")])
        beta = _factor(model, "ne", level, [("beta", "inhibition")])
        for area in ("column", "ppc", "readout"):
            for term in ("stimulus", "ampa_rec", "nmda_rec", "lateral", "long_range"):
                assert float(getattr(milieu[area], f"f_E_{term}")[0]) == pytest.approx(alpha1)
                assert float(getattr(milieu[area], f"f_I_{term}")[0]) == 1.0
            assert float(milieu[area].f_E_gaba_rec[0]) == pytest.approx(beta, rel=1e-9)
            assert float(milieu[area].f_I_gaba_rec[0]) == 1.0  # β: onto pyramidal cells only
            assert float(milieu[area].f_E_background[0]) == 1.0
        for cell, efficacy, out in (("E", "relay_drive", relay), ("I", "trn_drive", trn)):
            drive = _factor(model, "ne", level, [("alpha1", efficacy)])
            assert float(getattr(milieu["thalamus"], f"f_{cell}_background")[0]) == pytest.approx(
                drive, rel=1e-9
            )
            out.append(drive)
        trn_input = _factor(model, "ne", level, [("alpha1", "trn_input")])
        assert float(milieu["thalamus"].f_I_long_range[0]) == pytest.approx(trn_input, rel=1e-9)
        assert float(milieu["thalamus"].f_E_long_range[0]) == 1.0  # relay: TRN input unscaled
        assert (trn_input > 1.0) == (level > 10.0)
        excitation.append(alpha1)
        inhibition.append(beta)
    peak = int(np.argmax(pfc))
    assert 0 < peak < len(levels) - 1  # an interior maximum
    assert pfc[peak] > 1.0 > pfc[-1]  # α2A raises it at moderate NE, α1 lowers it at high NE
    for factors in (excitation, inhibition, relay, trn):
        assert np.all(np.diff(factors) > 0) and factors[0] < 1.0 < factors[1]
    assert excitation[-1] > 1.8 and inhibition[-1] > 2.5  # occupancy 0.97 and 0.93
    assert trn[-1] > 3.0 and relay[-1] < 1.5  # the TRN is depolarised far more than the relay


def test_ne_in_the_model_file_acts_on_the_trn_and_cortical_inhibition_not_on_excitation():
    """The calibrated NE of the model file (README): at 100 nM the TRN's drive and the cortical
    pyramidal cells' GABA_A rise, the relay's drive and every cortical excitation stay as at
    the baseline."""
    model = config.load_model("multi_item")
    objects = _run(model, _short(model, levels=(("ne", 100.0),)))
    thalamus, column = objects["thalamus_milieu"], objects["column_milieu"]
    assert float(thalamus.f_I_background[0]) == pytest.approx(
        _factor(model, "ne", 100.0, [("alpha1", "trn_drive")]), rel=1e-9
    )
    assert float(thalamus.f_I_background[0]) > 1.5
    assert float(thalamus.f_E_background[0]) == 1.0
    assert float(column.f_E_gaba_rec[0]) > 1.15
    assert all(float(getattr(column, f"f_E_{t}")[0]) == 1.0 for t in ("stimulus", "ampa_rec"))


def test_d1_raises_pfc_nmda_and_gaba_and_lowers_ampa_and_afferent_drive():
    model = config.load_model(
        "ardid2007",
        [
            "neuromod.da.level='300 nM'",
            "neuromod.da.d1_low.recurrence=-0.5",
            "neuromod.da.d1.afferent=-0.5",
        ],
    )
    objects = _run(model, _short(model))
    pfc, sensory = objects["pfc_milieu"], objects["sensory_milieu"]
    nmda = _factor(model, "da", 300.0, [("d1", "nmda")])
    assert nmda > 1.02
    assert float(pfc.f_I_nmda_rec[0]) == pytest.approx(nmda, rel=1e-9)
    # onto pyramidal cells the low-affinity state's cAMP arm weakens recurrence (d1_low)
    low = _factor(model, "da", 300.0, [("d1_low", "recurrence")])
    assert low < 0.95  # occupancy 0.23 at 300 nM
    assert float(pfc.f_E_nmda_rec[0]) == pytest.approx(nmda * low, rel=1e-9)
    ampa = _factor(model, "da", 300.0, [("d1", "ampa")])
    assert float(pfc.f_I_ampa_rec[0]) == pytest.approx(ampa, rel=1e-9) and ampa < 0.99
    assert float(pfc.f_E_ampa_rec[0]) == pytest.approx(ampa * low, rel=1e-9)
    gaba = _factor(model, "da", 300.0, [("d1", "gaba")])
    assert float(pfc.f_E_gaba_rec[0]) == pytest.approx(gaba, rel=1e-9)
    assert float(pfc.f_E_gaba_rec[0]) > 1.015
    assert float(pfc.f_I_gaba_rec[0]) == 1.0
    # the cue / distractor drive of both PFC populations: occupancy 0.91 at 300 nM, 0.25 at
    # the 10 nM baseline, so (1 - 0.5 * 0.91) / (1 - 0.5 * 0.25) = 0.62
    afferent = _factor(model, "da", 300.0, [("d1", "afferent")])
    assert afferent == pytest.approx(0.62, abs=0.01)
    for cells in ("E", "I"):
        assert float(getattr(pfc, f"f_{cells}_stimulus")[0]) == pytest.approx(afferent, rel=1e-9)
    assert all(float(getattr(sensory, f"f_{c}_{t}")[0]) == 1.0 for c in ("E", "I") for t in TERMS)


def test_a_release_tagged_to_one_location_raises_only_that_ppc_pools_input():
    """Salience: a DA burst tagged to location 2 reaches the PPC milieu's block 2 only; the pool
    of location 2 reads it (block indexing of the linked factors), the other pools keep 1."""
    model = config.load_model("multi_item")
    schedule = Schedule(float(model["simulation"].schedule_dt), model["scene"].n_locations)
    schedule.add_trial({}, [("burst", 0.15, {"tagged_release": (("da", 2, 4.0),)})])
    objects = _run(model, schedule)
    factors = np.asarray(objects["ppc_milieu"].f_E_long_range[:])
    assert factors[2] > 1.2
    np.testing.assert_array_equal(np.delete(factors, 2), 1.0)
    pools = np.asarray(objects["ppc_E"].f_long_range[:]).reshape(model["scene"].n_locations, -1)
    np.testing.assert_array_equal(pools, factors[:, None] * np.ones_like(pools))
    c = np.asarray(objects["ppc_milieu"].c_da[:])
    assert c[2] > c[0] == c[1] == c[3] == float(model.value("neuromod.da.level"))
    pfc = objects["pfc_milieu"]
    assert all(float(getattr(pfc, f"f_{c}_{t}")[0]) == 1.0 for c in ("E", "I") for t in TERMS)


def test_the_stimulus_drive_carries_its_factor():
    """The wiring, not only the milieu: a sensory cell's drive rate under an ACh clamp is the
    unclamped rate (same seed, same shared gain) times its f_stimulus."""
    model = config.load_model("ardid2007")
    stimulus = {"contrast": 1.0, "stim_angle": 1.0}
    plain = _run(model, _short(model, **stimulus))["sensory_E"]
    clamped = _run(model, _short(model, levels=(("ach", 1000.0),), **stimulus))["sensory_E"]
    ratio = np.asarray(clamped.nu_drive[:]) / np.asarray(plain.nu_drive[:])
    both = [("muscarinic", "afferent"), ("nicotinic", "afferent")]
    np.testing.assert_allclose(ratio, _factor(model, "ach", 1000.0, both), rtol=1e-9)
    assert np.all(np.asarray(plain.nu_drive[:]) > 0)


def test_unknown_modulators_and_receptors_in_a_schedule_are_refused():
    model = config.load_model("ardid2007")
    with pytest.raises(BioattnError, match="unknown neuromodulator '5ht'; expected one of"):
        _run(model, _short(model, levels=(("5ht", 10.0),)))
    with pytest.raises(BioattnError, match="unknown receptor 'ach.muscarinc' blocked"):
        _run(model, _short(model, blocks=(("ach.muscarinc", 1.0),)))


def test_levels_are_run_time_values_of_a_built_network():
    """A new level resolves through the bindings of the same build (no rebuild)."""
    import sys

    sys.path.insert(0, str(__import__("pathlib").Path(__file__).parent))
    from test_circuit import _built

    model, objects, bindings = _built("two_area", "ardid2007")
    schedule = _short(model)
    other = model.replace({"neuromod.ne.level": "80 nM", "neuromod.da.d1.block": 0.5})
    values = {b.key: v for b, v in bindings.resolve(other, schedule)}
    assert np.allclose(np.asarray(values["ne_tonic.values"]), 80 * NM)
    assert float(values["pfc_milieu.block_da_d1"]) == 0.5
    for name in ("neuromod.ne.level", "neuromod.da.d1.block", "neuromod.ach.burst",
                 "neuromod.ne.beta.inhibition", "neuromod.da.tau_clearance"):  # fmt: skip
        assert not config.is_structural(model, name)


def test_a_sweep_over_levels_and_blocks_needs_one_build():
    """Levels and drugs on a sweep grid are run-time values: every point falls in one
    structure group (one build per worker)."""
    from bioattn.sweep import grid, runner

    axes = (
        grid.parse_axis("neuromod.da.level=5,10,20 nM"),
        grid.parse_axis("neuromod.ach.muscarinic.block=0,1"),
        grid.parse_axis("seed=1..2"),
    )
    plan = runner.plan(grid.SweepSpec(protocol="working-memory", axes=axes))
    assert len(plan.tasks) == 12 and len(plan.groups) == 1
