r"""``bioattn fit RUN_DIR``: how well, and where, softmax attention describes a circuit run.

``RUN_DIR`` may also be a sweep of one parameter (:mod:`bioattn.fit.sweep_levels`): the main
fits then use its reference level and item 4 and L4 run over the swept levels — the map from
a neuromodulator level to the attention layer's parameters.

For a run of a multi-item protocol (:mod:`bioattn.fit.circuit` turns it into trials), every
analysis below is one call of :mod:`bioattn.fit.evaluate`:

1. **Model comparison** — all rival models (:data:`~bioattn.fit.models.MODELS`; on
   ``two-streams`` also two-head attention, :class:`~bioattn.fit.heads.MultiHeadSoftmax`):
   5-fold cross-validated log-likelihood in bits per spike above Uniform with 95 % paired
   bootstrap intervals over trials, AIC and BIC.
2. **Ground truth** — each model's weights w_ti, normalised over the present items
   (w_ti / Σ_j w_tj: the mixture's gain g absorbs their sum), against the charge shares the
   columns delivered to the readout, on trials with ≥ 2 items: R² = 1 − Σ(w − w*)² / Σ(w* − w̄*)²
   and Spearman's ρ.
3. **Recovery** — model recovery (confusion matrix, BIC) with counts simulated from every
   fitted model on the run's own trial design, and softmax parameter recovery (refit inside
   bootstrap intervals).
4. **Circuit parameter → attention parameter** — one softmax fit (with sink) per level of each
   manipulation the run holds (cue strength, contrast, pulvinar intact/inactivated, lateral
   connections on/off), with the feature query at unit length so that the cue strength must
   show up in a fitted parameter; where the query is a feature, also one
   :class:`~bioattn.fit.precision.KeyPrecisionAttention` fit per level, for the key precision κ
   (which the bilinear softmax folds into β).
5. **Verdict ladder** L1–L4 (:func:`~bioattn.fit.evaluate.verdict_ladder`; L2 against the
   ground-truth weights where there are some; L4 on the protocol's main manipulation).
6. **Mixing vs transformation** (:func:`bioattn.mixing.decompose`, noise-corrected for Poisson
   counts) of the readout's single-trial responses, beside the two numpy controls; and again
   of (r − b)/g with the fitted softmax's shared baseline b and gain g removed
   (``mixing_fraction_affine``): a response b + g·(convex mixture) is an attention output with
   a constant offset and scale, which the strict convex measure counts as "linear".
7. **Attention form** — ``masked-attention``: the causal fit against the non-causal one out of
   sample; ``self-attention``: each column queried by its own item.
"""

from __future__ import annotations

import time
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr
from scipy.stats import spearmanr

from bioattn import mixing
from bioattn.errors import BioattnError
from bioattn.fit import circuit, sweep_levels
from bioattn.fit.bootstrap import bootstrap_ci, clone
from bioattn.fit.compare import cross_validated_log_likelihood
from bioattn.fit.evaluate import (
    compare_models,
    fit_by_level,
    model_recovery,
    parameter_recovery,
    recovery_accuracy,
    verdict_ladder,
)
from bioattn.fit.heads import MultiHeadSoftmax
from bioattn.fit.likelihood import LIKELIHOODS
from bioattn.fit.models import MODELS, SoftmaxAttention, Uniform
from bioattn.fit.precision import KeyPrecisionAttention

__all__ = ["FitOptions", "FitReport", "fit_run", "FIT_PROTOCOLS", "FIT_FILE"]

#: The dataset file of a fit directory.
FIT_FILE = "fit.nc"

