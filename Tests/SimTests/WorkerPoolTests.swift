import Environments
import Foundation
@testable import Sim
import Synchronization
import Testing
import TestSupport

/// Counts how often each block is performed, and can make the blocks performed off the caller's thread slow.
private final class CountingWork: BlockWork, @unchecked Sendable {
    let counts: UnsafeMutablePointer<Int>
    let capacity: Int
    var caller = pthread_self()
    /// Microseconds a block performed on a worker thread sleeps.
    var workerDelay: UInt32 = 0
    /// Microseconds a block performed on the caller's thread sleeps (to give a worker time to claim one).
    var callerDelay: UInt32 = 0
    let performedByWorker = Atomic<Bool>(false)
    /// The blocks performed off the caller's thread in the current run, in order (the test resets `workerBlockCount`).
    /// Plain memory, not stored properties: a worker thread must not take part in the runtime's exclusivity checks.
    let workerBlocks: UnsafeMutablePointer<Int>
    let workerBlockCount = UnsafeMutablePointer<Int>.allocate(capacity: 1)

    init(capacity: Int) {
        self.capacity = capacity
        counts = .allocate(capacity: capacity)
        counts.initialize(repeating: 0, count: capacity)
        workerBlocks = .allocate(capacity: capacity)
        workerBlockCount.initialize(to: 0)
    }
    deinit { counts.deallocate(); workerBlocks.deallocate(); workerBlockCount.deallocate() }

    func performBlock(_ block: Int) {
        counts[block] += 1  // each block is performed by one thread at a time, so this is not a race
        if pthread_equal(pthread_self(), caller) == 0 {
            performedByWorker.store(true, ordering: .relaxed)
            workerBlocks[workerBlockCount.pointee % capacity] = block  // one worker in a two-thread pool: not a race
            workerBlockCount.pointee += 1
            if workerDelay > 0 { usleep(workerDelay) }
        } else if callerDelay > 0 {
            usleep(callerDelay)
        }
    }
}

/// CPU time of the calling thread, in nanoseconds.
private func threadCPUNanoseconds() -> Int {
    var time = timespec()
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &time)
    return time.tv_sec * 1_000_000_000 + time.tv_nsec
}

/// Spends about `nanoseconds` of CPU time (a stand-in for an expensive environment step).
private func burn(_ nanoseconds: Int) {
    let start = threadCPUNanoseconds()
    while threadCPUNanoseconds() - start < nanoseconds {}
}

/// An environment whose step costs about `cost` nanoseconds of CPU.
private final class TimedEnvironment: Environment {
    let id = "timed"
    let options: ResolvedOptions
    let cost: Int
    var counter: Float = 0
    init(cost: Int) throws {
        self.cost = cost
        options = try ResolvedOptions([:], specs: [], environment: "timed")
    }
    var observationSpace: Space { .box(low: 0, high: 1e9, shape: [1]) }
    var actionSpace: Space { .discrete(2) }
    var renderSize: (width: Int, height: Int) { (4, 4) }
    var stateChecksum: UInt64 { UInt64(counter) }
    func reset(seed: UInt64?, observation: UnsafeMutablePointer<Float>) { counter = 0; observation[0] = 0 }
    func step(_ action: UnsafePointer<Float>, observation: UnsafeMutablePointer<Float>) -> StepResult {
        if cost > 0 { burn(cost) }
        counter += 1 + action[0]
        observation[0] = counter
        return StepResult(reward: 1, terminated: false)
    }
    func render(into canvas: inout Canvas) {}
    func saveState() -> [UInt64] { [UInt64(counter)] }
    func restoreState(_ words: [UInt64]) throws {}
}

@Suite(.serialized) struct WorkerPoolTests {
    @Test("Every block is performed exactly once per run, whatever the number of blocks")
    func everyBlockOnce() {
        let pool = WorkerPool(threads: 2)
        let blocksAtMost = WorkerPool.maximumBlocks
        let work = CountingWork(capacity: blocksAtMost)
        var expected = [Int](repeating: 0, count: blocksAtMost)
        for run in 0..<20_000 {
            let blocks = run % blocksAtMost + 1
            pool.run(work, blocks: blocks)
            for block in 0..<blocks { expected[block] += 1 }
        }
        #expect(Array(UnsafeBufferPointer(start: work.counts, count: blocksAtMost)) == expected)
    }

