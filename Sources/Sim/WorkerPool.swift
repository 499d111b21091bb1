import Foundation
import Synchronization

/// Persistent worker threads for lockstep parallel loops whose iterations take microseconds (stepping 64 gridworlds
/// takes about 20 µs): handing each step to a dispatch queue would cost more than the work.
///
/// **Work sharing.** `run(work, blocks:)` numbers the work in blocks (at most ``maximumBlocks``). Each thread has home
/// blocks (an equal run of consecutive blocks: the caller's first, worker i's i-th) and claims those first, then any
/// block still unclaimed, one at a time, until none are left. Home blocks keep a block's data in the cache of the core
/// that stepped it last run (a claim-what-comes-next counter hands the same block to a different thread from run to
/// run, and the data follows it across cores); taking the rest means a thread that is late (asleep, or descheduled
/// because another process wants the core) simply gets fewer blocks instead of holding everyone up. Which thread
/// performs a block never changes what the block computes, so results do not depend on the thread count or on timing.
///
/// **Waiting.** A thread that has nothing to do spins for a bounded time (workers ``workerSpin``, the caller
/// ``callerSpin``), then blocks on a condition variable, so an idle pool costs no CPU and a waiting caller gives its
/// core to the thread it waits for. A blocked thread is woken only when someone is actually blocked (a counter of
/// sleepers is checked), so back-to-back runs never pay a system call. Threads beyond the machine's cores are not
/// started (they could only take turns).
///
/// `run` allocates nothing: the work is an object, not a closure whose context would be boxed.
final class WorkerPool {
    /// Threads taking part in a run: the caller's plus `threads − 1` workers.
    let threads: Int
    private let shared: Shared

    /// How long a worker spins for the next run before it blocks (nanoseconds). Lockstep loops call `run` every few
    /// microseconds, so workers stay awake between steps; a pause longer than this (a training update) puts them to sleep.
    static let workerSpin: UInt64 = 200_000
    /// How long the caller spins for blocks still being performed by workers before it blocks (nanoseconds). On a
    /// virtual machine a thread that blocks on an idle core takes 100–400 µs to wake again (the core halts), so the
    /// caller waits out anything shorter: measured on 64 gridworlds (a 12 µs step), a 20 µs spin let a tenth of the
    /// split steps stall and the split lost to one thread; at 200 µs it holds (docs/architecture.md, "The
    /// simulator's performance model").
    static let callerSpin: UInt64 = 200_000
    /// The most blocks a run may have (one bit each in the claim word).
    static let maximumBlocks = 32