#: Protocols with an attention fit, and the form of attention each is fitted with.
FIT_PROTOCOLS = {
    "visual-search": "cross",
    "cross-attention": "cross",
    "biased-competition": "cross",
    "pulvinar-inactivation": "cross",
    "two-streams": "multi-head",
    "self-attention": "self",
    "masked-attention": "masked",
}
# Protocols whose runs hold no single-item trials: their readout templates come from another run.
_NEEDS_TEMPLATES = ("pulvinar-inactivation", "two-streams")
# Level labels, as written in fit.nc and summary.json, with the unit of their values.
_LEVEL_UNITS = {
    "cue_strength": "query gain (1)",
    "contrast": "contrast (1)",
    "pulvinar_inactivated": "0 intact, 1 inactivated",
    "lateral_connections": "0 off, 1 on",
}
_CONTROL_SEEDS = (0, 1)  # rngs of the two numpy mixing controls
_FEATURE_DIMS = ("feature_cos", "feature_sin")


@dataclass(frozen=True)
class FitOptions:
    """Settings of one fit run (written to provenance.json)."""

    n_bins: int = circuit.DEFAULT_BINS
    n_folds: int = 5
    n_boot: int = 50  # bootstrap resamples of β and of parameter recovery
    n_level_boot: int = 20  # per level of a manipulation
    n_recovery: int = 2  # simulated data sets per model in model recovery
    n_ci: int = 2000  # paired bootstrap resamples of the bits-per-spike intervals
    random_state: int = 0
    likelihood: str = "poisson"  # or "negbin": one fitted dispersion per model

    def __post_init__(self) -> None:
        for name in ("n_bins", "n_folds", "n_boot", "n_level_boot", "n_recovery", "n_ci"):
            value = getattr(self, name)
            minimum = 2 if name in ("n_folds", "n_boot", "n_level_boot", "n_ci") else 1
            if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
                raise BioattnError(f"{name} must be a whole number >= {minimum}, got {value!r}")
        if self.likelihood not in LIKELIHOODS:
            raise BioattnError(f"likelihood must be one of {LIKELIHOODS}, got {self.likelihood!r}")


@dataclass
class Analysis:
    """What one protocol gives the fits: the main trials, the manipulations, the form."""

    protocol: str
    form: str
    main: circuit.CircuitFitData
    levels: dict[str, circuit.CircuitFitData] = field(default_factory=dict)
    primary_level: str | None = None
    extra_models: dict[str, Any] = field(default_factory=dict)
    non_causal: circuit.CircuitFitData | None = None
    template_source: str = "run"
    level_units: dict[str, str] = field(default_factory=dict)  # beside _LEVEL_UNITS
    sweep: dict[str, Any] | None = None  # a sweep's levels (sweep_levels.describe)


@dataclass
class FitReport:
    dataset: xr.Dataset
    summary: dict[str, Any]
    figures: dict[str, Any]
    config_toml: str


def _say(progress: bool, message: str, start: float) -> None:
    if progress:
        print(f"[{time.perf_counter() - start:6.1f} s] {message}", flush=True)


# --------------------------------------------------------------------------------------------
# reading the run
# --------------------------------------------------------------------------------------------


def _load(run_dir: Path) -> tuple[xr.Dataset, str]:
    from bioattn.results import CONFIG_FILE, load_result

    dataset, _, provenance = load_result(run_dir)
    protocol = str(dataset.attrs.get("protocol", provenance.get("protocol", "")))
    if protocol not in FIT_PROTOCOLS:
        raise BioattnError(
            f"run {run_dir} is of protocol {protocol!r}, which has no attention fit; expected a "
            f"run of one of {sorted(FIT_PROTOCOLS)}"
        )
    config_path = run_dir / CONFIG_FILE
    if not config_path.is_file():
        raise BioattnError(
            f"run {run_dir} lacks {CONFIG_FILE}; expected a bioattn result directory"
        )
    return dataset, config_path.read_text(encoding="utf-8")


