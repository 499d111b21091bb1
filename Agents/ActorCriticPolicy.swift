import Foundation
import Neural
import Sim

/// The actor-critic network, laid out as Stable-Baselines3's `ActorCriticPolicy`: an optional observation encoder
/// shared by both (ego-attention for entity sets), separate actor and critic trunks (`net_arch` hidden layers, each
/// followed by the activation), a policy head and a value head; Gaussian policies add one state-independent log
/// standard deviation per action dimension.
///
/// Shapes: observations (B, obs) → head outputs (B, actions: logits or means) and values (B).
/// PyTorch names: `features_extractor.*` (encoder), `mlp_extractor.policy_net.0.weight, …`,
/// `mlp_extractor.value_net.0.weight, …`, `action_net.weight/bias`, `value_net.weight/bias`, `log_std`.
public final class ActorCriticPolicy: Module {
    /// What the policy head parameterizes.
    public enum Distribution: Equatable, Sendable {
        /// A categorical distribution over `actions` actions (the head gives logits).
        case categorical(actions: Int)
        /// A diagonal Gaussian over `dimensions` reals (the head gives means; `log_std` is a parameter).
        /// Sampled actions are clipped to the action space's bounds before they reach the environment; log
        /// probabilities are of the unclipped sample, as SB3 does.
        case gaussian(dimensions: Int)

        /// Head outputs per row.
        public var width: Int {
            switch self { case .categorical(let n): return n; case .gaussian(let d): return d }
        }
    }

    public let observationSize: Int
    public let distribution: Distribution
    public let encoder: (any ObservationEncoder)?
    public let policyTrunk: Sequential?
    public let valueTrunk: Sequential?
    public let actionHead: Linear
    public let valueHead: Linear
    public let logStd: Parameter?
    public var isTraining = true

    private let featureGradient = Buffer()
    private var rows = 0

    public init(observationSize: Int, distribution: Distribution, hiddenSizes: [Int], activation: Activation.Function,
                orthogonal: Bool, logStdInit: Float, encoder: (any ObservationEncoder)?, rng: inout SeededGenerator) {
        self.observationSize = observationSize
        self.distribution = distribution
        self.encoder = encoder
        let inputWidth = encoder?.outputSize ?? observationSize
        let inputNeedsGradient = encoder?.needsFeatureGradient ?? false
        func trunk() -> Sequential? {
            guard !hiddenSizes.isEmpty else { return nil }
            var layers: [any Layer] = []
            var width = inputWidth
            for size in hiddenSizes {
                let linear = Linear(inputFeatures: width, outputFeatures: size, rng: &rng)
                if orthogonal { Self.orthogonal(linear, gain: 2.0.squareRoot(), rng: &rng) }
                if !inputNeedsGradient && layers.isEmpty { linear.computesInputGradient = false }  // its input is data
                layers.append(linear)
                layers.append(Activation(activation, features: size))
                width = size
            }
            return Sequential(layers)
        }
        policyTrunk = trunk()
        valueTrunk = trunk()
        let featureWidth = hiddenSizes.last ?? inputWidth
        actionHead = Linear(inputFeatures: featureWidth, outputFeatures: distribution.width, rng: &rng)
        valueHead = Linear(inputFeatures: featureWidth, outputFeatures: 1, rng: &rng)
        if orthogonal {
            Self.orthogonal(actionHead, gain: 0.01, rng: &rng)
            Self.orthogonal(valueHead, gain: 1, rng: &rng)
        }
        if hiddenSizes.isEmpty && !inputNeedsGradient {
            actionHead.computesInputGradient = false
            valueHead.computesInputGradient = false
        }
        if case .gaussian(let d) = distribution {
            let parameter = Parameter(shape: [d])
            parameter.value.update(repeating: logStdInit, count: d)
            logStd = parameter
        } else {
            logStd = nil
        }
    }

    /// Orthogonal weights times `gain` and zero biases (SB3's `init_weights`).
    static func orthogonal(_ layer: Linear, gain: Double, rng: inout SeededGenerator) {
        Initializer.orthogonal(gain: Float(gain)).fill(layer.weight, using: &rng)
        if let bias = layer.bias { bias.value.update(repeating: 0, count: bias.count) }
    }

    public func namedParameters(prefix: String) -> [NamedParameter] {
        var all = encoder?.namedParameters(prefix: prefix + "features_extractor.") ?? []
        all += policyTrunk?.namedParameters(prefix: prefix + "mlp_extractor.policy_net.") ?? []
        all += valueTrunk?.namedParameters(prefix: prefix + "mlp_extractor.value_net.") ?? []
        if let logStd { all.append(NamedParameter(prefix + "log_std", logStd)) }
        return all + actionHead.namedParameters(prefix: prefix + "action_net.") + valueHead.namedParameters(prefix: prefix + "value_net.")
    }

    /// Head outputs (B, width) and values (B, 1) for observations (B, obs); valid until the next forward.
    public func forward(_ observations: UnsafePointer<Float>, rows: Int)
        -> (head: UnsafeMutablePointer<Float>, values: UnsafeMutablePointer<Float>) {
        self.rows = rows
        let features = encoder.map { UnsafePointer($0.encode(observations, rows: rows)) } ?? observations
        let policyFeatures = policyTrunk.map { UnsafePointer($0.forward(features, rows: rows)) } ?? features
        let valueFeatures = valueTrunk.map { UnsafePointer($0.forward(features, rows: rows)) } ?? features
        return (actionHead.forward(policyFeatures, rows: rows), valueHead.forward(valueFeatures, rows: rows))
    }

    /// Head outputs only (B, width), skipping the critic: for acting when no value is needed (evaluation).
    public func forwardHead(_ observations: UnsafePointer<Float>, rows: Int) -> UnsafeMutablePointer<Float> {
        self.rows = rows
        let features = encoder.map { UnsafePointer($0.encode(observations, rows: rows)) } ?? observations
        let policyFeatures = policyTrunk.map { UnsafePointer($0.forward(features, rows: rows)) } ?? features
        return actionHead.forward(policyFeatures, rows: rows)
    }

    /// Backward from dL/d(head) (B, width) and dL/d(values) (B); accumulates parameter gradients (log_std's
    /// gradient is the caller's to add, from the distribution).
    public func backward(head headGradient: UnsafePointer<Float>, values valueGradient: UnsafePointer<Float>) {
        let fromPolicy = actionHead.backward(headGradient)
        let policyInput = policyTrunk.map { $0.backward(fromPolicy) } ?? fromPolicy
        let fromValue = valueHead.backward(valueGradient)
        let valueInput = valueTrunk.map { $0.backward(fromValue) } ?? fromValue
        guard let encoder, encoder.needsFeatureGradient else { return }
        let width = encoder.outputSize
        let sum = featureGradient.reserve(rows * width)
        for i in 0..<(rows * width) { sum[i] = policyInput[i] + valueInput[i] }
        encoder.backward(sum)
    }
}
