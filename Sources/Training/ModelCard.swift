import Agents
import Foundation
import Neural
import Sim

/// The model card every `model.safetensors` carries in its `__metadata__` under ``key``: one JSON object that
/// describes the network fully — each layer with its tensor-name prefix, sizes and activation, how the pieces are
/// wired (which attention projection is the query, how absent entities are masked, what the head reads), the LSTM's
/// gate order and state, the head (linear, dueling, actor-critic with categorical or Gaussian distribution), how a
/// greedy or deterministic action is chosen, and the observation normalization (`obs_rms.*` tensors). With it a
/// PyTorch user rebuilds the policy from the file alone (`scripts/torch_policies.py`); the schema is documented in
/// `docs/checkpoint-format.md`.
///
/// The card is built by inspecting the network object itself, and every prefix it names is read from the network's
/// own parameter names, so it cannot drift from the tensors stored beside it.
public enum ModelCard {
    /// The `__metadata__` key holding the card.
    public static let key = "dojo.model"
    /// Raised when the card's layout changes incompatibly.
    public static let version = 1

    /// Observation normalization as the actor-critic trainers apply it (VecNormalize's observation part).
    public static let normalizationEpsilon = 1e-8
    public static let normalizationClip = 10.0

    /// `[key: card JSON]` for `network` (a `QNetwork`, `RecurrentQNetwork` or `ActorCriticPolicy`) stored under
    /// `prefix`; `copies` names other prefixes holding the same architecture (DQN's `q_net_target.`).
    public static func metadata(network: any Module, prefix: String, copies: [String] = [], observationSpace: Space,
                                actionSpace: Space, normalizesObservations: Bool = false) -> [String: String] {
        var card: [String: Any] = [
            "card_version": version,
            "layer_types": [
                "sequential": "nn.Sequential: layers applied in order, named by their index (activations take an index too)",
                "linear": "nn.Linear(in, out, bias): y = x W^T + b, weight (out, in), bias (out)",
                "relu": "nn.ReLU()", "tanh": "nn.Tanh()", "sigmoid": "nn.Sigmoid()", "gelu": "nn.GELU(), the exact erf form",
            ],
            "prefix": prefix,
            "observation": space(observationSpace),
            "action": space(actionSpace),
        ]
        if !copies.isEmpty { card["same_architecture_under"] = copies }
        let names = Names(network, prefix: prefix)
        switch network {
        case let q as QNetwork: describe(q, names, into: &card)
        case let q as RecurrentQNetwork: describe(q, names, into: &card)
        case let policy as ActorCriticPolicy: describe(policy, actionSpace: actionSpace, names, into: &card)
        case let actor as SquashedGaussianActor: describe(actor, actionSpace: actionSpace, names, into: &card)
        case let actor as DeterministicActor: describe(actor, actionSpace: actionSpace, names, into: &card)
        default: card["network"] = String(describing: type(of: network))
        }
        if normalizesObservations {
            card["observation_normalization"] = [
                "mean": "obs_rms.mean", "var": "obs_rms.var", "count": "obs_rms.count",
                "epsilon": normalizationEpsilon, "clip": normalizationClip,
                "formula": "clip((obs - mean) / sqrt(var + epsilon), -clip, clip), in float64, before the network; "
                    + "the statistics are frozen (float32 values) when acting from a checkpoint",
            ] as [String: Any]
        }
        // Sorted keys: the same network always writes the same bytes (checkpoints are compared bit for bit).
        guard let data = try? JSONSerialization.data(withJSONObject: card, options: [.sortedKeys]),
              let json = String(data: data, encoding: .utf8) else {
            preconditionFailure("the model card holds only strings, numbers, booleans, arrays and objects")
        }
        return [key: json]
    }

    /// The card for a network acting in `environment` (its observation and action spaces).
    public static func metadata(network: any Module, prefix: String, copies: [String] = [], of environment: AnyEnvironment,
                                normalizesObservations: Bool = false) -> [String: String] {
        metadata(network: network, prefix: prefix, copies: copies, observationSpace: environment.observationSpace,
                 actionSpace: environment.actionSpace, normalizesObservations: normalizesObservations)
    }

    // MARK: Networks

