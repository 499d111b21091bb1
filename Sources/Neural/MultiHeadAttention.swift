import SeededRandom
#if canImport(Glibc)
import Glibc
#endif

/// Multi-head scaled dot-product attention with PyTorch's `nn.MultiheadAttention(E, heads, batch_first=True)`
/// parameter layout: `in_proj_weight` (3E, E) stacking W_q, W_k, W_v; `in_proj_bias` (3E); `out_proj.weight` (E, E);
/// `out_proj.bias` (E). Initialized as PyTorch does: in-projection Xavier-uniform, biases zero, out-projection
/// weight U(−1/√E, 1/√E).
///
/// Shapes: query (B, Lq, E); key and value (B, Lk, E); key padding mask (B, Lk) with `true` = ignore this key;
/// output (B, Lq, E). After `forward`, ``attentionWeights`` holds the weights averaged over heads (B, Lq, Lk), as
/// PyTorch returns by default, and ``headAttentionWeights`` the per-head weights (B, heads, Lq, Lk).
///
/// A query whose keys are all masked attends to nothing: its weights and its attention output are zero (PyTorch
/// returns NaN there).
public final class MultiHeadAttention: Module {
    public let embedDimension: Int
    public let headCount: Int
    public var headDimension: Int { embedDimension / headCount }
    public let inProjectionWeight: Parameter
    public let inProjectionBias: Parameter
    public let outProjectionWeight: Parameter
    public let outProjectionBias: Parameter
    public var isTraining = true
    /// When false (the attention reads data, not another layer's output), `backward` skips the input gradients
    /// and the returned buffers hold unspecified values. Saves three matrix products.
    public var computesInputGradient = true

    private let q = Buffer(), k = Buffer(), v = Buffer()    // (B·Lq, E), (B·Lk, E), (B·Lk, E)
    private let probabilities = Buffer()                    // (B, heads, Lq, Lk)
    private let averagedWeights = Buffer()                  // (B, Lq, Lk)
    private let context = Buffer()                          // (B·Lq, E): heads concatenated
    private let output = Buffer()                           // (B·Lq, E)
    private let contextGradient = Buffer()                  // (B·Lq, E)
    private let scoreGradient = Buffer()                    // (Lq, Lk) scratch
    private let keyBiasBuffer = Buffer()                    // (B, Lk): 0 or −∞ (masked key), added to the scores
    private let dq = Buffer(), dk = Buffer(), dv = Buffer()
    private let queryGradient = Buffer(), keyGradient = Buffer(), valueGradient = Buffer()

    private var query: UnsafePointer<Float>?, key: UnsafePointer<Float>?, value: UnsafePointer<Float>?
    private var batch = 0, queryLength = 0, keyLength = 0

    public init(embedDimension: Int, headCount: Int, rng: inout SeededGenerator) {
        precondition(embedDimension > 0 && headCount > 0 && embedDimension % headCount == 0,
                     "MultiHeadAttention needs embedDimension (\(embedDimension)) divisible by headCount (\(headCount))")
        self.embedDimension = embedDimension
        self.headCount = headCount
        let E = embedDimension
        inProjectionWeight = Parameter(shape: [3 * E, E])
        inProjectionBias = Parameter(shape: [3 * E])
        outProjectionWeight = Parameter(shape: [E, E])
        outProjectionBias = Parameter(shape: [E])
        Initializer.xavierUniform().fill(inProjectionWeight, using: &rng)
        let bound = 1 / Float(E).squareRoot()
        Initializer.uniform(low: -bound, high: bound).fill(outProjectionWeight, using: &rng)
    }

    public func namedParameters(prefix: String) -> [NamedParameter] {
        [NamedParameter(prefix + "in_proj_weight", inProjectionWeight),
         NamedParameter(prefix + "in_proj_bias", inProjectionBias),
         NamedParameter(prefix + "out_proj.weight", outProjectionWeight),
         NamedParameter(prefix + "out_proj.bias", outProjectionBias)]
    }

    /// Attention weights of the last forward averaged over heads, (B, Lq, Lk).
    public var attentionWeights: UnsafeMutablePointer<Float> { averagedWeights.pointer }
    /// Per-head attention weights of the last forward, (B, heads, Lq, Lk).
    public var headAttentionWeights: UnsafeMutablePointer<Float> { probabilities.pointer }