def _templates(ds: xr.Dataset, protocol: str, templates_dir: Path | None, model: str):
    if templates_dir is None:
        if protocol in _NEEDS_TEMPLATES:
            raise BioattnError(
                f"a {protocol} run has no single-item trials; pass --templates DIR, a "
                "visual-search run of the same model, to measure the readout's item templates"
            )
        return circuit.readout_templates(ds), "run"
    other, _ = _load(templates_dir)
    if other.attrs.get("model") != model:
        raise BioattnError(
            f"--templates {templates_dir} is a run of model {other.attrs.get('model')!r}; "
            f"expected the fitted run's model {model!r}"
        )
    if other.sizes.get("readout_cell") != ds.sizes.get("readout_cell"):
        raise BioattnError(
            f"--templates {templates_dir} has {other.sizes.get('readout_cell')} readout cells; "
            f"expected {ds.sizes.get('readout_cell')} as in the fitted run"
        )
    return circuit.readout_templates(other), str(templates_dir)


def _masked_window(config_toml: str) -> float:
    from bioattn.config import parse_model
    from bioattn.protocols import common

    try:
        model = parse_model(tomllib.loads(config_toml), "config.toml")
    except tomllib.TOMLDecodeError as error:
        raise BioattnError(f"the run's config.toml is malformed ({error})") from error
    p = common.protocol_params(model, "masked-attention")
    return float(p.t_step - p.analysis_offset)


def _two_conditions(
    protocol: str, parts: list[circuit.CircuitFitData], main: int, label: str, source: str
) -> Analysis:
    """A run of two conditions (levels 0 and 1 of ``label``): the main fits on ``parts[main]``,
    the per-level fits on both."""
    both = circuit.concatenate(parts, label, [0.0, 1.0])
    return Analysis(
        protocol,
        FIT_PROTOCOLS[protocol],
        parts[main],
        levels={label: both},
        primary_level=label,
        template_source=source,
    )


def _analysis(
    ds: xr.Dataset, config_toml: str, templates_dir: Path | None, n_bins: int
) -> Analysis:
    protocol = str(ds.attrs["protocol"])
    form = FIT_PROTOCOLS[protocol]
    model = str(ds.attrs.get("model", ""))
    if protocol == "masked-attention":
        window = _masked_window(config_toml)
        return Analysis(
            protocol,
            form,
            circuit.masked_attention_data(ds, window, causal=True, n_bins=n_bins),
            non_causal=circuit.masked_attention_data(ds, window, causal=False, n_bins=n_bins),
            template_source="readout_template",
        )
    if protocol == "self-attention":
        parts = [circuit.self_attention_data(ds, c, n_bins) for c in ("none", "lateral")]
        return _two_conditions(protocol, parts, 1, "lateral_connections", "column_template")
    if protocol == "pulvinar-inactivation":
        ran = [str(x) for x in ds["state"].values] if "state" in ds.coords else []
        if "state" in ds.coords and "inactivated" not in ran:
            raise BioattnError(
                f"this pulvinar-inactivation run holds the states {ran}; the fit compares "
                "intact and inactivated: run with 'inactivated' in "
                "protocol.pulvinar_inactivation.states"
            )
    templates, source = _templates(ds, protocol, templates_dir, model)
    if protocol == "pulvinar-inactivation":
        parts = [
            circuit.scene_data(ds, templates, f"_{s}", n_bins) for s in ("intact", "inactivated")
        ]
        return _two_conditions(protocol, parts, 0, "pulvinar_inactivated", source)
    # Trials that measured the templates are not fitted again.
    set_size = ds["set_size"].values
    trials = np.flatnonzero(set_size > 1) if source == "run" else np.arange(set_size.size)
    main = circuit.scene_data(ds, templates, n_bins=n_bins, trials=trials)
    analysis = Analysis(protocol, form, main, template_source=source)
    unit = circuit.scene_data(ds, templates, n_bins=n_bins, trials=trials, query_gain=False)
    for label, key in (("cue_strength", "query_gain"), ("contrast", "contrast")):
        if np.unique(main.labels[key]).size > 1 and "feature_cos" in main.query_features:
            levelled = circuit.CircuitFitData(
                unit.X,
                unit.counts,
                unit.ground_truth,
                unit.query_features,
                unit.key_features,
                {**unit.labels, label: main.labels[key]},
            )
            analysis.levels[label] = levelled
            analysis.primary_level = analysis.primary_level or label
    if form == "multi-head":
        q, k = list(main.query_features), list(main.key_features)
        heads = []
        for prefix in ("location_", "feature_"):
            dims = [i for i, name in enumerate(q) if name.startswith(prefix)]
            if dims:
                heads.append((dims, [k.index(q[i]) for i in dims]))
        if len(heads) == 2:
            analysis.extra_models["two_heads"] = MultiHeadSoftmax(heads=heads)
    return analysis


