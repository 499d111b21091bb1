/// A trainable tensor with its gradient. A parameter starts with storage of its own; gathering a model's
/// parameters into a ``ParameterArena`` moves every value and gradient into two flat blocks so an optimizer
/// updates the whole model in one loop. Layers read `value` and `grad` at each call, so moving is transparent.
public final class Parameter {
    /// Shape in PyTorch's layout (e.g. a Linear weight is (out, in)).
    public let shape: [Int]
    public let count: Int
    /// `count` values.
    public private(set) var value: UnsafeMutablePointer<Float>
    /// `count` gradient values; backward passes accumulate into it.
    public private(set) var grad: UnsafeMutablePointer<Float>
    private var storage: Storage

    public init(shape: [Int]) {
        self.shape = shape
        count = shape.reduce(1, *)
        storage = Storage(count: count)
        value = storage.values
        grad = storage.grads
    }

    /// Points this parameter into `arena` storage at `offset`, copying its current value; the old storage is freed.
    fileprivate func move(into arena: Storage, offset: Int) {
        (arena.values + offset).update(from: value, count: count)
        (arena.grads + offset).update(from: grad, count: count)
        storage = arena
        value = arena.values + offset
        grad = arena.grads + offset
    }

    /// The current value as a tensor (a copy).
    public var tensor: Tensor { Tensor(shape: shape, copying: value) }

    /// Replaces the value; the shape must match.
    public func load(_ tensor: Tensor) {
        precondition(tensor.shape == shape, "parameter of shape \(shape) cannot take a tensor of shape \(tensor.shape)")
        tensor.copy(to: value)
    }

    public func zeroGrad() { grad.update(repeating: 0, count: count) }

    /// Owned memory for values and gradients (one parameter's, or a whole arena's).
    fileprivate final class Storage {
        let values: UnsafeMutablePointer<Float>
        let grads: UnsafeMutablePointer<Float>
        init(count: Int) {
            values = .allocate(capacity: max(count, 1))
            values.initialize(repeating: 0, count: max(count, 1))
            grads = .allocate(capacity: max(count, 1))
            grads.initialize(repeating: 0, count: max(count, 1))
        }
        deinit { values.deallocate(); grads.deallocate() }
    }
}

/// A parameter with its PyTorch `state_dict` name (e.g. `q_net.0.weight`).
public struct NamedParameter {
    public let name: String
    public let parameter: Parameter
    public init(_ name: String, _ parameter: Parameter) { self.name = name; self.parameter = parameter }
}

/// All of a model's parameters in two contiguous blocks (`values`, `grads`), in registration order.
/// Optimizers and gradient clipping work on the flat blocks: one loop over `count` floats.
public final class ParameterArena {
    public let parameters: [NamedParameter]
    /// Total number of scalars.
    public let count: Int
    /// `count` rounded up to a multiple of 8. The blocks hold this many floats; the padding stays zero (its
    /// gradient is zero), so optimizers can update eight lanes at a time with no scalar tail.
    public let paddedCount: Int
    /// Offsets of each parameter in the flat blocks, same order as `parameters`.
    public let offsets: [Int]
    private let storage: Parameter.Storage

    /// Gathers `parameters` into one arena. Names must be unique.
    public init(_ parameters: [NamedParameter]) {
        var seen = Set<String>()
        for entry in parameters {
            precondition(seen.insert(entry.name).inserted, "duplicate parameter name '\(entry.name)'")
        }
        self.parameters = parameters
        var offsets: [Int] = []
        var total = 0
        for entry in parameters {
            offsets.append(total)
            total += entry.parameter.count
        }
        self.offsets = offsets
        count = total
        paddedCount = (total + 7) / 8 * 8
        storage = Parameter.Storage(count: paddedCount)
        for (entry, offset) in zip(parameters, offsets) { entry.parameter.move(into: storage, offset: offset) }
    }

    /// Gathers the parameters of `module` under its PyTorch names.
    public convenience init(module: some Module, prefix: String = "") {
        self.init(module.namedParameters(prefix: prefix))
    }

    public var values: UnsafeMutablePointer<Float> { storage.values }
    public var grads: UnsafeMutablePointer<Float> { storage.grads }

    public func zeroGrad() { storage.grads.update(repeating: 0, count: count) }

    /// Moves every value toward `other`'s: θ ← τ·θ_other + (1 − τ)·θ (Polyak averaging; τ = 1 copies).
    public func moveToward(_ other: ParameterArena, tau: Float) {
        if tau >= 1 { copyValues(from: other); return }
        precondition(other.count == count && other.offsets == offsets,
                     "parameter arenas differ in layout (\(other.count) vs \(count) scalars)")
        let source = other.values, destination = values
        for i in 0..<count { destination[i] = tau * source[i] + (1 - tau) * destination[i] }
    }

    /// Copies every value from `other`, which must have the same layout (a target network, say).
    public func copyValues(from other: ParameterArena) {
        precondition(other.count == count && other.offsets == offsets,
                     "parameter arenas differ in layout (\(other.count) vs \(count) scalars)")
        values.update(from: other.values, count: count)
    }
}
