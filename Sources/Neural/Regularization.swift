/// Gradient-norm clipping and weight penalties over a whole ``ParameterArena``.
public enum Regularization {
    /// Scales all gradients so their global L2 norm is at most `maxNorm` (PyTorch's `clip_grad_norm_`: the
    /// coefficient is maxNorm / (norm + 1e-6), capped at 1). Returns the norm before clipping.
    @discardableResult
    public static func clipGradientNorm(_ arena: ParameterArena, maxNorm: Float) -> Float {
        precondition(maxNorm > 0, "clipGradientNorm needs maxNorm > 0, got \(maxNorm)")
        let g = arena.grads
        // Four independent accumulators break the dependency chain; the padding is zero, so whole blocks of 4 are safe.
        var s0 = 0.0, s1 = 0.0, s2 = 0.0, s3 = 0.0
        for i in stride(from: 0, to: arena.paddedCount, by: 4) {
            s0 += Double(g[i]) * Double(g[i]); s1 += Double(g[i + 1]) * Double(g[i + 1])
            s2 += Double(g[i + 2]) * Double(g[i + 2]); s3 += Double(g[i + 3]) * Double(g[i + 3])
        }
        let norm = Float(((s0 + s1) + (s2 + s3)).squareRoot())
        let coefficient = maxNorm / (norm + 1e-6)
        if coefficient < 1 { for i in 0..<arena.count { g[i] *= coefficient } }
        return norm
    }

    /// Adds the L2 penalty `½ λ Σ w²` to the loss: accumulates λ·w into the gradients and returns the penalty.
    @discardableResult
    public static func addL2Penalty(_ arena: ParameterArena, lambda: Float) -> Float {
        let w = arena.values, g = arena.grads
        var sum = 0.0
        for i in 0..<arena.count {
            sum += Double(w[i]) * Double(w[i])
            g[i] += lambda * w[i]
        }
        return Float(0.5 * Double(lambda) * sum)
    }

    /// Adds the L1 penalty `λ Σ |w|` to the loss: accumulates λ·sign(w) into the gradients and returns the penalty.
    @discardableResult
    public static func addL1Penalty(_ arena: ParameterArena, lambda: Float) -> Float {
        let w = arena.values, g = arena.grads
        var sum = 0.0
        for i in 0..<arena.count {
            sum += Double(abs(w[i]))
            g[i] += w[i] > 0 ? lambda : (w[i] < 0 ? -lambda : 0)
        }
        return Float(Double(lambda) * sum)
    }
}
