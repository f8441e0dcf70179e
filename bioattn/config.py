"""Model files: TOML with units, parsed into frozen typed parameter objects.

A model file (``models/*.toml``) holds one table per part of the circuit.  Every parameter is an
inline table with its value (units as text), a one-line description and its source::

    [pfc]
    g_nmda_ee = { value = "0.732 nS", description = "recurrent NMDA onto E", source = "Ardid 2007" }

Each section maps onto a frozen dataclass whose fields declare the expected unit and sign
(:func:`param`).  Unknown sections or keys, missing keys, wrong dimensions, NaN, and negative
values where they are impossible raise :class:`~bioattn.errors.BioattnError` naming the key, the
value and what was expected.  ``--set section.key=value`` overrides are validated the same way.
"""

from __future__ import annotations

import dataclasses
import json
import math
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from brian2.units.fundamentalunits import Quantity

from bioattn.errors import BioattnError
from bioattn.units import format_quantity, parse_angle, parse_quantity, unit_of

MODELS_DIR = Path(__file__).resolve().parent.parent / "models"
DEFAULT_MODEL = "ardid2007"


def param(kind: str, *, signed: bool = False, positive: bool = False) -> Any:
    """Declare a parameter field.

    ``kind`` is a Brian2 unit name (``"nS"``; the value must have its dimensions and is shown in
    it), ``"deg"`` (an angle, stored in radians), ``"int"`` (a count ≥ 1), ``"float"`` (a
    dimensionless number), ``"floats"`` (a list of them) or ``"degs"`` (a list of angles).
    Values must be ≥ 0 unless ``signed``; > 0 if ``positive``.
    """
    return field(metadata={"kind": kind, "signed": signed, "positive": positive})


# --------------------------------------------------------------------------------------------
# Sections of a model file
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SimulationParams:
    dt: Quantity = param("ms", positive=True)
    schedule_dt: Quantity = param("ms", positive=True)
    record_dt: Quantity = param("ms", positive=True)
    kernel_tolerance: float = param("float", positive=True)


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
class SpatialCueParams:
    """Location signal (FEF / dlPFC) onto the cued PPC pool: an extra Poisson afferent rate."""

    nu_e: Quantity = param("Hz")


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


_COMMON_SECTIONS: dict[str, type] = {
    "simulation": SimulationParams,
    "cells.excitatory": CellParams,
    "cells.inhibitory": CellParams,
    "synapses": SynapseParams,
    "pfc": AreaParams,
    "topdown": ProjectionParams,
    "stimulus": StimulusParams,
    "cue": DriveParams,
    "erase": EraseParams,
}

#: The sections each circuit (``[meta] circuit``) requires, in file order.
CIRCUITS: dict[str, dict[str, type]] = {
    # Ardid, Wang & Compte 2007: one sensory ring and PFC (bioattn.circuits.network).
    "two_area": {
        **_COMMON_SECTIONS,
        "sensory": AreaParams,
        "bottomup": ProjectionParams,
    },
    # Several items: columns, PPC, pulvinar + TRN, readout (bioattn.circuits.scene).
    "multi_item": {
        **_COMMON_SECTIONS,
        "scene": SceneParams,
        "columns": AreaParams,
        "readout": AreaParams,
        "feedforward": ProjectionParams,
        "lateral": ProjectionParams,
        "ppc": PoolParams,
        "column_to_ppc": PoolInputParams,
        "spatial_cue": SpatialCueParams,
        "pulvinar": PulvinarParams,
        "trn": TRNParams,
    },
}
DEFAULT_CIRCUIT = "two_area"

#: Every section type any circuit knows.
SECTIONS: dict[str, type] = {k: v for c in CIRCUITS.values() for k, v in c.items()}

#: Protocol sections (``protocol.<name>``) register their dataclass here (see bioattn.protocols).
PROTOCOL_SECTIONS: dict[str, type] = {}
#: The circuit each protocol section belongs to.
PROTOCOL_CIRCUITS: dict[str, str] = {}


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

    def with_overrides(self, overrides: Iterable[str]) -> Model:
        """A copy with ``section.key=value`` overrides applied and validated."""
        raw = to_raw(self)
        apply_overrides(raw, overrides)
        return parse_model(raw, self.source_path)


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
        return float(raw)
    if kind in ("floats", "degs"):
        if not isinstance(raw, list) or not raw:
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
            raise BioattnError(f"{name}: missing parameter ({fld.metadata['kind']})")
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
    out = {}
    for key, value in data.items():
        name = f"{prefix}{key}"
        if name in SECTIONS or name.startswith("protocol.") or name == "meta":
            out[name] = value
        elif (
            isinstance(value, dict)
            and any(s.startswith(name + ".") for s in SECTIONS)
            or (name == "protocol" and isinstance(value, dict))
        ):
            out.update(_section_tables(value, name + "."))
        else:
            known = sorted({s.split(".")[0] for s in SECTIONS} | {"meta", "protocol"})
            raise BioattnError(f"[{name}]: unknown section; expected one of {', '.join(known)}")
    return out


