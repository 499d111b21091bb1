/// Eight-lane exp, sigmoid and tanh for the LSTM's gate nonlinearities, the hottest elementwise code in Dojo.
/// The scalar `expf`, ``sigmoid(_:)`` and ``fastTanh(_:)`` are the references; `VectorMathTests` checks these against
/// them. Written without fused multiply-add (which compiles to slow library calls without a target CPU). They are
/// `@_transparent` because `@inline(__always)` left them as calls inside the LSTM's gate loops (seen in perf).

/// e^x per lane, Cephes-style: x = n·ln2 + r with |r| ≤ ½ln2 (ln2 split in two for exactness), e^r by a degree-6
/// polynomial, 2ⁿ built in the exponent bits. Relative error below 2.5e-7; inputs are clamped to [−87.3, 88.3] (so
/// e^x stays a normal float) and NaN stays NaN.
@_transparent
public func vectorExp(_ input: SIMD8<Float>) -> SIMD8<Float> {
    let low = SIMD8<Float>(repeating: -87.33654), high = SIMD8<Float>(repeating: 88.37626)
    var x = input.replacing(with: low, where: input .< low)
    x.replace(with: high, where: x .> high)
    // Adding 1.5·2²³ rounds x·log₂e to an integer held in the low mantissa bits.
    let magic = SIMD8<Float>(repeating: 12_582_912)
    let shifted = x * 1.442_695_04 + magic
    let n = shifted - magic
    let exponent = unsafeBitCast(shifted, to: SIMD8<Int32>.self) &- 0x4B40_0000
    var r = x - n * 0.693_359_375
    r = r - n * -2.121_944_4e-4
    var p = SIMD8<Float>(repeating: 1.987_569_15e-4)
    p = p * r + 1.398_199_95e-3
    p = p * r + 8.333_451_9e-3
    p = p * r + 4.166_579_59e-2
    p = p * r + 1.666_666_55e-1
    p = p * r + 5.000_000_12e-1
    p = p * (r * r) + r + 1
    let scale = unsafeBitCast((exponent &+ 127) &<< 23, to: SIMD8<Float>.self)
    return (p * scale).replacing(with: .nan, where: input .!= input)
}

/// 1 / (1 + e^−x) per lane.
@_transparent
public func vectorSigmoid(_ x: SIMD8<Float>) -> SIMD8<Float> {
    1 / (1 + vectorExp(-x))
}

/// tanh per lane, as ``fastTanh(_:)``: sign(x) · (1 − 2 / (e^{2|x|} + 1)).
@_transparent
public func vectorTanh(_ x: SIMD8<Float>) -> SIMD8<Float> {
    let absolute = unsafeBitCast(unsafeBitCast(x, to: SIMD8<UInt32>.self) & 0x7FFF_FFFF, to: SIMD8<Float>.self)
    let magnitude = 1 - 2 / (vectorExp(2 * absolute) + 1)
    return magnitude.replacing(with: -magnitude, where: x .< 0)
}

extension UnsafePointer where Pointee == Float {
    /// Eight floats starting at `offset`.
    @inline(__always)
    func loadVector(_ offset: Int) -> SIMD8<Float> {
        UnsafeRawPointer(self + offset).loadUnaligned(as: SIMD8<Float>.self)
    }
}

extension UnsafeMutablePointer where Pointee == Float {
    /// Eight floats starting at `offset`.
    @inline(__always)
    func loadVector(_ offset: Int) -> SIMD8<Float> {
        UnsafeRawPointer(self + offset).loadUnaligned(as: SIMD8<Float>.self)
    }

    /// Stores eight floats starting at `offset`.
    @inline(__always)
    func storeVector(_ value: SIMD8<Float>, _ offset: Int) {
        UnsafeMutableRawPointer(self + offset).storeBytes(of: value, as: SIMD8<Float>.self)
    }
}
