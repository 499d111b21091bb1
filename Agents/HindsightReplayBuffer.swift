import Sim

/// The reward of reaching `achieved` when `desired` was asked, for `count` rows of goals (count × size each),
/// written into `rewards` (count): the environment's `compute_reward`, which must not depend on anything else.
public typealias GoalReward = (_ achieved: UnsafePointer<Float>, _ desired: UnsafePointer<Float>, _ count: Int,
                               _ rewards: UnsafeMutablePointer<Float>) -> Void

/// Minibatches for the off-policy agents: from the replay as stored, or with hindsight relabelling.
public protocol TransitionSampler: AnyObject {
    /// Whether a minibatch can be drawn yet.
    var canSample: Bool { get }
    func sample(into batch: TransitionBuffer.Batch, using rng: inout SeededGenerator)
}

extension TransitionBuffer: TransitionSampler {
    public var canSample: Bool { count > 0 }
}

/// Hindsight experience replay (Andrychowicz et al. 2017) over a ``TransitionBuffer``, as Stable-Baselines3's
/// `HerReplayBuffer`: only transitions of finished episodes are drawn; of a minibatch the first
/// ⌊B · (1 − 1/(n_sampled_goal + 1))⌋ rows are relabelled with a goal the episode achieved later (`future`: at this or a
/// later step; `final`: at its last step; `episode`: at any of its steps), their reward recomputed by the
/// environment's goal reward, and the rest are drawn as stored. An episode is the steps between two resets of one
/// copy, so a relabelled goal never comes from another episode, truncated or not; an episode the ring starts to
/// overwrite is dropped whole.
public final class HindsightReplayBuffer: TransitionSampler {
    public enum Strategy: String, Sendable, CaseIterable { case future, final, episode }

    public let buffer: TransitionBuffer
    public let layout: GoalLayout
    public let strategy: Strategy
    public let sampledGoals: Int
    private let reward: GoalReward

    /// Per slot: the ring row where its episode starts, and the episode's length once it has finished (0 before, and
    /// after the episode is dropped).
    public let episodeStarts: UnsafeMutablePointer<Int>
    public let episodeLengths: UnsafeMutablePointer<Int>
    /// Per copy: the row where its running episode started, and its rows stored so far.
    public let runningStarts: UnsafeMutablePointer<Int>
    public let runningLengths: UnsafeMutablePointer<Int>
    /// Slots of finished, kept episodes.
    public private(set) var validCount = 0

    private let achieved: UnsafeMutablePointer<Float>   // (B, size): the relabelled rows' next achieved goals
    private let goals: UnsafeMutablePointer<Float>      // (B, size): their new desired goals
    private let relabelledRewards: UnsafeMutablePointer<Float>  // (B)
    private let row: UnsafeMutablePointer<Float>        // one observation

    public init(buffer: TransitionBuffer, layout: GoalLayout, strategy: Strategy, sampledGoals: Int, batchSize: Int,
                reward: @escaping GoalReward) {
        precondition(layout.goalSize > 0 && layout.achievedOffset + layout.goalSize <= buffer.observationSize
                     && layout.desiredOffset + layout.goalSize <= buffer.observationSize, "goal layout outside the observation")
        self.buffer = buffer
        self.layout = layout
        self.strategy = strategy
        self.sampledGoals = sampledGoals
        self.reward = reward
        let slots = buffer.steps * buffer.copies
        episodeStarts = .allocate(capacity: slots); episodeStarts.initialize(repeating: 0, count: slots)
        episodeLengths = .allocate(capacity: slots); episodeLengths.initialize(repeating: 0, count: slots)
        runningStarts = .allocate(capacity: buffer.copies); runningStarts.initialize(repeating: 0, count: buffer.copies)
        runningLengths = .allocate(capacity: buffer.copies); runningLengths.initialize(repeating: 0, count: buffer.copies)
        achieved = .allocate(capacity: batchSize * layout.goalSize); achieved.initialize(repeating: 0, count: batchSize * layout.goalSize)
        goals = .allocate(capacity: batchSize * layout.goalSize); goals.initialize(repeating: 0, count: batchSize * layout.goalSize)
        relabelledRewards = .allocate(capacity: batchSize); relabelledRewards.initialize(repeating: 0, count: batchSize)
        row = .allocate(capacity: buffer.observationSize); row.initialize(repeating: 0, count: buffer.observationSize)
    }

    deinit {
        episodeStarts.deallocate(); episodeLengths.deallocate(); runningStarts.deallocate(); runningLengths.deallocate()
        achieved.deallocate(); goals.deallocate(); relabelledRewards.deallocate(); row.deallocate()
    }

    /// The share of each minibatch that is relabelled: 1 − 1/(n_sampled_goal + 1).
    public var relabelledFraction: Double { 1 - 1 / Double(sampledGoals + 1) }

    public var canSample: Bool { validCount > 0 }