    /// Attends from `query` to `key`/`value`; pass the same pointer three times for self-attention.
    /// Returns (B, Lq, E). The inputs and the mask must stay valid until `backward`.
    public func forward(query: UnsafePointer<Float>, key: UnsafePointer<Float>, value: UnsafePointer<Float>,
                        batch: Int, queryLength: Int, keyLength: Int,
                        keyPaddingMask: UnsafePointer<Bool>? = nil) -> UnsafeMutablePointer<Float> {
        precondition(batch > 0 && queryLength > 0 && keyLength > 0,
                     "MultiHeadAttention.forward needs positive batch and lengths")
        self.query = query; self.key = key; self.value = value
        self.batch = batch; self.queryLength = queryLength; self.keyLength = keyLength
        let E = embedDimension, d = headDimension, Lq = queryLength, Lk = keyLength
        let Q = q.reserve(batch * Lq * E), K = k.reserve(batch * Lk * E), V = v.reserve(batch * Lk * E)
        let P = probabilities.reserve(batch * headCount * Lq * Lk)
        // Each head's output is a strided block of O that its product adds into: O is zeroed once here rather than
        // row by row in every product (as `gemm` with beta 0 would).
        let O = context.zeroed(batch * Lq * E)
        let W = inProjectionWeight.value, bias = inProjectionBias.value
        project(query, rows: batch * Lq, weight: W, bias: bias, into: Q)
        project(key, rows: batch * Lk, weight: W + E * E, bias: bias + E, into: K)
        project(value, rows: batch * Lk, weight: W + 2 * E * E, bias: bias + 2 * E, into: V)

        let keyBias = keyBiasBuffer.reserve(batch * Lk)
        fillKeyBias(keyBias, mask: keyPaddingMask, count: batch * Lk)
        let scale = 1 / Float(d).squareRoot()
        for b in 0..<batch {
            for h in 0..<headCount {
                let scores = P + (b * headCount + h) * Lq * Lk
                // S = Q_bh · K_bhᵀ / √d   (Lq, d) × (d, Lk)
                gemm(.none, .transposed, m: Lq, n: Lk, k: d, alpha: scale, a: Q + b * Lq * E + h * d, lda: E,
                     b: K + b * Lk * E + h * d, ldb: E, c: scores, ldc: Lk)
                for i in 0..<Lq { maskedSoftmax(scores + i * Lk, count: Lk, bias: keyBias + b * Lk) }
                // O_bh = P · V_bh   (Lq, Lk) × (Lk, d)
                gemm(.none, .none, m: Lq, n: d, k: Lk, a: scores, lda: Lk, b: V + b * Lk * E + h * d, ldb: E,
                     beta: 1, c: O + b * Lq * E + h * d, ldc: E)
            }
        }
        let averaged = averagedWeights.zeroed(batch * Lq * Lk)
        let inverseHeads = 1 / Float(headCount)
        for b in 0..<batch {
            for h in 0..<headCount {
                let scores = P + (b * headCount + h) * Lq * Lk, target = averaged + b * Lq * Lk
                for i in 0..<(Lq * Lk) { target[i] += scores[i] * inverseHeads }
            }
        }
        let y = output.reserve(batch * Lq * E)
        project(O, rows: batch * Lq, weight: outProjectionWeight.value, bias: outProjectionBias.value, into: y)
        return y
    }

    /// Gradients of the inputs after ``backward(_:)``; for self-attention add the three.
    public struct InputGradients {
        public let query: UnsafeMutablePointer<Float>   // (B, Lq, E)
        public let key: UnsafeMutablePointer<Float>     // (B, Lk, E)
        public let value: UnsafeMutablePointer<Float>   // (B, Lk, E)
    }

