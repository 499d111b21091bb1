import Foundation
@testable import Neural
import SeededRandom
import Testing

/// Attention's eight-lane masked softmax (the mask as an additive 0 / −∞ bias) against its plain reference.
@Suite struct MaskedSoftmaxTests {
    @Test("Equals the expf reference within 1e-6 for rows of 1 to 40 entries, any mask, all masked, and large logits")
    func matchesReference() {
        var rng = SeededGenerator(seed: 4)
        var worst: Float = 0
        for n in 1...40 {
            for trial in 0..<50 {
                let spread: Float = trial % 5 == 0 ? 60 : 3
                let row = (0..<n).map { _ in Float(rng.nextGaussian()) * spread }
                let mask: [Bool]? = trial % 3 == 0 ? nil : (0..<n).map { _ in trial % 7 == 1 || rng.nextFloat() < 0.3 }
                var fast = row, reference = row
                var bias = [Float](repeating: 0, count: n)
                reference.withUnsafeMutableBufferPointer { values in
                    guard let mask else { return maskedSoftmaxReference(values.baseAddress!, count: n, mask: nil) }
                    mask.withUnsafeBufferPointer {
                        fillKeyBias(&bias, mask: $0.baseAddress!, count: n)
                        maskedSoftmaxReference(values.baseAddress!, count: n, mask: $0.baseAddress!)
                    }
                }
                fast.withUnsafeMutableBufferPointer { maskedSoftmax($0.baseAddress!, count: n, bias: bias) }
                for j in 0..<n {
                    worst = max(worst, abs(fast[j] - reference[j]))
                    if mask?[j] ?? false { #expect(fast[j] == 0) }
                }
                let total = fast.reduce(0, +)
                let allMasked = mask.map { $0.allSatisfy { $0 } } ?? false
                #expect(allMasked ? total == 0 : abs(total - 1) < 1e-5, "n \(n): sums to \(total)")
            }
        }
        #expect(worst <= 1e-6, "largest difference \(worst)")
    }
}
