#!/usr/bin/env python3
"""Generates the PPO loss fixtures `swift test` checks (Tests/Fixtures/neural/ppo_*.safetensors).

For a categorical and a diagonal-Gaussian policy laid out as Stable-Baselines3's ActorCriticPolicy (separate
policy and value MLP trunks, `action_net`, `value_net`, `log_std`), on one minibatch: the weights (names prefixed
`policy.`), the batch (observations, actions, old log-probabilities, advantages, returns, old values), the loss terms
as SB3's PPO.train computes them (advantages normalized in the batch, ratio clipping, value clipping, entropy bonus)
and the gradient of the total loss for every parameter (`grad.<name>`).

Run: .venv-anchors/bin/python scripts/make_ppo_fixtures.py
"""
import os
import torch
import torch.nn as nn
from safetensors.torch import save_file

torch.manual_seed(6)
torch.set_num_threads(1)
OUT = os.path.join(os.path.dirname(__file__), "..", "Tests", "Fixtures", "neural")
B, OBS, HIDDEN = 24, 5, 16
CLIP, CLIP_VF, ENT, VF = 0.2, 0.3, 0.01, 0.5


class Policy(nn.Module):
    def __init__(self, width, gaussian):
        super().__init__()
        self.mlp_extractor = nn.Module()
        self.mlp_extractor.policy_net = nn.Sequential(nn.Linear(OBS, HIDDEN), nn.Tanh(), nn.Linear(HIDDEN, HIDDEN), nn.Tanh())
        self.mlp_extractor.value_net = nn.Sequential(nn.Linear(OBS, HIDDEN), nn.Tanh(), nn.Linear(HIDDEN, HIDDEN), nn.Tanh())
        self.action_net = nn.Linear(HIDDEN, width)
        self.value_net = nn.Linear(HIDDEN, 1)
        if gaussian:
            self.log_std = nn.Parameter(torch.randn(width) * 0.3)

    def forward(self, obs):
        return self.action_net(self.mlp_extractor.policy_net(obs)), self.value_net(self.mlp_extractor.value_net(obs)).flatten()


def case(name, gaussian, width):
    policy = Policy(width, gaussian)
    obs = torch.randn(B, OBS)
    head, values = policy(obs)
    if gaussian:
        dist = torch.distributions.Normal(head, policy.log_std.exp())
        actions = (head + torch.randn(B, width) * policy.log_std.exp()).detach()
        log_prob = dist.log_prob(actions).sum(dim=1)
        entropy = dist.entropy().sum(dim=1)
    else:
        dist = torch.distributions.Categorical(logits=head)
        actions = torch.randint(0, width, (B,))
        log_prob = dist.log_prob(actions)
        entropy = dist.entropy()
    old_log_prob = (log_prob + 0.4 * torch.randn(B)).detach()    # ratios spread over and beyond the clip range
    old_values = (values + 0.5 * torch.randn(B)).detach()
    advantages = torch.randn(B) * 2
    returns = torch.randn(B)
    normalized = (advantages - advantages.mean()) / (advantages.std() + 1e-8)
    ratio = torch.exp(log_prob - old_log_prob)
    policy_loss = -torch.min(normalized * ratio, normalized * torch.clamp(ratio, 1 - CLIP, 1 + CLIP)).mean()
    values_pred = old_values + torch.clamp(values - old_values, -CLIP_VF, CLIP_VF)
    value_loss = ((returns - values_pred) ** 2).mean()
    entropy_loss = -entropy.mean()
    loss = policy_loss + ENT * entropy_loss + VF * value_loss
    log_ratio = log_prob - old_log_prob
    approx_kl = ((ratio - 1) - log_ratio).mean()
    clip_fraction = ((ratio - 1).abs() > CLIP).float().mean()
    loss.backward()
    tensors = {"policy." + k: v for k, v in policy.state_dict().items()}
    tensors.update({"grad.policy." + k: p.grad for k, p in policy.named_parameters()})
    tensors.update({"observations": obs, "actions": actions.float().reshape(B, -1), "old_log_prob": old_log_prob,
                    "old_values": old_values, "advantages": advantages, "returns": returns,
                    "policy_loss": policy_loss.reshape(1), "value_loss": value_loss.reshape(1),
                    "entropy": (-entropy_loss).reshape(1), "approx_kl": approx_kl.reshape(1),
                    "clip_fraction": clip_fraction.reshape(1), "loss": loss.reshape(1)})
    clean = {k: v.detach().contiguous().clone() for k, v in tensors.items()}
    save_file(clean, os.path.join(OUT, name + ".safetensors"),
              metadata={"generator": "scripts/make_ppo_fixtures.py", "torch": torch.__version__})


case("ppo_categorical", gaussian=False, width=4)
case("ppo_gaussian", gaussian=True, width=3)
print("wrote ppo_categorical.safetensors and ppo_gaussian.safetensors")