    /// Backward for the last forward, given dL/d(output) (B, Lq, E). Accumulates parameter gradients.
    @discardableResult
    public func backward(_ outputGradient: UnsafePointer<Float>) -> InputGradients {
        guard let query, let key, let value else { preconditionFailure("MultiHeadAttention.backward before forward") }
        let E = embedDimension, d = headDimension, Lq = queryLength, Lk = keyLength
        let rowsQ = batch * Lq, rowsK = batch * Lk
        let P = probabilities.pointer, Q = q.pointer, K = k.pointer, V = v.pointer, O = context.pointer
        // Output projection.
        gemm(.transposed, .none, m: E, n: E, k: rowsQ, a: outputGradient, lda: E, b: O, ldb: E,
             beta: 1, c: outProjectionWeight.grad, ldc: E)
        addColumnSums(outputGradient, rows: rowsQ, columns: E, into: outProjectionBias.grad)
        let dO = contextGradient.reserve(rowsQ * E)
        gemm(.none, .none, m: rowsQ, n: E, k: E, a: outputGradient, lda: E, b: outProjectionWeight.value, ldb: E,
             c: dO, ldc: E)

        // Zeroed once, each head's strided block accumulated (as O in forward).
        let dQ = dq.zeroed(rowsQ * E), dK = dk.zeroed(rowsK * E), dV = dv.zeroed(rowsK * E)
        let dS = scoreGradient.reserve(Lq * Lk)
        let scale = 1 / Float(d).squareRoot()
        for b in 0..<batch {
            for h in 0..<headCount {
                let probs = P + (b * headCount + h) * Lq * Lk
                let qbh = Q + b * Lq * E + h * d, kbh = K + b * Lk * E + h * d, vbh = V + b * Lk * E + h * d
                let dObh = dO + b * Lq * E + h * d
                // dP = dO_bh · V_bhᵀ (Lq, Lk);  dV_bh = Pᵀ · dO_bh (Lk, d)
                gemm(.none, .transposed, m: Lq, n: Lk, k: d, a: dObh, lda: E, b: vbh, ldb: E, c: dS, ldc: Lk)
                gemm(.transposed, .none, m: Lk, n: d, k: Lq, a: probs, lda: Lk, b: dObh, ldb: E,
                     beta: 1, c: dV + b * Lk * E + h * d, ldc: E)
                // Softmax backward: dS = P ⊙ (dP − Σ_j dP ⊙ P)
                for i in 0..<Lq {
                    let p = probs + i * Lk, g = dS + i * Lk
                    var dot: Float = 0
                    for j in 0..<Lk { dot += p[j] * g[j] }
                    for j in 0..<Lk { g[j] = p[j] * (g[j] - dot) }
                }
                // dQ_bh = dS · K_bh / √d;  dK_bh = dSᵀ · Q_bh / √d
                gemm(.none, .none, m: Lq, n: d, k: Lk, alpha: scale, a: dS, lda: Lk, b: kbh, ldb: E,
                     beta: 1, c: dQ + b * Lq * E + h * d, ldc: E)
                gemm(.transposed, .none, m: Lk, n: d, k: Lq, alpha: scale, a: dS, lda: Lk, b: qbh, ldb: E,
                     beta: 1, c: dK + b * Lk * E + h * d, ldc: E)
            }
        }
        // Input projections.
        let gq = queryGradient.reserve(rowsQ * E), gk = keyGradient.reserve(rowsK * E)
        let gv = valueGradient.reserve(rowsK * E)
        projectionBackward(slot: 0, gradient: dQ, input: query, rows: rowsQ, inputGradient: gq)
        projectionBackward(slot: 1, gradient: dK, input: key, rows: rowsK, inputGradient: gk)
        projectionBackward(slot: 2, gradient: dV, input: value, rows: rowsK, inputGradient: gv)
        return InputGradients(query: gq, key: gk, value: gv)
    }

    /// Backward of one slice of the input projection (0: query, 1: key, 2: value): accumulates its weight and bias
    /// gradients and writes dL/d(input) = gradient · W_slot.
    private func projectionBackward(slot: Int, gradient: UnsafePointer<Float>, input: UnsafePointer<Float>, rows: Int,
                                    inputGradient: UnsafeMutablePointer<Float>) {
        let E = embedDimension
        gemm(.transposed, .none, m: E, n: E, k: rows, a: gradient, lda: E, b: input, ldb: E,
             beta: 1, c: inProjectionWeight.grad + slot * E * E, ldc: E)
        addColumnSums(gradient, rows: rows, columns: E, into: inProjectionBias.grad + slot * E)
        guard computesInputGradient else { return }
        gemm(.none, .none, m: rows, n: E, k: E, a: gradient, lda: E, b: inProjectionWeight.value + slot * E * E,
             ldb: E, c: inputGradient, ldc: E)
    }

