import Sim

/// Whole episodes for recurrent Q-learning (R2D2's stored state and burn-in, Kapturowski et al. 2019): each finished
/// episode of T steps is kept as T + 1 contiguous observation rows (the last is the final observation, for
/// bootstrapping truncated episodes) with its actions, rewards and the LSTM state the actor had before each step, in a
/// ring of rows sized once; the oldest episodes are evicted as new ones arrive. Sampling returns windows of at most
/// `sequenceLength` steps that start from the stored state; a window that starts inside an episode gets `burnIn`
/// leading steps that only refresh that (stale) state and take no loss.
public final class EpisodeReplayBuffer {
    public let capacity: Int            // observation rows
    public let observationSize: Int
    public let stateSize: Int           // LSTM width H
    /// One row per step's observation (bytes for binary observations, float32 otherwise).
    private let observationRows: ObservationRows
    private let actions: UnsafeMutablePointer<Int32>
    private let rewards: UnsafeMutablePointer<Float>
    private let states: UnsafeMutablePointer<Float>      // capacity × 2H: (h, c) before each step
    private var episodes: [(start: Int, length: Int, terminated: Bool)] = []
    private var oldest = 0               // index into `episodes` of the oldest kept episode
    private var writeRow = 0
    // Episodes in progress, one per environment copy.
    private var staging: [(observations: [Float], actions: [Int32], rewards: [Float], states: [Float])]

    public init(capacity: Int, observationSpace: Space, observationKind: ObservationKind, copies: Int, stateSize: Int) {
        self.capacity = capacity
        self.stateSize = stateSize
        observationSize = observationSpace.flatCount
        observationRows = ObservationRows(rows: capacity, width: observationSize, kind: observationKind)
        actions = .allocate(capacity: capacity); actions.initialize(repeating: 0, count: capacity)
        rewards = .allocate(capacity: capacity); rewards.initialize(repeating: 0, count: capacity)
        states = .allocate(capacity: capacity * 2 * stateSize); states.initialize(repeating: 0, count: capacity * 2 * stateSize)
        staging = Array(repeating: ([], [], [], []), count: copies)
    }

    deinit { actions.deallocate(); rewards.deallocate(); states.deallocate() }

    /// Stored episodes.
    public var count: Int { episodes.count - oldest }

    /// Starts copy `i`'s episode with its first observation.
    public func begin(copy i: Int, observation: UnsafePointer<Float>) {
        staging[i].observations.removeAll(keepingCapacity: true)
        staging[i].actions.removeAll(keepingCapacity: true)
        staging[i].rewards.removeAll(keepingCapacity: true)
        staging[i].states.removeAll(keepingCapacity: true)
        staging[i].observations.append(contentsOf: UnsafeBufferPointer(start: observation, count: observationSize))
    }

    /// Records copy `i`'s step, with the actor's LSTM state before it (`hidden`, `cell`: H each); when the episode is
    /// done, stores it (with `next`, the final observation).
    public func record(copy i: Int, action: Int32, reward: Float, next: UnsafePointer<Float>, done: Bool, terminated: Bool,
                       hidden: UnsafePointer<Float>, cell: UnsafePointer<Float>) {
        staging[i].states.append(contentsOf: UnsafeBufferPointer(start: hidden, count: stateSize))
        staging[i].states.append(contentsOf: UnsafeBufferPointer(start: cell, count: stateSize))
        staging[i].actions.append(action)
        staging[i].rewards.append(reward)
        staging[i].observations.append(contentsOf: UnsafeBufferPointer(start: next, count: observationSize))
        if done { commit(copy: i, terminated: terminated) }
    }

