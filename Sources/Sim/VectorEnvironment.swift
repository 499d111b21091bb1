import Dispatch

/// N copies of an environment stepped in lockstep, with flat buffers for observations (N × obs), rewards, flags
/// and episode statistics, allocated once.
///
/// **Autoreset** (``AutoresetMode``; same-step by default, as Stable-Baselines3's `VecEnv`): when copy i ends an
/// episode in `step`, its final observation is saved in ``finalObservations`` (row i), the copy is reset at once
/// (continuing its own random stream), and ``observations`` row i holds the first observation of the next episode.
/// `terminated`/`truncated` describe the episode that just ended; learners bootstrap truncated episodes from the
/// final observation. Next-step autoreset (Gymnasium 1.x's default) and no autoreset are also offered, for the
/// Python package.
///
/// **Seeding**: `reset(seed:)` seeds copy i with a seed derived from (seed, i), so copies never share a stream and
/// results do not depend on the number of threads. **Threads**: with `threads > 1` the copies are split into
/// blocks (see ``chooseBlocks()``) that the threads of a ``WorkerPool`` claim in turn; each copy is stepped by
/// one thread per step, so the results are bitwise the same as with one thread. A hand-off between threads costs
/// about a microsecond, so the split has to pay for it: the first ``calibrationSteps`` steps run on the caller's
/// thread and are timed, and from then on the copies are split only into blocks of at least
/// ``minimumBlockNanoseconds`` of work each (none, if a whole step is cheaper than two such blocks). Even then the
/// split only pays when the other threads get a core: with other processes on the machine a worker can be
/// descheduled for milliseconds while it holds a block. So the steps are timed in windows, and a ``SplitChooser``
/// keeps whichever of one thread and all threads is faster, trying the other now and then.
public final class VectorEnvironment<E: Environment>: BlockWork {
    public let environments: [E]
    public let count: Int
    public let observationSize: Int
    public let actionWidth: Int
    /// Threads stepping the copies (the caller's plus `threads − 1` workers): the number asked for, but no more than
    /// the machine's cores. Setting it starts a new pool and calibrates again; the results stay the same.
    public var threads: Int {
        get { pool.threads }
        set {
            precondition(newValue >= 1, "VectorEnvironment needs at least one thread")
            pool = WorkerPool(threads: newValue)
            blocks = 0
            calibratedSteps = 0
            fastestStepNanoseconds = .max
            chooser = SplitChooser()
            warmupSteps = SplitChooser.splitWarmupSteps
        }
    }
    private var pool: WorkerPool
    /// What happens to a copy whose episode ends (set before stepping; `reset` clears what a mode left pending).
    public var autoreset = AutoresetMode.sameStep

    /// Steps timed on one thread before the copies are split into blocks.
    static var calibrationSteps: Int { 16 }
    /// The least work (in nanoseconds, as timed during calibration) worth a block of its own: twice the measured
    /// break-even (see docs/architecture.md, "The simulator's performance model").
    public static var defaultMinimumBlockNanoseconds: Double { 4_000 }
    /// The work per copy and step (nanoseconds) from which blocks may start on any copy (see ``chooseBlocks()``).
    static var unalignedCopyNanoseconds: Double { 2_000 }
    /// The least work per block used by this vector; tests set 0 to force the split.
    var minimumBlockNanoseconds = VectorEnvironment.defaultMinimumBlockNanoseconds
    /// Blocks a step is split into (1: stepped on the caller's thread) and copies per block (see ``chooseBlocks()``);
    /// 0 blocks while calibrating.
    public private(set) var blocks = 0
    private var copiesPerBlock = 8
    private var calibratedSteps = 0
    private var fastestStepNanoseconds = UInt64.max
    /// Whether to time the split against one thread (tests turn it off to force the split).
    var adaptive = true
    private var chooser = SplitChooser()
    private var windowSteps = 0
    private var windowNanoseconds: UInt64 = 0
    private var warmupSteps = SplitChooser.splitWarmupSteps

