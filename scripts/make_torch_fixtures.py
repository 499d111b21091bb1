#!/usr/bin/env python3
"""Generates the PyTorch parity fixtures that `swift test` checks (Tests/Fixtures/neural/*.safetensors).

Every fixture is a safetensors file holding a module's weights (PyTorch state_dict names), its inputs, its outputs,
an upstream gradient `output_grad` (the loss is sum(output * output_grad)), and the resulting input and parameter
gradients (`grad.<name>`). Optimizer fixtures hold 10-step trajectories. Swift reads them with Dojo's own
safetensors reader, so the tests need no Python.

The Dojo -> PyTorch direction: Dojo writes Tests/Fixtures/neural/dojo_model.safetensors (regenerate with
`DOJO_WRITE_FIXTURES=1 swift test --filter dojoWrittenModel`); this script loads it into the equivalent torch
modules with strict=True and records their outputs, which Swift then compares with its own.

Run: scripts/make_fixtures.sh  (or .venv-anchors/bin/python scripts/make_torch_fixtures.py)
"""
import os
import torch
import torch.nn as nn
import torch.nn.functional as F
from safetensors.torch import save_file, load_file

torch.manual_seed(20261129)
torch.set_num_threads(1)
OUT = os.path.join(os.path.dirname(__file__), "..", "Tests", "Fixtures", "neural")
os.makedirs(OUT, exist_ok=True)


def save(name, tensors):
    clean = {k: v.detach().contiguous().clone() for k, v in tensors.items()}
    save_file(clean, os.path.join(OUT, name + ".safetensors"), metadata={"generator": "scripts/make_torch_fixtures.py",
                                                                         "torch": torch.__version__})


def module_case(module, inputs, forward):
    """Runs forward(*inputs) -> output, backpropagates sum(output * output_grad); returns tensors to save."""
    for x in inputs.values():
        x.requires_grad_(True)
    out = forward(**inputs)
    outputs = out if isinstance(out, dict) else {"output": out}
    # Outputs named aux_* are recorded but take no part in the loss.
    upstream = {k + "_grad": torch.randn_like(v) for k, v in outputs.items() if not k.startswith("aux_")}
    loss = sum((v * upstream[k + "_grad"]).sum() for k, v in outputs.items() if not k.startswith("aux_"))
    loss.backward()
    tensors = {}
    for name, p in module.state_dict().items():
        tensors["module." + name] = p
    tensors.update(outputs)
    tensors.update(upstream)
    for k, x in inputs.items():
        tensors[k] = x
        tensors[k + "_grad"] = x.grad
    for name, p in module.named_parameters():
        tensors["grad." + name] = p.grad
    return tensors


def randomize(module):
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(torch.randn_like(p) * 0.5)


# Linear
lin = nn.Linear(5, 7)
save("linear", module_case(lin, {"input": torch.randn(8, 5)}, lambda input: lin(input)))

# Activations (each its own input)
act = {}
for name, fn in [("relu", F.relu), ("tanh", torch.tanh), ("sigmoid", torch.sigmoid), ("gelu", F.gelu),
                 ("softmax", lambda x: F.softmax(x, dim=-1)), ("log_softmax", lambda x: F.log_softmax(x, dim=-1))]:
    x = (torch.randn(6, 5) * 2).requires_grad_(True)
    y = fn(x)
    g = torch.randn_like(y)
    (y * g).sum().backward()
    act.update({f"{name}.input": x, f"{name}.output": y, f"{name}.output_grad": g, f"{name}.input_grad": x.grad})
save("activations", act)

# LayerNorm with non-trivial affine parameters
ln = nn.LayerNorm(6)
randomize(ln)
save("layernorm", module_case(ln, {"input": torch.randn(5, 6) * 3 + 1}, lambda input: ln(input)))

# BatchNorm1d: one training step (batch statistics, running-stat update) then one evaluation step.
bn = nn.BatchNorm1d(5)
randomize(bn)
with torch.no_grad():
    bn.running_mean.copy_(torch.randn(5) * 0.1)
    bn.running_var.copy_(torch.rand(5) + 0.5)
initial = {"initial." + k: v.clone() for k, v in bn.state_dict().items()}
bn.train()
train = module_case(bn, {"input": torch.randn(8, 5) * 2 + 0.5}, lambda input: bn(input))
bn.zero_grad()
bn.eval()
evaluation = module_case(bn, {"input": torch.randn(4, 5)}, lambda input: bn(input))
bn_tensors = dict(initial)
bn_tensors.update({"train." + k: v for k, v in train.items()})
bn_tensors.update({"eval." + k: v for k, v in evaluation.items()})
save("batchnorm", bn_tensors)

# LSTM with initial state, a reset mask (state zeroed where an episode starts) and gradients into the final state.
lstm = nn.LSTM(4, 5, batch_first=True)
B, T = 3, 6
reset = torch.zeros(B, T)
reset[0, 3] = 1
reset[2, 1] = 1
reset[2, 4] = 1


