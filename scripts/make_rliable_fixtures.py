#!/usr/bin/env python3
"""Generates the rliable reference checked by `swift test` (Tests/Fixtures/rliable/intervals.json).

For several fixed score matrices (runs x tasks, including single-task ones, with ties and skew) it records rliable's
point estimates (aggregate mean, aggregate median, IQM, and the median of all runs' scores) and its 95% percentile
stratified-bootstrap intervals as `get_interval_estimates` computes them, with reps = 50,000. For pairs of matrices it
records the probability of improvement and its interval (independent stratified resampling of both).

Bootstrap endpoints depend on the random stream, so Dojo cannot match them exactly. Beside each endpoint the file
holds its Monte-Carlo standard error estimated from rliable's own bootstrap distribution: for the p-quantile of B
draws, se = sqrt(p (1 - p) / B) / f(q_p), the density f estimated from the spread of the quantiles p +- 0.005
(the test uses the same estimate on its side). It also holds rliable's performance profile (fraction of runs above
each threshold) on a few thresholds.

Run: .venv-anchors/bin/python scripts/make_rliable_fixtures.py   (needs `pip install rliable`; rliable 1.2 imports
with arch 8 although its metadata asks for arch < 8).
"""
import json
import os

import numpy as np
import rliable
from rliable import library as rly
from rliable import metrics

OUT = os.path.join(os.path.dirname(__file__), "..", "Tests", "Fixtures", "rliable", "intervals.json")
REPS = 50_000
SIZE = 0.95
SEED = 7


def median_of_runs(scores):
    """Median of every score of the matrix (the 'median across runs' of one group)."""
    return np.median(scores)


STATISTICS = {
    "mean": metrics.aggregate_mean,
    "median": metrics.aggregate_median,
    "median_runs": median_of_runs,
    "iqm": metrics.aggregate_iqm,
}


def standard_errors(replicates, size=SIZE, delta=0.005):
    """Monte-Carlo standard errors of the lower and upper percentile endpoints of `replicates`."""
    alpha = (1 - size) / 2
    errors = []
    for p in (alpha, 1 - alpha):
        low, high = np.percentile(replicates, [100 * (p - delta), 100 * (p + delta)])
        errors.append(float((high - low) / (2 * delta) * np.sqrt(p * (1 - p) / len(replicates))))
    return errors


def interval(func, *matrices):
    """rliable's percentile interval of `func` (via get_interval_estimates) and the endpoints' standard errors."""
    key = "x"
    score = matrices[0] if len(matrices) == 1 else list(matrices)
    calls = []  # every value func returns: the point estimate, arch's base estimate, then the REPS replicates

    def recorded(*m):
        value = func(*m)
        calls.append(float(value))
        return np.array([value])

    np.random.seed(SEED)  # rliable's resampling draws from NumPy's global generator
    point, intervals = rly.get_interval_estimates({key: score}, recorded, reps=REPS,
                                                  confidence_interval_size=SIZE, method="percentile")
    replicates = np.array(calls[-REPS:])
    low, high = intervals[key][0, 0], intervals[key][1, 0]
    # The recorded replicates are the ones the interval was taken from.
    assert np.allclose(np.percentile(replicates, [100 * (1 - SIZE) / 2, 100 * (1 + SIZE) / 2]), [low, high], rtol=0, atol=0)
    se_low, se_high = standard_errors(replicates)
    return {"point": float(point[key][0]), "low": float(low), "high": float(high), "se_low": se_low, "se_high": se_high}


def matrices():
    rng = np.random.default_rng(2024)
    return {
        "normal_5x1": rng.normal(100, 20, size=(5, 1)),
        "normal_10x1": rng.normal(0.5, 0.2, size=(10, 1)),
        "ties_10x1": np.array([[0], [1], [1], [1], [2], [2], [3], [5], [8], [13]], dtype=np.float64),
        "small_4x1": np.array([[1.5], [-2.0], [7.25], [3.0]]),
        "normal_10x3": rng.normal([0.2, 1.0, 5.0], [0.1, 0.5, 2.0], size=(10, 3)),
        "skewed_7x4": rng.exponential(1.0, size=(7, 4)) ** 2,
    }


def main():
    cases = []
    for name, scores in matrices().items():
        case = {"name": name, "scores": scores.tolist(), "statistics": {}}
        for stat, func in STATISTICS.items():
            case["statistics"][stat] = interval(func, scores)
            assert case["statistics"][stat]["point"] == float(func(scores))
            print(name, stat, case["statistics"][stat], flush=True)
        taus = np.quantile(scores, [0.0, 0.3, 0.5, 0.9]).tolist() + [float(scores.max()) + 1]
        case["profile"] = {"taus": taus,
                           "fractions": [float(rly.run_score_deviation(scores, tau)) for tau in taus]}
        cases.append(case)

    rng = np.random.default_rng(99)
    pairs = []
    pair_inputs = {
        "better_6v5_1task": (rng.normal(1.0, 1.0, size=(6, 1)), rng.normal(0.0, 1.0, size=(5, 1))),
        "ties_5v5_1task": (np.array([[1.0], [2.0], [2.0], [3.0], [4.0]]), np.array([[2.0], [2.0], [0.0], [3.0], [5.0]])),
        "mixed_8v8_2tasks": (rng.normal(0.0, 1.0, size=(8, 2)), rng.normal([0.5, -0.5], 1.0, size=(8, 2))),
    }
    for name, (x, y) in pair_inputs.items():
        result = interval(metrics.probability_of_improvement, x, y)
        print(name, result, flush=True)
        pairs.append({"name": name, "x": x.tolist(), "y": y.tolist(), "probability_of_improvement": result})

    document = {
        "generator": "scripts/make_rliable_fixtures.py",
        "rliable": getattr(rliable, "__version__", "1.2.0"), "numpy": np.__version__,
        "reps": REPS, "confidence": SIZE, "method": "percentile", "numpy_seed": SEED,
        "cases": cases, "pairs": pairs,
    }
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w") as handle:
        json.dump(document, handle, indent=1)
        handle.write("\n")
    print(f"wrote {OUT}: {len(cases)} matrices, {len(pairs)} pairs")


if __name__ == "__main__":
    main()
