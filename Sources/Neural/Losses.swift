#if canImport(Glibc)
import Glibc
#endif

/// Loss functions with PyTorch's definitions and mean reduction. Each returns the loss and, when `gradient` is
/// given, writes dL/d(prediction) there (same shape as the prediction).
public enum Loss {
    /// Mean squared error, `mean((p − t)²)` over `count` values (`nn.MSELoss`).
    public static func meanSquaredError(prediction p: UnsafePointer<Float>, target t: UnsafePointer<Float>,
                                        count: Int, gradient: UnsafeMutablePointer<Float>? = nil) -> Float {
        precondition(count > 0, "meanSquaredError needs at least one value")
        // Four running sums, so that the additions do not wait on each other (one chain of them was 3% of an
        // attention iteration in `dojo bench nn`).
        var s0 = 0.0, s1 = 0.0, s2 = 0.0, s3 = 0.0
        var i = 0
        while i + 4 <= count {
            let d0 = p[i] - t[i], d1 = p[i + 1] - t[i + 1], d2 = p[i + 2] - t[i + 2], d3 = p[i + 3] - t[i + 3]
            s0 += Double(d0 * d0); s1 += Double(d1 * d1); s2 += Double(d2 * d2); s3 += Double(d3 * d3)
            i += 4
        }
        while i < count { let d = p[i] - t[i]; s0 += Double(d * d); i += 1 }
        if let gradient {
            let scale = 2 / Float(count)
            for i in 0..<count { gradient[i] = scale * (p[i] - t[i]) }
        }
        return Float(((s0 + s1) + (s2 + s3)) / Double(count))
    }

    /// Huber loss (`nn.HuberLoss(delta)`): ½d² where |d| < δ, else δ(|d| − ½δ), averaged. With δ = 1 it equals
    /// `nn.SmoothL1Loss()`, the loss DQN uses.
    public static func huber(prediction p: UnsafePointer<Float>, target t: UnsafePointer<Float>, count: Int,
                             delta: Float = 1, gradient: UnsafeMutablePointer<Float>? = nil) -> Float {
        precondition(count > 0 && delta > 0, "huber needs count > 0 and delta > 0")
        var sum = 0.0
        let inverseCount = 1 / Float(count)
        for i in 0..<count {
            let (loss, slope) = huber(error: p[i] - t[i], delta: delta)
            sum += Double(loss)
            gradient?[i] = slope * inverseCount
        }
        return Float(sum / Double(count))
    }

    /// The Huber loss of one error `d` = prediction − target and its derivative by the prediction: (½d², d) where
    /// |d| < δ, else (δ(|d| − ½δ), ±δ). The one definition every Huber loss in Dojo uses.
    @inline(__always)
    public static func huber(error d: Float, delta: Float = 1) -> (loss: Float, slope: Float) {
        abs(d) < delta ? (0.5 * d * d, d) : (delta * (abs(d) - 0.5 * delta), d > 0 ? delta : -delta)
    }

    /// Cross-entropy of class logits (rows, classes) against integer targets (rows), averaged over rows
    /// (`nn.CrossEntropyLoss()`).
    public static func crossEntropy(logits: UnsafePointer<Float>, targets: UnsafePointer<Int32>, rows: Int,
                                    classes: Int, gradient: UnsafeMutablePointer<Float>? = nil) -> Float {
        precondition(rows > 0 && classes > 0, "crossEntropy needs rows and classes")
        var sum = 0.0
        let inverseRows = 1 / Float(rows)
        for r in 0..<rows {
            let z = logits + r * classes, target = Int(targets[r])
            precondition((0..<classes).contains(target), "crossEntropy: target \(target) at row \(r) outside 0..<\(classes)")
            var maximum = -Float.infinity
            for j in 0..<classes { maximum = max(maximum, z[j]) }
            var total: Float = 0
            for j in 0..<classes { total += expf(z[j] - maximum) }
            let logSum = logf(total) + maximum
            sum += Double(logSum - z[target])
            if let g = gradient.map({ $0 + r * classes }) {
                for j in 0..<classes { g[j] = expf(z[j] - logSum) * inverseRows }
                g[target] -= inverseRows
            }
        }
        return Float(sum / Double(rows))
    }
}

