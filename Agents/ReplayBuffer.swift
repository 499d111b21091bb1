import Sim

/// A ring of transitions (obs, action, n-step return, next obs, terminated, discount) with memory sized once.
///
/// Observations are kept in ``ObservationRows`` (bytes for observations the environment declares binary, float32
/// otherwise). Sampling is uniform, or proportional to priority (prioritized replay, Schaul et al. 2016) through a sum
/// tree, from the generator passed in.
public final class ReplayBuffer {
    public let capacity: Int
    public let observationSize: Int
    public private(set) var count = 0
    public private(set) var position = 0

    /// 2 × capacity rows: row 2k is transition k's observation, row 2k + 1 its next observation.
    public let observations: ObservationRows
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

    public init(capacity: Int, observationSpace: Space, observationKind: ObservationKind, prioritized: Bool = false,
                alpha: Double = 0.6) {
        precondition(capacity > 0, "replay buffer capacity must be positive, got \(capacity)")
        self.capacity = capacity
        observationSize = observationSpace.flatCount
        observations = ObservationRows(rows: 2 * capacity, width: observationSize, kind: observationKind)
        actions = .allocate(capacity: capacity); actions.initialize(repeating: 0, count: capacity)
        rewards = .allocate(capacity: capacity); rewards.initialize(repeating: 0, count: capacity)
        terminated = .allocate(capacity: capacity); terminated.initialize(repeating: 0, count: capacity)
        discounts = .allocate(capacity: capacity); discounts.initialize(repeating: 0, count: capacity)
        priorities = prioritized ? SumTree(capacity: capacity) : nil
        self.alpha = alpha
    }

    deinit {
        actions.deallocate(); rewards.deallocate(); terminated.deallocate(); discounts.deallocate()
    }

    public var isPrioritized: Bool { priorities != nil }

    /// Sets the fill level and write position (when restoring a checkpoint).
    public func restoreCounters(count: Int, position: Int) {
        precondition(count <= capacity && position < capacity, "replay buffer counters out of range")
        self.count = count
        self.position = position
    }

    /// Appends one transition, overwriting the oldest when full.
    public func add(observation: UnsafePointer<Float>, action: Int, reward: Float, nextObservation: UnsafePointer<Float>,
                    terminated isTerminal: Bool, discount: Float) {
        let slot = position
        store(observation, at: 2 * slot)
        store(nextObservation, at: 2 * slot + 1)
        actions[slot] = Int32(action)
        rewards[slot] = reward
        terminated[slot] = isTerminal ? 1 : 0
        discounts[slot] = discount
        priorities?.set(slot, maxPriority)
        position = (position + 1) % capacity
        count = min(count + 1, capacity)
    }

    private func store(_ values: UnsafePointer<Float>, at row: Int) { observations.write(values, row: row) }

    private func load(row: Int, into destination: UnsafeMutablePointer<Float>) { observations.read(row: row, into: destination) }

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
                let index = min(tree.find(target), count - 1)
                batch.indices[k] = index
                let probability = tree.value(index) / total
                batch.weights[k] = Float(pow(Double(count) * probability, -beta) / maxWeight)
            }
        } else {
            for k in 0..<batch.size { batch.indices[k] = rng.nextInt(below: count) }
        }
        for k in 0..<batch.size {
            let index = batch.indices[k]
            load(row: 2 * index, into: batch.observations + k * observationSize)
            load(row: 2 * index + 1, into: batch.nextObservations + k * observationSize)
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

    public func set(_ index: Int, _ priority: Double) {
        var node = leaves + index
        sums[node] = priority
        minima[node] = priority
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
