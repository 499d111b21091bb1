/// The shape and bounds of observations or actions, in Gymnasium's terms.
///
/// Observations are written into caller-owned flat `Float` buffers of ``flatCount`` values. Actions are passed as
/// ``actionWidth`` floats: a discrete action is one float holding the index, a box action its components, a
/// multi-discrete action one index per component.
public enum Space: Equatable, Sendable, CustomStringConvertible {
    /// One of `n` actions, 0..<n.
    case discrete(Int)
    /// Real vectors of `shape` (row-major), each component within [low, high] (±infinity allowed).
    case box(low: [Float], high: [Float], shape: [Int])
    /// One index per component, component i in 0..<counts[i].
    case multiDiscrete([Int])
    /// A set of `rows` entities with `features` features each, row-major; feature 0 is presence (1 present, 0 an
    /// empty row whose other features are 0). Attention encoders mask the absent rows.
    case entitySet(rows: Int, features: Int)
    /// Named parts (Gymnasium's `Dict`), `keys` sorted as Gymnasium sorts them and `spaces[i]` the part named
    /// `keys[i]`; an element is the parts' flat values concatenated in key order (what SB3's `CombinedExtractor` and
    /// Gymnasium's `flatten` see). Goal-conditioned environments use `achieved_goal`, `desired_goal`, `observation`.
    /// Build it with ``dictionary(_:)``, which sorts the keys and keeps `keys` and `spaces` the same length.
    case dict(keys: [String], spaces: [Space])

    /// A box with the same bounds for every component.
    public static func box(low: Float, high: Float, shape: [Int]) -> Space {
        let count = shape.reduce(1, *)
        return .box(low: [Float](repeating: low, count: count), high: [Float](repeating: high, count: count), shape: shape)
    }

    /// A dictionary space from named parts, keys sorted by their UTF-8 bytes (Unicode code-point order, as Python's `sorted` orders them).
    public static func dictionary(_ parts: [String: Space]) -> Space {
        let keys = parts.keys.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
        return .dict(keys: keys, spaces: keys.map { parts[$0]! })
    }

    /// Where part `key` of a dictionary space starts in the flat element and how many floats it takes (nil for
    /// other spaces and unknown keys).
    public func part(_ key: String) -> (offset: Int, count: Int)? {
        guard case .dict(let keys, let spaces) = self, let index = keys.firstIndex(of: key) else { return nil }
        return (spaces[..<index].reduce(0) { $0 + $1.flatCount }, spaces[index].flatCount)
    }

    /// The space an agent that does not read parts sees: a dictionary whose parts are all boxes becomes one flat box
    /// of the concatenated bounds; every other space is itself.
    public var flattened: Space {
        guard case .dict(_, let spaces) = self else { return self }
        var low: [Float] = [], high: [Float] = []
        for space in spaces {
            guard case .box(let l, let h, _) = space.flattened else { return self }
            low += l
            high += h
        }
        return .box(low: low, high: high, shape: [low.count])
    }

    /// Number of floats an element of this space occupies.
    public var flatCount: Int {
        switch self {
        case .dict(_, let spaces): return spaces.reduce(0) { $0 + $1.flatCount }
        case .discrete: return 1
        case .box(_, _, let shape): return shape.reduce(1, *)
        case .multiDiscrete(let counts): return counts.count
        case .entitySet(let rows, let features): return rows * features
        }
    }

    /// Number of floats an action of this space occupies (same as ``flatCount``).
    public var actionWidth: Int { flatCount }

    /// The shape of an element, outermost first.
    public var shape: [Int] {
        switch self {
        case .discrete: return []
        case .box(_, _, let shape): return shape
        case .multiDiscrete(let counts): return [counts.count]
        case .entitySet(let rows, let features): return [rows, features]
        case .dict: return [flatCount]
        }
    }

    /// Whether the `flatCount` floats at `values` are an element of this space (finite unless the bound is infinite).
    public func contains(_ values: UnsafePointer<Float>) -> Bool {
        switch self {
        case .discrete(let n):
            return values[0] == values[0].rounded() && values[0] >= 0 && values[0] < Float(n)
        case .box(let low, let high, _):
            for i in 0..<low.count where !(values[i] >= low[i] && values[i] <= high[i]) || values[i].isNaN { return false }
            return true
        case .multiDiscrete(let counts):
            for (i, n) in counts.enumerated() where !(values[i] == values[i].rounded() && values[i] >= 0 && values[i] < Float(n)) {
                return false
            }
            return true
        case .entitySet(let rows, let features):
            for r in 0..<rows {
                let presence = values[r * features]
                guard presence == 0 || presence == 1 else { return false }
                for f in 0..<features where !values[r * features + f].isFinite { return false }
                if presence == 0 {
                    for f in 1..<features where values[r * features + f] != 0 { return false }
                }
            }
            return true
        case .dict(_, let spaces):
            var offset = 0
            for space in spaces {
                guard space.contains(values + offset) else { return false }
                offset += space.flatCount
            }
            return true
        }
    }

