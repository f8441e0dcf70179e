r"""Spike-count log-likelihoods and their derivatives, element-wise.

Poisson with mean λ:

.. math::  \log P(y \mid \lambda) = y \log\lambda - \lambda - \log y!

Negative binomial with mean λ and dispersion α (variance λ + α λ², size κ = 1/α; α → 0 is
Poisson):

.. math::

    \log P(y \mid \lambda, \alpha) = \log\Gamma(y+\kappa) - \log\Gamma(\kappa) - \log y!
        - \kappa \log(1 + \lambda/\kappa) + y \log\frac{\lambda}{\kappa + \lambda}

Both include log y!, so log-likelihoods of different models (and of the two families) are
directly comparable.
"""

from __future__ import annotations

import numpy as np
from scipy.special import digamma, gammaln, xlogy

__all__ = ["LIKELIHOODS", "count_log_pmf", "LOG_DISPERSION_BOUNDS"]

LIKELIHOODS = ("poisson", "negbin")

# κ = 1/α ≤ e^10 keeps lgamma(y + κ) − lgamma(κ) accurate to ~1e-10 (lgamma(2e4) ≈ 2e5); at
# α = e^-10 the negative binomial is Poisson for every practical purpose.
LOG_DISPERSION_BOUNDS = (-10.0, 5.0)


def count_log_pmf(
    y: np.ndarray,
    lam: np.ndarray,
    log_y_factorial: np.ndarray,
    log_dispersion: float | None = None,
    need_grad: bool = True,
) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
    """Element-wise log P(y | λ) and its derivatives.

    Parameters
    ----------
    y, lam, log_y_factorial
        Counts, expected counts (> 0) and log y! (= gammaln(y + 1)), broadcastable.
    log_dispersion
        log α for the negative binomial; None for Poisson.
    need_grad
        Skip the derivatives (returned as None) when only the value is needed.

    Returns
    -------
    (log_p, d log_p / dλ, d log_p / d log α)
        The last is None for Poisson.
    """
    if log_dispersion is None:
        # xlogy: a zero rate (baseline 0 and no drive) with y = 0 has probability 1, not NaN.
        log_p = xlogy(y, lam) - lam - log_y_factorial
        if not need_grad:
            return log_p, None, None
        return log_p, y / lam - 1.0, None
    kappa = np.exp(-log_dispersion)
    kappa_lam = kappa + lam
    log_kappa_lam = np.log(kappa_lam)
    log_p = (
        gammaln(y + kappa)
        - gammaln(kappa)
        - log_y_factorial
        - kappa * np.log1p(lam / kappa)
        + xlogy(y, lam)
        - y * log_kappa_lam
    )
    if not need_grad:
        return log_p, None, None
    d_lam = y / lam - (y + kappa) / kappa_lam
    d_kappa = digamma(y + kappa) - digamma(kappa) - np.log1p(lam / kappa) + (lam - y) / kappa_lam
    return log_p, d_lam, -kappa * d_kappa
