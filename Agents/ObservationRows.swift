import Neural
import Sim

/// Rows of observations in memory allocated once, the storage both replay buffers share: one byte per value for
/// observations an environment declares binary (one-hot grids: exact, four times smaller), float32 otherwise. The
/// storage follows the declared ``ObservationKind``, never the space's bounds, so features that merely lie in [0, 1]
/// are kept as they are.
public final class ObservationRows {
    public let rows: Int
    public let width: Int
    public let kind: ObservationKind
    private let bytes: UnsafeMutablePointer<UInt8>?
    private let floats: UnsafeMutablePointer<Float>?

    public init(rows: Int, width: Int, kind: ObservationKind) {
        self.rows = rows
        self.width = width
        self.kind = kind
        let count = rows * width
        if kind == .binary {
            let storage = UnsafeMutablePointer<UInt8>.allocate(capacity: count)
            storage.initialize(repeating: 0, count: count)
            bytes = storage
            floats = nil
        } else {
            let storage = UnsafeMutablePointer<Float>.allocate(capacity: count)
            storage.initialize(repeating: 0, count: count)
            floats = storage
            bytes = nil
        }
    }

    deinit { bytes?.deallocate(); floats?.deallocate() }

    /// Whether values are kept as bytes.
    public var storesBytes: Bool { bytes != nil }

    /// Stores `values` (width floats) in `row`; a binary row keeps whether each value is nonzero.
    @inline(__always)
    public func write(_ values: UnsafePointer<Float>, row: Int) {
        if let bytes {
            let destination = bytes + row * width
            for i in 0..<width { destination[i] = values[i] != 0 ? 1 : 0 }
        } else if let floats {
            (floats + row * width).update(from: values, count: width)
        }
    }

    /// Copies `row` into `destination` (width floats).
    @inline(__always)
    public func read(row: Int, into destination: UnsafeMutablePointer<Float>) {
        if let bytes {
            let source = bytes + row * width
            for i in 0..<width { destination[i] = Float(source[i]) }
        } else if let floats {
            destination.update(from: floats + row * width, count: width)
        }
    }

    /// The first `count` rows as a checkpoint tensor: U8 for binary rows, F32 otherwise.
    public func checkpointValue(rows count: Int) -> SafeTensors.Value {
        let values = count * width
        if let bytes { return .uint8(shape: [values], values: Array(UnsafeBufferPointer(start: bytes, count: values))) }
        guard let floats else { return .float32(Tensor(shape: [0], scalars: [])) }
        return .float32(Tensor(shape: [values], copying: floats))
    }

    /// Whether `value` can restore the first `count` rows: the storage's type (U8 or F32) and `count × width` values.
    public func fits(_ value: SafeTensors.Value?, rows count: Int) -> Bool {
        switch value {
        case .uint8(_, let values)? where storesBytes && values.count == count * width: return true
        case .float32(let tensor)? where !storesBytes && tensor.count == count * width: return true
        default: return false
        }
    }

    /// Restores the first `count` rows from a value that ``fits(_:rows:)``; any other value changes nothing.
    public func restore(_ value: SafeTensors.Value?, rows count: Int) {
        guard fits(value, rows: count) else { return }
        switch value {
        case .uint8(_, let values)?: bytes?.update(from: values, count: count * width)
        case .float32(let tensor)?: if let floats { tensor.copy(to: floats) }
        default: break
        }
    }
}
