/// The outcome of one step. `terminated`: the MDP ended (goal reached, crash, pole fell); no value beyond it.
/// `truncated`: stopped by a limit outside the MDP (time); the episode could have continued, so learners bootstrap.
public struct StepResult: Equatable, Sendable {
    public var reward: Float
    public var terminated: Bool
    public var truncated: Bool

    public init(reward: Float, terminated: Bool, truncated: Bool = false) {
        self.reward = reward
        self.terminated = terminated
        self.truncated = truncated
    }

    /// Whether the episode is over either way.
    public var done: Bool { terminated || truncated }
}

/// The environment contract, in Gymnasium's terms.
///
/// Observations are written into a caller-owned buffer of `observationSpace.flatCount` floats; actions are read from
/// `actionSpace.actionWidth` floats (a discrete action is its index as a float). `step` must not allocate. All
/// randomness comes from the environment's own ``SeededGenerator``, reseeded by `reset(seed:)`; with the same seed and
/// actions, two instances produce bitwise-identical observations, rewards and ``stateChecksum``s.
public protocol Environment: AnyObject {
    /// The registry id this environment was made from (e.g. "cartpole"), for replays.
    var id: String { get }
    /// The complete options it was built with (defaults filled in): `id` plus `options` rebuild it exactly.
    var options: ResolvedOptions { get }
    var observationSpace: Space { get }
    var actionSpace: Space { get }

    /// Starts an episode and writes its first observation. A seed reseeds the generator; nil continues the stream.
    func reset(seed: UInt64?, observation: UnsafeMutablePointer<Float>)
    /// Advances one step with `action` and writes the next observation.
    func step(_ action: UnsafePointer<Float>, observation: UnsafeMutablePointer<Float>) -> StepResult
    /// A hash of the full simulator state, generator included.
    var stateChecksum: UInt64 { get }
    /// The names of the facts ``info`` reports (e.g. "success", "speed"), in the order ``writeInfo(into:)`` writes
    /// them; fixed for the environment's life.
    var infoKeys: [String] { get }
    /// Writes the current state's facts in ``infoKeys`` order (NaN for one not reported now), without allocating: for
    /// callers that read them every step (the C interface's vectors).
    func writeInfo(into values: UnsafeMutablePointer<Double>)
    /// Pixel size of ``render(into:)``'s frame.
    var renderSize: (width: Int, height: Int) { get }
    /// What the observation values are (binary one-hot planes, or real-valued features); replay buffers store binary
    /// observations as bytes.
    var observationKind: ObservationKind { get }
    /// Draws the current state.
    func render(into canvas: inout Canvas)
    /// The full state (generator included) as words, for checkpoints: `restoreState` of it continues exactly.
    func saveState() -> [UInt64]
    /// Restores a state from `saveState`; throws if the words do not fit this environment.
    func restoreState(_ words: [UInt64]) throws
    /// Set when the simulation could not go on (diverged physics): the step that found it reported `terminated`,
    /// and callers (rollouts, trainers) stop with this error rather than learn from garbage.
    var failure: SimulationError? { get }
    /// How to name and play its actions, how fast to show it, what evaluations measure (see ``EnvironmentMetadata``).
    var metadata: EnvironmentMetadata { get }
    /// The goal-conditioned environment behind this one (itself, or the one inside its wrappers) when its observation
    /// is a goal dictionary and its reward is that environment's `computeReward` of the goals; nil otherwise, and nil
    /// behind a wrapper that changes observations or rewards (normalization, frame stacking, repeated actions).
    var goalConditioned: (any GoalConditionedEnvironment)? { get }
}

extension Environment {
    public var infoKeys: [String] { [] }
    public func writeInfo(into values: UnsafeMutablePointer<Double>) {}

    /// Named facts about the current state for logs and displays (``infoKeys`` with their values); allocates.
    public var info: [String: Double] {
        let keys = infoKeys
        guard !keys.isEmpty else { return [:] }
        var values = [Double](repeating: .nan, count: keys.count)
        values.withUnsafeMutableBufferPointer { writeInfo(into: $0.baseAddress!) }
        var info: [String: Double] = [:]
        for (key, value) in zip(keys, values) where !value.isNaN { info[key] = value }
        return info
    }
    public var observationKind: ObservationKind { .continuous }
    public var failure: SimulationError? { nil }
    public var goalConditioned: (any GoalConditionedEnvironment)? { nil }
    /// No action names, no keyboard play, no metrics, 30 frames per second (the checker asks discrete environments
    /// for action names).
    public var metadata: EnvironmentMetadata { EnvironmentMetadata() }

    /// Resets and returns the first observation as an array (convenience for tests and tools).
    public func reset(seed: UInt64?) -> [Float] {
        var observation = [Float](repeating: 0, count: observationSpace.flatCount)
        reset(seed: seed, observation: &observation)
        return observation
    }

