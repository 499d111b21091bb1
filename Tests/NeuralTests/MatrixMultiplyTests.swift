import CBLAS
import Foundation
import Neural
import SeededRandom
import Testing
import TestSupport

@Suite struct MatrixMultiplyTests {
    init() { pinBLASToOneThread() }

    @Test("OpenBLAS gemm (and its one-row matrix-vector path) equals the naive reference for every transpose, stride and beta",
          arguments: [(Transpose.none, Transpose.none, 7), (.none, .transposed, 7), (.transposed, .none, 7), (.transposed, .transposed, 7),
                      (.none, .none, 1), (.none, .transposed, 1), (.transposed, .none, 1), (.transposed, .transposed, 1)])
    func gemmMatchesNaive(transA: Transpose, transB: Transpose, m: Int) {
        var rng = SeededGenerator(seed: 3)
        let n = 5, k = 9, pad = 3
        // Stored shapes with padded rows (ld > logical width) to exercise strides.
        let (aRows, aCols) = transA == .none ? (m, k) : (k, m)
        let (bRows, bCols) = transB == .none ? (k, n) : (n, k)
        let lda = aCols + pad, ldb = bCols + pad, ldc = n + pad
        let a = randomArray(aRows * lda, &rng), b = randomArray(bRows * ldb, &rng)
        for beta: Float in [0, 1, 0.5] {
            var fast = randomArray(m * ldc, &rng)
            var reference = fast
            gemm(transA, transB, m: m, n: n, k: k, alpha: 0.7, a: a, lda: lda, b: b, ldb: ldb, beta: beta, c: &fast, ldc: ldc)
            naiveGemm(transA, transB, m: m, n: n, k: k, alpha: 0.7, a: a, lda: lda, b: b, ldb: ldb, beta: beta,
                      c: &reference, ldc: ldc)
            #expect(scaledError(fast, reference) < 1e-6, "beta \(beta)")
        }
    }

    /// `gemm` zeroes C itself and asks OpenBLAS to accumulate (its beta-0 pass is slow); the result must be OpenBLAS's
    /// own beta-0 product bit for bit, at shapes that take its different kernels and tails, with padded rows.
    @Test("beta 0 through gemm equals OpenBLAS's beta-0 product bit for bit",
          arguments: [(64, 64, 64), (256, 5, 256), (16, 512, 128), (16, 16, 16), (37, 91, 300), (3, 7, 2)])
    func betaZeroIsOpenBLASBitForBit(m: Int, n: Int, k: Int) {
        var rng = SeededGenerator(seed: 11)
        for transB in [Transpose.none, .transposed] {
            for pad in [0, 3] {
                let ldc = n + pad, ldb = transB == .none ? n : k
                let a = randomArray(m * k, &rng), b = randomArray(k * n, &rng)
                var ours = randomArray(m * ldc, &rng)
                var theirs = ours
                gemm(.none, transB, m: m, n: n, k: k, alpha: 0.7, a: a, lda: k, b: b, ldb: ldb, beta: 0, c: &ours, ldc: ldc)
                cblas_sgemm(CblasRowMajor, CblasNoTrans, transB == .none ? CblasNoTrans : CblasTrans, Int32(m), Int32(n),
                            Int32(k), 0.7, a, Int32(k), b, Int32(ldb), 0, &theirs, Int32(ldc))
                #expect(ours.map(\.bitPattern) == theirs.map(\.bitPattern), "\(m)×\(n)×\(k), B \(transB), pad \(pad)")
            }
        }
    }

    @Test("An empty inner dimension scales C by beta")
    func emptyInnerDimension() {
        var c: [Float] = [1, 2, 3, 4]
        let a: [Float] = [0], b: [Float] = [0]
        gemm(.none, .none, m: 2, n: 2, k: 0, a: a, lda: 1, b: b, ldb: 2, beta: 0.5, c: &c, ldc: 2)
        #expect(c == [0.5, 1, 1.5, 2])
    }
}

@Suite struct ElementwiseKernelTests {
    @Test("fastTanh stays within 2.5e-7 of tanhf (the reference) from −20 to 20, and keeps its sign and limits")
    func fastTanhMatchesReference() {
        var worst: Float = 0
        for i in -200_000...200_000 {
            let x = Float(i) * 1e-4
            worst = max(worst, abs(fastTanh(x) - Foundation.tanhf(x)))
        }
        #expect(worst <= 2.5e-7, "max error \(worst)")
        #expect(fastTanh(100) == 1 && fastTanh(-100) == -1 && fastTanh(0) == 0)
        #expect(fastTanh(.infinity) == 1 && fastTanh(.nan).isNaN)
    }
}
