import SeededRandom
#if canImport(Glibc)
import Glibc
#endif

/// A single-layer LSTM over batch-first sequences, with PyTorch's gate order (i, f, g, o) and parameter layout
/// (`nn.LSTM(inputSize, hiddenSize, batch_first=True)`): `weight_ih_l0` (4H, I), `weight_hh_l0` (4H, H),
/// `bias_ih_l0` (4H), `bias_hh_l0` (4H), all initialized U(−1/√H, 1/√H) as PyTorch does.
///
/// Per step, with h₋ and c₋ the previous state (zeroed where the reset mask marks an episode start):
/// ```
/// i, f, g, o = σ(.), σ(.), tanh(.), σ(.)  of  x·W_ihᵀ + b_ih + h₋·W_hhᵀ + b_hh
/// c = f ⊙ c₋ + i ⊙ g,   h = o ⊙ tanh(c)
/// ```
/// Shapes: input (B, T, I); output (B, T, H); initial and final states (B, H); reset mask (B, T), where 1 at
/// [b, t] means sequence b starts a new episode at step t, so the state entering step t is zero.
///
/// The input projection for all steps is one matrix product; each step adds one (B, 4H) × (4H, H) product. Backward
/// is backpropagation through time over the whole sequence; weight gradients are accumulated with one product each
/// after the time loop.
public final class LSTM: Module {
    public let inputSize: Int
    public let hiddenSize: Int
    public let weightIH: Parameter
    public let weightHH: Parameter
    public let biasIH: Parameter
    public let biasHH: Parameter
    public var isTraining = true
    /// When false (the LSTM reads data, not another layer's output), `backward` skips dL/dx and returns a buffer
    /// whose contents are unspecified. Saves one matrix product.
    public var computesInputGradient = true

    // Forward caches, sized to the largest (B, T) seen.
    private let gates = Buffer()          // (B, T, 4H): activated i, f, g, o
    private let cells = Buffer()          // (B, T, H): c_t
    private let tanhCells = Buffer()      // (B, T, H): tanh(c_t)
    private let previousHidden = Buffer() // (B, T, H): masked h entering step t
    private let previousCell = Buffer()   // (B, T, H): masked c entering step t
    private let output = Buffer()         // (B, T, H): h_t
    private let finalHiddenBuffer = Buffer(), finalCellBuffer = Buffer()  // (B, H)
    // Backward buffers.
    private let gateGradients = Buffer()  // (B, T, 4H): dL/d(pre-activation gates)
    private let hiddenGradient = Buffer(), cellGradient = Buffer()        // (B, H), carried backwards in time
    private let inputGradientBuffer = Buffer()                             // (B, T, I)

    private var input: UnsafePointer<Float>?
    private var resetMask: UnsafePointer<Float>?
    private var batch = 0, steps = 0

    public init(inputSize: Int, hiddenSize: Int, rng: inout SeededGenerator) {
        precondition(inputSize > 0 && hiddenSize > 0, "LSTM needs positive sizes, got \(inputSize), \(hiddenSize)")
        self.inputSize = inputSize
        self.hiddenSize = hiddenSize
        weightIH = Parameter(shape: [4 * hiddenSize, inputSize])
        weightHH = Parameter(shape: [4 * hiddenSize, hiddenSize])
        biasIH = Parameter(shape: [4 * hiddenSize])
        biasHH = Parameter(shape: [4 * hiddenSize])
        let bound = 1 / Float(hiddenSize).squareRoot()
        for p in [weightIH, weightHH, biasIH, biasHH] {
            Initializer.uniform(low: -bound, high: bound).fill(p, using: &rng)
        }
    }

    public func namedParameters(prefix: String) -> [NamedParameter] {
        [NamedParameter(prefix + "weight_ih_l0", weightIH), NamedParameter(prefix + "weight_hh_l0", weightHH),
         NamedParameter(prefix + "bias_ih_l0", biasIH), NamedParameter(prefix + "bias_hh_l0", biasHH)]
    }

