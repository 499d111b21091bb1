import Sim

/// Actor-critic hyperparameters with Stable-Baselines3's names, so rl-baselines3-zoo settings transfer. One type
/// serves PPO and A2C; ``ppo`` and ``a2c`` hold SB3's defaults for each.
public struct ActorCriticConfig: Codable, Equatable, Sendable {
    public var learningRate: Double = 3e-4
    /// Linear annealing of the learning rate to this value over training (nil: constant).
    public var learningRateEnd: Double?
    /// Steps per environment copy in each rollout.
    public var nSteps: Int = 2048
    /// PPO minibatch size (A2C uses the whole rollout).
    public var batchSize: Int = 64
    public var nEpochs: Int = 10
    public var gamma: Double = 0.99
    public var gaeLambda: Double = 0.95
    /// PPO's clipping of the probability ratio.
    public var clipRange: Double = 0.2
    /// Linear annealing of `clip_range` to this value (nil: constant).
    public var clipRangeEnd: Double?
    /// Clipping of the value prediction around the rollout's values (nil: none).
    public var clipRangeVf: Double?
    public var normalizeAdvantage: Bool = true
    public var entCoef: Double = 0
    public var vfCoef: Double = 0.5
    public var maxGradNorm: Double = 0.5
    /// Stop an update's epochs early once the approximate KL exceeds 1.5 × this (nil: never).
    public var targetKl: Double?
    /// Hidden layers of the actor and critic trunks (separate networks of this shape).
    public var netArch: [Int] = [64, 64]
    public var activationFn: String = "tanh"
    /// Orthogonal initialization (gains √2 hidden, 0.01 policy, 1 value) as SB3 and the PPO papers' code.
    public var orthoInit: Bool = true
    /// Initial log standard deviation of Gaussian policies.
    public var logStdInit: Double = 0
    /// Observation encoder before the trunks: mlp (none), attention (entity sets), lstm (recurrent), or
    /// attention-lstm (entity sets attended at each step, then an LSTM: partially observed driving).
    public var encoder: String = "mlp"
    public var embedDim: Int = 64
    public var attentionHeads: Int = 2
    public var lstmHidden: Int = 64
    /// Running normalization of observations (VecNormalize's obs part) and scaling of rewards by the running
    /// standard deviation of the discounted return; their statistics are saved with the checkpoint.
    public var normalizeObservations: Bool = false
    public var normalizeRewards: Bool = false
    /// "adam" (PPO) or "rmsprop" (A2C, PyTorch's RMSprop with α 0.99 as SB3 uses it).
    public var optimizer: String = "adam"
    public var rmspropEps: Double = 1e-5

    public init() {}

    /// SB3's PPO defaults.
    public static let ppo = ActorCriticConfig()

    /// SB3's A2C defaults: five-step rollouts, one full-batch step, RMSprop, no advantage normalization, λ = 1.
    public static var a2c: ActorCriticConfig {
        var c = ActorCriticConfig()
        c.learningRate = 7e-4; c.nSteps = 5; c.nEpochs = 1; c.gaeLambda = 1; c.normalizeAdvantage = false
        c.optimizer = "rmsprop"
        return c
    }

