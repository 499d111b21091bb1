import Sim

/// A ring of transitions (obs, action, n-step return, next obs, terminated, discount) with memory sized once.
///
/// Each observation is stored once (as Stable-Baselines3's `optimize_memory_usage`, but also right at time limits):
/// observations go to a ring of rows of their own, numbered in the order written, and a transition names the rows of
/// its observation and next observation. A step's next observation is the row the following transition of that copy
/// starts from, so a run stores one row per step plus one per episode (its first). The row ring holds `capacity`
/// transitions' worth plus an eighth (episodes of 8 steps or more then never cut the transition count) and the
/// `reuseWindow`; when a row is about to be overwritten, transitions still naming it leave the ring first, oldest
/// first. Rows are ``ObservationRows``: bits for observations the environment declares binary, float32 otherwise.
///
/// Sampling is uniform, or proportional to priority (prioritized replay, Schaul et al. 2016) through a sum tree, from
/// the generator passed in.
public final class ReplayBuffer {
    public let capacity: Int
    public let observationSize: Int
    /// Transitions held: the `count` slots before `position` in the ring.
    public private(set) var count = 0
    /// The slot the next transition goes to.
    public private(set) var position = 0

    /// The observation ring: the row numbered s (in write order) is at row s % observations.rows.
    public let observations: ObservationRows
    /// Rows written so far (the number the next row gets).
    public private(set) var rowsWritten = 0
    /// The most rows written between a row and the transition that names it (the caller's promise, see ``add``).
    public let reuseWindow: Int
    public let observationRows: UnsafeMutablePointer<Int>      // capacity: number of each transition's observation row
    public let nextObservationRows: UnsafeMutablePointer<Int>  // capacity: number of its next observation's row
    public let actions: UnsafeMutablePointer<Int32>            // capacity
    public let rewards: UnsafeMutablePointer<Float>            // capacity: n-step discounted return
    public let terminated: UnsafeMutablePointer<Float>         // capacity: 1 if the episode terminated within n steps
    public let discounts: UnsafeMutablePointer<Float>          // capacity: γ^k for the k steps the return spans

    /// Prioritized replay: sum tree over `treeSize` leaves (nil for uniform sampling).
    public let priorities: SumTree?
    public let alpha: Double
    private var maxPriority = 1.0
    /// The largest priority seen (new transitions get it), for checkpoints.
    public var maxPriorityForCheckpoint: Double {
        get { maxPriority }
        set { maxPriority = newValue }
    }

    /// `reuseWindow`: the most rows written between an observation's row and the last transition that names it (the
    /// n-step learner's is 2 · copies · (n + 1): a next observation and a first one per copy and step).
    public init(capacity: Int, observationSpace: Space, observationKind: ObservationKind, prioritized: Bool = false,
                alpha: Double = 0.6, reuseWindow: Int = 2) {
        precondition(capacity > 0 && reuseWindow >= 2, "replay buffer capacity must be positive, got \(capacity)")
        self.capacity = capacity
        self.reuseWindow = reuseWindow
        observationSize = observationSpace.flatCount
        observations = ObservationRows(rows: capacity + capacity / 8 + 2 * reuseWindow, width: observationSize,
                                       kind: observationKind)
        observationRows = .allocate(capacity: capacity); observationRows.initialize(repeating: 0, count: capacity)
        nextObservationRows = .allocate(capacity: capacity); nextObservationRows.initialize(repeating: 0, count: capacity)
        actions = .allocate(capacity: capacity); actions.initialize(repeating: 0, count: capacity)
        rewards = .allocate(capacity: capacity); rewards.initialize(repeating: 0, count: capacity)
        terminated = .allocate(capacity: capacity); terminated.initialize(repeating: 0, count: capacity)
        discounts = .allocate(capacity: capacity); discounts.initialize(repeating: 0, count: capacity)
        priorities = prioritized ? SumTree(capacity: capacity) : nil
        self.alpha = alpha
    }

