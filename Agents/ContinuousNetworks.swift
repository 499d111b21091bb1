import Foundation
import Neural
import Sim

// The networks of the off-policy agents for continuous actions, laid out as Stable-Baselines3's SAC and TD3
// policies so checkpoints carry SB3's parameter names. Actions are in the [−1, 1] scale; the agent rescales them to the
// action space's bounds.

/// Hidden layers `sizes`, each a linear layer followed by `activation` (SB3's `create_mlp` without an output layer),
/// or nil when `sizes` is empty. `inputIsData`: the first layer needs no input gradient.
func hiddenLayers(inputWidth: Int, sizes: [Int], activation: Activation.Function, inputIsData: Bool,
                  rng: inout SeededGenerator) -> Sequential? {
    guard !sizes.isEmpty else { return nil }
    var layers: [any Layer] = []
    var width = inputWidth
    for size in sizes {
        let linear = Linear(inputFeatures: width, outputFeatures: size, rng: &rng)
        if layers.isEmpty && inputIsData { linear.computesInputGradient = false }
        layers.append(linear)
        layers.append(Activation(activation, features: size))
        width = size
    }
    return Sequential(layers)
}

/// The encoder an off-policy network puts before its layers: ego-attention for `encoder: attention`, else none.
func offPolicyEncoder(_ config: OffPolicyConfig, _ space: Space, _ rng: inout SeededGenerator) -> (any ObservationEncoder)? {
    guard config.encoder == "attention" else { return nil }
    return EgoAttentionEncoder.make(for: space, embedDimension: config.embedDim, heads: config.attentionHeads, rng: &rng)
}

/// SAC's policy (SB3's SAC `Actor`): features → `latent_pi` (hidden layers, each followed by the activation) → the
/// means `mu` and the log standard deviations `log_std` of a tanh-squashed Gaussian, log-stds clamped to [−20, 2].
///
/// Shapes: observations (B, obs) → actions (B, A) in (−1, 1) and log π (B).
/// Names: `features_extractor.*` (attention encoder only), `latent_pi.0.weight`, …, `mu.weight`, `mu.bias`,
/// `log_std.weight`, `log_std.bias`.
public final class SquashedGaussianActor: Module {
    public static let logStdRange: ClosedRange<Float> = -20...2

    public let actionDimensions: Int
    public let encoder: (any ObservationEncoder)?
    public let latent: Sequential?
    public let mu: Linear
    public let logStd: Linear
    public var isTraining = true

    private let clampedLogStd = Buffer(), noise = Buffer(), actions = Buffer(), logProbabilities = Buffer()
    private let headGradient = Buffer()      // (B, 2A): d/dμ then d/dlog σ, as two blocks
    private let latentGradient = Buffer()
    private var rawLogStd: UnsafeMutablePointer<Float>?
    private var rows = 0

    public init(observationSize: Int, actionDimensions: Int, config: OffPolicyConfig, encoder: (any ObservationEncoder)?,
                rng: inout SeededGenerator) {
        self.actionDimensions = actionDimensions
        self.encoder = encoder
        let inputWidth = encoder?.outputSize ?? observationSize
        let activation = Activation.Function(rawValue: config.activationFn) ?? .relu
        latent = hiddenLayers(inputWidth: inputWidth, sizes: config.netArch, activation: activation, inputIsData: encoder == nil,
                              rng: &rng)
        let width = config.netArch.last ?? inputWidth
        mu = Linear(inputFeatures: width, outputFeatures: actionDimensions, rng: &rng)
        logStd = Linear(inputFeatures: width, outputFeatures: actionDimensions, rng: &rng)
        if latent == nil && encoder == nil { mu.computesInputGradient = false; logStd.computesInputGradient = false }
    }

    public func namedParameters(prefix: String) -> [NamedParameter] {
        (encoder?.namedParameters(prefix: prefix + "features_extractor.") ?? [])
            + (latent?.namedParameters(prefix: prefix + "latent_pi.") ?? [])
            + mu.namedParameters(prefix: prefix + "mu.") + logStd.namedParameters(prefix: prefix + "log_std.")
    }

    /// The means (B, A) and clamped log-stds (B, A) of `rows` observations; valid until the next call.
    public func distribution(_ observations: UnsafePointer<Float>, rows: Int)
        -> (mean: UnsafeMutablePointer<Float>, logStd: UnsafeMutablePointer<Float>) {
        self.rows = rows
        var features = encoder?.encode(observations, rows: rows) ?? UnsafeMutablePointer(mutating: observations)
        if let latent { features = latent.forward(features, rows: rows) }
        let mean = mu.forward(features, rows: rows)
        let raw = logStd.forward(features, rows: rows)
        rawLogStd = raw
        let clamped = clampedLogStd.reserve(rows * actionDimensions)
        for k in 0..<(rows * actionDimensions) {
            clamped[k] = min(max(raw[k], Self.logStdRange.lowerBound), Self.logStdRange.upperBound)
        }
        return (mean, clamped)
    }