    private func commit(copy i: Int, terminated: Bool) {
        let length = staging[i].actions.count, rows = length + 1
        guard rows <= capacity else { return }
        if writeRow + rows > capacity { writeRow = 0 }
        // Evict the oldest episodes that overlap the rows about to be written.
        while oldest < episodes.count {
            let e = episodes[oldest]
            let overlaps = e.start < writeRow + rows && writeRow < e.start + e.length + 1
            if !overlaps { break }
            oldest += 1
        }
        if oldest > 4096 { episodes.removeFirst(oldest); oldest = 0 }
        staging[i].observations.withUnsafeBufferPointer { source in
            for r in 0..<rows {
                observationRows.write(source.baseAddress! + r * observationSize, row: writeRow + r)
            }
        }
        for t in 0..<length {
            actions[writeRow + t] = staging[i].actions[t]
            rewards[writeRow + t] = staging[i].rewards[t]
        }
        staging[i].states.withUnsafeBufferPointer {
            (states + writeRow * 2 * stateSize).update(from: $0.baseAddress!, count: length * 2 * stateSize)
        }
        episodes.append((writeRow, length, terminated))
        writeRow += rows
    }

    /// A batch of windows, padded to `steps` steps: observations (B, steps + 1, obs), actions, rewards, loss mask and
    /// terminal flags (B, steps).
    public final class Batch {
        public let size: Int, steps: Int
        public let observations: UnsafeMutablePointer<Float>
        public let actions: UnsafeMutablePointer<Int32>
        public let rewards: UnsafeMutablePointer<Float>
        public let mask: UnsafeMutablePointer<Float>
        public let terminal: UnsafeMutablePointer<Float>
        /// 1 where the step holds data (not padding).
        public let valid: UnsafeMutablePointer<Float>
        /// The stored LSTM state at each window's first step, (B, H) each.
        public let initialHidden: UnsafeMutablePointer<Float>
        public let initialCell: UnsafeMutablePointer<Float>

        public init(size: Int, steps: Int, observationSize: Int, stateSize: Int) {
            self.size = size
            self.steps = steps
            observations = .allocate(capacity: size * (steps + 1) * observationSize)
            actions = .allocate(capacity: size * steps)
            rewards = .allocate(capacity: size * steps)
            mask = .allocate(capacity: size * steps)
            terminal = .allocate(capacity: size * steps)
            valid = .allocate(capacity: size * steps)
            initialHidden = .allocate(capacity: size * max(stateSize, 1))
            initialCell = .allocate(capacity: size * max(stateSize, 1))
        }

        deinit {
            observations.deallocate(); actions.deallocate(); rewards.deallocate(); mask.deallocate()
            terminal.deallocate(); valid.deallocate(); initialHidden.deallocate(); initialCell.deallocate()
        }
    }

    /// Fills `batch` with uniformly drawn episode windows.
    public func sample(into batch: Batch, burnIn: Int, using rng: inout SeededGenerator) {
        precondition(count > 0, "no finished episode to sample yet")
        let L = batch.steps, O = observationSize
        batch.observations.update(repeating: 0, count: batch.size * (L + 1) * O)
        batch.mask.update(repeating: 0, count: batch.size * L)
        batch.terminal.update(repeating: 0, count: batch.size * L)
        batch.valid.update(repeating: 0, count: batch.size * L)
        for b in 0..<batch.size {
            let e = episodes[oldest + rng.nextInt(below: count)]
            let start = e.length > L ? rng.nextInt(below: e.length - L + 1) : 0
            let length = min(L, e.length)
            let lossStart = start > 0 ? min(burnIn, length - 1) : 0
            let stored = states + (e.start + start) * 2 * stateSize
            (batch.initialHidden + b * stateSize).update(from: stored, count: stateSize)
            (batch.initialCell + b * stateSize).update(from: stored + stateSize, count: stateSize)
            for j in 0...length {
                observationRows.read(row: e.start + start + j, into: batch.observations + (b * (L + 1) + j) * O)
            }
            for j in 0..<L {
                let slot = b * L + j
                if j < length {
                    batch.actions[slot] = actions[e.start + start + j]
                    batch.rewards[slot] = rewards[e.start + start + j]
                    batch.valid[slot] = 1
                    if j >= lossStart { batch.mask[slot] = 1 }
                    if start + j == e.length - 1 && e.terminated { batch.terminal[slot] = 1 }
                } else {
                    batch.actions[slot] = 0
                    batch.rewards[slot] = 0
                }
            }
        }
    }
}

import Neural