    deinit {
        observationRows.deallocate(); nextObservationRows.deallocate()
        actions.deallocate(); rewards.deallocate(); terminated.deallocate(); discounts.deallocate()
    }

    public var isPrioritized: Bool { priorities != nil }

    /// The ring slot of the k-th oldest transition held (k < count).
    @inline(__always)
    public func slot(ofOldest k: Int) -> Int { (position - count + k + capacity) % capacity }

    /// Sets the fill level, write position and rows written (when restoring a checkpoint; the caller checked them).
    public func restoreCounters(count: Int, position: Int, rowsWritten: Int) {
        precondition(count <= capacity && position < capacity && rowsWritten >= 0, "replay buffer counters out of range")
        self.count = count
        self.position = position
        self.rowsWritten = rowsWritten
    }

    /// Stores an observation in the next row and returns that row's number; transitions that still name the row it
    /// replaces (or one within `reuseWindow` of it) leave the ring first.
    @discardableResult
    public func appendObservation(_ values: UnsafePointer<Float>) -> Int {
        let number = rowsWritten
        let oldestKept = number - observations.rows + reuseWindow
        while count > 0 && observationRows[slot(ofOldest: 0)] <= oldestKept {
            priorities?.clear(slot(ofOldest: 0))
            count -= 1
        }
        observations.write(values, row: number % observations.rows)
        rowsWritten += 1
        return number
    }

    /// Appends a transition between two stored rows (numbers from ``appendObservation(_:)``), overwriting the oldest
    /// when full. The caller promises both rows were written at most `reuseWindow` rows ago (what keeps a row from
    /// being overwritten while a transition names it; reads stay inside the ring either way).
    public func add(observationRow: Int, action: Int, reward: Float, nextObservationRow: Int, terminated isTerminal: Bool,
                    discount: Float) {
        precondition(observationRow < nextObservationRow && nextObservationRow < rowsWritten, "replay rows out of order")
        let slot = position
        observationRows[slot] = observationRow
        nextObservationRows[slot] = nextObservationRow
        actions[slot] = Int32(action)
        rewards[slot] = reward
        terminated[slot] = isTerminal ? 1 : 0
        discounts[slot] = discount
        priorities?.set(slot, maxPriority)
        position = (position + 1) % capacity
        count = min(count + 1, capacity)
    }

    /// Appends one transition with observations of its own (two new rows).
    public func add(observation: UnsafePointer<Float>, action: Int, reward: Float, nextObservation: UnsafePointer<Float>,
                    terminated isTerminal: Bool, discount: Float) {
        let row = appendObservation(observation)
        add(observationRow: row, action: action, reward: reward, nextObservationRow: appendObservation(nextObservation),
            terminated: isTerminal, discount: discount)
    }

    /// Copies the observation numbered `number` (still in the ring) into `destination`.
    @inline(__always)
    public func readObservation(_ number: Int, into destination: UnsafeMutablePointer<Float>) {
        observations.read(row: number % observations.rows, into: destination)
    }

    /// A sampled minibatch, in buffers owned by the caller (sized once).
    public final class Batch {
        public let size: Int
        public let observations: UnsafeMutablePointer<Float>       // size × obs
        public let nextObservations: UnsafeMutablePointer<Float>   // size × obs
        public let actions: UnsafeMutablePointer<Int32>
        public let rewards: UnsafeMutablePointer<Float>
        public let terminated: UnsafeMutablePointer<Float>
        public let discounts: UnsafeMutablePointer<Float>
        /// Importance-sampling weights (1 for uniform sampling).
        public let weights: UnsafeMutablePointer<Float>
        public let indices: UnsafeMutablePointer<Int>

        public init(size: Int, observationSize: Int) {
            self.size = size
            observations = .allocate(capacity: size * observationSize)
            nextObservations = .allocate(capacity: size * observationSize)
            actions = .allocate(capacity: size)
            rewards = .allocate(capacity: size)
            terminated = .allocate(capacity: size)
            discounts = .allocate(capacity: size)
            weights = .allocate(capacity: size)
            weights.initialize(repeating: 1, count: size)
            indices = .allocate(capacity: size)
        }