    /// (N, obs): current observations.
    public private(set) var observations: UnsafeMutablePointer<Float>
    /// (N, obs): row i is the last observation of the episode copy i ended in the last step (valid where done).
    public private(set) var finalObservations: UnsafeMutablePointer<Float>
    /// (N) rewards, terminated and truncated flags of the last step.
    public private(set) var rewards: UnsafeMutablePointer<Float>
    public private(set) var terminated: UnsafeMutablePointer<Bool>
    public private(set) var truncated: UnsafeMutablePointer<Bool>
    /// The buffers allocated for the five above, freed at the end (the above may point to a caller's instead).
    private let ownBuffers: (UnsafeMutablePointer<Float>, UnsafeMutablePointer<Float>, UnsafeMutablePointer<Float>,
                             UnsafeMutablePointer<Bool>, UnsafeMutablePointer<Bool>)
    /// (N) whether copy i's episode ended and the copy was not reset yet (never with same-step autoreset).
    public let ended: UnsafeMutablePointer<Bool>
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
    /// Not optional: unwrapping an optional pointer in an unoptimized build makes the first split step build the
    /// optional's type metadata, an allocation (the value outside a step is a placeholder, never read).
    private var currentActions: UnsafePointer<Float>
    /// Runs of fewer copies are stepped one by one: a call to the batch stepper costs more than it saves there.
    static var shortestBatchRun: Int { 8 }
    /// Steps the copies together when their type offers it (``BatchSteppable``; bitwise the same as one by one).
    private let batchStepper: (any BatchStepper)?

    /// Builds `count` copies with `make(i)`.
    public init(count: Int, threads: Int = 1, make: (Int) throws -> E) rethrows {
        precondition(count > 0, "VectorEnvironment needs at least one copy")
        precondition(threads >= 1, "VectorEnvironment needs at least one thread")
        environments = try (0..<count).map(make)
        self.count = count
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
        ended = .allocate(capacity: count); ended.initialize(repeating: false, count: count)
        episodeReturns = .allocate(capacity: count); episodeReturns.initialize(repeating: 0, count: count)
        episodeLengths = .allocate(capacity: count); episodeLengths.initialize(repeating: 0, count: count)
        finishedReturns = .allocate(capacity: count); finishedReturns.initialize(repeating: 0, count: count)
        finishedLengths = .allocate(capacity: count); finishedLengths.initialize(repeating: 0, count: count)
        results = .allocate(capacity: count); results.initialize(repeating: StepResult(reward: 0, terminated: false), count: count)
        currentActions = UnsafePointer(rewards)
        ownBuffers = (observations, finalObservations, rewards, terminated, truncated)
        batchStepper = makeBatchStepper(for: environments)
    }

    /// Makes steps and resets write straight into caller-owned buffers instead of the vector's own (a foreign-language
    /// binding's arrays, so nothing is copied after a step): observations and final observations (N × obs), rewards,
    /// terminated and truncated (N). Their current contents are copied over first. The caller keeps the buffers valid
    /// for as long as the vector uses them: until the next call of this method, or the vector's end.
    public func writeResults(observations: UnsafeMutablePointer<Float>, finalObservations: UnsafeMutablePointer<Float>,
                             rewards: UnsafeMutablePointer<Float>, terminated: UnsafeMutablePointer<Bool>,
                             truncated: UnsafeMutablePointer<Bool>) {
        let values = count * observationSize
        observations.update(from: self.observations, count: values)
        finalObservations.update(from: self.finalObservations, count: values)
        rewards.update(from: self.rewards, count: count)
        terminated.update(from: self.terminated, count: count)
        truncated.update(from: self.truncated, count: count)
        (self.observations, self.finalObservations, self.rewards, self.terminated, self.truncated) =
            (observations, finalObservations, rewards, terminated, truncated)
    }

    deinit {
        ownBuffers.0.deallocate(); ownBuffers.1.deallocate(); ownBuffers.2.deallocate()
        ownBuffers.3.deallocate(); ownBuffers.4.deallocate(); ended.deallocate(); episodeReturns.deallocate(); episodeLengths.deallocate()
        finishedReturns.deallocate(); finishedLengths.deallocate(); results.deallocate()
    }

