import CBLAS

/// Whether an operand of ``gemm`` is used as stored or transposed.
public enum Transpose: Sendable {
    case none, transposed
    @usableFromInline var blas: CBLAS_TRANSPOSE { self == .none ? CblasNoTrans : CblasTrans }
}

/// C = alpha · op(A) · op(B) + beta · C, row-major, through OpenBLAS `cblas_sgemm`.
///
/// Shapes: op(A) is (m, k), op(B) is (k, n), C is (m, n). `lda`, `ldb`, `ldc` are row strides (in floats) of the
/// stored matrices, which lets callers address strided slices such as one time step of a (batch, time, features)
/// sequence or one head of an attention projection. Every matrix product in Dojo goes through this function.
///
/// When a ``PhaseClock`` times products (`dojo bench nn --profile`, `dojo train --profile`), each call is charged to
/// the clock's current phase.
@inlinable
public func gemm(
    _ transA: Transpose, _ transB: Transpose, m: Int, n: Int, k: Int,
    alpha: Float = 1, a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
    beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int
) {
    guard let clock = PhaseClock.productClock else {
        return blasProduct(transA, transB, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda, b: b, ldb: ldb, beta: beta, c: c, ldc: ldc)
    }
    let start = PhaseClock.now()
    blasProduct(transA, transB, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda, b: b, ldb: ldb, beta: beta, c: c, ldc: ldc)
    clock.chargeProduct(seconds: PhaseClock.now() - start, multiplyAdds: m * n * k)
}

/// ``gemm`` without the profiling hook.
@inlinable
func blasProduct(
    _ transA: Transpose, _ transB: Transpose, m: Int, n: Int, k: Int,
    alpha: Float, a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
    beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int
) {
    if m == 0 || n == 0 { return }
    if k == 0 {  // BLAS leaves C untouched only when beta == 1; make the empty product explicit.
        for i in 0..<m { for j in 0..<n { c[i * ldc + j] = beta == 0 ? 0 : beta * c[i * ldc + j] } }
        return
    }
    if BLASThreads.forLargeProducts > 1 { BLASThreads.choose(multiplyAdds: m * n * k) }
    if m == 1 {
        // One row (acting on one observation): a matrix-vector product, which skips sgemm's packing. Row i of C is
        // op(B)ᵀ-times the row of op(A): A's row is contiguous, or (transposed) strided by lda.
        let x = Int32(transA == .none ? 1 : lda)
        if transB == .transposed {  // B is (n, k): y = B · a
            cblas_sgemv(CblasRowMajor, CblasNoTrans, Int32(n), Int32(k), alpha, b, Int32(ldb), a, x, beta, c, 1)
        } else {                    // B is (k, n): y = Bᵀ · a
            cblas_sgemv(CblasRowMajor, CblasTrans, Int32(k), Int32(n), alpha, b, Int32(ldb), a, x, beta, c, 1)
        }
        return
    }
    var beta = beta
    if beta == 0 {
        // Zero C here and let OpenBLAS accumulate into it: its own pass for beta 0 (sgemm_beta) zeroes about one float
        // a cycle, several times slower than memset, and then accumulates just the same, so the sums are unchanged.
        if ldc == n { c.update(repeating: 0, count: m * n) } else { for i in 0..<m { (c + i * ldc).update(repeating: 0, count: n) } }
        beta = 1
    }
    cblas_sgemm(CblasRowMajor, transA.blas, transB.blas, Int32(m), Int32(n), Int32(k),
                alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
}

/// The naive triple loop computing exactly what ``gemm`` computes, accumulated in Double. It is the reference the
/// tests compare OpenBLAS against; never used on a hot path.
public func naiveGemm(
    _ transA: Transpose, _ transB: Transpose, m: Int, n: Int, k: Int,
    alpha: Float = 1, a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
    beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int
) {
    for i in 0..<m {
        for j in 0..<n {
            var sum = 0.0
            for p in 0..<k {
                let aValue = transA == .none ? a[i * lda + p] : a[p * lda + i]
                let bValue = transB == .none ? b[p * ldb + j] : b[j * ldb + p]
                sum += Double(aValue) * Double(bValue)
            }
            let previous = beta == 0 ? 0 : Double(beta) * Double(c[i * ldc + j])
            c[i * ldc + j] = Float(Double(alpha) * sum + previous)
        }
    }
}

/// Threading of the BLAS library. Products of at least ``largeProduct`` multiply-adds run on ``forLargeProducts``
/// threads, smaller ones (and matrix-vector products) on one: small RL networks only lose from more. Measured with
/// OpenBLAS 0.3.21 on two Zen cores (one product repeated, two threads over one): 37×91×300 0.81×, 256×5×256 0.62×,
/// 256×128×256 (8.4 M multiply-adds) 1.16×, 256³ 1.45×, 512³ 1.42×, 64×512×2048 1.78×. Two threads change the bits of
/// a product (OpenBLAS splits it differently), so results are bit-identical only at the same thread count.
public enum BLASThreads {
    /// The least multiply-adds (m · n · k) a product needs to run on several threads: 2²² (4.2 M, about 50 µs on one core).
    public static let largeProduct = 1 << 22
    /// Threads for products of at least ``largeProduct`` multiply-adds (1: every product on one thread). Set once at
    /// start-up, before any product (not thread-safe).
    @usableFromInline nonisolated(unsafe) static var forLargeProducts = 1
    /// The thread count OpenBLAS was last set to.
    nonisolated(unsafe) private static var inUse = 1

    /// Uses `count` threads for large products from now on, one for the rest.
    public static func set(_ count: Int) {
        precondition(count >= 1, "BLAS thread count must be at least 1, got \(count)")
        forLargeProducts = count
        inUse = 1
        openblas_set_num_threads(1)
    }

    /// Sets OpenBLAS's thread count for a product of `multiplyAdds` (only when it changes).
    @usableFromInline static func choose(multiplyAdds: Int) {
        let wanted = multiplyAdds >= largeProduct ? forLargeProducts : 1
        if wanted != inUse {
            inUse = wanted
            openblas_set_num_threads(Int32(wanted))
        }
    }
    /// The core type OpenBLAS selected at load time (for benchmark reports).
    public static var coreName: String { String(cString: openblas_get_corename()) }
}
