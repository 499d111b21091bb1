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
@inlinable
public func gemm(
    _ transA: Transpose, _ transB: Transpose, m: Int, n: Int, k: Int,
    alpha: Float = 1, a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
    beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int
) {
    if m == 0 || n == 0 { return }
    if k == 0 {  // BLAS leaves C untouched only when beta == 1; make the empty product explicit.
        for i in 0..<m { for j in 0..<n { c[i * ldc + j] = beta == 0 ? 0 : beta * c[i * ldc + j] } }
        return
    }
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

/// Threading of the BLAS library. Dojo pins OpenBLAS to one thread by default: small RL networks do not gain from
/// more, and a fixed thread count is part of the determinism contract (same seed, config and threads → same bits).
public enum BLASThreads {
    public static func set(_ count: Int) {
        precondition(count >= 1, "BLAS thread count must be at least 1, got \(count)")
        openblas_set_num_threads(Int32(count))
    }
    public static var current: Int { Int(openblas_get_num_threads()) }
    /// The core type OpenBLAS selected at load time (for benchmark reports).
    public static var coreName: String { String(cString: openblas_get_corename()) }
}
