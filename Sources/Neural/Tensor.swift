/// A dense Float32 tensor: row-major, batch first. Used at API boundaries (checkpoints, fixtures, user I/O);
/// layers themselves work on raw pointers into preallocated buffers.
public struct Tensor: Equatable, Sendable {
    /// Dimensions, outermost first; `[]` is a scalar.
    public var shape: [Int]
    /// `shape.reduce(1, *)` values in row-major order.
    public var scalars: [Float]

    public init(shape: [Int], scalars: [Float]) {
        precondition(shape.allSatisfy { $0 >= 0 }, "Tensor shape \(shape) has a negative dimension")
        precondition(shape.reduce(1, *) == scalars.count,
                     "Tensor of shape \(shape) needs \(shape.reduce(1, *)) scalars, got \(scalars.count)")
        self.shape = shape
        self.scalars = scalars
    }

    /// A tensor of zeros.
    public init(zeros shape: [Int]) {
        self.init(shape: shape, scalars: [Float](repeating: 0, count: shape.reduce(1, *)))
    }

    /// A copy of `count` values starting at `pointer`.
    public init(shape: [Int], copying pointer: UnsafePointer<Float>) {
        let count = shape.reduce(1, *)
        self.init(shape: shape, scalars: Array(UnsafeBufferPointer(start: pointer, count: count)))
    }

    public var count: Int { scalars.count }

    /// Copies the values into `destination`, which must hold `count` floats.
    public func copy(to destination: UnsafeMutablePointer<Float>) {
        scalars.withUnsafeBufferPointer { destination.update(from: $0.baseAddress!, count: $0.count) }
    }
}

/// A growable, zero-initialized Float buffer owned by a layer. It reallocates only when asked for more than it
/// holds, so after the first call at the largest batch size a training step allocates nothing.
public final class Buffer {
    public private(set) var pointer: UnsafeMutablePointer<Float>
    public private(set) var capacity: Int

    public init(count: Int = 0) {
        capacity = max(count, 1)
        pointer = .allocate(capacity: capacity)
        pointer.initialize(repeating: 0, count: capacity)
    }

    deinit { pointer.deallocate() }

    /// Ensures room for `count` floats and returns the (possibly new) storage. Contents are not preserved
    /// across growth.
    @inline(__always)
    @discardableResult
    public func reserve(_ count: Int) -> UnsafeMutablePointer<Float> {
        if count > capacity { grow(to: count) }
        return pointer
    }

    private func grow(to count: Int) {
        pointer.deallocate()
        capacity = count
        pointer = .allocate(capacity: count)
        pointer.initialize(repeating: 0, count: count)
    }

    /// Sets the first `count` values to zero (reserving first).
    @inline(__always)
    public func zeroed(_ count: Int) -> UnsafeMutablePointer<Float> {
        let p = reserve(count)
        p.update(repeating: 0, count: count)
        return p
    }
}