    /// The seed copy `index` gets from run seed `seed`.
    public static func copySeed(_ seed: UInt64, index: Int) -> UInt64 {
        var rng = SeededGenerator(seed: seed, stream: UInt64(index) + 1)
        return rng.next()
    }

    /// Resets every copy; copy i is seeded with `copySeed(seed, i)`.
    public func reset(seed: UInt64) {
        for i in 0..<count { reset(copy: i, seed: Self.copySeed(seed, index: i)) }
    }

    /// Resets copy `i` with exactly `seed` (as a single environment's `reset(seed:)`; Gymnasium's `reset(seed=)`), or
    /// (nil) continuing its own generator.
    public func reset(copy i: Int, seed: UInt64?) {
        environments[i].reset(seed: seed, observation: observations + i * observationSize)
        episodeReturns[i] = 0
        episodeLengths[i] = 0
        ended[i] = false
    }

    /// Steps every copy with its row of `actions` (N × actionWidth), autoresetting finished copies as ``autoreset``
    /// says. With ``AutoresetMode/disabled``, copies whose episode ended must be reset first (see ``ended``).
    public func step(_ actions: UnsafePointer<Float>) {
        if threads == 1 || count < 16 || blocks == 1 {
            stepCopies(0..<count, actions)
        } else if blocks == 0 {
            let start = DispatchTime.now().uptimeNanoseconds
            stepCopies(0..<count, actions)
            fastestStepNanoseconds = min(fastestStepNanoseconds, DispatchTime.now().uptimeNanoseconds - start)
            calibratedSteps += 1
            if calibratedSteps >= Self.calibrationSteps { chooseBlocks() }
        } else if !adaptive {
            stepInBlocks(actions)
        } else if warmupSteps > 0 {
            // The first steps after a change of mode are not timed: a sleeping worker is still waking up. A split
            // is timed from the first step the workers take part in (a worker woken on an idle virtual core can
            // take hundreds of microseconds to run).
            if chooser.split {
                warmupSteps = stepInBlocks(actions) > 0 ? 0 : warmupSteps - 1
            } else {
                stepCopies(0..<count, actions)
                warmupSteps -= 1
            }
        } else {
            let split = chooser.split
            let start = DispatchTime.now().uptimeNanoseconds
            if split { stepInBlocks(actions) } else { stepCopies(0..<count, actions) }
            windowNanoseconds += DispatchTime.now().uptimeNanoseconds - start
            windowSteps += 1
            if windowSteps == SplitChooser.windowSteps || Double(windowNanoseconds) > chooser.probeBudget {
                chooser.record(nanosecondsPerStep: Double(windowNanoseconds) / Double(windowSteps))
                if chooser.split != split { warmupSteps = chooser.split ? SplitChooser.splitWarmupSteps : SplitChooser.warmupSteps }
                windowSteps = 0
                windowNanoseconds = 0
            }
        }
        for i in 0..<count {
            rewards[i] = results[i].reward
            terminated[i] = results[i].terminated
            truncated[i] = results[i].truncated
        }
    }

    /// Splits the copies into blocks of at least `minimumBlockNanoseconds` of work (by the fastest calibration step)
    /// and at most four blocks a thread (more blocks balance better when a thread is late, but each claim is a
    /// contended atomic operation), in whole rounds of one block a thread where there are more blocks than threads.
    /// Blocks start on multiples of 8 copies, so that no two threads write the same cache line of the per-copy
    /// arrays, unless a copy's step takes at least ``unalignedCopyNanoseconds``: then a shared line costs little
    /// against the work and smaller blocks balance better (16 highway copies: 8 blocks of 2, not 2 of 8).
    func chooseBlocks() {
        (blocks, copiesPerBlock) = Self.blockLayout(count: count, threads: threads, stepNanoseconds: Double(fastestStepNanoseconds),
                                                    minimumBlockNanoseconds: minimumBlockNanoseconds)
    }

