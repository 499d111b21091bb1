#!/usr/bin/env python3
"""Generates the SAC and TD3 loss fixtures `swift test` checks (Tests/Fixtures/neural/sac.safetensors, td3.safetensors).

The networks are Stable-Baselines3's own SACPolicy and TD3Policy modules (net_arch [8, 8], ReLU), so the weights
carry SB3's names (`actor.latent_pi.0.weight`, `actor.mu.*`, `actor.log_std.*`, `critic.qf0.0.*`,
`critic_target.qf1.4.*`, TD3's `actor.mu.0.*` and `actor_target.mu.*`, SAC's `log_ent_coef`). The targets get
weights of their own, unlike SB3's copies at construction, so a fixture that matches proves the target networks are
the ones used. On one batch of 6 transitions (some terminated) and with the noise given explicitly, this script
computes one gradient step's losses the way SB3's SAC.train and TD3.train do (same order and formulas, written out
here; SB3's train is not called) and stores every input, the intermediate actions and log-probabilities, the losses
and the gradients of every parameter (`grad.<name>`). No optimizer step is taken: the gradients are those of the
step's losses at the stored weights (a step with learning rate 0).

SAC: ent_coef_loss = −mean(log α · (log π + target_entropy)), target_entropy = −2;
     y = r + (1 − term)·γ·(min_i Q′_i(s′, a′) − α log π(a′|s′)); critic_loss = ½ Σ_i mse(Q_i(s, a), y);
     actor_loss = mean(α log π(a_π|s) − min_i Q_i(s, a_π)), a_π = tanh(μ + σ·noise), a′ from next_noise.
TD3: a′ = clip(μ′(s′) + clip(0.2·next_noise, ±0.5), ±1); y = r + (1 − term)·γ·min_i Q′_i(s′, a′);
     critic_loss = Σ_i mse(Q_i(s, a), y); actor_loss = −mean Q_0(s, μ(s)) (policy_delay 1).

Run: .venv-anchors/bin/python scripts/make_offpolicy_fixtures.py
"""
import json
import math
import os
import struct

import gymnasium as gym
import numpy as np
import torch
import torch.nn.functional as F
from stable_baselines3.common.distributions import SquashedDiagGaussianDistribution
from stable_baselines3.sac.policies import SACPolicy
from stable_baselines3.td3.policies import TD3Policy

torch.manual_seed(15)
torch.set_num_threads(1)
OUT = os.path.join(os.path.dirname(__file__), "..", "Tests", "Fixtures", "neural")
B, OBS, A = 6, 3, 2
NET_ARCH = [8, 8]
GAMMA = 0.99
ALPHA0 = 0.3                    # ent_coef "auto_0.3": log α starts at log 0.3
TARGET_ENTROPY = -float(A)      # SB3's "auto"
TARGET_POLICY_NOISE, TARGET_NOISE_CLIP = 0.2, 0.5
OBSERVATION_SPACE = gym.spaces.Box(-10, 10, (OBS,), dtype=np.float32)
ACTION_SPACE = gym.spaces.Box(-1, 1, (A,), dtype=np.float32)


def constant_schedule(_):
    return 0.0


def rerandomize(module):
    """New weights for every linear layer of `module` (PyTorch's default initialization)."""
    for layer in module.modules():
        if isinstance(layer, torch.nn.Linear):
            layer.reset_parameters()


def batch():
    """Observations, actions in [−1, 1], rewards, next observations and terminated flags (rows 1 and 4 terminated)."""
    observations = torch.randn(B, OBS) * 2
    # Row 0 at the edge of the observation box: large pre-activations in every network.
    observations[0] = torch.tensor([9.5, -9.0, 9.8])
    actions = torch.rand(B, A) * 2 - 1
    actions[2, 1] = 1.0          # on the bound
    rewards = torch.randn(B)
    next_observations = torch.randn(B, OBS) * 2
    terminated = torch.tensor([0, 1, 0, 0, 1, 0], dtype=torch.float32)
    return observations, actions, rewards, next_observations, terminated


def state(policy):
    return {k: v.detach().clone() for k, v in policy.state_dict().items()}


def save_file(tensors, path, metadata):
    """Writes float32 `tensors` in the safetensors format: an 8-byte little-endian header length, the JSON header
    (padded with spaces to a multiple of 8) and the tensors' little-endian bytes. Uses the `safetensors` package
    when it is installed, the same layout written here when it is not."""
    try:
        from safetensors.torch import save_file as library_save
    except ImportError:
        library_save = None
    if library_save is not None:
        library_save(tensors, path, metadata=metadata)
        return
    header, chunks, offset = {"__metadata__": metadata}, [], 0
    for name in sorted(tensors):
        data = tensors[name].numpy().astype("<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(tensors[name].shape), "data_offsets": [offset, offset + len(data)]}
        chunks.append(data)
        offset += len(data)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(chunks))


