"""Model files: TOML with units, parsed into frozen typed parameter objects.

A model file (``models/*.toml``, shipped inside the package as ``bioattn.models``) holds one
table per part of the circuit.  Every parameter is an inline table with its value (units as
text), a one-line description and its source::

    [pfc]
    g_nmda_ee = { value = "0.732 nS", description = "recurrent NMDA onto E", source = "Ardid 2007" }

A file may start from another one: ``[meta] extends = "ardid2007"`` takes every section of the
base model that the file's circuit has, then the file's own tables on top of them, parameter by
parameter (an entry may change only its description).  Protocol sections are never inherited.

Each section maps onto a frozen dataclass whose fields declare the expected unit and sign
(:func:`param`).  Unknown sections or keys, missing keys, wrong dimensions, NaN, and negative
values where they are impossible raise :class:`~bioattn.errors.BioattnError` naming the key, the
value and what was expected.  Typed edits (:meth:`Model.replace`) and ``--set section.key=value``
overrides are validated the same way.

This module is the bottom layer: it imports neither Brian2 nor the circuits or protocols.
Circuits and protocols declare their sections by calling :func:`register_circuit_sections` and
:func:`register_protocol_section` when they are imported; they are found through the
``bioattn.plugins`` entry point group (:func:`load_plugins`), which a third-party package can
join with its own circuits and protocols.
"""

from __future__ import annotations

import dataclasses
import importlib.metadata
import importlib.resources
import json
import math
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from bioattn.errors import BioattnError
from bioattn.units import Quantity, format_quantity, parse_angle, parse_quantity, unit_of

#: The package that holds the shipped model files (the top-level ``models/`` folder).
MODELS_PACKAGE = "bioattn.models"
DEFAULT_MODEL = "ardid2007"
DEFAULT_CIRCUIT = "two_area"
#: Entry point group whose modules register circuits and protocols when imported.
PLUGIN_GROUP = "bioattn.plugins"


def param(
    kind: str,
    *,
    signed: bool = False,
    positive: bool = False,
    structural: bool | None = None,
    choices: tuple[str, ...] = (),
    before: str | float | list | None = None,
    at_most: float | None = None,
    required: tuple[str, ...] = (),
) -> Any:
    """Declare a parameter field.

    ``kind`` is a unit name (``"nS"``; the value must have its dimensions and is shown in it),
    ``"deg"`` (an angle, stored in radians), ``"int"`` (a count ≥ 1), ``"float"`` (a
    dimensionless number), ``"floats"`` (a list of them), ``"degs"`` (a list of angles),
    ``"text"`` (one of ``choices``) or ``"texts"`` (a non-empty list of distinct ``choices``,
    among them every one of ``required``).  ``before``: the value that model files written
    before the parameter existed were run with, named in the error when it is missing.  Values
    must be ≥ 0 unless ``signed``; > 0 if ``positive``; ≤ ``at_most`` where given (``"float"``
    only).

    ``structural``: whether a change needs a new build of the network (see
    :func:`is_structural`); by default counts are structural in circuit sections, and counts,
    durations and lists (which change the trial schedule's length) in protocol sections.
    """
    if (kind in ("text", "texts")) != bool(choices):
        raise ValueError(f"param({kind!r}): choices go with, and only with, kinds text / texts")
    if kind in ("text", "texts") and (signed or positive):
        raise ValueError(f"param({kind!r}): a text parameter has no sign")
    if set(required) - set(choices) or (required and kind != "texts"):
        raise ValueError(f"param({kind!r}): required items go with kind 'texts', among choices")
    if at_most is not None and kind != "float":
        raise ValueError(f"param({kind!r}): at_most goes with kind 'float' only")
    return field(
        metadata={
            "kind": kind,
            "signed": signed,
            "positive": positive,
            "structural": structural,
            "choices": tuple(choices),
            "before": before,
            "at_most": at_most,
            "required": tuple(required),
        }
    )


#: Brian2 state updaters a model may integrate its cells with (``simulation.method``): forward
#: Euler, and the explicit midpoint (2nd order) and classic 4th-order Runge–Kutta methods.
INTEGRATION_METHODS = ("euler", "rk2", "rk4")


