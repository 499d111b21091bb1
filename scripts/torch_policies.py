#!/usr/bin/env python3
"""Rebuilds a Dojo policy in PyTorch from its checkpoint alone.

Every `model.safetensors` Dojo writes carries a model card: a JSON object in the safetensors metadata under
`dojo.model` (docs/checkpoint-format.md describes it). This module reads the card, builds the matching `torch.nn`
modules -- Q-networks (plain or dueling, MLP or ego-attention encoder), the recurrent (LSTM) Q-network, and
actor-critic policies (MLP, ego-attention, LSTM, attention followed by an LSTM; categorical or Gaussian) -- and
loads the weights with `load_state_dict(strict=True)`. Observation normalization (`obs_rms.*`) is applied inside.

    from torch_policies import load_policy
    policy = load_policy("runs/cartpole/checkpoints/best/model.safetensors")
    action, state = policy.predict(observation)                       # one step, like dojo eval
    outputs = policy(observations)                                    # q_values, or head and values

Recurrent policies take (B, T, obs) sequences and `episode_starts` (B, T) in `forward`, and carry `state` in
`predict`. Needs torch and safetensors only (the anchors venv: see README, "Benchmarks").
"""
import json

import torch
import torch.nn as nn
from safetensors import safe_open
from safetensors.torch import load_file

CARD_KEY = "dojo.model"
ACTIVATIONS = {"relu": nn.ReLU, "tanh": nn.Tanh, "sigmoid": nn.Sigmoid, "gelu": nn.GELU}


def read_card(path):
    """The model card of a Dojo checkpoint, as a dict."""
    with safe_open(path, framework="pt") as f:
        metadata = f.metadata() or {}
    if CARD_KEY not in metadata:
        raise ValueError(f"{path}: no '{CARD_KEY}' entry in the safetensors metadata; was it written by Dojo "
                         "(checkpoints written before the model card existed lack it)?")
    card = json.loads(metadata[CARD_KEY])
    if card.get("card_version") != 1:
        raise ValueError(f"{path}: model card version {card.get('card_version')}; this loader reads version 1")
    return card


def sequential(card):
    """nn.Sequential from a card's "sequential" entry; indices match Dojo's names (activations take one too)."""
    layers = []
    for layer in card["layers"]:
        assert layer["index"] == len(layers), "layers are listed in index order"
        if layer["type"] == "linear":
            layers.append(nn.Linear(layer["in"], layer["out"], bias=layer["bias"]))
        else:
            layers.append(ACTIVATIONS[layer["type"]]())
    return nn.Sequential(*layers)


def linear(card):
    return nn.Linear(card["in"], card["out"], bias=card["bias"])


class EgoAttention(nn.Module):
    """Ego-attention over an entity set: every row embedded by a shared MLP, the ego row (row 0) queries all rows,
    rows whose presence feature (column 0) is 0 are masked. (B, N*F) -> (B, E)."""

    def __init__(self, card):
        super().__init__()
        self.entities, self.features = card["entities"], card["features"]
        self.embedding = sequential(card["embedding"])
        self.attention = nn.MultiheadAttention(card["embed_dim"], card["heads"], batch_first=True)

    def forward(self, obs):
        rows = obs.reshape(obs.shape[0], self.entities, self.features)
        embedded = self.embedding(rows)                                   # (B, N, E)
        absent = rows[..., 0] == 0                                        # (B, N) key padding mask
        out, _ = self.attention(embedded[:, :1], embedded, embedded, key_padding_mask=absent, need_weights=False)
        out = out[:, 0]
        # Dojo attends to nothing when every row is absent (a zero vector before out_proj); torch gives NaN there.
        nobody = absent.all(dim=1, keepdim=True)
        return torch.where(nobody, self.attention.out_proj.bias.expand_as(out), out)


def run_lstm(lstm, x, state, starts):
    """Steps `lstm` over x (B, T, I) from state (h, c) (each (B, H), or None for zeros), zeroing the state where
    starts (B, T) is 1. Returns the outputs (B, T, H) and the final state."""
    batch, steps = x.shape[0], x.shape[1]
    if state is None:
        zeros = x.new_zeros(batch, lstm.hidden_size)
        state = (zeros, zeros)
    h, c = state[0].unsqueeze(0), state[1].unsqueeze(0)
    outputs = []
    for t in range(steps):
        if starts is not None:
            keep = (1 - starts[:, t]).view(1, batch, 1)
            h, c = h * keep, c * keep
        out, (h, c) = lstm(x[:, t:t + 1], (h, c))
        outputs.append(out)
    return torch.cat(outputs, dim=1), (h.squeeze(0), c.squeeze(0))


