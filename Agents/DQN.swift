import Foundation
import Neural
import Sim

/// DQN hyperparameters, with Stable-Baselines3's names (so rl-baselines3-zoo settings transfer) and defaults.
public struct DQNConfig: Codable, Equatable, Sendable {
    /// Adam learning rate.
    public var learningRate: Double = 1e-4
    /// If set, the learning rate falls linearly from `learning_rate` to this value over training (like SB3's "lin_"
    /// schedules); late, smaller steps keep a learned greedy policy from flipping.
    public var learningRateEnd: Double?
    /// Replay buffer capacity, in transitions.
    public var bufferSize: Int = 100_000
    /// Environment steps collected before learning starts.
    public var learningStarts: Int = 100
    /// Minibatch size.
    public var batchSize: Int = 32
    /// Target update coefficient: 1 = hard copy, < 1 = Polyak averaging.
    public var tau: Double = 1.0
    /// Discount factor.
    public var gamma: Double = 0.99
    /// Environment steps (per copy) between updates.
    public var trainFreq: Int = 4
    /// Gradient steps per update.
    public var gradientSteps: Int = 1
    /// Environment steps between target updates.
    public var targetUpdateInterval: Int = 10_000
    /// Fraction of training over which ε falls from initial to final.
    public var explorationFraction: Double = 0.1
    public var explorationInitialEps: Double = 1.0
    public var explorationFinalEps: Double = 0.05
    /// Global gradient-norm clip.
    public var maxGradNorm: Double = 10
    /// Hidden layer sizes of the Q-network.
    public var netArch: [Int] = [64, 64]
    /// Nonlinearity of the hidden layers: relu, tanh, sigmoid or gelu (SB3's `activation_fn`). Tanh cannot die,
    /// which matters for one-hot grids with large constant planes.
    public var activationFn: String = "relu"
    /// Observation encoder: "mlp" (the observation goes straight to the hidden layers) or "attention" (ego-attention
    /// over an entity-set observation).
    public var encoder: String = "mlp"
    /// Ego-attention: embedding width and heads.
    public var embedDim: Int = 64
    public var attentionHeads: Int = 2
    /// Recurrent ("lstm" encoder): LSTM width, window length in steps, and warm-up steps of windows that start inside
    /// an episode. The embedding width is the first `net_arch` entry.
    public var lstmHidden: Int = 64
    public var sequenceLength: Int = 32
    public var burnIn: Int = 8
    /// Double DQN: the online network picks the next action, the target network values it.
    public var doubleQ: Bool = false
    /// Dueling head.
    public var dueling: Bool = false
    /// n-step returns.
    public var nStep: Int = 1
    /// Prioritized replay (proportional) with exponents α and β (β annealed to 1).
    public var prioritizedReplay: Bool = false
    public var priorityAlpha: Double = 0.6
    public var priorityBeta0: Double = 0.4
    /// "replaybuffer", or "herreplaybuffer" for hindsight relabelling of goal-conditioned tasks (SB3's
    /// `replay_buffer_class`, lowercased), with its relabelled goals per real transition and where they come from.
    public var replayBufferClass: String = "replaybuffer"
    public var nSampledGoal: Int = 4
    public var goalSelectionStrategy: String = "future"

    public init() {}

