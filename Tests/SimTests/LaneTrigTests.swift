@testable import Environments
import Foundation
import SeededRandom
import Testing

/// sin and cos on four lanes (``LaneTrig``) against the C library, bit for bit, and the lane evaluation's error
/// against `Float80`, which bounds what the lanes may vouch for.
@Suite struct LaneTrigTests {
    /// Angles in groups of four: uniform over ±0.3 rad (beyond the lanes' range on both sides), then edge cases.
    static func angles(count: Int, seed: UInt64) -> [Double] {
        var generator = SeededGenerator(seed: seed)
        var values = (0..<count).map { _ in -0.3 + 0.6 * generator.nextDouble() }
        // glibc's own thresholds (2⁻²⁷ and 2⁻²⁶ for tiny angles, 0.126 for sin's method) and the lanes' range.
        let edges = [0x1p-30, 0x1p-27, 0x1p-26, 0.126, 0.25, 0.2094, 1e-300, 5e-324]
        values += edges.flatMap { [$0, -$0, $0.nextDown, $0.nextUp, -$0.nextUp] }
        values += [0, -0.0, .nan, .infinity, -.infinity, 1e300, 3.0]
        while values.count % 4 != 0 { values.append(0.1) }
        return values
    }

    @Test("Lanes return the C library's sin and cos bit for bit, and most lanes are evaluated without it")
    func equalsTheCLibrary() {
        let values = Self.angles(count: 400_000, seed: 11)
        var vouched = 0, inCartPoleRange = 0
        for start in stride(from: 0, to: values.count, by: 4) {
            let x = SIMD4(values[start..<start + 4])
            let (sine, cosine) = LaneTrig.sinCos(x)
            let accepted = LaneTrig.lanes(x).accepted
            for k in 0..<4 {
                #expect(sine[k].bitPattern == sin(x[k]).bitPattern, "sin(\(x[k])): lanes \(sine[k]), C library \(sin(x[k]))")
                #expect(cosine[k].bitPattern == cos(x[k]).bitPattern, "cos(\(x[k])): lanes \(cosine[k]), C library \(cos(x[k]))")
                if abs(x[k]) <= 0.2095 {
                    inCartPoleRange += 2
                    vouched += (accepted.sin[k] ? 1 : 0) + (accepted.cos[k] ? 1 : 0)
                }
            }
        }
        // glibc's bounds leave a margin of about 0.03–0.10 ulp on each side of a rounding boundary to the library.
        #if canImport(Glibc)
        #expect(Double(vouched) / Double(inCartPoleRange) > 0.9, "lanes vouched for \(vouched) of \(inCartPoleRange) results")
        #endif
    }

    #if arch(x86_64)
    @Test("The lane evaluation stays within its stated error of the exact sin and cos")
    func evaluationError() {
        let values = Self.angles(count: 400_000, seed: 12).filter { $0.isFinite && abs($0) <= LaneTrig.range && $0 != 0 }
        var worst = (sinSmall: 0.0, sinLarge: 0.0, cos: 0.0)
        for start in stride(from: 0, to: values.count - 3, by: 4) {
            let x = SIMD4(values[start..<start + 4])
            let lanes = LaneTrig.evaluate(x)
            for k in 0..<4 {
                let sinError = Self.ulpError(lanes.sin[k], lanes.sinLeftover[k], exact: sin(Float80(x[k])))
                if abs(x[k]) < 0.126 { worst.sinSmall = max(worst.sinSmall, sinError) } else { worst.sinLarge = max(worst.sinLarge, sinError) }
                worst.cos = max(worst.cos, Self.ulpError(lanes.cos[k], lanes.cosLeftover[k], exact: cos(Float80(x[k]))))
            }
        }
        #expect(worst.sinSmall < LaneTrig.evaluationError, "sin below 0.126 rad: \(worst.sinSmall) ulp")
        #expect(worst.sinLarge < LaneTrig.evaluationError, "sin above 0.126 rad: \(worst.sinLarge) ulp")
        #expect(worst.cos < LaneTrig.evaluationError, "cos: \(worst.cos) ulp")
        // The bounds are tight enough to mean something: the errors are measured, not zero.
        #expect(worst.sinSmall > 0 && worst.cos > 0)
    }

    /// |exact − (rounded + leftover)| in units of the spacing of doubles at `rounded`.
    static func ulpError(_ rounded: Double, _ leftover: Double, exact: Float80) -> Double {
        Double(abs(Float80(rounded) + Float80(leftover) - exact) / Float80(rounded.ulp))
    }
    #endif
}