    @Test("A worker claims its home blocks first, so a block's data stays on one core from run to run")
    func workersStartAtHome() throws {
        let pool = WorkerPool(threads: 2)
        try #require(pool.threads == 2, "needs two cores")
        let work = CountingWork(capacity: 4)
        work.workerDelay = 100
        work.callerDelay = 100
        var runsWithHomeBlock = 0
        for _ in 0..<300 {
            work.workerBlockCount.pointee = 0
            pool.run(work, blocks: 4)
            // The worker's home blocks are 2 and 3; after them it looks at 0 and 1. Whatever it finds taken, the
            // blocks it performs follow that order.
            let order = (0..<work.workerBlockCount.pointee).map { (work.workerBlocks[$0] + 2) % 4 }
            #expect(order == order.sorted(), "the worker performed blocks \(order.map { ($0 + 2) % 4 })")
            if order.first == 0 { runsWithHomeBlock += 1 }
        }
        #expect(runsWithHomeBlock > 0, "the worker never took a block")
    }

    @Test("The caller blocks (spends little CPU) while a worker takes long over its block")
    func callerBlocksWhileWaiting() throws {
        let pool = WorkerPool(threads: 2)
        try #require(pool.threads == 2, "needs two cores")
        let work = CountingWork(capacity: 2)
        work.workerDelay = 50_000
        work.callerDelay = 2_000
        // The caller may take both blocks when the worker is slow to wake; try until the worker took one.
        for _ in 0..<50 {
            work.caller = pthread_self()
            work.performedByWorker.store(false, ordering: .relaxed)
            let cpu = threadCPUNanoseconds(), wall = DispatchTime.now().uptimeNanoseconds
            pool.run(work, blocks: 2)
            let cpuSpent = threadCPUNanoseconds() - cpu, wallSpent = Int(DispatchTime.now().uptimeNanoseconds - wall)
            guard work.performedByWorker.load(ordering: .relaxed) else { continue }
            #expect(wallSpent >= 45_000_000)
            #expect(cpuSpent < 10_000_000, "the caller spun for \(cpuSpent / 1000) µs of CPU waiting 50 ms")
            return
        }
        Issue.record("the worker never took a block in 50 runs")
    }

    @Test("Idle workers block instead of spinning or polling")
    func idleWorkersBlock() throws {
        let pool = WorkerPool(threads: 2)
        try #require(pool.threads == 2, "needs two cores")
        let work = CountingWork(capacity: 2)
        for _ in 0..<100 { pool.run(work, blocks: 2) }
        usleep(50_000)  // longer than the workers' spin
        var clock = clockid_t()
        try #require(pthread_getcpuclockid(pool.workerThreads[0], &clock) == 0)
        func workerCPU() -> Int {
            var time = timespec()
            clock_gettime(clock, &time)
            return time.tv_sec * 1_000_000_000 + time.tv_nsec
        }
        let before = workerCPU()
        usleep(200_000)
        let spent = workerCPU() - before
        #expect(spent < 1_000_000, "an idle worker used \(spent / 1000) µs of CPU in 200 ms")
    }

    @Test("A vector never starts more threads than the machine has cores")
    func threadsCappedAtCores() throws {
        let vector = try VectorEnvironment(count: 16, threads: 64) { _ in try CartPole(options: [:]) }
        #expect(vector.threads == min(64, ProcessInfo.processInfo.activeProcessorCount))
    }

