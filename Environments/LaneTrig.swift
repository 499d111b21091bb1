import Foundation

/// sin and cos on four lanes, bit for bit what the C library's `sin` and `cos` return lane by lane (so a batch of
/// copies stepped in lanes stays equal to each copy stepped alone, and to Gymnasium, which calls the same library).
///
/// For |x| ≤ 0.25 rad (cart-pole's angles) each lane is a Taylor series evaluated in double-double: the result
/// rounded to double, `r`, and what the rounding left over, `lo`, within ``evaluationError`` ulp of the exact value.
/// If glibc's error is at most E ulp and the exact value lies closer to `r` than 1 − E ulp, every other double is
/// farther from it than E, so glibc returns `r` too. The other lanes — near a rounding boundary, outside the range,
/// not finite, or with a power of two as the result (where the spacing of doubles changes) — are computed by the C
/// library itself: some 2–5 lanes in a hundred at cart-pole's angles. Other C libraries: every lane calls the library.
enum LaneTrig {
    /// Largest |x| (rad) evaluated in lanes.
    static let range = 0.25
    /// Bound on |exact − (r + lo)| of the lane evaluation (ulp of r). Every term is carried in double-double but the
    /// series' tails, whose rounding is below 0.001 ulp; `Tests/SimTests/LaneTrigTests` measures it against `Float80`.
    static let evaluationError = 0.002

    /// The largest error E (ulp) assumed of glibc for |x| ≤ ``range``, from how it evaluates these arguments (2.28
    /// and later; earlier versions rounded correctly, E = 0.5) and checked against 10⁸ arguments
    /// (`scripts/glibc_sincos_error.c`, `long double` as the reference):
    /// - sin below 0.126 rad: x plus a correction x³·(…) computed in double; the correction is below x³/6 and carries a
    ///   few roundings, so E = 0.5 + x² (x in rad) holds with room (0.506 measured near 0.12 rad; the source's comment
    ///   says 0.501, which the bitwise test showed to be exceeded).
    /// - sin from 0.126 rad: a table value at the nearest multiple of 1/128 plus a correction below 2⁻⁸ relative,
    ///   with at most three roundings of 2⁻⁹ ulp each (two when the library's FMA variant runs): E = 0.5 + 3·2⁻⁷
    ///   < 0.524, taken as 0.53 (0.5156 measured, the FMA variant's bound).
    /// - cos: a table value (1 near 0) plus a correction below 2⁻¹⁰ relative: under 0.503 by the same count, 0.5010
    ///   measured, taken as 0.513 (the source's comment for this path).
    /// A future glibc that evaluated differently would show in `LaneTrigTests`, which compares lanes with the library.
    static let largeSinError = 0.53, cosError = 0.513

    /// (sin x, cos x) per lane.
    @inline(__always)
    static func sinCos(_ x: SIMD4<Double>) -> (sin: SIMD4<Double>, cos: SIMD4<Double>) {
        #if canImport(Glibc)
        let (sine, cosine, accepted) = lanes(x)
        // All lanes vouched for: every mask lane is −1 (a sum over the lanes, which AVX2 adds natively; `all` is not).
        let both = unsafeBitCast(accepted.sin .& accepted.cos, to: SIMD4<Int64>.self)
        if both.wrappedSum() == -4 { return (sine, cosine) }
        return libraryFallback(x, sine, cosine, accepted)
        #else
        return (SIMD4(sin(x[0]), sin(x[1]), sin(x[2]), sin(x[3])), SIMD4(cos(x[0]), cos(x[1]), cos(x[2]), cos(x[3])))
        #endif
    }

    /// The lanes the evaluation could not vouch for, from the C library.
    @inline(never)
    static func libraryFallback(_ x: SIMD4<Double>, _ sine: SIMD4<Double>, _ cosine: SIMD4<Double>,
                                _ accepted: (sin: SIMDMask<SIMD4<Int64>>, cos: SIMDMask<SIMD4<Int64>>)) -> (sin: SIMD4<Double>, cos: SIMD4<Double>) {
        var (sine, cosine) = (sine, cosine)
        for k in 0..<4 {
            if !accepted.sin[k] { sine[k] = sin(x[k]) }
            if !accepted.cos[k] { cosine[k] = cos(x[k]) }
        }
        return (sine, cosine)
    }

    /// The lane evaluation: the rounded results and, per lane, whether each provably equals the C library's.
    @inline(__always)
    static func lanes(_ x: SIMD4<Double>) -> (sin: SIMD4<Double>, cos: SIMD4<Double>,
                                              accepted: (sin: SIMDMask<SIMD4<Int64>>, cos: SIMDMask<SIMD4<Int64>>)) {
        let (sine, sineLeftover, cosine, cosineLeftover) = evaluate(x)
        let magnitude = absolute(x)
        let inRange = magnitude .<= SIMD4(repeating: range)  // false for NaN
        let small = magnitude .< SIMD4(repeating: 0.126)
        let sinMargin = SIMD4<Double>(repeating: 1 - largeSinError - evaluationError)
            .replacing(with: SIMD4(repeating: 0.5 - evaluationError) - x * x, where: small)  // 1 − (0.5 + x²) − evaluation
        let cosMargin = SIMD4<Double>(repeating: 1 - cosError - evaluationError)
        let sinAccepted = inRange .& vouched(sine, leftover: sineLeftover, margin: sinMargin)
        let cosAccepted = inRange .& vouched(cosine, leftover: cosineLeftover, margin: cosMargin)
        return (sine, cosine, (sinAccepted, cosAccepted))
    }

