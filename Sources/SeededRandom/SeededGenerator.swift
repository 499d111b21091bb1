#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The one random number generator Dojo uses: xoshiro256** (Blackman & Vigna, 2018), seeded through SplitMix64.
///
/// Every consumer (an environment copy, an agent's exploration, minibatch sampling, weight initialization,
/// dropout) owns its own generator derived from the run seed with ``init(seed:stream:)``, so consumers never share a
/// stream and adding one consumer does not shift the numbers another one sees. There is no global generator.
///
/// The conversions to floating point and bounded integers are written out here (not taken from the standard
/// library's `random(in:using:)`, whose algorithm may change between toolchains), so a seed gives the same numbers
/// on every Swift version.
///
/// ```swift
/// var rng = SeededGenerator(seed: 42, stream: 3)   // e.g. the fourth environment copy
/// let u = rng.nextFloat()          // uniform in [0, 1)
/// let k = rng.nextInt(below: 4)    // uniform in 0..<4
/// ```
public struct SeededGenerator: RandomNumberGenerator, Sendable, Equatable {
    /// The 256-bit state; never all zero. Exposed so checkpoints can save and restore a generator exactly.
    public var state: (UInt64, UInt64, UInt64, UInt64)

    /// A generator for `seed`, on the independent stream `stream` (0 for the main stream).
    public init(seed: UInt64, stream: UInt64 = 0) {
        // Mix the stream number into the seed with a different odd constant than SplitMix's own increment,
        // so (seed, stream) pairs that differ in either component start from unrelated states.
        var mixer = SplitMix64(state: seed ^ (stream &* 0xD1B5_4A32_D192_ED03) ^ 0x5851_F42D_4C95_7F2D)
        if stream != 0 { _ = mixer.next() }
        state = (mixer.next(), mixer.next(), mixer.next(), mixer.next())
        if state == (0, 0, 0, 0) { state.0 = 0x9E37_79B9_7F4A_7C15 }
    }

    /// Restores a generator from a saved ``state`` (as four words); nil unless there are exactly four words and
    /// not all are zero (the one state xoshiro never leaves). Saved states come from files, so this never traps.
    public init?(state words: [UInt64]) {
        guard words.count == 4, words.contains(where: { $0 != 0 }) else { return nil }
        state = (words[0], words[1], words[2], words[3])
    }

    /// The state as four words, for checkpoints.
    public var stateWords: [UInt64] { [state.0, state.1, state.2, state.3] }

    public static func == (a: SeededGenerator, b: SeededGenerator) -> Bool { a.state == b.state }

    @inlinable @inline(__always)
    static func rotl(_ x: UInt64, _ k: UInt64) -> UInt64 { (x << k) | (x >> (64 &- k)) }

    /// The next 64 random bits.
    @inlinable
    public mutating func next() -> UInt64 {
        let result = Self.rotl(state.1 &* 5, 7) &* 9
        let t = state.1 << 17
        state.2 ^= state.0
        state.3 ^= state.1
        state.1 ^= state.2
        state.0 ^= state.3
        state.2 ^= t
        state.3 = Self.rotl(state.3, 45)
        return result
    }

    /// Uniform in [0, 1), from the top 24 bits (every value is a multiple of 2⁻²⁴).
    @inlinable
    public mutating func nextFloat() -> Float { Float(next() >> 40) * 0x1p-24 }

    /// Uniform in [0, 1), from the top 53 bits.
    @inlinable
    public mutating func nextDouble() -> Double { Double(next() >> 11) * 0x1p-53 }

    /// Uniform in [low, high).
    @inlinable
    public mutating func nextFloat(in low: Float, _ high: Float) -> Float { low + (high - low) * nextFloat() }

    /// Uniform in `0..<bound` without modulo bias (Lemire's multiply-and-reject). Precondition: `bound > 0`.
    @inlinable
    public mutating func nextInt(below bound: Int) -> Int {
        precondition(bound > 0, "nextInt(below:) needs a positive bound, got \(bound)")
        let n = UInt64(bound)
        var product = next().multipliedFullWidth(by: n)
        if product.low < n {
            let threshold = (0 &- n) % n
            while product.low < threshold { product = next().multipliedFullWidth(by: n) }
        }
        return Int(product.high)
    }

    /// A standard normal sample (Box–Muller, one sample per call so the state alone defines the stream).
    public mutating func nextGaussian() -> Double {
        // 1 - u keeps the logarithm's argument in (0, 1].
        let u1 = 1.0 - nextDouble()
        let u2 = nextDouble()
        return (-2.0 * log(u1)).squareRoot() * cos(2.0 * Double.pi * u2)
    }

    /// A new generator on a stream derived from this one's next output; advances this generator once.
    public mutating func split() -> SeededGenerator {
        SeededGenerator(seed: next(), stream: 1)
    }
}

/// SplitMix64 (Steele, Lea & Flood, 2014): used only to expand a 64-bit seed into xoshiro's 256-bit state.
public struct SplitMix64: Sendable {
    public var state: UInt64
    public init(state: UInt64) { self.state = state }
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
