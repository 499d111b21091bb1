import SeededRandom

/// Inverted dropout (PyTorch's `nn.Dropout(p)`): in training each value is zeroed with probability `p` and the
/// survivors scaled by 1/(1 − p); in evaluation it is the identity. The mask comes from the layer's own seeded
/// generator, so the same seed drops the same units.
public final class Dropout: ParameterFreeLayer {
    public let inputFeatures: Int
    public var outputFeatures: Int { inputFeatures }
    public let probability: Float
    public var isTraining = true
    /// The mask stream; saved in checkpoints for exact resume.
    public var rng: SeededGenerator

    private let output = Buffer()
    private let mask = Buffer()
    private let inputGradient = Buffer()
    private var count = 0
    private var forwardWasTraining = true

    public init(probability: Float, features: Int, rng: SeededGenerator) {
        precondition((0..<1).contains(probability), "Dropout probability must be in [0, 1), got \(probability)")
        self.probability = probability
        inputFeatures = features
        self.rng = rng
    }

    public func forward(_ input: UnsafePointer<Float>, rows: Int) -> UnsafeMutablePointer<Float> {
        count = rows * inputFeatures
        forwardWasTraining = isTraining
        let y = output.reserve(count)
        if !isTraining || probability == 0 {
            y.update(from: input, count: count)
            return y
        }
        let m = mask.reserve(count)
        let scale = 1 / (1 - probability)
        for i in 0..<count {
            m[i] = rng.nextFloat() < probability ? 0 : scale
            y[i] = input[i] * m[i]
        }
        return y
    }

    public func backward(_ outputGradient: UnsafePointer<Float>) -> UnsafeMutablePointer<Float> {
        let dx = inputGradient.reserve(count)
        if !forwardWasTraining || probability == 0 {
            dx.update(from: outputGradient, count: count)
        } else {
            for i in 0..<count { dx[i] = outputGradient[i] * mask.pointer[i] }
        }
        return dx
    }
}
