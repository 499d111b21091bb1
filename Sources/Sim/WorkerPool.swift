import Foundation
import Synchronization

/// Persistent worker threads for lockstep parallel loops whose iterations take microseconds (stepping 64 cart-poles
/// takes about 3 µs): handing each step to a dispatch queue would cost more than the work. Workers spin briefly on
/// an atomic generation counter, then back off to short sleeps, so an idle pool costs little; they exit when the
/// pool is released.
///
/// `run(work)` calls `work.performChunk(0)` on the caller's thread and chunks 1 … threads − 1 on the workers, and
/// returns when all are done. It allocates nothing (the work is an object, not a closure whose context would be boxed).
final class WorkerPool {
    let threads: Int
    private let shared: Shared

    /// State the workers hold strongly, so it outlives the pool until every worker has seen `stopping`.
    private final class Shared: @unchecked Sendable {
        let generation = Atomic<Int>(0)
        let pending = Atomic<Int>(0)
        let stopping = Atomic<Bool>(false)
        /// The current work; written before `generation` is bumped (release), read after it is seen (acquire).
        nonisolated(unsafe) var work: (any ChunkedWork)?
    }

    init(threads: Int) {
        precondition(threads >= 1, "a worker pool needs at least one thread")
        self.threads = threads
        let shared = Shared()
        self.shared = shared
        for index in 1..<threads {
            let thread = Thread { Self.work(shared, index: index) }
            thread.stackSize = 1 << 20
            thread.start()
        }
    }

    deinit { shared.stopping.store(true, ordering: .releasing) }

    func run(_ work: some ChunkedWork) {
        if threads == 1 { work.performChunk(0); return }
        shared.work = work
        shared.pending.store(threads - 1, ordering: .relaxed)
        shared.generation.add(1, ordering: .releasing)
        work.performChunk(0)
        while shared.pending.load(ordering: .acquiring) > 0 {}
        shared.work = nil
    }

    private static func work(_ shared: Shared, index: Int) {
        var seen = 0
        while true {
            var spins = 0
            var current = shared.generation.load(ordering: .acquiring)
            while current == seen {
                if shared.stopping.load(ordering: .acquiring) { return }
                spins += 1
                if spins > 1 << 18 { usleep(100) }  // idle for a while (~1 ms of spinning): sleep between looks
                current = shared.generation.load(ordering: .acquiring)
            }
            seen = current
            shared.work!.performChunk(index)
            shared.pending.subtract(1, ordering: .releasing)
        }
    }
}

/// Work split into `threads` chunks by index.
protocol ChunkedWork: AnyObject {
    func performChunk(_ chunk: Int)
}