# --------------------------------------------------------------------------------------------
# Section types of the circuits (the circuits say which sections they use)
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SimulationParams:
    """Time steps, the integration method and numerical tolerances: all fixed when the network
    is built."""

    dt: Quantity = param("ms", positive=True, structural=True)
    method: str = param("text", choices=INTEGRATION_METHODS, before="euler")
    schedule_dt: Quantity = param("ms", positive=True, structural=True)
    record_dt: Quantity = param("ms", positive=True, structural=True)
    kernel_tolerance: float = param("float", positive=True, structural=True)


@dataclass(frozen=True)
class SharedGainParams:
    """Slow shared gain of the sensory stimulus drive (bioattn.circuits.variability):
    gain = max(0, 1 + σ ξ), ξ an Ornstein–Uhlenbeck process of unit variance and time τ."""

    tau: Quantity = param("ms", positive=True)
    sigma: float = param("float")


@dataclass(frozen=True)
class LFPParams:
    """The LFP proxy of Mazzoni et al. 2015 (reference weighted sum of the local synaptic
    currents onto pyramidal cells): LFP(t) = Σ|I_AMPA(t − τ)| − α Σ|I_GABA(t)|."""

    ampa_delay: Quantity = param("ms")
    gaba_weight: float = param("float")


@dataclass(frozen=True)
class CellParams:
    C_m: Quantity = param("nF", positive=True)
    g_L: Quantity = param("nS", positive=True)
    E_L: Quantity = param("mV", signed=True)
    V_th: Quantity = param("mV", signed=True)
    V_reset: Quantity = param("mV", signed=True)
    t_ref: Quantity = param("ms")


@dataclass(frozen=True)
class SynapseParams:
    tau_ampa: Quantity = param("ms", positive=True)
    tau_nmda_rise: Quantity = param("ms", positive=True)
    tau_nmda_decay: Quantity = param("ms", positive=True)
    alpha_nmda: Quantity = param("kHz")
    tau_gaba: Quantity = param("ms", positive=True)
    E_exc: Quantity = param("mV", signed=True)
    E_inh: Quantity = param("mV", signed=True)
    mg: Quantity = param("mM")
    mg_slope: Quantity = param("mV^-1")
    mg_scale: Quantity = param("mM", positive=True)


@dataclass(frozen=True)
class AreaParams:
    """One ring area (Compte et al. 2000 architecture): E cells on a ring plus a pool of I cells."""

    n_exc: int = param("int")
    n_inh: int = param("int")
    j_plus: float = param("float")
    sigma_ee: float = param("deg", positive=True)
    g_ampa_ee: Quantity = param("nS")
    g_nmda_ee: Quantity = param("nS")
    g_gaba_ie: Quantity = param("nS")
    g_ampa_ei: Quantity = param("nS")
    g_nmda_ei: Quantity = param("nS")
    g_gaba_ii: Quantity = param("nS")
    nu_bg: Quantity = param("kHz")
    g_ext_e: Quantity = param("nS")
    g_ext_i: Quantity = param("nS")


@dataclass(frozen=True)
class ProjectionParams:
    """A long-range AMPA projection between rings, Gaussian over the feature difference."""

    sigma: float = param("deg", positive=True)
    g_ampa_e: Quantity = param("nS")
    g_ampa_i: Quantity = param("nS")


@dataclass(frozen=True)
class DriveParams:
    """Tuned Poisson drive (stimulus or cue): ν = c·(ν_untuned + ν_max·e^{κ(cos(θ−θ_d)−1)})."""

    nu_max_e: Quantity = param("Hz")
    nu_max_i: Quantity = param("Hz")
    nu_untuned_e: Quantity = param("Hz")
    nu_untuned_i: Quantity = param("Hz")
    kappa: float = param("float")


@dataclass(frozen=True)
class StimulusParams(DriveParams):
    """The stimulus drive, whose gain follows the feedforward contrast response
    c^n (1 + c50^n) / (c^n + c50^n) (Naka–Rushton, normalised to 1 at full contrast)."""

    contrast_exponent: float = param("float", positive=True)
    contrast_c50: float = param("float", positive=True)


@dataclass(frozen=True)
class EraseParams:
    g_inh: Quantity = param("nS")


