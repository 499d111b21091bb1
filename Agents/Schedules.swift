/// A value moving linearly from `start` to `end` over the first `fraction` of training, then staying at `end`
/// (Stable-Baselines3's `get_linear_fn`, used for ε and the prioritized-replay β).
public struct LinearSchedule: Codable, Equatable, Sendable {
    public var start: Double
    public var end: Double
    public var fraction: Double

    public init(start: Double, end: Double, fraction: Double) {
        self.start = start
        self.end = end
        self.fraction = fraction
    }

    /// The value when `progress` ∈ [0, 1] of training is done.
    public func value(progress: Double) -> Double {
        guard fraction > 0, progress < fraction else { return end }
        return start + progress / fraction * (end - start)
    }
}