    private static func describe(_ q: QNetwork, _ names: Names, into card: inout [String: Any]) {
        card["network"] = "q_network"
        card["encoder"] = q.encoder.map { encoder($0, names) } ?? NSNull()
        if let value = q.value, let advantage = q.advantage {
            card["trunk"] = sequential(q.body, names)
            card["head"] = ["type": "dueling", "value": linear(value, names), "advantage": linear(advantage, names),
                            "combine": "Q = value + advantage - mean over actions of advantage (Wang et al. 2016)"]
                as [String: Any]
        } else {
            card["trunk"] = sequential(q.body, names)
            card["head"] = ["type": "linear", "note": "the trunk's last layer gives the Q-values (no activation after it)"]
        }
        card["forward"] = "Q = head(trunk(encoder(obs) if encoder else obs)); obs (B, obs) -> Q (B, actions)"
        card["act"] = "greedy: argmax over actions of Q, the first index on ties"
    }

    private static func describe(_ q: RecurrentQNetwork, _ names: Names, into card: inout [String: Any]) {
        card["network"] = "recurrent_q_network"
        card["embedding"] = sequential(q.embedding, names)
        card["lstm"] = lstm(q.lstm, names)
        card["head"] = linear(q.head, names)
        card["forward"] = "per step t: (h, c) = lstm(embedding(obs_t), (h, c)); Q_t = head(h); obs (B, T, obs) -> "
            + "Q (B, T, actions)"
        card["act"] = "greedy: argmax over actions of Q, the first index on ties; (h, c) start at zero and are reset to "
            + "zero when an episode starts"
    }

    private static func describe(_ policy: ActorCriticPolicy, actionSpace: Space, _ names: Names,
                                 into card: inout [String: Any]) {
        card["network"] = "actor_critic"
        card["layout"] = "Stable-Baselines3 ActorCriticPolicy: one features extractor shared by actor and critic, "
            + "separate policy and value MLPs (mlp_extractor), action_net and value_net heads"
        card["features_extractor"] = policy.encoder.map { encoder($0, names) } ?? NSNull()
        card["mlp_extractor"] = ["policy_net": policy.policyTrunk.map { sequential($0, names) } ?? NSNull(),
                                 "value_net": policy.valueTrunk.map { sequential($0, names) } ?? NSNull(),
                                 "note": "null: no hidden layers (the heads read the features directly)"] as [String: Any]
        card["action_net"] = linear(policy.actionHead, names)
        card["value_net"] = linear(policy.valueHead, names)
        switch policy.distribution {
        case .categorical(let actions):
            card["distribution"] = ["type": "categorical", "actions": actions, "action_net_gives": "logits"] as [String: Any]
            card["act"] = "deterministic: argmax of the logits, the first index on ties; sampling: Categorical(logits)"
        case .gaussian(let dimensions):
            let distribution: [String: Any] = [
                "type": "diagonal_gaussian", "dimensions": dimensions, "action_net_gives": "means",
                "log_std": names.name(of: policy.logStd), "std": "exp(log_std), the same for every observation",
                "squashing": "none: actions are clipped to the action space's bounds before the environment",
            ]
            card["distribution"] = squashing(actionSpace, distribution)
            card["act"] = "deterministic: the means clipped to [low, high]; sampling: Normal(means, exp(log_std)), "
                + "then clipped (log-probabilities are those of the unclipped sample)"
        }
        card["forward"] = "features = features_extractor(obs) if it exists else obs; head = "
            + "action_net(mlp_extractor.policy_net(features)) (B, actions); value = value_net(mlp_extractor.value_net(features)) (B, 1)"
    }

    /// SAC's actor (the critics and targets stored beside it are for resuming; acting needs the actor alone).
    private static func describe(_ actor: SquashedGaussianActor, actionSpace: Space, _ names: Names, into card: inout [String: Any]) {
        card["network"] = "sac_actor"
        card["layout"] = "Stable-Baselines3 SAC Actor: features_extractor (attention only), latent_pi hidden layers, "
            + "mu and log_std linear heads; critic.qf<i>.* and critic_target.* hold the Q-networks (input: features "
            + "concatenated with the action in the [-1, 1] scale), log_ent_coef the log-temperature"
        card["features_extractor"] = actor.encoder.map { encoder($0, names) } ?? NSNull()
        card["latent_pi"] = actor.latent.map { sequential($0, names) } ?? NSNull()
        card["mu"] = linear(actor.mu, names)
        card["log_std"] = linear(actor.logStd, names)
        card["distribution"] = squashing(actionSpace, [
            "type": "tanh_squashed_gaussian", "dimensions": actor.actionDimensions,
            "log_std_clamp": [Double(SquashedGaussianActor.logStdRange.lowerBound), Double(SquashedGaussianActor.logStdRange.upperBound)],
            "log_prob": "Normal(mu, exp(log_std)).log_prob(u).sum - log(1 - tanh(u)^2 + 1e-6).sum, u = mu + exp(log_std) * eps",
        ])
        card["forward"] = "latent = latent_pi(features_extractor(obs) if it exists else obs); mu = mu(latent); "
            + "log_std = clamp(log_std(latent), -20, 2)"
        card["act"] = "deterministic: low + (tanh(mu) + 1) / 2 * (high - low); sampling: tanh(mu + exp(log_std) * eps), "
            + "eps ~ N(0, 1), rescaled the same way"
    }

