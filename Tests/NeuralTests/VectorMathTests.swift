import Foundation
@testable import Neural
import SeededRandom
import Testing
import TestSupport

/// The eight-lane kernels against their scalar references.
@Suite struct VectorMathTests {
    /// Applies `kernel` to `inputs` eight at a time.
    func lanes(_ inputs: [Float], _ kernel: (SIMD8<Float>) -> SIMD8<Float>) -> [Float] {
        stride(from: 0, to: inputs.count, by: 8).flatMap { start in
            var v = SIMD8<Float>(repeating: 0)
            for k in 0..<8 { v[k] = inputs[start + k] }
            let r = kernel(v)
            return (0..<8).map { r[$0] }
        }
    }

    let inputs: [Float] = (-160_000..<160_000).map { Float($0) * 5e-4 }  // −80 … 80

    @Test func expMatchesExpf() {
        let fast = lanes(inputs, vectorExp)
        var worst: Float = 0
        for (x, y) in zip(inputs, fast) { worst = max(worst, abs(y - expf(x)) / expf(x)) }
        #expect(worst <= 2.5e-7, "max relative error \(worst)")
    }

    @Test func sigmoidAndTanhMatchScalarReferences() {
        var worstSigmoid: Float = 0, worstTanh: Float = 0
        for (x, y) in zip(inputs, lanes(inputs, vectorSigmoid)) { worstSigmoid = max(worstSigmoid, abs(y - sigmoid(x))) }
        for (x, y) in zip(inputs, lanes(inputs, vectorTanh)) { worstTanh = max(worstTanh, abs(y - tanhf(x))) }
        #expect(worstSigmoid <= 2e-7, "sigmoid max error \(worstSigmoid)")
        #expect(worstTanh <= 3e-7, "tanh max error \(worstTanh)")
    }

    /// The LSTM's backward cell step in lanes against the plain per-element formula: pure arithmetic in the same order,
    /// so bit for bit, over two lane groups and a scalar tail (H = 21).
    @Test("LSTM.cellBackward equals the plain formula bit for bit")
    func lstmCellBackwardIsThePlainFormula() {
        var rng = SeededGenerator(seed: 12)
        let H = 21
        let gates = randomArray(4 * H, &rng).enumerated().map { $0.offset / H == 2 ? tanhf($0.element) : sigmoid($0.element) }
        let cPrev = randomArray(H, &rng), tanhCell = randomArray(H, &rng).map { tanhf($0) }, dOut = randomArray(H, &rng)
        let dhIn = randomArray(H, &rng), dcIn = randomArray(H, &rng)
        var expectedGates = [Float](repeating: 0, count: 4 * H), expectedCell = dcIn
        for j in 0..<H {
            let i = gates[j], f = gates[H + j], g = gates[2 * H + j], o = gates[3 * H + j]
            let dh = dOut[j] + dhIn[j]
            let dc = dcIn[j] + dh * o * (1 - tanhCell[j] * tanhCell[j])
            expectedGates[j] = dc * g * i * (1 - i)
            expectedGates[H + j] = dc * cPrev[j] * f * (1 - f)
            expectedGates[2 * H + j] = dc * i * (1 - g * g)
            expectedGates[3 * H + j] = dh * tanhCell[j] * o * (1 - o)
            expectedCell[j] = dc * f
        }
        var dz = [Float](repeating: .nan, count: 4 * H), z = gates, c = cPrev, tc = tanhCell, dh = dhIn, dc = dcIn
        LSTM.cellBackward(&dz, dOut, &dh, &dc, &z, &c, &tc, hidden: H)
        #expect(dz.map(\.bitPattern) == expectedGates.map(\.bitPattern))
        #expect(dc.map(\.bitPattern) == expectedCell.map(\.bitPattern))
    }

    @Test("Extremes saturate and NaN stays NaN")
    func extremes() {
        let x = SIMD8<Float>(-1000, 1000, -.infinity, .infinity, .nan, 0, -0.0, 88)
        let e = vectorExp(x), s = vectorSigmoid(x), t = vectorTanh(x)
        #expect(e[0] < 1e-37 && e[1] > 1e38 && e[4].isNaN && e[5] == 1)
        #expect(s[0] < 1e-37 && s[1] == 1 && s[3] == 1 && s[4].isNaN && s[5] == 0.5)
        #expect(t[0] == -1 && t[1] == 1 && t[2] == -1 && t[3] == 1 && t[4].isNaN && t[5] == 0)
    }
}

@Suite struct KernelTests {
    @Test("The one-pass C Adam kernel equals the plain Swift step bit for bit, with every option",
          arguments: [(0, false, false), (0, false, true), (0.1, false, false), (0.1, false, true), (0.05, true, false),
                      (0.05, true, true)] as [(Float, Bool, Bool)])
    func adamKernel(weightDecay: Float, decoupled: Bool, amsgrad: Bool) {
        /// Two identical models of 1,003 weights (padded to 1,008), one stepped by the kernel, one by the reference.
        func model() -> (Parameter, ParameterArena) {
            let w = Parameter(shape: [17, 59])
            var rng = SeededGenerator(seed: 4)
            for i in 0..<w.count { w.value[i] = Float(rng.nextGaussian()) }
            return (w, ParameterArena([NamedParameter("w", w)]))
        }
        let (a, arenaA) = model(), (b, arenaB) = model()
        let make = { (arena: ParameterArena) in
            Adam(arena, learningRate: 0.01, beta1: 0.8, beta2: 0.99, weightDecay: weightDecay, amsgrad: amsgrad,
                 decoupledWeightDecay: decoupled)
        }
        let kernel = make(arenaA), reference = make(arenaB)
        let initial = (0..<a.count).map { a.value[$0] }
        var rng = SeededGenerator(seed: 5)
        for step in 1...20 {
            for i in 0..<a.count {
                // Gradients that shrink over the steps, so AMSGrad's maximum and the current moment both win somewhere.
                let g = Float(rng.nextGaussian()) * (step % 7 == 0 ? 3 : 1) / Float(step)
                (a.grad[i], b.grad[i]) = (g, g)
            }
            kernel.step()
            reference.referenceStep()
            let same = (0..<a.count).allSatisfy { a.value[$0].bitPattern == b.value[$0].bitPattern }
            #expect(same, "step \(step): weights differ")
        }
        #expect((0..<a.count).allSatisfy { a.value[$0] != initial[$0] }, "every weight should have moved")
    }
}