    /// Squashed actions (B, A) and their log-probabilities (B) for the standard-normal `noise` (B, A, copied so the
    /// caller may reuse it); zero noise gives the deterministic action tanh(μ). Keeps what `backward` needs.
    public func sample(_ observations: UnsafePointer<Float>, rows: Int, noise given: UnsafePointer<Float>)
        -> (actions: UnsafeMutablePointer<Float>, logProbabilities: UnsafeMutablePointer<Float>) {
        let (mean, logStd) = distribution(observations, rows: rows)
        let count = rows * actionDimensions
        let kept = noise.reserve(count)
        kept.update(from: given, count: count)
        let a = actions.reserve(count), logP = logProbabilities.reserve(rows)
        SquashedGaussian.sample(mean: mean, logStd: logStd, noise: kept, rows: rows, dims: actionDimensions, actions: a,
                                logProbabilities: logP)
        return (a, logP)
    }

    /// Backward for the last `sample`, from dL/d(action) (B, A) and dL/d(log π) (B); accumulates parameter gradients.
    /// Where a log-std was clamped its gradient is zero, as PyTorch's `clamp` passes none.
    public func backward(actionGradient: UnsafePointer<Float>, logProbabilityGradient: UnsafePointer<Float>) {
        let A = actionDimensions, count = rows * A
        let g = headGradient.reserve(2 * count)
        SquashedGaussian.backward(logStd: clampedLogStd.pointer, noise: noise.pointer, actions: actions.pointer, rows: rows,
                                  dims: A, actionGradient: actionGradient, logProbabilityGradient: logProbabilityGradient,
                                  meanGradient: g, logStdGradient: g + count)
        if let raw = rawLogStd {
            for k in 0..<count where !Self.logStdRange.contains(raw[k]) { g[count + k] = 0 }
        }
        let fromMean = mu.backward(g)
        let fromLogStd = logStd.backward(g + count)
        guard latent != nil || encoder != nil else { return }
        let width = mu.inputFeatures
        let d = latentGradient.reserve(rows * width)
        for i in 0..<(rows * width) { d[i] = fromMean[i] + fromLogStd[i] }
        var features = UnsafeMutablePointer(d)
        if let latent { features = latent.backward(d) }
        encoder?.backward(features)
    }
}

/// TD3's policy (SB3's TD3 `Actor`): features → `mu` (hidden layers with the activation, a linear output, tanh).
///
/// Shapes: observations (B, obs) → actions (B, A) in [−1, 1].
/// Names: `features_extractor.*` (attention encoder only), `mu.0.weight`, …, the output layer `mu.<2·layers>.*`.
public final class DeterministicActor: Module {
    public let actionDimensions: Int
    public let encoder: (any ObservationEncoder)?
    public let mu: Sequential
    public var isTraining = true

    public init(observationSize: Int, actionDimensions: Int, config: OffPolicyConfig, encoder: (any ObservationEncoder)?,
                rng: inout SeededGenerator) {
        self.actionDimensions = actionDimensions
        self.encoder = encoder
        let inputWidth = encoder?.outputSize ?? observationSize
        let activation = Activation.Function(rawValue: config.activationFn) ?? .relu
        var layers = hiddenLayers(inputWidth: inputWidth, sizes: config.netArch, activation: activation, inputIsData: encoder == nil,
                                  rng: &rng)?.layers ?? []
        let output = Linear(inputFeatures: config.netArch.last ?? inputWidth, outputFeatures: actionDimensions, rng: &rng)
        if layers.isEmpty && encoder == nil { output.computesInputGradient = false }
        layers += [output, Activation(.tanh, features: actionDimensions)]
        mu = Sequential(layers)
    }

    public func namedParameters(prefix: String) -> [NamedParameter] {
        (encoder?.namedParameters(prefix: prefix + "features_extractor.") ?? []) + mu.namedParameters(prefix: prefix + "mu.")
    }

    /// Actions (B, A) for `rows` observations; valid until the next call.
    public func forward(_ observations: UnsafePointer<Float>, rows: Int) -> UnsafeMutablePointer<Float> {
        mu.forward(encoder.map { UnsafePointer($0.encode(observations, rows: rows)) } ?? observations, rows: rows)
    }

    /// Backward for the last `forward` from dL/d(action) (B, A); accumulates parameter gradients.
    public func backward(actionGradient: UnsafePointer<Float>) {
        let features = mu.backward(actionGradient)
        encoder?.backward(features)
    }
}

