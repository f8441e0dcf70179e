"""Benchmark: the full two-area circuit through bioattn vs. a bare hand-written Brian2 script.

Both simulate the default model (``models/ardid2007.toml``) with the ``cpp_standalone`` target on
the same schedule (settle 20 %, PFC cue at 180° 25 %, stimulus at 180°, contrast 1, cue off 55 %
of ``--duration``), each in its own fresh standalone directory and its own subprocess, so the two
builds cannot interfere:

(a) ``bioattn``: :meth:`bioattn.engine.Engine.simulate` (every parameter a run-time value);
(b) ``bare``: the same network written directly with Brian2 calls below (same equations, the same
    Fourier-mode coupling — mode NeuronGroups with summed-variable Synapses forward and back —,
    the same ``poisson()`` afferents in ``run_regularly``, the same TimedArray drives, the same
    monitors).  Only parameter values, the schedule's arrays, the seed's shared-gain path
    (:func:`~bioattn.circuits.variability.fluctuation_paths`) and the kernel maths
    (:func:`~bioattn.circuits.ring.fourier_coefficients`, :func:`~bioattn.circuits.ring.mode_basis`)
    come from bioattn.

Timings per run:

- build s: everything but the simulation loop — Python network construction, code generation,
  compilation, and the binary's start-up / result writing;
- run s: the simulation loop, as Brian2 records it (``results/last_run_info.txt``, first number;
  bioattn reports it as ``timings['device_run_s']``).

The mode coupling has no per-spike synaptic events, so the work measure is "summed-variable
synapse updates": (total synapses of all Synapses objects) × (steps per second).  Runs are
interleaved (a, b, a, b, ...) ``--repeats`` times and the median of the per-pair ratio
bioattn run / bare run is reported (goal ≤ 1.10), because timings on this machine are noisy.

``--instructions``: each binary runs under valgrind's callgrind instead, which counts the
instructions it executes (and, with its cache model, first-level and last-level cache misses):
the same numbers whatever else the shared machine is doing, so the ratio bioattn / bare needs
one pair, not the median of many.  The whole binary is counted (start-up, loading the arrays,
the loop, writing results), so use a short ``--duration`` (0.1 s: ≈ 1 min per binary);
valgrind 3.19 has no AVX-512, so both are compiled for ``-march=x86-64-v3`` instead of
``native``.

Usage::

    python benchmarks/bench_network.py [--repeats 2] [--duration 1.0] [--scale 1.0]
    python benchmarks/bench_network.py --instructions --repeats 1 --duration 0.1
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

METHODS = ("bioattn", "bare")
_RESULT_MARK = "BENCH_RESULT "


# --------------------------------------------------------------------------------------------
# The schedule (shared by both methods)
# --------------------------------------------------------------------------------------------


def make_schedule(model, duration: float):
    """Settle 0.2, cue at 180° 0.25, stimulus at 180° contrast 1 (cue off) 0.55, × ``duration``."""
    from bioattn.schedule import Schedule

    schedule = Schedule(float(model["simulation"].schedule_dt / _second()))
    schedule.add_trial(
        {"benchmark": True},
        [
            ("settle", 0.20 * duration, {}),
            ("cue", 0.25 * duration, {"cue_angle": np.pi}),
            ("stimulus", 0.55 * duration, {"stim_angle": np.pi, "contrast": 1.0}),
        ],
    )
    return schedule


def _second():
    from brian2 import second

    return second


# --------------------------------------------------------------------------------------------
# Timing instrument: wall time of the compiled binary (start to exit), for both methods alike
# --------------------------------------------------------------------------------------------


def _instrument_binary_run(record: dict) -> None:
    from brian2.devices.cpp_standalone.device import CPPStandaloneDevice

    original = CPPStandaloneDevice.run

    def timed_run(self, *args, **kwargs):
        t0 = time.perf_counter()
        try:
            return original(self, *args, **kwargs)
        finally:
            record["binary_s"] = record.get("binary_s", 0.0) + time.perf_counter() - t0

    CPPStandaloneDevice.run = timed_run


def _loop_time(directory: Path) -> float:
    try:
        return float((directory / "results" / "last_run_info.txt").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return float("nan")


def _spike_digest(*arrays) -> str:
    """A hash of the recorded spike trains (indices and step-rounded times), to compare runs."""
    h = hashlib.sha256()
    for a in arrays:
        h.update(np.ascontiguousarray(a).tobytes())
    return h.hexdigest()[:16]


def _all_to_all_count(objects) -> int:
    """Synapses in all Synapses objects (every one in this circuit is all-to-all)."""
    from brian2 import Synapses

    return int(sum(len(o.source) * len(o.target) for o in objects if isinstance(o, Synapses)))


# --------------------------------------------------------------------------------------------
# (a) bioattn
# --------------------------------------------------------------------------------------------


def run_bioattn(model, schedule, seed: int, scale: float, directory: Path) -> dict:
    import dataclasses

    from bioattn.circuits import registry
    from bioattn.engine import Engine

    record: dict = {}
    _instrument_binary_run(record)
    circuit = registry.get_circuit(model.circuit)

    def counting_build(*args, **kwargs):  # only counts synapses; the circuit is unchanged
        built = circuit.build(*args, **kwargs)
        record["n_synapses"] = _all_to_all_count(built.objects)
        record["n_synapse_objects"] = sum(type(o).__name__ == "Synapses" for o in built.objects)
        return built

    registry.CIRCUITS[model.circuit] = dataclasses.replace(circuit, build=counting_build)
    t0 = time.perf_counter()
    out = Engine("cpp_standalone", directory).simulate(model, schedule, seed=seed, scale=scale)
    total = time.perf_counter() - t0
    return {
        **record,
        "total_s": total,
        "setup_s": out.timings["build_s"],
        "device_run_s": out.timings["device_run_s"],
        "n_exc": [out.n_sensory, out.n_pfc],
        "spikes": [int(out.sensory_i.size), int(out.pfc_i.size)],
        "spike_digest": _spike_digest(
            out.sensory_i.astype(np.int64),
            np.round(out.sensory_t * 1e4).astype(np.int64),
            out.pfc_i.astype(np.int64),
            np.round(out.pfc_t * 1e4).astype(np.int64),
        ),
        "lfp_samples": int(out.lfp.size),
        "lfp_mean_nA": float(np.mean(out.lfp) * 1e9) if out.lfp.size else float("nan"),
    }


# --------------------------------------------------------------------------------------------
# (b) bare Brian2: the same network, every object built by hand
# --------------------------------------------------------------------------------------------

BARE_MEMBRANE = """
dv/dt = (-g_L * (v - E_L) - I_ampa - I_nmda - I_gaba) / C_m : volt (unless refractory)
I_ampa = (g_ext + g_ampa_rec + g_ampa_lr) * (v - E_exc) : amp
I_nmda = g_nmda_rec * (v - E_exc) / (1 + mg / mg_scale * exp(-mg_slope * v)) : amp
I_gaba = (g_gaba_rec + g_inh_ext) * (v - E_inh) : amp
dg_ext/dt = -g_ext / tau_ampa : siemens
g_ampa_rec : siemens
g_nmda_rec : siemens
g_gaba_rec : siemens
g_ampa_lr : siemens
g_inh_ext : siemens
nu_drive : Hz
theta : 1 (constant)
g_ext_unit : siemens (shared, constant)
nu_bg : Hz (shared, constant)
shared_gain : 1
"""
BARE_E_GATING = """
ds_ampa/dt = -s_ampa / tau_ampa : 1
ds_nmda/dt = -s_nmda / tau_nmda_decay + alpha_nmda * x * (1 - s_nmda) : 1
dx/dt = -x / tau_nmda_rise : 1
"""
BARE_I_GATING = """
ds_gaba/dt = -s_gaba / tau_gaba : 1
"""


class _BrianModel:
    """The model's sections with every quantity as a Brian2 quantity (the bare script's view)."""

    def __init__(self, model):
        self.model = model

    def __getitem__(self, section):
        import dataclasses
        from types import SimpleNamespace

        from bioattn.units import Quantity

        obj = self.model[section]
        return SimpleNamespace(**{
            f.name: getattr(obj, f.name).to_brian2()
            if isinstance(getattr(obj, f.name), Quantity) else getattr(obj, f.name)
            for f in dataclasses.fields(obj)
        })  # fmt: skip


def build_bare(model, arrays: dict, shared_path, scale: float) -> tuple[list, dict]:
    """The two-area circuit with plain Brian2 objects, the shared gain read from
    ``shared_path`` (step, 1). Returns (objects, monitors)."""
    import brian2 as b2

    from bioattn.circuits.ring import BANK_ORDER, fourier_coefficients, mode_basis

    model = _BrianModel(model)

    sim, syn = model["simulation"], model["synapses"]
    dt, sched_dt, tol = sim.dt, sim.schedule_dt, sim.kernel_tolerance

    def ring(n):
        return 2.0 * np.pi * np.arange(n) / n

    def pairs(n_pre, n_post):
        return np.repeat(np.arange(n_pre), n_post), np.tile(np.arange(n_post), n_pre)

    syn_consts = {
        k: getattr(syn, k)
        for k in (
            "tau_ampa",
            "tau_nmda_rise",
            "tau_nmda_decay",
            "alpha_nmda",
            "tau_gaba",
            "E_exc",
            "E_inh",
            "mg",
            "mg_slope",
            "mg_scale",
        )
    }

    def population(n, excitatory, cells, name):
        ns = {k: getattr(cells, k) for k in ("C_m", "g_L", "E_L", "V_th", "V_reset")}
        ns.update(syn_consts)
        group = b2.NeuronGroup(
            n,
            BARE_MEMBRANE + (BARE_E_GATING if excitatory else BARE_I_GATING),
            threshold="v > V_th",
            reset="v = V_reset\n" + ("s_ampa += 1\nx += 1" if excitatory else "s_gaba += 1"),
            refractory=cells.t_ref,
            method=sim.method,
            namespace=ns,
            name=name,
            dt=dt,
        )
        group.v = "E_L + rand() * (V_th - E_L)"
        group.run_regularly(
            "g_ext += g_ext_unit * poisson((nu_bg + nu_drive) * dt)",
            dt=dt,
            name=f"{name}_afferents",
        )
        return group

    def forward(source, variables, n_harm, name):
        n_modes = 2 * n_harm + 1
        # the modes are summed before the readouts read them in the same step
        modes = b2.NeuronGroup(
            n_modes,
            "\n".join(f"c_{v} : 1" for v in variables),
            name=f"{name}_modes",
            order=BANK_ORDER,
        )
        fwd = b2.Synapses(
            source,
            modes,
            "b : 1 (constant)\n"
            + "\n".join(f"c_{v}_post = b * {v}_pre : 1 (summed)" for v in variables),
            name=f"{name}_fwd",
        )
        pre, post = pairs(len(source), n_modes)
        fwd.connect(i=pre, j=post)
        fwd.b[:] = mode_basis(ring(len(source)), n_harm)[pre, post]
        return modes, fwd

    def readout(modes, target, couplings, coef, name):
        n_harm = coef.size - 1
        n_modes = 2 * n_harm + 1
        gs = sorted({g for _, g in couplings.values()})
        eqs = "\n".join(
            ["w : 1 (constant)"]
            + [f"{g} : siemens (shared, constant)" for g in gs]
            + [
                f"{tv}_post = {g} * w * c_{v}_pre : siemens (summed)"
                for tv, (v, g) in couplings.items()
            ]
        )
        s = b2.Synapses(modes[:n_modes], target, eqs, name=name)
        pre, post = pairs(n_modes, len(target))
        s.connect(i=pre, j=post)
        weights = mode_basis(ring(len(target)), n_harm) * np.repeat(coef, 2)[1:]
        s.w[:] = weights[post, pre]
        return s

    td, bu = model["topdown"], model["bottomup"]
    td_coef = fourier_coefficients(td.sigma, None, tol)
    bu_coef = fourier_coefficients(bu.sigma, None, tol)

    areas = {}
    objects: list = []
    for name, extra in (("sensory", bu_coef.size - 1), ("pfc", td_coef.size - 1)):
        p = model[name]
        n_e, n_i = max(8, int(round(p.n_exc * scale))), max(8, int(round(p.n_inh * scale)))
        e_factor, i_factor = p.n_exc / n_e, p.n_inh / n_i
        exc = population(n_e, True, model["cells.excitatory"], f"{name}_E")
        inh = population(n_i, False, model["cells.inhibitory"], f"{name}_I")
        exc.theta, inh.theta = ring(n_e), ring(n_i)
        exc.g_ext_unit, inh.g_ext_unit = p.g_ext_e, p.g_ext_i
        exc.nu_bg = inh.nu_bg = p.nu_bg
        rec = fourier_coefficients(p.sigma_ee, p.j_plus, tol)
        harm = max(rec.size - 1, extra)
        e_modes, e_fwd = forward(exc, ["s_ampa", "s_nmda"], harm, f"{name}_E")
        i_modes, i_fwd = forward(inh, ["s_gaba"], 0, f"{name}_I")
        exc_cpl = {"g_ampa_rec": ("s_ampa", "g_ampa"), "g_nmda_rec": ("s_nmda", "g_nmda")}
        gaba_cpl = {"g_gaba_rec": ("s_gaba", "g_gaba")}
        ee = readout(e_modes, exc, exc_cpl, rec, f"{name}_EE")
        ei = readout(e_modes, inh, exc_cpl, np.ones(1), f"{name}_EI")
        ie = readout(i_modes, exc, gaba_cpl, np.ones(1), f"{name}_IE")
        ii = readout(i_modes, inh, gaba_cpl, np.ones(1), f"{name}_II")
        ee.g_ampa, ee.g_nmda = p.g_ampa_ee * e_factor, p.g_nmda_ee * e_factor
        ei.g_ampa, ei.g_nmda = p.g_ampa_ei * e_factor, p.g_nmda_ei * e_factor
        ie.g_gaba = p.g_gaba_ie * i_factor
        ii.g_gaba = p.g_gaba_ii * i_factor
        areas[name] = {"exc": exc, "inh": inh, "e_modes": e_modes, "n_ref": p.n_exc}
        objects += [exc, inh, e_modes, e_fwd, i_modes, i_fwd, ee, ei, ie, ii]

    timed = {k: b2.TimedArray(v, dt=sched_dt, name=k) for k, v in arrays.items()}
    drive_eq = (
        "nu_drive = {g}(t) * (nu_untuned + nu_tuned * exp(kappa * (cos(theta - {a}(t)) - 1))){gain}"
    )
    for name, drive, gain, angle in (
        ("sensory", model["stimulus"], "stim_gain", "stim_angle"),
        ("pfc", model["cue"], "cue_gain", "cue_angle"),
    ):
        g_name, a_name = f"{name}_drive_gain", f"{name}_drive_angle"
        for group, nu_t, nu_u in (
            (areas[name]["exc"], drive.nu_max_e, drive.nu_untuned_e),
            (areas[name]["inh"], drive.nu_max_i, drive.nu_untuned_i),
        ):
            group.namespace.update(
                {
                    g_name: timed[gain],
                    a_name: timed[angle],
                    "nu_tuned": nu_t,
                    "nu_untuned": nu_u,
                    "kappa": drive.kappa,
                }
            )
            gain_factor = " * shared_gain" if name == "sensory" else ""
            group.run_regularly(
                drive_eq.format(g=g_name, a=a_name, gain=gain_factor),
                dt=sched_dt,
                name=f"{group.name}_drive",
            )
    # The slow shared gain of the sensory stimulus drive: the seed's Ornstein-Uhlenbeck path
    # (drawn by bioattn's variability.fluctuation_paths, as the schedule's arrays are).
    shared = model["shared_gain"]
    shared_xi = b2.TimedArray(shared_path, dt=sched_dt, name="sensory_shared_xi")
    gain_namespace = {"shared_xi": shared_xi, "sigma_shared": shared.sigma}
    gain = b2.NeuronGroup(
        1,
        "gain = clip(1 + sigma_shared * shared_xi(t, i), 0, inf) : 1",
        namespace=gain_namespace,
        name="sensory_shared_gain",
        dt=sched_dt,
    )
    objects.append(gain)
    for group in (areas["sensory"]["exc"], areas["sensory"]["inh"]):
        write = b2.Synapses(
            gain, group, "shared_gain_post = gain_pre : 1 (summed)",
            namespace=gain_namespace, name=f"{group.name}_shared_gain", dt=sched_dt,
        )  # fmt: skip
        write.connect(i=0, j=np.arange(len(group)))
        objects.append(write)
    pfc_e = areas["pfc"]["exc"]
    pfc_e.namespace.update({"erase_signal": timed["erase"], "g_erase": model["erase"].g_inh})
    pfc_e.run_regularly("g_inh_ext = g_erase * erase_signal(t)", dt=sched_dt, name="pfc_erase")

    for proj, src, tgt, coef, name in (
        (td, "pfc", "sensory", td_coef, "topdown"),
        (bu, "sensory", "pfc", bu_coef, "bottomup"),
    ):
        ratio = areas[src]["n_ref"] / len(areas[src]["exc"])
        for pop, g in (("e", proj.g_ampa_e), ("i", proj.g_ampa_i)):
            s = readout(
                areas[src]["e_modes"],
                areas[tgt]["exc" if pop == "e" else "inh"],
                {"g_ampa_lr": ("s_ampa", "g_ampa")},
                coef,
                f"{name}_{pop}",
            )
            s.g_ampa = g * ratio
            objects.append(s)

    sens_e = areas["sensory"]["exc"]
    lfp = b2.NeuronGroup(1, "lfp_ampa : amp\nlfp_gaba : amp", name="sensory_lfp")
    lfp_syn = b2.Synapses(
        sens_e,
        lfp,
        "lfp_ampa_post = abs((g_ext_pre + g_ampa_rec_pre) * (v_pre - E_exc)) : amp (summed)\n"
        "lfp_gaba_post = abs(g_gaba_rec_pre * (v_pre - E_inh)) : amp (summed)",
        namespace=dict(sens_e.namespace),
        name="sensory_lfp_sum",
    )
    lfp_syn.connect()
    monitors = {
        "sensory_spikes": b2.SpikeMonitor(sens_e, name="sensory_spikes"),
        "pfc_spikes": b2.SpikeMonitor(pfc_e, name="pfc_spikes"),
        "lfp": b2.StateMonitor(
            lfp, ["lfp_ampa", "lfp_gaba"], record=0, dt=sim.record_dt, name="lfp_monitor"
        ),
    }
    objects += [lfp, lfp_syn, *monitors.values()]
    return objects, monitors


def run_bare(model, schedule, seed: int, scale: float, directory: Path) -> dict:
    import brian2 as b2

    record: dict = {}
    _instrument_binary_run(record)
    from bioattn.circuits.variability import fluctuation_paths

    arrays = schedule.arrays()  # plain numpy arrays; the TimedArrays are built in build_bare
    shared_path = fluctuation_paths(schedule, seed, float(model.value("shared_gain.tau")), 1)
    t0 = time.perf_counter()
    b2.set_device("cpp_standalone", directory=str(directory), build_on_run=False)
    b2.start_scope()
    b2.defaultclock.dt = model["simulation"].dt.to_brian2()
    b2.seed(seed)
    objects, monitors = build_bare(model, arrays, shared_path, scale)
    net = b2.Network(objects)
    net.run(schedule.duration * b2.second, report=None, namespace={})
    t_setup = time.perf_counter()
    b2.device.build(directory=str(directory), compile=True, run=True, with_output=False)
    total = time.perf_counter() - t0
    synapses = [o for o in objects if isinstance(o, b2.Synapses)]
    counted = int(sum(len(s) for s in synapses))  # read back from the standalone run
    if counted != _all_to_all_count(objects):
        raise RuntimeError(f"synapse count {counted} != all-to-all {_all_to_all_count(objects)}")
    from bioattn.circuits.network import lfp_proxy  # the analysis of the recording only

    lfp_mon = monitors["lfp"]
    lfp = lfp_proxy(
        np.asarray(lfp_mon.t / b2.second),
        np.asarray(lfp_mon.lfp_ampa[0] / b2.amp),
        np.asarray(lfp_mon.lfp_gaba[0] / b2.amp),
        model,
    )
    sens, pfc = monitors["sensory_spikes"], monitors["pfc_spikes"]
    digest = _spike_digest(
        np.asarray(sens.i[:], dtype=np.int64),
        np.round(sens.t / b2.second * 1e4).astype(np.int64),
        np.asarray(pfc.i[:], dtype=np.int64),
        np.round(pfc.t / b2.second * 1e4).astype(np.int64),
    )
    return {
        **record,
        "total_s": total,
        "setup_s": t_setup - t0,
        "device_run_s": _loop_time(directory),
        "n_synapses": counted,
        "n_synapse_objects": len(synapses),
        "n_exc": [len(monitors["sensory_spikes"].source), len(monitors["pfc_spikes"].source)],
        "spikes": [
            int(monitors["sensory_spikes"].num_spikes),
            int(monitors["pfc_spikes"].num_spikes),
        ],
        "spike_digest": digest,
        "lfp_samples": int(lfp.size),
        "lfp_mean_nA": float(np.mean(lfp) * 1e9) if lfp.size else float("nan"),
    }


# --------------------------------------------------------------------------------------------
# Driver
# --------------------------------------------------------------------------------------------


#: Callgrind's counters, in the order of its ``events:`` line with ``--cache-sim=yes``.
_CALLGRIND_EVENTS = ("Ir", "Dr", "Dw", "I1mr", "D1mr", "D1mw", "ILmr", "DLmr", "DLmw")


def _count_instructions(out_file: Path) -> None:
    """Run the compiled binary under callgrind (writing ``out_file``), built for x86-64-v3."""
    from brian2 import prefs

    prefs.devices.cpp_standalone.run_cmd_unix = [
        "valgrind", "--tool=callgrind", "--cache-sim=yes", f"--callgrind-out-file={out_file}",
        "./main",
    ]  # fmt: skip
    prefs.codegen.cpp.extra_compile_args_gcc = [
        "-march=x86-64-v3" if a == "-march=native" else a
        for a in prefs.codegen.cpp.extra_compile_args_gcc
    ]


def _callgrind_totals(out_file: Path) -> dict[str, int]:
    for line in out_file.read_text().splitlines():
        if line.startswith("summary:"):
            return dict(zip(_CALLGRIND_EVENTS, map(int, line.split()[1:]), strict=True))
    raise SystemExit(f"no summary line in {out_file}")


def worker(args: argparse.Namespace) -> None:
    from bioattn.config import load_model

    counts = Path(args.dir).with_suffix(".callgrind")
    if args.instructions:
        _count_instructions(counts)
    model = load_model()
    schedule = make_schedule(model, args.duration)
    directory = Path(args.dir)
    run = run_bioattn if args.worker == "bioattn" else run_bare
    result = run(model, schedule, args.seed, args.scale, directory)
    result.update(
        method=args.worker,
        duration=schedule.duration,
        steps_per_s=1.0 / float(model["simulation"].dt / _second()),
    )
    # build = everything but the simulation loop (setup, codegen, compile, binary start-up / IO)
    result["build_s"] = result["total_s"] - result["device_run_s"]
    result["binary_overhead_s"] = result.get("binary_s", float("nan")) - result["device_run_s"]
    if args.instructions:
        result["callgrind"] = _callgrind_totals(counts)
    print(_RESULT_MARK + json.dumps(result), flush=True)


def launch(method: str, args: argparse.Namespace, seed: int, directory: Path) -> dict:
    cmd = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--worker",
        method,
        "--dir",
        str(directory),
        "--seed",
        str(seed),
        "--duration",
        str(args.duration),
        "--scale",
        str(args.scale),
        *(["--instructions"] if args.instructions else []),
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    for line in proc.stdout.splitlines():
        if line.startswith(_RESULT_MARK):
            return json.loads(line[len(_RESULT_MARK) :])
    sys.stderr.write(proc.stdout[-4000:] + proc.stderr[-8000:])
    raise SystemExit(f"{method} run failed (exit {proc.returncode})")


def _rates(r: dict) -> list[float]:
    return [s / (n * r["duration"]) for s, n in zip(r["spikes"], r["n_exc"], strict=True)]


def _report_instructions(results: dict[str, list[dict]]) -> None:
    print("\ncallgrind counts of the whole binary, bioattn / bare per pair:")
    for event in ("Ir", "Dr", "Dw", "D1mr", "DLmr"):
        pairs = [
            f"{a['callgrind'][event]:,} / {b['callgrind'][event]:,} = "
            f"{a['callgrind'][event] / b['callgrind'][event]:.4f}"
            for a, b in zip(results["bioattn"], results["bare"], strict=True)
        ]
        print(f"  {event:5s} " + "; ".join(pairs))


def report(results: dict[str, list[dict]]) -> None:
    if "callgrind" in results["bioattn"][0]:
        _report_instructions(results)
    first = results["bioattn"][0]
    print()
    print(
        f"Network: {first['n_exc'][0]} + {first['n_exc'][1]} E cells; "
        f"{first['duration']:.3g} s simulated, {first['steps_per_s']:.0f} steps/s; "
        "cpp_standalone"
    )
    for method in METHODS:
        r = results[method][0]
        print(
            f"  {method:8s}: {r['n_synapse_objects']} Synapses objects, "
            f"{r['n_synapses']:,} synapses "
            f"-> {r['n_synapses'] * r['steps_per_s']:.3e} summed-variable synapse updates / sim s"
        )
    header = (
        f"{'method':8s} {'rep':>3s} {'build s':>8s} {'(py setup)':>10s} {'run s':>7s} "
        f"{'run s/sim s':>11s} "
        f"{'s/1e6 upd':>9s} {'bin ovh s':>9s} {'E rate sens':>11s} {'E rate pfc':>10s} "
        f"{'spikes s/p':>13s}"
    )
    print()
    print(header)
    print("-" * len(header))

    def row(method, rep, r):
        upd = r["n_synapses"] * r["steps_per_s"] * r["duration"]
        rs, rp = _rates(r)
        return (
            f"{method:8s} {rep:>3s} {r['build_s']:8.1f} {r['setup_s']:10.1f} "
            f"{r['device_run_s']:7.3f} "
            f"{r['device_run_s'] / r['duration']:11.2f} {r['device_run_s'] / upd * 1e6:9.5f} "
            f"{r['binary_overhead_s']:9.2f} {rs:9.2f}Hz {rp:8.2f}Hz "
            f"{r['spikes'][0]:>6d}/{r['spikes'][1]:<6d}"
        )

    for i in range(len(results["bioattn"])):
        for method in METHODS:
            print(row(method, str(i + 1), results[method][i]))
    print("-" * len(header))
    for method in METHODS:
        runs = results[method]
        med = {
            k: statistics.median(r[k] for r in runs)
            for k in ("build_s", "setup_s", "device_run_s", "binary_overhead_s")
        }
        med.update({k: runs[0][k] for k in ("n_synapses", "steps_per_s", "duration")})
        med["spikes"] = [int(statistics.median(r["spikes"][a] for r in runs)) for a in (0, 1)]
        med["n_exc"] = runs[0]["n_exc"]
        print(row(method, "med", med))
    print()
    ratios = [
        a["device_run_s"] / b["device_run_s"]
        for a, b in zip(results["bioattn"], results["bare"], strict=True)
    ]
    build_ratios = [
        a["build_s"] / b["build_s"]
        for a, b in zip(results["bioattn"], results["bare"], strict=True)
    ]
    med_ratio = statistics.median(ratios)
    timed = "callgrind" not in first  # under valgrind the wall times say nothing
    verdict = f" (goal <= 1.10: {'met' if med_ratio <= 1.10 else 'NOT met'})" if timed else ""
    print(
        "run ratio bioattn/bare per pair"
        + ("" if timed else " (under valgrind)")
        + ": "
        + ", ".join(f"{x:.3f}" for x in ratios)
        + f"; median {med_ratio:.3f}{verdict}"
    )
    print(
        "build ratio bioattn/bare per pair: "
        + ", ".join(f"{x:.3f}" for x in build_ratios)
        + f"; median {statistics.median(build_ratios):.3f}"
    )
    for area_i, area in enumerate(("sensory", "pfc")):
        a = statistics.mean(_rates(r)[area_i] for r in results["bioattn"])
        b = statistics.mean(_rates(r)[area_i] for r in results["bare"])
        dev = abs(a - b) / max(b, 1e-12)
        print(
            f"mean E rate {area:7s}: bioattn {a:6.2f} Hz, bare {b:6.2f} Hz, "
            f"difference {dev * 100:5.1f} % ({'ok' if dev <= 0.20 else 'OUTSIDE 20 %'})"
        )
    same = all(
        a["spikes"] == b["spikes"] for a, b in zip(results["bioattn"], results["bare"], strict=True)
    )
    print(f"spike counts identical for equal seeds: {'yes' if same else 'no'}")
    same = all(
        a["spike_digest"] == b["spike_digest"]
        for a, b in zip(results["bioattn"], results["bare"], strict=True)
    )
    print(f"spike trains identical for equal seeds: {'yes' if same else 'no'}")
    lfp = ", ".join(
        f"{a['lfp_mean_nA']:.4g}/{b['lfp_mean_nA']:.4g}"
        for a, b in zip(results["bioattn"], results["bare"], strict=True)
    )
    print(f"mean sensory LFP proxy (nA) bioattn/bare per pair: {lfp}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=2, help="interleaved (bioattn, bare) pairs")
    parser.add_argument("--duration", type=float, default=1.0, help="simulated time in s")
    parser.add_argument("--scale", type=float, default=1.0, help="population scale (1 = full size)")
    parser.add_argument(
        "--seed", type=int, default=20070801, help="base seed (pair i uses seed + i)"
    )
    parser.add_argument(
        "--workdir", help="where the standalone directories go (default: a temp dir)"
    )
    parser.add_argument("--keep", action="store_true", help="keep the standalone directories")
    parser.add_argument("--json", help="also write all raw results to this JSON file")
    parser.add_argument(
        "--instructions", action="store_true",
        help="count instructions and cache misses with callgrind instead of timing",
    )  # fmt: skip
    parser.add_argument("--worker", choices=METHODS, help=argparse.SUPPRESS)
    parser.add_argument("--dir", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        worker(args)
        return
    if args.repeats < 1 or not args.duration > 0 or not args.scale > 0:
        parser.error("--repeats >= 1, --duration > 0 and --scale > 0 are required")

    root = Path(args.workdir) if args.workdir else Path(tempfile.mkdtemp(prefix="bench_network_"))
    root.mkdir(parents=True, exist_ok=True)
    results: dict[str, list[dict]] = {m: [] for m in METHODS}
    try:
        for i in range(args.repeats):
            for method in METHODS:  # interleaved: a, b, a, b, ...
                directory = root / f"{method}_{i + 1}"
                if directory.exists():
                    shutil.rmtree(directory)
                print(
                    f"[{time.strftime('%H:%M:%S')}] pair {i + 1}/{args.repeats}: {method} ...",
                    end=" ",
                    flush=True,
                )
                r = launch(method, args, args.seed + i, directory)
                print(f"build {r['build_s']:.1f} s, run {r['device_run_s']:.2f} s", flush=True)
                results[method].append(r)
                if not args.keep:
                    shutil.rmtree(directory, ignore_errors=True)
    finally:
        if not args.keep and not args.workdir:
            shutil.rmtree(root, ignore_errors=True)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
    report(results)


if __name__ == "__main__":
    main()