def lstm_forward(input, h0, c0):
    h, c = h0.unsqueeze(0), c0.unsqueeze(0)
    outs = []
    for t in range(T):
        keep = (1 - reset[:, t]).view(1, B, 1)
        h, c = h * keep, c * keep
        o, (h, c) = lstm(input[:, t:t + 1], (h, c))
        outs.append(o)
    return {"output": torch.cat(outs, dim=1), "final_h": h.squeeze(0), "final_c": c.squeeze(0)}


lstm_t = module_case(lstm, {"input": torch.randn(B, T, 4), "h0": torch.randn(B, 5), "c0": torch.randn(B, 5)},
                     lstm_forward)
lstm_t["reset"] = reset
# The stepwise loop without resets equals nn.LSTM on the whole sequence (a check of the fixture itself).
with torch.no_grad():
    x = torch.randn(B, T, 4)
    full, _ = lstm(x)
    h = torch.zeros(1, B, 5)
    c = torch.zeros(1, B, 5)
    steps = []
    for t in range(T):
        o, (h, c) = lstm(x[:, t:t + 1], (h, c))
        steps.append(o)
    assert torch.allclose(full, torch.cat(steps, 1), atol=1e-6)
save("lstm", lstm_t)

# Multi-head attention, cross-attention with a key padding mask (no query fully masked).
mha = nn.MultiheadAttention(8, 2, batch_first=True)
randomize(mha)
mask = torch.zeros(3, 5, dtype=torch.bool)
mask[0, 4] = True
mask[1, 2:] = True


def mha_forward(query, key, value):
    out, weights = mha(query, key, value, key_padding_mask=mask, need_weights=True, average_attn_weights=True)
    return {"output": out, "aux_weights": weights}


mha_t = module_case(mha, {"query": torch.randn(3, 4, 8), "key": torch.randn(3, 5, 8), "value": torch.randn(3, 5, 8)},
                    mha_forward)
mha_t["key_padding_mask"] = mask.float()
save("mha", mha_t)

# Losses and distributions.
loss_t = {}
pred = torch.randn(4, 3, requires_grad=True)
target = torch.randn(4, 3)
for name, fn in [("mse", F.mse_loss), ("huber", lambda p, t: F.huber_loss(p, t, delta=0.7))]:
    pred.grad = None
    value = fn(pred * 2, target * 2)  # scale so some Huber residuals pass delta
    value.backward()
    loss_t.update({f"{name}.value": value.reshape(1), f"{name}.grad": pred.grad.clone() / 2})
loss_t["prediction"] = pred * 2
loss_t["target"] = target * 2
logits = torch.randn(5, 4, requires_grad=True)
labels = torch.tensor([0, 3, 1, 1, 2])
ce = F.cross_entropy(logits, labels)
ce.backward()
loss_t.update({"logits": logits, "labels": labels.float(), "ce.value": ce.reshape(1), "ce.grad": logits.grad.clone()})
logits.grad = None
dist = torch.distributions.Categorical(logits=logits)
up_lp, up_h = torch.randn(5), torch.randn(5)
lp, ent = dist.log_prob(labels), dist.entropy()
((lp * up_lp).sum() + (ent * up_h).sum()).backward()
loss_t.update({"categorical.log_prob": lp, "categorical.entropy": ent, "categorical.log_prob_upstream": up_lp,
               "categorical.entropy_upstream": up_h, "categorical.logits_grad": logits.grad})
mean = torch.randn(5, 2, requires_grad=True)
log_std = (torch.randn(2) * 0.3).requires_grad_(True)
actions = torch.randn(5, 2)
normal = torch.distributions.Normal(mean, log_std.exp())
glp = normal.log_prob(actions).sum(-1)
gent = normal.entropy().sum(-1)
up = torch.randn(5)
((glp * up).sum() + gent.sum()).backward()
loss_t.update({"gaussian.mean": mean, "gaussian.log_std": log_std, "gaussian.actions": actions,
               "gaussian.log_prob": glp, "gaussian.entropy": gent[:1], "gaussian.upstream": up,
               "gaussian.mean_grad": mean.grad, "gaussian.log_std_grad": log_std.grad})
save("losses", loss_t)