#: Protocols whose sweeps ``bioattn fit SWEEP_DIR`` fits level by level (one scene layout).
SWEEP_PROTOCOLS = ("visual-search", "cross-attention", "biased-competition")


def _sweep_analysis(path: Path, templates_dir: Path | None, n_bins: int) -> tuple[Analysis, str]:
    """A one-parameter sweep (:mod:`bioattn.fit.sweep_levels`) as one manipulation: the main
    fits on the reference level (all levels with ``--templates``), one fit per level."""
    sweep = sweep_levels.read_sweep(path, needs_reference=templates_dir is None)
    protocol = sweep.protocol
    if protocol not in SWEEP_PROTOCOLS:
        raise BioattnError(
            f"sweep {path} is of protocol {protocol!r}; a fit per level reads sweeps of one of "
            f"{list(SWEEP_PROTOCOLS)}"
        )
    first = sweep.points[0]
    if templates_dir is None:
        templates, source = (
            sweep_levels.level_templates(sweep),
            (f"sweep level {sweep.reference:g} {sweep.unit}"),
        )
    else:
        templates, source = _templates(first.dataset, protocol, templates_dir, sweep.model)
    label = sweep.parameter.replace(".", "_")

    def level_data(level: float, query_gain: bool) -> circuit.CircuitFitData:
        points = [p for p in sweep.points if p.level == level]
        parts = [
            circuit.scene_data(
                p.dataset, templates, n_bins=n_bins, query_gain=query_gain,
                trials=np.flatnonzero(p.dataset["set_size"].values > 1),
            )
            for p in points
        ]  # fmt: skip
        return circuit.concatenate(parts, "sweep_seed", [p.seed for p in points])

    # Per level, unit-length feature queries (as for a run's own manipulations): the key
    # precision model normalises the query, so the cue strength must not favour the softmax.
    levelled = circuit.concatenate(
        [level_data(level, query_gain=False) for level in sweep.levels], label, sweep.levels
    )
    reference = [p for p in sweep.points if p.level == sweep.reference]
    main = level_data(sweep.reference, True) if reference else levelled
    analysis = Analysis(
        protocol,
        FIT_PROTOCOLS[protocol],
        main,
        levels={label: levelled},
        primary_level=label,
        template_source=source,
        level_units={label: f"{sweep.parameter} ({sweep.unit})"},
        sweep=sweep_levels.describe(sweep),
    )
    return analysis, (reference or [first])[0].config_toml


# --------------------------------------------------------------------------------------------
# the analyses
# --------------------------------------------------------------------------------------------


