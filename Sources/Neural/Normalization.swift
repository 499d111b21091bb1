/// Layer normalization over the last dimension (PyTorch's `nn.LayerNorm(features)`).
///
/// Shapes: input and output (rows, features); `weight` and `bias` (features), initialized to 1 and 0.
/// y = (x − mean) / √(var + eps) · weight + bias, with the biased variance of each row.
public final class LayerNorm: Layer {
    public let inputFeatures: Int
    public var outputFeatures: Int { inputFeatures }
    public let epsilon: Float
    public let weight: Parameter
    public let bias: Parameter
    public var isTraining = true

    private let output = Buffer()
    private let normalized = Buffer()       // (rows, features): x̂
    private let inverseStd = Buffer()       // (rows)
    private let inputGradient = Buffer()
    private var rows = 0

    public init(features: Int, epsilon: Float = 1e-5) {
        precondition(features > 0, "LayerNorm needs a positive feature count")
        inputFeatures = features
        self.epsilon = epsilon
        weight = Parameter(shape: [features])
        bias = Parameter(shape: [features])
        weight.value.update(repeating: 1, count: features)
    }

    public func namedParameters(prefix: String) -> [NamedParameter] {
        [NamedParameter(prefix + "weight", weight), NamedParameter(prefix + "bias", bias)]
    }

    public func forward(_ input: UnsafePointer<Float>, rows: Int) -> UnsafeMutablePointer<Float> {
        self.rows = rows
        let n = inputFeatures
        let y = output.reserve(rows * n), xhat = normalized.reserve(rows * n), rstd = inverseStd.reserve(rows)
        let gamma = weight.value, beta = bias.value
        for r in 0..<rows {
            let x = input + r * n
            var mean = 0.0
            for j in 0..<n { mean += Double(x[j]) }
            mean /= Double(n)
            var variance = 0.0
            for j in 0..<n { let d = Double(x[j]) - mean; variance += d * d }
            variance /= Double(n)
            let s = Float(1 / (variance + Double(epsilon)).squareRoot())
            rstd[r] = s
            let m = Float(mean)
            for j in 0..<n {
                let h = (x[j] - m) * s
                xhat[r * n + j] = h
                y[r * n + j] = h * gamma[j] + beta[j]
            }
        }
        return y
    }

    public func backward(_ outputGradient: UnsafePointer<Float>) -> UnsafeMutablePointer<Float> {
        let n = inputFeatures
        let dx = inputGradient.reserve(rows * n)
        let gamma = weight.value, dGamma = weight.grad, dBeta = bias.grad
        for r in 0..<rows {
            let dy = outputGradient + r * n, xhat = normalized.pointer + r * n
            var meanG: Float = 0, meanGX: Float = 0  // means of g = dy·γ and g·x̂
            for j in 0..<n {
                let g = dy[j] * gamma[j]
                meanG += g
                meanGX += g * xhat[j]
                dGamma[j] += dy[j] * xhat[j]
                dBeta[j] += dy[j]
            }
            meanG /= Float(n)
            meanGX /= Float(n)
            let s = inverseStd.pointer[r]
            for j in 0..<n { dx[r * n + j] = s * (dy[j] * gamma[j] - meanG - xhat[j] * meanGX) }
        }
        return dx
    }
}

/// Batch normalization over (rows, features) as PyTorch's `nn.BatchNorm1d(features)`.
///
/// Training: normalizes with the batch's mean and biased variance, and updates the running statistics with
/// `momentum` (running = (1 − m)·running + m·batch, the variance term unbiased). Evaluation: normalizes with the
/// running statistics. Parameters `weight`/`bias`; buffers `running_mean`, `running_var`, `num_batches_tracked`.
public final class BatchNorm: Layer {
    public let inputFeatures: Int
    public var outputFeatures: Int { inputFeatures }
    public let epsilon: Float
    public let momentum: Float
    public let weight: Parameter
    public let bias: Parameter
    /// (features); kept as parameters without gradients so they live in checkpoints beside the weights.
    public let runningMean: Parameter
    public let runningVariance: Parameter
    public let batchesTracked = Counter()
    public var isTraining = true