    /// The hyperparameter names, as config files and `--set` take them.
    public static var hyperparameterNames: [String] { CodingKeys.allCases.map(\.rawValue) }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case learningRate = "learning_rate", learningRateEnd = "learning_rate_end", bufferSize = "buffer_size", learningStarts = "learning_starts"
        case batchSize = "batch_size", tau, gamma, trainFreq = "train_freq", gradientSteps = "gradient_steps"
        case targetUpdateInterval = "target_update_interval", explorationFraction = "exploration_fraction"
        case explorationInitialEps = "exploration_initial_eps", explorationFinalEps = "exploration_final_eps"
        case maxGradNorm = "max_grad_norm", netArch = "net_arch", activationFn = "activation_fn", encoder, embedDim = "embed_dim"
        case attentionHeads = "attention_heads", lstmHidden = "lstm_hidden", sequenceLength = "sequence_length"
        case burnIn = "burn_in", doubleQ = "double_q", dueling, nStep = "n_step"
        case prioritizedReplay = "prioritized_replay", priorityAlpha = "priority_alpha", priorityBeta0 = "priority_beta0"
        case replayBufferClass = "replay_buffer_class", nSampledGoal = "n_sampled_goal", goalSelectionStrategy = "goal_selection_strategy"
    }

    /// Decodes a partial config: missing keys keep their defaults.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        func value<T: Decodable>(_ key: CodingKeys, _ current: T) throws -> T { try c.decodeIfPresent(T.self, forKey: key) ?? current }
        learningRate = try value(.learningRate, learningRate)
        learningRateEnd = try c.decodeIfPresent(Double.self, forKey: .learningRateEnd) ?? learningRateEnd
        bufferSize = try value(.bufferSize, bufferSize)
        learningStarts = try value(.learningStarts, learningStarts); batchSize = try value(.batchSize, batchSize)
        tau = try value(.tau, tau); gamma = try value(.gamma, gamma); trainFreq = try value(.trainFreq, trainFreq)
        gradientSteps = try value(.gradientSteps, gradientSteps)
        targetUpdateInterval = try value(.targetUpdateInterval, targetUpdateInterval)
        explorationFraction = try value(.explorationFraction, explorationFraction)
        explorationInitialEps = try value(.explorationInitialEps, explorationInitialEps)
        explorationFinalEps = try value(.explorationFinalEps, explorationFinalEps)
        maxGradNorm = try value(.maxGradNorm, maxGradNorm); netArch = try value(.netArch, netArch)
        activationFn = try value(.activationFn, activationFn)
        encoder = try value(.encoder, encoder); embedDim = try value(.embedDim, embedDim)
        attentionHeads = try value(.attentionHeads, attentionHeads)
        lstmHidden = try value(.lstmHidden, lstmHidden); sequenceLength = try value(.sequenceLength, sequenceLength)
        burnIn = try value(.burnIn, burnIn)
        doubleQ = try value(.doubleQ, doubleQ); dueling = try value(.dueling, dueling); nStep = try value(.nStep, nStep)
        prioritizedReplay = try value(.prioritizedReplay, prioritizedReplay)
        priorityAlpha = try value(.priorityAlpha, priorityAlpha); priorityBeta0 = try value(.priorityBeta0, priorityBeta0)
        replayBufferClass = try value(.replayBufferClass, replayBufferClass).lowercased()
        nSampledGoal = try value(.nSampledGoal, nSampledGoal)
        goalSelectionStrategy = try value(.goalSelectionStrategy, goalSelectionStrategy)
    }

    /// Whether the replay relabels goals.
    public var usesHindsight: Bool { replayBufferClass == "herreplaybuffer" }

    /// Problems with these values for the given spaces, each saying what to change (empty when valid).
    public func problems(observationSpace: Space, actionSpace: Space) -> [String] {
        // Sizes first: everything below multiplies them.
        let sizes = SizeLimits.check([
            ("buffer_size", bufferSize, 1, SizeLimits.bufferSize), ("batch_size", batchSize, 1, SizeLimits.batchSize),
            ("learning_starts", learningStarts, 0, SizeLimits.interval), ("train_freq", trainFreq, 1, SizeLimits.interval),
            ("gradient_steps", gradientSteps, 1, SizeLimits.repeats),
            ("target_update_interval", targetUpdateInterval, 1, SizeLimits.interval), ("n_step", nStep, 1, 1_000),
            ("lstm_hidden", lstmHidden, 1, SizeLimits.recurrentWidth), ("sequence_length", sequenceLength, 1, 100_000),
            ("burn_in", burnIn, 0, 100_000), ("embed_dim", embedDim, 1, SizeLimits.recurrentWidth),
            ("attention_heads", attentionHeads, 1, SizeLimits.attentionHeads),
        ]) + SizeLimits.checkNetArch(netArch)
        guard sizes.isEmpty else { return sizes }
        var problems: [String] = []
        func require(_ condition: Bool, _ message: String) { if !condition { problems.append(message) } }
        // Observations are stored twice per transition (at most 4 bytes a value); LSTM states once per row.
        let rowBytes = SizeLimits.bytes(rows: 2 * observationSpace.flatCount + 4 + (encoder == "lstm" ? 2 * lstmHidden : 0),
                                        width: 4, bytesPerValue: 1)
        if let problem = SizeLimits.memoryProblem("buffer_size \(bufferSize)", bytes: rowBytes.flatMap {
            SizeLimits.bytes(rows: bufferSize, width: $0, bytesPerValue: 1) }) {
            problems.append(problem)
        }
        require(learningRate > 0 && learningRate.isFinite, "learning_rate must be positive (got \(learningRate)); try 1e-4")
        require(learningRateEnd.map { $0 >= 0 && $0.isFinite } ?? true, "learning_rate_end must be ≥ 0")
        require(bufferSize > 0, "buffer_size must be positive (got \(bufferSize))")
        require(batchSize > 0 && batchSize <= bufferSize, "batch_size (\(batchSize)) must be between 1 and buffer_size (\(bufferSize))")
        require(learningStarts >= 0, "learning_starts must be ≥ 0 (got \(learningStarts))")
        require(tau > 0 && tau <= 1, "tau must be in (0, 1] (got \(tau)); 1 copies the network, 0.005 averages slowly")
        require(gamma >= 0 && gamma <= 1, "gamma must be in [0, 1] (got \(gamma))")
        require(trainFreq >= 1, "train_freq must be ≥ 1 (got \(trainFreq))")
        require(gradientSteps >= 1, "gradient_steps must be ≥ 1 (got \(gradientSteps))")
        require(targetUpdateInterval >= 1, "target_update_interval must be ≥ 1 (got \(targetUpdateInterval))")
        require(explorationFraction >= 0 && explorationFraction <= 1, "exploration_fraction must be in [0, 1] (got \(explorationFraction))")
        require((0...1).contains(explorationInitialEps) && (0...1).contains(explorationFinalEps),
                "exploration_initial_eps and exploration_final_eps must be in [0, 1]")
        require(maxGradNorm > 0, "max_grad_norm must be positive (got \(maxGradNorm))")
        require(!dueling || !netArch.isEmpty, "net_arch needs at least one layer for dueling")
        require(nStep >= 1, "n_step must be ≥ 1 (got \(nStep))")
        require(Activation.Function(rawValue: activationFn) != nil,
                "activation_fn must be one of \(Activation.Function.allCases.map(\.rawValue).joined(separator: ", ")) (got \(activationFn))")
        require(priorityAlpha >= 0 && (0...1).contains(priorityBeta0), "priority_alpha must be ≥ 0 and priority_beta0 in [0, 1]")
        require(["replaybuffer", "herreplaybuffer"].contains(replayBufferClass),
                "replay_buffer_class must be ReplayBuffer or HerReplayBuffer (got \(replayBufferClass))")
        require((1...1_000).contains(nSampledGoal), "n_sampled_goal must be in 1...1000 (got \(nSampledGoal))")
        require(HindsightReplayBuffer.Strategy(rawValue: goalSelectionStrategy) != nil,
                "goal_selection_strategy must be future, final or episode (got \(goalSelectionStrategy))")
        if usesHindsight && (nStep != 1 || prioritizedReplay || encoder == "lstm") {
            problems.append("HerReplayBuffer relabels one-step transitions sampled uniformly: set n_step: 1, "
                            + "prioritized_replay: false and an mlp or attention encoder")
        }
        if case .discrete = actionSpace {} else {
            problems.append("DQN needs a discrete action space, this environment has \(actionSpace); use a discretized-action option or PPO")
        }
        switch (encoder, observationSpace.flattened) {  // a dictionary of boxes is read as one flat box
        case ("mlp", .box), ("mlp", .discrete): break
        case ("mlp", _):
            problems.append("the mlp encoder takes box observations, this environment has \(observationSpace); set encoder: attention")
        case ("attention", .entitySet): break
        case ("lstm", .entitySet), ("lstm", .multiDiscrete):
            problems.append("the lstm encoder takes box observations, this environment has \(observationSpace)")
        case ("lstm", .box), ("lstm", .discrete):
            if nStep != 1 || prioritizedReplay {
                problems.append("the lstm encoder learns from episode windows: set n_step: 1 and prioritized_replay: false")
            }
            if lstmHidden < 1 || sequenceLength < 1 || burnIn < 0 || burnIn >= sequenceLength {
                problems.append("lstm_hidden and sequence_length must be positive and burn_in in 0..<sequence_length")
            }
        case ("attention", _):
            problems.append("the attention encoder takes entity-set observations, this environment has \(observationSpace); set encoder: mlp")
        default:
            problems.append("unknown encoder '\(encoder)'; choose mlp, lstm or attention (for entity sets)")
        }
        if encoder == "attention" && (embedDim < 1 || attentionHeads < 1 || embedDim % attentionHeads != 0) {
            problems.append("embed_dim (\(embedDim)) must be a positive multiple of attention_heads (\(attentionHeads))")
        }
        return problems
    }
}

