"""The machinery shared by the attention models: parameters, design, likelihood, fitting.

:class:`MixtureModel` implements the scikit-learn interface, the mixture rate
r_t = b + g Σ_i w_ti v_ti, the count likelihood with its analytic gradient and the multi-start
L-BFGS-B fit; a model (in :mod:`bioattn.fit.models`) only supplies its weights w, their
vector–Jacobian product and its parameters. The optimiser works on one unconstrained vector;
:class:`Layout` maps it to named, constrained values (softplus or exp for positive ones).
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.optimize import minimize
from scipy.special import expit, gammaln
from threadpoolctl import threadpool_limits

from bioattn.errors import BioattnError
from bioattn.fit.data import TrialSet, check_counts
from bioattn.fit.likelihood import LIKELIHOODS, LOG_DISPERSION_BOUNDS, count_log_pmf

__all__ = ["MixtureModel"]

# Bounds on the unconstrained parameters: wide enough never to bind on sensible data, narrow
# enough that exp/softplus cannot overflow and a rate never reaches exactly 0.
MATRIX_BOUND = 50.0
LOGIT_BOUND = 30.0
SOFTPLUS_BOUNDS = (-30.0, None)
LOG_SIGMA_BOUNDS = (-12.0, 6.0)

# Multi-start: every start gets _SCREEN_ITER L-BFGS-B iterations, the best _N_POLISHED then run
# to convergence.
_SCREEN_ITER = 15
_N_POLISHED = 2


def _number(what: str, name: str, value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError) as error:
        raise BioattnError(f"{what} {name} must be a number, got {value!r}") from error


def dot(a: np.ndarray, b: np.ndarray) -> float:
    """Σ a ⊙ b without BLAS: on few cores OpenBLAS's worker threads, woken by a large ddot or
    gemv, keep spinning and starve L-BFGS-B (measured: fits 7x slower on 2 cores)."""
    return float(np.einsum("i,i->", a.ravel(), b.ravel()))


# --------------------------------------------------------------------------------------------
# parameter layout: named, constrained values <-> one unconstrained vector for the optimiser
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Param:
    """One named parameter block and the map from its unconstrained value u.

    transform: "identity" (x = u), "softplus" (x = scale·log(1 + e^u)), "softplus1"
    (x = 1 + log(1 + e^u)) or "exp" (x = e^u).
    """

    name: str
    shape: tuple[int, ...]
    transform: str = "identity"
    bounds: tuple[float | None, float | None] = (None, None)
    scale: float = 1.0

    @property
    def size(self) -> int:
        return int(np.prod(self.shape, dtype=int))

    def forward(self, raw: np.ndarray) -> tuple[np.ndarray, np.ndarray | float]:
        if self.transform == "identity":
            return raw, 1.0
        if self.transform == "exp":
            value = np.exp(raw)
            return value, value
        softplus = np.logaddexp(0.0, raw)
        slope = expit(raw)
        if self.transform == "softplus":
            return self.scale * softplus, self.scale * slope
        return 1.0 + softplus, slope  # softplus1

    def inverse(self, value: np.ndarray) -> np.ndarray:
        value = np.asarray(value, dtype=float)
        if self.transform == "identity":
            raw = value
        elif self.transform == "exp":
            raw = np.log(np.maximum(value, 1e-300))
        else:
            x = value / self.scale if self.transform == "softplus" else value - 1.0
            x = np.maximum(x, 1e-13)
            raw = x + np.log(-np.expm1(-x))
        low, high = self.bounds
        return np.clip(raw, -np.inf if low is None else low, np.inf if high is None else high)


class Layout:
    """Packs named parameter blocks into the optimiser's flat vector and back."""

    def __init__(self, params: list[Param]):
        self.params = params
        self.size = sum(p.size for p in params)

    def unpack(self, raw: np.ndarray) -> tuple[dict[str, Any], dict[str, Any]]:
        values, slopes, start = {}, {}, 0
        for p in self.params:
            block = raw[start : start + p.size].reshape(p.shape)
            start += p.size
            value, slope = p.forward(block)
            values[p.name] = float(value) if p.shape == () else value
            slopes[p.name] = slope
        return values, slopes

    def pack(self, values: dict[str, Any]) -> np.ndarray:
        return np.concatenate([np.ravel(p.inverse(values[p.name])) for p in self.params])

    def pack_gradient(self, grads: dict[str, Any], slopes: dict[str, Any]) -> np.ndarray:
        return np.concatenate(
            [np.ravel(np.asarray(grads[p.name]) * slopes[p.name]) for p in self.params]
        )

    def bounds(self) -> list[tuple[float | None, float | None]]:
        return [p.bounds for p in self.params for _ in range(p.size)]


