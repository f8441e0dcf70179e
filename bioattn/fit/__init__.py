"""Fitting softmax attention and rival models to a readout population's spike counts.

One loop compares them all::

    from bioattn.fit import MODELS, cross_validated_log_likelihood
    held_out = {name: cross_validated_log_likelihood(model(), X, y).sum()
                for name, model in MODELS.items()}

- :class:`TrialSet` — what was shown on each trial (templates, keys, query, drive, mask).
- :data:`MODELS` — the eight scikit-learn-style estimators (:mod:`bioattn.fit.models`), and
  :class:`MultiHeadSoftmax` (:mod:`bioattn.fit.heads`), :class:`KeyPrecisionAttention`
  (:mod:`bioattn.fit.precision`).
- :mod:`bioattn.fit.circuit` — a circuit run as trials; :mod:`bioattn.fit.report` — the
  ``bioattn fit`` command's analyses.
- :func:`cross_validated_log_likelihood`, :func:`bits_per_spike` — out-of-sample comparison.
- :func:`bootstrap_ci`, :func:`clone` — parameter uncertainty.
- :func:`random_trialset`, :func:`simulate_counts` — synthetic designs and counts.
- :func:`compare_models`, :func:`model_recovery`, :func:`parameter_recovery`,
  :func:`fit_by_level`, :func:`verdict_ladder` — the evidence and the verdict
  (:mod:`bioattn.fit.evaluate`).
"""

from bioattn.fit.bootstrap import bootstrap_ci, clone
from bioattn.fit.compare import bits_per_spike, cross_validated_log_likelihood
from bioattn.fit.data import TrialSet, check_counts
from bioattn.fit.evaluate import (
    compare_models,
    fit_by_level,
    model_recovery,
    parameter_recovery,
    recovery_accuracy,
    verdict_ladder,
)
from bioattn.fit.heads import MultiHeadSoftmax
from bioattn.fit.models import (
    MODELS,
    DivisiveRatio,
    LinearGain,
    MixtureModel,
    NoisyWinnerTakeAll,
    NormalizationAttention,
    SigmoidGate,
    SoftmaxAttention,
    Sparsemax,
    Uniform,
)
from bioattn.fit.precision import KeyPrecisionAttention
from bioattn.fit.synthetic import random_trialset, simulate_counts

__all__ = [
    "TrialSet",
    "check_counts",
    "MODELS",
    "MixtureModel",
    "SoftmaxAttention",
    "NormalizationAttention",
    "DivisiveRatio",
    "LinearGain",
    "SigmoidGate",
    "NoisyWinnerTakeAll",
    "Sparsemax",
    "Uniform",
    "MultiHeadSoftmax",
    "KeyPrecisionAttention",
    "bootstrap_ci",
    "clone",
    "cross_validated_log_likelihood",
    "bits_per_spike",
    "random_trialset",
    "simulate_counts",
    "compare_models",
    "model_recovery",
    "recovery_accuracy",
    "parameter_recovery",
    "fit_by_level",
    "verdict_ladder",
]
