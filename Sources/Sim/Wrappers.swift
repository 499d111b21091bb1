/// Gymnasium-style wrappers. Each is an ``Environment`` around another one, so they compose:
/// `EpisodeStatistics(TimeLimit(CartPole(...), maxSteps: 500))`. They add no allocation to `step`.

/// An environment around another one: everything it does not override is forwarded to `inner`.
public protocol EnvironmentWrapper: Environment {
    associatedtype Inner: Environment
    var inner: Inner { get }
}

extension EnvironmentWrapper {
    public var id: String { inner.id }
    public var options: ResolvedOptions { inner.options }
    public var observationSpace: Space { inner.observationSpace }
    public var actionSpace: Space { inner.actionSpace }
    public var renderSize: (width: Int, height: Int) { inner.renderSize }
    public var observationKind: ObservationKind { inner.observationKind }
    public var infoKeys: [String] { inner.infoKeys }
    public func writeInfo(into values: UnsafeMutablePointer<Double>) { inner.writeInfo(into: values) }
    public var failure: SimulationError? { inner.failure }
    public var stateChecksum: UInt64 { inner.stateChecksum }
    public func render(into canvas: inout Canvas) { inner.render(into: &canvas) }
    public func reset(seed: UInt64?, observation: UnsafeMutablePointer<Float>) { inner.reset(seed: seed, observation: observation) }
    public func saveState() -> [UInt64] { inner.saveState() }
    public func restoreState(_ words: [UInt64]) throws { try inner.restoreState(words) }
    public var metadata: EnvironmentMetadata { inner.metadata }
    /// The inner environment's: wrappers that change observations or rewards override this with nil.
    public var goalConditioned: (any GoalConditionedEnvironment)? { inner.goalConditioned }
}

/// Truncates an episode after `maxSteps` steps (Gymnasium's `TimeLimit`): the step that reaches the limit reports
/// `truncated` unless it also terminated.
public final class TimeLimit<Inner: Environment>: EnvironmentWrapper {
    public let inner: Inner
    public let maxSteps: Int
    public fileprivate(set) var elapsedSteps = 0

    /// The inner environment's info keys, then "elapsed_steps".
    public let infoKeys: [String]

    public init(_ inner: Inner, maxSteps: Int) {
        precondition(maxSteps > 0, "TimeLimit needs maxSteps > 0, got \(maxSteps)")
        precondition(!inner.infoKeys.contains("elapsed_steps"), "the wrapped environment reports elapsed_steps already")
        self.inner = inner
        self.maxSteps = maxSteps
        infoKeys = inner.infoKeys + ["elapsed_steps"]
    }

    public func writeInfo(into values: UnsafeMutablePointer<Double>) {
        inner.writeInfo(into: values)
        values[infoKeys.count - 1] = Double(elapsedSteps)
    }

    public func reset(seed: UInt64?, observation: UnsafeMutablePointer<Float>) {
        elapsedSteps = 0
        inner.reset(seed: seed, observation: observation)
    }

    public func step(_ action: UnsafePointer<Float>, observation: UnsafeMutablePointer<Float>) -> StepResult {
        var result = inner.step(action, observation: observation)
        elapsedSteps += 1
        if elapsedSteps >= maxSteps && !result.terminated { result.truncated = true }
        return result
    }

    public var stateChecksum: UInt64 {
        var hasher = StateHasher()
        hasher.combine(inner.stateChecksum)
        hasher.combine(elapsedSteps)
        return hasher.value
    }

    public func saveState() -> [UInt64] { [elapsedSteps.stateWord] + inner.saveState() }
    public func restoreState(_ words: [UInt64]) throws {
        var reader = StateReader(words, environment: id)
        let elapsed = try reader.count()
        try inner.restoreState(reader.rest())
        elapsedSteps = elapsed
    }
}

extension TimeLimit: BatchSteppable where Inner: BatchSteppable {
    public static func batchStepper(for copies: [TimeLimit]) -> (any BatchStepper)? {
        Inner.batchStepper(for: copies.map(\.inner)).map { TimeLimitStepper(copies, inner: $0) }
    }
}

/// Steps the inner copies together, then counts each copy's steps against its limit.
final class TimeLimitStepper<Inner: Environment>: BatchStepper {
    private let copies: [TimeLimit<Inner>]
    private let inner: any BatchStepper

    init(_ copies: [TimeLimit<Inner>], inner: any BatchStepper) {
        self.copies = copies
        self.inner = inner
    }

    func step(_ range: Range<Int>, actions: UnsafePointer<Float>, observations: UnsafeMutablePointer<Float>,
              results: UnsafeMutablePointer<StepResult>) {
        inner.step(range, actions: actions, observations: observations, results: results)
        copies.withUnsafeBufferPointer { copies in
            for i in range {
                Unmanaged.passUnretained(copies[i])._withUnsafeGuaranteedRef { copy in  // borrowed: no reference counting
                    copy.elapsedSteps += 1
                    if copy.elapsedSteps >= copy.maxSteps && !results[i].terminated { results[i].truncated = true }
                }
            }
        }
    }
}