    @Test("Cheap steps stay on one thread; expensive ones are split into blocks of at least the minimum work")
    func splitOnlyWhenItPays() throws {
        let cheap = try VectorEnvironment(count: 16, threads: 2) { _ in try TimedEnvironment(cost: 0) }
        try #require(cheap.threads == 2, "needs two cores")
        cheap.reset(seed: 1)
        let actions = [Float](repeating: 1, count: 64)
        for _ in 0..<100 { cheap.step(actions) }
        #expect(cheap.blocks == 1 && !cheap.isSplit, "16 trivial steps (well under 1 µs) split into \(cheap.blocks) blocks")

        let slow = try VectorEnvironment(count: 64, threads: 2) { _ in try TimedEnvironment(cost: 20_000) }
        slow.reset(seed: 1)
        for _ in 0..<VectorEnvironment<TimedEnvironment>.calibrationSteps { slow.step(actions) }
        // 64 × 20 µs = 1.3 ms a step: four blocks a thread.
        #expect(slow.blocks == 8)

        // The layout by the step's cost: 8-copy blocks of at least 4 µs, at most four a thread, whole rounds; copies of
        // 2 µs or more may start a block anywhere (16 highway copies: 8 blocks of 2, not 2 of 8).
        typealias Vector = VectorEnvironment<TimedEnvironment>
        for (count, step, blocks, copies) in [(16, 320_000.0, 8, 2), (16, 16_000, 2, 8), (16, 7_000, 1, 16),
                                              (64, 1_300_000, 8, 8), (64, 11_000, 2, 32), (64, 17_000, 4, 16),
                                              (100, 2_000_000, 8, 13), (100, 50_000, 7, 16)] {
            let layout = Vector.blockLayout(count: count, threads: 2, stepNanoseconds: step, minimumBlockNanoseconds: 4_000)
            #expect(layout.blocks == blocks && layout.copiesPerBlock == copies, "\(count) copies in \(step) ns: \(layout)")
            #expect((layout.blocks - 1) * layout.copiesPerBlock < count && layout.blocks * layout.copiesPerBlock >= count)
        }
    }

    @Test("Split stepping is bitwise identical to one thread, with the split forced", arguments: [16, 64, 100])
    func forcedSplitDeterminism(count: Int) throws {
        for (id, options) in [("cartpole", [String: String]()), ("gridworld", ["map": "four-rooms", "observation": "partial"]),
                              ("highway", ["scenario": "highway-fast"])] {
            func rollout(threads: Int) throws -> (observations: [UInt32], rewards: [Float], checksums: [UInt64]) {
                let vector = try VectorEnvironment(count: count, threads: threads) { _ in
                    AnyEnvironment(try EnvironmentRegistry.make(id, options: options))
                }
                vector.minimumBlockNanoseconds = 0
                vector.adaptive = false
                vector.reset(seed: 7)
                var rng = SeededGenerator(seed: 3)
                var actions = [Float](repeating: 0, count: count * vector.actionWidth)
                var observations: [UInt32] = [], rewards: [Float] = []
                for _ in 0..<120 {
                    actions.withUnsafeMutableBufferPointer { buffer in
                        for i in 0..<count {
                            vector.environments[i].actionSpace.sample(into: buffer.baseAddress! + i * vector.actionWidth, using: &rng)
                        }
                    }
                    vector.step(actions)
                    observations += UnsafeBufferPointer(start: vector.observations, count: count * vector.observationSize).map(\.bitPattern)
                    rewards += Array(UnsafeBufferPointer(start: vector.rewards, count: count))
                }
                if threads > 1 { #expect(vector.isSplit && vector.blocks > 1) }
                return (observations, rewards, vector.environments.map(\.stateChecksum))
            }
            let one = try rollout(threads: 1), two = try rollout(threads: 2)
            #expect(one.observations == two.observations && one.rewards == two.rewards && one.checksums == two.checksums, "\(id)")
        }
    }

    @Test("Split stepping allocates nothing per step")
    func forcedSplitAllocatesNothing() throws {
        let vector = try VectorEnvironment(count: 64, threads: 2) { _ in
            AnyEnvironment(try EnvironmentRegistry.make("gridworld", options: ["map": "four-rooms", "observation": "partial"]))
        }
        vector.minimumBlockNanoseconds = 0
        vector.adaptive = false
        vector.reset(seed: 1)
        var actions = [Float](repeating: 1, count: 64 * vector.actionWidth)
        for _ in 0..<20 { vector.step(actions) }
        #expect(vector.isSplit)
        let allocations = actions.withUnsafeMutableBufferPointer { buffer in
            allocationCount { for _ in 0..<500 { vector.step(buffer.baseAddress!) } }
        }
        #expect(allocations == 0)
        actions[0] = 0
    }
}

@Suite struct SplitChooserTests {
    /// Runs `windows` windows where splitting costs `split` and one thread `single` (ns a step); returns the share
    /// of windows that were split.
    func splitShare(_ chooser: inout SplitChooser, windows: Int, split: Double, single: Double) -> Double {
        var splitWindows = 0
        for _ in 0..<windows {
            if chooser.split { splitWindows += 1 }
            chooser.record(nanosecondsPerStep: chooser.split ? split : single)
        }
        return Double(splitWindows) / Double(windows)
    }