    /// h after the last step of the last forward, (B, H).
    public var finalHidden: UnsafeMutablePointer<Float> { finalHiddenBuffer.pointer }
    /// c after the last step of the last forward, (B, H).
    public var finalCell: UnsafeMutablePointer<Float> { finalCellBuffer.pointer }
    /// dL/d(initial hidden state) after `backward`, (B, H).
    public var initialHiddenGradient: UnsafeMutablePointer<Float> { hiddenGradient.pointer }
    /// dL/d(initial cell state) after `backward`, (B, H).
    public var initialCellGradient: UnsafeMutablePointer<Float> { cellGradient.pointer }

    /// Runs the sequence. `initialHidden`/`initialCell` (B, H) default to zeros; `resetMask` (B, T) to no resets.
    /// Returns the hidden state of every step, (B, T, H). All pointers must stay valid until `backward`.
    public func forward(_ input: UnsafePointer<Float>, batch: Int, steps: Int,
                        initialHidden: UnsafePointer<Float>? = nil, initialCell: UnsafePointer<Float>? = nil,
                        resetMask: UnsafePointer<Float>? = nil) -> UnsafeMutablePointer<Float> {
        precondition(batch > 0 && steps > 0, "LSTM.forward needs batch > 0 and steps > 0, got \(batch), \(steps)")
        self.input = input
        self.resetMask = resetMask
        self.batch = batch
        self.steps = steps
        let H = hiddenSize, G = 4 * H, rows = batch * steps
        let z = gates.reserve(rows * G), c = cells.reserve(rows * H), tc = tanhCells.reserve(rows * H)
        let hp = previousHidden.reserve(rows * H), cp = previousCell.reserve(rows * H)
        let h = output.reserve(rows * H)
        let hFinal = finalHiddenBuffer.reserve(batch * H), cFinal = finalCellBuffer.reserve(batch * H)

        // Input projection for every step at once: z = x·W_ihᵀ + b_ih + b_hh (the summed biases in row 0, copied).
        let biasI = biasIH.value, biasH = biasHH.value
        for j in 0..<G { z[j] = biasI[j] + biasH[j] }
        for r in 1..<rows { (z + r * G).update(from: z, count: G) }
        gemm(.none, .transposed, m: rows, n: G, k: inputSize, a: input, lda: inputSize,
             b: weightIH.value, ldb: inputSize, beta: 1, c: z, ldc: G)

        for t in 0..<steps {
            // State entering step t, zeroed at episode starts.
            for b in 0..<batch {
                let keep: Float = resetMask.map { 1 - $0[b * steps + t] } ?? 1
                let dstH = hp + (b * steps + t) * H, dstC = cp + (b * steps + t) * H
                if t == 0 {
                    if let h0 = initialHidden { for j in 0..<H { dstH[j] = keep * h0[b * H + j] } }
                    else { dstH.update(repeating: 0, count: H) }
                    if let c0 = initialCell { for j in 0..<H { dstC[j] = keep * c0[b * H + j] } }
                    else { dstC.update(repeating: 0, count: H) }
                } else {
                    let srcH = h + (b * steps + t - 1) * H, srcC = c + (b * steps + t - 1) * H
                    for j in 0..<H { dstH[j] = keep * srcH[j]; dstC[j] = keep * srcC[j] }
                }
            }
            // z[:, t] += h₋ · W_hhᵀ   (B, H) × (H, 4H), rows strided by T.
            gemm(.none, .transposed, m: batch, n: G, k: H, a: hp + t * H, lda: steps * H,
                 b: weightHH.value, ldb: H, beta: 1, c: z + t * G, ldc: steps * G)
            for b in 0..<batch {
                let row = b * steps + t
                LSTM.activateGates(z + row * G, hidden: H)
                LSTM.updateCell(z + row * G, cp + row * H, c + row * H, tc + row * H, h + row * H, hidden: H)
            }
        }
        for b in 0..<batch {
            let last = b * steps + steps - 1
            (hFinal + b * H).update(from: h + last * H, count: H)
            (cFinal + b * H).update(from: c + last * H, count: H)
        }
        return h
    }