# Optimizers: 10 steps on L = sum(0.5 * a * p^2 + b * p), so grad = a * p + b, from the same start.
w0, v0 = torch.randn(4, 3), torch.randn(3)
coef = {"a.w": torch.rand(4, 3) + 0.5, "b.w": torch.randn(4, 3), "a.v": torch.rand(3) + 0.5, "b.v": torch.randn(3)}
configs = {
    "sgd": (torch.optim.SGD, dict(lr=0.1)),
    "sgd_momentum": (torch.optim.SGD, dict(lr=0.05, momentum=0.9, dampening=0.1, weight_decay=0.01)),
    "sgd_nesterov": (torch.optim.SGD, dict(lr=0.05, momentum=0.9, nesterov=True)),
    "adam": (torch.optim.Adam, dict(lr=0.01)),
    "adam_l2_amsgrad": (torch.optim.Adam, dict(lr=0.02, betas=(0.8, 0.99), weight_decay=0.1, amsgrad=True)),
    "adamw": (torch.optim.AdamW, dict(lr=0.01, weight_decay=0.1)),
    "adamax": (torch.optim.Adamax, dict(lr=0.02, weight_decay=0.01)),
    "adagrad": (torch.optim.Adagrad, dict(lr=0.1, lr_decay=0.01, initial_accumulator_value=0.1)),
    "rmsprop": (torch.optim.RMSprop, dict(lr=0.01)),
    "rmsprop_centered_momentum": (torch.optim.RMSprop, dict(lr=0.01, momentum=0.5, centered=True, weight_decay=0.01)),
}
opt_t = {"initial.w": w0, "initial.v": v0}
opt_t.update(coef)
for name, (cls, kwargs) in configs.items():
    w, v = w0.clone().requires_grad_(True), v0.clone().requires_grad_(True)
    opt = cls([w, v], foreach=False, **kwargs)
    for step in range(1, 11):
        opt.zero_grad()
        loss = (0.5 * coef["a.w"] * w * w + coef["b.w"] * w).sum() + (0.5 * coef["a.v"] * v * v + coef["b.v"] * v).sum()
        loss.backward()
        opt.step()
        opt_t[f"{name}.step{step}.w"] = w.detach().clone()
        opt_t[f"{name}.step{step}.v"] = v.detach().clone()
# Global gradient-norm clipping.
g1, g2 = torch.randn(4, 3) * 3, torch.randn(3) * 3
p1, p2 = torch.zeros(4, 3, requires_grad=True), torch.zeros(3, requires_grad=True)
p1.grad, p2.grad = g1.clone(), g2.clone()
norm = torch.nn.utils.clip_grad_norm_([p1, p2], max_norm=2.0)
opt_t.update({"clip.grad.w": g1, "clip.grad.v": g2, "clip.clipped.w": p1.grad, "clip.clipped.v": p2.grad,
              "clip.norm": norm.reshape(1)})
save("optimizers", opt_t)

# PyTorch -> Dojo: a state_dict saved by safetensors.torch, exactly as a user would save it.
torch_mlp = nn.Sequential(nn.Linear(4, 16), nn.Tanh(), nn.Linear(16, 3))
save_file(torch_mlp.state_dict(), os.path.join(OUT, "torch_mlp.safetensors"))
x = torch.randn(6, 4)
save("torch_mlp_io", {"input": x, "output": torch_mlp(x)})


# Dojo -> PyTorch: load Dojo's file into the equivalent modules (strict) and record their outputs.
def dojo_model():
    return nn.ModuleDict({
        "encoder": nn.Sequential(nn.Linear(6, 8), nn.LayerNorm(8), nn.Tanh(), nn.Linear(8, 8)),
        "norm": nn.BatchNorm1d(8),
        "lstm": nn.LSTM(8, 8, batch_first=True),
        "attention": nn.MultiheadAttention(8, 2, batch_first=True),
    })


dojo_path = os.path.join(OUT, "dojo_model.safetensors")
if os.path.exists(dojo_path):
    model = dojo_model()
    model.load_state_dict(load_file(dojo_path), strict=True)
    model.eval()
    x = torch.randn(2, 3, 6)
    with torch.no_grad():
        encoded = model["encoder"](x.reshape(6, 6))
        normed = model["norm"](encoded).reshape(2, 3, 8)
        seq, _ = model["lstm"](normed)
        attended, _ = model["attention"](seq, seq, seq)
    save("dojo_model_torch_io", {"input": x, "encoded": encoded, "normed": normed, "lstm": seq, "attention": attended})
else:
    print("note: dojo_model.safetensors missing; run DOJO_WRITE_FIXTURES=1 swift test --filter dojoWrittenModel first")


# Dojo -> PyTorch for DQN checkpoints: Q-networks under q_net.* (plain nn.Sequential, and a dueling head).
class Dueling(nn.Module):
    def __init__(self):
        super().__init__()
        self.trunk = nn.Sequential(nn.Linear(5, 16), nn.ReLU(), nn.Linear(16, 16), nn.ReLU())
        self.value, self.advantage = nn.Linear(16, 1), nn.Linear(16, 3)

    def forward(self, x):
        h = self.trunk(x)
        a = self.advantage(h)
        return self.value(h) + a - a.mean(dim=1, keepdim=True)


for name, module in [("dojo_qnet", nn.Sequential(nn.Linear(5, 16), nn.ReLU(), nn.Linear(16, 16), nn.ReLU(), nn.Linear(16, 3))),
                     ("dojo_qnet_dueling", Dueling())]:
    path = os.path.join(OUT, name + ".safetensors")
    if not os.path.exists(path):
        print(f"note: {name}.safetensors missing; run DOJO_WRITE_FIXTURES=1 swift test --filter dojoQNetworkLoadsInTorch first")
        continue
    state = {k[len("q_net."):]: v for k, v in load_file(path).items()}
    module.load_state_dict(state, strict=True)
    x = torch.randn(4, 5)
    with torch.no_grad():
        save(name + "_torch_io", {"input": x, "q_values": module(x)})
print("fixtures written to", os.path.normpath(OUT))
