"""Dojo's environments in Python: `gymnasium.make("Dojo/CartPole-v1")` and friends, over Dojo's C interface."""

from ._native import DojoError, Policy, Vector, environments, load_policy, version
from .env import DojoEnv, space
from .vector import DojoVectorEnv, make_vec

# Gymnasium ids of Dojo's environments: (Dojo id, options). Environments not named here register as Dojo/<Id>-v0.
NAMED = {
    "Dojo/CartPole-v1": ("cartpole", {}),
    "Dojo/GridWorld-v0": ("gridworld", {}),
    "Dojo/Highway-v0": ("highway", {"scenario": "highway"}),
    "Dojo/HighwayFast-v0": ("highway", {"scenario": "highway-fast"}),
    "Dojo/Merge-v0": ("highway", {"scenario": "merge"}),
    "Dojo/ArmReach-v0": ("arm", {"task": "reach"}),
    "Dojo/ArmPush-v0": ("arm", {"task": "push"}),
}


def gymnasium_ids() -> dict:
    """Every Gymnasium id this package registers, with its Dojo id and options."""
    ids = dict(NAMED)
    named = {dojo_id for dojo_id, _ in NAMED.values()}
    for entry in environments():
        if entry["id"] not in named:
            ids[f"Dojo/{entry['id'].title().replace('-', '')}-v0"] = (entry["id"], {})
    return ids


def register_environments() -> None:
    """Registers every Dojo environment with Gymnasium. Importing the package does it; so does Gymnasium 0.26–0.29's
    `gymnasium.envs` entry point. Gymnasium 1.x no longer loads entry points, so there `import dojo_rl` first, or
    name the module in the id: `gymnasium.make("dojo_rl:Dojo/CartPole-v1")`."""
    import gymnasium

    for gym_id, (dojo_id, options) in gymnasium_ids().items():
        if gym_id not in gymnasium.registry:
            gymnasium.register(id=gym_id, entry_point="dojo_rl.env:DojoEnv",
                               vector_entry_point="dojo_rl.vector:DojoVectorEnv", kwargs=dict(options, env_id=dojo_id),
                               disable_env_checker=False)


__all__ = ["DojoEnv", "DojoError", "DojoVectorEnv", "Policy", "Vector", "environments", "gymnasium_ids", "load_policy",
           "make_vec", "register_environments", "space", "version"]

register_environments()