    /// The gate nonlinearities of one row at one step, in place: σ on i, f and o, tanh on g (each H wide at `z`).
    /// Eight lanes at a time, the tail of each gate through the scalar functions.
    @inline(__always)
    static func activateGates(_ z: UnsafeMutablePointer<Float>, hidden H: Int) {
        for gate in 0..<4 {
            let x = z + gate * H
            var j = 0
            if gate == 2 {
                while j + 8 <= H { x.storeVector(vectorTanh(x.loadVector(j)), j); j += 8 }
                while j < H { x[j] = fastTanh(x[j]); j += 1 }
            } else {
                while j + 8 <= H { x.storeVector(vectorSigmoid(x.loadVector(j)), j); j += 8 }
                while j < H { x[j] = sigmoid(x[j]); j += 1 }
            }
        }
    }

    /// The state update of one row at one step from its activated gates at `z` (i, f, g, o): c = f ⊙ c₋ + i ⊙ g,
    /// writes c, tanh(c) and h = o ⊙ tanh(c), eight lanes at a time (the tail through the scalar functions).
    @inline(__always)
    static func updateCell(_ z: UnsafeMutablePointer<Float>, _ cPrev: UnsafeMutablePointer<Float>,
                           _ cNow: UnsafeMutablePointer<Float>, _ tcNow: UnsafeMutablePointer<Float>,
                           _ hNow: UnsafeMutablePointer<Float>, hidden H: Int) {
        let i = z, f = z + H, g = z + 2 * H, o = z + 3 * H
        var j = 0
        while j + 8 <= H {
            let cell = f.loadVector(j) * cPrev.loadVector(j) + i.loadVector(j) * g.loadVector(j)
            let tanhCell = vectorTanh(cell)
            cNow.storeVector(cell, j)
            tcNow.storeVector(tanhCell, j)
            hNow.storeVector(o.loadVector(j) * tanhCell, j)
            j += 8
        }
        while j < H {
            let cell = f[j] * cPrev[j] + i[j] * g[j]
            let tanhCell = fastTanh(cell)
            cNow[j] = cell
            tcNow[j] = tanhCell
            hNow[j] = o[j] * tanhCell
            j += 1
        }
    }

    /// One row of backpropagation through one step: from dL/dh of the step's output (`dOut`), the gradients carried
    /// back in time (`dh`, `dc`, updated in place to dL/d(c entering the step)) and the forward's activated gates `z`,
    /// c₋ and tanh(c), writes dL/d(pre-activation gates) to `dz`. Eight lanes at a time, the same operations in the
    /// same order as the scalar tail, so every element rounds alike.
    @inline(__always)
    static func cellBackward(_ dz: UnsafeMutablePointer<Float>, _ dOut: UnsafePointer<Float>,
                             _ dh: UnsafeMutablePointer<Float>, _ dc: UnsafeMutablePointer<Float>,
                             _ z: UnsafeMutablePointer<Float>, _ cPrev: UnsafeMutablePointer<Float>,
                             _ tcNow: UnsafeMutablePointer<Float>, hidden H: Int) {
        let i = z, f = z + H, g = z + 2 * H, o = z + 3 * H
        let dzi = dz, dzf = dz + H, dzg = dz + 2 * H, dzo = dz + 3 * H
        var j = 0
        while j + 8 <= H {
            let iv = i.loadVector(j), fv = f.loadVector(j), gv = g.loadVector(j), ov = o.loadVector(j)
            let tc = tcNow.loadVector(j)
            let dhj = dOut.loadVector(j) + dh.loadVector(j)
            let dcj = dc.loadVector(j) + dhj * ov * (1 - tc * tc)
            dzi.storeVector(dcj * gv * iv * (1 - iv), j)
            dzf.storeVector(dcj * cPrev.loadVector(j) * fv * (1 - fv), j)
            dzg.storeVector(dcj * iv * (1 - gv * gv), j)
            dzo.storeVector(dhj * tc * ov * (1 - ov), j)
            dc.storeVector(dcj * fv, j)
            j += 8
        }
        while j < H {
            let dhj = dOut[j] + dh[j]
            let dcj = dc[j] + dhj * o[j] * (1 - tcNow[j] * tcNow[j])
            dzi[j] = dcj * g[j] * i[j] * (1 - i[j])
            dzf[j] = dcj * cPrev[j] * f[j] * (1 - f[j])
            dzg[j] = dcj * i[j] * (1 - g[j] * g[j])
            dzo[j] = dhj * tcNow[j] * o[j] * (1 - o[j])
            dc[j] = dcj * f[j]
            j += 1
        }
    }

