"""The Ray Tune trainable of dojo_rl.sweep (a module of its own, so that the sweep imports Ray only when it runs)."""

import pathlib
import time

from ray import tune

from .sweep import SHIPPED, SeedRuns, TrialFailed, objective_of, shipped_dojo, trial_args, trial_values


class DojoTrial(tune.Trainable):
    """A Tune trial: `dojo train` per seed, one Tune result per evaluation (the seeds' mean), killed when stopped.

    Each result has `step` (environment steps, ASHA's time), the metric's seed mean, `objective` (the metric
    reduced over the evaluations so far), `node_id`, and on the last one `done` with the run's config.json."""

    def setup(self, config, sweep=None, dojo=None, out=None):
        import ray

        self.sweep, self.values = sweep, trial_values(sweep, config)
        self.node_id = ray.get_runtime_context().get_node_id()
        self.curve = []
        directory = pathlib.Path(out) / "runs" / self.trial_id
        config_file = None
        if sweep.config_text is not None:  # shipped with the trial: other nodes need not have the file
            base = directory / "base"
            base.mkdir(parents=True, exist_ok=True)
            config_file = str(base / pathlib.Path(sweep.config_path).name)
            pathlib.Path(config_file).write_text(sweep.config_text)
        if dojo == SHIPPED:
            dojo = shipped_dojo()
        self.runs = SeedRuns(dojo, trial_args(sweep, self.values, config_file), sweep.seeds, sweep.steps,
                             directory, sweep.metric)
        self.started = time.monotonic()

    def step(self):
        # The runs were paused when the last evaluation was returned (Tune then decides whether this trial goes on; a
        # stopped trial is killed in `cleanup`, still paused, so it ends at the evaluation it was stopped at).
        self.runs.resume()
        evaluation = self.runs.next_evaluation()
        if evaluation is None:
            raise TrialFailed(f"the runs in {self.runs.directory} ended before reaching {self.sweep.steps} steps")
        step, rows = evaluation
        values = [float(row[self.sweep.metric]) for row in rows]
        mean = sum(values) / len(values)
        self.curve.append(mean)
        result = {
            "step": step,
            self.sweep.metric: mean,
            "objective": objective_of(self.curve, self.sweep.reduce, self.sweep.mode),
            "evaluations": len(self.curve),
            "node_id": self.node_id,
            "seconds": time.monotonic() - self.started,
        }
        if len(values) > 1:
            result[self.sweep.metric + "_seeds"] = ",".join(repr(v) for v in values)
        if step >= self.sweep.steps:  # the final evaluation
            self.runs.wait()
            result["done"] = True
            result["completed"] = True
            result["dojo_config"] = (self.runs.run_dirs[0] / "config.json").read_text()
            result["run_dirs"] = ",".join(str(d) for d in self.runs.run_dirs)
        else:
            self.runs.pause()
        return result

    def cleanup(self):
        runs = getattr(self, "runs", None)
        if runs is not None:
            runs.kill()

    def save_checkpoint(self, checkpoint_dir):  # trials are short and deterministic: rerun rather than resume
        return None

    def load_checkpoint(self, checkpoint):
        raise NotImplementedError("Dojo sweep trials do not resume from Tune checkpoints")
