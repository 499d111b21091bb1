import SeededRandom

/// Layers applied in order (PyTorch's `nn.Sequential`): children are named by their index, so the parameters of
/// `Sequential([Linear, Activation, Linear])` are `0.weight`, `0.bias`, `2.weight`, `2.bias`.
public final class Sequential: Layer {
    public let layers: [any Layer]
    public var inputFeatures: Int { layers.first!.inputFeatures }
    public var outputFeatures: Int { layers.last!.outputFeatures }

    public init(_ layers: [any Layer]) {
        precondition(!layers.isEmpty, "Sequential needs at least one layer")
        for (i, pair) in zip(layers, layers.dropFirst()).enumerated() {
            precondition(pair.0.outputFeatures == pair.1.inputFeatures,
                         "Sequential: layer \(i) outputs \(pair.0.outputFeatures) features but layer \(i + 1) "
                             + "takes \(pair.1.inputFeatures)")
        }
        self.layers = layers
    }

    /// A multilayer perceptron `sizes[0] → sizes[1] → … → sizes.last` with `activation` between linear layers
    /// (none after the last one).
    public static func mlp(_ sizes: [Int], activation: Activation.Function = .relu,
                           rng: inout SeededGenerator) -> Sequential {
        precondition(sizes.count >= 2, "an MLP needs at least input and output sizes, got \(sizes)")
        var layers: [any Layer] = []
        for i in 0..<(sizes.count - 1) {
            layers.append(Linear(inputFeatures: sizes[i], outputFeatures: sizes[i + 1], rng: &rng))
            if i < sizes.count - 2 { layers.append(Activation(activation, features: sizes[i + 1])) }
        }
        return Sequential(layers)
    }

    public var isTraining: Bool {
        get { layers.first!.isTraining }
        set { for layer in layers { layer.isTraining = newValue } }
    }

    public func namedParameters(prefix: String) -> [NamedParameter] {
        layers.enumerated().flatMap { $0.element.namedParameters(prefix: "\(prefix)\($0.offset).") }
    }

    public func namedBuffers(prefix: String) -> [NamedBuffer] {
        layers.enumerated().flatMap { $0.element.namedBuffers(prefix: "\(prefix)\($0.offset).") }
    }

    public func forward(_ input: UnsafePointer<Float>, rows: Int) -> UnsafeMutablePointer<Float> {
        var x = layers[0].forward(input, rows: rows)
        for i in 1..<layers.count { x = layers[i].forward(x, rows: rows) }
        return x
    }

    public func backward(_ outputGradient: UnsafePointer<Float>) -> UnsafeMutablePointer<Float> {
        var g = layers[layers.count - 1].backward(outputGradient)
        for i in stride(from: layers.count - 2, through: 0, by: -1) { g = layers[i].backward(g) }
        return g
    }
}