    /// TD3's actor.
    private static func describe(_ actor: DeterministicActor, actionSpace: Space, _ names: Names, into card: inout [String: Any]) {
        card["network"] = "td3_actor"
        card["layout"] = "Stable-Baselines3 TD3 Actor: features_extractor (attention only), then mu: hidden layers, a "
            + "linear output and tanh; actor_target.*, critic.qf<i>.* and critic_target.* are stored for resuming"
        card["features_extractor"] = actor.encoder.map { encoder($0, names) } ?? NSNull()
        card["mu"] = sequential(actor.mu, names)
        card["distribution"] = squashing(actionSpace, ["type": "deterministic", "dimensions": actor.actionDimensions])
        card["forward"] = "a = mu(features_extractor(obs) if it exists else obs), in [-1, 1]"
        card["act"] = "low + (a + 1) / 2 * (high - low)"
    }

    /// A distribution's description with the action space's bounds it is rescaled to.
    private static func squashing(_ actionSpace: Space, _ description: [String: Any]) -> [String: Any] {
        var result = description
        if case .box(let low, let high, _) = actionSpace { result["low"] = low.map(number); result["high"] = high.map(number) }
        return result
    }

    // MARK: Encoders

    private static func encoder(_ encoder: any ObservationEncoder, _ names: Names) -> [String: Any] {
        switch encoder {
        case let attention as EgoAttentionEncoder: return egoAttention(attention, names)
        case let recurrent as LSTMEncoder:
            return ["type": "lstm", "lstm": lstm(recurrent.lstm, names), "output_size": recurrent.outputSize,
                    "note": "the LSTM reads the observation of each step; its h is the features. Acting carries (h, c) "
                        + "per environment, zeroed when an episode starts; actor and critic share it (sb3-contrib shared_lstm)"]
        case let combined as AttentionLSTMEncoder:
            return ["type": "attention_lstm", "attention": egoAttention(combined.attention, names),
                    "lstm": lstm(combined.recurrent.lstm, names), "output_size": combined.outputSize,
                    "note": "each step's entity set goes through the ego-attention; the LSTM reads the attended ego "
                        + "feature; its h is the features. (h, c) as for the lstm encoder"]
        case let expander as CellCodeExpander:
            let layout = expander.layout
            return ["type": "cell_codes", "cells": layout.cells, "planes": layout.planes, "marker_plane": layout.markerPlane,
                    "extras": layout.extras, "output_size": expander.outputSize,
                    "note": "no parameters: obs[i] for i < cells is a code c; plane (c & 15) - 1 of cell i is 1 when c & 15 > 0, "
                        + "and plane marker_plane of cell i is 1 when c & 16; planes are laid out plane-major (plane * cells + i), "
                        + "then the extras copied; the rest is 0"]
        default:
            return ["type": String(describing: type(of: encoder)), "output_size": encoder.outputSize]
        }
    }

    private static func egoAttention(_ encoder: EgoAttentionEncoder, _ names: Names) -> [String: Any] {
        let attention = encoder.attention
        let E = attention.embedDimension
        return [
            "type": "ego_attention",
            "entities": encoder.entities, "features": encoder.features, "embed_dim": E, "heads": attention.headCount,
            "input": "obs (B, entities * features) viewed as (B, entities, features); row 0 is the ego, feature 0 of "
                + "every row is presence (1 present, 0 absent)",
            "embedding": sequential(encoder.embedding, names),
            "embedding_applies_to": "every row, the ego's and the absent ones included, with shared weights",
            "attention": [
                "type": "multihead_attention", "prefix": names.prefix(of: attention.inProjectionWeight, dropping: "in_proj_weight"),
                "embed_dim": E, "heads": attention.headCount, "head_dim": attention.headDimension, "batch_first": true,
                "torch": "nn.MultiheadAttention(embed_dim, heads, batch_first=True), bias on, no add_bias_kv",
                "in_proj_weight": "(3E, E): rows [0, E) project the query, [E, 2E) the keys, [2E, 3E) the values; "
                    + "in_proj_bias (3E) likewise",
                "scores": "per head, softmax(q k^T / sqrt(head_dim)) over the keys",
                "out_proj": "(E, E) linear over the heads' outputs concatenated in head order",
            ] as [String: Any],
            "query": "the ego row's embedding only (one query per observation)",
            "keys_values": "the embeddings of all rows, the ego's included",
            "padding_mask": "key_padding_mask[b, j] = (obs[b, j, 0] == 0): absent rows get no attention weight. "
                + "When every row is absent the attended vector is zero, so the output is out_proj.bias (PyTorch gives NaN)",
            "pooling": "none: the output is the ego query's attention output (B, E), after out_proj; no residual, no norm",
            "output_size": encoder.outputSize,
        ]
    }

