#!/usr/bin/env python3
"""Runs DQN presets over several seeds and reports what each reached. `dojo train` evaluates greedily on
n_eval_episodes (10) every eval_freq steps and on n_final_eval_episodes (100) at the end of the budget. A seed is
judged on its best checkpoint (what `dojo eval` and `dojo watch` use) evaluated by `dojo eval` on 100 other
episodes, with the standard error; the final evaluation is shown too, and the time to threshold is the first
10-episode evaluation past it. For gridworld presets the evaluation also reports the breadth-first-search optimal return of the same
episodes, so "within 2% of optimal" is read directly.

Usage: python3 bench/dqn_presets.py [--presets NAME ...] [--seeds 0 1 2 3 4] [--dojo .build/release/dojo]
Standard library only. Results go to stdout; each run's directory is kept under --out (default bench/runs).
"""
import argparse
import json
import os
import subprocess
import time

DEFAULT = ["cartpole-dqn", "gridworld-four-rooms-dqn", "gridworld-key-door-dqn", "gridworld-lava-crossing-dqn",
           "gridworld-maze-dqn", "gridworld-memory-drqn", "gridworld-memory-dqn"]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--presets", nargs="+", default=DEFAULT)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--dojo", default=".build/release/dojo")
    parser.add_argument("--out", default="bench/runs")
    args = parser.parse_args()
    if not os.path.exists(args.dojo):
        subprocess.run(["swift", "build", "-c", "release", "--product", "dojo"], check=True)
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1")
    for preset in args.presets:
        print(f"== {preset}")
        reached = 0
        for seed in args.seeds:
            directory = f"{args.out}/{preset}-seed{seed}"
            subprocess.run(["rm", "-rf", directory])
            start = time.time()
            subprocess.run([args.dojo, "train", "--preset", preset, "--seed", str(seed), "--out", directory],
                           check=True, capture_output=True, env=env)
            seconds = time.time() - start
            evaluations = [json.loads(line) for line in open(directory + "/metrics.jsonl") if "eval_return_mean" in line]
            final = evaluations[-1]
            checkpoint = json.loads(subprocess.run([args.dojo, "eval", directory, "--episodes", "100", "--json"], check=True,
                                             capture_output=True, text=True, env=env).stdout)
            checkpoint_error = checkpoint["std_reward"] / max(checkpoint["episodes"] - 1, 1) ** 0.5
            optimal = final.get("eval_optimal_return_mean")
            if preset.startswith("gridworld-memory"):
                best = max(e.get("eval_success_rate", 0) for e in evaluations)
                ok = (best >= 0.9) if preset.endswith("drqn") else (best <= 0.6)
                detail = f"best eval success {best:.2f} (target {'≥ 0.9' if preset.endswith('drqn') else 'near chance'})"
            elif preset.startswith("cartpole"):
                hit = next((e["step"] for e in evaluations if e["eval_return_mean"] >= 475), None)
                ok = checkpoint["mean_reward"] >= 475
                detail = f"first eval ≥ 475 at {hit if hit else 'never'} steps"
            else:
                hits = [e["step"] for e in evaluations if e["eval_return_mean"] >= 0.98 * e["eval_optimal_return_mean"]]
                ok = checkpoint["mean_reward"] >= 0.98 * checkpoint["optimal_return_mean"]
                detail = (f"best checkpoint {100 * checkpoint['mean_reward'] / checkpoint['optimal_return_mean']:.1f}% of optimal "
                          f"(success {checkpoint.get('success_rate', float('nan')):.2f}); "
                          f"final {100 * final['eval_return_mean'] / optimal:.1f}% of it; "
                          f"first eval within 2% at {hits[0] if hits else 'never'}")
            reached += ok
            n = final["eval_episodes"]
            error = final["eval_return_std"] / max(n - 1, 1) ** 0.5  # the log's std is the population one
            print(f"  seed {seed}: best checkpoint ({checkpoint['episodes']} episodes) {checkpoint['mean_reward']:.4f} "
                  f"± {checkpoint_error:.4f} (s.e.); "
                  f"final eval ({n} episodes) {final['eval_return_mean']:.4f} ± {error:.4f} (s.e.) "
                  f"success {final.get('eval_success_rate', float('nan')):.2f}; {detail}; {seconds:.0f} s "
                  f"{'OK' if ok else 'MISS'}")
        print(f"  target reached in {reached} of {len(args.seeds)} seeds")


if __name__ == "__main__":
    main()