def _bits_intervals(
    comparison: xr.Dataset, counts: np.ndarray, n_ci: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """95 % paired bootstrap intervals (over trials) of each model's held-out bits/spike."""
    per_trial = comparison["cv_trial_log_likelihood"].values  # (model, trial)
    reference = per_trial[list(comparison["model"].values).index("uniform")]
    spikes = counts.sum(axis=1)
    n = spikes.size
    draws = rng.integers(0, n, size=(n_ci, n))
    gain = (per_trial - reference)[:, draws].sum(axis=2)  # (model, n_ci)
    bits = gain / (spikes[draws].sum(axis=1) * np.log(2.0))
    return np.percentile(bits, 2.5, axis=1), np.percentile(bits, 97.5, axis=1)


def _difference_ci(
    first: np.ndarray, second: np.ndarray, counts: np.ndarray, n_ci: int, rng: np.random.Generator
) -> tuple[float, list[float]]:
    """Held-out bits/spike of ``first`` over ``second`` (per-trial log-likelihoods, same trials)
    and its 95 % paired bootstrap interval over trials."""
    spikes = counts.sum(axis=1)
    gain = first - second
    draws = rng.integers(0, gain.size, size=(n_ci, gain.size))
    bits = gain[draws].sum(axis=1) / (spikes[draws].sum(axis=1) * np.log(2.0))
    point = float(gain.sum() / (spikes.sum() * np.log(2.0)))
    return point, [float(np.percentile(bits, 2.5)), float(np.percentile(bits, 97.5))]


def _weight_agreement(weights: np.ndarray, truth: np.ndarray, mask: np.ndarray) -> dict:
    """R² and Spearman ρ of normalised model weights against the charge shares, items of
    trials with ≥ 2 items."""
    multi = mask & (mask.sum(axis=1, keepdims=True) > 1)
    total = weights.sum(axis=1, keepdims=True)
    normalised = np.divide(weights, total, out=np.zeros_like(weights), where=total > 0)
    w, t = normalised[multi], truth[multi]
    spread = float(np.sum((t - t.mean()) ** 2))
    r2 = 1.0 - float(np.sum((w - t) ** 2)) / spread if spread > 0 else float("nan")
    rho = float(spearmanr(w, t)[0]) if np.ptp(w) > 0 else float("nan")
    return {"r2": r2, "spearman": rho}


def _mixing(
    data: circuit.CircuitFitData, baseline: float = 0.0, gain: float = 1.0
) -> mixing.MixingDecomposition:
    """Decomposition of the single-trial rates (r − b)/g, Poisson noise-corrected; b = 0, g = 1
    gives the raw rates, a fitted model's baseline and gain the rates as the mixture
    r = b + g Σ w v sees them."""
    duration = data.X.duration
    rates = (data.counts / duration - baseline) / gain
    noise = data.counts.sum(axis=1) / duration**2 / gain**2  # Poisson: Var(y/T) = λ/T²
    return mixing.decompose(rates, data.X.values, data.X.mask, noise_variance=noise)


def _controls() -> dict[str, dict[str, float]]:
    soft = mixing.decompose(*mixing.attention_control(np.random.default_rng(_CONTROL_SEEDS[0])))
    mlp = mixing.decompose(*mixing.mlp_control(np.random.default_rng(_CONTROL_SEEDS[1])))
    return {"softmax_control": soft.as_dict(), "mlp_control": mlp.as_dict()}


def _level_fits(
    analysis: Analysis, options: FitOptions
) -> tuple[dict[str, xr.Dataset], dict[str, Any]]:
    def by_level(model: type, data: circuit.CircuitFitData, label: str) -> xr.Dataset:
        estimator = model(
            sink=True, random_state=options.random_state, likelihood=options.likelihood
        )
        return fit_by_level(
            data.X,
            data.counts,
            data.labels[label],
            estimator,
            n_boot=options.n_level_boot,
            random_state=options.random_state,
        )

    fits, summary = {}, {}
    for label, data in analysis.levels.items():
        per_level = by_level(SoftmaxAttention, data, label)
        fits[label] = per_level
        summary[label] = {
            "unit": analysis.level_units.get(label) or _LEVEL_UNITS[label],
            "levels": [float(v) for v in per_level["level"].values],
            **{
                name: [float(v) for v in per_level[name].values]
                for name in ("beta", "beta_ci_low", "beta_ci_high", "sink", "gain", "baseline")
                if name in per_level
            },
        }
        if data.query_features == data.key_features == _FEATURE_DIMS:
            # A feature query against feature keys: key precision κ is identifiable.
            precision = by_level(KeyPrecisionAttention, data, label)
            fits[f"{label}__key_precision"] = precision
            summary[label]["key_precision_model"] = {
                name: [float(v) for v in precision[name].values]
                for name in ("kappa", "kappa_ci_low", "kappa_ci_high", "beta", "sink", "gain")
            }
    return fits, summary


def _level4_summary(level4: dict | None) -> dict | None:
    if level4 is None:
        return None
    precision = level4.get("key_precision")
    return {
        "holds": level4["holds"],
        "parameter": level4["parameter"],
        "equivalent": level4["equivalent"],
        "bic_excess": level4["bic_excess"],
        "values": [float(v) for v in level4["restricted"][level4["parameter"]]["values"]],
        "bic_by_parameter": {
            name: float(entry["bic"] - level4["free_bic"])
            for name, entry in level4["restricted"].items()
        },
        "key_precision": None
        if precision is None
        else {
            "kappa_values": [float(v) for v in precision["kappa"]["values"]],
            "log_likelihood_over_beta": float(precision["log_likelihood_over_beta"]),
            "distinct": precision["distinct"],
        },
    }


def _comparison_models(analysis: Analysis, options: FitOptions) -> dict[str, Any]:
    models: dict[str, Any] = {
        name: cls(random_state=options.random_state, likelihood=options.likelihood)
        for name, cls in MODELS.items()
    }
    for name, model in analysis.extra_models.items():
        models[name] = clone(model).set_params(
            random_state=options.random_state, likelihood=options.likelihood
        )
    return models


def _causal_comparison(
    analysis: Analysis, options: FitOptions, rng: np.random.Generator
) -> dict[str, Any]:
    """Held-out bits/spike of softmax with the causal mask and without it, over Uniform on the
    causal trials (same folds), and the causal fit's advantage with its 95 % interval."""
    causal, full = analysis.main, analysis.non_causal
    args = (options.n_folds, options.random_state)
    uniform = Uniform(likelihood=options.likelihood)
    reference = cross_validated_log_likelihood(
        uniform, causal.X, causal.counts, *args, per_trial=True
    )
    out: dict[str, Any] = {}
    per_trial = {}
    for name, data in (("causal", causal), ("non_causal", full)):
        model = SoftmaxAttention(random_state=options.random_state, likelihood=options.likelihood)
        per_trial[name] = cross_validated_log_likelihood(
            model, data.X, data.counts, *args, per_trial=True
        )
        out[f"{name}_bits_per_spike"], _ = _difference_ci(
            per_trial[name], reference, causal.counts, options.n_ci, rng
        )
    out["causal_advantage_bits_per_spike"], out["causal_advantage_ci"] = _difference_ci(
        per_trial["causal"], per_trial["non_causal"], causal.counts, options.n_ci, rng
    )
    return out


def fit_run(
    run_dir: Path,
    *,
    templates_dir: Path | None = None,
    options: FitOptions | None = None,
    progress: bool = True,
) -> FitReport:
    """Every analysis of the module docstring on one run (or one-parameter sweep directory);
    returns the dataset, summary and figures of the fit directory."""
    from bioattn.fit import figures

    options = options or FitOptions()
    start = time.perf_counter()
    run_dir = Path(run_dir)
    if sweep_levels.is_sweep_dir(run_dir):
        analysis, config_toml = _sweep_analysis(run_dir, templates_dir, options.n_bins)
    else:
        ds, config_toml = _load(run_dir)
        analysis = _analysis(ds, config_toml, templates_dir, options.n_bins)
    main = analysis.main
    X, y = main.X, main.counts
    rng = np.random.default_rng(options.random_state)
    _say(progress, f"{analysis.protocol}: {X.n_trials} trials, {X.n_items} item slots, "
         f"{X.n_out} readout bins; comparing models", start)  # fmt: skip

    models = _comparison_models(analysis, options)
    fitted: dict[str, Any] = {}
    comparison = compare_models(X, y, models, options.n_folds, options.random_state, fitted)
    low, high = _bits_intervals(comparison, y, options.n_ci, rng)
    names = list(comparison["model"].values)
    weights = np.stack([fitted[name].weights(X) for name in names], axis=-1)
    softmax = fitted["softmax"]

    _say(progress, "bootstrap, recovery", start)
    beta_ci = bootstrap_ci(
        softmax, X, y, n_boot=options.n_boot, random_state=options.random_state, params=["beta_"]
    )["beta_"]
    recovery_set = {name: fitted[name] for name in MODELS}
    confusion = model_recovery(X, recovery_set, rng, n_datasets=options.n_recovery)
    recovered = parameter_recovery(softmax, X, rng, n_boot=options.n_boot)

    agreement = {}
    if main.ground_truth is not None:
        agreement = {
            name: _weight_agreement(weights[..., k], main.ground_truth, X.mask)
            for k, name in enumerate(names)
        }

    _say(progress, f"fits per level: {list(analysis.levels) or 'none'}", start)
    level_fits, level_summary = _level_fits(analysis, options)
    per_level = level_data = None
    key_precision = False
    if analysis.primary_level is not None:
        per_level = level_fits[analysis.primary_level]
        levelled = analysis.levels[analysis.primary_level]
        level_data = (levelled.X, levelled.counts)
        # Sweeps only: a run's own manipulations keep the L4 of the softmax family alone.
        features = levelled.query_features == levelled.key_features == _FEATURE_DIMS
        key_precision = analysis.sweep is not None and features
    use_truth = main.ground_truth is not None and X.d_q == X.d_k
    verdict = verdict_ladder(
        X,
        y,
        comparison,
        softmax,
        ground_truth_weights=main.ground_truth if use_truth else None,
        per_level=per_level,
        level_data=level_data,
        key_precision=key_precision,
    )

    _say(progress, "mixing vs transformation", start)
    parts = _mixing(main)
    affine = _mixing(main, softmax.baseline_, softmax.gain_)
    controls = _controls()
    extra: dict[str, Any] = {}
    if analysis.non_causal is not None:
        extra["causal"] = _causal_comparison(analysis, options, rng)
    if "two_heads" in fitted:
        heads = fitted["two_heads"]
        extra["heads"] = {
            "one_head_bits_per_spike": float(comparison["cv_bits_per_spike"].sel(model="softmax")),
            "two_heads_bits_per_spike": float(
                comparison["cv_bits_per_spike"].sel(model="two_heads")
            ),
            "two_heads_advantage_ci": _difference_ci(
                comparison["cv_trial_log_likelihood"].sel(model="two_heads").values,
                comparison["cv_trial_log_likelihood"].sel(model="softmax").values,
                y,
                options.n_ci,
                rng,
            )[1],
            "head_betas": [float(v) for v in heads.head_betas_],
            "head_shares": [float(v) for v in heads.head_shares_],
            "head_names": ["spatial", "feature"],
        }

    bits = comparison["cv_bits_per_spike"]
    summary: dict[str, Any] = {
        "protocol": analysis.protocol,
        "attention_form": analysis.form,
        "n_trials": int(X.n_trials),
        "n_bins": int(X.n_out),
        "likelihood": options.likelihood,
        "query_features": list(main.query_features),
        "key_features": list(main.key_features),
        "template_source": analysis.template_source,
        "cv_bits_per_spike": {name: float(bits.sel(model=name)) for name in names},
        "cv_bits_per_spike_ci": {
            name: [float(low[k]), float(high[k])] for k, name in enumerate(names)
        },
        "best_model": str(comparison.attrs["best_model"]),
        "beta": float(softmax.beta_),
        "beta_ci": [float(beta_ci[0]), float(beta_ci[1])],
        "weight_r2_softmax": agreement.get("softmax", {}).get("r2", float("nan")),
        "weight_agreement": agreement,
        "verdict_level": int(verdict["verdict_level"]),
        "verdict": {
            "L1_weights_compete": verdict["L1"]["holds"],
            # Sum-to-one is only distinguishable from a free gain when the set size varies.
            "L1_testable": bool(np.unique(X.set_size).size > 1),
            "L2_weights_follow_match": verdict["L2"]["holds"],
            "L2_spearman": verdict["L2"]["spearman_rho"],
            "L2_weights": verdict["L2"]["weights"],
            "L3_softmax_best": verdict["L3"]["holds"],
            "L3_margin_nats": verdict["L3"]["margin"],
            "L3_best_rival": verdict["L3"]["best_rival"],
            "L4": _level4_summary(verdict["L4"]),
            "L4_manipulation": analysis.primary_level,
        },
        **parts.as_dict(),
        "mixing_fraction_affine": affine.mixing_fraction,
        "linear_fraction_affine": affine.linear_fraction,
        "mixing_controls": controls,
        "model_recovery_accuracy": recovery_accuracy(confusion),
        "parameter_recovery": {
            name: entry for name, entry in recovered.items() if isinstance(entry, dict)
        }
        | {"M_cosine": recovered["M_cosine"]},
        "attention_map": level_summary,
        **({"sweep": analysis.sweep} if analysis.sweep is not None else {}),
        **extra,
    }
    dataset = _dataset(comparison, low, high, weights, main, confusion, level_fits, summary)
    _say(progress, "figures", start)
    figs = figures.fit_figures(dataset, summary)
    summary["wall_time_s"] = time.perf_counter() - start
    return FitReport(dataset, summary, figs, config_toml)


def _dataset(
    comparison: xr.Dataset,
    low: np.ndarray,
    high: np.ndarray,
    weights: np.ndarray,
    main: circuit.CircuitFitData,
    confusion: xr.DataArray,
    level_fits: dict[str, xr.Dataset],
    summary: dict[str, Any],
) -> xr.Dataset:
    """fit.nc: the comparison (model, fold, fit_trial), weights, ground truth, recovery and
    one block of variables per manipulation (dimension ``<label>_level``)."""
    data = comparison.rename({"trial": "fit_trial"})
    data["cv_bits_ci_low"] = ("model", low, {"units": "bits/spike"})
    data["cv_bits_ci_high"] = ("model", high, {"units": "bits/spike"})
    data["weights"] = (("fit_trial", "item", "model"), weights, {"units": "1"})
    data["mask"] = (("fit_trial", "item"), main.X.mask.astype(np.int8))
    data["counts"] = (("fit_trial", "bin"), main.counts.astype(np.int32), {"units": "spikes"})
    data["values"] = (("fit_trial", "item", "bin"), main.X.values, {"units": "Hz"})
    if main.ground_truth is not None:
        data["ground_truth_weights"] = (
            ("fit_trial", "item"),
            main.ground_truth,
            {"units": "1", "note": "share of the feedforward charge onto the readout"},
        )
    for name, value in main.labels.items():
        data[f"label_{name}"] = ("fit_trial", np.asarray(value, dtype=float))
    data["confusion"] = confusion.rename({"true": "true_model", "chosen": "chosen_model"})
    for label, per_level in level_fits.items():
        dim = f"{label.split('__')[0]}_level"  # key-precision fits share their manipulation's
        block = per_level.drop_vars("trial_level").rename({"level": dim})
        for name, variable in block.data_vars.items():
            data[f"{label}__{name}"] = variable
    data.attrs = {
        "protocol": summary["protocol"],
        "best_model": summary["best_model"],
        "verdict_level": summary["verdict_level"],
        "mixing_fraction": summary["mixing_fraction"],
        "linear_fraction": summary["linear_fraction"],
        "duration_s": float(main.X.duration),
    }
    return data
