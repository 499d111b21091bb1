import SeededRandom

/// A fully connected layer, `y = x Wᵀ + b` (PyTorch's `nn.Linear`).
///
/// Shapes: input (rows, inputFeatures), output (rows, outputFeatures); `weight` (out, in), `bias` (out).
/// Initialized as PyTorch does by default: weight and bias U(−1/√in, 1/√in).
///
/// ```swift
/// let layer = Linear(inputFeatures: 4, outputFeatures: 64, rng: &rng)
/// let y = layer.forward(x, rows: 32)        // (32, 64)
/// let dx = layer.backward(dy)               // (32, 4); weight.grad and bias.grad accumulate
/// ```
public final class Linear: Layer {
    public let inputFeatures: Int
    public let outputFeatures: Int
    public let weight: Parameter
    public let bias: Parameter?
    public var isTraining = true
    /// When false (e.g. the first layer of a network fed with data), `backward` skips dL/dx and returns a buffer
    /// whose contents are unspecified. Saves one matrix product.
    public var computesInputGradient = true
    /// When false, `backward` leaves the weight and bias gradients alone and computes only dL/dx (a critic that
    /// passes gradients to an actor's actions but is not being trained by that loss). Saves two products.
    public var computesParameterGradients = true

    private let output = Buffer()
    private let inputGradient = Buffer()
    private var input: UnsafePointer<Float>?
    private var rows = 0

    public init(inputFeatures: Int, outputFeatures: Int, bias: Bool = true, rng: inout SeededGenerator) {
        precondition(inputFeatures > 0 && outputFeatures > 0,
                     "Linear needs positive sizes, got \(inputFeatures) → \(outputFeatures)")
        self.inputFeatures = inputFeatures
        self.outputFeatures = outputFeatures
        weight = Parameter(shape: [outputFeatures, inputFeatures])
        self.bias = bias ? Parameter(shape: [outputFeatures]) : nil
        let bound = 1 / Float(inputFeatures).squareRoot()
        Initializer.uniform(low: -bound, high: bound).fill(weight, using: &rng)
        if let b = self.bias { Initializer.uniform(low: -bound, high: bound).fill(b, using: &rng) }
    }

    public func namedParameters(prefix: String) -> [NamedParameter] {
        [NamedParameter(prefix + "weight", weight)] + (bias.map { [NamedParameter(prefix + "bias", $0)] } ?? [])
    }

    public func forward(_ input: UnsafePointer<Float>, rows: Int) -> UnsafeMutablePointer<Float> {
        self.input = input
        self.rows = rows
        let y = output.reserve(rows * outputFeatures)
        var beta: Float = 0
        if let bias {
            for r in 0..<rows { (y + r * outputFeatures).update(from: bias.value, count: outputFeatures) }
            beta = 1
        }
        gemm(.none, .transposed, m: rows, n: outputFeatures, k: inputFeatures,
             a: input, lda: inputFeatures, b: weight.value, ldb: inputFeatures, beta: beta, c: y, ldc: outputFeatures)
        return y
    }

    public func backward(_ outputGradient: UnsafePointer<Float>) -> UnsafeMutablePointer<Float> {
        guard let input else { preconditionFailure("Linear.backward called before forward") }
        if computesParameterGradients {
            // dW (out, in) += dyᵀ (out, rows) · x (rows, in)
            gemm(.transposed, .none, m: outputFeatures, n: inputFeatures, k: rows,
                 a: outputGradient, lda: outputFeatures, b: input, ldb: inputFeatures,
                 beta: 1, c: weight.grad, ldc: inputFeatures)
            if let bias { addColumnSums(outputGradient, rows: rows, columns: outputFeatures, into: bias.grad) }
        }
        let dx = inputGradient.reserve(rows * inputFeatures)
        if computesInputGradient {
            // dx (rows, in) = dy (rows, out) · W (out, in)
            gemm(.none, .none, m: rows, n: inputFeatures, k: outputFeatures,
                 a: outputGradient, lda: outputFeatures, b: weight.value, ldb: inputFeatures, c: dx, ldc: inputFeatures)
        }
        return dx
    }
}
