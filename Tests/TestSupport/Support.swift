import CAllocationCounter
import CBLAS
import Neural
import SeededRandom

/// Heap allocations made by the calling thread while `body` runs (counted by an allocator shim linked into the test
/// executable).
public func allocationCount(_ body: () -> Void) -> Int {
    dojo_allocation_counting_begin()
    body()
    return dojo_allocation_counting_end()
}

/// Pins OpenBLAS to one thread, as the determinism contract requires of tests. Idempotent.
public func pinBLASToOneThread() { openblas_set_num_threads(1) }

/// `count` standard-normal floats from `rng`, scaled.
public func randomArray(_ count: Int, scale: Float = 1, _ rng: inout SeededGenerator) -> [Float] {
    (0..<count).map { _ in Float(rng.nextGaussian()) * scale }
}
