import Neural
import Sim

/// A Q-network: an optional encoder (ego-attention for entity sets), an MLP trunk (ReLU by default) and a head giving one
/// value per action, either linear or dueling (Q = V + A − mean A, Wang et al. 2016).
///
/// Shapes: observations (B, obs) → Q-values (B, actions). PyTorch names, under the prefix the owner gives
/// (`q_net.`): plain `0.weight, 0.bias, 2.weight, …` as `nn.Sequential(Linear, ReLU, …, Linear)`; dueling
/// `trunk.0.weight, …, value.weight, value.bias, advantage.weight, advantage.bias`; an encoder's under `encoder.`.
public final class QNetwork: Module {
    public let observationSize: Int
    public let actionCount: Int
    public let dueling: Bool
    public let encoder: (any ObservationEncoder)?
    /// Plain: the whole network. Dueling: the shared trunk (ending in a ReLU).
    public let body: Sequential
    public let value: Linear?
    public let advantage: Linear?
    public var isTraining = true

    private let output = Buffer()        // (B, actions)
    private let bodyGradient = Buffer()  // (B, hidden)
    private let valueGradient = Buffer() // (B, 1)
    private var rows = 0

    public init(observationSize: Int, actionCount: Int, hiddenSizes: [Int], dueling: Bool,
                activation: Activation.Function = .relu, encoder: (any ObservationEncoder)? = nil,
                rng: inout SeededGenerator) {
        precondition(!hiddenSizes.isEmpty || !dueling, "a dueling network needs at least one hidden layer")
        self.observationSize = observationSize
        self.actionCount = actionCount
        self.dueling = dueling
        self.encoder = encoder
        var layers: [any Layer] = []
        var width = encoder?.outputSize ?? observationSize
        for size in hiddenSizes {
            layers.append(Linear(inputFeatures: width, outputFeatures: size, rng: &rng))
            layers.append(Activation(activation, features: size))
            width = size
        }
        if dueling {
            body = Sequential(layers)
            value = Linear(inputFeatures: width, outputFeatures: 1, rng: &rng)
            advantage = Linear(inputFeatures: width, outputFeatures: actionCount, rng: &rng)
        } else {
            layers.append(Linear(inputFeatures: width, outputFeatures: actionCount, rng: &rng))
            body = Sequential(layers)
            value = nil
            advantage = nil
        }
        if !(encoder?.needsFeatureGradient ?? false) {  // its input is data
            (body.layers[0] as! Linear).computesInputGradient = false
        }
    }

    public func namedParameters(prefix: String) -> [NamedParameter] {
        let encoded = encoder?.namedParameters(prefix: prefix + "encoder.") ?? []
        guard dueling, let value, let advantage else { return encoded + body.namedParameters(prefix: prefix) }
        return encoded + body.namedParameters(prefix: prefix + "trunk.") + value.namedParameters(prefix: prefix + "value.")
            + advantage.namedParameters(prefix: prefix + "advantage.")
    }

    /// Q-values (B, actions) for observations (B, obs); the buffer is valid until the next forward.
    public func forward(_ observations: UnsafePointer<Float>, rows: Int) -> UnsafeMutablePointer<Float> {
        self.rows = rows
        let input = encoder.map { UnsafePointer($0.encode(observations, rows: rows)) } ?? observations
        let features = body.forward(input, rows: rows)
        guard let value, let advantage else { return features }
        let v = value.forward(features, rows: rows), a = advantage.forward(features, rows: rows)
        let q = output.reserve(rows * actionCount)
        for r in 0..<rows {
            var mean: Float = 0
            for j in 0..<actionCount { mean += a[r * actionCount + j] }
            mean /= Float(actionCount)
            for j in 0..<actionCount { q[r * actionCount + j] = v[r] + a[r * actionCount + j] - mean }
        }
        return q
    }

    /// Backward from dL/dQ (B, actions); accumulates parameter gradients.
    public func backward(_ qGradient: UnsafePointer<Float>) {
        guard let value, let advantage else {
            let dFeatures = body.backward(qGradient)
            encoder?.backward(dFeatures)
            return
        }
        let dv = valueGradient.reserve(rows)
        for r in 0..<rows {
            var sum: Float = 0
            for j in 0..<actionCount { sum += qGradient[r * actionCount + j] }
            dv[r] = sum
        }
        // dA_j = dQ_j − mean(dQ): reuse the output buffer for it.
        let da = output.reserve(rows * actionCount)
        for r in 0..<rows {
            let mean = dv[r] / Float(actionCount)
            for j in 0..<actionCount { da[r * actionCount + j] = qGradient[r * actionCount + j] - mean }
        }
        let fromValue = value.backward(dv)
        let fromAdvantage = advantage.backward(da)
        let width = advantage.inputFeatures
        let dFeatures = bodyGradient.reserve(rows * width)
        for i in 0..<(rows * width) { dFeatures[i] = fromValue[i] + fromAdvantage[i] }
        let dInput = body.backward(dFeatures)
        encoder?.backward(dInput)
    }
}
