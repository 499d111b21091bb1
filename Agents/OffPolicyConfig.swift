import Foundation
import Neural
import Sim

/// Hyperparameters of the off-policy actor-critic agents for continuous actions, SAC and TD3, with
/// Stable-Baselines3's names and each algorithm's SB3 defaults (``sac``, ``td3``). Both share the replay, the twin
/// critics and the target averaging; the entropy settings are SAC's, the delay and smoothing settings TD3's.
public struct OffPolicyConfig: Codable, Equatable, Sendable {
    /// Adam learning rate of the actor, the critics and (SAC) the temperature.
    public var learningRate: Double = 3e-4
    /// If set, the learning rate falls linearly from `learning_rate` to this value over training.
    public var learningRateEnd: Double?
    /// Replay buffer capacity, in transitions.
    public var bufferSize: Int = 1_000_000
    /// Environment steps collected with uniformly random actions before learning starts.
    public var learningStarts: Int = 100
    /// Minibatch size.
    public var batchSize: Int = 256
    /// Target averaging coefficient: θ′ ← τθ + (1 − τ)θ′.
    public var tau: Double = 0.005
    /// Discount factor.
    public var gamma: Double = 0.99
    /// Vector steps between updates.
    public var trainFreq: Int = 1
    /// Gradient steps per update; −1 takes one per environment step collected since the last update (SB3's −1).
    public var gradientSteps: Int = 1
    /// SAC: the entropy temperature α: "auto" (learned, starting at 1), "auto_X" (learned, starting at X) or a fixed
    /// positive number.
    public var entCoef: String = "auto"
    /// SAC: the entropy the learned temperature aims for: "auto" (−action dimensions) or a number.
    public var targetEntropy: String = "auto"
    /// SAC: gradient steps between target updates.
    public var targetUpdateInterval: Int = 1
    /// Hidden layer sizes of the actor and of each critic.
    public var netArch: [Int] = [256, 256]
    /// Hidden-layer nonlinearity.
    public var activationFn: String = "relu"
    /// Number of Q-networks; targets take their minimum (clipped double-Q).
    public var nCritics: Int = 2
    /// Observation encoder: "mlp" (the observation goes straight to the hidden layers) or "attention" (ego-attention
    /// over an entity-set observation; the actor and the critics each have their own).
    public var encoder: String = "mlp"
    public var embedDim: Int = 64
    public var attentionHeads: Int = 2
    /// TD3: critic updates per actor (and target) update.
    public var policyDelay: Int = 2
    /// TD3: standard deviation of the Gaussian noise added to target actions (in the [−1, 1] action scale).
    public var targetPolicyNoise: Double = 0.2
    /// TD3: the target noise is clipped to ±this.
    public var targetNoiseClip: Double = 0.5
    /// Exploration noise added to the actor's action while collecting: "none" or "normal" (rl-baselines3-zoo's
    /// `noise_type`).
    public var noiseType: String = "none"
    /// Standard deviation of the exploration noise, in the [−1, 1] action scale (the zoo's `noise_std`).
    public var noiseStd: Double = 0.1
    /// "replaybuffer", or "herreplaybuffer" for hindsight relabelling of goal-conditioned tasks (SB3's
    /// `replay_buffer_class`, lowercased).
    public var replayBufferClass: String = "replaybuffer"
    /// Hindsight replay: relabelled goals per real transition (a minibatch is n/(n + 1) relabelled).
    public var nSampledGoal: Int = 4
    /// Hindsight replay: where relabelled goals come from: future, final or episode.
    public var goalSelectionStrategy: String = "future"

    /// Running normalization of observations (VecNormalize's norm_obs): the replay keeps raw observations and each
    /// minibatch is normalized with the current statistics, after any relabelling.
    public var normalizeObservations: Bool = false

    /// Whether the replay relabels goals.
    public var usesHindsight: Bool { replayBufferClass == "herreplaybuffer" }

    public init() {}

    /// Soft Actor-Critic with SB3's defaults.
    public static let sac = OffPolicyConfig()

    /// TD3 with SB3's defaults, except exploration noise: SB3 adds none unless told, the zoo's TD3 settings all add
    /// Gaussian noise (σ 0.1), and a deterministic actor without noise explores only through its initial weights.
    public static let td3: OffPolicyConfig = {
        var config = OffPolicyConfig()
        config.learningRate = 1e-3
        config.netArch = [400, 300]
        config.noiseType = "normal"
        return config
    }()