/// Deep Q-learning (Mnih et al. 2015) with the standard improvements as options: Double DQN, dueling head, n-step
/// returns, prioritized replay, Polyak target updates. Owns the online and target networks, the optimizer and the
/// minibatch buffers; the run loop (collect, store, learn) lives in Training.
public final class DQNAgent {
    public let config: DQNConfig
    public let observationSize: Int
    public let actionCount: Int
    public let online: QNetwork
    public let target: QNetwork
    public let onlineParameters: ParameterArena
    public let targetParameters: ParameterArena
    public let optimizer: Adam
    public let batch: ReplayBuffer.Batch
    /// Charged with the parts of each gradient step when set (`dojo train --profile`).
    public var clock: PhaseClock?

    private let qGradient: UnsafeMutablePointer<Float>        // (batch, actions)
    private let targets: UnsafeMutablePointer<Float>          // (batch)
    private let tdErrors: UnsafeMutablePointer<Float>         // (batch)
    private let nextActions: UnsafeMutablePointer<Int32>      // (batch)

    /// `observationKind` `.cellCodes` puts a ``CellCodeExpander`` before the trunk.
    public init(config: DQNConfig, observationSpace: Space, observationKind: ObservationKind = .continuous, actionSpace: Space,
                rng: inout SeededGenerator) {
        guard case .discrete(let actions) = actionSpace else { preconditionFailure("DQN needs a discrete action space") }
        self.config = config
        observationSize = observationSpace.flatCount
        actionCount = actions
        let activation = Activation.Function(rawValue: config.activationFn) ?? .relu
        online = QNetwork(observationSize: observationSize, actionCount: actions, hiddenSizes: config.netArch,
                          dueling: config.dueling, activation: activation, encoder: Self.encoder(config, observationSpace, observationKind, &rng),
                          rng: &rng)
        var targetRNG = rng  // any values: the target starts as a copy of the online network
        target = QNetwork(observationSize: observationSize, actionCount: actions, hiddenSizes: config.netArch,
                          dueling: config.dueling, activation: activation,
                          encoder: Self.encoder(config, observationSpace, observationKind, &targetRNG), rng: &targetRNG)
        onlineParameters = ParameterArena(module: online, prefix: "q_net.")
        targetParameters = ParameterArena(module: target, prefix: "q_net_target.")
        targetParameters.copyValues(from: onlineParameters)
        optimizer = Adam(onlineParameters, learningRate: Float(config.learningRate))
        batch = ReplayBuffer.Batch(size: config.batchSize, observationSize: observationSize)
        qGradient = .allocate(capacity: config.batchSize * actions)
        targets = .allocate(capacity: config.batchSize)
        tdErrors = .allocate(capacity: config.batchSize)
        nextActions = .allocate(capacity: config.batchSize)
    }

