"""Benchmark: the full model comparison of bioattn.fit on 10⁴ synthetic trials.

All eight models (bioattn.fit.MODELS) are compared by 5-fold cross-validated log-likelihood on
a realistic synthetic design (8 items, 16 readout neurons, set sizes 1–8, three contrasts and
three cue strengths; counts drawn from a softmax-attention readout).  Prints each model's wall
time, its time relative to the Uniform floor model (ratios from this one run), its held-out
gain over Uniform in bits/spike; then times ``compare_models`` itself (every model: 5-fold CV
with per-trial held-out log-likelihoods, plus one fit to all trials for AIC/BIC — the
comparison ``bioattn fit`` runs) against the 60 s goal of issue 5.

Usage::

    python benchmarks/bench_fit.py [--trials 10000] [--folds 5] [--seed 11]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from bioattn.fit import (
    MODELS,
    SoftmaxAttention,
    bits_per_spike,
    compare_models,
    cross_validated_log_likelihood,
    random_trialset,
    simulate_counts,
)

GOAL_S = 60.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=10_000)
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=11)
    args = parser.parse_args()

    rng = np.random.default_rng(args.seed)
    X = random_trialset(args.trials, 8, 16, rng)
    truth = SoftmaxAttention().set_fitted(
        beta=3.0, M=np.eye(2) / np.sqrt(2.0), baseline=5.0, gain=1.0
    )
    y = simulate_counts(truth, X, rng)

    times, held_out = {}, {}
    for name, model in MODELS.items():
        start = time.perf_counter()
        held_out[name] = cross_validated_log_likelihood(model(), X, y, n_folds=args.folds).sum()
        times[name] = time.perf_counter() - start
    total = sum(times.values())

    print(f"{args.trials} trials, 8 items, 16 neurons, {args.folds}-fold CV, {y.sum()} spikes")
    print(f"{'model':<24}{'wall s':>8}{'x Uniform':>11}{'bits/spike vs Uniform':>24}")
    for name in MODELS:
        bits = bits_per_spike(held_out[name], held_out["uniform"], int(y.sum()))
        print(f"{name:<24}{times[name]:8.2f}{times[name] / times['uniform']:11.1f}{bits:24.4f}")
    best = max(held_out, key=held_out.get)
    print(f"CV alone: total {total:.1f} s; best held-out model: {best}")

    start = time.perf_counter()
    comparison = compare_models(X, y, n_folds=args.folds)
    full = time.perf_counter() - start
    verdict = "met" if full <= GOAL_S else "NOT met"
    print(
        f"compare_models (CV + full fits + AIC/BIC): {full:.1f} s = {full / total:.2f} x CV "
        f"alone (goal <= {GOAL_S:.0f} s: {verdict}); best: {comparison.attrs['best_model']}"
    )


if __name__ == "__main__":
    main()