    /// The blocks ``chooseBlocks()`` cuts `count` copies into for `threads` threads, when a whole step takes
    /// `stepNanoseconds` on one thread: their number and the copies in each (the last may have fewer).
    static func blockLayout(count: Int, threads: Int, stepNanoseconds: Double,
                            minimumBlockNanoseconds: Double) -> (blocks: Int, copiesPerBlock: Int) {
        let unit = stepNanoseconds >= unalignedCopyNanoseconds * Double(count) ? 1 : 8
        let units = (count + unit - 1) / unit
        let affordable = minimumBlockNanoseconds > 0 ? Int(min(stepNanoseconds / minimumBlockNanoseconds, Double(units))) : units
        var wanted = max(1, min(min(units, affordable), min(4 * threads, WorkerPool.maximumBlocks)))  // two-argument min: the variadic one allocates
        if wanted > threads { wanted -= wanted % threads }  // whole rounds of blocks: no thread left with an extra one
        let copiesPerBlock = (units + wanted - 1) / wanted * unit
        return ((count + copiesPerBlock - 1) / copiesPerBlock, copiesPerBlock)
    }

    /// Whether runs of copies go through a batch stepper (their type is ``BatchSteppable`` and they agree on how).
    public var stepsTogether: Bool { batchStepper != nil }

    /// Whether steps are being split over the threads now (false while calibrating, on one thread, or when the split
    /// does not pay).
    public var isSplit: Bool { threads > 1 && count >= 16 && blocks > 1 && (!adaptive || chooser.split) }

    /// Steps the copies in blocks over the pool; returns the number of blocks the workers stepped.
    @discardableResult
    private func stepInBlocks(_ actions: UnsafePointer<Float>) -> Int {
        currentActions = actions
        return pool.run(self, blocks: blocks)
    }

    /// Steps one block of copies.
    func performBlock(_ block: Int) {
        stepCopies(block * copiesPerBlock..<min(count, (block + 1) * copiesPerBlock), currentActions)
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
        // First the environments: runs of copies stepped together (or one by one), and copies waiting for a
        // next-step reset reset in between (left marked `ended` until the second pass).
        var start = range.lowerBound
        while start < range.upperBound {
            if ended[start] {
                // Next-step autoreset: this step starts the copy's next episode; its action is not used.
                precondition(autoreset == .nextStep, "copy \(start)'s episode ended: reset it before stepping (autoreset is disabled)")
                environments[start].reset(seed: nil, observation: observations + start * observationSize)
                results[start] = StepResult(reward: 0, terminated: false)
                start += 1
                continue
            }
            var end = start + 1
            while end < range.upperBound && !ended[end] { end += 1 }
            if let batchStepper, end - start >= Self.shortestBatchRun {
                batchStepper.step(start..<end, actions: actions, observations: observations, results: results)
            } else {
                for i in start..<end {
                    results[i] = environments[i].step(actions + i * actionWidth, observation: observations + i * observationSize)
                }
            }
            start = end
        }
        // Then the episodes: returns, lengths, final observations and autoresets.
        for i in range {
            if ended[i] {
                ended[i] = false  // reset in the first pass
                continue
            }
            let result = results[i]
            episodeReturns[i] += Double(result.reward)
            episodeLengths[i] += 1
            if result.done {
                let observation = observations + i * observationSize
                (finalObservations + i * observationSize).update(from: observation, count: observationSize)
                finishedReturns[i] = episodeReturns[i]
                finishedLengths[i] = episodeLengths[i]
                episodeReturns[i] = 0
                episodeLengths[i] = 0
                if autoreset == .sameStep {
                    // Borrowed: the array keeps the copy alive, and a retain's atomic operation waits for every store
                    // before it (a tenth of the time of stepping 4,096 cart-poles).
                    Unmanaged.passUnretained(environments[i])._withUnsafeGuaranteedRef { $0.reset(seed: nil, observation: observation) }
                } else {
                    ended[i] = true
                }
            }
        }
    }
}