    /// Why `action` is not a valid action of this space, or nil when it is: exactly ``actionWidth`` values; for
    /// discrete and multi-discrete spaces whole numbers in range; for boxes finite numbers within the bounds (even
    /// where a bound is infinite). Check untrusted actions (replays, files, foreign callers) with this before `step`,
    /// whose preconditions would otherwise stop the process.
    public func validate(action: UnsafeBufferPointer<Float>) -> String? {
        guard action.count == actionWidth else {
            return "expected \(actionWidth) value\(actionWidth == 1 ? "" : "s") for \(self), got \(action.count)"
        }
        func index(_ value: Float, below n: Int, component: String) -> String? {
            guard value.isFinite, value == value.rounded(), value >= 0, value < Float(n) else {
                return "\(component)\(value) is not a whole number in 0...\(n - 1) (\(self))"
            }
            return nil
        }
        switch self {
        case .discrete(let n): return index(action[0], below: n, component: "")
        case .multiDiscrete(let counts):
            for (i, n) in counts.enumerated() {
                if let problem = index(action[i], below: n, component: "component \(i): ") { return problem }
            }
        case .box(let low, let high, _):
            for i in 0..<low.count where !(action[i].isFinite && action[i] >= low[i] && action[i] <= high[i]) {
                return "component \(i): \(action[i]) is not a finite number in \(low[i])...\(high[i]) (\(self))"
            }
        case .entitySet:
            if let base = action.baseAddress, !contains(base) { return "not an element of \(self)" }
        case .dict(let keys, let spaces):
            var offset = 0
            for (key, space) in zip(keys, spaces) {
                let count = space.flatCount
                if let problem = space.validate(action: UnsafeBufferPointer(rebasing: action[offset..<(offset + count)])) {
                    return "\(key): \(problem)"
                }
                offset += count
            }
        }
        return nil
    }

    /// ``validate(action:)`` for an array.
    public func validate(action: [Float]) -> String? {
        action.withUnsafeBufferPointer { validate(action: $0) }
    }

    /// A random element written to `values` (uniform for discrete spaces; uniform in finite box bounds, standard
    /// normal where a bound is infinite).
    public func sample(into values: UnsafeMutablePointer<Float>, using rng: inout SeededGenerator) {
        switch self {
        case .discrete(let n): values[0] = Float(rng.nextInt(below: n))
        case .box(let low, let high, _):
            for i in 0..<low.count {
                values[i] = low[i].isFinite && high[i].isFinite ? rng.nextFloat(in: low[i], high[i])
                                                                : Float(rng.nextGaussian())
            }
        case .multiDiscrete(let counts): for (i, n) in counts.enumerated() { values[i] = Float(rng.nextInt(below: n)) }
        case .entitySet(let rows, let features):
            for r in 0..<rows {
                let present = rng.nextInt(below: 2) == 1
                values[r * features] = present ? 1 : 0
                for f in 1..<features { values[r * features + f] = present ? Float(rng.nextGaussian()) : 0 }
            }
        case .dict(_, let spaces):
            var offset = 0
            for space in spaces {
                space.sample(into: values + offset, using: &rng)
                offset += space.flatCount
            }
        }
    }

    public var description: String {
        switch self {
        case .discrete(let n): return "Discrete(\(n))"
        case .box(let low, let high, let shape):
            let l = Set(low).count == 1 ? "\(low[0])" : "[…]", h = Set(high).count == 1 ? "\(high[0])" : "[…]"
            return "Box(\(l), \(h), shape: \(shape))"
        case .multiDiscrete(let counts): return "MultiDiscrete(\(counts))"
        case .entitySet(let rows, let features): return "EntitySet(\(rows) × \(features), presence in feature 0)"
        case .dict(let keys, let spaces):
            return "Dict(" + zip(keys, spaces).map { "\($0): \($1)" }.joined(separator: ", ") + ")"
        }
    }
}

/// What an environment's observation values are, as it declares them (not inferred from the space's bounds): replay
/// buffers keep binary observations (one-hot grids, every value 0 or 1) as bits, cell codes as bytes and everything
/// else as float32.
public enum ObservationKind: Sendable, Equatable {
    /// Real-valued features.
    case continuous
    /// Every value is 0 or 1.
    case binary
    /// One code per cell of a one-hot grid, then plain values (see ``CellCodes``); agents expand it to planes.
    case cellCodes(CellCodes)

    /// The codes' layout, for ``cellCodes(_:)``.
    public var cellCodes: CellCodes? {
        if case .cellCodes(let layout) = self { return layout }
        return nil
    }
}