    // MARK: Layers

    private static func lstm(_ lstm: LSTM, _ names: Names) -> [String: Any] {
        [
            "type": "lstm", "prefix": names.prefix(of: lstm.weightIH, dropping: "weight_ih_l0"),
            "input_size": lstm.inputSize, "hidden_size": lstm.hiddenSize, "num_layers": 1, "batch_first": true,
            "torch": "nn.LSTM(input_size, hidden_size, batch_first=True)",
            "gate_order": ["i", "f", "g", "o"],
            "tensors": "weight_ih_l0 (4H, input), weight_hh_l0 (4H, H), bias_ih_l0 (4H), bias_hh_l0 (4H); gate rows in gate_order",
            "cell": "gates = x W_ih^T + b_ih + h_prev W_hh^T + b_hh, split into i, f, g, o; i, f, o = sigmoid, g = tanh; "
                + "c = f * c_prev + i * g; h = o * tanh(c); the output is h",
            "state": "(h, c), each (B, H); zero at an episode start",
        ]
    }

    private static func sequential(_ sequential: Sequential, _ names: Names) -> [String: Any] {
        var layers: [[String: Any]] = []
        var prefix = ""
        for (index, layer) in sequential.layers.enumerated() {
            switch layer {
            case let linear as Linear:
                let own = names.prefix(of: linear.weight, dropping: "weight")
                if prefix.isEmpty { prefix = String(own.dropLast("\(index).".count)) }
                layers.append(["index": index, "type": "linear", "in": linear.inputFeatures, "out": linear.outputFeatures,
                               "bias": linear.bias != nil])
            case let activation as Activation:
                layers.append(["index": index, "type": activation.function.rawValue])
            default:
                layers.append(["index": index, "type": String(describing: type(of: layer))])
            }
        }
        return ["type": "sequential", "prefix": prefix, "layers": layers]
    }

    private static func linear(_ linear: Linear, _ names: Names) -> [String: Any] {
        ["type": "linear", "prefix": names.prefix(of: linear.weight, dropping: "weight"), "in": linear.inputFeatures,
         "out": linear.outputFeatures, "bias": linear.bias != nil]
    }

    private static func space(_ space: Space) -> [String: Any] {
        switch space {
        case .discrete(let n): return ["type": "discrete", "n": n]
        case .box(let low, let high, let shape):
            return ["type": "box", "shape": shape, "low": low.map(number), "high": high.map(number)]
        case .multiDiscrete(let counts): return ["type": "multi_discrete", "nvec": counts]
        case .entitySet(let rows, let features):
            return ["type": "entity_set", "shape": [rows, features],
                    "note": "rows of entities, row 0 the ego; feature 0 is presence (1 present, 0 an empty row of zeros)"]
        case .dict(let keys, let spaces):
            return ["type": "dict", "keys": keys, "spaces": spaces.map { Self.space($0) },
                    "note": "the networks read the parts' values concatenated in key order"]
        }
    }

    /// A bound as JSON: the number, or the strings "inf" / "-inf" (JSON has no infinity; Python's float() reads them).
    private static func number(_ value: Float) -> Any {
        value.isFinite ? Double(value) : (value > 0 ? "inf" : "-inf")
    }

    /// The stored name of each parameter of the network, to read prefixes from.
    private struct Names {
        let byParameter: [ObjectIdentifier: String]
        init(_ network: any Module, prefix: String) {
            var names: [ObjectIdentifier: String] = [:]
            for named in network.namedParameters(prefix: prefix) { names[ObjectIdentifier(named.parameter)] = named.name }
            byParameter = names
        }
        func name(of parameter: Parameter?) -> String {
            parameter.flatMap { byParameter[ObjectIdentifier($0)] } ?? "?"
        }
        /// The prefix of the module owning `parameter`, whose own name for it is `leaf`.
        func prefix(of parameter: Parameter, dropping leaf: String) -> String {
            let full = name(of: parameter)
            return full.hasSuffix(leaf) ? String(full.dropLast(leaf.count)) : full
        }
    }
}