/// Tracks the return and length of the running episode and of the last finished one (Gymnasium's
/// `RecordEpisodeStatistics`).
public final class EpisodeStatistics<Inner: Environment>: EnvironmentWrapper {
    public let inner: Inner
    public private(set) var episodeReturn: Double = 0
    public private(set) var episodeLength = 0
    /// Return and length of the last finished episode (nil before the first ends).
    public private(set) var lastEpisode: (return: Double, length: Int)?
    public private(set) var finishedEpisodes = 0

    public init(_ inner: Inner) { self.inner = inner }

    public func reset(seed: UInt64?, observation: UnsafeMutablePointer<Float>) {
        episodeReturn = 0
        episodeLength = 0
        inner.reset(seed: seed, observation: observation)
    }

    public func saveState() -> [UInt64] {
        [episodeReturn.bitPattern, episodeLength.stateWord, finishedEpisodes.stateWord] + inner.saveState()
    }
    public func restoreState(_ words: [UInt64]) throws {
        var reader = StateReader(words, environment: id)
        let (total, length, finished) = (try reader.double(), try reader.count(), try reader.count())
        try inner.restoreState(reader.rest())
        (episodeReturn, episodeLength, finishedEpisodes) = (total, length, finished)
    }

    public func step(_ action: UnsafePointer<Float>, observation: UnsafeMutablePointer<Float>) -> StepResult {
        let result = inner.step(action, observation: observation)
        episodeReturn += Double(result.reward)
        episodeLength += 1
        if result.done {
            lastEpisode = (episodeReturn, episodeLength)
            finishedEpisodes += 1
        }
        return result
    }
}

/// Running mean and variance of vectors (Chan et al.'s parallel update), as Gymnasium's and SB3's normalizers keep.
public struct RunningStatistics: Sendable, Equatable {
    public private(set) var mean: [Double]
    public private(set) var variance: [Double]
    public private(set) var count: Double

    public init(size: Int) {
        mean = [Double](repeating: 0, count: size)
        variance = [Double](repeating: 1, count: size)
        count = 1e-4  // as Gymnasium: avoids dividing by zero before the first update
    }

    /// Adds one sample.
    public mutating func update(_ x: UnsafePointer<Float>) {
        let total = count + 1
        for i in 0..<mean.count {
            let delta = Double(x[i]) - mean[i]
            mean[i] += delta / total
            // M2 update for a batch of one: var_new = (var·n + δ²·n/(n+1)) / (n+1)
            variance[i] = (variance[i] * count + delta * delta * count / total) / total
        }
        count = total
    }

    /// Restores saved statistics.
    public init(mean: [Double], variance: [Double], count: Double) {
        precondition(mean.count == variance.count, "mean and variance differ in size")
        self.mean = mean
        self.variance = variance
        self.count = count
    }

    /// Writes `rows` rows of `mean.count` values normalized, (x − mean)/√(var + 1e-8) in float64 and clipped to
    /// ±`clip` (VecNormalize's observation part), into `output` (which may be `values`).
    public func normalize(_ values: UnsafePointer<Float>, rows: Int, into output: UnsafeMutablePointer<Float>, clip: Double = 10) {
        let size = mean.count
        mean.withUnsafeBufferPointer { mean in
            variance.withUnsafeBufferPointer { variance in
                for r in 0..<rows {
                    for j in 0..<size {
                        let value = (Double(values[r * size + j]) - mean[j]) / (variance[j] + 1e-8).squareRoot()
                        output[r * size + j] = Float(max(-clip, min(clip, value)))
                    }
                }
            }
        }
    }
}

/// Normalizes observations to zero mean and unit variance with running statistics (Gymnasium's
/// `NormalizeObservation`): y = (x − mean) / √(var + 1e-8), clipped to ±`clip`. Statistics update while
/// `isUpdating` (training) and freeze otherwise (evaluation); save them with the agent.
public final class NormalizeObservation<Inner: Environment>: EnvironmentWrapper {
    public let inner: Inner
    public var statistics: RunningStatistics
    public var isUpdating = true
    public let clip: Float
    private let raw: UnsafeMutablePointer<Float>

    public init(_ inner: Inner, clip: Float = 10) {
        self.inner = inner
        self.clip = clip
        statistics = RunningStatistics(size: inner.observationSpace.flatCount)
        raw = .allocate(capacity: inner.observationSpace.flatCount)
    }

    deinit { raw.deallocate() }

    public var observationSpace: Space { .box(low: -clip, high: clip, shape: inner.observationSpace.shape) }
    /// Normalized values are real numbers, whatever the inner environment's were.
    public var observationKind: ObservationKind { .continuous }
    /// Normalized goals are not the goals `computeReward` takes.
    public var goalConditioned: (any GoalConditionedEnvironment)? { nil }

    public func reset(seed: UInt64?, observation: UnsafeMutablePointer<Float>) {
        inner.reset(seed: seed, observation: raw)
        normalize(into: observation)
    }