    private let output = Buffer()
    private let normalized = Buffer()   // (rows, features)
    private let inverseStd = Buffer()   // (features)
    private let inputGradient = Buffer()
    private var rows = 0
    private var forwardWasTraining = true

    public init(features: Int, epsilon: Float = 1e-5, momentum: Float = 0.1) {
        precondition(features > 0, "BatchNorm needs a positive feature count")
        inputFeatures = features
        self.epsilon = epsilon
        self.momentum = momentum
        weight = Parameter(shape: [features])
        bias = Parameter(shape: [features])
        runningMean = Parameter(shape: [features])
        runningVariance = Parameter(shape: [features])
        weight.value.update(repeating: 1, count: features)
        runningVariance.value.update(repeating: 1, count: features)
    }

    public func namedParameters(prefix: String) -> [NamedParameter] {
        [NamedParameter(prefix + "weight", weight), NamedParameter(prefix + "bias", bias)]
    }

    public func namedBuffers(prefix: String) -> [NamedBuffer] {
        [NamedBuffer(prefix + "running_mean", .parameter(runningMean)),
         NamedBuffer(prefix + "running_var", .parameter(runningVariance)),
         NamedBuffer(prefix + "num_batches_tracked", .counter(batchesTracked))]
    }

    public func forward(_ input: UnsafePointer<Float>, rows: Int) -> UnsafeMutablePointer<Float> {
        let n = inputFeatures
        precondition(!isTraining || rows > 1, "BatchNorm in training mode needs more than one row, got \(rows)")
        self.rows = rows
        forwardWasTraining = isTraining
        let y = output.reserve(rows * n), xhat = normalized.reserve(rows * n), rstd = inverseStd.reserve(n)
        let gamma = weight.value, beta = bias.value
        for j in 0..<n {
            var mean: Float, variance: Float
            if isTraining {
                var sum = 0.0
                for r in 0..<rows { sum += Double(input[r * n + j]) }
                let batchMean = sum / Double(rows)
                var squares = 0.0
                for r in 0..<rows { let d = Double(input[r * n + j]) - batchMean; squares += d * d }
                mean = Float(batchMean)
                variance = Float(squares / Double(rows))
                let unbiased = Float(squares / Double(rows - 1))
                runningMean.value[j] = (1 - momentum) * runningMean.value[j] + momentum * mean
                runningVariance.value[j] = (1 - momentum) * runningVariance.value[j] + momentum * unbiased
            } else {
                mean = runningMean.value[j]
                variance = runningVariance.value[j]
            }
            let s = 1 / (variance + epsilon).squareRoot()
            rstd[j] = s
            for r in 0..<rows {
                let h = (input[r * n + j] - mean) * s
                xhat[r * n + j] = h
                y[r * n + j] = h * gamma[j] + beta[j]
            }
        }
        if isTraining { batchesTracked.value += 1 }
        return y
    }

    public func backward(_ outputGradient: UnsafePointer<Float>) -> UnsafeMutablePointer<Float> {
        let n = inputFeatures
        let dx = inputGradient.reserve(rows * n)
        let xhat = normalized.pointer, gamma = weight.value
        for j in 0..<n {
            var sumDy: Float = 0, sumDyX: Float = 0
            for r in 0..<rows {
                let dy = outputGradient[r * n + j]
                sumDy += dy
                sumDyX += dy * xhat[r * n + j]
            }
            weight.grad[j] += sumDyX
            bias.grad[j] += sumDy
            let scale = gamma[j] * inverseStd.pointer[j]
            if forwardWasTraining {
                let meanDy = sumDy / Float(rows), meanDyX = sumDyX / Float(rows)
                for r in 0..<rows {
                    dx[r * n + j] = scale * (outputGradient[r * n + j] - meanDy - xhat[r * n + j] * meanDyX)
                }
            } else {
                for r in 0..<rows { dx[r * n + j] = scale * outputGradient[r * n + j] }
            }
        }
        return dx
    }
}