@dataclass(frozen=True)
class SceneParams:
    """The visual scene of the multi-item circuit: L retinotopic locations."""

    n_locations: int = param("int")


@dataclass(frozen=True)
class PoolParams:
    """Competing excitatory pools with shared inhibition (Wang 2002; PPC / LIP priority map)."""

    n_exc: int = param("int")
    n_inh: int = param("int")
    n_pools_ref: int = param("int")
    w_plus: float = param("float")
    g_ampa_ee: Quantity = param("nS")
    g_nmda_ee: Quantity = param("nS")
    g_gaba_ie: Quantity = param("nS")
    g_ampa_ei: Quantity = param("nS")
    g_nmda_ei: Quantity = param("nS")
    g_gaba_ii: Quantity = param("nS")
    nu_bg: Quantity = param("kHz")
    g_ext_e: Quantity = param("nS")
    g_ext_i: Quantity = param("nS")


@dataclass(frozen=True)
class PoolInputParams:
    """An untuned AMPA projection (every presynaptic cell of a block onto every cell of the
    target block), per synapse onto E and I cells of the target."""

    g_ampa_e: Quantity = param("nS")
    g_ampa_i: Quantity = param("nS")


@dataclass(frozen=True)
class FeedbackParams:
    """Direct cortical attention feedback (LIP / FEF → V4): each PPC pool onto the sensory
    column at its own location, untuned; AMPA and NMDA onto E, AMPA onto I, per synapse."""

    g_ampa_e: Quantity = param("nS")
    g_nmda_e: Quantity = param("nS")
    g_ampa_i: Quantity = param("nS")


@dataclass(frozen=True)
class SpatialCueParams:
    """Location signal (FEF / dlPFC) onto the cued PPC pool: an extra Poisson afferent rate;
    and the stabilisation of the cued column's shared gain, σ_b = σ (1 − s · cue_b)
    (bioattn.circuits.variability; Rabinowitz et al. 2015)."""

    nu_e: Quantity = param("Hz")
    stabilization: float = param("float", at_most=1.0, before=0.0)


@dataclass(frozen=True)
class PulvinarParams:
    """Pulvinar relay channels, one per location, and the gate they set on the feedforward
    transmission from each sensory column to the readout (see bioattn.circuits.scene)."""

    n_relay: int = param("int")
    nu_bg: Quantity = param("kHz")
    g_ext: Quantity = param("nS")
    g_from_ppc: Quantity = param("nS")
    g_from_column: Quantity = param("nS")
    g_from_trn: Quantity = param("nS")
    g_from_trn_other: Quantity = param("nS")
    g_muscimol: Quantity = param("nS")
    afferent_gain: float = param("float")
    gate_floor: float = param("float")
    gate_gain: float = param("float")
    gate_rate_ref: Quantity = param("Hz", positive=True)
    tau_gate: Quantity = param("ms", positive=True)


@dataclass(frozen=True)
class TRNParams:
    """Thalamic reticular nucleus sectors, one per pulvinar channel (GABAergic)."""

    n_cells: int = param("int")
    nu_bg: Quantity = param("kHz")
    g_ext: Quantity = param("nS")
    g_from_column: Quantity = param("nS")
    g_from_pfc: Quantity = param("nS")
    g_from_relay: Quantity = param("nS")


# --------------------------------------------------------------------------------------------
# Registries (filled by the circuit and protocol modules when they are imported)
# --------------------------------------------------------------------------------------------

#: The sections each circuit (``[meta] circuit``) requires, in file order.
CIRCUITS: dict[str, Mapping[str, type]] = {}
#: Protocol sections (``protocol.<name>``, underscores) and their parameter dataclass.
PROTOCOL_SECTIONS: dict[str, type] = {}
#: The circuit each protocol section belongs to.
PROTOCOL_CIRCUITS: dict[str, str] = {}

_plugins_loaded = False


def register_circuit_sections(circuit: str, sections: Mapping[str, type]) -> None:
    """Declare the sections (name → parameter dataclass) of ``circuit``, in file order."""
    CIRCUITS[circuit] = MappingProxyType(dict(sections))


def register_protocol_section(name: str, params: type, circuit: str) -> None:
    """Declare the ``[protocol.<name>]`` section of a protocol that runs on ``circuit``."""
    PROTOCOL_SECTIONS[name] = params
    PROTOCOL_CIRCUITS[name] = circuit


