import Foundation
import Neural
import CKernels
import SeededRandom
import Testing

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
    @Test("The C square-root kernel equals Float.squareRoot() bit for bit")
    func squareRootKernel() {
        var rng = SeededGenerator(seed: 1)
        let x = (0..<1_003).map { _ in abs(Float(rng.nextGaussian())) * 100 } + [0, .infinity, 1e-38]
        var y = [Float](repeating: 0, count: x.count)
        dojo_sqrt_f32(x, &y, x.count)
        #expect(y == x.map { $0.squareRoot() })
    }
}