def save(name, tensors):
    clean = {k: v.detach().to(torch.float32).contiguous().clone() for k, v in tensors.items()}
    save_file(clean, os.path.join(OUT, name + ".safetensors"),
              metadata={"generator": "scripts/make_offpolicy_fixtures.py", "torch": torch.__version__})


def sac():
    policy = SACPolicy(OBSERVATION_SPACE, ACTION_SPACE, constant_schedule, net_arch=NET_ARCH)
    actor, critic, critic_target = policy.actor, policy.critic, policy.critic_target
    rerandomize(critic_target)
    with torch.no_grad():
        # log σ's second dimension sits around the upper clamp: above 2 on some rows, below on others.
        actor.log_std.bias[1] += 2.0
        actor.mu.weight.mul_(1.5)   # means spread wider than at initialization
    log_ent_coef = torch.nn.Parameter(torch.tensor([math.log(ALPHA0)]))
    observations, actions, rewards, next_observations, terminated = batch()

    def shaped_noise(obs, saturated):
        """Standard-normal ε, pulled in where |μ + σε| would exceed 2.2 (between 2.2 and 9, float32 tanh is so near
        ±1 that one rounding step in it moves log(1 − a² + 1e-6) by more than the tolerance), and set at `saturated`
        (row, dimension) so that μ + σε = ±10.5, where tanh is exactly ±1 in float32 (a saturated action)."""
        with torch.no_grad():
            mean, log_std, _ = actor.get_action_dist_params(obs)
            std = log_std.exp()
            eps = torch.randn(B, A)
            u = mean + std * eps
            wide = u.abs() > 2.2
            eps[wide] = (torch.sign(u[wide]) * (1.2 + torch.rand(int(wide.sum()))) - mean[wide]) / std[wide]
            row, dim = saturated
            eps[row, dim] = (10.5 * (1 if row % 2 else -1) - mean[row, dim]) / std[row, dim]
        return eps

    def sample(obs, eps):
        mean, log_std, _ = actor.get_action_dist_params(obs)
        raw_log_std = actor.log_std(actor.latent_pi(actor.extract_features(obs, actor.features_extractor)))
        distribution = SquashedDiagGaussianDistribution(A).proba_distribution(mean, log_std)
        gaussian = mean + log_std.exp() * eps          # Normal.rsample with this ε
        squashed = torch.tanh(gaussian)
        return squashed, distribution.log_prob(squashed, gaussian), mean, log_std, raw_log_std, gaussian

    noise = shaped_noise(observations, saturated=(3, 1))
    next_noise = shaped_noise(next_observations, saturated=(1, 0))

    # SAC.train's order: the policy's actions at s, the temperature, the critic, the actor.
    actions_pi, log_prob, mean, log_std, raw_log_std, gaussian = sample(observations, noise)
    log_prob = log_prob.reshape(-1, 1)
    ent_coef = torch.exp(log_ent_coef.detach())
    ent_coef_loss = -(log_ent_coef * (log_prob + TARGET_ENTROPY).detach()).mean()
    ent_coef_loss.backward()

    with torch.no_grad():
        next_actions, next_log_prob, *_ = sample(next_observations, next_noise)
        next_q = torch.cat(critic_target(next_observations, next_actions), dim=1)
        next_q, _ = torch.min(next_q, dim=1, keepdim=True)
        next_q = next_q - ent_coef * next_log_prob.reshape(-1, 1)
        target_q = rewards.reshape(-1, 1) + (1 - terminated.reshape(-1, 1)) * GAMMA * next_q

    current_q = critic(observations, actions)
    critic_loss = 0.5 * sum(F.mse_loss(q, target_q) for q in current_q)
    critic.zero_grad()
    critic_loss.backward()
    critic_grads = {"grad.critic." + k: p.grad.clone() for k, p in critic.named_parameters()}

    q_pi = torch.cat(critic(observations, actions_pi), dim=1)
    min_q_pi, _ = torch.min(q_pi, dim=1, keepdim=True)
    actor_loss = (ent_coef * log_prob - min_q_pi).mean()
    actor.zero_grad()
    actor_loss.backward()
    actor_grads = {"grad.actor." + k: p.grad.clone() for k, p in actor.named_parameters()}

    # What the fixture is meant to exercise.
    assert torch.any(gaussian.abs() > 9.5) and torch.all(actions_pi.abs()[gaussian.abs() > 9.5] == 1), "no saturated action"
    assert torch.any(raw_log_std > 2) and torch.any(raw_log_std[:, 1] < 2), "log σ does not straddle the clamp"
    moderate = gaussian.abs()[gaussian.abs() < 9.5]
    assert moderate.max() < 2.25, f"|u| {moderate.max():.2f} between 2.25 and 9.5: tanh's rounding would blur log π"
    assert terminated.sum() > 0 and 0 < (q_pi[:, 0] < q_pi[:, 1]).sum() < B, "the minimum should pick both critics"
    print("sac: |u| max", gaussian.abs().max().item(), "raw log σ range", raw_log_std.min().item(), raw_log_std.max().item(),
          "rows where Q0 < Q1:", (q_pi[:, 0] < q_pi[:, 1]).sum().item())

    tensors = state(policy)
    tensors["log_ent_coef"] = log_ent_coef.detach().clone()
    tensors.update(critic_grads)
    tensors.update(actor_grads)
    tensors.update({
        "grad.log_ent_coef": log_ent_coef.grad.clone(),
        "observations": observations, "actions": actions, "rewards": rewards, "next_observations": next_observations,
        "terminated": terminated, "noise": noise, "next_noise": next_noise,
        "mean": mean, "log_std": log_std, "actions_pi": actions_pi, "log_prob": log_prob.reshape(-1),
        "next_actions": next_actions, "next_log_prob": next_log_prob.reshape(-1), "target_q": target_q.reshape(-1),
        "ent_coef": ent_coef.reshape(1), "ent_coef_loss": ent_coef_loss.reshape(1),
        "critic_loss": critic_loss.reshape(1), "actor_loss": actor_loss.reshape(1),
    })
    save("sac", tensors)