    /// Stores copy `copy`'s transition of the current vector step (`ended`: its episode ended with it, by
    /// termination or truncation); call ``advance()`` once all copies are stored.
    public func store(copy: Int, observation: UnsafePointer<Float>, action: UnsafePointer<Float>, reward: Float,
                      nextObservation: UnsafePointer<Float>, terminated: Bool, ended: Bool) {
        let steps = buffer.steps, copies = buffer.copies, position = buffer.position
        let slot = position * copies + copy
        if episodeLengths[slot] > 0 {
            // The ring reached a kept episode's first row: drop the episode whole.
            let start = episodeStarts[slot], length = episodeLengths[slot]
            for k in 0..<length { episodeLengths[((start + k) % steps) * copies + copy] = 0 }
            validCount -= length
        } else if runningLengths[copy] == steps {
            // The running episode is as long as the ring: its oldest row goes.
            runningStarts[copy] = (position + 1) % steps
            runningLengths[copy] -= 1
        }
        buffer.store(copy: copy, observation: observation, action: action, reward: reward, nextObservation: nextObservation,
                     terminated: terminated)
        runningLengths[copy] += 1
        episodeStarts[slot] = runningStarts[copy]
        guard ended else { return }
        let start = runningStarts[copy], length = runningLengths[copy]
        for k in 0..<length {
            let s = ((start + k) % steps) * copies + copy
            episodeStarts[s] = start
            episodeLengths[s] = length
        }
        validCount += length
        runningStarts[copy] = (position + 1) % steps
        runningLengths[copy] = 0
    }

    public func advance() { buffer.advance() }

    public func sample(into batch: TransitionBuffer.Batch, using rng: inout SeededGenerator) {
        precondition(validCount > 0, "no finished episode to sample from")
        let steps = buffer.steps, copies = buffer.copies, G = layout.goalSize, width = buffer.observationSize
        let relabelled = Int(relabelledFraction * Double(batch.size))
        for k in 0..<batch.size {
            // Uniform over the kept slots: draw filled slots until one is kept (most are).
            var slot = rng.nextInt(below: buffer.count)
            while episodeLengths[slot] == 0 { slot = rng.nextInt(below: buffer.count) }
            buffer.copy(slot: slot, into: batch, at: k)
            guard k < relabelled else { continue }
            let copy = slot % copies, rowIndex = slot / copies
            let start = episodeStarts[slot], length = episodeLengths[slot]
            let offset: Int
            switch strategy {
            case .final: offset = length - 1
            case .future:
                let current = (rowIndex - start + steps) % steps
                offset = current + rng.nextInt(below: length - current)
            case .episode: offset = rng.nextInt(below: length)
            }
            let goalSlot = ((start + offset) % steps) * copies + copy
            buffer.observations.read(row: 2 * goalSlot + 1, into: row)
            let goal = goals + k * G
            goal.update(from: row + layout.achievedOffset, count: G)
            (batch.observations + k * width + layout.desiredOffset).update(from: goal, count: G)
            (batch.nextObservations + k * width + layout.desiredOffset).update(from: goal, count: G)
            (achieved + k * G).update(from: batch.nextObservations + k * width + layout.achievedOffset, count: G)
        }
        guard relabelled > 0 else { return }
        reward(achieved, goals, relabelled, relabelledRewards)
        batch.rewards.update(from: relabelledRewards, count: relabelled)
    }

    /// The bookkeeping as one list for checkpoints: episode starts and lengths per slot, then the running starts and
    /// lengths per copy.
    public var savedBookkeeping: [Int] {
        let slots = buffer.steps * buffer.copies, copies = buffer.copies
        return Array(UnsafeBufferPointer(start: episodeStarts, count: slots)) + Array(UnsafeBufferPointer(start: episodeLengths, count: slots))
            + Array(UnsafeBufferPointer(start: runningStarts, count: copies)) + Array(UnsafeBufferPointer(start: runningLengths, count: copies))
    }

    /// Restores ``savedBookkeeping``, or returns why it cannot belong to this ring (sizes, rows in range, lengths that
    /// fit the ring and the filled rows) and changes nothing.
    public func restore(bookkeeping values: [Int]) -> String? {
        let steps = buffer.steps, slots = steps * buffer.copies, copies = buffer.copies
        guard values.count == 2 * slots + 2 * copies else {
            return "expected \(2 * slots + 2 * copies) values (episode starts and lengths of \(slots) slots, running starts and "
                + "lengths of \(copies) copies), got \(values.count)"
        }
        let starts = Array(values[0..<slots]), lengths = Array(values[slots..<(2 * slots)])
        let running = Array(values[(2 * slots)..<(2 * slots + copies)]), runningRows = Array(values[(2 * slots + copies)...])
        guard starts.allSatisfy({ (0..<steps).contains($0) }), running.allSatisfy({ (0..<steps).contains($0) }),
              lengths.allSatisfy({ (0...steps).contains($0) }), runningRows.allSatisfy({ (0...steps).contains($0) }) else {
            return "episode starts must be rows in 0..<\(steps) and lengths in 0...\(steps)"
        }
        for slot in 0..<slots where lengths[slot] > 0 {
            let offset = (slot / buffer.copies - starts[slot] + steps) % steps
            guard offset < lengths[slot], slot < buffer.count else {
                return "slot \(slot) lies outside its episode (start row \(starts[slot]), length \(lengths[slot])) or the filled rows"
            }
        }
        for (k, value) in starts.enumerated() { episodeStarts[k] = value }
        for (k, value) in lengths.enumerated() { episodeLengths[k] = value }
        for k in 0..<copies { runningStarts[k] = running[k]; runningLengths[k] = runningRows[k] }
        validCount = lengths.reduce(0) { $0 + ($1 > 0 ? 1 : 0) }
        return nil
    }
}