    /// Backpropagation through time for the last forward. `outputGradient` is dL/dh for every step (B, T, H);
    /// `finalHiddenGradient`/`finalCellGradient` (B, H) are gradients flowing into the final state (nil: zero).
    /// Accumulates parameter gradients, leaves dL/d(initial state) in ``initialHiddenGradient`` and
    /// ``initialCellGradient``, and returns dL/dx, (B, T, I).
    public func backward(_ outputGradient: UnsafePointer<Float>,
                         finalHiddenGradient: UnsafePointer<Float>? = nil,
                         finalCellGradient: UnsafePointer<Float>? = nil) -> UnsafeMutablePointer<Float> {
        guard let input else { preconditionFailure("LSTM.backward called before forward") }
        let H = hiddenSize, G = 4 * H, rows = batch * steps
        let z = gates.pointer, tc = tanhCells.pointer, cp = previousCell.pointer
        let dz = gateGradients.reserve(rows * G)
        let dh = hiddenGradient.reserve(batch * H), dc = cellGradient.reserve(batch * H)
        if let g = finalHiddenGradient { dh.update(from: g, count: batch * H) } else { dh.update(repeating: 0, count: batch * H) }
        if let g = finalCellGradient { dc.update(from: g, count: batch * H) } else { dc.update(repeating: 0, count: batch * H) }

        for t in stride(from: steps - 1, through: 0, by: -1) {
            for b in 0..<batch {
                let row = b * steps + t
                LSTM.cellBackward(dz + row * G, outputGradient + row * H, dh + b * H, dc + b * H,
                                  z + row * G, cp + row * H, tc + row * H, hidden: H)
            }
            // dL/d(masked h entering step t) = dz[:, t] · W_hh   (B, 4H) × (4H, H)
            gemm(.none, .none, m: batch, n: H, k: G, a: dz + t * G, lda: steps * G,
                 b: weightHH.value, ldb: H, c: dh, ldc: H)
            if let mask = resetMask {
                for b in 0..<batch {
                    let keep = 1 - mask[b * steps + t]
                    for j in 0..<H { dh[b * H + j] *= keep; dc[b * H + j] *= keep }
                }
            }
        }
        // Weight and bias gradients over all steps at once.
        gemm(.transposed, .none, m: G, n: H, k: rows, a: dz, lda: G, b: previousHidden.pointer, ldb: H,
             beta: 1, c: weightHH.grad, ldc: H)
        gemm(.transposed, .none, m: G, n: inputSize, k: rows, a: dz, lda: G, b: input, ldb: inputSize,
             beta: 1, c: weightIH.grad, ldc: inputSize)
        // Both biases get the column sums of dz, accumulated in one pass over it.
        let biasIHGrad = biasIH.grad, biasHHGrad = biasHH.grad
        for r in 0..<rows {
            let row = dz + r * G
            for j in 0..<G { biasIHGrad[j] += row[j]; biasHHGrad[j] += row[j] }
        }
        let dx = inputGradientBuffer.reserve(rows * inputSize)
        if computesInputGradient {
            gemm(.none, .none, m: rows, n: inputSize, k: G, a: dz, lda: G, b: weightIH.value, ldb: inputSize,
                 c: dx, ldc: inputSize)
        }
        return dx
    }
}
