"""Helpers the bench scripts share."""
import json


def first_evaluation_reaching(metrics_path, threshold):
    """(step, wall-clock seconds) of the first evaluation in a Dojo run's metrics.jsonl whose mean return reaches
    `threshold`, or None."""
    for line in open(metrics_path):
        row = json.loads(line)
        if "eval_return_mean" in row and row["eval_return_mean"] >= threshold:
            return row["step"], row["wall_time_s"]
    return None