    /// x·Wᵀ + b for a block of E-wide rows.
    private func project(_ x: UnsafePointer<Float>, rows: Int, weight: UnsafePointer<Float>,
                         bias: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>) {
        let E = embedDimension
        for r in 0..<rows { (y + r * E).update(from: bias, count: E) }
        gemm(.none, .transposed, m: rows, n: E, k: E, a: x, lda: E, b: weight, ldb: E, beta: 1, c: y, ldc: E)
    }
}

/// Softmax of one row in place after adding `bias`, whose entries are 0 (keep) or −∞ (masked: probability 0). An
/// all-masked row becomes zeros. Eight entries at a time with ``vectorExp`` (scalar `expf` made the softmax a fifth of
/// attention's forward pass); ``maskedSoftmaxReference(_:count:mask:)`` is the plain loop it is tested against.
@inline(__always)
func maskedSoftmax(_ x: UnsafeMutablePointer<Float>, count n: Int, bias: UnsafePointer<Float>) {
    let full = n & ~7  // entries in whole eight-lane groups
    let dead = SIMD8<Float>(repeating: -.infinity)
    var maxima = dead
    var j = 0
    while j < full {
        let v = x.loadVector(j) + bias.loadVector(j)
        maxima = maxima.replacing(with: v, where: v .> maxima)
        j += 8
    }
    var tail = dead  // the last, partial group; lanes past the row stay dead
    for lane in 0..<(n - full) { tail[lane] = x[full + lane] + bias[full + lane] }
    maxima = maxima.replacing(with: tail, where: tail .> maxima)
    var maximum = maxima[0]
    for lane in 1..<8 { maximum = max(maximum, maxima[lane]) }
    if maximum == -.infinity {
        x.update(repeating: 0, count: n)
        return
    }
    let shift = SIMD8<Float>(repeating: maximum)
    var sums = SIMD8<Float>(repeating: 0)
    j = 0
    while j < full {
        let v = x.loadVector(j) + bias.loadVector(j)
        let e = vectorExp(v - shift).replacing(with: 0, where: v .== dead)
        sums += e
        x.storeVector(e, j)
        j += 8
    }
    if full < n {
        let e = vectorExp(tail - shift).replacing(with: 0, where: tail .== dead)
        sums += e
        for lane in 0..<(n - full) { x[full + lane] = e[lane] }
    }
    let inverse = 1 / sums.sum()
    let scale = SIMD8<Float>(repeating: inverse)
    j = 0
    while j < full { x.storeVector(x.loadVector(j) * scale, j); j += 8 }
    for j in full..<n { x[j] *= inverse }
}

/// The additive softmax bias of a key padding mask: 0 where a key is kept, −∞ where it is masked (all 0 without one).
func fillKeyBias(_ bias: UnsafeMutablePointer<Float>, mask: UnsafePointer<Bool>?, count: Int) {
    for j in 0..<count { bias[j] = mask?[j] ?? false ? -.infinity : 0 }
}

/// The plain softmax ``maskedSoftmax(_:count:mask:)`` computes, with `expf` one entry at a time (for tests).
func maskedSoftmaxReference(_ x: UnsafeMutablePointer<Float>, count n: Int, mask: UnsafePointer<Bool>?) {
    var maximum = -Float.infinity
    for j in 0..<n where !(mask?[j] ?? false) { maximum = max(maximum, x[j]) }
    if maximum == -.infinity {
        x.update(repeating: 0, count: n)
        return
    }
    var sum: Float = 0
    for j in 0..<n {
        if mask?[j] ?? false { x[j] = 0 } else { x[j] = expf(x[j] - maximum); sum += x[j] }
    }
    let inverse = 1 / sum
    for j in 0..<n { x[j] *= inverse }
}

/// sums[j] += Σ_r x[r, j] for a (rows, columns) block.
@inline(__always)
func addColumnSums(_ x: UnsafePointer<Float>, rows: Int, columns: Int, into sums: UnsafeMutablePointer<Float>) {
    for r in 0..<rows {
        let row = x + r * columns
        for j in 0..<columns { sums[j] += row[j] }
    }
}