    deinit { qGradient.deallocate(); targets.deallocate(); tdErrors.deallocate(); nextActions.deallocate() }

    /// The encoder `config.encoder` names, for `space`: the cell-code expander before a plain MLP on cell codes, nil
    /// for a plain MLP on anything else.
    static func encoder(_ config: DQNConfig, _ space: Space, _ kind: ObservationKind,
                        _ rng: inout SeededGenerator) -> (any ObservationEncoder)? {
        guard config.encoder == "attention" else { return CellCodeExpander.make(for: kind) }
        return EgoAttentionEncoder.make(for: space, embedDimension: config.embedDim, heads: config.attentionHeads, rng: &rng)
    }

    /// Greedy actions for `rows` observations, written as floats into `actions`.
    public func greedyActions(_ observations: UnsafePointer<Float>, rows: Int, into actions: UnsafeMutablePointer<Float>) {
        let q = online.forward(observations, rows: rows)
        for r in 0..<rows { actions[r] = Float(Self.argmax(q + r * actionCount, count: actionCount)) }
    }

    /// Index of the largest of `count` values (the first one on ties).
    @inline(__always)
    static func argmax(_ values: UnsafePointer<Float>, count: Int) -> Int {
        var best = 0
        for j in 1..<count where values[j] > values[best] { best = j }
        return best
    }