    /// State the workers hold strongly, so it outlives the pool until every worker has seen `stopping`.
    private final class Shared: @unchecked Sendable {
        /// Bumped by the caller at each run; workers watch it. Kept on its own cache line, apart from the counters
        /// the threads update while working.
        let generation = Atomic<UInt32>(0)
        private let padding0: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0, 0, 0, 0)
        /// The current run in one word, so a worker reads it consistently: the run's generation (low 24 bits) in bits
        /// 40–63, its block count in bits 32–39, and the claimed blocks in bits 0–31 (bit b for block b). A worker that
        /// wakes late cannot claim a block of a newer run, or a block beyond its run's count, with what it read before.
        let claim = Atomic<UInt64>(0)
        /// Blocks of the current run that are finished.
        let done = Atomic<Int>(0)
        let stopping = Atomic<Bool>(false)
        private let padding1: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0, 0, 0, 0)
        /// Workers block here for a new run; the caller blocks on `finished` for the last block.
        let newRun = WakeSignal()
        let finished = WakeSignal()
        /// Workers that have started, and their threads (slot i − 1 for worker i; for tests that read their CPU time).
        let started = Atomic<Int>(0)
        let workerThreads: UnsafeMutablePointer<pthread_t>
        init(workers: Int) {
            workerThreads = .allocate(capacity: max(1, workers))
        }
        deinit { workerThreads.deallocate() }
        /// The current work; written before `claim` is published (release), read by a worker only after it has
        /// claimed a block of the current run, and not replaced until all of that run's blocks are done.
        nonisolated(unsafe) var work: (any BlockWork)?
    }

    /// Starts `min(threads, cores) − 1` workers.
    init(threads: Int) {
        precondition(threads >= 1, "a worker pool needs at least one thread")
        self.threads = min(threads, max(1, ProcessInfo.processInfo.activeProcessorCount))
        let shared = Shared(workers: self.threads - 1)
        self.shared = shared
        for index in 1..<self.threads {
            let threads = self.threads
            let thread = Thread { Self.workerLoop(shared, index: index, threads: threads) }
            thread.stackSize = 1 << 20
            thread.start()
        }
        // Wait until every worker runs, so that starting a thread (which allocates) is over when `init` returns.
        while shared.started.load(ordering: .acquiring) < self.threads - 1 { usleep(50) }
    }

    /// The worker threads (for tests).
    var workerThreads: UnsafeBufferPointer<pthread_t> { UnsafeBufferPointer(start: shared.workerThreads, count: threads - 1) }

    deinit {
        shared.stopping.store(true, ordering: .sequentiallyConsistent)
        shared.newRun.wakeAll()
    }

    /// Calls `work.performBlock(b)` once for every `b` in `0..<blocks`, on the caller's thread and the workers,
    /// and returns when all are done, with the number of blocks the workers performed (0 when they were all still
    /// asleep or late).
    @discardableResult
    func run(_ work: some BlockWork, blocks: Int) -> Int {
        precondition(blocks <= Self.maximumBlocks, "a run has at most \(Self.maximumBlocks) blocks")
        if threads == 1 || blocks <= 1 {
            for block in 0..<blocks { work.performBlock(block) }
            return 0
        }
        let generation = shared.generation.load(ordering: .relaxed) &+ 1
        shared.work = work
        shared.done.store(0, ordering: .relaxed)
        shared.claim.store(Self.runWord(generation: generation, blocks: blocks), ordering: .releasing)
        shared.generation.store(generation, ordering: .sequentiallyConsistent)
        shared.newRun.wakeAll()
        // Claim blocks like any worker, the caller's home blocks first.
        var performed = 0
        for offset in 0..<blocks where Self.claim(offset, generation: generation, shared) {
            work.performBlock(offset)
            performed += 1
        }
        if performed > 0 { shared.done.add(performed, ordering: .sequentiallyConsistent) }
        // Wait for the blocks workers are still performing: spin briefly, then block.
        let shared = shared
        if shared.done.load(ordering: .acquiring) < blocks,
           !Self.spin(for: Self.callerSpin, until: { shared.done.load(ordering: .acquiring) >= blocks }) {
            shared.finished.wait { shared.done.load(ordering: .sequentiallyConsistent) >= blocks }
        }
        shared.work = nil
        return blocks - performed
    }

    /// The claim word of a new run: its generation and block count, no block claimed.
    @inline(__always)
    private static func runWord(generation: UInt32, blocks: Int) -> UInt64 {
        UInt64(generation & 0xFF_FFFF) << 40 | UInt64(blocks) << 32
    }

    /// Whether claim word `word` belongs to run `generation`.
    @inline(__always)
    private static func belongs(_ word: UInt64, to generation: UInt32) -> Bool { word >> 40 == UInt64(generation & 0xFF_FFFF) }

    /// Claims `block` of run `generation` if it is still unclaimed; false if it is taken or the run is over.
    @inline(__always)
    private static func claim(_ block: Int, generation: UInt32, _ shared: Shared) -> Bool {
        let bit = UInt64(1) << UInt64(block)
        var current = shared.claim.load(ordering: .acquiring)
        while belongs(current, to: generation), current & bit == 0 {
            let (exchanged, original) = shared.claim.compareExchange(expected: current, desired: current | bit,
                                                                     ordering: .acquiringAndReleasing)
            if exchanged { return true }
            current = original
        }
        return false
    }

    /// Spins until `ready()` or until `nanoseconds` have passed; returns whether `ready()` came true.
    @inline(__always)
    private static func spin(for nanoseconds: UInt64, until ready: () -> Bool) -> Bool {
        let start = DispatchTime.now().uptimeNanoseconds
        while true {
            for _ in 0..<64 where ready() { return true }
            if DispatchTime.now().uptimeNanoseconds - start > nanoseconds { return false }
        }
    }

    private static func workerLoop(_ shared: Shared, index: Int, threads: Int) {
        shared.workerThreads[index - 1] = pthread_self()
        shared.started.add(1, ordering: .releasing)
        var seen: UInt32 = 0
        func fresh() -> Bool {
            shared.generation.load(ordering: .sequentiallyConsistent) != seen || shared.stopping.load(ordering: .sequentiallyConsistent)
        }
        while true {
            if !spin(for: workerSpin, until: fresh) { shared.newRun.wait(until: fresh) }
            if shared.stopping.load(ordering: .acquiring) { return }
            seen = shared.generation.load(ordering: .acquiring)
            // Claim blocks of run `seen`, home blocks first, while there are any; the block count comes from the same
            // word as the generation, so it is this run's.
            let word = shared.claim.load(ordering: .acquiring)
            guard belongs(word, to: seen) else { continue }
            let blocks = Int((word >> 32) & 0xFF)
            let home = index * blocks / threads
            for offset in 0..<blocks {
                let block = (home + offset) % blocks
                guard claim(block, generation: seen, shared) else { continue }
                shared.work.unsafelyUnwrapped.performBlock(block)
                if shared.done.add(1, ordering: .sequentiallyConsistent).newValue == blocks { shared.finished.wakeAll() }
            }
        }
    }
}

/// Work numbered in blocks, each performed by one thread.
protocol BlockWork: AnyObject {
    func performBlock(_ block: Int)
}

/// A condition variable with a count of sleepers, so waking costs nothing when nobody sleeps.
///
/// A waiter registers as a sleeper before it checks its condition, and a waker changes the state before it checks
/// for sleepers; both sides use sequentially consistent operations, so either the waiter sees the change or the
/// waker sees the sleeper (and then takes the mutex, which the waiter holds until it is inside `pthread_cond_wait`).
final class WakeSignal: @unchecked Sendable {
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let condition = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    private let sleepers = Atomic<Int>(0)

    init() {
        pthread_mutex_init(mutex, nil)
        pthread_cond_init(condition, nil)
    }

    deinit {
        pthread_cond_destroy(condition)
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
        condition.deallocate()
    }

    /// Blocks until `ready()` is true; `ready` must read the state with sequentially consistent loads.
    func wait(until ready: () -> Bool) {
        pthread_mutex_lock(mutex)
        sleepers.add(1, ordering: .sequentiallyConsistent)
        while !ready() { pthread_cond_wait(condition, mutex) }
        sleepers.subtract(1, ordering: .sequentiallyConsistent)
        pthread_mutex_unlock(mutex)
    }

    /// Wakes every sleeper, if there are any; call after changing the state with a sequentially consistent write.
    func wakeAll() {
        guard sleepers.load(ordering: .sequentiallyConsistent) > 0 else { return }
        pthread_mutex_lock(mutex)
        pthread_cond_broadcast(condition)
        pthread_mutex_unlock(mutex)
    }
}