# --------------------------------------------------------------------------------------------
# the design: what the models read, precomputed once per data set
# --------------------------------------------------------------------------------------------


class Design:
    """Arrays derived from a :class:`TrialSet` (and counts) that every evaluation reuses."""

    def __init__(self, X: TrialSet, y: np.ndarray | None = None):
        self.X = X
        self.n_trials, self.n_items = X.n_trials, X.n_items
        self.mask = X.mask
        self.values = X.values
        self.duration = X.duration
        # The bilinear score s_ti = q_tᵀ A k_ti = Σ_ab A_ab q_ta k_tib is one matrix product
        # with these (n_trials·n_items, d_q·d_k) outer-product features.
        self.features = (X.query[:, None, :, None] * X.keys[:, :, None, :]).reshape(
            X.n_trials * X.n_items, X.d_q * X.d_k
        )
        self.driven = X.mask & (X.drive > 0)
        self.log_drive = np.log(np.where(self.driven, X.drive, 1.0))
        self.set_size = X.mask.sum(axis=1)
        self.value_sums = X.values.sum(axis=2)
        self.y = y
        if y is not None:
            self.log_y_factorial = gammaln(y + 1.0)
            self.rate_scale = max(float(y.mean()) / X.duration, 1e-3)
            mean_value = float(X.values[X.mask].mean())
            self.gain_scale = self.rate_scale / mean_value if mean_value > 0 else 1.0

    def scores(self, matrix: np.ndarray) -> np.ndarray:
        return np.einsum("nf,f->n", self.features, matrix.ravel()).reshape(
            self.n_trials, self.n_items
        )

    def score_vjp(self, grad_scores: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
        return np.einsum("n,nf->f", grad_scores.reshape(-1), self.features).reshape(shape)

    def mix(self, weights: np.ndarray) -> np.ndarray:
        """Σ_i w_ti v_ti, shape (n_trials, n_out)."""
        return np.einsum("ti,tio->to", weights, self.values)


# --------------------------------------------------------------------------------------------
# the base estimator
# --------------------------------------------------------------------------------------------


class MixtureModel:
    r"""Base class: r_t = b + g Σ_i w_ti v_ti with model-specific weights w.

    Parameters
    ----------
    n_starts : int
        Number of L-BFGS-B starts: the first deterministic (a sensible guess, or ``init``), the
        rest drawn from ``np.random.default_rng(random_state)``; baseline and gain of each start
        come from a least-squares fit of the rates given its weights. Every start runs 15
        iterations; the two best then run to convergence and the better is kept (most starts
        reach the same optimum, so this keeps the protection of many starts at a fraction of
        the cost).
    random_state : int or None
        Seed of the random starts.
    likelihood : {"poisson", "negbin"}
        Spike-count distribution; "negbin" fits one dispersion α (variance λ + αλ²).
    max_iter : int
        Iteration limit of each L-BFGS-B run.

    Fitted attributes
    -----------------
    baseline_ (Hz), gain_, dispersion_ (negbin only), the model's own parameters (``beta_``,
    ``M_``, ...), ``params_`` (all of them as a dict, the form :meth:`set_fitted` and
    ``fit(init=...)`` take), ``n_params_`` (free parameters, for AIC/BIC),
    ``log_likelihood_`` (training log-likelihood) and ``converged_``.
    """

    #: Name of the match-score strength (β or a) for models with a bilinear score, else None.
    _strength: str | None = None

    def __init__(
        self,
        n_starts: int = 8,
        random_state: int | None = 0,
        likelihood: str = "poisson",
        max_iter: int = 1000,
    ):
        self.n_starts = n_starts
        self.random_state = random_state
        self.likelihood = likelihood
        self.max_iter = max_iter

    # ---------------------------------------------------------------- scikit-learn interface

    @classmethod
    def _param_names(cls) -> list[str]:
        signature = inspect.signature(cls.__init__)
        return [name for name in signature.parameters if name != "self"]

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """The constructor's hyper-parameters (``deep`` is accepted for scikit-learn)."""
        return {name: getattr(self, name) for name in self._param_names()}

    def set_params(self, **params: Any) -> MixtureModel:
        valid = self._param_names()
        for name, value in params.items():
            if name not in valid:
                raise BioattnError(
                    f"{name!r} is not a parameter of {type(self).__name__}; expected one of {valid}"
                )
            setattr(self, name, value)
        return self

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({args})"

    # ---------------------------------------------------------------- model-specific parts

    def _model_params(self, d_q: int, d_k: int, n_items: int) -> list[Param]:
        """The weight parameters (without baseline, gain, dispersion)."""
        return []

    def _initial(self, design: Design, rng: np.random.Generator | None) -> dict[str, Any]:
        """Starting weight parameters: deterministic when rng is None, else random."""
        return {}

    def _weights(self, P: dict[str, Any], design: Design) -> tuple[np.ndarray, Any]:
        """w (n_trials, n_items) and whatever the VJP needs."""
        raise NotImplementedError

    def _weights_vjp(
        self, P: dict[str, Any], design: Design, cache: Any, grad_weights: np.ndarray
    ) -> dict[str, Any]:
        """∂L/∂(weight parameters) from ∂L/∂w."""
        return {}

    def _public_extra(self, P: dict[str, Any]) -> dict[str, Any]:
        """Model parameters other than A, in their public form."""
        return {name: P[name] for name in P if name not in ("baseline", "gain", "dispersion", "A")}

    def _internal_extra(self, public: dict[str, Any]) -> dict[str, Any]:
        return {}

    def _extra_names(self) -> list[str]:
        return []

    # ---------------------------------------------------------------- parameter handling

    def _check_hyper_parameters(self) -> None:
        n_starts = self.n_starts
        if isinstance(n_starts, bool) or not isinstance(n_starts, int | np.integer) or n_starts < 1:
            raise BioattnError(f"n_starts must be an int >= 1, got {n_starts!r}")
        if self.likelihood not in LIKELIHOODS:
            raise BioattnError(f"likelihood must be one of {LIKELIHOODS}, got {self.likelihood!r}")
        max_iter = self.max_iter
        if isinstance(max_iter, bool) or not isinstance(max_iter, int | np.integer) or max_iter < 1:
            raise BioattnError(f"max_iter must be an int >= 1, got {max_iter!r}")

    def _layout(self, d_q: int, d_k: int, n_items: int, design: Design | None) -> Layout:
        rate_scale = design.rate_scale if design is not None else 1.0
        gain_scale = design.gain_scale if design is not None else 1.0
        params = [
            Param("baseline", (), "softplus", SOFTPLUS_BOUNDS, rate_scale),
            Param("gain", (), "softplus", SOFTPLUS_BOUNDS, gain_scale),
        ]
        if self.likelihood == "negbin":
            params.append(Param("dispersion", (), "exp", LOG_DISPERSION_BOUNDS))
        return Layout(params + self._model_params(d_q, d_k, n_items))

    def _public_names(self) -> list[str]:
        names = ["baseline", "gain"]
        if self.likelihood == "negbin":
            names.append("dispersion")
        if self._strength is not None:
            names += [self._strength, "M"]
        return names + self._extra_names()

    def _to_public(self, P: dict[str, Any]) -> dict[str, Any]:
        public = {"baseline": float(P["baseline"]), "gain": float(P["gain"])}
        if "dispersion" in P:
            public["dispersion"] = float(P["dispersion"])
        if self._strength is not None:
            matrix = np.asarray(P["A"], dtype=float)
            strength = float(np.linalg.norm(matrix))
            public[self._strength] = strength
            public["M"] = matrix / strength if strength > 0 else np.zeros_like(matrix)
        public.update(self._public_extra(P))
        return public

    def _to_internal(self, public: dict[str, Any], what: str) -> dict[str, Any]:
        names = self._public_names()
        unknown = sorted(set(public) - set(names))
        missing = [name for name in names if name not in public]
        if unknown or missing:
            raise BioattnError(
                f"{what} of {type(self).__name__}(likelihood={self.likelihood!r}) must name "
                f"exactly {names}, got unknown {unknown} and missing {missing}"
            )
        P: dict[str, Any] = {}
        for name in ("baseline", "gain"):
            value = _number(what, name, public[name])
            if not np.isfinite(value) or value < 0:
                raise BioattnError(f"{what} {name} must be a finite number >= 0, got {value!r}")
            P[name] = value
        if "dispersion" in public:
            value = _number(what, "dispersion", public["dispersion"])
            if not np.isfinite(value) or value <= 0:
                raise BioattnError(f"{what} dispersion must be a finite number > 0, got {value!r}")
            P["dispersion"] = value
        if self._strength is not None:
            strength = _number(what, self._strength, public[self._strength])
            if not np.isfinite(strength) or strength < 0:
                raise BioattnError(
                    f"{what} {self._strength} must be a finite number >= 0, got {strength!r}"
                )
            try:
                matrix = np.array(public["M"], dtype=float)
            except (TypeError, ValueError) as error:
                raise BioattnError(f"{what} M must be a (d_q, d_k) matrix of numbers") from error
            if matrix.ndim != 2 or not np.all(np.isfinite(matrix)):
                raise BioattnError(
                    f"{what} M must be a finite (d_q, d_k) matrix, got shape {matrix.shape}"
                )
            norm = float(np.linalg.norm(matrix))
            if strength > 0 and abs(norm - 1.0) > 1e-6:
                raise BioattnError(
                    f"{what} M must have unit Frobenius norm (the strength "
                    f"{self._strength} carries the scale), got norm {norm!r}"
                )
            P["A"] = strength * matrix
        P.update(self._internal_extra(public))
        return P

    def _set_state(self, P: dict[str, Any], n_items: int | None) -> None:
        self._fitted = P
        d_q, d_k = P["A"].shape if "A" in P else (0, 0)
        self._dims = (d_q, d_k, n_items)
        layout = self._layout(max(d_q, 1), max(d_k, 1), n_items or 1, None)
        self.n_params_ = layout.size
        self.params_ = self._to_public(P)
        for name, value in self.params_.items():
            setattr(self, f"{name}_", value)

    def set_fitted(self, **params: Any) -> MixtureModel:
        """Set the fitted parameters directly (e.g. to simulate from known values).

        Takes the public names of :attr:`params_`: ``baseline`` (Hz), ``gain``, ``dispersion``
        (negbin), and the model's own (e.g. ``beta`` and a unit-norm ``M`` for
        :class:`SoftmaxAttention`). Returns ``self``.
        """
        self._check_hyper_parameters()
        P = self._to_internal(params, "set_fitted()")
        self._set_state(P, self._n_items_of(P))
        self.log_likelihood_ = None
        self.converged_ = None
        return self

    def _n_items_of(self, P: dict[str, Any]) -> int | None:
        return None

    def _check_fitted(self) -> None:
        if not hasattr(self, "_fitted"):
            raise BioattnError(
                f"{type(self).__name__} is not fitted: call fit(X, y) or set_fitted(...) first"
            )

    def _design(self, X: TrialSet, y: Any = None, as_fitted: bool = True) -> Design:
        """Validated design of X (and y); ``as_fitted`` checks X against the fitted shapes."""
        name = "X"
        if not isinstance(X, TrialSet):
            raise BioattnError(f"{name} must be a TrialSet, got {type(X).__name__}")
        counts = None if y is None else check_counts(X, y)
        if as_fitted and hasattr(self, "_dims"):
            d_q, d_k, n_items = self._dims
            if self._strength is not None and (X.d_q, X.d_k) != (d_q, d_k):
                raise BioattnError(
                    f"{name} must have query/key features (d_q, d_k) = ({d_q}, {d_k}) as fitted, "
                    f"got ({X.d_q}, {X.d_k})"
                )
            if n_items is not None and X.n_items != n_items:
                raise BioattnError(
                    f"{name} must have n_items = {n_items} as fitted (one bias per item slot), "
                    f"got {X.n_items}"
                )
        return Design(X, counts)

    # ---------------------------------------------------------------- likelihood and gradient

    def _nll(
        self, P: dict[str, Any], design: Design, need_grad: bool = True
    ) -> tuple[float, dict[str, Any] | None]:
        """Negative log-likelihood (total, nats) and its gradient w.r.t. the named values."""
        weights, cache = self._weights(P, design)
        mix = design.mix(weights)
        lam = (P["baseline"] + P["gain"] * mix) * design.duration
        log_dispersion = np.log(P["dispersion"]) if "dispersion" in P else None
        log_p, d_lam, d_log_dispersion = count_log_pmf(
            design.y, lam, design.log_y_factorial, log_dispersion, need_grad
        )
        nll = -float(log_p.sum())
        if not need_grad:
            return nll, None
        grad_rate = -design.duration * d_lam
        grads = {"baseline": grad_rate.sum(), "gain": dot(grad_rate, mix)}
        if log_dispersion is not None:
            grads["dispersion"] = -d_log_dispersion.sum() / P["dispersion"]
        grad_weights = P["gain"] * np.einsum("tio,to->ti", design.values, grad_rate)
        grads.update(self._weights_vjp(P, design, cache, grad_weights))
        return nll, grads

    def _objective(self, layout: Layout, design: Design):
        """f(u) -> (mean NLL per trial, gradient) on the unconstrained vector u."""
        n_trials = design.n_trials

        def objective(raw: np.ndarray) -> tuple[float, np.ndarray]:
            P, slopes = layout.unpack(raw)
            nll, grads = self._nll(P, design)
            return nll / n_trials, layout.pack_gradient(grads, slopes) / n_trials

        return objective

    # ---------------------------------------------------------------- fitting

    def _complete_start(self, P: dict[str, Any], design: Design) -> dict[str, Any]:
        """Baseline, gain (and dispersion) for given weight parameters, by least squares of the
        observed rates on Σ_i w_ti v_ti and a moment estimate of α."""
        weights, _ = self._weights(P, design)
        mix = design.mix(weights)
        rate = design.y / design.duration
        spread = mix.var()
        gain = float(np.mean((mix - mix.mean()) * (rate - rate.mean())) / spread) if spread else 0
        floor = 0.05 * design.rate_scale
        gain = max(gain, floor / max(float(mix.mean()), 1e-9))
        baseline = max(float(rate.mean() - gain * mix.mean()), floor)
        P = {**P, "baseline": baseline, "gain": gain}
        if self.likelihood == "negbin":
            lam = (baseline + gain * mix) * design.duration
            excess = np.mean((design.y - lam) ** 2 - lam) / np.mean(lam**2)
            low, high = np.exp(LOG_DISPERSION_BOUNDS)
            P["dispersion"] = float(np.clip(excess, max(low, 1e-3), high))
        return P

    def fit(self, X: TrialSet, y: Any, init: dict[str, Any] | None = None) -> MixtureModel:
        """Maximum-likelihood fit; returns ``self``.

        Parameters
        ----------
        X : TrialSet
        y : array (n_trials, n_out)
            Spike counts of the readout neurons in the counting window.
        init : dict, optional
            Parameters in the form of a fitted model's :attr:`params_` (e.g. the full-data fit,
            to warm-start bootstrap refits); replaces the deterministic first start.
        """
        self._check_hyper_parameters()
        design = self._design(X, y, as_fitted=False)
        layout = self._layout(X.d_q, X.d_k, X.n_items, design)
        rng = np.random.default_rng(self.random_state)

        starts = []
        if init is not None:
            P0 = self._to_internal(dict(init), "init")
            self._check_start_shapes(P0, X)
            starts.append(P0)
        else:
            starts.append(self._complete_start(self._initial(design, None), design))
        # Without weight parameters (Uniform) every start would be the same.
        n_random = int(self.n_starts) - 1 if self._model_params(X.d_q, X.d_k, X.n_items) else 0
        for _ in range(n_random):
            starts.append(self._complete_start(self._initial(design, rng), design))

        objective = self._objective(layout, design)
        bounds = layout.bounds()

        def run(x0: np.ndarray, max_iter: int):
            return minimize(
                objective,
                x0,
                jac=True,
                method="L-BFGS-B",
                bounds=bounds,
                options={"maxiter": max_iter},
            )

        # L-BFGS-B's tiny BLAS calls wake OpenBLAS's worker threads, which then spin against
        # the objective's numpy work: a fit ran 7-10x slower on 2 cores (4.9 s vs 0.7 s).
        with threadpool_limits(limits=1, user_api="blas"):
            # Screen every start with a few iterations, then run the most promising ones to
            # convergence: most starts reach the same optimum, so this keeps the protection of
            # multiple starts at a fraction of their cost.
            screen_iter = min(_SCREEN_ITER, int(self.max_iter))
            screened = [run(layout.pack(start), screen_iter) for start in starts]
            order = sorted(
                range(len(starts)),
                key=lambda k: screened[k].fun if np.isfinite(screened[k].fun) else np.inf,
            )
            finished = []
            for k in order[:_N_POLISHED]:
                result = screened[k]
                if result.status == 1:  # stopped by the iteration limit
                    result = run(result.x, int(self.max_iter))
                finished.append(result)
        finite = [result for result in finished if np.isfinite(result.fun)]
        if not finite:
            raise BioattnError(
                f"{type(self).__name__}.fit found no finite likelihood from {len(starts)} starts; "
                "check y against X"
            )
        best = min(finite, key=lambda result: result.fun)
        P, _ = layout.unpack(best.x)
        self._set_state(P, self._n_items_of(P))
        self.log_likelihood_ = -best.fun * design.n_trials
        self.converged_ = bool(best.success)
        return self

    def _check_start_shapes(self, P: dict[str, Any], X: TrialSet) -> None:
        if "A" in P and P["A"].shape != (X.d_q, X.d_k):
            raise BioattnError(
                f"init M must have shape (d_q, d_k) = ({X.d_q}, {X.d_k}), got {P['A'].shape}"
            )
        n_items = self._n_items_of(P)
        if n_items is not None and n_items != X.n_items:
            raise BioattnError(
                f"init bias must have one entry per item slot ({X.n_items}), got {n_items}"
            )

    # ---------------------------------------------------------------- predictions

    def weights(self, X: TrialSet) -> np.ndarray:
        """Expected weights w_ti, shape (n_trials, n_items); 0 for absent items."""
        self._check_fitted()
        weights, _ = self._weights(self._fitted, self._design(X))
        return weights

    def predict(self, X: TrialSet) -> np.ndarray:
        """Expected rates r_t = b + g Σ_i w_ti v_ti in Hz, shape (n_trials, n_out)."""
        self._check_fitted()
        design = self._design(X)
        weights, _ = self._weights(self._fitted, design)
        return self._fitted["baseline"] + self._fitted["gain"] * design.mix(weights)

    def log_likelihood(self, X: TrialSet, y: Any) -> float:
        """Total log-likelihood of the counts y (natural log, including −log y!)."""
        self._check_fitted()
        nll, _ = self._nll(self._fitted, self._design(X, y), need_grad=False)
        return -nll

    def _trial_log_likelihood(self, P: dict[str, Any], design: Design) -> np.ndarray:
        weights, _ = self._weights(P, design)
        lam = (P["baseline"] + P["gain"] * design.mix(weights)) * design.duration
        log_dispersion = np.log(P["dispersion"]) if "dispersion" in P else None
        log_p, _, _ = count_log_pmf(
            design.y, lam, design.log_y_factorial, log_dispersion, need_grad=False
        )
        return log_p.sum(axis=1)

    def trial_log_likelihood(self, X: TrialSet, y: Any) -> np.ndarray:
        """Log-likelihood of each trial's counts, shape (n_trials,); sums to
        :meth:`log_likelihood`."""
        self._check_fitted()
        return self._trial_log_likelihood(self._fitted, self._design(X, y))

    def score(self, X: TrialSet, y: Any) -> float:
        """Mean log-likelihood per trial (nats)."""
        return self.log_likelihood(X, y) / X.n_trials