    /// The hyperparameter names, as config files and `--set` take them.
    public static var hyperparameterNames: [String] { CodingKeys.allCases.map(\.rawValue) }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case learningRate = "learning_rate", learningRateEnd = "learning_rate_end", nSteps = "n_steps", batchSize = "batch_size"
        case nEpochs = "n_epochs", gamma, gaeLambda = "gae_lambda", clipRange = "clip_range", clipRangeEnd = "clip_range_end"
        case clipRangeVf = "clip_range_vf", normalizeAdvantage = "normalize_advantage", entCoef = "ent_coef", vfCoef = "vf_coef"
        case maxGradNorm = "max_grad_norm", targetKl = "target_kl", netArch = "net_arch", activationFn = "activation_fn"
        case orthoInit = "ortho_init", logStdInit = "log_std_init", encoder, embedDim = "embed_dim"
        case attentionHeads = "attention_heads", lstmHidden = "lstm_hidden"
        case normalizeObservations = "normalize_observations", normalizeRewards = "normalize_rewards"
        case optimizer, rmspropEps = "rms_prop_eps"
    }

    /// Problems with these values for the given spaces, each saying what to change (empty when valid).
    public func problems(observationSpace: Space, actionSpace: Space, algorithm: ActorCriticAgent.Algorithm,
                         environmentCopies: Int) -> [String] {
        // Sizes first: everything below multiplies them.
        let sizes = SizeLimits.check([
            ("n_steps", nSteps, 1, SizeLimits.sequenceLength), ("batch_size", batchSize, 1, SizeLimits.batchSize),
            ("n_epochs", nEpochs, 1, SizeLimits.repeats), ("lstm_hidden", lstmHidden, 1, SizeLimits.recurrentWidth),
            ("embed_dim", embedDim, 1, SizeLimits.recurrentWidth), ("attention_heads", attentionHeads, 1, SizeLimits.attentionHeads),
            ("n_envs", environmentCopies, 1, 1_024),
        ]) + SizeLimits.checkNetArch(netArch)
        guard sizes.isEmpty else { return sizes }
        var problems: [String] = []
        func require(_ condition: Bool, _ message: String) { if !condition { problems.append(message) } }
        // The rollout keeps observations, actions, rewards, values and (recurrent) LSTM states of n_steps × n_envs.
        let rowValues = observationSpace.flatCount + 2 * actionSpace.actionWidth + 6 + (encoder.hasSuffix("lstm") ? 2 * lstmHidden : 0)
        if let problem = SizeLimits.memoryProblem("n_steps \(nSteps) × n_envs \(environmentCopies)",
                                                  bytes: SizeLimits.bytes(rows: nSteps * environmentCopies, width: rowValues, bytesPerValue: 4)) {
            problems.append(problem)
        }
        require(logStdInit.isFinite && (-20...2).contains(logStdInit), "log_std_init must be in -20...2 (got \(logStdInit)); try 0")
        require(rmspropEps.isFinite && rmspropEps > 0 && rmspropEps <= 1, "rms_prop_eps must be in (0, 1] (got \(rmspropEps)); try 1e-5")
        require(entCoef.isFinite && vfCoef.isFinite && clipRange.isFinite, "ent_coef, vf_coef and clip_range must be finite numbers")
        require(learningRate > 0 && learningRate.isFinite, "learning_rate must be positive (got \(learningRate)); try 3e-4")
        require(learningRateEnd.map { $0 >= 0 && $0.isFinite } ?? true, "learning_rate_end must be ≥ 0")
        require(nSteps >= 1, "n_steps must be ≥ 1 (got \(nSteps))")
        require(nEpochs >= 1, "n_epochs must be ≥ 1 (got \(nEpochs))")
        if algorithm == .ppo {
            require(batchSize >= 1 && batchSize <= nSteps * environmentCopies,
                    "batch_size (\(batchSize)) must be between 1 and n_steps × n_envs (\(nSteps * environmentCopies))")
        }
        require((0...1).contains(gamma) && (0...1).contains(gaeLambda), "gamma and gae_lambda must be in [0, 1]")
        require(clipRange > 0 && (clipRangeEnd ?? 1) >= 0, "clip_range must be positive (got \(clipRange)); try 0.2")
        require((clipRangeVf ?? 1) > 0, "clip_range_vf must be positive when set")
        require(entCoef >= 0 && vfCoef >= 0, "ent_coef and vf_coef must be ≥ 0")
        require(maxGradNorm > 0, "max_grad_norm must be positive (got \(maxGradNorm))")
        require((targetKl ?? 1) > 0, "target_kl must be positive when set")
        require(["tanh", "relu"].contains(activationFn), "activation_fn must be tanh or relu (got \(activationFn))")
        require(["adam", "rmsprop"].contains(optimizer), "optimizer must be adam or rmsprop (got \(optimizer))")
        switch actionSpace {
        case .discrete: break
        case .box(let low, let high, _):
            require(zip(low, high).allSatisfy { $0.isFinite && $1.isFinite && $0 < $1 },
                    "continuous actions need finite bounds; this environment has \(actionSpace)")
        default:
            problems.append("actor-critic agents take discrete or box actions, this environment has \(actionSpace)")
        }
        switch (encoder, observationSpace.flattened) {  // a dictionary of boxes is read as one flat box
        case ("mlp", .box), ("mlp", .discrete), ("lstm", .box), ("lstm", .discrete), ("attention", .entitySet),
             ("attention-lstm", .entitySet): break
        case ("mlp", _), ("lstm", _):
            problems.append("the \(encoder) encoder takes box observations, this environment has \(observationSpace); set encoder: attention")
        case ("attention", _), ("attention-lstm", _):
            problems.append("the \(encoder) encoder takes entity-set observations, this environment has \(observationSpace); set encoder: mlp")
        default:
            problems.append("unknown encoder '\(encoder)'; choose mlp, lstm, attention or attention-lstm (for entity sets)")
        }
        if encoder.hasPrefix("attention") && (embedDim < 1 || attentionHeads < 1 || embedDim % attentionHeads != 0) {
            problems.append("embed_dim (\(embedDim)) must be a positive multiple of attention_heads (\(attentionHeads))")
        }
        if encoder.hasSuffix("lstm") {
            require(lstmHidden >= 1, "lstm_hidden must be positive")
            require(algorithm != .ppo || batchSize % nSteps == 0 || batchSize >= nSteps * environmentCopies,
                    "recurrent PPO keeps each copy's rollout whole in a minibatch: make batch_size a multiple of n_steps (\(nSteps))")
        }
        return problems
    }
}