    /// Whether |leftover| < margin · ulp(r) with r a normal double that is not a power of two.
    @inline(__always)
    private static func vouched(_ r: SIMD4<Double>, leftover: SIMD4<Double>, margin: SIMD4<Double>) -> SIMDMask<SIMD4<Int64>> {
        let bits = unsafeBitCast(r, to: SIMD4<UInt64>.self)
        let exponentBits = bits & SIMD4(repeating: 0x7FF0_0000_0000_0000)
        let powerOfTwo = bits & SIMD4(repeating: 0x000F_FFFF_FFFF_FFFF) .== SIMD4(repeating: 0)
        // 2^exponent × 2^-52 is the spacing of doubles at r; zero for zeros and subnormals, which are never vouched.
        let ulp = unsafeBitCast(exponentBits, to: SIMD4<Double>.self) * 0x1p-52
        let close = absolute(leftover) .< margin * ulp
        return unsafeBitCast(close, to: SIMDMask<SIMD4<Int64>>.self) .& .!unsafeBitCast(powerOfTwo, to: SIMDMask<SIMD4<Int64>>.self)
    }

    /// |v| per lane (the sign bit cleared).
    @inline(__always)
    private static func absolute(_ v: SIMD4<Double>) -> SIMD4<Double> {
        unsafeBitCast(unsafeBitCast(v, to: SIMD4<UInt64>.self) & SIMD4(repeating: 0x7FFF_FFFF_FFFF_FFFF), to: SIMD4<Double>.self)
    }

    /// sin x and cos x rounded to double, each with the exact remainder of that rounding (of the series' value):
    /// sin x = x + x³·S(x²), cos x = 1 − x²/2 + x⁴·C(x²), Taylor series to x¹³ and x¹⁴ (truncation below 1e-20
    /// relative for |x| ≤ 0.25), each closed by an error-free sum.
    @inline(__always)
    static func evaluate(_ x: SIMD4<Double>) -> (sin: SIMD4<Double>, sinLeftover: SIMD4<Double>,
                                                 cos: SIMD4<Double>, cosLeftover: SIMD4<Double>) {
        let square = x * x
        let squareError = (-square).addingProduct(x, x)  // x² = square + squareError exactly
        // S(x²) = −1/6 + x²·P(x²) as a double-double (the head −1/6 is not a double), and x³ as another.
        var p = SIMD4<Double>(repeating: 1 / 6_227_020_800.0)  // 1/13!
        p = p * square + SIMD4(repeating: -1 / 39_916_800.0)
        p = p * square + SIMD4(repeating: 1 / 362_880.0)
        p = p * square + SIMD4(repeating: -1 / 5_040.0)
        p = p * square + SIMD4(repeating: 1 / 120.0)
        let sixthHead = SIMD4<Double>(repeating: -1 / 6.0), sixthTail = SIMD4<Double>(repeating: -0x1.5555555555555p-57)  // −1/6 = head + tail (to 2⁻¹¹⁰)
        let quadratic = square * p
        let s = sixthHead + quadratic
        let sTail = ((sixthHead - s) + quadratic) + sixthTail  // S = s + sTail (|sixthHead| ≥ |quadratic|)
        let cube = square * x
        let cubeTail = (-cube).addingProduct(square, x) + squareError * x  // x³ = cube + cubeTail
        let correction = cube * s
        let correctionTail = (-correction).addingProduct(cube, s) + (cube * sTail + cubeTail * s)  // x³·S
        let sineHead = x + correction
        let sineTail = ((x - sineHead) + correction) + correctionTail  // exact first sum: |x| ≥ |correction|
        let sine = sineHead + sineTail
        let sineLeftover = (sineHead - sine) + sineTail  // exact: |sineHead| ≥ |sineTail|

        var c = SIMD4<Double>(repeating: -1 / 87_178_291_200.0)  // −1/14!
        c = c * square + SIMD4(repeating: 1 / 479_001_600.0)
        c = c * square + SIMD4(repeating: -1 / 3_628_800.0)
        c = c * square + SIMD4(repeating: 1 / 40_320.0)
        c = c * square + SIMD4(repeating: -1 / 720.0)
        c = c * square + SIMD4(repeating: 1 / 24.0)
        let quartic = square * square * c
        let half = 0.5 * square, halfError = 0.5 * squareError  // x²/2 = half + halfError exactly
        let one = SIMD4<Double>(repeating: 1)
        let head = one - half
        let headError = (one - head) - half  // exact: 1 − half = head + headError
        let tail = (headError - halfError) + quartic
        let cosine = head + tail
        let cosineLeftover = (head - cosine) + tail  // exact: |head| ≥ |tail|
        return (sine, sineLeftover, cosine, cosineLeftover)
    }
}