def load_plugins() -> None:
    """Import the modules of the ``bioattn.plugins`` entry points once (they register the
    circuits and protocols).  Without them no model can be parsed."""
    global _plugins_loaded
    if _plugins_loaded:
        return
    _plugins_loaded = True
    entry_points = importlib.metadata.entry_points(group=PLUGIN_GROUP)
    if not entry_points:
        _plugins_loaded = False
        raise BioattnError(
            "no circuits or protocols are registered (entry points 'bioattn.plugins'); "
            "expected bioattn to be installed: pip install ."
        )
    for entry_point in entry_points:
        entry_point.load()


def known_sections() -> dict[str, type]:
    """Every circuit section type of every registered circuit."""
    load_plugins()
    return {name: cls for sections in CIRCUITS.values() for name, cls in sections.items()}


# --------------------------------------------------------------------------------------------
# The model
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Model:
    """A fully parsed and validated model file."""

    name: str
    description: str
    source_path: str
    sections: Mapping[str, Any]
    docs: Mapping[str, tuple[str, str]]
    circuit: str = DEFAULT_CIRCUIT

    def __getitem__(self, section: str) -> Any:
        return self.sections[section]

    @property
    def protocols(self) -> Mapping[str, Any]:
        return {
            k[len("protocol.") :]: v for k, v in self.sections.items() if k.startswith("protocol.")
        }

    def field(self, name: str) -> dataclasses.Field:
        """The declaration of parameter ``section.key``; a clear error if there is none."""
        section, _, key = name.strip().rpartition(".")
        if section not in self.sections:
            raise BioattnError(_unknown_section_message(self, name, section))
        fields = {f.name: f for f in dataclasses.fields(self.sections[section])}
        if key not in fields:
            raise BioattnError(
                f"{name}: unknown parameter; expected one of "
                f"{', '.join(f'{section}.{k}' for k in fields)}"
            )
        return fields[key]

    def value(self, name: str) -> Any:
        """The value of parameter ``section.key``."""
        self.field(name)
        section, _, key = name.strip().rpartition(".")
        return getattr(self.sections[section], key)

    def replace(self, values: Mapping[str, Any]) -> Model:
        """A copy with parameters changed: ``{"pfc.g_nmda_ee": 0.7 * nS}``.

        Values are typed quantities (:mod:`bioattn.units` or Brian2), numbers for counts,
        dimensionless parameters and angles (in radians, as the model stores them), or text as
        in a model file (``"0.7 nS"``, ``"72 deg"``, ``"512"``); each is validated like the
        file's value.  The original is unchanged.
        """
        return self._edited(values, typed=True)

    def with_overrides(self, overrides: Iterable[str]) -> Model:
        """A copy with ``section.key=value`` overrides (``--set``) applied and validated."""
        return self._edited(parse_overrides(overrides), typed=False)

    def _edited(self, values: Mapping[str, Any], typed: bool) -> Model:
        sections = dict(self.sections)
        for name, raw in values.items():
            fld = self.field(name)
            section, _, key = name.strip().rpartition(".")
            meta = fld.metadata
            if typed and meta["kind"] == "deg" and _is_number(raw):
                raw = f"{float(raw)!r} rad"
            value = parse_value(_typed_text(raw, meta), meta, name.strip())
            sections[section] = dataclasses.replace(sections[section], **{key: value})
        return dataclasses.replace(self, sections=MappingProxyType(sections))


def _unknown_section_message(model: Model, name: str, section: str) -> str:
    load_plugins()
    if section.startswith("protocol.") and section[len("protocol.") :] in PROTOCOL_SECTIONS:
        return f"{name}: the model {model.source_path} has no [{section}] section"
    if section in known_sections():
        return f"{name}: [{section}] is not a section of circuit {model.circuit!r}"
    return (
        f"{name}: unknown section {section!r}; expected one of {', '.join(sorted(model.sections))}"
    )


def _is_number(raw: Any) -> bool:
    return isinstance(raw, int | float) and not isinstance(raw, bool)