/// A categorical distribution over `classes` actions given by unnormalized logits (rows, classes).
public enum Categorical {
    /// log π(a) for each row into `logProbabilities` (rows).
    public static func logProbability(logits: UnsafePointer<Float>, actions: UnsafePointer<Int32>, rows: Int,
                                      classes: Int, into logProbabilities: UnsafeMutablePointer<Float>) {
        for r in 0..<rows {
            let z = logits + r * classes
            logProbabilities[r] = z[Int(actions[r])] - logSumExp(z, count: classes)
        }
    }

    /// Accumulates dL/d(logits) given dL/d(log π(a)) per row: g · (onehot(a) − softmax(z)).
    public static func logProbabilityBackward(logits: UnsafePointer<Float>, actions: UnsafePointer<Int32>,
                                              rows: Int, classes: Int, upstream: UnsafePointer<Float>,
                                              logitGradient: UnsafeMutablePointer<Float>) {
        for r in 0..<rows {
            let z = logits + r * classes, g = logitGradient + r * classes
            let logSum = logSumExp(z, count: classes)
            for j in 0..<classes { g[j] -= upstream[r] * expf(z[j] - logSum) }
            g[Int(actions[r])] += upstream[r]
        }
    }

    /// Entropy −Σ p log p of each row into `entropies` (rows).
    public static func entropy(logits: UnsafePointer<Float>, rows: Int, classes: Int,
                               into entropies: UnsafeMutablePointer<Float>) {
        for r in 0..<rows {
            let z = logits + r * classes
            let logSum = logSumExp(z, count: classes)
            var h: Float = 0
            for j in 0..<classes { let logP = z[j] - logSum; h -= expf(logP) * logP }
            entropies[r] = h
        }
    }

    /// Accumulates dL/d(logits) given dL/dH per row: dH/dz_j = −p_j (log p_j + H).
    public static func entropyBackward(logits: UnsafePointer<Float>, rows: Int, classes: Int,
                                       upstream: UnsafePointer<Float>, logitGradient: UnsafeMutablePointer<Float>) {
        for r in 0..<rows {
            let z = logits + r * classes, g = logitGradient + r * classes
            let logSum = logSumExp(z, count: classes)
            var h: Float = 0
            for j in 0..<classes { let logP = z[j] - logSum; h -= expf(logP) * logP }
            for j in 0..<classes {
                let logP = z[j] - logSum
                g[j] -= upstream[r] * expf(logP) * (logP + h)
            }
        }
    }

    @inline(__always)
    static func logSumExp(_ z: UnsafePointer<Float>, count: Int) -> Float {
        var maximum = -Float.infinity
        for j in 0..<count { maximum = max(maximum, z[j]) }
        var total: Float = 0
        for j in 0..<count { total += expf(z[j] - maximum) }
        return logf(total) + maximum
    }
}

/// A diagonal Gaussian with per-row means (rows, dims) and one state-independent log standard deviation per
/// dimension (dims), as PPO's continuous policies use.
public enum DiagonalGaussian {
    static let halfLogTwoPi: Float = 0.918_938_53  // ½ log 2π

    /// log N(a; μ, σ²) summed over dimensions, per row, into `logProbabilities` (rows).
    public static func logProbability(mean: UnsafePointer<Float>, logStd: UnsafePointer<Float>,
                                      actions: UnsafePointer<Float>, rows: Int, dims: Int,
                                      into logProbabilities: UnsafeMutablePointer<Float>) {
        for r in 0..<rows {
            var sum: Float = 0
            for j in 0..<dims {
                let z = (actions[r * dims + j] - mean[r * dims + j]) * expf(-logStd[j])
                sum += -0.5 * z * z - logStd[j] - halfLogTwoPi
            }
            logProbabilities[r] = sum
        }
    }