    enum CodingKeys: String, CodingKey, CaseIterable {
        case learningRate = "learning_rate", learningRateEnd = "learning_rate_end", bufferSize = "buffer_size"
        case learningStarts = "learning_starts", batchSize = "batch_size", tau, gamma, trainFreq = "train_freq"
        case gradientSteps = "gradient_steps", entCoef = "ent_coef", targetEntropy = "target_entropy"
        case targetUpdateInterval = "target_update_interval", netArch = "net_arch", activationFn = "activation_fn"
        case nCritics = "n_critics", encoder, embedDim = "embed_dim", attentionHeads = "attention_heads"
        case policyDelay = "policy_delay", targetPolicyNoise = "target_policy_noise", targetNoiseClip = "target_noise_clip"
        case noiseType = "noise_type", noiseStd = "noise_std", replayBufferClass = "replay_buffer_class"
        case nSampledGoal = "n_sampled_goal", goalSelectionStrategy = "goal_selection_strategy"
        case normalizeObservations = "normalize_observations"
    }

    /// Decodes a partial config: missing keys keep their defaults. `ent_coef` and `target_entropy` take a number or
    /// text ("auto").
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        func value<T: Decodable>(_ key: CodingKeys, _ current: T) throws -> T { try c.decodeIfPresent(T.self, forKey: key) ?? current }
        func text(_ key: CodingKeys, _ current: String) throws -> String {
            if let number = try? c.decodeIfPresent(Double.self, forKey: key) { return "\(number)" }
            return try value(key, current)
        }
        learningRate = try value(.learningRate, learningRate)
        learningRateEnd = try c.decodeIfPresent(Double.self, forKey: .learningRateEnd) ?? learningRateEnd
        bufferSize = try value(.bufferSize, bufferSize); learningStarts = try value(.learningStarts, learningStarts)
        batchSize = try value(.batchSize, batchSize); tau = try value(.tau, tau); gamma = try value(.gamma, gamma)
        trainFreq = try value(.trainFreq, trainFreq); gradientSteps = try value(.gradientSteps, gradientSteps)
        entCoef = try text(.entCoef, entCoef); targetEntropy = try text(.targetEntropy, targetEntropy)
        targetUpdateInterval = try value(.targetUpdateInterval, targetUpdateInterval)
        netArch = try value(.netArch, netArch); activationFn = try value(.activationFn, activationFn)
        nCritics = try value(.nCritics, nCritics); encoder = try value(.encoder, encoder)
        embedDim = try value(.embedDim, embedDim); attentionHeads = try value(.attentionHeads, attentionHeads)
        policyDelay = try value(.policyDelay, policyDelay)
        targetPolicyNoise = try value(.targetPolicyNoise, targetPolicyNoise)
        targetNoiseClip = try value(.targetNoiseClip, targetNoiseClip)
        noiseType = try value(.noiseType, noiseType); noiseStd = try value(.noiseStd, noiseStd)
        replayBufferClass = try value(.replayBufferClass, replayBufferClass).lowercased()
        nSampledGoal = try value(.nSampledGoal, nSampledGoal)
        goalSelectionStrategy = try value(.goalSelectionStrategy, goalSelectionStrategy)
        normalizeObservations = try value(.normalizeObservations, normalizeObservations)
    }

    /// The temperature's starting value and whether it is learned, or nil when `ent_coef` is not "auto", "auto_X"
    /// (X > 0) or a positive number.
    public var entropyCoefficient: (initial: Double, learned: Bool)? {
        let text = entCoef.lowercased()
        if text == "auto" { return (1, true) }
        if text.hasPrefix("auto_") {
            guard let initial = Double(text.dropFirst(5)), initial > 0, initial.isFinite else { return nil }
            return (initial, true)
        }
        guard let fixed = Double(text), fixed >= 0, fixed.isFinite else { return nil }
        return (fixed, false)
    }

    /// The target entropy for `actionDimensions` actions, or nil when `target_entropy` is neither "auto" nor a number.
    public func targetEntropy(actionDimensions: Int) -> Double? {
        if targetEntropy.lowercased() == "auto" { return -Double(actionDimensions) }
        guard let value = Double(targetEntropy), value.isFinite else { return nil }
        return value
    }

    /// Problems with these values for the given spaces (and `copies` environment copies), each saying what to change.
    public func problems(observationSpace: Space, actionSpace: Space, copies: Int) -> [String] {
        let sizes = SizeLimits.check([
            ("buffer_size", bufferSize, 1, SizeLimits.bufferSize), ("batch_size", batchSize, 1, SizeLimits.batchSize),
            ("learning_starts", learningStarts, 0, SizeLimits.interval), ("train_freq", trainFreq, 1, SizeLimits.interval),
            ("target_update_interval", targetUpdateInterval, 1, SizeLimits.interval),
            ("policy_delay", policyDelay, 1, SizeLimits.repeats), ("n_critics", nCritics, 1, 16),
            ("n_sampled_goal", nSampledGoal, 1, 1_000),
            ("embed_dim", embedDim, 1, SizeLimits.recurrentWidth), ("attention_heads", attentionHeads, 1, SizeLimits.attentionHeads),
        ]) + SizeLimits.checkNetArch(netArch)
        guard sizes.isEmpty else { return sizes }
        var problems: [String] = []
        func require(_ condition: Bool, _ message: String) { if !condition { problems.append(message) } }
        require(gradientSteps == -1 || (1...SizeLimits.repeats).contains(gradientSteps),
                "gradient_steps must be -1 (one per environment step collected) or in 1...\(SizeLimits.repeats) (got \(gradientSteps))")
        // Observations are stored twice per transition, as float32, with the action, reward and two flags.
        let rowBytes = SizeLimits.bytes(rows: 2 * observationSpace.flatCount + actionSpace.actionWidth + 3, width: 4, bytesPerValue: 1)
        if let problem = SizeLimits.memoryProblem("buffer_size \(bufferSize)", bytes: rowBytes.flatMap {
            SizeLimits.bytes(rows: bufferSize, width: $0, bytesPerValue: 1) }) {
            problems.append(problem)
        }
        require(learningRate > 0 && learningRate.isFinite, "learning_rate must be positive (got \(learningRate)); try 3e-4")
        require(learningRateEnd.map { $0 >= 0 && $0.isFinite } ?? true, "learning_rate_end must be ≥ 0")
        require(batchSize <= bufferSize, "batch_size (\(batchSize)) must not exceed buffer_size (\(bufferSize))")
        require(bufferSize >= copies, "buffer_size (\(bufferSize)) must hold at least one step of the \(copies) environment copies")
        require(tau > 0 && tau <= 1, "tau must be in (0, 1] (got \(tau)); 0.005 averages slowly, 1 copies")
        require(gamma >= 0 && gamma <= 1, "gamma must be in [0, 1] (got \(gamma))")
        require(entropyCoefficient != nil, "ent_coef must be auto, auto_X with X > 0 (a learned temperature starting at X) "
                + "or a number ≥ 0 (got \(entCoef))")
        require(targetEntropy(actionDimensions: 1) != nil, "target_entropy must be auto or a number (got \(targetEntropy))")
        require(targetPolicyNoise >= 0 && targetPolicyNoise.isFinite, "target_policy_noise must be ≥ 0 (got \(targetPolicyNoise))")
        require(targetNoiseClip >= 0 && targetNoiseClip.isFinite, "target_noise_clip must be ≥ 0 (got \(targetNoiseClip))")
        require(["none", "normal"].contains(noiseType), "noise_type must be none or normal (got \(noiseType))")
        require(noiseStd >= 0 && noiseStd.isFinite, "noise_std must be ≥ 0 (got \(noiseStd))")
        require(["replaybuffer", "herreplaybuffer"].contains(replayBufferClass),
                "replay_buffer_class must be ReplayBuffer or HerReplayBuffer (got \(replayBufferClass))")
        require(HindsightReplayBuffer.Strategy(rawValue: goalSelectionStrategy) != nil,
                "goal_selection_strategy must be future, final or episode (got \(goalSelectionStrategy))")
        require(Activation.Function(rawValue: activationFn) != nil,
                "activation_fn must be one of \(Activation.Function.allCases.map(\.rawValue).joined(separator: ", ")) (got \(activationFn))")
        switch actionSpace {
        case .box(let low, let high, _):
            if !zip(low, high).allSatisfy({ $0.isFinite && $1.isFinite && $0 < $1 }) {
                problems.append("SAC and TD3 rescale actions to the action space's bounds, which must be finite with low < high "
                                + "(this environment has \(actionSpace))")
            }
        default:
            problems.append("SAC and TD3 need a continuous (box) action space, this environment has \(actionSpace); "
                            + "use action=continuous where the environment offers it, or DQN/PPO")
        }
        switch (encoder, observationSpace.flattened) {
        case ("mlp", .box): break
        case ("mlp", _):
            problems.append("the mlp encoder takes box observations, this environment has \(observationSpace); set encoder: attention")
        case ("attention", .entitySet):
            if embedDim % attentionHeads != 0 {
                problems.append("embed_dim (\(embedDim)) must be a multiple of attention_heads (\(attentionHeads))")
            }
        case ("attention", _):
            problems.append("the attention encoder takes entity-set observations, this environment has \(observationSpace); set encoder: mlp")
        default:
            problems.append("unknown encoder '\(encoder)'; choose mlp or attention (for entity sets)")
        }
        return problems
    }
}