extension EpisodeReplayBuffer {
    private static func words(_ values: [Int]) -> SafeTensors.Value {
        .int64(shape: [values.count], values: values.map(Int64.init))
    }

    /// Adds the buffer's complete contents (rows, episodes, episodes in progress) to a checkpoint under `prefix`.
    public func save(into file: inout SafeTensors.File, prefix: String) {
        observationRows.save(rows: capacity, as: prefix + "observations", into: &file)
        file.append(prefix + "actions", Self.words((0..<capacity).map { Int(actions[$0]) }))
        file.append(prefix + "rewards", .float32(Tensor(shape: [capacity], copying: rewards)))
        file.append(prefix + "states", .float32(Tensor(shape: [capacity * 2 * stateSize], copying: states)))
        let kept = episodes[oldest...]
        file.append(prefix + "episodes", Self.words(kept.flatMap { [$0.start, $0.length, $0.terminated ? 1 : 0] } + [writeRow]))
        for (i, stage) in staging.enumerated() {
            file.append(prefix + "staging.\(i).observations", .float32(Tensor(shape: [stage.observations.count], scalars: stage.observations)))
            file.append(prefix + "staging.\(i).actions", Self.words(stage.actions.map(Int.init)))
            file.append(prefix + "staging.\(i).rewards", .float32(Tensor(shape: [stage.rewards.count], scalars: stage.rewards)))
            file.append(prefix + "staging.\(i).states", .float32(Tensor(shape: [stage.states.count], scalars: stage.states)))
        }
    }

    /// Restores what `save(into:prefix:)` wrote; `path` labels errors. Every size, episode bound and action (in
    /// `0..<actionCount`) is checked before anything is copied: the file may have been altered.
    public func restore(from file: SafeTensors.File, prefix: String, path: String, actionCount: Int) throws {
        func corrupt(_ tensor: String, _ detail: String) -> SafeTensorsError {
            .inconsistent(path: path, tensor: prefix + tensor, detail: detail)
        }
        let actionRange = 0...Int64(actionCount - 1)
        let savedObservations = try observationRows.saved(rows: capacity, as: prefix + "observations", in: file, path: path)
        let savedActions = try file.integers(prefix + "actions", path: path, count: capacity, in: actionRange)
        let savedRewards = try file.float32(prefix + "rewards", path: path, count: capacity)
        let savedStates = try file.float32(prefix + "states", path: path, count: capacity * 2 * stateSize)
        let table = try file.integers(prefix + "episodes", path: path, in: 0...Int64(capacity))
        guard table.count % 3 == 1 else { throw corrupt("episodes", "holds \(table.count) values, expected 3 per episode + 1") }
        let savedEpisodes = stride(from: 0, to: table.count - 1, by: 3).map { (start: table[$0], length: table[$0 + 1], terminated: table[$0 + 2] == 1) }
        guard savedEpisodes.allSatisfy({ $0.length >= 1 && $0.start + $0.length < capacity }),
              stride(from: 2, to: table.count - 1, by: 3).allSatisfy({ table[$0] <= 1 }) else {
            throw corrupt("episodes", "names an episode outside the buffer's \(capacity) rows")
        }
        var savedStaging = staging
        for i in staging.indices {
            let stagePrefix = prefix + "staging.\(i)."
            let actions = try file.integers(stagePrefix + "actions", path: path, in: actionRange).map { Int32($0) }
            let steps = actions.count
            savedStaging[i] = (observations: try file.float32(stagePrefix + "observations", path: path,
                                                              count: (steps + 1) * observationSize).scalars,
                               actions: actions,
                               rewards: try file.float32(stagePrefix + "rewards", path: path, count: steps).scalars,
                               states: try file.float32(stagePrefix + "states", path: path, count: steps * 2 * stateSize).scalars)
        }
        observationRows.restore(savedObservations)
        for (k, a) in savedActions.enumerated() { actions[k] = Int32(a) }
        savedRewards.copy(to: rewards)
        savedStates.copy(to: states)
        episodes = savedEpisodes
        oldest = 0
        writeRow = table.last ?? 0
        staging = savedStaging
    }
}