    /// Accumulates gradients of the means (rows, dims) and log-stds (dims) given dL/d(log p) per row:
    /// ∂/∂μ = (a − μ)/σ², ∂/∂log σ = ((a − μ)/σ)² − 1.
    public static func logProbabilityBackward(mean: UnsafePointer<Float>, logStd: UnsafePointer<Float>,
                                              actions: UnsafePointer<Float>, rows: Int, dims: Int,
                                              upstream: UnsafePointer<Float>,
                                              meanGradient: UnsafeMutablePointer<Float>,
                                              logStdGradient: UnsafeMutablePointer<Float>) {
        for r in 0..<rows {
            for j in 0..<dims {
                let inverseStd = expf(-logStd[j])
                let z = (actions[r * dims + j] - mean[r * dims + j]) * inverseStd
                meanGradient[r * dims + j] += upstream[r] * z * inverseStd
                logStdGradient[j] += upstream[r] * (z * z - 1)
            }
        }
    }

    /// Entropy Σ_j (½ + ½ log 2π + log σ_j), the same for every row; dH/d log σ_j = 1.
    public static func entropy(logStd: UnsafePointer<Float>, dims: Int) -> Float {
        var h: Float = 0
        for j in 0..<dims { h += 0.5 + halfLogTwoPi + logStd[j] }
        return h
    }
}

/// A tanh-squashed diagonal Gaussian with per-row means and log standard deviations (rows, dims), as SAC's policy
/// uses (Haarnoja et al. 2018, appendix C): u = μ + σ·ε with ε ~ N(0, 1), action a = tanh(u) in (−1, 1), and
/// log π(a) = Σ_j [log N(u_j; μ_j, σ_j²) − log(1 − a_j² + ``epsilon``)], the change-of-variables correction with the
/// small constant Stable-Baselines3 adds so the logarithm stays finite where tanh saturates.
public enum SquashedGaussian {
    /// The constant inside the correction's logarithm (SB3's `TanhBijector` epsilon).
    public static let epsilon: Float = 1e-6

    /// Samples with the given standard-normal `noise` (rows, dims): writes the squashed actions (rows, dims) and
    /// log π per row (rows). Zero noise gives the deterministic action tanh(μ).
    public static func sample(mean: UnsafePointer<Float>, logStd: UnsafePointer<Float>, noise: UnsafePointer<Float>,
                              rows: Int, dims: Int, actions: UnsafeMutablePointer<Float>,
                              logProbabilities: UnsafeMutablePointer<Float>) {
        for r in 0..<rows {
            var sum: Float = 0
            for j in 0..<dims {
                let k = r * dims + j
                let std = expf(logStd[k])
                let u = mean[k] + std * noise[k]
                let z = (u - mean[k]) / std
                let a = tanhf(u)
                actions[k] = a
                sum += -0.5 * z * z - logStd[k] - DiagonalGaussian.halfLogTwoPi - logf(1 - a * a + epsilon)
            }
            logProbabilities[r] = sum
        }
    }

    /// Gradients of the means and log-stds (rows, dims, overwritten) of a loss that depends on the sampled actions
    /// and their log-probabilities, given dL/d(action) (rows, dims) and dL/d(log π) per row, with the noise held
    /// fixed (the reparameterization): with g_u = dL/da·(1 − a²) + dL/dlogπ·2a(1 − a²)/(1 − a² + ε),
    /// ∂L/∂μ = g_u and ∂L/∂log σ = g_u·σ·ε − dL/dlogπ.
    public static func backward(logStd: UnsafePointer<Float>, noise: UnsafePointer<Float>, actions: UnsafePointer<Float>,
                                rows: Int, dims: Int, actionGradient: UnsafePointer<Float>,
                                logProbabilityGradient: UnsafePointer<Float>,
                                meanGradient: UnsafeMutablePointer<Float>, logStdGradient: UnsafeMutablePointer<Float>) {
        for r in 0..<rows {
            let g = logProbabilityGradient[r]
            for j in 0..<dims {
                let k = r * dims + j
                let a = actions[k], slope = 1 - a * a
                let gu = actionGradient[k] * slope + g * 2 * a * slope / (slope + epsilon)
                meanGradient[k] = gu
                logStdGradient[k] = gu * expf(logStd[k]) * noise[k] - g
            }
        }
    }
}