    /// One gradient step on a minibatch from `buffer`. Returns the loss (Huber, importance-weighted mean).
    @discardableResult
    public func train(on buffer: ReplayBuffer, beta: Double, rng: inout SeededGenerator) -> Float {
        clock?.enter(.sampling)
        buffer.sample(into: batch, beta: beta, using: &rng)
        let loss = trainOnBatch()
        clock?.enter(.sampling)
        buffer.updatePriorities(indices: batch.indices, errors: tdErrors, count: batch.size)
        return loss
    }

    /// One gradient step on transitions from a continuous-action-style replay (hindsight relabelling): one-step
    /// targets, uniform weights. The actions are indices stored as floats.
    @discardableResult
    public func train(on replay: any TransitionSampler, transitions: TransitionBuffer.Batch, rng: inout SeededGenerator) -> Float {
        clock?.enter(.sampling)
        replay.sample(into: transitions, using: &rng)
        let B = batch.size, width = observationSize
        batch.observations.update(from: transitions.observations, count: B * width)
        batch.nextObservations.update(from: transitions.nextObservations, count: B * width)
        batch.rewards.update(from: transitions.rewards, count: B)
        batch.terminated.update(from: transitions.terminated, count: B)
        for k in 0..<B {
            batch.actions[k] = Int32(transitions.actions[k])
            batch.discounts[k] = Float(config.gamma)
            batch.weights[k] = 1
        }
        return trainOnBatch()
    }

    /// One gradient step on `batch` as sampled; leaves the TD errors in `tdErrors`.
    private func trainOnBatch() -> Float {
        let B = batch.size, A = actionCount
        clock?.enter(.forward)
        // Bootstrapped targets: y = r + γ^k (1 − terminated) Q_target(s', a*), a* from the online net for Double DQN.
        if config.doubleQ {
            let qNextOnline = online.forward(batch.nextObservations, rows: B)
            for k in 0..<B { nextActions[k] = Int32(Self.argmax(qNextOnline + k * A, count: A)) }
        }
        let qNextTarget = target.forward(batch.nextObservations, rows: B)
        for k in 0..<B {
            let row = qNextTarget + k * A
            let next = config.doubleQ ? row[Int(nextActions[k])] : row[Self.argmax(row, count: A)]
            targets[k] = batch.rewards[k] + batch.discounts[k] * (1 - batch.terminated[k]) * next
        }
        // Huber loss on the taken actions' Q-values.
        onlineParameters.zeroGrad()
        let q = online.forward(batch.observations, rows: B)
        qGradient.update(repeating: 0, count: B * A)
        var loss = 0.0
        for k in 0..<B {
            let index = k * A + Int(batch.actions[k])
            let error = q[index] - targets[k]
            tdErrors[k] = error
            let weight = batch.weights[k] / Float(B)
            let (term, slope) = Loss.huber(error: error)
            loss += Double(weight * term)
            qGradient[index] = weight * slope
        }
        clock?.enter(.backward)
        online.backward(qGradient)
        clock?.enter(.optimizer)
        Regularization.clipGradientNorm(onlineParameters, maxNorm: Float(config.maxGradNorm))
        optimizer.step()
        return Float(loss)
    }

    /// Moves the target network toward the online one: θ′ ← τθ + (1 − τ)θ′ (τ = 1: copy).
    public func updateTarget() {
        clock?.enter(.optimizer)
        targetParameters.moveToward(onlineParameters, tau: Float(config.tau))
    }
}
