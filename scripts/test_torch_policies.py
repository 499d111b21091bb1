#!/usr/bin/env python3
"""Checks scripts/torch_policies.py against Dojo on the committed fixtures (Tests/Fixtures/policies).

For every policy kind Dojo has, the Swift test TorchPolicyFixtureTests commits the model file Dojo writes
(`<kind>.safetensors`: weights, model card, obs_rms) and Dojo's outputs on recorded observations
(`<kind>_io.safetensors`: observations, episode starts for recurrent kinds, Q-values or head outputs and values, and
the actions `dojo eval` takes). This test rebuilds each policy from the model file alone, loads it strictly, and
asserts:
  - the discrete actions equal Dojo's exactly, acting one step at a time as `dojo eval` does (LSTM state carried);
  - Q-values, logits / means and values, and continuous actions, within 1e-5 relative to scale (max |a - b| divided
    by max(1, max |b|)): float32 rounding of the same arithmetic, done in another order.
Then the Stable-Baselines3 recipe of docs/checkpoint-format.md: the MLP checkpoints load with strict=True into SB3's
DQN and PPO policies (and VecNormalize statistics) and predict Dojo's actions. Skipped when stable-baselines3 is not
installed.

Run: .venv-anchors/bin/python scripts/test_torch_policies.py     (venv: see README, "Benchmarks"; add
stable-baselines3 for the SB3 part). Not part of CI: torch is too large.
"""
import glob
import os
import sys
import unittest

import torch
from safetensors.torch import load_file

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_policies import load_policy, read_card  # noqa: E402

FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "Fixtures", "policies")
TOLERANCE = 1e-5  # relative to scale, as the Swift parity tests (Tolerance.forward)
KINDS = sorted(os.path.basename(p)[:-len(".safetensors")] for p in glob.glob(os.path.join(FIXTURES, "*.safetensors"))
               if not p.endswith("_io.safetensors"))
torch.set_num_threads(1)


def scaled_error(actual, expected):
    actual, expected = actual.double(), expected.double()
    return ((actual - expected).abs().max() / max(1.0, expected.abs().max().item())).item()


def fixture(kind):
    return os.path.join(FIXTURES, kind + ".safetensors"), load_file(os.path.join(FIXTURES, kind + "_io.safetensors"))


class TorchPolicyTests(unittest.TestCase):
    def test_every_kind_is_present(self):
        expected = {"dqn_mlp", "dqn_mlp_dueling_tanh", "dqn_attention", "dqn_lstm", "ppo_mlp_categorical",
                    "ppo_mlp_gaussian_normalized", "ppo_attention", "ppo_lstm", "ppo_attention_lstm_gaussian"}
        self.assertEqual(set(KINDS), expected, "regenerate with DOJO_WRITE_FIXTURES=1 swift test --filter TorchPolicyFixtureTests")

    def test_outputs_and_actions_match_dojo(self):
        for kind in KINDS:
            with self.subTest(kind=kind):
                path, io = fixture(kind)
                policy = load_policy(path)  # strict=True inside
                obs = io["observations"]
                starts = io.get("episode_starts")
                with torch.no_grad():
                    out = policy(obs, episode_starts=starts) if policy.recurrent else policy(obs)
                for name, key in [("q_values", "q_values"), ("head", "head"), ("values", "values")]:
                    if name in io:
                        self.assertLessEqual(scaled_error(out[key].reshape(io[name].shape), io[name]), TOLERANCE, name)
                # Actions one step at a time, as dojo eval acts (each sequence a new episode, LSTM state carried).
                actions = self.act_stepwise(policy, obs, starts)
                expected = io["actions"]
                if policy.card["action"]["type"] == "discrete":
                    self.assertTrue(torch.equal(actions.reshape(-1).float(), expected.reshape(-1)),
                                    f"{kind}: torch {actions.reshape(-1).tolist()} vs Dojo {expected.reshape(-1).tolist()}")
                else:
                    self.assertLessEqual(scaled_error(actions.reshape(expected.shape), expected), TOLERANCE)

    @staticmethod
    def act_stepwise(policy, obs, starts):
        if not policy.recurrent:
            return torch.stack([policy.predict(row)[0] for row in obs])
        per_sequence = []
        for b in range(obs.shape[0]):
            state, actions = None, []
            for t in range(obs.shape[1]):
                action, state = policy.predict(obs[b, t], state=state, episode_start=starts[b, t].item() == 1)
                actions.append(action)
            per_sequence.append(torch.stack(actions))
        return torch.stack(per_sequence)

    def test_cards_describe_the_stored_tensors(self):
        for kind in KINDS:
            with self.subTest(kind=kind):
                path, _ = fixture(kind)
                card, tensors = read_card(path), load_file(path)
                prefix = card["prefix"]
                names = {k for k in tensors if k.startswith(prefix)}
                self.assertEqual(set(load_policy(path).state_dict()), {k[len(prefix):] for k in names})
                for copy in card.get("same_architecture_under", []):
                    self.assertEqual({k[len(copy):] for k in tensors if k.startswith(copy)}, {k[len(prefix):] for k in names})

    def test_a_file_without_card_is_refused_with_a_reason(self):
        path = os.path.join(FIXTURES, "..", "neural", "dojo_qnet.safetensors")  # weights only, no card
        with self.assertRaisesRegex(ValueError, "no 'dojo.model' entry"):
            load_policy(path)

    def test_a_missing_tensor_is_refused(self):
        path, _ = fixture("dqn_attention")
        policy = read_card(path)
        self.assertEqual(policy["encoder"]["type"], "ego_attention")
        model = load_policy(path)
        state = model.state_dict()
        del state["encoder.attention.in_proj_weight"]
        with self.assertRaises(RuntimeError):
            model.load_state_dict(state, strict=True)