    /// Steps and returns the observation as an array (convenience for tests and tools).
    public func step(_ action: [Float]) -> (observation: [Float], result: StepResult) {
        precondition(action.count == actionSpace.actionWidth,
                     "\(id): an action has \(actionSpace.actionWidth) floats, got \(action.count)")
        var observation = [Float](repeating: 0, count: observationSpace.flatCount)
        let result = step(action, observation: &observation)
        return (observation, result)
    }

    /// A rendered frame of the current state.
    public func renderFrame() -> Canvas {
        var canvas = Canvas(width: renderSize.width, height: renderSize.height)
        render(into: &canvas)
        return canvas
    }
}

/// An environment whose observation rows are entities drawn on its frame (the highway's vehicles): where each row's
/// entity appears in the last rendered frame, in pixels (nil for an absent row). Displays draw attention over it.
public protocol EntityPositions: AnyObject {
    var entityScreenPositions: [(x: Double, y: Double)?] { get }
}

/// The environment inside any wrappers.
public func innermostEnvironment(_ environment: any Environment) -> any Environment {
    var current = environment
    while let wrapper = current as? any EnvironmentWrapper { current = wrapper.inner }
    return current
}

/// A typed error for a simulation that cannot go on (diverged physics, a broken map at reset).
public struct SimulationError: Error, CustomStringConvertible, Equatable {
    public let environment: String
    public let message: String
    public init(environment: String, message: String) {
        self.environment = environment
        self.message = message
    }
    public var description: String { "\(environment): \(message)" }
}

/// Any environment behind one concrete type, so code that picks environments at run time (by registry id) can use
/// the generic machinery (``VectorEnvironment``, wrappers). Costs one dynamic call per method; benchmarks and hot
/// paths that know the type use it directly.
public final class AnyEnvironment: Environment {
    public let base: any Environment
    public init(_ base: any Environment) { self.base = base }

    public var id: String { base.id }
    public var options: ResolvedOptions { base.options }
    public var observationSpace: Space { base.observationSpace }
    public var actionSpace: Space { base.actionSpace }
    public var stateChecksum: UInt64 { base.stateChecksum }
    public var infoKeys: [String] { base.infoKeys }
    public func writeInfo(into values: UnsafeMutablePointer<Double>) { base.writeInfo(into: values) }
    public var failure: SimulationError? { base.failure }
    public var renderSize: (width: Int, height: Int) { base.renderSize }
    public var observationKind: ObservationKind { base.observationKind }
    public func reset(seed: UInt64?, observation: UnsafeMutablePointer<Float>) { base.reset(seed: seed, observation: observation) }
    public func step(_ action: UnsafePointer<Float>, observation: UnsafeMutablePointer<Float>) -> StepResult {
        base.step(action, observation: observation)
    }
    public func render(into canvas: inout Canvas) { base.render(into: &canvas) }
    public func saveState() -> [UInt64] { base.saveState() }
    public func restoreState(_ words: [UInt64]) throws { try base.restoreState(words) }
    public var metadata: EnvironmentMetadata { base.metadata }
    public var goalConditioned: (any GoalConditionedEnvironment)? { base.goalConditioned }
}

/// Reads the words of a saved environment state in order, with a clear error when they run out.
public struct StateReader {
    private let words: [UInt64]
    private var cursor = 0
    private let environment: String

    public init(_ words: [UInt64], environment: String) {
        self.words = words
        self.environment = environment
    }

    public mutating func word() throws -> UInt64 {
        guard cursor < words.count else {
            throw SimulationError(environment: environment, message: "saved state is too short (\(words.count) words)")
        }
        cursor += 1
        return words[cursor - 1]
    }
    public mutating func int() throws -> Int { Int(Int64(bitPattern: try word())) }
    public mutating func double() throws -> Double { Double(bitPattern: try word()) }
    public mutating func bool() throws -> Bool { try word() != 0 }
    public mutating func generator() throws -> SeededGenerator {
        guard let generator = SeededGenerator(state: [try word(), try word(), try word(), try word()]) else {
            throw SimulationError(environment: environment, message: "saved generator state is all zero")
        }
        return generator
    }
    /// A count or index that cannot be negative (steps, lengths).
    public mutating func count() throws -> Int {
        let value = try int()
        guard value >= 0 else {
            throw SimulationError(environment: environment, message: "saved state holds a negative count (\(value))")
        }
        return value
    }
    /// A finite floating-point value (saved states of physical quantities never hold NaN or infinity).
    public mutating func finiteDouble() throws -> Double {
        let value = try double()
        guard value.isFinite else {
            throw SimulationError(environment: environment, message: "saved state holds a non-finite value (\(value))")
        }
        return value
    }
    /// The words not read yet.
    public mutating func rest() -> [UInt64] {
        defer { cursor = words.count }
        return Array(words[cursor...])
    }
    /// Throws unless every word was read.
    public func finish() throws {
        guard cursor == words.count else {
            throw SimulationError(environment: environment, message: "saved state has \(words.count - cursor) extra words")
        }
    }
}

extension Int { public var stateWord: UInt64 { UInt64(bitPattern: Int64(self)) } }
extension Bool { public var stateWord: UInt64 { self ? 1 : 0 } }
