/// Arithmetic that reads the same on one lane (`Double`) and on several (`SIMD4<Double>`): environments write their
/// dynamics once, generic over it, so the scalar step and the lanes run the very same operations in the same order.
/// (Only IEEE operations, no fused multiply-add: each lane rounds exactly as the scalar does. Internal to this module:
/// operator requirements on `Double` visible everywhere would slow type-checking of every arithmetic expression.)
protocol DoubleLanes {
    init(repeating value: Double)
    static func + (lhs: Self, rhs: Self) -> Self
    static func - (lhs: Self, rhs: Self) -> Self
    static func * (lhs: Self, rhs: Self) -> Self
    static func / (lhs: Self, rhs: Self) -> Self
}

extension Double: DoubleLanes {
    @inline(__always) init(repeating value: Double) { self = value }
}

extension SIMD4: DoubleLanes where Scalar == Double {}
