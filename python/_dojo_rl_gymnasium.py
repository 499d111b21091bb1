"""Registers Dojo's Gymnasium ids the moment Gymnasium is imported, without importing dojo_rl (or loading the
library, or numpy) before an environment is made. Gymnasium 1.x no longer loads `gymnasium.envs` entry points; a
non-editable install of dojo-rl puts a one-line `.pth` file in site-packages that imports this module at interpreter
start, so `gymnasium.make("Dojo/CartPole-v1")` works without `import dojo_rl`. It only watches for the import of
`gymnasium`: nothing else is touched, and the watcher removes itself once it has run."""

import importlib.machinery
import sys

# Gymnasium ids of Dojo's environments: (Dojo id, options). Environments not named here register as Dojo/<Id>-v0
# when dojo_rl itself is imported.
NAMED = {
    "Dojo/CartPole-v1": ("cartpole", {}),
    "Dojo/Pendulum-v1": ("pendulum", {}),
    "Dojo/GridWorld-v0": ("gridworld", {}),
    "Dojo/GridWorldCodes-v0": ("gridworld", {"encoding": "codes"}),
    "Dojo/Highway-v0": ("highway", {"scenario": "highway"}),
    "Dojo/HighwayFast-v0": ("highway", {"scenario": "highway-fast"}),
    "Dojo/Merge-v0": ("highway", {"scenario": "merge"}),
    "Dojo/ArmReach-v0": ("arm", {"task": "reach"}),
    "Dojo/ArmPush-v0": ("arm", {"task": "push"}),
    "Dojo/ArmReachGoal-v0": ("arm", {"task": "reach", "goal": "true"}),
    "Dojo/ArmPushGoal-v0": ("arm", {"task": "push", "goal": "true"}),
}


def register(ids) -> None:
    """Registers `ids` ({gymnasium id: (Dojo id, options)}) with Gymnasium, skipping ids registered already."""
    import gymnasium

    for gym_id, (dojo_id, options) in ids.items():
        if gym_id not in gymnasium.registry:
            gymnasium.register(id=gym_id, entry_point="dojo_rl.env:DojoEnv",
                               vector_entry_point="dojo_rl.vector:DojoVectorEnv", kwargs=dict(options, env_id=dojo_id),
                               disable_env_checker=False)


class _GymnasiumWatcher:
    """A meta-path finder that lets `gymnasium` load as usual, then registers NAMED."""

    def find_spec(self, fullname, path=None, target=None):
        if fullname != "gymnasium":
            return None
        sys.meta_path.remove(self)
        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        if spec is None or spec.loader is None:
            return spec
        load = spec.loader.exec_module

        def exec_module(module):
            load(module)
            try:
                register(NAMED)
            except Exception as error:  # never break `import gymnasium`
                print(f"dojo-rl: could not register the Dojo/ ids ({error}); `import dojo_rl` registers them",
                      file=sys.stderr)
        spec.loader.exec_module = exec_module
        return spec


def install() -> None:
    if "gymnasium" in sys.modules:
        register(NAMED)
    elif not any(isinstance(finder, _GymnasiumWatcher) for finder in sys.meta_path):
        sys.meta_path.insert(0, _GymnasiumWatcher())
