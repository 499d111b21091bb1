/// N copies of an environment stepped in lockstep, with flat buffers for observations (N × obs), rewards, flags
/// and episode statistics, allocated once.
///
/// **Autoreset** (same-step, as Stable-Baselines3's `VecEnv`): when copy i ends an episode in `step`, its final
/// observation is saved in ``finalObservations`` (row i), the copy is reset at once (continuing its own random
/// stream), and ``observations`` row i holds the first observation of the next episode. `terminated`/`truncated`
/// describe the episode that just ended; learners bootstrap truncated episodes from the final observation.
///
/// **Seeding**: `reset(seed:)` seeds copy i with a seed derived from (seed, i), so copies never share a stream and
/// results do not depend on the number of threads. **Threads**: with `threads > 1` the copies are split into
/// contiguous chunks stepped in parallel; each copy is touched by one thread per step, so the results are bitwise
/// the same as with one thread.
public final class VectorEnvironment<E: Environment>: ChunkedWork {
    public let environments: [E]
    public let count: Int
    public let observationSize: Int
    public let actionWidth: Int
    /// Threads stepping the copies (the caller's plus `threads − 1` workers).
    public let threads: Int
    private let pool: WorkerPool

    /// (N, obs): current observations.
    public let observations: UnsafeMutablePointer<Float>
    /// (N, obs): row i is the last observation of the episode copy i ended in the last step (valid where done).
    public let finalObservations: UnsafeMutablePointer<Float>
    /// (N) rewards, terminated and truncated flags of the last step.
    public let rewards: UnsafeMutablePointer<Float>
    public let terminated: UnsafeMutablePointer<Bool>
    public let truncated: UnsafeMutablePointer<Bool>
    /// (N) running return and length of each copy's current episode.
    public let episodeReturns: UnsafeMutablePointer<Double>
    public let episodeLengths: UnsafeMutablePointer<Int>
    /// (N) return and length of the episode copy i finished in the last step (valid where done).
    public let finishedReturns: UnsafeMutablePointer<Double>
    public let finishedLengths: UnsafeMutablePointer<Int>
    /// (N) step results written by the stepping threads (8 bytes a copy, so chunks of 8 copies own whole cache lines;
    /// the Bool flag arrays are filled from it afterwards, as 64 flags share one line).
    private let results: UnsafeMutablePointer<StepResult>
    /// The actions of the step in progress, for the worker threads.
    private var currentActions: UnsafePointer<Float>?

    /// Builds `count` copies with `make(i)`.
    public init(count: Int, threads: Int = 1, make: (Int) throws -> E) rethrows {
        precondition(count > 0, "VectorEnvironment needs at least one copy")
        precondition(threads >= 1, "VectorEnvironment needs at least one thread")
        environments = try (0..<count).map(make)
        self.count = count
        self.threads = threads
        pool = WorkerPool(threads: threads)
        observationSize = environments[0].observationSpace.flatCount
        actionWidth = environments[0].actionSpace.actionWidth
        for (i, env) in environments.enumerated() {
            precondition(env.observationSpace == environments[0].observationSpace && env.actionSpace == environments[0].actionSpace,
                         "copy \(i) has other spaces than copy 0")
        }
        observations = .allocate(capacity: count * observationSize)
        observations.initialize(repeating: 0, count: count * observationSize)
        finalObservations = .allocate(capacity: count * observationSize)
        finalObservations.initialize(repeating: 0, count: count * observationSize)
        rewards = .allocate(capacity: count); rewards.initialize(repeating: 0, count: count)
        terminated = .allocate(capacity: count); terminated.initialize(repeating: false, count: count)
        truncated = .allocate(capacity: count); truncated.initialize(repeating: false, count: count)
        episodeReturns = .allocate(capacity: count); episodeReturns.initialize(repeating: 0, count: count)
        episodeLengths = .allocate(capacity: count); episodeLengths.initialize(repeating: 0, count: count)
        finishedReturns = .allocate(capacity: count); finishedReturns.initialize(repeating: 0, count: count)
        finishedLengths = .allocate(capacity: count); finishedLengths.initialize(repeating: 0, count: count)
        results = .allocate(capacity: count); results.initialize(repeating: StepResult(reward: 0, terminated: false), count: count)
    }

    deinit {
        observations.deallocate(); finalObservations.deallocate(); rewards.deallocate()
        terminated.deallocate(); truncated.deallocate(); episodeReturns.deallocate(); episodeLengths.deallocate()
        finishedReturns.deallocate(); finishedLengths.deallocate(); results.deallocate()
    }

    /// The seed copy `index` gets from run seed `seed`.
    public static func copySeed(_ seed: UInt64, index: Int) -> UInt64 {
        var rng = SeededGenerator(seed: seed, stream: UInt64(index) + 1)
        return rng.next()
    }

    /// Resets every copy; copy i is seeded with `copySeed(seed, i)`.
    public func reset(seed: UInt64) {
        for i in 0..<count {
            environments[i].reset(seed: Self.copySeed(seed, index: i), observation: observations + i * observationSize)
            episodeReturns[i] = 0
            episodeLengths[i] = 0
        }
    }

    /// Steps every copy with its row of `actions` (N × actionWidth), autoresetting finished copies.
    public func step(_ actions: UnsafePointer<Float>) {
        if threads <= 1 || count < 8 * threads {
            stepCopies(0..<count, actions)
        } else {
            currentActions = actions
            pool.run(self)
            currentActions = nil
        }
        for i in 0..<count {
            rewards[i] = results[i].reward
            terminated[i] = results[i].terminated
            truncated[i] = results[i].truncated
        }
    }

    /// Steps one thread's share. Chunk boundaries fall on multiples of 8 copies, so no two threads write the same
    /// cache line of the per-copy arrays.
    func performChunk(_ chunk: Int) {
        let blocks = (count + 7) / 8
        stepCopies(min(count, chunk * blocks / threads * 8)..<min(count, (chunk + 1) * blocks / threads * 8), currentActions!)
    }

    @inline(__always)
    private func stepCopies(_ range: Range<Int>, _ actions: UnsafePointer<Float>) {
        // One access to the shared array per chunk: per-copy accesses would bounce its reference count between cores.
        environments.withUnsafeBufferPointer { environments in
            stepCopies(range, actions, environments)
        }
    }

    @inline(__always)
    private func stepCopies(_ range: Range<Int>, _ actions: UnsafePointer<Float>, _ environments: UnsafeBufferPointer<E>) {
        for i in range {
            let observation = observations + i * observationSize
            let result = environments[i].step(actions + i * actionWidth, observation: observation)
            results[i] = result
            episodeReturns[i] += Double(result.reward)
            episodeLengths[i] += 1
            if result.done {
                (finalObservations + i * observationSize).update(from: observation, count: observationSize)
                finishedReturns[i] = episodeReturns[i]
                finishedLengths[i] = episodeLengths[i]
                episodeReturns[i] = 0
                episodeLengths[i] = 0
                environments[i].reset(seed: nil, observation: observation)
            }
        }
    }
}