def _typed_text(raw: Any, meta: Mapping[str, Any]) -> Any:
    """Text given for a count, number or list is read as a TOML value (``"512"`` → 512)."""
    if isinstance(raw, str) and meta["kind"] in ("int", "float", "floats", "degs", "texts"):
        return _parse_override_value(raw)
    return raw


def parse_overrides(overrides: Iterable[str]) -> dict[str, Any]:
    """``["pfc.g_nmda_ee='0.3 nS'"]`` → ``{"pfc.g_nmda_ee": "0.3 nS"}`` (values as TOML or
    text), for :meth:`Model.replace`."""
    out = {}
    for item in overrides:
        if "=" not in item:
            raise BioattnError(
                f"--set {item!r}: expected section.key=value, e.g. pfc.g_nmda_ee='0.3 nS'"
            )
        name, text = item.split("=", 1)
        out[name.strip()] = _parse_override_value(text)
    return out


def override_text(model: Model, name: str) -> str:
    """``name=value`` for parameter ``name`` of ``model``, written as ``--set`` (and
    :meth:`Model.with_overrides`) reads it back: the model file's text of the value (units,
    degrees) as a TOML literal (``protocol.x.states=["intact", "inactivated"]``)."""
    section, _, key = name.strip().rpartition(".")
    raw = _raw_value(getattr(model[section], key), model.field(name).metadata)
    return f"{name.strip()}={json.dumps(raw, ensure_ascii=False)}"


def is_structural(model: Model, name: str) -> bool:
    """Whether changing parameter ``name`` needs a new build of the network.

    Population sizes and other counts, text choices (the integration method), the simulation's
    time steps and (in protocol sections) durations and lists change the network or the length
    of its schedule.  Everything else —
    conductances, rates, time constants, stimulus and cue values — is a run-time value of an
    already built network.  A kernel width that changes the number of Fourier harmonics also
    changes the structure; the engine notices that itself (see bioattn.engine).
    """
    meta = model.field(name).metadata
    if meta["structural"] is not None:
        return bool(meta["structural"])
    if name.startswith("protocol."):
        return meta["kind"] in ("int", "s", "floats", "degs", "text", "texts")
    return meta["kind"] in ("int", "text", "texts")


# --------------------------------------------------------------------------------------------
# Parsing
# --------------------------------------------------------------------------------------------


def _check_sign(name: str, raw: object, number: float, meta: Mapping[str, Any], what: str) -> None:
    if math.isnan(number):
        raise BioattnError(f"{name} = {raw!r}: expected {what}, not NaN")
    if meta["positive"] and not number > 0:
        raise BioattnError(f"{name} = {raw!r}: expected a positive {what}")
    if not meta["signed"] and number < 0:
        raise BioattnError(f"{name} = {raw!r}: expected a non-negative {what}")


def parse_value(raw: object, meta: Mapping[str, Any], name: str) -> Any:
    """Parse one parameter value according to its field declaration."""
    kind = meta["kind"]
    if kind == "text":
        if not isinstance(raw, str) or raw not in meta["choices"]:
            raise BioattnError(f"{name} = {raw!r}: expected one of {', '.join(meta['choices'])}")
        return raw
    if kind == "texts":
        items = raw if isinstance(raw, list | tuple) else None
        if not items or not all(isinstance(x, str) and x in meta["choices"] for x in items):
            raise BioattnError(
                f"{name} = {raw!r}: expected a non-empty list of {', '.join(meta['choices'])}"
            )
        if len(set(items)) < len(items):
            raise BioattnError(f"{name} = {raw!r}: expected each of its items once")
        missing = [x for x in meta.get("required", ()) if x not in items]
        if missing:
            expected = ", ".join(map(repr, missing))
            raise BioattnError(f"{name} = {raw!r}: expected {expected} among them")
        return tuple(items)
    if kind == "int":
        if isinstance(raw, bool) or not isinstance(raw, int):
            raise BioattnError(f"{name} = {raw!r}: expected a whole number")
        if raw < 1:
            raise BioattnError(f"{name} = {raw!r}: expected a whole number >= 1")
        return raw
    if kind == "float":
        if isinstance(raw, bool) or not isinstance(raw, int | float):
            raise BioattnError(f"{name} = {raw!r}: expected a dimensionless number")
        _check_sign(name, raw, float(raw), meta, "number")
        if math.isinf(raw):
            raise BioattnError(f"{name} = {raw!r}: expected a finite number")
        if meta.get("at_most") is not None and raw > meta["at_most"]:
            raise BioattnError(f"{name} = {raw!r}: expected a number <= {meta['at_most']:g}")
        return float(raw)
    if kind in ("floats", "degs"):
        if not isinstance(raw, list | tuple) or not raw:
            raise BioattnError(f"{name} = {raw!r}: expected a non-empty list")
        item_meta = {**meta, "kind": "float" if kind == "floats" else "deg"}
        return tuple(parse_value(item, item_meta, f"{name}[{i}]") for i, item in enumerate(raw))
    if kind == "deg":
        angle = parse_angle(raw, name)
        _check_sign(name, raw, angle, meta, "angle")
        return angle
    unit = unit_of(kind)
    value = parse_quantity(raw, unit, name, kind)
    _check_sign(name, raw, float(value / unit), meta, f"quantity in {kind}")
    return value


