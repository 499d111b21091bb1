import Neural
import Sim

/// The replay of the off-policy agents for continuous actions: a ring of (observation, action, reward, next
/// observation, terminated) with memory allocated once. Laid out as Stable-Baselines3's buffers, `steps` rows of
/// `copies` environment copies (slot = row · copies + copy), so each copy's transitions are consecutive in time.
/// Actions are stored in the agent's [−1, 1] scale. `terminated` is 1 only where the episode ended by the task; a
/// time-limit truncation keeps the bootstrap (the next observation is the final one, before the reset).
public final class TransitionBuffer {
    /// Rows (vector steps) the ring holds.
    public let steps: Int
    public let copies: Int
    public let observationSize: Int
    public let actionWidth: Int
    /// Rows written so far, at most `steps`.
    public private(set) var filledSteps = 0
    /// The row the next vector step goes to.
    public private(set) var position = 0

    /// 2 rows per slot: row 2s is slot s's observation, row 2s + 1 its next observation.
    public let observations: ObservationRows
    public let actions: UnsafeMutablePointer<Float>     // slots × actionWidth
    public let rewards: UnsafeMutablePointer<Float>     // slots
    public let terminated: UnsafeMutablePointer<Float>  // slots: 1 where the episode terminated

    /// A buffer of `capacity` transitions (rounded down to whole vector steps of `copies`, at least one).
    public init(capacity: Int, copies: Int, observationSpace: Space, observationKind: ObservationKind, actionWidth: Int) {
        precondition(capacity > 0 && copies > 0, "a transition buffer needs a positive capacity and copy count")
        steps = max(capacity / copies, 1)
        self.copies = copies
        observationSize = observationSpace.flatCount
        self.actionWidth = actionWidth
        let slots = steps * copies
        observations = ObservationRows(rows: 2 * slots, width: observationSize, kind: observationKind)
        actions = .allocate(capacity: slots * actionWidth); actions.initialize(repeating: 0, count: slots * actionWidth)
        rewards = .allocate(capacity: slots); rewards.initialize(repeating: 0, count: slots)
        terminated = .allocate(capacity: slots); terminated.initialize(repeating: 0, count: slots)
    }

    deinit { actions.deallocate(); rewards.deallocate(); terminated.deallocate() }

    /// Transitions held.
    public var count: Int { filledSteps * copies }

    /// Stores copy `copy`'s transition of the current vector step; call ``advance()`` once all copies are stored.
    public func store(copy: Int, observation: UnsafePointer<Float>, action: UnsafePointer<Float>, reward: Float,
                      nextObservation: UnsafePointer<Float>, terminated isTerminal: Bool) {
        let slot = position * copies + copy
        observations.write(observation, row: 2 * slot)
        observations.write(nextObservation, row: 2 * slot + 1)
        (actions + slot * actionWidth).update(from: action, count: actionWidth)
        rewards[slot] = reward
        terminated[slot] = isTerminal ? 1 : 0
    }

    /// Moves to the next row, overwriting the oldest once full.
    public func advance() {
        position = (position + 1) % steps
        filledSteps = min(filledSteps + 1, steps)
    }

    /// A sampled minibatch in buffers allocated once.
    public final class Batch {
        public let size: Int
        public let observations: UnsafeMutablePointer<Float>       // size × obs
        public let actions: UnsafeMutablePointer<Float>            // size × actionWidth
        public let rewards: UnsafeMutablePointer<Float>            // size
        public let nextObservations: UnsafeMutablePointer<Float>   // size × obs
        public let terminated: UnsafeMutablePointer<Float>         // size

        public init(size: Int, observationSize: Int, actionWidth: Int) {
            self.size = size
            observations = .allocate(capacity: size * observationSize)
            observations.initialize(repeating: 0, count: size * observationSize)
            actions = .allocate(capacity: size * actionWidth); actions.initialize(repeating: 0, count: size * actionWidth)
            rewards = .allocate(capacity: size); rewards.initialize(repeating: 0, count: size)
            nextObservations = .allocate(capacity: size * observationSize)
            nextObservations.initialize(repeating: 0, count: size * observationSize)
            terminated = .allocate(capacity: size); terminated.initialize(repeating: 0, count: size)
        }

        deinit {
            observations.deallocate(); actions.deallocate(); rewards.deallocate(); nextObservations.deallocate()
            terminated.deallocate()
        }
    }

    /// Fills `batch` with transitions drawn uniformly (with replacement) from those held.
    public func sample(into batch: Batch, using rng: inout SeededGenerator) {
        precondition(count > 0, "cannot sample from an empty transition buffer")
        for k in 0..<batch.size { copy(slot: rng.nextInt(below: count), into: batch, at: k) }
    }

    /// Copies slot `slot` into row `k` of `batch`.
    public func copy(slot: Int, into batch: Batch, at k: Int) {
        observations.read(row: 2 * slot, into: batch.observations + k * observationSize)
        observations.read(row: 2 * slot + 1, into: batch.nextObservations + k * observationSize)
        (batch.actions + k * actionWidth).update(from: actions + slot * actionWidth, count: actionWidth)
        batch.rewards[k] = rewards[slot]
        batch.terminated[k] = terminated[slot]
    }

    /// Sets the fill level and write position (restoring a checkpoint; the caller checked them).
    public func restoreCounters(filledSteps: Int, position: Int) {
        precondition(filledSteps <= steps && position < steps, "transition buffer counters out of range")
        self.filledSteps = filledSteps
        self.position = position
    }
}
