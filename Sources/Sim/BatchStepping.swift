/// Stepping many copies of one environment type in one call: a statically dispatched loop over the copies instead of
/// one dynamic call per copy, and SIMD lanes across copies where the dynamics allow (cart-pole). A
/// ``VectorEnvironment`` whose copies support it steps runs of them through a ``BatchStepper``; the results are
/// bitwise the same as stepping each copy alone (tested for every environment that offers one).

/// An environment type whose copies can be stepped together.
public protocol BatchSteppable: Environment {
    /// A stepper for exactly these copies (the same objects, in order), or nil when they cannot be stepped together
    /// (copies built with options that change the dynamics differently).
    static func batchStepper(for copies: [Self]) -> (any BatchStepper)?
}

/// Steps runs of the copies it was made for. Thread-safe across disjoint ranges: a call touches only its copies.
public protocol BatchStepper: AnyObject {
    /// Steps copies `range`, copy i with action row i of `actions`, writing observation row i of `observations` and
    /// `results[i]` — exactly what `copies[i].step(actions + i·width, observation: observations + i·size)` does.
    func step(_ range: Range<Int>, actions: UnsafePointer<Float>, observations: UnsafeMutablePointer<Float>,
              results: UnsafeMutablePointer<StepResult>)
}

/// The batch stepper of `copies` when their type (or, behind ``AnyEnvironment``, every copy's one concrete type)
/// offers one.
public func makeBatchStepper<E: Environment>(for copies: [E]) -> (any BatchStepper)? {
    guard let steppable = E.self as? any BatchSteppable.Type else { return nil }
    func make<T: BatchSteppable>(_: T.Type) -> (any BatchStepper)? {
        let typed = copies.compactMap { $0 as? T }
        return typed.count == copies.count ? T.batchStepper(for: typed) : nil
    }
    return make(steppable)
}

extension AnyEnvironment: BatchSteppable {
    /// The stepper of the wrapped environments, when all are of one batch-steppable type.
    public static func batchStepper(for copies: [AnyEnvironment]) -> (any BatchStepper)? {
        guard let first = copies.first?.base else { return nil }
        func make<T: Environment>(_: T) -> (any BatchStepper)? {
            let typed = copies.compactMap { $0.base as? T }
            return typed.count == copies.count ? makeBatchStepper(for: typed) : nil
        }
        return make(first)
    }
}