try:
    import gymnasium as gym
    import numpy as np
    from stable_baselines3 import DQN, PPO
    from stable_baselines3.common.vec_env import DummyVecEnv, VecNormalize
    HAVE_SB3 = True
except ImportError:
    HAVE_SB3 = False


def space_from_card(card):
    if card["type"] == "discrete":
        return gym.spaces.Discrete(card["n"])
    return gym.spaces.Box(np.array([float(x) for x in card["low"]], dtype=np.float32),
                          np.array([float(x) for x in card["high"]], dtype=np.float32), dtype=np.float32)


class SpacesOnly(gym.Env):
    """An environment that only declares spaces: SB3 needs one to build a policy."""

    def __init__(self, card):
        self.observation_space = space_from_card(card["observation"])
        self.action_space = space_from_card(card["action"])

    def reset(self, seed=None, options=None):
        return self.observation_space.sample(), {}

    def step(self, action):
        return self.observation_space.sample(), 0.0, False, False, {}


@unittest.skipUnless(HAVE_SB3, "stable-baselines3 is not installed (pip install stable-baselines3)")
class StableBaselines3RecipeTests(unittest.TestCase):
    """The recipe of docs/checkpoint-format.md, "Loading in Stable-Baselines3"."""

    def test_dqn(self):
        path, io = fixture("dqn_mlp")
        card, tensors = read_card(path), load_file(path)
        hidden = [layer["out"] for layer in card["trunk"]["layers"] if layer["type"] == "linear"][:-1]
        model = DQN("MlpPolicy", SpacesOnly(card), buffer_size=1, policy_kwargs=dict(net_arch=hidden), device="cpu")
        # Dojo's q_net.* / q_net_target.* are SB3's q_net.q_net.* / q_net_target.q_net.*
        model.policy.load_state_dict({k.replace(".", ".q_net.", 1): v for k, v in tensors.items()}, strict=True)
        actions, _ = model.predict(io["observations"].numpy(), deterministic=True)
        self.assertEqual(actions.tolist(), io["actions"].reshape(-1).long().tolist())

    def ppo(self, kind, activation):
        path, io = fixture(kind)
        card, tensors = read_card(path), load_file(path)
        hidden = [layer["out"] for layer in card["mlp_extractor"]["policy_net"]["layers"] if layer["type"] == "linear"]
        model = PPO("MlpPolicy", SpacesOnly(card), n_steps=8, batch_size=8, device="cpu",
                    policy_kwargs=dict(net_arch=hidden, activation_fn=activation))
        model.policy.load_state_dict({k[len("policy."):]: v for k, v in tensors.items() if k.startswith("policy.")},
                                     strict=True)
        obs = io["observations"].numpy()
        if "obs_rms.mean" in tensors:
            normalizer = VecNormalize(DummyVecEnv([lambda: SpacesOnly(card)]), norm_obs=True, norm_reward=False,
                                      clip_obs=card["observation_normalization"]["clip"],
                                      epsilon=card["observation_normalization"]["epsilon"])
            normalizer.obs_rms.mean = tensors["obs_rms.mean"].double().numpy()
            normalizer.obs_rms.var = tensors["obs_rms.var"].double().numpy()
            normalizer.obs_rms.count = float(tensors["obs_rms.count"].item())
            normalizer.training = False
            obs = normalizer.normalize_obs(obs).astype(np.float32)
        actions, _ = model.predict(obs, deterministic=True)
        with torch.no_grad():
            values = model.policy.predict_values(torch.as_tensor(obs))
        self.assertLessEqual(scaled_error(values.reshape(-1), io["values"].reshape(-1)), TOLERANCE)
        return actions, io["actions"]

    def test_ppo_categorical(self):
        actions, expected = self.ppo("ppo_mlp_categorical", torch.nn.Tanh)
        self.assertEqual(actions.tolist(), expected.reshape(-1).long().tolist())

    def test_ppo_gaussian_with_vecnormalize(self):
        actions, expected = self.ppo("ppo_mlp_gaussian_normalized", torch.nn.ReLU)
        self.assertLessEqual(scaled_error(torch.as_tensor(actions), expected), TOLERANCE)


if __name__ == "__main__":
    unittest.main(verbosity=2)
