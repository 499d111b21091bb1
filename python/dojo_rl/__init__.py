"""Dojo's environments in Python: `gymnasium.make("Dojo/CartPole-v1")` and friends, over Dojo's C interface."""

from ._native import DojoError, Policy, Vector, environments, load_policy, version
from .env import DojoEnv, expand_cell_codes, space
from .vector import DojoVectorEnv, make_vec

from _dojo_rl_gymnasium import NAMED, register


def gymnasium_ids() -> dict:
    """Every Gymnasium id this package registers, with its Dojo id and options."""
    ids = dict(NAMED)
    named = {dojo_id for dojo_id, _ in NAMED.values()}
    for entry in environments():
        if entry["id"] not in named:
            ids[f"Dojo/{entry['id'].title().replace('-', '')}-v0"] = (entry["id"], {})
    return ids


def register_environments() -> None:
    """Registers every Dojo environment with Gymnasium. Importing the package does it; an installed package also
    registers the named ids when Gymnasium is imported (see _dojo_rl_gymnasium), since Gymnasium 1.x no longer loads
    the `gymnasium.envs` entry point (declared for 0.26–0.29). `gymnasium.make("dojo_rl:Dojo/CartPole-v1")` works
    everywhere."""
    register(gymnasium_ids())


__all__ = ["DojoEnv", "DojoError", "DojoVectorEnv", "Policy", "Vector", "environments", "expand_cell_codes", "gymnasium_ids",
           "load_policy", "make_vec", "register_environments", "space", "version"]

register_environments()
