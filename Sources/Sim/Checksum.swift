/// A 64-bit FNV-1a hash over the bits of a simulator's state, used by replays to detect the first step at which a
/// re-simulation diverges. Floats are hashed by their bit patterns, so any difference, however small, shows.
public struct StateHasher: Sendable {
    public private(set) var value: UInt64 = 0xCBF2_9CE4_8422_2325

    public init() {}

    @inline(__always)
    public mutating func combine(_ word: UInt64) {
        var w = word
        for _ in 0..<8 {
            value = (value ^ (w & 0xFF)) &* 0x0000_0100_0000_01B3
            w >>= 8
        }
    }

    @inline(__always) public mutating func combine(_ x: Double) { combine(x.bitPattern) }
    @inline(__always) public mutating func combine(_ x: Float) { combine(UInt64(x.bitPattern)) }
    @inline(__always) public mutating func combine(_ x: Int) { combine(UInt64(bitPattern: Int64(x))) }
    @inline(__always) public mutating func combine(_ x: Bool) { combine(UInt64(x ? 1 : 0)) }
    public mutating func combine(_ rng: SeededGenerator) {
        combine(rng.state.0); combine(rng.state.1); combine(rng.state.2); combine(rng.state.3)
    }
}

extension UInt64 {
    /// Sixteen lowercase hex digits, as replays store checksums (JSON numbers cannot hold 64 bits exactly).
    public var hex16: String {
        let digits = String(self, radix: 16)
        return String(repeating: "0", count: 16 - digits.count) + digits
    }
}