class LSTMEncoder(nn.Module):
    """An LSTM over each step's observation (or another encoder's features); its h is the features."""

    def __init__(self, card):
        super().__init__()
        self.lstm = nn.LSTM(card["input_size"], card["hidden_size"], batch_first=True)

    def forward(self, x, state=None, starts=None):
        return run_lstm(self.lstm, x, state, starts)


class AttentionLSTM(nn.Module):
    """Ego-attention on each step's entity set, then an LSTM over the attended features."""

    def __init__(self, card):
        super().__init__()
        self.attention = EgoAttention(card["attention"])
        self.recurrent = LSTMEncoder(card["lstm"])

    def forward(self, obs, state=None, starts=None):
        batch, steps = obs.shape[0], obs.shape[1]
        attended = self.attention(obs.reshape(batch * steps, -1)).reshape(batch, steps, -1)
        return self.recurrent(attended, state, starts)


def encoder(card):
    if card is None:
        return None
    kinds = {"ego_attention": EgoAttention, "lstm": lambda c: LSTMEncoder(c["lstm"]), "attention_lstm": AttentionLSTM}
    if card["type"] not in kinds:
        raise ValueError(f"unknown encoder type {card['type']!r}")
    return kinds[card["type"]](card)


class DojoPolicy(nn.Module):
    """Shared by every network: observation normalization and sequence handling for recurrent policies."""

    recurrent = False

    def __init__(self, card):
        super().__init__()
        self.card = card
        self.normalization = card.get("observation_normalization")

    def attach_statistics(self, tensors):
        if self.normalization:
            for key in ("mean", "var", "count"):  # not in the state_dict: the weights load strictly without them
                self.register_buffer("obs_rms_" + key, tensors[self.normalization[key]].clone(), persistent=False)

    def normalize(self, obs):
        """(obs - mean) / sqrt(var + eps) clipped to +-clip, in float64 as Dojo computes it."""
        if not self.normalization:
            return obs
        n = self.normalization
        scaled = (obs.double() - self.obs_rms_mean.double()) / torch.sqrt(self.obs_rms_var.double() + n["epsilon"])
        return scaled.clamp(-n["clip"], n["clip"]).float()

    def predict(self, observation, state=None, episode_start=None, deterministic=True):
        """One step, as `dojo eval` acts: observation (obs) or (B, obs); returns (action, state). Recurrent policies
        carry `state` (None at the first step) and zero it where `episode_start` is true."""
        if not deterministic:
            raise NotImplementedError("only the greedy / mode action is implemented")
        single = observation.dim() == 1
        obs = observation.reshape(1, -1) if single else observation
        with torch.no_grad():
            if self.recurrent:
                starts = None if episode_start is None else torch.as_tensor(episode_start, dtype=torch.float32).reshape(-1, 1)
                out = self(obs.unsqueeze(1), state=state, episode_starts=starts)
                actions, state = self.actions(out)[:, 0], out["state"]
            else:
                actions = self.actions(self(obs))
        return (actions[0] if single else actions), state


class QNetwork(DojoPolicy):
    """A Q-network: optional encoder, MLP trunk, linear or dueling head. Plain networks keep Dojo's flat names
    (`0.weight`, ...), so their state_dict equals SB3's QNetwork.q_net."""

    def __init__(self, card):
        super().__init__(card)
        enc = encoder(card["encoder"])
        if enc is not None:
            self.encoder = enc
        trunk = sequential(card["trunk"])
        self.dueling = card["head"]["type"] == "dueling"
        if self.dueling:
            self.trunk = trunk
            self.value = linear(card["head"]["value"])
            self.advantage = linear(card["head"]["advantage"])
        else:
            for index, layer in enumerate(trunk):  # q_net.0.weight: the layers sit at the top level of the names
                self.add_module(str(index), layer)
        self.layer_names = [str(index) for index in range(len(trunk))]

    def forward(self, obs):
        h = self.normalize(obs)
        if hasattr(self, "encoder"):
            h = self.encoder(h)
        if not self.dueling:
            for name in self.layer_names:
                h = self._modules[name](h)
            return {"q_values": h}
        h = self.trunk(h)
        a = self.advantage(h)
        return {"q_values": self.value(h) + a - a.mean(dim=1, keepdim=True)}

    def actions(self, out):
        return out["q_values"].argmax(dim=-1)  # the first index on ties, as Dojo