/// What a ``VectorEnvironment`` does with a copy whose episode ends, in Gymnasium 1.x's terms.
public enum AutoresetMode: String, CaseIterable, Sendable {
    /// Reset in the same step: the step returns the next episode's first observation (the ended episode's last one
    /// is in ``VectorEnvironment/finalObservations``). Stable-Baselines3's convention; Dojo's trainers use it.
    case sameStep = "same_step"
    /// Reset in the copy's next step, which ignores its action and returns the first observation with reward 0,
    /// neither terminated nor truncated. Gymnasium's default for vector environments.
    case nextStep = "next_step"
    /// Never reset: the caller resets copies whose episode ended before stepping them again.
    case disabled
}

/// Chooses between stepping on one thread and splitting over the pool from timed windows of steps.
///
/// Each mode's cost per step is the median of its last three windows, and the cheaper mode is preferred. The
/// other mode is tried for one window after `interval` windows, or at once when the preferred mode has become dearer
/// than the other (another process took a core). A trial that leaves the other mode the dearer doubles the interval
/// (up to 1024 windows, about 0.4 s of 64 gridworlds), unless the trial window itself was cheaper than the preferred
/// mode: then its older windows are stale and it is tried again at the next window. The median keeps one window
/// from deciding: a split window in which a worker stalled (common on a virtual machine) does not hand the run to one
/// thread, and one lucky trial does not switch to a mode that has been losing. A trial is cut short as soon as it
/// has taken longer than a whole window of the preferred mode, so a mode that does not pay costs about 1/1024 of the
/// time, plus one stalled step per trial.
struct SplitChooser {
    /// Steps in a timed window.
    static let windowSteps = 32
    /// Steps not timed after a change to one thread.
    static let warmupSteps = 4
    /// Steps not timed after a change to the split: until the workers take part, at most this many.
    static let splitWarmupSteps = 64
    static let longestInterval = 1024
    /// The mode of the next window.
    private(set) var split = true
    /// The mode preferred outside trials.
    private(set) var preferSplit = true
    /// The last three windows' costs per step (nanoseconds) of splitting and of one thread; infinite until measured.
    private var splitWindows = RecentCosts()
    private var singleWindows = RecentCosts()
    private var probing = false
    private var interval = 1
    private var countdown = 1

    /// Costs per step (nanoseconds) of splitting and of one thread: the medians of their last three windows.
    var splitCost: Double { splitWindows.median }
    var singleCost: Double { singleWindows.median }
    private var preferredCost: Double { preferSplit ? splitCost : singleCost }
    private var otherCost: Double { preferSplit ? singleCost : splitCost }

    /// Nanoseconds after which the window in progress is cut short: a trial of the other mode that has already
    /// taken longer than a whole window of the preferred one has lost (infinite when not trying).
    var probeBudget: Double { probing ? preferredCost * Double(Self.windowSteps) : .infinity }

    /// Records the cost per step of the window just run in mode `split`, and chooses the next window's mode.
    mutating func record(nanosecondsPerStep cost: Double) {
        if split { splitWindows.record(cost) } else { singleWindows.record(cost) }
        if probing {
            probing = false
            if otherCost < preferredCost {
                preferSplit.toggle()
                interval = 1
            } else if cost < preferredCost {
                interval = 1
            } else {
                interval = min(2 * interval, Self.longestInterval)
            }
            countdown = interval
        } else {
            countdown -= 1
            if countdown <= 0 || preferredCost > otherCost { probing = true }
        }
        split = probing ? !preferSplit : preferSplit
    }

    /// The last three costs of a mode.
    private struct RecentCosts {
        private var costs = (0.0, 0.0, 0.0)
        /// Costs recorded (at most 3) and the slot of the next.
        private var recorded = 0
        private var next = 0
        /// The median of the last three; of fewer, the dearest (infinite before the first).
        var median: Double {
            let (a, b, c) = costs
            switch recorded {
            case 0: return .infinity
            case 1: return a
            case 2: return max(a, b)
            default: return max(min(a, b), min(max(a, b), c))
            }
        }
        mutating func record(_ cost: Double) {
            switch next {
            case 0: costs.0 = cost
            case 1: costs.1 = cost
            default: costs.2 = cost
            }
            next = (next + 1) % 3
            recorded = min(recorded + 1, 3)
        }
    }
}