/// The critics of SAC and TD3 (SB3's `ContinuousCritic`): `n_critics` Q-networks on the features concatenated with
/// the action, each hidden layers with the activation and a linear output; the observation encoder (attention only)
/// is shared by the Q-networks and their gradients meet in it.
///
/// Shapes: observations (B, obs), actions (B, A) → Q-values (n_critics, B), critic-major.
/// Names: `features_extractor.*` (attention only), `qf0.0.weight`, …, `qf1.0.weight`, ….
public final class TwinCritic: Module {
    public let actionDimensions: Int
    public let encoder: (any ObservationEncoder)?
    public let qNetworks: [Sequential]
    /// Each Q-network's linear layers, whose parameter gradients `backward` switches on or off.
    private let linearLayers: [[Linear]]
    public var isTraining = true
    /// Features per row before the action is appended.
    public let featureWidth: Int

    private let input = Buffer()            // (B, F + A)
    private let values = Buffer()           // (n_critics, B)
    private let actionGradient = Buffer()   // (B, A)
    private let featureGradient = Buffer()  // (B, F)
    private var rows = 0

    public init(observationSize: Int, actionDimensions: Int, config: OffPolicyConfig, encoder: (any ObservationEncoder)?,
                rng: inout SeededGenerator) {
        self.actionDimensions = actionDimensions
        self.encoder = encoder
        featureWidth = encoder?.outputSize ?? observationSize
        let activation = Activation.Function(rawValue: config.activationFn) ?? .relu
        let width = featureWidth + actionDimensions
        qNetworks = (0..<config.nCritics).map { _ in
            // The input gradient is needed: the actor learns through the action columns.
            let layers = hiddenLayers(inputWidth: width, sizes: config.netArch, activation: activation, inputIsData: false,
                                      rng: &rng)?.layers ?? []
            return Sequential(layers + [Linear(inputFeatures: config.netArch.last ?? width, outputFeatures: 1, rng: &rng)])
        }
        linearLayers = qNetworks.map { $0.layers.compactMap { $0 as? Linear } }
    }

    public var count: Int { qNetworks.count }

    public func namedParameters(prefix: String) -> [NamedParameter] {
        (encoder?.namedParameters(prefix: prefix + "features_extractor.") ?? [])
            + qNetworks.enumerated().flatMap { $0.element.namedParameters(prefix: "\(prefix)qf\($0.offset).") }
    }

    /// Q-values of (observation, action) rows, critic-major (n_critics, B); valid until the next call.
    public func forward(_ observations: UnsafePointer<Float>, actions: UnsafePointer<Float>, rows: Int) -> UnsafeMutablePointer<Float> {
        self.rows = rows
        let F = featureWidth, A = actionDimensions, W = F + A
        let features = encoder.map { UnsafePointer($0.encode(observations, rows: rows)) } ?? observations
        let x = input.reserve(rows * W)
        for r in 0..<rows {
            (x + r * W).update(from: features + r * F, count: F)
            (x + r * W + F).update(from: actions + r * A, count: A)
        }
        let q = values.reserve(count * rows)
        for i in 0..<count { (q + i * rows).update(from: qNetworks[i].forward(x, rows: rows), count: rows) }
        return q
    }

    /// Backward for the last `forward` through the first `critics` Q-networks, from dL/dQ (n_critics, B; rows of
    /// the others unread). With `parameterGradients` it accumulates the critics' parameter gradients (the encoder's
    /// included); without, it only passes the gradient to the actions (an actor's loss through the critic). Returns
    /// dL/d(action) (B, A), valid until the next call.
    @discardableResult
    public func backward(_ qGradient: UnsafePointer<Float>, critics: Int, parameterGradients: Bool) -> UnsafeMutablePointer<Float> {
        let F = featureWidth, A = actionDimensions, W = F + A
        let da = actionGradient.reserve(rows * A)
        da.update(repeating: 0, count: rows * A)
        for i in 0..<critics {
            for j in 0..<linearLayers[i].count { linearLayers[i][j].computesParameterGradients = parameterGradients }
        }
        let encoderGradient = parameterGradients ? encoder.map { _ in featureGradient.reserve(rows * F) } : nil
        encoderGradient?.update(repeating: 0, count: rows * F)
        for i in 0..<critics {
            let dx = qNetworks[i].backward(qGradient + i * rows)
            for r in 0..<rows {
                for j in 0..<A { da[r * A + j] += dx[r * W + F + j] }
                if let encoderGradient { for j in 0..<F { encoderGradient[r * F + j] += dx[r * W + j] } }
            }
        }
        if let encoderGradient { encoder?.backward(encoderGradient) }
        return da
    }
}