def parse_model(data: Mapping[str, Any], origin: str) -> Model:
    """Validate a parsed TOML document and build the :class:`Model`."""
    _ensure_protocols_registered()
    tables = _section_tables(data)
    meta = tables.pop("meta", {})
    if not isinstance(meta, dict):
        raise BioattnError(f"[meta]: expected a table with name and description, got {meta!r}")
    circuit = meta.get("circuit", DEFAULT_CIRCUIT)
    if circuit not in CIRCUITS:
        raise BioattnError(
            f"[meta] circuit = {circuit!r}: unknown circuit; expected one of {', '.join(CIRCUITS)}"
        )
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
        circuit=str(circuit),
    )


def resolve_model_path(model: str | Path | None) -> Path:
    """A model given by name (``ardid2007``) or by path; a clear error when it does not exist."""
    if model is None:
        model = DEFAULT_MODEL
    path = Path(model)
    if path.suffix != ".toml" and not path.exists():
        path = MODELS_DIR / f"{model}.toml"
    if not path.is_file():
        names = ", ".join(sorted(p.stem for p in MODELS_DIR.glob("*.toml")))
        raise BioattnError(
            f"model file {str(model)!r} not found; expected a TOML file or one of {names}"
        )
    return path


def load_model(model: str | Path | None = None, overrides: Iterable[str] = ()) -> Model:
    """Read, validate and override a model file (a path or a name in ``models/``)."""
    path = resolve_model_path(model)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise BioattnError(f"{path}: malformed TOML ({exc})") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise BioattnError(f"{path}: cannot read the model file ({exc})") from None
    overrides = list(overrides)
    if overrides:
        apply_overrides(data, overrides)
    return parse_model(data, str(path))


# --------------------------------------------------------------------------------------------
# Overrides and round trip
# --------------------------------------------------------------------------------------------


def _parse_override_value(text: str) -> Any:
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text.strip().strip("'\"")


def apply_overrides(data: dict, overrides: Iterable[str]) -> None:
    """Apply ``section.key=value`` strings to raw TOML data in place (value: TOML or text)."""
    _ensure_protocols_registered()
    known = set(SECTIONS) | {f"protocol.{p}" for p in PROTOCOL_SECTIONS}
    for item in overrides:
        if "=" not in item:
            raise BioattnError(
                f"--set {item!r}: expected section.key=value, e.g. pfc.g_nmda_ee='0.3 nS'"
            )
        path, text = item.split("=", 1)
        section, _, key = path.strip().rpartition(".")
        if section not in known:
            raise BioattnError(
                f"--set {item!r}: unknown section {section!r}; "
                f"expected one of {', '.join(sorted(known))}"
            )
        table: dict = data
        for part in section.split("."):
            table = table.setdefault(part, {})
        cls = SECTIONS.get(section) or PROTOCOL_SECTIONS[section[len("protocol.") :]]
        names = [f.name for f in dataclasses.fields(cls)]
        if key not in names:
            raise BioattnError(
                f"--set {item!r}: unknown parameter {path!r}; expected one of {', '.join(names)}"
            )
        value = _parse_override_value(text)
        if isinstance(table.get(key), dict):
            table[key] = {**table[key], "value": value}
        else:
            table[key] = value


def _raw_value(value: Any, meta: Mapping[str, Any]) -> Any:
    kind = meta["kind"]
    if kind in ("int", "float"):
        return value
    if kind == "floats":
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
        for key, entry in table.items():
            inner = ", ".join(f"{k} = {_toml_scalar(v)}" for k, v in entry.items())
            lines.append(f"{key} = {{ {inner} }}")
    return "\n".join(lines) + "\n"


def _ensure_protocols_registered() -> None:
    """Importing the protocol package registers the ``protocol.<name>`` section types."""
    import bioattn.protocols  # noqa: F401