def td3():
    policy = TD3Policy(OBSERVATION_SPACE, ACTION_SPACE, constant_schedule, net_arch=NET_ARCH)
    actor, actor_target, critic, critic_target = policy.actor, policy.actor_target, policy.critic, policy.critic_target
    rerandomize(actor_target)
    rerandomize(critic_target)
    with torch.no_grad():
        actor_target.mu[4].bias += torch.tensor([0.9, -0.6])   # target actions near the bounds, so the clip acts
    observations, actions, rewards, next_observations, terminated = batch()
    next_noise = torch.randn(B, A)
    next_noise[0] = torch.tensor([3.5, -4.0])   # 0.2·ε beyond ±0.5: the smoothing clip acts
    next_noise[5] = torch.tensor([2.4, -2.6])

    with torch.no_grad():
        smoothing = (next_noise * TARGET_POLICY_NOISE).clamp(-TARGET_NOISE_CLIP, TARGET_NOISE_CLIP)
        unclipped = actor_target(next_observations) + smoothing
        next_actions = unclipped.clamp(-1, 1)
        next_q = torch.cat(critic_target(next_observations, next_actions), dim=1)
        next_q, _ = torch.min(next_q, dim=1, keepdim=True)
        target_q = rewards.reshape(-1, 1) + (1 - terminated.reshape(-1, 1)) * GAMMA * next_q

    current_q = critic(observations, actions)
    critic_loss = sum(F.mse_loss(q, target_q) for q in current_q)
    critic.zero_grad()
    critic_loss.backward()
    critic_grads = {"grad.critic." + k: p.grad.clone() for k, p in critic.named_parameters()}

    actions_pi = actor(observations)
    actor_loss = -critic.q1_forward(observations, actions_pi).mean()
    actor.zero_grad()
    actor_loss.backward()
    actor_grads = {"grad.actor." + k: p.grad.clone() for k, p in actor.named_parameters()}

    assert (next_noise.abs() * TARGET_POLICY_NOISE > TARGET_NOISE_CLIP).any(), "smoothing clip not exercised"
    assert (unclipped.abs() > 1).any(), "action clip not exercised"
    print("td3: smoothing clipped", (next_noise.abs() * TARGET_POLICY_NOISE > TARGET_NOISE_CLIP).sum().item(),
          "next actions clipped", (unclipped.abs() > 1).sum().item())

    tensors = state(policy)
    tensors.update(critic_grads)
    tensors.update(actor_grads)
    tensors.update({
        "observations": observations, "actions": actions, "rewards": rewards, "next_observations": next_observations,
        "terminated": terminated, "noise": torch.zeros(B, A), "next_noise": next_noise,
        "target_smoothing": smoothing, "next_actions": next_actions, "target_q": target_q.reshape(-1),
        "actions_pi": actions_pi, "critic_loss": critic_loss.reshape(1), "actor_loss": actor_loss.reshape(1),
    })
    save("td3", tensors)


sac()
td3()
print("wrote sac.safetensors and td3.safetensors")