        deinit {
            observations.deallocate(); nextObservations.deallocate(); actions.deallocate(); rewards.deallocate()
            terminated.deallocate(); discounts.deallocate(); weights.deallocate(); indices.deallocate()
        }
    }

    /// Fills `batch` with transitions drawn uniformly, or by priority with importance weights for exponent `beta`.
    public func sample(into batch: Batch, beta: Double, using rng: inout SeededGenerator) {
        precondition(count > 0, "cannot sample from an empty replay buffer")
        if let tree = priorities {
            let total = tree.total
            let segment = total / Double(batch.size)
            let minimumProbability = tree.minimum / total
            let maxWeight = pow(Double(count) * minimumProbability, -beta)
            for k in 0..<batch.size {
                let target = (Double(k) + rng.nextDouble()) * segment
                let found = tree.find(target)  // a held slot: the others have priority 0
                let index = tree.value(found) > 0 ? found : slot(ofOldest: count - 1)
                batch.indices[k] = index
                let probability = tree.value(index) / total
                batch.weights[k] = Float(pow(Double(count) * probability, -beta) / maxWeight)
            }
        } else {
            for k in 0..<batch.size { batch.indices[k] = slot(ofOldest: rng.nextInt(below: count)) }
        }
        for k in 0..<batch.size {
            let index = batch.indices[k]
            readObservation(observationRows[index], into: batch.observations + k * observationSize)
            readObservation(nextObservationRows[index], into: batch.nextObservations + k * observationSize)
            batch.actions[k] = actions[index]
            batch.rewards[k] = rewards[index]
            batch.terminated[k] = terminated[index]
            batch.discounts[k] = discounts[index]
        }
    }

    /// Sets the priorities of sampled transitions from their TD errors: (|δ| + ε)^α.
    public func updatePriorities(indices: UnsafePointer<Int>, errors: UnsafePointer<Float>, count n: Int, epsilon: Double = 1e-6) {
        guard let tree = priorities else { return }
        for k in 0..<n {
            let priority = pow(Double(abs(errors[k])) + epsilon, alpha)
            maxPriority = max(maxPriority, priority)
            tree.set(indices[k], priority)
        }
    }
}

#if canImport(Glibc)
import Glibc
#endif

/// A binary tree whose leaves hold priorities and whose inner nodes hold sums (and minima), for O(log n) sampling
/// proportional to priority.
public final class SumTree {
    let leaves: Int
    private var sums: [Double]
    private var minima: [Double]

    public init(capacity: Int) {
        var size = 1
        while size < capacity { size *= 2 }
        leaves = size
        sums = [Double](repeating: 0, count: 2 * size)
        minima = [Double](repeating: .infinity, count: 2 * size)
    }

    public var total: Double { sums[1] }
    public var minimum: Double { minima[1] }
    public func value(_ index: Int) -> Double { sums[leaves + index] }

    /// Removes a leaf: priority 0, and out of the minimum.
    public func clear(_ index: Int) { set(index, 0, minimum: .infinity) }

    public func set(_ index: Int, _ priority: Double) { set(index, priority, minimum: priority) }

    private func set(_ index: Int, _ priority: Double, minimum: Double) {
        var node = leaves + index
        sums[node] = priority
        minima[node] = minimum
        node /= 2
        while node >= 1 {
            sums[node] = sums[2 * node] + sums[2 * node + 1]
            minima[node] = min(minima[2 * node], minima[2 * node + 1])
            node /= 2
        }
    }

    /// The leaf whose prefix-sum interval contains `target`.
    public func find(_ target: Double) -> Int {
        var node = 1, remaining = target
        while node < leaves {
            if remaining < sums[2 * node] || sums[2 * node + 1] == 0 { node = 2 * node }
            else { remaining -= sums[2 * node]; node = 2 * node + 1 }
        }
        return node - leaves
    }
}