class RecurrentQNetwork(DojoPolicy):
    """DRQN: embedding MLP, LSTM, linear head. forward takes (B, T, obs) and episode_starts (B, T)."""

    recurrent = True

    def __init__(self, card):
        super().__init__(card)
        self.embedding = sequential(card["embedding"])
        self.lstm = nn.LSTM(card["lstm"]["input_size"], card["lstm"]["hidden_size"], batch_first=True)
        self.head = linear(card["head"])

    def forward(self, obs, state=None, episode_starts=None):
        hidden, state = run_lstm(self.lstm, self.embedding(self.normalize(obs)), state, episode_starts)
        return {"q_values": self.head(hidden), "state": state}

    def actions(self, out):
        return out["q_values"].argmax(dim=-1)


class ActorCritic(DojoPolicy):
    """SB3's ActorCriticPolicy layout: features_extractor (optional), mlp_extractor.policy_net / value_net,
    action_net, value_net, log_std (Gaussian)."""

    def __init__(self, card):
        super().__init__(card)
        enc = encoder(card["features_extractor"])
        if enc is not None:
            self.features_extractor = enc
        self.recurrent = card["features_extractor"] is not None and card["features_extractor"]["type"].endswith("lstm")
        trunks = card["mlp_extractor"]
        if trunks["policy_net"] is not None:
            self.mlp_extractor = nn.Module()
            self.mlp_extractor.policy_net = sequential(trunks["policy_net"])
            self.mlp_extractor.value_net = sequential(trunks["value_net"])
        self.action_net = linear(card["action_net"])
        self.value_net = linear(card["value_net"])
        distribution = card["distribution"]
        self.gaussian = distribution["type"] == "diagonal_gaussian"
        if self.gaussian:
            self.log_std = nn.Parameter(torch.zeros(distribution["dimensions"]))
            self.register_buffer("low", torch.tensor([float(x) for x in distribution["low"]]), persistent=False)
            self.register_buffer("high", torch.tensor([float(x) for x in distribution["high"]]), persistent=False)

    def forward(self, obs, state=None, episode_starts=None):
        features = self.normalize(obs)
        out = {}
        if self.recurrent:
            features, out["state"] = self.features_extractor(features, state, episode_starts)
        elif hasattr(self, "features_extractor"):
            features = self.features_extractor(features)
        pi = self.mlp_extractor.policy_net(features) if hasattr(self, "mlp_extractor") else features
        vf = self.mlp_extractor.value_net(features) if hasattr(self, "mlp_extractor") else features
        out["head"] = self.action_net(pi)
        out["values"] = self.value_net(vf)
        return out

    def distribution(self, out):
        if self.gaussian:
            return torch.distributions.Normal(out["head"], self.log_std.exp())
        return torch.distributions.Categorical(logits=out["head"])

    def actions(self, out):
        """The distribution's mode: argmax of the logits, or the means clipped to the action bounds."""
        if self.gaussian:
            return torch.maximum(torch.minimum(out["head"], self.high), self.low)
        return out["head"].argmax(dim=-1)


NETWORKS = {"q_network": QNetwork, "recurrent_q_network": RecurrentQNetwork, "actor_critic": ActorCritic}


def load_policy(path):
    """The policy stored at `path` (a Dojo model.safetensors), weights loaded strictly, in evaluation mode."""
    card = read_card(path)
    tensors = load_file(path)
    network = card["network"]
    if network not in NETWORKS:
        raise ValueError(f"{path}: unknown network {network!r}")
    policy = NETWORKS[network](card)
    prefix = card["prefix"]
    policy.load_state_dict({k[len(prefix):]: v for k, v in tensors.items() if k.startswith(prefix)}, strict=True)
    policy.attach_statistics(tensors)
    return policy.eval()


if __name__ == "__main__":
    import sys
    if len(sys.argv) != 2:
        sys.exit("usage: torch_policies.py MODEL.safetensors   (prints the rebuilt torch module)")
    print(load_policy(sys.argv[1]))