def _expected(meta: Mapping[str, Any]) -> str:
    """What a missing parameter should be: its unit or kind, or a text parameter's choices (and
    the value files written before it existed ran with)."""
    before = (
        f"; files written before it existed ran with {meta['before']!r}"
        if meta["before"] is not None
        else ""
    )
    if meta["kind"] == "texts":
        return f"a list of {', '.join(meta['choices'])}{before}"
    if meta["kind"] != "text":
        return f"{meta['kind']}{before}"
    return f"one of {', '.join(meta['choices'])}{before}"


def _parse_section(section: str, cls: type, table: object) -> tuple[Any, dict]:
    if not isinstance(table, dict):
        raise BioattnError(f"[{section}]: expected a table of parameters, got {table!r}")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    for key in table:
        if key not in fields:
            raise BioattnError(
                f"{section}.{key}: unknown parameter; expected one of {', '.join(fields)}"
            )
    values, docs = {}, {}
    for key, fld in fields.items():
        name = f"{section}.{key}"
        if key not in table:
            raise BioattnError(f"{name}: missing parameter ({_expected(fld.metadata)})")
        entry = table[key]
        if isinstance(entry, dict):
            unknown = set(entry) - {"value", "description", "source"}
            if unknown or "value" not in entry:
                raise BioattnError(
                    f"{name}: expected {{ value = ..., description = ..., source = ... }}, "
                    f"got keys {sorted(entry)}"
                )
            docs[name] = (str(entry.get("description", "")), str(entry.get("source", "")))
            entry = entry["value"]
        values[key] = parse_value(entry, fld.metadata, name)
    return cls(**values), docs