    public func step(_ action: UnsafePointer<Float>, observation: UnsafeMutablePointer<Float>) -> StepResult {
        let result = inner.step(action, observation: raw)
        normalize(into: observation)
        return result
    }

    public func saveState() -> [UInt64] {
        [statistics.count.bitPattern] + statistics.mean.map(\.bitPattern) + statistics.variance.map(\.bitPattern) + inner.saveState()
    }
    public func restoreState(_ words: [UInt64]) throws {
        var reader = StateReader(words, environment: id)
        let count = try reader.finiteDouble(), size = statistics.mean.count
        let mean = try (0..<size).map { _ in try reader.finiteDouble() }, variance = try (0..<size).map { _ in try reader.finiteDouble() }
        try inner.restoreState(reader.rest())
        statistics = RunningStatistics(mean: mean, variance: variance, count: count)
    }

    private func normalize(into observation: UnsafeMutablePointer<Float>) {
        if isUpdating { statistics.update(raw) }
        for i in 0..<statistics.mean.count {
            let y = Float((Double(raw[i]) - statistics.mean[i]) / (statistics.variance[i] + 1e-8).squareRoot())
            observation[i] = min(max(y, -clip), clip)
        }
    }
}

/// Concatenates the last `count` observations, oldest first (Gymnasium's `FrameStackObservation`); at reset the
/// first observation fills every slot.
public final class FrameStack<Inner: Environment>: EnvironmentWrapper {
    public let inner: Inner
    public let count: Int
    private let frames: UnsafeMutablePointer<Float>  // count × frameSize, oldest first
    private let frameSize: Int

    public init(_ inner: Inner, count: Int) {
        precondition(count >= 1, "FrameStack needs count ≥ 1, got \(count)")
        self.inner = inner
        self.count = count
        frameSize = inner.observationSpace.flatCount
        frames = .allocate(capacity: count * frameSize)
        frames.initialize(repeating: 0, count: count * frameSize)
    }

    deinit { frames.deallocate() }

    /// Stacked observations are no goal dictionary.
    public var goalConditioned: (any GoalConditionedEnvironment)? { nil }

    public var observationSpace: Space {
        switch inner.observationSpace {
        case .box(let low, let high, let shape):
            return .box(low: Array([[Float]](repeating: low, count: count).joined()),
                        high: Array([[Float]](repeating: high, count: count).joined()), shape: [count] + shape)
        case let other:
            return .box(low: -.infinity, high: .infinity, shape: [count, other.flatCount])
        }
    }

    public var stateChecksum: UInt64 {
        var hasher = StateHasher()
        hasher.combine(inner.stateChecksum)
        for i in 0..<(count * frameSize) { hasher.combine(frames[i]) }
        return hasher.value
    }

    public func saveState() -> [UInt64] {
        (0..<(count * frameSize)).map { UInt64(frames[$0].bitPattern) } + inner.saveState()
    }
    public func restoreState(_ words: [UInt64]) throws {
        var reader = StateReader(words, environment: id)
        let saved = try (0..<(count * frameSize)).map { _ in Float(bitPattern: UInt32(truncatingIfNeeded: try reader.word())) }
        try inner.restoreState(reader.rest())
        frames.update(from: saved, count: saved.count)
    }

    public func reset(seed: UInt64?, observation: UnsafeMutablePointer<Float>) {
        inner.reset(seed: seed, observation: frames + (count - 1) * frameSize)
        for k in 0..<(count - 1) { (frames + k * frameSize).update(from: frames + (count - 1) * frameSize, count: frameSize) }
        observation.update(from: frames, count: count * frameSize)
    }

    public func step(_ action: UnsafePointer<Float>, observation: UnsafeMutablePointer<Float>) -> StepResult {
        frames.update(from: frames + frameSize, count: (count - 1) * frameSize)  // drop the oldest
        let result = inner.step(action, observation: frames + (count - 1) * frameSize)
        observation.update(from: frames, count: count * frameSize)
        return result
    }
}

/// Repeats each action `count` times, summing rewards and stopping early when the episode ends (frame skip).
public final class ActionRepeat<Inner: Environment>: EnvironmentWrapper {
    public let inner: Inner
    public let count: Int

    public init(_ inner: Inner, count: Int) {
        precondition(count >= 1, "ActionRepeat needs count ≥ 1, got \(count)")
        self.inner = inner
        self.count = count
    }

    /// A summed reward is not the reward of the last goals (but for a repeat count of 1).
    public var goalConditioned: (any GoalConditionedEnvironment)? { count == 1 ? inner.goalConditioned : nil }

    public func step(_ action: UnsafePointer<Float>, observation: UnsafeMutablePointer<Float>) -> StepResult {
        var total = StepResult(reward: 0, terminated: false)
        for _ in 0..<count {
            let result = inner.step(action, observation: observation)
            total.reward += result.reward
            total.terminated = result.terminated
            total.truncated = result.truncated
            if result.done { break }
        }
        return total
    }
}