    @Test("Keeps the faster mode, tries the other rarely, and follows when the costs change")
    func keepsTheFasterMode() {
        var chooser = SplitChooser()
        #expect(splitShare(&chooser, windows: 4000, split: 6_000, single: 10_000) > 0.99)
        // Another process takes a core: splitting now costs twice as much.
        let share = splitShare(&chooser, windows: 4000, split: 20_000, single: 10_000)
        #expect(share < 0.01, "split \(share * 100)% of the time though it costs twice as much")
        #expect(!chooser.preferSplit)
        // The core comes back: within two trials (at most `longestInterval` windows apart) the split is preferred again.
        _ = splitShare(&chooser, windows: 2 * SplitChooser.longestInterval + 10, split: 6_000, single: 10_000)
        #expect(chooser.preferSplit)
    }

    @Test("One lucky trial does not switch to a mode that has been losing")
    func luckyTrial() {
        var chooser = SplitChooser()
        _ = splitShare(&chooser, windows: 100, split: 50_000, single: 10_000)
        #expect(!chooser.preferSplit && chooser.splitCost > 40_000)
        while !chooser.split { chooser.record(nanosecondsPerStep: 10_000) }
        chooser.record(nanosecondsPerStep: 5_000)  // a split trial that happened to get both cores
        #expect(!chooser.preferSplit && !chooser.split)
    }

    @Test("A stalled window does not hand the run to one thread, and a stale cost is retried at once")
    func stallsAndStaleCosts() {
        var chooser = SplitChooser()
        _ = splitShare(&chooser, windows: 100, split: 6_000, single: 10_000)
        #expect(chooser.preferSplit)
        // A worker stalls for one window (woken late on a virtual machine): the split stays preferred.
        chooser.record(nanosecondsPerStep: 300_000)
        #expect(chooser.preferSplit && chooser.split)
        #expect(splitShare(&chooser, windows: 100, split: 6_000, single: 10_000) > 0.95)
        // The split lost for a long time (another process), so its cost is stale once the core is free again:
        // a trial cheaper than one thread is repeated at the next window instead of waiting twice as long.
        _ = splitShare(&chooser, windows: 4 * SplitChooser.longestInterval, split: 50_000, single: 10_000)
        #expect(!chooser.preferSplit)
        var windows = 0
        while !chooser.preferSplit && windows < 4 * SplitChooser.longestInterval {
            chooser.record(nanosecondsPerStep: chooser.split ? 6_000 : 10_000)
            windows += 1
        }
        #expect(chooser.preferSplit && windows <= SplitChooser.longestInterval + 4,
                "split preferred again after \(windows) windows")
    }

    @Test("A trial cut short by its budget counts as lost")
    func budget() {
        var chooser = SplitChooser()
        #expect(chooser.probeBudget == .infinity)
        chooser.record(nanosecondsPerStep: 10_000)  // the split's first window; next: a trial of one thread
        #expect(!chooser.split && chooser.probeBudget == 10_000 * Double(SplitChooser.windowSteps))
    }
}