def _section_tables(data: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Flatten nested TOML tables into ``{"cells.excitatory": {...}}`` by known section names."""
    sections = known_sections()
    out = {}
    for key, value in data.items():
        name = f"{prefix}{key}"
        if name in sections and isinstance(value, dict):
            # A section's subtables that are sections themselves ([neuromod.ach.muscarinic]
            # inside [neuromod.ach]) are sections of their own.
            nested = {
                k: v
                for k, v in value.items()
                if isinstance(v, dict)
                and any(s == f"{name}.{k}" or s.startswith(f"{name}.{k}.") for s in sections)
                and "value" not in v
            }
            out[name] = {k: v for k, v in value.items() if k not in nested}
            out.update(_section_tables(nested, name + "."))
        elif name in sections or name.startswith("protocol.") or name == "meta":
            out[name] = value
        elif (
            isinstance(value, dict)
            and any(s.startswith(name + ".") for s in sections)
            or (name == "protocol" and isinstance(value, dict))
        ):
            out.update(_section_tables(value, name + "."))
        else:
            known = sorted({s.split(".")[0] for s in sections} | {"meta", "protocol"})
            raise BioattnError(f"[{name}]: unknown section; expected one of {', '.join(known)}")
    return out


def _meta_table(data: Mapping[str, Any]) -> dict:
    meta = data.get("meta", {})
    if not isinstance(meta, dict):
        raise BioattnError(f"[meta]: expected a table with name and description, got {meta!r}")
    return meta


def _circuit_of(meta: Mapping[str, Any]) -> str:
    circuit = meta.get("circuit", DEFAULT_CIRCUIT)
    load_plugins()
    if circuit not in CIRCUITS:
        raise BioattnError(
            f"[meta] circuit = {circuit!r}: unknown circuit; expected one of {', '.join(CIRCUITS)}"
        )
    return str(circuit)


def parse_model(data: Mapping[str, Any], origin: str) -> Model:
    """Validate a parsed TOML document and build the :class:`Model`."""
    tables = _section_tables(data)
    meta = tables.pop("meta", None)
    meta = _meta_table({"meta": {} if meta is None else meta})
    circuit = _circuit_of(meta)
    sections, docs = {}, {}
    for section, cls in CIRCUITS[circuit].items():
        if section not in tables:
            raise BioattnError(f"{origin}: missing section [{section}] (circuit {circuit})")
        sections[section], section_docs = _parse_section(section, cls, tables.pop(section))
        docs.update(section_docs)
    for section, table in tables.items():
        name = section[len("protocol.") :]
        if not section.startswith("protocol."):
            raise BioattnError(
                f"[{section}]: not a section of circuit {circuit!r}; expected one of "
                f"{', '.join(CIRCUITS[circuit])}"
            )
        if name not in PROTOCOL_SECTIONS:
            raise BioattnError(
                f"[{section}]: unknown protocol section; expected one of "
                f"{', '.join('protocol.' + p for p in PROTOCOL_SECTIONS)}"
            )
        if PROTOCOL_CIRCUITS.get(name, circuit) != circuit:
            raise BioattnError(
                f"[{section}]: protocol of the {PROTOCOL_CIRCUITS[name]!r} circuit, "
                f"but this model's circuit is {circuit!r}"
            )
        sections[section], section_docs = _parse_section(section, PROTOCOL_SECTIONS[name], table)
        docs.update(section_docs)
    return Model(
        name=str(meta.get("name", Path(origin).stem)),
        description=str(meta.get("description", "")),
        source_path=origin,
        sections=MappingProxyType(sections),
        docs=MappingProxyType(docs),
        circuit=circuit,
    )


# --------------------------------------------------------------------------------------------
# Finding and reading model files
# --------------------------------------------------------------------------------------------


def models_dir() -> Path:
    """The directory of the shipped model files, installed editable or not."""
    try:
        return Path(str(importlib.resources.files(MODELS_PACKAGE)))
    except ModuleNotFoundError:  # a source checkout used without installing it
        return Path(__file__).resolve().parent.parent / "models"


def model_names() -> list[str]:
    """Names of the shipped model files (``ardid2007``, ``multi_item``)."""
    return sorted(p.stem for p in models_dir().glob("*.toml"))


def resolve_model_path(model: str | Path | None, relative_to: Path | None = None) -> Path:
    """A model given by name (``ardid2007``) or by path; a clear error when it does not exist.

    A relative path is looked up from ``relative_to`` (the extending file's folder) first."""
    if model is None:
        model = DEFAULT_MODEL
    path = Path(model)
    if relative_to is not None and not path.is_absolute() and (relative_to / path).is_file():
        path = relative_to / path
    if path.suffix != ".toml" and not path.exists():
        path = models_dir() / f"{model}.toml"
    if not path.is_file():
        raise BioattnError(
            f"model file {str(model)!r} not found; expected a TOML file or one of "
            f"{', '.join(model_names())}"
        )
    return path


def read_toml(path: Path, what: str = "model file") -> dict:
    """A TOML file's data; a one-line error naming the ``what`` at ``path`` if it is malformed
    or unreadable."""
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise BioattnError(f"{what} {path}: malformed TOML ({exc})") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise BioattnError(f"{what} {path}: cannot read it ({exc})") from None


def _resolve_extends(data: dict, path: Path, chain: tuple[Path, ...] = ()) -> dict:
    """The document with its ``[meta] extends`` base merged in (see the module docstring)."""
    meta = _meta_table(data)
    base_name = meta.get("extends")
    if base_name is None:
        return data
    if not isinstance(base_name, str):
        raise BioattnError(f"{path}: [meta] extends = {base_name!r}: expected a model name")
    base_path = resolve_model_path(base_name, relative_to=path.parent)
    if base_path.resolve() in chain or base_path.resolve() == path.resolve():
        raise BioattnError(f"{path}: [meta] extends {base_name!r} in a cycle")
    base = _resolve_extends(read_toml(base_path), base_path, (*chain, path.resolve()))
    circuit_sections = CIRCUITS[_circuit_of(meta)]
    merged: dict[str, Any] = {
        name: dict(table)
        for name, table in _section_tables(base).items()
        if name in circuit_sections and isinstance(table, dict)
    }
    for name, table in _section_tables(data).items():
        if name == "meta":
            continue
        if name in merged and isinstance(table, dict):
            for key, entry in table.items():
                old = merged[name].get(key)
                both = isinstance(old, dict) and isinstance(entry, dict)
                merged[name][key] = {**old, **entry} if both else entry
        else:
            merged[name] = table
    merged["meta"] = {k: v for k, v in meta.items() if k != "extends"}
    return merged


def load_model(model: str | Path | None = None, overrides: Iterable[str] = ()) -> Model:
    """Read, validate and override a model file (a path or the name of a shipped model)."""
    path = resolve_model_path(model)
    parsed = parse_model(_resolve_extends(read_toml(path), path), str(path))
    overrides = list(overrides)
    return parsed.with_overrides(overrides) if overrides else parsed


# --------------------------------------------------------------------------------------------
# Round trip
# --------------------------------------------------------------------------------------------


def _parse_override_value(text: str) -> Any:
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text.strip().strip("'\"")


def _raw_value(value: Any, meta: Mapping[str, Any]) -> Any:
    kind = meta["kind"]
    if kind in ("int", "float", "text"):
        return value
    if kind in ("floats", "texts"):
        return list(value)
    if kind == "deg":
        return f"{math.degrees(value)!r} deg"
    if kind == "degs":
        return [f"{math.degrees(v)!r} deg" for v in value]
    return format_quantity(value, kind)


def to_raw(model: Model) -> dict:
    """The model as nested TOML data (values as text with units, with descriptions and sources)."""
    data: dict = {
        "meta": {"name": model.name, "description": model.description, "circuit": model.circuit}
    }
    for section, obj in model.sections.items():
        table: dict = data
        for part in section.split("."):
            table = table.setdefault(part, {})
        for fld in dataclasses.fields(obj):
            description, source = model.docs.get(f"{section}.{fld.name}", ("", ""))
            table[fld.name] = {
                "value": _raw_value(getattr(obj, fld.name), fld.metadata),
                "description": description,
                "source": source,
            }
    return data


def parameter_rows(model: Model) -> list[tuple[str, str, str, str]]:
    """``(section.key, value as text, description, source)`` for every parameter, in file order.

    Values are written as in :func:`to_toml` (``"0.732 nS"``, ``"72.0 deg"``, ``"1024"``).
    """
    rows = []
    for section, obj in model.sections.items():
        for fld in dataclasses.fields(obj):
            name = f"{section}.{fld.name}"
            value = _raw_value(getattr(obj, fld.name), fld.metadata)
            text = "[" + ", ".join(map(str, value)) + "]" if isinstance(value, list) else str(value)
            description, source = model.docs.get(name, ("", ""))
            rows.append((name, text, description, source))
    return rows


def _toml_scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml_scalar(v) for v in value) + "]"
    # JSON string escapes are valid TOML basic-string escapes (newlines, quotes, controls).
    return json.dumps(str(value), ensure_ascii=False).replace("\x7f", "\\u007f")


def to_toml(model: Model) -> str:
    """The fully resolved model as TOML text that :func:`load_model` reads back equal."""
    data = to_raw(model)
    lines = ["# Fully resolved bioattn model (every parameter, after overrides).", "[meta]"]
    lines += [f"{k} = {_toml_scalar(v)}" for k, v in data["meta"].items()]
    for section in model.sections:
        table = data
        for part in section.split("."):
            table = table[part]
        lines += ["", f"[{section}]"]
        fields = {f.name for f in dataclasses.fields(model.sections[section])}
        for key, entry in table.items():
            if key not in fields:  # a nested section ([neuromod.ach.muscarinic]), written later
                continue
            inner = ", ".join(f"{k} = {_toml_scalar(v)}" for k, v in entry.items())
            lines.append(f"{key} = {{ {inner} }}")
    return "\n".join(lines) + "\n"
